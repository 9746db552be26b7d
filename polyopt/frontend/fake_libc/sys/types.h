/* polyopt fake libc <sys/types.h> */
#include "../_fake_defines.h"
typedef long off_t;
typedef int pid_t;
