/* polyopt fake <polybench.h>: the array and loop-bound macros of the standard polyhedral benchmark
   harness, enough to parse kernel files and their drivers. Honours POLYBENCH_USE_C99_PROTO (size
   parameters in array declarations) and POLYBENCH_USE_SCALAR_LB (size parameters as loop bounds). */
#ifndef POLYOPT_FAKE_POLYBENCH_H
#define POLYOPT_FAKE_POLYBENCH_H
#include <stdlib.h>
#include <stdio.h>
#ifndef POLYBENCH_USE_C99_PROTO
# define POLYBENCH_C99_SELECT(x, y) x
#else
# define POLYBENCH_C99_SELECT(x, y) y
#endif
#ifndef POLYBENCH_USE_SCALAR_LB
# define POLYBENCH_LOOP_BOUND(x, y) x
#else
# define POLYBENCH_LOOP_BOUND(x, y) y
#endif
#define POLYBENCH_1D(var, d1, dd1) var[POLYBENCH_C99_SELECT(d1, dd1)]
#define POLYBENCH_2D(var, d1, d2, dd1, dd2) var[POLYBENCH_C99_SELECT(d1, dd1)][POLYBENCH_C99_SELECT(d2, dd2)]
#define POLYBENCH_3D(var, d1, d2, d3, dd1, dd2, dd3) \
  var[POLYBENCH_C99_SELECT(d1, dd1)][POLYBENCH_C99_SELECT(d2, dd2)][POLYBENCH_C99_SELECT(d3, dd3)]
#define POLYBENCH_4D(var, d1, d2, d3, d4, dd1, dd2, dd3, dd4) \
  var[POLYBENCH_C99_SELECT(d1, dd1)][POLYBENCH_C99_SELECT(d2, dd2)][POLYBENCH_C99_SELECT(d3, dd3)] \
     [POLYBENCH_C99_SELECT(d4, dd4)]
#define POLYBENCH_1D_ARRAY_DECL(var, type, d1, dd1) \
  type (*var)[d1] = (type (*)[d1])polybench_alloc_data((d1), sizeof(type))
#define POLYBENCH_2D_ARRAY_DECL(var, type, d1, d2, dd1, dd2) \
  type (*var)[d1][d2] = (type (*)[d1][d2])polybench_alloc_data((d1) * (d2), sizeof(type))
#define POLYBENCH_3D_ARRAY_DECL(var, type, d1, d2, d3, dd1, dd2, dd3) \
  type (*var)[d1][d2][d3] = (type (*)[d1][d2][d3])polybench_alloc_data((d1) * (d2) * (d3), sizeof(type))
#define POLYBENCH_4D_ARRAY_DECL(var, type, d1, d2, d3, d4, dd1, dd2, dd3, dd4) \
  type (*var)[d1][d2][d3][d4] = \
    (type (*)[d1][d2][d3][d4])polybench_alloc_data((d1) * (d2) * (d3) * (d4), sizeof(type))
#define POLYBENCH_ARRAY(x) *x
#define POLYBENCH_FREE_ARRAY(x) free((void *)x)
#define POLYBENCH_DUMP_TARGET stderr
#define POLYBENCH_DUMP_START fprintf(POLYBENCH_DUMP_TARGET, "==BEGIN DUMP_ARRAYS==\n")
#define POLYBENCH_DUMP_FINISH fprintf(POLYBENCH_DUMP_TARGET, "==END   DUMP_ARRAYS==\n")
#define POLYBENCH_DUMP_BEGIN(s) fprintf(POLYBENCH_DUMP_TARGET, "begin dump: %s", s)
#define POLYBENCH_DUMP_END(s) fprintf(POLYBENCH_DUMP_TARGET, "\nend   dump: %s\n", s)
#define polybench_start_instruments polybench_timer_start()
#define polybench_stop_instruments polybench_timer_stop()
#define polybench_print_instruments polybench_timer_print()
#define polybench_prevent_dce(func) func
void *polybench_alloc_data(unsigned long n, int elt_size);
void polybench_free_data(void *ptr);
void polybench_flush_cache(void);
void polybench_timer_start(void);
void polybench_timer_stop(void);
void polybench_timer_print(void);
#endif
