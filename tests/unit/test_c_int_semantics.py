"""C integer semantics in the C frontend's model: `/` and `%` truncate toward zero (not floor) in domains,
bounds, subscripts, dependences and generated code; integer types without an exact DType are rejected."""

from __future__ import annotations

import pathlib
import islpy as isl
import numpy as np
import pytest

import polyopt
from polyopt.errors import ScopError, ScopReason
from polyopt.frontend.c_frontend import from_c


def cdiv(a: int, b: int) -> int:
    """C's a / b: truncation toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def crem(a: int, b: int) -> int:
    """C's a % b == a - b * (a / b): the sign of the dividend."""
    return a - b * cdiv(a, b)


def points(s: isl.Set | isl.Map, **params: int) -> set[tuple[int, ...]]:
    """The integer points of a set (or the pairs of a map, flattened) at fixed parameter values."""
    if isinstance(s, isl.Map):
        s = s.wrap().flatten()
    for name, value in params.items():
        s = s.fix_val(isl.dim_type.param, s.find_dim_by_name(isl.dim_type.param, name), value)
    out: set[tuple[int, ...]] = set()
    n = s.dim(isl.dim_type.set)
    s.foreach_point(lambda p: out.add(tuple(p.get_coordinate_val(isl.dim_type.set, k).to_python()
                                            for k in range(n))))
    return out


def kernel(body: str, params: str = "int n, double A[n], double B[n]") -> str:
    return f"void k({params}) {{\n#pragma scop\n{body}#pragma endscop\n}}\n"


def test_division_guard_truncates() -> None:
    """(i - 5) / 2 == 0 holds for i in 4..6 (floor would give 5..6)."""
    scop = from_c(kernel("  for (int i = 0; i < n; i++)\n    if ((i - 5) / 2 == 0) A[i] = 1.0;\n"))
    assert points(scop.statements[0].domain, n=20) == {(4,), (5,), (6,)}
    for n in (1, 5, 9, 20):
        want = {(i,) for i in range(n) if cdiv(i - 5, 2) == 0}
        assert points(scop.statements[0].domain, n=n) == want


def test_division_lower_bound_truncates() -> None:
    """j from (i - 5) / 2 + 3 to 3: B[0] is incremented 3 times (floor: 4)."""
    scop = from_c(kernel("  for (int i = 0; i < n; i++)\n"
                         "    for (int j = (i - 5) / 2 + 3; j < 4; j++) B[i] += 1.0;\n"))
    want = {(i, j) for i in range(12) for j in range(cdiv(i - 5, 2) + 3, 4)}
    assert points(scop.statements[0].domain, n=12) == want
    B = np.zeros(12)
    polyopt.compile(scop)(A=np.zeros(12), B=B)
    assert B.tolist() == [3, 3, 2, 2, 1, 1, 1, 0, 0, 0, 0, 0]


def test_negated_size_divided_starts_at_truncated_bound() -> None:
    """for (i = -n / 2; i < 0; i++) B[i + n / 2]: with n = 9, i starts at -4 and B[0..3] are written."""
    text = kernel("  for (int i = -n / 2; i < 0; i++) B[i + n / 2] += 10.0;\n")
    scop = from_c(text)
    for n in (1, 2, 8, 9):
        assert points(scop.statements[0].domain, n=n) == {(i,) for i in range(cdiv(-n, 2), 0)}
        assert points(scop.statements[0].writes[0].relation, n=n) == \
            {(i, i + cdiv(n, 2)) for i in range(cdiv(-n, 2), 0)}
    for target in ("cpu", "c"):
        B = np.zeros(9)
        polyopt.compile(scop, target=target)(A=np.zeros(9), B=B)   # B[-1] would raise ArgumentError
        assert B.tolist() == [10.0] * 4 + [0.0] * 5


