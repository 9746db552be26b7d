"""The C frontend: preprocessing, pragma regions, lowering to the loop tree, the model, and rejections."""

from __future__ import annotations

import pathlib

import islpy as isl
import pytest

from polyopt import expr as X
from polyopt.errors import ScopError, ScopReason
from polyopt.expr import DType
from polyopt.frontend.c_frontend import c_kernel_source, c_kernel_sources, from_c, from_c_all
from polyopt.frontend.tree import Argument, ArrayDecl, Assign, If, Loop

HEADER = """\
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
"""


def write(tmp_path: pathlib.Path, text: str, name: str = "kernel.c") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def marker_line(text: str, marker: str = "/* HERE */") -> int:
    """1-based line of the marker comment: the line an error must point at."""
    lines = [k + 1 for k, line in enumerate(text.splitlines()) if marker in line]
    assert len(lines) == 1, lines
    return lines[0]


def same_set(actual: isl.Set, expected: str) -> bool:
    return actual.is_equal(isl.Set(expected).intersect_params(actual.params()))


def same_map(actual: isl.Map, expected: str) -> bool:
    return actual.is_equal(isl.Map(expected).intersect_domain(actual.domain()))


GEMM = HEADER + """\
#define NI 100
#define NJ 110
#define NK 120
#define DATA_TYPE double
#define SCALAR_VAL(x) x

void kernel_gemm(int ni, int nj, int nk, DATA_TYPE alpha, DATA_TYPE beta,
                 DATA_TYPE C[NI][NJ], DATA_TYPE A[NI][NK], DATA_TYPE B[NK][NJ])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < ni; i++) {
    for (j = 0; j < nj; j++)
      C[i][j] *= beta;
    for (k = 0; k < nk; k++) {
      for (j = 0; j < nj; j++)
        C[i][j] += alpha * A[i][k] * B[k][j] * SCALAR_VAL(1.0); /* HERE */
    }
  }
#pragma endscop
}

static void print_array(int ni, int nj, DATA_TYPE C[NI][NJ]) {
  int i, j;
  for (i = 0; i < ni; i++)
    for (j = 0; j < nj; j++)
      fprintf(stderr, "%0.2lf ", C[i][j]);
}

int main(int argc, char **argv) {
  double (*C)[NI][NJ] = malloc(sizeof(double) * NI * NJ);
  printf("%d\\n", argc);
  free(C);
  return 0;
}
"""


def test_gemm_polybench_style(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, GEMM)
    scop = from_c(path)
    assert scop.name == "kernel_gemm" and scop.language == "c" and scop.file == str(path)
    assert scop.params == ("ni", "nj", "nk")
    assert [(a.name, a.kind, a.dtype) for a in scop.arguments] == [
        ("ni", "param", DType.INT64), ("nj", "param", DType.INT64), ("nk", "param", DType.INT64),
        ("alpha", "scalar", DType.FLOAT64), ("beta", "scalar", DType.FLOAT64),
        ("C", "array", DType.FLOAT64), ("A", "array", DType.FLOAT64), ("B", "array", DType.FLOAT64)]
    assert scop.array("A").shape == (X.Const(100, DType.INT32), X.Const(120, DType.INT32))
    assert len(scop.statements) == 2
    s0, s1 = scop.statements
    p = "[ni, nj, nk] -> "
    assert same_set(s0.domain, p + "{ S0[i, j] : 0 <= i < ni and 0 <= j < nj }")
    assert same_set(s1.domain, p + "{ S1[i, k, j] : 0 <= i < ni and 0 <= k < nk and 0 <= j < nj }")
    assert same_map(s1.writes[0].relation, p + "{ S1[i, k, j] -> C[i, j] }")
    reads = {a.array: a.relation for a in s1.reads}
    assert set(reads) == {"A", "B", "C"}
    assert same_map(reads["A"], p + "{ S1[i, k, j] -> A[i, k] }")
    assert same_map(reads["B"], p + "{ S1[i, k, j] -> B[k, j] }")
    assert s1.value == X.Binary("+", X.Access("C", (X.Var("i"), X.Var("j"))), X.Binary(
        "*", X.Binary("*", X.Binary("*", X.Var("alpha"), X.Access("A", (X.Var("i"), X.Var("k")))),
                      X.Access("B", (X.Var("k"), X.Var("j")))), X.Const(1.0, DType.FLOAT64)))
    # locations point into the original file, not the preprocessed text
    assert s1.location.file == str(path)
    assert s1.location.line == marker_line(GEMM)
    assert s1.text.startswith("C[i][j] += alpha * A[i][k] * B[k][j]")
    assert s0.location.line == marker_line(GEMM) - 3


