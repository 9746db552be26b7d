/* polyopt fake libc <unistd.h> */
#include "_fake_defines.h"
int usleep(unsigned int);
unsigned int sleep(unsigned int);
