"""Building the mapped-kernel IR (data structures in ir.py): a host program (loops, guards, launches) and
kernels, from the LoopProgram of a GPU-mapped schedule. Both the CUDA printer and the CPU emulator consume exactly this structure.

Kernel semantics (SIMT, as in PPCG): every thread of every block runs the kernel body. Block loops bind
their iterator to blockIdx (one iteration per block, guarded); thread loops to threadIdx (cyclic: the
thread runs iterations tid, tid+B, ...; a single guarded iteration when the loop has at most B); all other
loops and guards outside thread loops are *uniform* (same for every thread of a block), which is where
barriers, shared-memory copies and register loads/stores are placed. Statements reached outside the
thread loops of some used thread dimension run on thread 0 of that dimension only.

Promotions (from "promote:<array>" / "private:<array>" marks) are resolved in promote.py from the LoopProgram
by isl: the footprint of the region's accesses with the enclosing iterators as parameters gives a box
(offset = isl dim_min as an expression, size = the maximum extent); registers also use the per-thread
footprint's stride so that a cyclic register tile maps to constant indices after unrolling.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace

import islpy as isl
from polyopt.codegen.loop_ast import For, If, LoopProgram, Mark, StatementCall

from polyopt import expr as X
from polyopt.builder import NotAffine, condition_text
from polyopt.errors import CodegenError

from .ir import (
    TID,
    Buffer,
    GpuProgram,
    HostFor,
    HostIf,
    HostNode,
    KBarrier,
    KCopy,
    Kernel,
    KFor,
    KIf,
    KNode,
    KStmt,
    Launch,
)
from .mapping import DIMS, GpuMapping, _linear
from .promote import (  # noqa: F401
    PromotionMixin,
    _eval_const,
    _isl_set,
    _loop_cons,
    _prod,
    _pw_to_expr,
    _Scope,
    _thread_dim,
    linear_expr,
    stored_index,
)

log = logging.getLogger("polyopt.codegen.cuda")


# ----------------------------------------------------------------------------------------------- helpers

# ----------------------------------------------------------------------------------------------- kernels

def _minus_form(a: X.Expr, b: X.Expr, subst: dict[str, dict[str, int]]) -> dict[str, int] | None:
    """The linear form of a - b (thread iterators replaced by subst), or None."""
    fa, fb = _linear(a), _linear(b)
    if fa is None or fb is None:
        return None
    out: dict[str, int] = {}
    for form, sign in ((fa, 1), (fb, -1)):
        for k, v in form.items():
            for k2, v2 in (subst[k].items() if k in subst else ((k, 1),)):
                out[k2] = out.get(k2, 0) + sign * v * v2
    return {k: v for k, v in out.items() if v}


def _minus(a: X.Expr, b: X.Expr, subst: dict[str, dict[str, int]], div: int = 1) -> X.Expr:
    """(a - b) / div, simplified when both are linear (thread iterators replaced by subst)."""
    out = _minus_form(a, b, subst)
    if out is not None and all(v % div == 0 for v in out.values()):
        return linear_expr({k: v // div for k, v in out.items() if v})
    diff = X.Binary("-", a, b)
    return diff if div == 1 else X.Binary("/", diff, X.Const(div))


def _rewrite_accesses(e: X.Expr, fn) -> X.Expr:
    return X.transform(e, lambda x: fn(x) if isinstance(x, X.Access) else None)


def _block_dim(f: For) -> str:
    """The grid dimension of a block loop (or of the parts of a split reduction), else ''."""
    m = f.gpu_mapping
    return m[6:] if m and m.startswith(("block.", "split.")) else ""


def _is_split(f: For) -> bool:
    return (f.gpu_mapping or "").startswith("split.")


@dataclass
class _Ctx:
    uniform: bool = True
    bound: frozenset = frozenset()                 # thread dims bound by enclosing thread loops
    promo: dict = field(default_factory=dict)      # array -> Buffer
    split: bool = False                            # inside the parts loop of a split reduction


class _KernelBuilder(PromotionMixin):
    def __init__(self, prog: LoopProgram, options: GpuMapping, name: str, host_scope: _Scope,
                 param_cons: list[str]) -> None:
        self.prog = prog
        self.scop = prog.scop
        self.options = options
        self.name = name
        self.host_scope = host_scope
        self.param_cons = param_cons
        self.buffers: list[Buffer] = []
        self.block_loops: dict[str, list[tuple[For, _Scope]]] = {}
        self.thread_trips: dict[str, list[int | None]] = {}
        self.block_dims: dict[str, int] = {}
        self.reads: set[str] = set()
        self.writes: set[str] = set()

    # -- analysis helpers

    def names(self, scope: _Scope) -> set[str]:
        return set(self.scop.params) | set(scope.vars) | set(TID.values())

    # -- kernel body

    def visit(self, nodes, scope: _Scope, ctx: _Ctx) -> list[KNode]:
        out: list[KNode] = []
        for n in nodes:
            out.extend(self.node(n, scope, ctx))
        return out

    def node(self, n, scope: _Scope, ctx: _Ctx) -> list[KNode]:
        if isinstance(n, Mark):
            regions = _promotions((n.name,))
            if regions and ctx.uniform:
                return self.region(n, scope, ctx, regions, lambda c: self.visit(n.body, scope, c))
            return self.visit(n.body, scope, ctx)
        if isinstance(n, If):
            c = condition_text(n.cond, self.names(scope))
            then = self.visit(n.then, scope.with_cond(c), ctx)
            orelse = self.visit(n.orelse, scope.with_cond(f"not ({c})"), ctx) if n.orelse else []
            return [KIf(n.cond, tuple(then), tuple(orelse))]
        if isinstance(n, StatementCall):
            return [self.stmt(n, ctx)]
        assert isinstance(n, For)
        regions = _promotions(n.annotations)
        if regions and ctx.uniform:
            return self.region(n, scope, ctx, regions, lambda c: [self.loop(n, scope, c)])
        return [self.loop(n, scope, ctx)]

    def region(self, n, scope: _Scope, ctx: _Ctx, regions, build) -> list[KNode]:
        shared, private = [], []
        for kind, array in regions:
            if array in ctx.promo:
                continue
            if kind == "promote":
                b = self.promote_shared(n, scope, array, ctx)
                if b is not None:
                    shared.append(b)
            else:
                b = self.promote_private(n, scope, array, self.kernel_nodes)
                if b is not None:
                    private.append(replace(b, accumulate=True) if ctx.split else b)
                elif ctx.split:
                    raise CodegenError(f"split reduction: the accumulators of {array} do not fit in "
                                       "registers (see the log); use split=1 or a smaller tile")
        if not shared and not private:
            return build(ctx)
        self.buffers.extend(private + shared)
        inner = _Ctx(ctx.uniform, ctx.bound, {**ctx.promo, **{b.array: b for b in shared + private}},
                     ctx.split)
        body = build(inner)
        out: list[KNode] = [KCopy(b.name, "in") for b in private]
        out += [KCopy(b.name, "in") for b in shared]
        if shared:
            out.append(KBarrier())
        out += body
        if shared:
            out.append(KBarrier())
        out += [KCopy(b.name, "out") for b in private]
        return out

    def loop(self, f: For, scope: _Scope, ctx: _Ctx) -> KNode:
        cons = _loop_cons(f, self.names(scope))
        if _block_dim(f):
            d = _block_dim(f)
            self.block_loops.setdefault(d, []).append((f, scope))
            if _is_split(f):
                ctx = replace(ctx, split=True)
            body = self.visit(f.body, scope.with_loop(f, "block", cons), ctx)
            return KFor(f.iterator, f.init, f.cond, f.step, tuple(body), "block", d)
        d = _thread_dim(f)
        if d:
            trip = self.trip(f, scope)
            inner = _Ctx(False, ctx.bound | {d}, ctx.promo, ctx.split)
            body = self.visit(f.body, scope.with_loop(f, "thread", cons), inner)
            return KFor(f.iterator, f.init, f.cond, f.step, tuple(body), "thread", d, trip=trip)
        unroll = f.unroll if f.unroll > 1 else 0
        trip = self.trip(f, scope) if unroll else None
        body = self.visit(f.body, scope.with_loop(f, "seq", cons), ctx)
        return KFor(f.iterator, f.init, f.cond, f.step, tuple(body), "seq", "", unroll, trip)

    def stmt(self, call: StatementCall, ctx: _Ctx) -> KStmt:
        target, value = self.prog.instance(call)
        subst = self.thread_subst

        def fn(a: X.Access) -> X.Expr | None:
            b = ctx.promo.get(a.array)
            if b is None:
                return None
            if b.space == "shared":
                idx = tuple(_minus(i, o, {}) for i, o in zip(a.indices, b.offset))
                if b.perm or b.swizzle:
                    d = b.swizzle[0] if b.swizzle else -1
                    forms = {d: _minus_form(a.indices[d], b.offset[d], subst)} if b.swizzle else None
                    idx = stored_index(b, list(idx), forms)
            else:
                idx = tuple(_minus(i, o, subst, s) for i, o, s in zip(a.indices, b.offset, b.stride))
            return X.Access(b.name, idx)
        target2 = _rewrite_accesses(target, fn)
        assert isinstance(target2, X.Access)
        if ctx.split and not (target.array in ctx.promo and ctx.promo[target.array].accumulate):
            raise CodegenError(f"split reduction: statement {call.statement} updates {target.array} "
                               "outside its register accumulators (partial sums would race)")
        value2 = _rewrite_accesses(value, fn)
        guard = tuple(d for d in DIMS if d not in ctx.bound and self.block_dims.get(d, 1) > 1)
        return KStmt(call.statement, target2, value2, guard)

    # -- entry

    def build(self, nodes) -> Kernel:
        self.kernel_nodes = nodes
        calls = list(self.instances(nodes, self.host_scope, frozenset(), 0))
        for call, _sc, _b in calls:
            stmt = self.scop.statement(call.statement)
            self.writes |= {a.array for a in stmt.writes}
            self.reads |= {a.array for a in stmt.reads}
        self.find_threads(nodes, self.host_scope)
        self.thread_subst = self.single_thread_subst(nodes)
        body = self.visit(nodes, self.host_scope, _Ctx())
        body = _place_barriers(body)
        grid = self.grid()
        block = tuple(self.block_dims.get(d, 1) for d in DIMS)
        single = block == (1, 1, 1) and all(e == X.Const(1) for _lo, e in grid)
        return self.finish(body, block, grid, single)

    def grid(self) -> tuple[tuple[X.Expr, X.Expr], ...]:
        out = []
        hp = list(self.scop.params) + list(self.host_scope.vars)
        for d in DIMS:
            loops = self.block_loops.get(d)
            if not loops:
                out.append((X.Const(0), X.Const(1)))
                continue
            los, his = [], []
            for f, scope in loops:
                inner = list(scope.vars[len(self.host_scope.vars):]) + [f.iterator]
                cons = list(scope.cons) + _loop_cons(f, self.names(scope))
                s = _isl_set(hp, inner, self.param_cons + cons)
                ctx = _isl_set(hp, [], self.param_cons + list(self.host_scope.cons)).params()
                los.append(_pw_to_expr(s.dim_min(len(inner) - 1), ctx))
                his.append(_pw_to_expr(s.dim_max(len(inner) - 1), ctx))
            lo, hi = los[0], his[0]
            for e in los[1:]:
                lo = X.Binary("min", lo, e)
            for e in his[1:]:
                hi = X.Binary("max", hi, e)
            step = loops[0][0].step
            ext = X.Binary("+", X.Binary("/", X.Binary("-", hi, lo), X.Const(step)), X.Const(1))
            out.append((lo, _fold(ext, self.prog.params)))
        return tuple(out)

    def finish(self, body, block, grid, single) -> Kernel:
        lo_of = {d: grid[k][0] for k, d in enumerate(DIMS)}
        body = _set_block_lo(tuple(body), lo_of)
        used_vars: set[str] = set()
        used_arrays: list[str] = []
        for e in _all_exprs(body, self.buffers):
            for x in X.walk(e):
                if isinstance(x, X.Var):
                    used_vars.add(x.name)
                elif isinstance(x, X.Access) and x.array not in {b.name for b in self.buffers}:
                    if x.array not in used_arrays:
                        used_arrays.append(x.array)
        for b in self.buffers:
            if b.array not in used_arrays:
                used_arrays.append(b.array)
        order = [a.name for a in self.scop.arrays]
        arrays = tuple(sorted(used_arrays, key=order.index))
        scalars = tuple(a.name for a in self.scop.scalar_arguments if a.name in used_vars)
        params = tuple(p for p in self.scop.params if p in used_vars)
        hvars = tuple(v for v in self.host_scope.vars if v in used_vars)
        written = tuple(a for a in arrays if a in self.writes)
        return Kernel(self.name, tuple(body), block, grid, tuple(self.buffers), arrays, written, scalars,
                      params, hvars, single)


def _fold(e: X.Expr, params: dict[str, int]) -> X.Expr:
    if params:
        try:
            v = _eval_const(e, params)
            if v is not None:
                return X.Const(int(v))
        except Exception:
            pass
    return e


def _set_block_lo(nodes, lo_of) -> tuple:
    out = []
    for n in nodes:
        if isinstance(n, KFor):
            n = replace(n, body=_set_block_lo(n.body, lo_of),
                        lo=lo_of[n.dim] if n.kind == "block" else None)
        elif isinstance(n, KIf):
            n = replace(n, then=_set_block_lo(n.then, lo_of), orelse=_set_block_lo(n.orelse, lo_of))
        out.append(n)
    return tuple(out)


def _all_exprs(nodes, buffers):
    for n in nodes:
        if isinstance(n, KFor):
            yield n.init
            yield n.cond
            if n.lo is not None:
                yield n.lo
            yield from _all_exprs(n.body, buffers)
        elif isinstance(n, KIf):
            yield n.cond
            yield from _all_exprs(n.then, buffers)
            yield from _all_exprs(n.orelse, buffers)
        elif isinstance(n, KStmt):
            yield n.target
            yield n.value
    for b in buffers:
        yield from b.offset
        if b.guard is not None:
            yield b.guard


def _has_work(n: KNode) -> bool:
    if isinstance(n, (KStmt, KCopy)):
        return True
    if isinstance(n, KFor):
        return any(_has_work(c) for c in n.body)
    if isinstance(n, KIf):
        return any(_has_work(c) for c in n.then + n.orelse)
    return False


def _place_barriers(nodes: list[KNode]) -> list[KNode]:
    """Barriers between consecutive uniform-level pieces of thread work and at the end of uniform loops
    that contain work; then remove duplicates and a trailing barrier."""
    def place(ns) -> list[KNode]:
        out: list[KNode] = []
        pending = False
        for n in ns:
            if isinstance(n, KFor) and n.kind in ("seq", "block"):
                body = place(n.body)
                if n.kind == "seq" and _has_work(n) and n.trip != 1:
                    body.append(KBarrier())
                n = replace(n, body=tuple(_dedupe(body)))
            elif isinstance(n, KIf):
                n = replace(n, then=tuple(place(n.then)), orelse=tuple(place(n.orelse)))
            if isinstance(n, KBarrier):
                pending = False
            elif _has_work(n):
                if pending and not isinstance(n, KCopy):
                    out.append(KBarrier())
                pending = True
            out.append(n)
        return _dedupe(out)
    out = place(nodes)
    while out and isinstance(out[-1], KBarrier):
        out.pop()
    return out


def _dedupe(ns: list[KNode]) -> list[KNode]:
    out: list[KNode] = []
    for n in ns:
        if isinstance(n, KBarrier) and out and isinstance(out[-1], KBarrier):
            continue
        out.append(n)
    return out


def _promotions(annotations) -> list[tuple[str, str]]:
    out = []
    for a in annotations:
        if a.startswith("promote:"):
            out.append(("promote", a.split(":", 1)[1]))
        elif a.startswith("private:"):
            out.append(("private", a.split(":", 1)[1]))
    return out


def _is_kernel_root(n) -> bool:
    if isinstance(n, For):
        return bool(_block_dim(n)) or "gpu:kernel" in n.annotations or bool(_thread_dim(n))
    if isinstance(n, Mark):
        return n.name == "gpu:kernel" or n.name.startswith(("gpu:block", "gpu:thread", "gpu:split"))
    return isinstance(n, StatementCall)


# ----------------------------------------------------------------------------------------------- program

def build_gpu_program(prog: LoopProgram, options: GpuMapping) -> GpuProgram:
    """Split a mapped LoopProgram into host code and kernels (loop_ast attaches each gpu mark to the
    loop of its own schedule dimension only)."""
    scop = prog.scop
    pv = prog.params
    param_cons = [f"{p} = {v}" for p, v in pv.items()]
    ctx_text = str(scop.context)
    m = re.search(r"\{\s*:\s*(.*)\}", ctx_text)
    if m and m.group(1).strip() and ";" not in m.group(1):
        param_cons.append(m.group(1).strip())
    kernels: list[Kernel] = []

    def host(nodes, scope: _Scope) -> list[HostNode]:
        out: list[HostNode] = []
        pending: list = []

        def flush() -> None:
            if pending:
                out.append(kernel(tuple(pending), scope))
                pending.clear()
        for n in nodes:
            if _is_kernel_root(n):
                if isinstance(n, StatementCall):
                    pending.append(n)
                    continue
                flush()
                out.append(kernel((n,), scope))
                continue
            flush()
            if isinstance(n, For):
                names = set(scop.params) | set(scope.vars) | {n.iterator}
                cons = _loop_cons(n, names)
                body = host(n.body, scope.with_loop(n, "host", cons))
                out.append(HostFor(n.iterator, n.init, n.cond, n.step, tuple(body)))
            elif isinstance(n, If):
                c = condition_text(n.cond, set(scop.params) | set(scope.vars))
                out.append(HostIf(n.cond, tuple(host(n.then, scope.with_cond(c))),
                                  tuple(host(n.orelse, scope.with_cond(f"not ({c})")))))
            elif isinstance(n, Mark):
                out.extend(host(n.body, scope))
        flush()
        return out

    def kernel(nodes, scope: _Scope) -> Launch:
        name = re.sub(r"\W", "_", f"{scop.name}_k{len(kernels)}")
        kb = _KernelBuilder(prog, options, name, scope, param_cons)
        try:
            k = kb.build(nodes)
        except (NotAffine, isl.Error) as e:
            raise CodegenError(f"while building kernel {name}: {e}") from e
        if k.single_thread:
            log.warning("kernel %s runs in a single GPU thread (no parallel loop)", name)
        kernels.append(k)
        return Launch(len(kernels) - 1)

    hostprog = host(prog.body, _Scope())
    big = True
    if pv or not scop.params:
        big = False
        for a in scop.arrays:
            n = 1
            for s in a.shape:
                v = _eval_const(s, pv) if s is not None else None
                if v is None:
                    big = True
                    break
                n *= v
            if n >= 2 ** 31 - 1:
                big = True
    return GpuProgram(scop, tuple(hostprog), tuple(kernels), prog.param_values,
                      "long" if big else "int", options)
