/* polyopt fake libc <malloc.h> */
#include <stdlib.h>