def test_macros_as_sizes_give_constant_domains(tmp_path: pathlib.Path) -> None:
    text = HEADER + """\
#ifndef N
# define N 100
#endif
#define M (N + 20)
void k(double A[N][M]) {
#pragma scop
  for (int i = 0; i < N; i++)
    for (int j = 0; j < M; j++)
      A[i][j] = 0.0;
#pragma endscop
}
"""
    scop = from_c(write(tmp_path, text))
    assert scop.params == ()
    assert same_set(scop.statements[0].domain, "{ S0[i, j] : 0 <= i < 100 and 0 <= j < 120 }")
    assert scop.array("A").shape == (X.Const(100, DType.INT32), X.Const(120, DType.INT32))
    small = from_c(write(tmp_path, text), defines={"N": "7"})
    assert same_set(small.statements[0].domain, "{ S0[i, j] : 0 <= i < 7 and 0 <= j < 27 }")


def test_string_and_pathlike_inputs(tmp_path: pathlib.Path) -> None:
    text = "void f(int n, float *x) {\n#pragma scop\n  for (int i = 0; i < n; i++)\n    x[i] = 1.0f;\n" \
           "#pragma endscop\n}\n"
    from_text = from_c(text)
    assert from_text.file == "<string>"
    assert from_text.statements[0].location.file == "<string>"
    assert from_text.statements[0].location.line == 4
    assert from_text.statements[0].text == "x[i] = 1.0f;"
    path = write(tmp_path, text)
    assert from_c(path).fingerprint == from_c(str(path)).fingerprint == from_text.fingerprint


def test_parameter_forms(tmp_path: pathlib.Path) -> None:
    text = HEADER + """\
#define M 64
typedef float real;
void k(int n, int m, real A[n][m], float (*B)[M], double *restrict x, double C[][M], long s, float f,
       const int *restrict idx) {
#pragma scop
  for (int i = 0; i < n; i++)
    x[i] = A[i][0] + B[i][1] + C[i][2] + f;
#pragma endscop
}
"""
    src = c_kernel_source(write(tmp_path, text))
    assert src.name == "k" and src.language == "c"
    assert src.arguments == (
        Argument("n", "param", DType.INT64), Argument("m", "param", DType.INT64),
        Argument("A", "array", DType.FLOAT32), Argument("B", "array", DType.FLOAT32),
        Argument("x", "array", DType.FLOAT64), Argument("C", "array", DType.FLOAT64),
        Argument("s", "param", DType.INT64), Argument("f", "scalar", DType.FLOAT32),
        Argument("idx", "array", DType.INT32))
    arrays = {a.name: a for a in src.arrays}
    assert arrays["A"] == ArrayDecl("A", DType.FLOAT32, (X.Var("n"), X.Var("m")))
    assert arrays["B"] == ArrayDecl("B", DType.FLOAT32, (None, X.Const(64, DType.INT32)))
    assert arrays["x"] == ArrayDecl("x", DType.FLOAT64, (None,))
    assert arrays["C"] == ArrayDecl("C", DType.FLOAT64, (None, X.Const(64, DType.INT32)))


def _only_loop_domain(text: str) -> isl.Set:
    scop = from_c(text)
    assert len(scop.statements) == 1
    return scop.statements[0].domain


@pytest.mark.parametrize("header, expected", [
    ("for (i = 0; i <= n; i++)", "{ S0[i] : 0 <= i <= n }"),
    ("for (i = n; i > 0; i--)", "{ S0[i] : 0 < i <= n }"),
    ("for (i = n - 1; i >= 0; --i)", "{ S0[i] : 0 <= i < n }"),
    ("for (i = 0; i < n; i += 2)", "{ S0[i] : 0 <= i < n and i mod 2 = 0 }"),
    ("for (i = 1; n > i; i = i + 3)", "{ S0[i] : 1 <= i < n and (i - 1) mod 3 = 0 }"),
    ("for (i = 10; i >= 0 && i >= n - 5; i -= 1)", "{ S0[i] : n - 5 <= i and 0 <= i <= 10 }"),
    ("for (int q = 0; q < n; ++q)", "{ S0[q] : 0 <= q < n }"),
])
def test_loop_header_forms(header: str, expected: str) -> None:
    it = "q" if "int q" in header else "i"
    text = f"void f(int n, double *x) {{\n  int i;\n#pragma scop\n  {header}\n    x[{it}] = 0;\n#pragma endscop\n}}\n"
    dom = _only_loop_domain(text)
    assert same_set(dom, "[n] -> " + expected.replace("S0[i]", "S0[i]")), str(dom)