def test_remainder_has_the_sign_of_the_dividend() -> None:
    """(i - 5) % 3 == -1 holds at i = 1 and i = 4 (mod would make it empty)."""
    scop = from_c(kernel("  for (int i = 0; i < n; i++)\n    if ((i - 5) % 3 == -1) B[i] = 7.0;\n"))
    assert points(scop.statements[0].domain, n=10) == {(1,), (4,)}
    B = np.zeros(10)
    polyopt.compile(scop)(A=np.zeros(10), B=B)
    assert np.flatnonzero(B).tolist() == [1, 4]


def test_division_subscript_relation_and_dependences() -> None:
    """A[(i - 3) / 2 + 2]: i = 0 accesses A[1] (floor: A[0]); the flow dependences follow."""
    scop = from_c(kernel("  for (int i = 0; i < n; i++)\n"
                         "    A[(i - 3) / 2 + 2] = A[(i - 3) / 2 + 2] + B[i];\n"))
    cell = {i: cdiv(i - 3, 2) + 2 for i in range(12)}
    assert points(scop.statements[0].writes[0].relation, n=12) == set(cell.items())
    raw = isl.Map.from_union_map(polyopt.dependences(scop).raw)
    want = {(i, j) for i in range(12) for j in range(i + 1, 12)
            if cell[i] == cell[j] and all(cell[k] != cell[i] for k in range(i + 1, j))}
    assert points(raw, n=12) == want
    assert (0, 1) in want and (3, 4) in want
    A = np.arange(12.0)
    B = np.arange(12.0) * 10
    ref = A.copy()
    for i in range(12):
        ref[cell[i]] += B[i]
    polyopt.compile(scop, polyopt.schedule(scop, "pluto"))(A=A, B=B)
    assert A.tolist() == ref.tolist()


def test_negative_divisors_and_parameters_of_either_sign() -> None:
    body = """  for (int i = 0; i < n; i++) {
    if ((i - 5) / -2 == 1) A[i] += 1.0;
    if ((i - 7) % -3 == -2) A[i] += 2.0;
    for (int j = -m / 3; j < (m + 2 * i) / -2 + 5; j++)
      if (j + 6 >= 0 && j + 6 < n) B[j + 6] += 0.5;
  }
"""
    scop = from_c(kernel(body, "int n, int m, double A[n], double B[n]"))
    s0, s1, s2 = scop.statements
    for m in (-7, -4, -1, 0, 2, 5):
        assert points(s0.domain, n=12, m=m) == {(i,) for i in range(12) if cdiv(i - 5, -2) == 1}
        assert points(s1.domain, n=12, m=m) == {(i,) for i in range(12) if crem(i - 7, -3) == -2}
        assert points(s2.domain, n=12, m=m) == {(i, j) for i in range(12)
                                                for j in range(cdiv(-m, 3), cdiv(m + 2 * i, -2) + 5)
                                                if 0 <= j + 6 < 12}
        A, B = np.zeros(12), np.zeros(12)
        polyopt.compile(scop)(m=m, A=A, B=B)
        refA, refB = np.zeros(12), np.zeros(12)
        for i in range(12):
            refA[i] += (cdiv(i - 5, -2) == 1) + 2.0 * (crem(i - 7, -3) == -2)
            for j in range(cdiv(-m, 3), cdiv(m + 2 * i, -2) + 5):
                if 0 <= j + 6 < 12:
                    refB[j + 6] += 0.5
        assert (A.tolist(), B.tolist()) == (refA.tolist(), refB.tolist())


def test_nonnegative_dividends_keep_a_single_floor() -> None:
    """Where the dividend is provably >= 0 the model stays as simple as before (one piece)."""
    scop = from_c(kernel("  for (int i = 0; i < n / 2; i++)\n    A[i / 2 + i % 2] += B[2 * i];\n"))
    s = scop.statements[0]
    assert s.domain.is_equal(isl.Set("[n] -> { S0[i] : n > 0 and 0 <= i and 2i <= n - 2 }"))
    assert s.writes[0].relation.n_basic_map() == 1


