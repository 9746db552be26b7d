/* polyopt fake libc <string.h> */
#ifndef POLYOPT_FAKE_STRING_H
#define POLYOPT_FAKE_STRING_H
#include "_fake_defines.h"
void *memset(void *, int, size_t);
void *memcpy(void *, const void *, size_t);
void *memmove(void *, const void *, size_t);
int memcmp(const void *, const void *, size_t);
size_t strlen(const char *);
int strcmp(const char *, const char *);
int strncmp(const char *, const char *, size_t);
char *strcpy(char *, const char *);
char *strncpy(char *, const char *, size_t);
char *strcat(char *, const char *);
char *strchr(const char *, int);
char *strdup(const char *);
#endif
