"""Iteration analysis and promotion of array tiles to shared memory and registers, for the mapped-kernel
IR builder (kernel_ir.py; mixed into its kernel builder).

Footprints come from isl (or, when every subscript is linear, from interval analysis, which gives cleaner
offsets): the accesses of a region with the enclosing iterators as parameters give a box (offset as an
expression, size = the maximal extent). Register buffers also use the per-thread stride, so that a cyclic
register tile maps to constant indices once unrolled.

Shared buffers may get a *layout* (a bijection from the logical tile index to the stored index) so that
the values one thread consumes in its register tile are contiguous and aligned in shared memory, i.e.
read with 128-bit loads (LDS.128): the dimension indexed by a thread id is stored innermost (gemm's A is
kept transposed, As[k][m]), and with cyclic coarsening (thread t owns points t, t+B, t+2B, ...) that
dimension is also swizzled: point t + B*r is stored at c*t + c*B*(r div c) + (r mod c), c = 16 bytes /
element size: a thread's R values are R/c aligned vectors, c*B apart; consecutive threads' are adjacent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import islpy as isl
from polyopt.codegen.loop_ast import For, If, Mark, StatementCall, expr_from_isl

from polyopt import expr as X
from polyopt.builder import NotAffine, affine_text, condition_text
from polyopt.expr import DType

from .ir import TID, Buffer
from .mapping import DIMS, _linear

log = logging.getLogger("polyopt.codegen.cuda")


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


def _bin(op: str, a: X.Expr, b: X.Expr) -> X.Expr:
    if isinstance(a, X.Const) and isinstance(b, X.Const):
        x, y = int(a.value), int(b.value)
        if op == "+":
            return X.Const(x + y)
        if op == "*":
            return X.Const(x * y)
        return X.Const(x // y if op == "floordiv" else x % y)
    if op == "*" and isinstance(a, X.Const) and int(a.value) == 1:
        return b
    if op == "+" and isinstance(b, X.Const) and int(b.value) == 0:
        return a
    return X.Binary(op, a, b)


def swizzled(t: X.Expr, r: X.Expr, B: int, c: int) -> X.Expr:
    """Stored position of point t + B*r (0 <= t < B) of a swizzled dimension: c*t + c*B*(r div c) + r mod c."""
    hi = _bin("*", X.Const(c * B), _bin("floordiv", r, X.Const(c)))
    return _bin("+", _bin("+", _bin("*", X.Const(c), t), hi), _bin("mod", r, X.Const(c)))


def stored_index(buf: Buffer, logical: list[X.Expr], forms: dict[int, dict[str, int] | None] | None = None
                 ) -> tuple[X.Expr, ...]:
    """Stored indices of a shared buffer element from its logical (tile-local) indices. forms: linear
    forms of logical indices (thread ids substituted); a swizzled index of the form tid + B*r is rewritten
    without div/mod of the thread id (constant after unrolling r), otherwise the generic formula is used."""
    idx = list(logical)
    if buf.swizzle:
        d, tvar, B, c = buf.swizzle
        form = (forms or {}).get(d)
        if form is not None and form.get(tvar) == 1 and all(v % B == 0 for k, v in form.items() if k != tvar):
            r = linear_expr({k: v // B for k, v in form.items() if k != tvar})
            idx[d] = swizzled(X.Var(tvar), r, B, c)
        else:
            u = idx[d]
            idx[d] = swizzled(_bin("mod", u, X.Const(B)), _bin("floordiv", u, X.Const(B)), B, c)
    if buf.perm:
        idx = [idx[k] for k in buf.perm]
    return tuple(idx)


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


def _prod(vals) -> int:
    n = 1
    for v in vals:
        n *= v
    return n


def _eval_const(e: X.Expr | None, env: dict[str, int]) -> int | None:
    from .emulate import eval_int
    if e is None:
        return None
    if any(isinstance(x, X.Var) and x.name not in env for x in X.walk(e)):
        return None
    return eval_int(e, env)


def _thread_dim(f: For) -> str:
    m = f.gpu_mapping
    return m[7:] if m and m.startswith("thread.") else ""


class PromotionMixin:
    """Trip counts, footprints and promotion decisions (uses the builder's scop, prog, options,
    param_cons, host_scope, block_dims, buffers, writes)."""

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

    def promote_shared(self, f, scope: _Scope, array: str, ctx) -> Buffer | None:
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
        return self.shared_layout(replace(buf, vector=vec), f, scope)

    def shared_layout(self, buf: Buffer, f, scope: _Scope) -> Buffer:
        """Store the dimension that a thread's register tile runs along innermost (swizzled when the
        coarsening is cyclic), so that a thread reads its operands with 128-bit shared loads."""
        if not self.options.shared_layout or buf.dtype.itemsize not in (4, 8) or len(buf.shape) < 1:
            return buf
        rank = len(buf.shape)
        owners: dict[int, set[tuple[str, int]]] = {}
        start = len(scope.vars)
        for call, sc, _bound in self.instances([f], scope, frozenset(), start):
            tvars = {sc.vars[k]: _thread_dim(sc.loops[k]) for k in range(start, len(sc.vars))
                     if sc.kinds[k] == "thread"}
            for acc in self.access_list(call, buf.array):
                for d, i in enumerate(acc.indices):
                    form = _linear(i)
                    if form is None:
                        return buf
                    for v, co in form.items():
                        if v in tvars:
                            owners.setdefault(d, set()).add((tvars[v], co))
        if not owners:
            return buf
        d = max(owners)
        perm = tuple([k for k in range(rank) if k != d] + [d])
        swz: tuple = ()
        c = 16 // buf.dtype.itemsize
        if self.options.coarsening == "cyclic" and len(owners[d]) == 1:
            (t, co), = owners[d]
            B = self.block_dims.get(t, 1)
            n = buf.shape[d]
            if co == 1 and B > 1 and n % B == 0 and (n // B) % c == 0:
                swz = (d, TID[t], B, c)
        if perm == tuple(range(rank)):
            perm = ()
        if not perm and not swz:
            return buf
        return replace(buf, perm=perm, swizzle=swz)

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