def test_if_else_select_and_logic() -> None:
    text = """
void f(int n, double A[n][n], double *x) {
  int i, j;
#pragma scop
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) {
      if (i < j && !(j == n - 1))
        A[i][j] = x[i] > 0.0 ? x[i] : -x[i];
      else if (i == j || j > 5)
        A[i][j] = 1;
      else
        A[i][j] = (i < j) ? i : j;
    }
#pragma endscop
}
"""
    src = c_kernel_source(text)
    branch = src.body[0].body[0].body[0]
    assert isinstance(branch, If)
    assert branch.cond == X.Logical("and", X.Compare("<", X.Var("i"), X.Var("j")), X.Unary(
        "not", X.Compare("==", X.Var("j"), X.Binary("-", X.Var("n"), X.Const(1, DType.INT32)))))
    then = branch.then[0]
    assert isinstance(then, Assign) and isinstance(then.value, X.Select)
    assert then.value.if_false == X.Unary("neg", X.Access("x", (X.Var("i"),)))
    last = branch.orelse[0].orelse[0]
    # an integer select that compares its branches is min/max
    assert last.value == X.Binary("min", X.Var("i"), X.Var("j"))
    scop = from_c(text)
    doms = [s.domain for s in scop.statements]
    assert same_set(doms[0], "[n] -> { S0[i, j] : 0 <= i < j < n - 1 }")
    box = "0 <= i < n and 0 <= j < n and (i >= j or j = n - 1)"
    assert same_set(doms[1], f"[n] -> {{ S1[i, j] : {box} and (i = j or j > 5) }}")
    assert same_set(doms[2], f"[n] -> {{ S2[i, j] : {box} and i != j and j <= 5 }}")


def test_min_max_macros_in_bounds_are_affine() -> None:
    text = """
#define min(a, b) (((a) < (b)) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
void tiled(int n, double *x) {
  int ii, i;
#pragma scop
  for (ii = 0; ii < n; ii += 32)
    for (i = max(ii, 1); i < min(n, ii + 32); i++)
      x[i] = x[i - 1];
#pragma endscop
}
"""
    loop = c_kernel_source(text).body[0].body[0]
    assert isinstance(loop, Loop)
    assert loop.init == X.Binary("max", X.Var("ii"), X.Const(1, DType.INT32))
    assert loop.cond == X.Compare("<", X.Var("i"), X.Binary(
        "min", X.Var("n"), X.Binary("+", X.Var("ii"), X.Const(32, DType.INT32))))
    dom = from_c(text).statements[0].domain
    assert same_set(dom, "[n] -> { S0[ii, i] : ii mod 32 = 0 and 0 <= ii and 1 <= i and ii <= i < n "
                         "and i < ii + 32 }")


def test_local_scalars_and_compound_assignments() -> None:
    text = """
void f(int n, double A[n][n], double *x) {
  int i, j;
  double tmp;
#pragma scop
  for (i = 0; i < n; i++) {
    double s = 0;
    int last = n - 1;
    for (j = 0; j < n; j++)
      s += A[i][j];
    tmp = s;
    x[i] -= tmp;
    x[i] *= 2;
    x[i] /= 3;
    x[last]++;
  }
#pragma endscop
}
"""
    src = c_kernel_source(text)
    arrays = {a.name: a for a in src.arrays}
    assert arrays["s"] == ArrayDecl("s", DType.FLOAT64, (), is_argument=False)
    assert arrays["tmp"] == ArrayDecl("tmp", DType.FLOAT64, (), is_argument=False)
    assert "last" not in arrays              # an integer constant of the sizes: substituted
    body = src.body[0].body
    assert [type(n).__name__ for n in body] == ["Assign", "Loop", "Assign", "Assign", "Assign", "Assign",
                                               "Assign"]
    assert body[0] == Assign(X.Access("s", ()), X.Const(0, DType.INT32))
    s = X.Access("s", ())
    assert body[1].body[0].value == X.Binary("+", s, X.Access("A", (X.Var("i"), X.Var("j"))))
    xi = X.Access("x", (X.Var("i"),))
    assert body[3].value == X.Binary("-", xi, X.Access("tmp", ()))
    assert body[4].value == X.Binary("*", xi, X.Const(2, DType.INT32))
    assert body[5].value == X.Binary("/", xi, X.Const(3, DType.INT32))
    xl = X.Access("x", (X.Binary("-", X.Var("n"), X.Const(1, DType.INT32)),))
    assert body[6] == Assign(xl, X.Binary("+", xl, X.Const(1, DType.INT32)))
    scop = from_c(text)
    assert len(scop.statements) == 7
    assert {a.name for a in scop.local_arrays} == {"s", "tmp"}
    write_s = scop.statements[0].writes[0]
    assert write_s.array == "s" and same_map(write_s.relation, "[n] -> { S0[i] -> s[] }")
    assert same_map(scop.statements[6].writes[0].relation, "[n] -> { S6[i] -> x[n - 1] }")


