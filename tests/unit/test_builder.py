"""The model builder on hand-written loop trees: domains, schedules, accesses, rejections."""

import islpy as isl
import pytest

from polyopt.builder import build_scop
from polyopt.errors import ScopError, ScopReason, SourceLocation
from polyopt.expr import Access, Binary, Compare, Const, DType, Var
from polyopt.frontend.tree import Argument, ArrayDecl, Assign, If, KernelSource, Loop

F = DType.FLOAT64
I = DType.INT64


def loop(i, lo, hi, body, step=1, op="<"):
    return Loop(i, lo, Compare(op, Var(i), hi), step, tuple(body))


def source(body, arrays=(("A", 2),), params=("N",), scalars=()):
    args = tuple(Argument(p, "param", I) for p in params) + tuple(Argument(s, "scalar", F) for s in scalars)
    args += tuple(Argument(a, "array", F) for a, _ in arrays)
    decls = tuple(ArrayDecl(a, F, tuple(Var("N") for _ in range(r))) for a, r in arrays)
    return KernelSource("k", args, decls, tuple(body))


def test_domain_and_schedule_of_triangular_nest():
    body = [loop("i", Const(0), Var("N"), [loop("j", Var("i"), Var("N"), [
        Assign(Access("A", (Var("i"), Var("j"))), Const(1.0, F))])])]
    scop = build_scop(source(body))
    (s,) = scop.statements
    assert s.domain.is_equal(isl.Set("[N] -> { S0[i, j] : N >= 1 and 0 <= i <= j < N }"))
    assert s.schedule.is_equal(isl.Map("[N] -> { S0[i, j] -> [0, i, 0, j, 0] : N >= 1 and 0 <= i <= j < N }"))
    (w,) = s.writes
    assert w.relation.is_equal(isl.Map("[N] -> { S0[i, j] -> A[i, j] : N >= 1 and 0 <= i <= j < N }"))


def test_negative_and_strided_steps():
    body = [loop("i", Binary("-", Var("N"), Const(1)), Const(0), [
        Assign(Access("A", (Var("i"),)), Const(0.0, F))], step=-2, op=">=")]
    scop = build_scop(source(body, arrays=(("A", 1),)))
    s = scop.statements[0]
    assert s.domain.is_equal(isl.Set("[N] -> { S0[i] : N >= 1 and 0 <= i <= N - 1 and (N - 1 - i) mod 2 = 0 }"))
    assert s.schedule.is_equal(isl.Map("[N] -> { S0[i] -> [0, -i, 0] }").intersect_domain(s.domain))


def test_if_else_split_domains_and_keep_order():
    then = Assign(Access("A", (Var("i"),)), Const(1.0, F))
    orelse = Assign(Access("A", (Var("i"),)), Const(2.0, F))
    body = [loop("i", Const(0), Var("N"), [If(Compare("<", Var("i"), Const(5)), (then,), (orelse,))])]
    scop = build_scop(source(body, arrays=(("A", 1),)))
    s0, s1 = scop.statements
    assert s0.domain.is_equal(isl.Set("[N] -> { S0[i] : N >= 1 and 0 <= i < N and i < 5 }"))
    assert s1.domain.is_equal(isl.Set("[N] -> { S1[i] : N >= 1 and 5 <= i < N }"))


def test_fingerprint_ignores_names():
    def gemv(a, x, n, i, j):
        body = [Loop(i, Const(0), Compare("<", Var(i), Var(n)), 1, (Loop(j, Const(0), Compare(
            "<=", Var(j), Binary("-", Var(n), Const(1))), 1, (Assign(Access(x, (Var(i),)), Binary(
                "+", Access(x, (Var(i),)), Access(a, (Var(i), Var(j))))),)),))]
        args = (Argument(n, "param", I), Argument(a, "array", F), Argument(x, "array", F))
        decls = (ArrayDecl(a, F, (Var(n), Var(n))), ArrayDecl(x, F, (Var(n),)))
        return build_scop(KernelSource("k", args, decls, tuple(body)))
    assert gemv("A", "y", "N", "i", "j").fingerprint == gemv("Mat", "out", "size", "p", "q").fingerprint
    assert gemv("A", "y", "N", "i", "j").fingerprint != build_scop(source([loop("i", Const(0), Var("N"), [
        Assign(Access("A", (Var("i"), Var("i"))), Const(0.0, F))])])).fingerprint


def where(node_cls, *args, line):
    return node_cls(*args, location=SourceLocation("k.py", line), text="the line")


@pytest.mark.parametrize("make, reason", [
    (lambda: [where(Assign, Access("A", (Binary("*", Var("N"), Var("N")), Const(0))), Const(0.0, F), line=7)],
     ScopReason.NON_AFFINE_SUBSCRIPT),
    (lambda: [where(Loop, "i", Const(0), Compare("<", Var("i"), Binary("*", Var("N"), Var("N"))), 1, (
        Assign(Access("A", (Var("i"), Var("i"))), Const(0.0, F)),), line=7)], ScopReason.NON_AFFINE_BOUND),
    (lambda: [where(Loop, "i", Const(0), Compare("<", Var("i"), Access("A", (Const(0), Const(0)))), 1, (
        Assign(Access("A", (Var("i"), Var("i"))), Const(0.0, F)),), line=7)], ScopReason.DATA_DEPENDENT_CONTROL),
    (lambda: [loop("i", Const(0), Var("N"), [where(If, Compare(">", Access("A", (Var("i"), Var("i"))), Const(0)),
     (Assign(Access("A", (Var("i"), Var("i"))), Const(0.0, F)),), line=7)])], ScopReason.DATA_DEPENDENT_CONTROL),
    (lambda: [where(Assign, Access("N", ()), Const(0), line=7)], ScopReason.LOOP_BOUND_WRITE),
    (lambda: [where(Loop, "i", Const(0), Compare(">", Var("i"), Const(-1)), 1, (
        Assign(Access("A", (Var("i"), Var("i"))), Const(0.0, F)),), line=7)], ScopReason.BAD_LOOP),
])
def test_rejections_carry_reason_and_line(make, reason):
    with pytest.raises(ScopError) as err:
        build_scop(source(make()))
    assert err.value.reason == reason
    assert err.value.location.line == 7
    assert err.value.hint or reason == ScopReason.LOOP_BOUND_WRITE
