/* polyopt fake libc <assert.h> */
#define assert(x) ((void)0)