def test_math_calls_and_casts() -> None:
    text = """
#include <math.h>
void f(int n, float *a, double *b) {
#pragma scop
  for (int i = 0; i < n; i++) {
    a[i] = sqrtf(a[i]) + expf(1.0) + fabsf(a[i]);
    b[i] = sqrt(a[i]) + pow(b[i], 2) + (double) i / n + floor(b[i]) + tanh(b[i]);
  }
#pragma endscop
}
"""
    body = c_kernel_source(text).body[0].body
    ai = X.Access("a", (X.Var("i"),))
    bi = X.Access("b", (X.Var("i"),))
    assert body[0].value == X.Binary("+", X.Binary("+", X.Call("sqrt", (ai,)), X.Call(
        "exp", (X.Const(1.0, DType.FLOAT32),))), X.Call("fabs", (ai,)))
    calls = [e for e in X.walk(body[1].value) if isinstance(e, X.Call)]
    assert calls[0] == X.Call("sqrt", (X.Cast(DType.FLOAT64, ai),))   # C: sqrt of a float is double
    assert X.Call("pow", (bi, X.Const(2.0, DType.FLOAT64))) in calls
    assert {c.func for c in calls} == {"sqrt", "pow", "floor", "tanh"}
    assert X.Binary("/", X.Cast(DType.FLOAT64, X.Var("i")), X.Var("n")) in list(X.walk(body[1].value))
    assert len(from_c(text).statements) == 2


POLYBENCH = """\
#include <polybench.h>
#define N 40
#define M 50
#define DATA_TYPE float
#define _PB_N POLYBENCH_LOOP_BOUND(N, n)
#define _PB_M POLYBENCH_LOOP_BOUND(M, m)
static void kernel_atax(int m, int n, DATA_TYPE POLYBENCH_2D(A, M, N, m, n),
                        DATA_TYPE POLYBENCH_1D(x, N, n), DATA_TYPE POLYBENCH_1D(y, N, n),
                        DATA_TYPE POLYBENCH_1D(tmp, M, m)) {
  int i, j;
#pragma scop
  for (i = 0; i < _PB_N; i++)
    y[i] = 0;
  for (i = 0; i < _PB_M; i++) {
    tmp[i] = 0.0f;
    for (j = 0; j < _PB_N; j++)
      tmp[i] = tmp[i] + A[i][j] * x[j];
    for (j = 0; j < _PB_N; j++)
      y[j] = y[j] + A[i][j] * tmp[i];
  }
#pragma endscop
}
int main(int argc, char **argv) {
  POLYBENCH_2D_ARRAY_DECL(A, DATA_TYPE, M, N, m, n);
  polybench_start_instruments;
  kernel_atax(M, N, POLYBENCH_ARRAY(A), 0, 0, 0);
  polybench_stop_instruments;
  POLYBENCH_FREE_ARRAY(A);
  return 0;
}
"""


def test_polybench_header_macros() -> None:
    fixed = from_c(POLYBENCH)
    assert fixed.name == "kernel_atax" and len(fixed.statements) == 4
    assert same_set(fixed.statements[2].domain, "[m, n] -> { S2[i, j] : 0 <= i < 50 and 0 <= j < 40 }")
    assert fixed.array("A").shape == (X.Const(50, DType.INT32), X.Const(40, DType.INT32))
    assert fixed.array("A").dtype == DType.FLOAT32
    param = from_c(POLYBENCH, defines={"POLYBENCH_USE_C99_PROTO": "", "POLYBENCH_USE_SCALAR_LB": ""})
    assert param.array("A").shape == (X.Var("m"), X.Var("n"))
    assert same_set(param.statements[2].domain, "[m, n] -> { S2[i, j] : 0 <= i < m and 0 <= j < n }")


