"""Run a "parallel" loop on all cores through libgomp, as Polly does: the loop body is outlined into
`void body(ptr closure)`, the closure struct carries the loop bounds and every live value, and
`GOMP_parallel(body, closure, nthreads, 0)` runs it on the team; each thread takes one static chunk of
the iteration space (omp_get_thread_num / omp_get_num_threads). With one thread the body is called
directly, without libgomp's fork/join. No Python runs in the hot path.

The thread count is the module global `<entry>_nthreads` (0: libgomp's default, OMP_NUM_THREADS or the
core count); Kernel objects write it before each call.
"""

from __future__ import annotations

import ctypes
import logging
from functools import lru_cache

import llvmlite.binding as llvm
from llvmlite import ir
from polyopt.codegen.common import upper_bound
from polyopt.codegen.llvm.exprs import Env
from polyopt.codegen.llvm.types import I32, I64, PTR, VOID, storage_type
from polyopt.codegen.loop_ast import For

from polyopt.expr import DType

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def gomp_available() -> bool:
    """Load libgomp globally (for the JIT's symbol resolution); False, with a warning, when missing."""
    try:
        ctypes.CDLL("libgomp.so.1", mode=ctypes.RTLD_GLOBAL)
        llvm.load_library_permanently("libgomp.so.1")
    except (OSError, RuntimeError) as e:
        log.warning("libgomp is not available (%s): parallel loops run serially", e)
        return False
    return True


def threads_global(module: ir.Module, entry: str) -> ir.GlobalVariable:
    g = ir.GlobalVariable(module, I32, f"{entry}_nthreads")
    g.initializer = ir.Constant(I32, 0)
    g.align = 4
    return g


def _capture(em) -> list[tuple[str, str, ir.Value, DType | None]]:  # type: ignore[no-untyped-def]
    """Everything the loop body may use: (kind, name, value, dtype); locals are copied in by value."""
    out: list[tuple[str, str, ir.Value, DType | None]] = []
    for name, (v, t) in em.env.values.items():
        if not isinstance(v, ir.Constant):      # constants (specialised sizes) are re-bound in the worker
            out.append(("value", name, v, t))
    for name, p in em.env.arrays.items():
        out.append(("array", name, p, None))
    scop = em.ctx.program.scop
    for name, p in em.env.locals.items():
        t = scop.array(name).dtype
        out.append(("local", name, em.b.load(p, typ=storage_type(t)), t))
    return out


def emit_parallel_loop(em, n: For) -> bool:  # type: ignore[no-untyped-def]
    """Emit `n` as a GOMP_parallel region; False (nothing emitted) when the bounds are not of isl's form."""
    ub = upper_bound(n)
    if ub is None:
        log.debug("parallel loop %s: condition %s is not 'it <= bound'; emitted serially", n.iterator, n.cond)
        return False
    bound, inclusive = ub
    b = em.b
    lo = em.x.index(n.init)
    hi = em.x.index(bound)
    if inclusive:
        hi = b.add(hi, ir.Constant(I64, 1), flags=("nsw",))
    captured = _capture(em)
    fields = [I64, I64] + [c[2].type for c in captured]
    struct = ir.LiteralStructType(fields)
    closure = em.alloca(struct, name="closure")
    for k, v in enumerate([lo, hi] + [c[2] for c in captured]):
        b.store(v, b.gep(closure, [ir.Constant(I32, 0), ir.Constant(I32, k)], inbounds=True,
                         source_etype=struct))
    body_fn = _outline(em, n, struct, captured)
    ctx = em.ctx
    gomp = ctx.module.globals.get("GOMP_parallel") or ir.Function(
        ctx.module, ir.FunctionType(VOID, [PTR, PTR, I32, I32]), "GOMP_parallel")
    nthreads = b.load(ctx.threads_global, typ=I32)
    # one thread: call the body directly (outside a team, omp_get_num_threads() is 1 and the chunk is the
    # whole range); GOMP_parallel's fork/join costs ~1 us, which dominates small loops in time steps
    single = b.icmp_signed("==", nthreads, ir.Constant(I32, 1))
    with b.if_else(single) as (direct, team):
        with direct:
            b.call(body_fn, [closure])
        with team:
            b.call(gomp, [body_fn, closure, nthreads, ir.Constant(I32, 0)])
    return True


