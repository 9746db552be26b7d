"""Tiny hand-built SCoPs for the search tests and examples (no frontend needed).

They are built directly from the language-neutral loop tree, so the search package can be tested
before (and independently of) the Python/C frontends.
"""

from __future__ import annotations

from polyopt import expr as X
from polyopt.builder import build_scop
from polyopt.frontend.tree import Argument, ArrayDecl, Assign, KernelSource, Loop
from polyopt.model import Scop

F64 = X.DType.FLOAT64


def _loop(it: str, bound: str, body: tuple) -> Loop:
    return Loop(it, X.Const(0), X.Compare("<", X.Var(it), X.Var(bound)), 1, body)


def _a(name: str, *idx: str) -> X.Access:
    return X.Access(name, tuple(X.Var(i) for i in idx))


def gemm() -> Scop:
    """C[i][j] += A[i][k] * B[k][j] over (NI, NJ, NK)."""
    body = Assign(_a("C", "i", "j"), X.Binary("+", _a("C", "i", "j"),
                                               X.Binary("*", _a("A", "i", "k"), _a("B", "k", "j"))))
    nest = _loop("i", "NI", (_loop("j", "NJ", (_loop("k", "NK", (body,)),)),))
    args = (Argument("NI", "param", X.DType.INT64), Argument("NJ", "param", X.DType.INT64),
            Argument("NK", "param", X.DType.INT64), Argument("C", "array", F64),
            Argument("A", "array", F64), Argument("B", "array", F64))
    arrays = (ArrayDecl("C", F64, (X.Var("NI"), X.Var("NJ"))), ArrayDecl("A", F64, (X.Var("NI"), X.Var("NK"))),
              ArrayDecl("B", F64, (X.Var("NK"), X.Var("NJ"))))
    return build_scop(KernelSource("gemm", args, arrays, (nest,)))


def copy2d(transpose: bool = False) -> Scop:
    """B[i][j] = A[i][j] (or A[j][i]) over N x N: a dependence-free nest."""
    src = _a("A", "j", "i") if transpose else _a("A", "i", "j")
    nest = _loop("i", "N", (_loop("j", "N", (Assign(_a("B", "i", "j"), src),)),))
    args = (Argument("N", "param", X.DType.INT64), Argument("A", "array", F64), Argument("B", "array", F64))
    arrays = (ArrayDecl("A", F64, (X.Var("N"), X.Var("N"))), ArrayDecl("B", F64, (X.Var("N"), X.Var("N"))))
    return build_scop(KernelSource("copy2d_t" if transpose else "copy2d", args, arrays, (nest,)))


def seidel1d() -> Scop:
    """A[i] = (A[i-1] + A[i] + A[i+1]) / 3 for t < T, 1 <= i < N-1: carried dependences everywhere."""
    val = X.Binary("/", X.Binary("+", X.Binary("+", X.Access("A", (X.Binary("-", X.Var("i"), X.Const(1)),)),
                                                _a("A", "i")),
                                 X.Access("A", (X.Binary("+", X.Var("i"), X.Const(1)),))), X.Const(3.0, F64))
    inner = Loop("i", X.Const(1), X.Compare("<", X.Var("i"), X.Binary("-", X.Var("N"), X.Const(1))), 1,
                 (Assign(_a("A", "i"), val),))
    nest = _loop("t", "T", (inner,))
    args = (Argument("T", "param", X.DType.INT64), Argument("N", "param", X.DType.INT64),
            Argument("A", "array", F64))
    return build_scop(KernelSource("seidel1d", args, (ArrayDecl("A", F64, (X.Var("N"),)),), (nest,)))