TWO = """
void first(int n, double *x) {
#pragma scop
  for (int i = 0; i < n; i++) x[i] = 1;
#pragma endscop
}
void second(int n, double *y) {
#pragma scop
  for (int i = 0; i < n; i++) y[i] = 2;
#pragma endscop
#pragma scop
  for (int i = 0; i < n; i++) y[i] = 3;
#pragma endscop
}
"""


def test_several_regions_and_function_selection() -> None:
    with pytest.raises(ScopError) as err:
        from_c(TWO)
    assert err.value.reason == ScopReason.NO_SCOP
    assert "first" in err.value.hint and "second" in err.value.hint and "second_1" in err.value.hint
    assert from_c(TWO, "first").array_arguments[0].name == "x"
    with pytest.raises(ScopError) as err:
        from_c(TWO, "second")
    assert err.value.reason == ScopReason.NO_SCOP and "second_1" in err.value.hint
    third = from_c(TWO, "second_1")
    assert third.statements[0].value == X.Const(3, DType.INT32)
    scops = from_c_all(TWO)
    assert [s.name for s in scops] == ["first", "second", "second_1"]
    assert [k.name for k in c_kernel_sources(TWO)] == ["first", "second", "second_1"]
    with pytest.raises(ScopError) as err:
        from_c(TWO, "third")
    assert err.value.reason == ScopReason.NO_SCOP


def test_global_arrays_become_arguments() -> None:
    text = """
#define N 16
double G[N][N];
double total;
void f(double *x) {
#pragma scop
  for (int i = 0; i < N; i++) {
    G[i][i] = x[i];
    total = total + x[i];
  }
#pragma endscop
}
"""
    src = c_kernel_source(text)
    assert [(a.name, a.kind) for a in src.arguments] == [("x", "array"), ("G", "array"), ("total", "array")]
    assert {a.name: a.shape for a in src.arrays}["total"] == ()
    assert len(from_c(text).statements) == 2


def test_function_locals_with_initializers() -> None:
    text = """
#define max_score(s1, s2) ((s1 >= s2) ? s1 : s2)
void f(int n, float eps_in, float *x, float *out, int seq[100], int t[100]) {
  float eps = 0.5;                 /* never written again: substituted */
  float scale = eps_in * 2;        /* depends on a scalar argument: substituted */
  const int last = n - 1;
  double sum = 0;                  /* written in the region: its initialisation opens the region */
  int i;
#pragma scop
  for (i = 0; i < n; i++) {
    sum += x[i] > eps ? x[i] * scale : 0.0f;
    t[i] = max_score(t[i], seq[i] + 1);
  }
  out[last] = sum;
#pragma endscop
}
"""
    src = c_kernel_source(text)
    assert src.body[0] == Assign(X.Access("sum", ()), X.Const(0.0, DType.FLOAT64))
    assert src.body[0].location.line == 7
    value = src.body[1].body[0].value
    assert X.Compare(">", X.Access("x", (X.Var("i"),)), X.Const(0.5, DType.FLOAT32)) in list(X.walk(value))
    assert X.Binary("*", X.Var("eps_in"), X.Const(2, DType.INT32)) in list(X.walk(value))
    assert src.body[1].body[1].value == X.Binary("max", X.Access("t", (X.Var("i"),)), X.Binary(
        "+", X.Access("seq", (X.Var("i"),)), X.Const(1, DType.INT32)))
    assert {a.name: a.dtype for a in src.arrays}["seq"] == DType.INT32
    assert src.body[2].target == X.Access("out", (X.Binary("-", X.Var("n"), X.Const(1, DType.INT32)),))
    assert [a.name for a in src.arrays if not a.is_argument] == ["sum"]
    scop = from_c(text)
    assert len(scop.statements) == 4
    assert same_set(scop.statements[0].domain, "[n] -> { S0[] }")


