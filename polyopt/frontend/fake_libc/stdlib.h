/* polyopt fake libc <stdlib.h> */
#ifndef POLYOPT_FAKE_STDLIB_H
#define POLYOPT_FAKE_STDLIB_H
#include "_fake_defines.h"
#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1
#define RAND_MAX 2147483647
void *malloc(size_t);
void *calloc(size_t, size_t);
void *realloc(void *, size_t);
void free(void *);
int posix_memalign(void **, size_t, size_t);
void *aligned_alloc(size_t, size_t);
void exit(int);
void abort(void);
int atoi(const char *);
long atol(const char *);
double atof(const char *);
long strtol(const char *, char **, int);
double strtod(const char *, char **);
int rand(void);
void srand(unsigned int);
int abs(int);
long labs(long);
char *getenv(const char *);
void qsort(void *, size_t, size_t, int (*)(const void *, const void *));
#endif