def test_floating_division_is_not_integer_division() -> None:
    with pytest.raises(ScopError) as err:
        from_c(kernel("  for (int i = 0; i < n; i++)\n    if (i / 2.0 == 1) A[i] = 1.0;\n"))
    assert err.value.reason == ScopReason.NON_AFFINE_CONDITION


# --- integer types without an exact DType are rejected -----------------------------------------------------

@pytest.mark.parametrize("params, body", [
    ("int n, unsigned int A[n], double B[n]", "A[i] = (A[i] - 5) / 2;"),
    ("int n, char A[n], double B[n]", "B[i] = A[i];"),
    ("int n, unsigned char A[n], double B[n]", "B[i] = A[i];"),
    ("int n, short A[n], double B[n]", "B[i] = A[i];"),
    ("int n, signed char *A, double B[n]", "B[i] = A[i];"),
    ("int n, uint32_t A[n], double B[n]", "B[i] = A[i];"),
    ("int n, int8_t A[n], double B[n]", "B[i] = A[i];"),
    ("int n, unsigned long A[n], double B[n]", "B[i] = A[i];"),
    ("int n, long double A[n], double B[n]", "B[i] = A[i];"),
    ("size_t n, double A[n], double B[n]", "B[i] = A[i];"),
    ("int n, unsigned short s, double B[n]", "B[i] = s;"),
])
def test_reject_integer_types_without_a_dtype(tmp_path: pathlib.Path, params: str, body: str) -> None:
    text = f"#include <stdint.h>\n#include <stddef.h>\nvoid k({params}) {{ /* HERE */\n#pragma scop\n" \
        f"  for (int i = 0; i < n; i++)\n    {body}\n#pragma endscop\n}}\n"
    _expect_type_error(tmp_path, text)


@pytest.mark.parametrize("decl, body", [
    ("", "for (unsigned i = 0; i < n; i++) /* HERE */\n    B[i] = 1.0;"),
    ("  unsigned t; /* HERE */\n", "for (int i = 0; i < n; i++) {\n    t = i;\n    B[i] = t;\n  }"),
    ("", "for (int i = 0; i < n; i++) {\n    short t = i; /* HERE */\n    B[i] = t;\n  }"),
    ("", "for (int i = 0; i < n; i++)\n    B[i] = (unsigned)(i - 5) / 2; /* HERE */"),
    ("", "for (int i = 0; i < n; i++)\n    B[i] = (char)i; /* HERE */"),
])
def test_reject_unsupported_locals_iterators_and_casts(tmp_path: pathlib.Path, decl: str, body: str) -> None:
    text = f"void k(int n, double B[n]) {{\n{decl}#pragma scop\n  {body}\n#pragma endscop\n}}\n"
    _expect_type_error(tmp_path, text)


def _expect_type_error(tmp_path: pathlib.Path, text: str) -> None:
    path = tmp_path / "k.c"
    path.write_text(text)
    with pytest.raises(ScopError) as err:
        from_c(path)
    e = err.value
    assert e.reason == ScopReason.UNSUPPORTED_TYPE, str(e)
    line = [k + 1 for k, t in enumerate(text.splitlines()) if "/* HERE */" in t][0]
    assert e.location.line == line, str(e)
    assert "which polyopt does not model" in e.message
    assert "int (int32_t), long (int64_t), float, double" in e.hint


def test_exact_integer_spellings_keep_their_types() -> None:
    scop = from_c("#include <stdint.h>\nvoid k(int n, int64_t A[n], int32_t B[n], long long C[n], "
                  "signed D[n], long int E[n], signed int F[n]) {\n#pragma scop\n"
                  "  for (int i = 0; i < n; i++)\n    A[i] = B[i] + C[i] + D[i] + E[i] + F[i];\n"
                  "#pragma endscop\n}\n")
    assert [(a.name, a.dtype.value) for a in scop.arrays] == [
        ("A", "int64"), ("B", "int32"), ("C", "int64"), ("D", "int32"), ("E", "int64"), ("F", "int32")]