def test_reject_local_computed_before_region(tmp_path: pathlib.Path) -> None:
    body = "  for (i = 0; i < n; i++)\n    x[i] = s; /* HERE */\n"
    e = _reject(tmp_path, body, ScopReason.UNSUPPORTED_STATEMENT, decls="  int i;\n  double s;\n  s = x[0];\n")
    assert "'s'" in e.message


def test_fake_libc_headers_parse(tmp_path: pathlib.Path) -> None:
    """System headers are replaced by polyopt's own: every common one must reach pycparser cleanly."""
    headers = ["assert.h", "ctype.h", "errno.h", "float.h", "inttypes.h", "limits.h", "malloc.h", "math.h",
               "omp.h", "polybench.h", "stdarg.h", "stdbool.h", "stddef.h", "stdint.h", "stdio.h", "stdlib.h",
               "string.h", "sys/time.h", "sys/types.h", "time.h", "unistd.h"]
    text = "".join(f"#include <{h}>\n" for h in headers) + """
void f(int64_t n, ssize_t m, double *x, float *y) {
#pragma scop
  for (int i = 0; i < n; i++)
    for (long j = 0; j < m; j++)
      x[i] = fabs(x[i]) + sqrtf(y[j]) + M_PI + DBL_EPSILON;
#pragma endscop
}
"""
    scop = from_c(write(tmp_path, text))
    assert [(a.name, a.kind) for a in scop.arguments] == [("n", "param"), ("m", "param"), ("x", "array"),
                                                          ("y", "array")]
    assert same_set(scop.statements[0].domain, "[n, m] -> { S0[i, j] : 0 <= i < n and 0 <= j < m }")


# --- rejections: reason code and the exact line of the original file --------------------------------------

def _reject(tmp_path: pathlib.Path, body: str, reason: ScopReason, *, params: str = "int n, double A[n][n], "
            "double *x", decls: str = "  int i, j;\n") -> ScopError:
    text = HEADER + "#define N 10\n\nint helper(int v);\n\n" \
        f"void kernel(int m, {params}) {{\n{decls}#pragma scop\n{body}#pragma endscop\n}}\n"
    path = write(tmp_path, text)
    with pytest.raises(ScopError) as err:
        from_c(path)
    e = err.value
    assert e.reason == reason, str(e)
    assert e.location.file == str(path)
    assert e.location.line == marker_line(text), str(e)
    assert e.text == text.splitlines()[e.location.line - 1].strip()
    assert e.hint or reason in (ScopReason.UNKNOWN_NAME,)
    return e


@pytest.mark.parametrize("body", [
    "  i = 0;\n  while (i < n) { /* HERE */\n    x[i] = 0; i++;\n  }\n",
    "  for (i = 0; i < n; i++) {\n    if (i > 5)\n      break; /* HERE */\n    x[i] = 0;\n  }\n",
    "  for (i = 0; i < n; i++)\n    continue; /* HERE */\n",
    "  for (i = 0; i < n; i++) {\n    x[i] = 0;\n    return; /* HERE */\n  }\n",
    "  for (i = 0; i < n; i++)\n    switch (i) { /* HERE */\n      case 0: x[i] = 1;\n    }\n",
    "  for (i = 0; i < n; i++) {\n    goto out; /* HERE */\n  }\n  out: ;\n",
    "  do { /* HERE */\n    x[0] = 1;\n  } while (0);\n",
])
def test_reject_unsupported_statement(tmp_path: pathlib.Path, body: str) -> None:
    _reject(tmp_path, body, ScopReason.UNSUPPORTED_STATEMENT)


@pytest.mark.parametrize("body", [
    '  for (i = 0; i < n; i++)\n    printf("%f", x[i]); /* HERE */\n',
    "  for (i = 0; i < n; i++)\n    x[i] = helper(i); /* HERE */\n",
    "  for (i = 0; i < n; i++)\n    x[i] = rand(); /* HERE */\n",
])
def test_reject_side_effect_call(tmp_path: pathlib.Path, body: str) -> None:
    e = _reject(tmp_path, body, ScopReason.SIDE_EFFECT_CALL)
    assert "sqrt" in e.hint


