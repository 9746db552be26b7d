"""Packing ("promote:<array>" marks) in the LLVM backend: before the marked loop runs, copy the box of the
array that the loop reads (codegen.footprint) into a contiguous stack buffer, row-major over the box,
and redirect the loop's accesses to it. Only arrays the loop does not write are packed (no copy-back
needed); a box without a constant width, over the size cap, or of an array with an unknown extent is
left unpacked (debug log). The box is clamped to the array's extents, so over-approximation never reads
outside the caller's array."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from llvmlite import ir
from polyopt.codegen.footprint import footprint_box
from polyopt.codegen.llvm.types import I64, storage_type
from polyopt.codegen.loop_ast import For

from polyopt import expr as X

log = logging.getLogger(__name__)
MAX_BUFFER_BYTES = 1 << 20          # per buffer, on the (thread's) stack


@dataclass(frozen=True)
class Packed:
    """A promoted array inside the marked loop: buffer, box origin per dimension, row-major strides."""

    buffer: ir.Value
    lows: tuple[ir.Value, ...]
    strides: tuple[int, ...]


def promotions(n: For) -> list[str]:
    return [a.split(":", 1)[1] for a in n.annotations if a.startswith("promote:")]


def emit_promoted(em, n: For, emit_loop: Callable[[], None], names: list[str] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Emit loop n with its promoted arrays packed: for each array whose box fits its buffer at run
    time, `if (fits) { copy in; loop reading the copy } else { loop reading the array }`."""
    names = promotions(n) if names is None else names
    if not names:
        emit_loop()
        return
    name, rest = names[0], names[1:]
    plan = _plan(em, n, name)
    if plan is None:
        emit_promoted(em, n, emit_loop, rest)
        return
    fits, lows, highs, widths = plan
    with em.b.if_else(fits) as (then, otherwise):
        with then:
            packed = _copy_in(em, name, lows, highs, widths)
            old = em.env.promoted.get(name)
            em.env.promoted[name] = packed
            emit_promoted(em, n, emit_loop, rest)
            if old is None:
                em.env.promoted.pop(name, None)
            else:
                em.env.promoted[name] = old
        with otherwise:
            emit_promoted(em, n, emit_loop, rest)


_FAR = 1 << 60


def _plan(em, n: For, name: str):  # type: ignore[no-untyped-def]
    """(fits, lows, highs, widths): the runtime box of `name` below n (union of the access groups whose
    guards hold, clamped to the array) and whether it fits the constant widths; None: not packable."""
    program = em.ctx.program
    arr = program.scop.array(name)
    if name not in em.env.arrays or not arr.shape or any(e is None for e in arr.shape):
        log.debug("promote:%s not packed: not an argument array of known shape", name)
        return None
    box = footprint_box(program, n, name)
    if box is None:
        log.debug("promote:%s not packed: no read-only box of constant width below %s", name, n.iterator)
        return None
    if _prod(box.widths) * arr.dtype.itemsize > MAX_BUFFER_BYTES:
        log.debug("promote:%s not packed: %s elements exceed the buffer cap", name, box.widths)
        return None
    one = X.Const(1, X.DType.INT64)
    lows, highs = [], []
    for d, ext in enumerate(arr.shape):
        lo: X.Expr = X.Const(_FAR, X.DType.INT64)
        hi: X.Expr = X.Const(-_FAR, X.DType.INT64)
        for guards, glo, ghi in box.groups:
            cond = _all(guards)
            lo = X.Binary("min", lo, glo[d] if cond is None else X.Select(cond, glo[d], X.Const(_FAR, X.DType.INT64)))
            hi = X.Binary("max", hi, ghi[d] if cond is None else X.Select(cond, ghi[d], X.Const(-_FAR, X.DType.INT64)))
        lows.append(em.x.index(X.Binary("max", lo, X.Const(0, X.DType.INT64))))
        highs.append(em.x.index(X.Binary("min", hi, X.Binary("-", ext, one))))
    b = em.b
    fits = ir.Constant(ir.IntType(1), 1)
    for lo, hi, w in zip(lows, highs, box.widths):
        fits = b.and_(fits, b.icmp_signed("<", b.sub(hi, lo), ir.Constant(I64, w)))
    return fits, tuple(lows), tuple(highs), box.widths


def _all(guards: tuple[X.Expr, ...]) -> X.Expr | None:
    out: X.Expr | None = None
    for g in guards:
        out = g if out is None else X.Logical("and", out, g)
    return out


def _copy_in(em, name: str, lows, highs, widths: tuple[int, ...]) -> Packed:  # type: ignore[no-untyped-def]
    arr = em.ctx.program.scop.array(name)
    elem = storage_type(arr.dtype)
    strides = tuple(_prod(widths[d + 1:]) for d in range(len(widths)))
    buf = em.alloca(ir.ArrayType(elem, _prod(widths)), name=f"{name}.packed")
    src = em.env.arrays[name]
    extents = [em.x.index(e) for e in arr.shape]
    b = em.b

    def copy(idx: list[ir.Value]) -> None:
        s_off, d_off = idx[0], b.sub(idx[0], lows[0])
        for d in range(1, len(idx)):
            s_off = b.add(b.mul(s_off, extents[d]), idx[d])
            d_off = b.add(b.mul(d_off, ir.Constant(I64, widths[d])), b.sub(idx[d], lows[d]))
        v = b.load(b.gep(src, [s_off], inbounds=True, source_etype=elem), typ=elem)
        b.store(v, b.gep(buf, [d_off], inbounds=True, source_etype=elem))

    _nest(em, lows, highs, [], copy)
    return Packed(buf, tuple(lows), strides)


def _nest(em, lows, highs, idx: list[ir.Value], body: Callable[[list[ir.Value]], None]) -> None:  # type: ignore[no-untyped-def]
    """for (x = lows[d]; x <= highs[d]; x++) over every dimension, body at the innermost level."""
    d = len(idx)
    if d == len(lows):
        body(idx)
        return
    b, fn, ctx = em.b, em.function, em.ctx
    pre = b.block
    header = fn.append_basic_block(ctx.fresh("pack.header"))
    loop_body = fn.append_basic_block(ctx.fresh("pack.body"))
    exit_ = fn.append_basic_block(ctx.fresh("pack.exit"))
    b.branch(header)
    b.position_at_end(header)
    iv = b.phi(I64)
    iv.add_incoming(lows[d], pre)
    b.cbranch(b.icmp_signed("<=", iv, highs[d]), loop_body, exit_)
    b.position_at_end(loop_body)
    _nest(em, lows, highs, idx + [iv], body)
    nxt = b.add(iv, ir.Constant(I64, 1), flags=("nsw",))
    iv.add_incoming(nxt, b.block)
    b.branch(header)
    b.position_at_end(exit_)


def packed_address(em_x, packed: Packed, indices: tuple[X.Expr, ...], elem: ir.Type) -> ir.Value:  # type: ignore[no-untyped-def]
    """Address of an element of a packed array: buffer + sum((index - low) * stride)."""
    b = em_x.b
    off: ir.Value | None = None
    for idx, lo, stride in zip(indices, packed.lows, packed.strides):
        term = b.sub(em_x.index(idx), lo)
        if stride != 1:
            term = b.mul(term, ir.Constant(I64, stride))
        off = term if off is None else b.add(off, term)
    assert off is not None
    return b.gep(packed.buffer, [off], inbounds=True, source_etype=elem)


def _prod(xs: tuple[int, ...]) -> int:
    out = 1
    for x in xs:
        out *= x
    return out
