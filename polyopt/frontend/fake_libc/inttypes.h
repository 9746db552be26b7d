/* polyopt fake libc <inttypes.h> */
#include <stdint.h>