@pytest.mark.parametrize("body", [
    "  for (i = 0; i < n; i++)\n    *(x + i) = 0; /* HERE */\n",
    "  for (i = 0; i < n; i++)\n    x++; /* HERE */\n",
    "  for (i = 0; i < n; i++)\n    A[i][0] = *x; /* HERE */\n",
    "  for (i = 0; i < n; i++)\n    A[i][0] = helper2(&A[i][0]); /* HERE */\n",
    "  for (i = 0; i < n; i++)\n    x = x + 1; /* HERE */\n",
    "  for (i = 0; i < n; i++)\n    A[i][0] = (x + 1)[i]; /* HERE */\n",
])
def test_reject_pointer_arithmetic(tmp_path: pathlib.Path, body: str) -> None:
    _reject(tmp_path, body.replace("helper2", "(double)"), ScopReason.POINTER_ARITHMETIC)


def test_reject_aliasing_local_pointer(tmp_path: pathlib.Path) -> None:
    body = "  for (i = 0; i < n; i++)\n    p[i] = x[i] + 1; /* HERE */\n"
    e = _reject(tmp_path, body, ScopReason.ALIASING, decls="  int i;\n  double *p = x;\n")
    assert "'x'" in e.message and "'p'" in e.message


def test_reject_aliasing_pointer_declared_in_region(tmp_path: pathlib.Path) -> None:
    body = "  for (i = 0; i < n; i++) {\n    double *row = A[i]; /* HERE */\n    row[0] = 1;\n  }\n"
    _reject(tmp_path, body, ScopReason.ALIASING)


@pytest.mark.parametrize("body", [
    "  for (i = 0; i < n; i++) {\n    x[i] = 0;\n    i = i + 1; /* HERE */\n  }\n",
    "  for (i = 0; i < n; i++)\n    for (j = 0; j < n; j++)\n      i++; /* HERE */\n",
    "  for (i = 0; i < n; i++)\n    n = 3; /* HERE */\n",
    "  ub = n;\n  for (i = 0; i < ub; i++) {\n    x[i] = 0;\n    ub--; /* HERE */\n  }\n",
])
def test_reject_loop_bound_write(tmp_path: pathlib.Path, body: str) -> None:
    _reject(tmp_path, body, ScopReason.LOOP_BOUND_WRITE, decls="  int i, j, ub;\n")


@pytest.mark.parametrize("body", [
    "  for (i = 0; i != n; i++) /* HERE */\n    x[i] = 0;\n",
    "  for (i = 1; i < n; i *= 2) /* HERE */\n    x[i] = 0;\n",
    "  for (i = 0; i < n; i += m) /* HERE */\n    x[i] = 0;\n",
    "  for (i = 0; ; i++) /* HERE */\n    x[i] = 0;\n",
    "  for (i = 0, j = 0; i < n; i++) /* HERE */\n    x[i] = 0;\n",
    "  for (i = 0; i < n || i < m; i++) /* HERE */\n    x[i] = 0;\n",
    "  for (i = 0; i < n; i--) /* HERE */\n    x[i] = 0;\n",
    "  for (double d = 0; d < n; d++) /* HERE */\n    x[0] = d;\n",
])
def test_reject_bad_loop(tmp_path: pathlib.Path, body: str) -> None:
    _reject(tmp_path, body, ScopReason.BAD_LOOP)


@pytest.mark.parametrize("body, reason", [
    ("  for (i = 0; i < n; i++)\n    x[i * i] = 0; /* HERE */\n", ScopReason.NON_AFFINE_SUBSCRIPT),
    ("  for (i = 0; i < n; i++)\n    A[i][(int) x[i]] = 0; /* HERE */\n", ScopReason.NON_AFFINE_SUBSCRIPT),
    ("  for (i = 0; i < n; i++)\n    for (j = 0; j < i * i; j++) /* HERE */\n      A[i][j] = 0;\n",
     ScopReason.NON_AFFINE_BOUND),
    ("  for (i = 0; i < n; i++)\n    if (i * n > 3) /* HERE */\n      x[i] = 0;\n",
     ScopReason.NON_AFFINE_CONDITION),
    ("  for (i = 0; i < n; i++)\n    if (x[i] > 0) /* HERE */\n      x[i] = 0;\n",
     ScopReason.DATA_DEPENDENT_CONTROL),
    ("  for (i = 0; i < n; i++)\n    x[i] = undeclared + 1; /* HERE */\n", ScopReason.UNKNOWN_NAME),
])
def test_reject_from_the_builder_with_c_locations(tmp_path: pathlib.Path, body: str,
                                                  reason: ScopReason) -> None:
    _reject(tmp_path, body, reason)