def _outline(em, n: For, struct: ir.LiteralStructType, captured) -> ir.Function:  # type: ignore[no-untyped-def]
    """`void omp_body(ptr closure)`: unpack the closure, take this thread's chunk, call the worker."""
    from polyopt.codegen.llvm.emitter import FunctionEmitter

    ctx = em.ctx
    worker = _worker(em, n, captured)
    fn = ir.Function(ctx.module, ir.FunctionType(VOID, [PTR]), ctx.fresh(f"{ctx.entry_name}.omp_body"))
    fn.linkage = "internal"
    inner = FunctionEmitter(ctx, fn, Env(), in_parallel=True)
    b = inner.b
    vals = []
    for k, ty in enumerate(struct.elements):
        p = b.gep(fn.args[0], [ir.Constant(I32, 0), ir.Constant(I32, k)], inbounds=True, source_etype=struct)
        vals.append(b.load(p, typ=ty))
    my_lo, my_hi = _static_chunk(inner, vals[0], vals[1], n.step)
    b.call(worker, [my_lo, my_hi] + vals[2:])
    inner.finish()
    return fn


def _worker(em, n: For, captured) -> ir.Function:  # type: ignore[no-untyped-def]
    """`worker(lo, hi, values.., noalias arrays..)` running `for (it = lo; it < hi; it += step)`. It is a
    separate noinline function so that the array pointers are `noalias` arguments again (loaded from the
    closure they would be may-alias, and LICM could not keep accumulators in registers)."""
    from polyopt.codegen.llvm.emitter import FunctionEmitter

    ctx = em.ctx
    fty = ir.FunctionType(VOID, [I64, I64] + [c[2].type for c in captured])
    fn = ir.Function(ctx.module, fty, ctx.fresh(f"{ctx.entry_name}.omp_worker"))
    fn.linkage = "internal"
    fn.attributes.add("noinline")
    env = Env(values={k: v for k, v in em.env.values.items() if isinstance(v[0], ir.Constant)})
    inner = FunctionEmitter(ctx, fn, env, in_parallel=True)
    b = inner.b
    for arg, (kind, name, _, t) in zip(fn.args[2:], captured):
        if kind == "value":
            env.values[name] = (arg, t)
        elif kind == "array":
            arg.add_attribute("noalias")
            env.arrays[name] = arg
        else:
            slot = inner.alloca(storage_type(t), name=name)
            b.store(arg, slot)
            env.locals[name] = slot
    lo, hi = fn.args[0], fn.args[1]
    plain = For(n.iterator, n.init, n.cond, n.step, n.body,
                tuple(a for a in n.annotations if a != "parallel"), n.degenerate)
    inner.counted_loop(plain, lo, lambda: b.icmp_signed("<", env.values[n.iterator][0], hi))
    inner.finish()
    return fn


def _static_chunk(em, lo: ir.Value, hi: ir.Value, step: int) -> tuple[ir.Value, ir.Value]:  # type: ignore[no-untyped-def]
    """This thread's [lo', hi') of `for (it = lo; it < hi; it += step)` under static scheduling."""
    b, m = em.b, em.ctx.module
    get_tid = m.globals.get("omp_get_thread_num") or ir.Function(m, ir.FunctionType(I32, []),
                                                                  "omp_get_thread_num")
    get_nt = m.globals.get("omp_get_num_threads") or ir.Function(m, ir.FunctionType(I32, []),
                                                                  "omp_get_num_threads")
    tid = b.sext(b.call(get_tid, []), I64)
    nt = b.sext(b.call(get_nt, []), I64)
    one, s = ir.Constant(I64, 1), ir.Constant(I64, step)
    span = b.sub(hi, lo, flags=("nsw",))
    trips = b.sdiv(b.add(span, ir.Constant(I64, step - 1), flags=("nsw",)), s)
    trips = b.select(b.icmp_signed("<", trips, ir.Constant(I64, 0)), ir.Constant(I64, 0), trips)
    chunk = b.sdiv(b.sub(b.add(trips, nt, flags=("nsw",)), one, flags=("nsw",)), nt)
    start = b.mul(tid, chunk, flags=("nsw",))
    end = b.add(start, chunk, flags=("nsw",))
    end = b.select(b.icmp_signed("<", trips, end), trips, end)
    my_lo = b.add(lo, b.mul(start, s, flags=("nsw",)), flags=("nsw",))
    my_hi = b.add(lo, b.mul(end, s, flags=("nsw",)), flags=("nsw",))
    return my_lo, my_hi
