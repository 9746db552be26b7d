/* polyopt fake libc <stddef.h> */
#include "_fake_defines.h"
#define offsetof(type, member) ((size_t)0)