def test_reject_unsupported_parameter_type(tmp_path: pathlib.Path) -> None:
    text = "struct s { int a; };\nvoid f(int n,\n       double **M) /* HERE */\n{\n#pragma scop\n" \
           "  for (int i = 0; i < n; i++) M[i][i] = 0;\n#pragma endscop\n}\n"
    with pytest.raises(ScopError) as err:
        from_c(write(tmp_path, text))
    assert err.value.reason == ScopReason.UNSUPPORTED_TYPE
    assert err.value.location.line == marker_line(text)


def test_reject_syntax_error(tmp_path: pathlib.Path) -> None:
    body = "  for (i = 0; i < n; i++)\n    x[i] = ; /* HERE */\n"
    _reject(tmp_path, body, ScopReason.SYNTAX)


def test_reject_syntax_error_undefined_type_macro(tmp_path: pathlib.Path) -> None:
    text = "#include <math.h>\n\nvoid f(int n, DATA_TYPE *x) { /* HERE */\n}\n"
    with pytest.raises(ScopError) as err:
        from_c(write(tmp_path, text))
    assert err.value.reason == ScopReason.SYNTAX
    assert err.value.location.line == marker_line(text)
    assert "defines" in err.value.hint


def test_reject_missing_include(tmp_path: pathlib.Path) -> None:
    text = "#include <math.h>\n#include \"nowhere.h\" /* HERE */\nvoid f(void) {}\n"
    with pytest.raises(ScopError) as err:
        from_c(write(tmp_path, text))
    assert err.value.reason == ScopReason.SYNTAX
    assert err.value.location.line == marker_line(text)
    assert "include_dirs" in err.value.hint


def test_user_include_dirs(tmp_path: pathlib.Path) -> None:
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "sizes.h").write_text("#define LEN 33\n#define DATA_TYPE float\n")
    text = "#include <sizes.h>\nvoid f(DATA_TYPE x[LEN]) {\n#pragma scop\n" \
           "  for (int i = 0; i < LEN; i++) x[i] = 0;\n#pragma endscop\n}\n"
    scop = from_c(write(tmp_path, text), include_dirs=[inc])
    assert same_set(scop.statements[0].domain, "{ S0[i] : 0 <= i < 33 }")
    assert scop.array("x").dtype == DType.FLOAT32


def test_reject_no_scop(tmp_path: pathlib.Path) -> None:
    text = "void f(int n, double *x) {\n  for (int i = 0; i < n; i++) x[i] = 0;\n}\n"
    with pytest.raises(ScopError) as err:
        from_c(write(tmp_path, text))
    assert err.value.reason == ScopReason.NO_SCOP
    assert "#pragma scop" in err.value.hint
    with pytest.raises(ScopError) as err:
        from_c(text, "f")
    assert err.value.reason == ScopReason.NO_SCOP


def test_reject_unterminated_region(tmp_path: pathlib.Path) -> None:
    text = "void f(int n, double *x) {\n#pragma scop /* HERE */\n  for (int i = 0; i < n; i++) x[i] = 0;\n}\n"
    with pytest.raises(ScopError) as err:
        from_c(write(tmp_path, text))
    assert err.value.reason == ScopReason.NO_SCOP
    assert err.value.location.line == marker_line(text)


def test_non_utf8_bytes_outside_the_region_are_read(tmp_path: pathlib.Path) -> None:
    """A Latin-1 string literal elsewhere in the file (the preprocessor's output is decoded with
    replacement) does not stop the frontend."""
    path = tmp_path / "latin1.c"
    path.write_bytes(b'const char *name = "caf\xe9";\nvoid k(int n, double A[n]) {\n#pragma scop\n'
                     b"  for (int i = 0; i < n; i++) A[i] = A[i] * 2.0;\n#pragma endscop\n}\n")
    assert from_c(path).params == ("n",)


def test_a_syntax_error_at_the_start_of_a_line_points_at_the_line_before(tmp_path: pathlib.Path) -> None:
    """pycparser stops at the next token, so a ';' missing at the end of line 5 is reported at line 6."""
    path = write(tmp_path, "void k(int n, double A[n]) {\n#pragma scop\n  for (int i = 0; i < n; i++) {\n"
                           "    A[i] = 2.0 * A[i];\n    A[i] += 1.0\n  }\n#pragma endscop\n}\n")
    with pytest.raises(ScopError) as e:
        from_c(path)
    assert e.value.reason == ScopReason.SYNTAX and e.value.location.line == 6
    assert "missing ';' or ')' at the end of line 5" in e.value.hint
