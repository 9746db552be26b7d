"""The C backend (print_c + gcc via c_runner): expression semantics, signature, OpenMP pragmas."""

from __future__ import annotations

import islpy as isl
import numpy as np
import pytest
from polyopt.codegen.api import compile as compile_kernel
from polyopt.codegen.c_printer import print_c
from polyopt.codegen.loop_ast import build_loop_ast

from polyopt import expr as X
from polyopt.builder import build_scop
from polyopt.errors import ArgumentError
from polyopt.expr import DType
from polyopt.frontend.tree import Argument, ArrayDecl, Assign, KernelSource, Loop
from polyopt.model import Scop
from polyopt.schedule_tree import Schedule

V, C = X.Var, X.Const


def _loop(i: str, n: X.Expr, body: tuple, lo: X.Expr = C(0)) -> Loop:  # type: ignore[type-arg]
    return Loop(i, lo, X.Compare("<", V(i), n), 1, body)


def ops_scop(dt: DType) -> Scop:
    """B[i][j] = f(A[i][j], i, j) exercising the operators whose C and Python semantics differ."""
    t = X.Access("t")
    a = X.Access("A", (V("i"), V("j")))
    d = X.Binary("-", V("i"), V("j"))
    terms = [
        X.Select(X.Compare(">", t, C(0.5, dt)), X.Call("sqrt", (t,)), X.Call("exp", (X.Unary("neg", t),))),
        X.Binary("floordiv", d, C(3)), X.Binary("mod", d, C(5)), X.Binary("%", d, C(4)),
        X.Binary("/", d, C(3)), X.Binary("min", V("i"), V("j")), X.Binary("max", d, C(0)),
        X.Call("tanh", (t,)), X.Call("pow", (t, C(2.0, dt))), X.Call("fabs", (X.Binary("-", t, C(0.7, dt)),)),
        X.Cast(DType.INT32, X.Binary("*", t, C(10.0, dt))), X.Call("atan2", (t, C(2.0, dt))),
        X.Binary("mod", X.Binary("-", t, C(0.6, dt)), C(0.25, dt)),
        X.Binary("floordiv", X.Binary("-", t, C(0.6, dt)), C(0.25, dt)),
    ]
    value: X.Expr = terms[0]
    for term in terms[1:]:
        value = X.Binary("+", value, term)
    body = (_loop("i", V("n"), (_loop("j", V("m"), (
        Assign(t, X.Binary("*", a, V("alpha"))),
        Assign(X.Access("B", (V("i"), V("j"))), value))),)),)
    args = (Argument("n", "param", DType.INT64), Argument("m", "param", DType.INT64),
            Argument("alpha", "scalar", dt), Argument("A", "array", dt), Argument("B", "array", dt))
    arrays = (ArrayDecl("A", dt, (V("n"), V("m"))), ArrayDecl("B", dt, (V("n"), V("m"))),
              ArrayDecl("t", dt, (), is_argument=False))
    return build_scop(KernelSource("ops", args, arrays, body))


def ops_reference(A: np.ndarray, alpha: float) -> np.ndarray:
    n, m = A.shape
    i, j = np.meshgrid(np.arange(n), np.arange(m), indexing="ij")
    t = (A * A.dtype.type(alpha)).astype(np.float64)
    d = i - j
    out = np.where(t > 0.5, np.sqrt(t), np.exp(-t)) + d // 3 + d % 5 + np.fmod(d, 4) + np.trunc(d / 3)
    out += np.minimum(i, j) + np.maximum(d, 0) + np.tanh(t) + t ** 2 + np.abs(t - 0.7)
    out += np.trunc(t * 10) + np.arctan2(t, 2.0) + np.mod(t - 0.6, 0.25) + np.floor((t - 0.6) / 0.25)
    return out


@pytest.mark.parametrize("target", ["c", "cpu"])
@pytest.mark.parametrize("dt", [DType.FLOAT64, DType.FLOAT32])
def test_operator_semantics(target: str, dt: DType) -> None:
    scop = ops_scop(dt)
    npdt = np.float64 if dt == DType.FLOAT64 else np.float32
    rng = np.random.default_rng(3)
    A = rng.random((13, 11)).astype(npdt)
    B = np.full_like(A, np.nan)
    compile_kernel(scop, "original", target)(A=A, B=B, alpha=1.25)
    rtol = 1e-9 if dt == DType.FLOAT64 else 1e-4
    assert np.allclose(B, ops_reference(A, 1.25), rtol=rtol, atol=rtol)


def test_print_c_signature_and_linearised_indexing() -> None:
    scop = ops_scop(DType.FLOAT32)
    program = build_loop_ast(scop, isl.Schedule.from_domain(scop.domain).insert_partial_schedule(
        isl.MultiUnionPwAff.from_union_map(scop.schedule_map)), {"n": 5, "m": 7})
    src = print_c(program, function_name="ops_k")
    assert "void ops_k(long n, long m, float alpha, float *restrict A, float *restrict B)" in src
    assert "float t;" in src and "sqrtf(" in src and "tanhf(" in src
    assert "* 7L" in src                      # specialised: the row length is a constant
    generic = print_c(program, function_name="ops_k", specialized=False)
    assert "* m)" in generic


def test_parallel_pragma_and_results() -> None:
    scop = ops_scop(DType.FLOAT64)
    node = Schedule.original(scop).tree.get_root()
    while node.get_type() != isl.schedule_node_type.band:
        node = node.child(0)
    tree = node.insert_mark(isl.Id("parallel")).get_schedule()
    kernel = compile_kernel(scop, tree, "c", threads=2)
    assert "#pragma omp parallel for" in kernel.c_source and "firstprivate(t)" in kernel.c_source
    A = np.random.default_rng(0).random((37, 5))
    B = np.full_like(A, np.nan)
    kernel(37, 5, 0.5, A, B)
    assert np.allclose(B, ops_reference(A, 0.5), rtol=1e-9)


def test_bad_arguments_raise_clear_errors() -> None:
    kernel = compile_kernel(ops_scop(DType.FLOAT64), "original", "c")
    A = np.zeros((4, 3))
    with pytest.raises(ArgumentError, match="dtype"):
        kernel(A=A.astype(np.float32), B=np.zeros((4, 3), np.float32), alpha=1.0)
    with pytest.raises(ArgumentError, match="contiguous"):
        kernel(A=np.zeros((3, 4)).T, B=np.zeros((4, 3)), alpha=1.0)
    with pytest.raises(ArgumentError, match="shape"):
        kernel(A=A, B=np.zeros((4, 4)), alpha=1.0)
