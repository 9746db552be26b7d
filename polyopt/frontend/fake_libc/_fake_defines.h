/* polyopt fake libc: shared definitions. These headers replace the system headers while polyopt's C
   frontend preprocesses a file, so that pycparser never sees compiler extensions. They declare only what
   kernels and their drivers commonly use. */
#ifndef POLYOPT_FAKE_DEFINES_H
#define POLYOPT_FAKE_DEFINES_H
typedef unsigned long size_t;
typedef long ssize_t;
typedef long ptrdiff_t;
typedef int wchar_t;
typedef struct _polyopt_FILE FILE;
typedef int va_list;
#define NULL ((void *)0)
#endif
