"""The mapped-kernel IR: a host program (loops, guards, launches) and kernels, built from the LoopProgram of
a GPU-mapped schedule. Both the CUDA printer and the CPU emulator consume exactly this structure.

Kernel semantics (SIMT, as in PPCG): every thread of every block runs the kernel body. Block loops bind
their iterator to blockIdx (one iteration per block, guarded); thread loops to threadIdx (cyclic: the
thread runs iterations tid, tid+B, ...; a single guarded iteration when the loop has at most B); all other
loops and guards outside thread loops are *uniform* (same for every thread of a block), which is where
barriers, shared-memory copies and register loads/stores are placed. Statements reached outside the
thread loops of some used thread dimension run on thread 0 of that dimension only.

Promotions (from "promote:<array>" / "private:<array>" marks) are resolved here from the LoopProgram by
isl: the footprint of the region's accesses with the enclosing iterators as parameters gives a box
(offset = isl dim_min as an expression, size = the maximum extent); registers also use the per-thread
footprint's stride so that a cyclic register tile maps to constant indices after unrolling.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Union

import islpy as isl
from polyopt.codegen.loop_ast import For, If, LoopProgram, Mark, StatementCall, expr_from_isl

from polyopt import expr as X
from polyopt.builder import NotAffine, affine_text, condition_text
from polyopt.errors import CodegenError
from polyopt.expr import DType
from polyopt.model import Scop

from .mapping import DIMS, GpuMapping, _linear

log = logging.getLogger("polyopt.codegen.cuda")

TID = {"x": "_tx", "y": "_ty", "z": "_tz"}        # thread-id variables inside IR expressions


@dataclass(frozen=True)
class Buffer:
    """A promoted copy of part of an array: shared memory (per block) or registers (per thread)."""

    name: str
    array: str
    dtype: DType
    shape: tuple[int, ...]
    space: str                            # "shared" | "register"
    offset: tuple[X.Expr, ...]            # global index of element 0 along each dimension
    stride: tuple[int, ...]               # global index = offset + stride * buffer index
    guard: X.Expr | None = None           # register: which elements (_e0, _e1, ...) this thread owns
    vector: int = 1                       # shared copy-in width (4: float4 loads)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


@dataclass(frozen=True)
class KFor:
    var: str
    init: X.Expr
    cond: X.Expr
    step: int
    body: tuple[KNode, ...]
    kind: str = "seq"                     # seq | block | thread
    dim: str = ""
    unroll: int = 0
    trip: int | None = None               # maximal trip count when known
    lo: X.Expr | None = None              # block loops: iterator value of block 0


@dataclass(frozen=True)
class KIf:
    cond: X.Expr
    then: tuple[KNode, ...]
    orelse: tuple[KNode, ...] = ()


@dataclass(frozen=True)
class KStmt:
    name: str
    target: X.Access
    value: X.Expr
    thread_guard: tuple[str, ...] = ()    # thread dimensions that must be 0


@dataclass(frozen=True)
class KBarrier:
    pass


@dataclass(frozen=True)
class KCopy:
    buffer: str
    direction: str                        # "in" (global -> buffer) | "out"


KNode = Union[KFor, KIf, KStmt, KBarrier, KCopy]


@dataclass(frozen=True)
class Kernel:
    name: str
    body: tuple[KNode, ...]
    block: tuple[int, int, int]
    grid: tuple[tuple[X.Expr, X.Expr], ...]     # per x, y, z: (lowest block iterator, number of blocks)
    buffers: tuple[Buffer, ...]
    arrays: tuple[str, ...]                     # global arrays, in argument order
    written: tuple[str, ...]
    scalars: tuple[str, ...]
    params: tuple[str, ...]
    host_vars: tuple[str, ...]
    single_thread: bool = False

    def buffer(self, name: str) -> Buffer:
        for b in self.buffers:
            if b.name == name:
                return b
        raise KeyError(name)

    @property
    def threads(self) -> int:
        return self.block[0] * self.block[1] * self.block[2]

    @property
    def shared_bytes(self) -> int:
        return sum(b.nbytes for b in self.buffers if b.space == "shared")


@dataclass(frozen=True)
class HostFor:
    var: str
    init: X.Expr
    cond: X.Expr
    step: int
    body: tuple[HostNode, ...]


@dataclass(frozen=True)
class HostIf:
    cond: X.Expr
    then: tuple[HostNode, ...]
    orelse: tuple[HostNode, ...] = ()


@dataclass(frozen=True)
class Launch:
    kernel: int


HostNode = Union[HostFor, HostIf, Launch]


@dataclass(frozen=True, eq=False)
class GpuProgram:
    scop: Scop
    host: tuple[HostNode, ...]
    kernels: tuple[Kernel, ...]
    param_values: tuple[tuple[str, int], ...]
    index_type: str                              # "int" or "long"
    options: GpuMapping = field(default_factory=GpuMapping)

    @property
    def params(self) -> dict[str, int]:
        return dict(self.param_values)


# ----------------------------------------------------------------------------------------------- helpers

@dataclass(frozen=True)
class _Scope:
    """Enclosing iterators (with their isl constraints) at a point of the kernel."""

    vars: tuple[str, ...] = ()
    cons: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()          # per var: host | block | seq | thread
    loops: tuple[object, ...] = ()       # per var: the For (None for host)

    def with_loop(self, f: For, kind: str, cons: list[str]) -> _Scope:
        return _Scope(self.vars + (f.iterator,), self.cons + tuple(cons), self.kinds + (kind,),
                      self.loops + (f,))

    def with_cond(self, c: str) -> _Scope:
        return replace(self, cons=self.cons + (c,))


def _loop_cons(f: For, names: set[str]) -> list[str]:
    names = names | {f.iterator}
    init = affine_text(f.init, names)
    out = [f"{f.iterator} >= {init}", condition_text(f.cond, names)]
    if f.step != 1:
        out.append(f"(({f.iterator}) - ({init})) mod {f.step} = 0")
    return out


def _isl_set(params: list[str], dims: list[str], cons: list[str], tup: str = "") -> isl.Set:
    body = " and ".join(f"({c})" for c in cons) if cons else "0 = 0"
    return isl.Set(f"[{', '.join(params)}] -> {{ {tup}[{', '.join(dims)}] : {body} }}")


def _pw_to_expr(pa: isl.PwAff, context: isl.Set) -> X.Expr:
    context = context.align_params(pa.get_space())
    pa = pa.align_params(context.get_space()).coalesce().gist_params(context).coalesce()
    build = isl.AstBuild.from_context(context)
    return expr_from_isl(build.expr_from_pw_aff(pa))


def _max_val(pa: isl.PwAff) -> int | None:
    try:
        v = pa.max_val()
    except isl.Error:
        return None
    if not v.is_int():
        return None
    return int(v.to_python())


def linear_expr(form: dict[str, int]) -> X.Expr:
    """An Expr of a linear form (inverse of mapping._linear)."""
    out: X.Expr | None = None
    for k in sorted(x for x in form if x):
        c = form[k]
        if c == 0:
            continue
        term: X.Expr = X.Var(k) if abs(c) == 1 else X.Binary("*", X.Const(abs(c)), X.Var(k))
        if out is None:
            out = term if c > 0 else X.Unary("neg", term)
        else:
            out = X.Binary("+" if c > 0 else "-", out, term)
    const = form.get("", 0)
    if out is None:
        return X.Const(const)
    if const:
        out = X.Binary("+" if const > 0 else "-", out, X.Const(abs(const)))
    return out


def _minus(a: X.Expr, b: X.Expr, subst: dict[str, dict[str, int]], div: int = 1) -> X.Expr:
    """(a - b) / div, simplified when both are linear (thread iterators replaced by subst)."""
    fa, fb = _linear(a), _linear(b)
    if fa is not None and fb is not None:
        out: dict[str, int] = {}
        for form, sign in ((fa, 1), (fb, -1)):
            for k, v in form.items():
                for k2, v2 in (subst[k].items() if k in subst else ((k, 1),)):
                    out[k2] = out.get(k2, 0) + sign * v * v2
        if all(v % div == 0 for v in out.values()):
            return linear_expr({k: v // div for k, v in out.items() if v})
    diff = X.Binary("-", a, b)
    return diff if div == 1 else X.Binary("/", diff, X.Const(div))


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return {k: v for k, v in out.items() if v or k == ""}


def _bounds(form: dict[str, int], rng) -> tuple[dict[str, int], dict[str, int]]:
    """Interval [lo, hi] (linear forms in the outer variables) of a linear form over ranged variables."""
    lo: dict[str, int] = {}
    hi: dict[str, int] = {}
    for v, c in form.items():
        if v in rng:
            vlo, vhi, _st = rng[v]
            a, b = (vlo, vhi) if c > 0 else (vhi, vlo)
            lo = _add(lo, {k: c * x for k, x in a.items()})
            hi = _add(hi, {k: c * x for k, x in b.items()})
        else:
            lo = _add(lo, {v: c})
            hi = _add(hi, {v: c})
    return lo, hi


def _const_diff(a: dict[str, int], b: dict[str, int]) -> int | None:
    d = _add(a, {k: -v for k, v in b.items()})
    if any(v for k, v in d.items() if k):
        return None
    return d.get("", 0)


def _rewrite_accesses(e: X.Expr, fn) -> X.Expr:
    return X.transform(e, lambda x: fn(x) if isinstance(x, X.Access) else None)


# ----------------------------------------------------------------------------------------------- kernels

@dataclass
class _Ctx:
    uniform: bool = True
    bound: frozenset = frozenset()                 # thread dims bound by enclosing thread loops
    promo: dict = field(default_factory=dict)      # array -> Buffer


class _KernelBuilder:
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

    def trip(self, f: For, scope: _Scope) -> int | None:
        try:
            cons = list(scope.cons) + _loop_cons(f, self.names(scope))
            init = affine_text(f.init, self.names(scope))
            s = _isl_set(list(self.scop.params) + list(TID.values()), list(scope.vars) + [f.iterator, "_w"],
                         self.param_cons + cons + [f"_w = {f.iterator} - ({init})"])
        except (NotAffine, isl.Error):
            return None
        if s.is_empty():
            return 0
        m = _max_val(s.dim_max(len(scope.vars) + 1))
        return None if m is None else m // f.step + 1

    def trip_in(self, sc: _Scope, k: int) -> int | None:
        """Maximal trip count of the k-th enclosing loop of scope sc (over the instances inside)."""
        f = sc.loops[k]
        try:
            init = affine_text(f.init, self.names(sc))
            s = _isl_set(list(self.scop.params) + list(TID.values()), list(sc.vars) + ["_w"],
                         self.param_cons + list(sc.cons) + [f"_w = {f.iterator} - ({init})"])
        except (NotAffine, isl.Error):
            return None
        if s.is_empty():
            return 0
        m = _max_val(s.dim_max(len(sc.vars)))
        return None if m is None else m // f.step + 1

    def instances(self, nodes, scope: _Scope, ctx_bound: frozenset, region_start: int):
        """(call, scope, bound thread dims) for every statement below nodes."""
        for n in nodes:
            if isinstance(n, For):
                dim = _thread_dim(n)
                cons = _loop_cons(n, self.names(scope))
                kind = "thread" if dim else "seq"
                yield from self.instances(n.body, scope.with_loop(n, kind, cons),
                                          ctx_bound | ({dim} if dim else set()), region_start)
            elif isinstance(n, If):
                c = condition_text(n.cond, self.names(scope))
                yield from self.instances(n.then, scope.with_cond(c), ctx_bound, region_start)
                if n.orelse:
                    yield from self.instances(n.orelse, scope.with_cond(f"not ({c})"), ctx_bound,
                                              region_start)
            elif isinstance(n, Mark):
                yield from self.instances(n.body, scope, ctx_bound, region_start)
            else:
                yield n, scope, ctx_bound

    def access_list(self, call: StatementCall, array: str) -> list[X.Access]:
        target, value = self.prog.instance(call)
        accs = [a for a in X.accesses(value) + [target] if a.array == array]
        for i in target.indices:
            accs += [a for a in X.accesses(i) if a.array == array]
        return accs

    def footprint(self, nodes, scope: _Scope, array: str, per_thread: bool):
        """Parametric footprint of `array` below nodes: (set, params, outer constraints)."""
        rank = len(self.scop.array(array).shape)
        evars = [f"_e{k}" for k in range(rank)]
        outer = list(scope.vars)
        params = list(self.scop.params) + outer + ([TID[d] for d in DIMS] if per_thread else [])
        pcons = list(self.param_cons) + list(scope.cons)
        if per_thread:
            pcons += [f"0 <= {TID[d]} < {self.block_dims.get(d, 1)}" for d in DIMS]
        total: isl.Set | None = None
        start = len(scope.vars)
        for call, sc, bound in self.instances(nodes, scope, frozenset(), start):
            inner = list(sc.vars[start:])
            cons = list(sc.cons[len(scope.cons):])
            if per_thread:
                extra: list[str] = []
                for k, v in enumerate(list(inner)):
                    if sc.kinds[start + k] == "thread":
                        f = sc.loops[start + k]
                        d = _thread_dim(f)
                        init = affine_text(f.init, self.names(sc))
                        b = self.block_dims.get(d, 1)
                        inner.append(f"_q{k}")
                        extra.append(f"_q{k} >= 0 and {v} = ({init}) + {f.step} * ({TID[d]} + {b} * _q{k})")
                for d in DIMS:
                    if d not in bound:
                        extra.append(f"{TID[d]} = 0")
                cons += extra
            for acc in self.access_list(call, array):
                subs = [affine_text(i, self.names(sc)) for i in acc.indices]
                eq = [f"{evars[k]} = {subs[k]}" for k in range(rank)]
                body = " and ".join(f"({c})" for c in pcons + cons + eq)
                ex = f"exists ({', '.join(inner)} : {body})" if inner else body
                s = isl.Set(f"[{', '.join(params)}] -> {{ [{', '.join(evars)}] : {ex} }}")
                total = s if total is None else total.union(s)
        if total is None:
            return None, params, pcons
        ctx = _isl_set(params, [], pcons).params()
        return total.coalesce(), params, ctx

    def interval_box(self, nodes, scope: _Scope, array: str, per_thread: bool):
        """Box of the region's accesses by interval analysis of the linear subscripts (clean, affine
        offsets); None when a subscript or bound is not linear."""
        from math import gcd
        rank = len(self.scop.array(array).shape)
        start = len(scope.vars)
        lows: list[list[dict[str, int]]] = [[] for _ in range(rank)]
        widths: list[list[int]] = [[] for _ in range(rank)]
        strides = [0] * rank
        trips: dict[tuple, int | None] = {}
        for call, sc, _bound in self.instances(nodes, scope, frozenset(), start):
            rng: dict[str, tuple[dict[str, int], dict[str, int], int]] = {}   # var -> (lo, hi, step)
            for k in range(start, len(sc.vars)):
                v, f = sc.vars[k], sc.loops[k]
                key = (v, sc.cons)
                if key not in trips:
                    trips[key] = self.trip_in(sc, k)
                t, init = trips[key], _linear(f.init)
                if t is None or init is None:
                    return None
                lo, hi = _bounds(init, rng)
                d = _thread_dim(f)
                if d and per_thread:
                    b = self.block_dims.get(d, 1)
                    lo = _add(lo, {TID[d]: f.step})
                    hi = _add(hi, {TID[d]: f.step})
                    reps = -(-t // b)
                    rng[v] = (lo, _add(hi, {"": f.step * b * (reps - 1)}), f.step * b)
                else:
                    rng[v] = (lo, _add(hi, {"": f.step * (t - 1)}), f.step)
            for acc in self.access_list(call, array):
                for k, idx in enumerate(acc.indices):
                    form = _linear(idx)
                    if form is None:
                        return None
                    lo, hi = _bounds(form, rng)
                    w = _const_diff(hi, lo)
                    if w is None:
                        return None
                    lows[k].append(lo)
                    widths[k].append(w)
                    for v, c in form.items():
                        if v in rng and rng[v][0] != rng[v][1]:
                            strides[k] = gcd(strides[k], abs(c * rng[v][2]))
        if not lows[0] and rank:
            return None
        offs, shape, out_strides = [], [], []
        for k in range(rank):
            base = lows[k][0]
            shifts = [_const_diff(lo, base) for lo in lows[k]]
            if any(x is None for x in shifts):
                return None
            mn = min(shifts)
            mx = max(sh + w for sh, w in zip(shifts, widths[k]))
            st = 1
            if per_thread:
                st = strides[k]
                for sh in shifts:
                    st = gcd(st, sh - mn)
                st = st or 1
            offs.append(linear_expr(_add(base, {"": mn})))
            out_strides.append(st)
            shape.append((mx - mn) // st + 1)
        return tuple(offs), tuple(shape), tuple(out_strides)

    def box(self, fp: isl.Set, ctx: isl.Set, strided: bool):
        rank = fp.dim(isl.dim_type.set)
        offs, shape, strides = [], [], []
        for k in range(rank):
            lo, hi = fp.dim_min(k), fp.dim_max(k)
            ext = _max_val(hi.sub(lo))
            if ext is None:
                return None
            st = 1
            if strided:
                v = fp.get_stride(k)
                st = int(v.to_python()) if v.is_int() and v.to_python() > 0 else 1
            offs.append(_pw_to_expr(lo, ctx))
            strides.append(st)
            shape.append(ext // st + 1)
        return tuple(offs), tuple(shape), tuple(strides)

    # -- promotion
    def fresh(self, name: str) -> str:
        taken = {b.name for b in self.buffers} | {a.name for a in self.scop.arrays}
        out, k = name, 1
        while out in taken:
            out, k = f"{name}{k}", k + 1
        return out

    def promote_shared(self, f, scope: _Scope, array: str, ctx: _Ctx) -> Buffer | None:
        arr = self.scop.array(array)
        if array in self.writes:
            log.info("%s: not promoting %s to shared memory: it is written in the kernel", self.name, array)
            return None
        if any(s is None for s in arr.shape) or not arr.shape:
            return None
        try:
            bx = self.interval_box([f], scope, array, per_thread=False)
            fp, params, pctx = self.footprint([f], scope, array, per_thread=False)
            if fp is None:
                return None
            if bx is None:
                bx = self.box(fp, pctx, strided=False)
        except (NotAffine, isl.Error) as e:
            log.info("%s: no shared footprint for %s (%s)", self.name, array, e)
            return None
        if bx is None:
            log.info("%s: footprint of %s has no fixed size; not promoted", self.name, array)
            return None
        offs, shape, strides = bx
        buf = Buffer(self.fresh(f"{array}_sh"), array, arr.dtype, shape, "shared", offs, strides)
        used = sum(b.nbytes for b in self.buffers if b.space == "shared")
        if used + buf.nbytes > self.options.shared_budget:
            log.info("%s: shared tile of %s (%d bytes) exceeds the budget", self.name, array, buf.nbytes)
            return None
        vec = self.vector_width(buf, fp, pctx)
        return replace(buf, vector=vec)

    def vector_width(self, buf: Buffer, fp: isl.Set, ctx: isl.Set) -> int:
        if not self.options.vector_loads or buf.dtype != DType.FLOAT32 or buf.shape[-1] % 4:
            return 1
        last = self.scop.array(buf.array).shape[-1]
        pv = self.prog.params
        try:
            n = _eval_const(last, pv)
        except Exception:
            return 1
        if n is None or n % 4:
            return 1
        lo = fp.dim_min(fp.dim(isl.dim_type.set) - 1)
        ok = []

        def piece(_s: isl.Set, aff: isl.Aff) -> None:
            ok.append(aff.mod_val(isl.Val(4)).is_cst() and aff.mod_val(isl.Val(4)).get_constant_val()
                      .to_python() == 0)
        lo.foreach_piece(piece)
        return 4 if ok and all(ok) else 1

    def promote_private(self, f, scope: _Scope, array: str, kernel_nodes) -> Buffer | None:
        arr = self.scop.array(array)
        if not arr.shape:
            return None
        inside = sum(len(self.access_list(c, array)) for c, _s, _b in self.instances([f], scope, frozenset(), 0))
        total = sum(len(self.access_list(c, array))
                    for c, _s, _b in self.instances(kernel_nodes, self.host_scope, frozenset(), 0))
        if inside != total:
            log.info("%s: %s is accessed outside the register region; not promoted", self.name, array)
            return None
        try:
            fp, params, pctx = self.footprint([f], scope, array, per_thread=True)
            if fp is None:
                return None
            bx = self.interval_box([f], scope, array, per_thread=True) or self.box(fp, pctx, strided=True)
            if bx is None:
                return None
            if not self.disjoint(f, scope, array):
                log.info("%s: threads share elements of %s; not promoted to registers", self.name, array)
                return None
            offs, shape, strides = bx
            n = 1
            for s in shape:
                n *= s
            if n > self.options.max_private:
                log.info("%s: register tile of %s has %d elements (> %d)", self.name, array, n,
                         self.options.max_private)
                return None
            rank = len(shape)
            g = fp.gist(self.box_set(params, offs, shape, strides, pctx, fp))
            g = g.move_dims(isl.dim_type.param, len(params), isl.dim_type.set, 0, rank)
            for k in range(rank):
                g = g.set_dim_name(isl.dim_type.param, len(params) + k, f"_e{k}")
            gctx = isl.Set.universe(g.get_space()).params()
            gctx = gctx.intersect_params(pctx.align_params(gctx.get_space()))
            g = g.gist_params(gctx)
            guard = expr_from_isl(isl.AstBuild.from_context(gctx).expr_from_set(g.params()))
        except (NotAffine, isl.Error) as e:
            log.info("%s: no register footprint for %s (%s)", self.name, array, e)
            return None
        return Buffer(self.fresh(f"{array}_reg"), array, arr.dtype, shape, "register", offs, strides, guard)

    def box_set(self, params, offs, shape, strides, pctx, fp) -> isl.Set:
        """{ e : e = offset + stride * i, 0 <= i < shape } (the universe if an offset is not affine)."""
        rank = len(shape)
        try:
            names = set(params)
            offt = [affine_text(o, names) for o in offs]
        except NotAffine:
            return isl.Set.universe(fp.get_space())
        ivars = [f"_i{k}" for k in range(rank)]
        cons = [f"0 <= _i{k} < {shape[k]} and _e{k} = ({offt[k]}) + {strides[k]} * _i{k}" for k in range(rank)]
        text = (f"[{', '.join(params)}] -> {{ [{', '.join(f'_e{k}' for k in range(rank))}] : "
                f"exists ({', '.join(ivars)} : {' and '.join(cons)}) }}")
        return isl.Set(text).align_params(fp.get_space()).intersect_params(pctx.align_params(fp.get_space()))

    def disjoint(self, f, scope: _Scope, array: str) -> bool:
        """No element of the array is accessed by two threads of a block (given the outer iterators)."""
        fp, _params, _ctx = self.footprint([f], scope, array, per_thread=True)
        nt = len(self.scop.params) + len(scope.vars)
        m = fp.move_dims(isl.dim_type.set, 0, isl.dim_type.param, nt, 3)   # [tx, ty, tz, e...]
        mm = isl.Map.from_range(m).move_dims(isl.dim_type.in_, 0, isl.dim_type.out, 0, 3)
        pairs = mm.apply_range(mm.reverse())
        ne = isl.Map("{ [a, b, c] -> [d, e, f] : a != d or b != e or c != f }").align_params(pairs.get_space())
        return pairs.intersect(ne).is_empty()

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
                    private.append(b)
        if not shared and not private:
            return build(ctx)
        self.buffers.extend(private + shared)
        inner = _Ctx(ctx.uniform, ctx.bound, {**ctx.promo, **{b.array: b for b in shared + private}})
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
            body = self.visit(f.body, scope.with_loop(f, "block", cons), ctx)
            return KFor(f.iterator, f.init, f.cond, f.step, tuple(body), "block", d)
        d = _thread_dim(f)
        if d:
            trip = self.trip(f, scope)
            inner = _Ctx(False, ctx.bound | {d}, ctx.promo)
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
            else:
                idx = tuple(_minus(i, o, subst, s) for i, o, s in zip(a.indices, b.offset, b.stride))
            return X.Access(b.name, idx)
        target2 = _rewrite_accesses(target, fn)
        assert isinstance(target2, X.Access)
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

    def find_threads(self, nodes, scope: _Scope) -> None:
        trips: dict[str, list[int | None]] = {}

        def walk(ns, sc: _Scope) -> None:
            for n in ns:
                if isinstance(n, For):
                    d = _thread_dim(n)
                    if d:
                        trips.setdefault(d, []).append(self.trip(n, sc))
                    walk(n.body, sc.with_loop(n, "thread" if d else "seq", _loop_cons(n, self.names(sc))))
                elif isinstance(n, If):
                    c = condition_text(n.cond, self.names(sc))
                    walk(n.then, sc.with_cond(c))
                    walk(n.orelse, sc.with_cond(f"not ({c})"))
                elif isinstance(n, Mark):
                    walk(n.body, sc)
        walk(nodes, scope)
        hint = list(self.options.threads) + [1, 1, 1]
        for k, d in enumerate(DIMS):
            if d not in trips:
                continue
            ts = trips[d]
            self.block_dims[d] = max(1, max(ts)) if all(t is not None for t in ts) else hint[k]
        while self.block_dims and _prod(self.block_dims.values()) > self.options.max_threads:
            d = max(self.block_dims, key=lambda k: self.block_dims[k])
            self.block_dims[d] = (self.block_dims[d] + 1) // 2

    def single_thread_subst(self, nodes) -> dict[str, dict[str, int]]:
        """Thread iterators that take one value per thread: iterator -> linear form in the thread id."""
        out: dict[str, dict[str, int]] = {}

        def walk(ns, sc: _Scope) -> None:
            for n in ns:
                if isinstance(n, For):
                    d = _thread_dim(n)
                    if d:
                        t = self.trip(n, sc)
                        form = _linear(n.init)
                        if t is not None and t <= self.block_dims.get(d, 1) and form is not None:
                            form = dict(form)
                            form[TID[d]] = form.get(TID[d], 0) + n.step
                            out[n.iterator] = form
                    walk(n.body, sc.with_loop(n, "thread" if d else "seq", _loop_cons(n, self.names(sc))))
                elif isinstance(n, If):
                    walk(n.then, sc)
                    walk(n.orelse, sc)
                elif isinstance(n, Mark):
                    walk(n.body, sc)
        walk(nodes, self.host_scope)
        return out

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


def _prod(vals) -> int:
    n = 1
    for v in vals:
        n *= v
    return n


def _fold(e: X.Expr, params: dict[str, int]) -> X.Expr:
    if params:
        try:
            v = _eval_const(e, params)
            if v is not None:
                return X.Const(int(v))
        except Exception:
            pass
    return e


def _eval_const(e: X.Expr | None, env: dict[str, int]) -> int | None:
    from .emulate import eval_int
    if e is None:
        return None
    if any(isinstance(x, X.Var) and x.name not in env for x in X.walk(e)):
        return None
    return eval_int(e, env)


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


def _thread_dim(f: For) -> str:
    m = f.gpu_mapping
    return m[7:] if m and m.startswith("thread.") else ""


def _block_dim(f: For) -> str:
    m = f.gpu_mapping
    return m[6:] if m and m.startswith("block.") else ""


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
        return n.name == "gpu:kernel" or n.name.startswith("gpu:block") or n.name.startswith("gpu:thread")
    return isinstance(n, StatementCall)


# ----------------------------------------------------------------------------------------------- program

def _sanitize(nodes, valid: set[tuple[str, str]]) -> tuple:
    """Drop gpu annotations that slid onto another loop because isl removed a one-iteration loop."""
    out = []
    for n in nodes:
        if isinstance(n, For):
            ann = tuple(a for a in n.annotations if not (a.startswith(("gpu:block", "gpu:thread"))
                                                          and (a, n.iterator) not in valid))
            n = replace(n, annotations=ann, body=_sanitize(n.body, valid))
        elif isinstance(n, If):
            n = replace(n, then=_sanitize(n.then, valid), orelse=_sanitize(n.orelse, valid))
        elif isinstance(n, Mark):
            n = replace(n, body=_sanitize(n.body, valid))
        out.append(n)
    return tuple(out)


def build_gpu_program(prog: LoopProgram, options: GpuMapping,
                      valid_marks: set[tuple[str, str]] | None = None) -> GpuProgram:
    """Split a mapped LoopProgram into host code and kernels."""
    if valid_marks is not None:
        prog = replace(prog, body=_sanitize(prog.body, valid_marks))
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
    if pv:
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
