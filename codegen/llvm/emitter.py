"""Lower the loop nodes of a LoopProgram into one LLVM function: proper loops (preheader, header with the
induction phi, body, latch carrying the loop metadata, exit), guards, marks and statement instances."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from llvmlite import ir
from polyopt.codegen.llvm.exprs import Env, ExprLowerer
from polyopt.codegen.llvm.types import I32, PTR, storage_type
from polyopt.codegen.loop_ast import For, If, LoopNode, LoopProgram, Mark, StatementCall

from polyopt import expr as X
from polyopt.errors import CodegenError
from polyopt.expr import DType

log = logging.getLogger(__name__)


@dataclass
class ModuleContext:
    """State shared by the kernel function and its outlined parallel bodies."""

    program: LoopProgram
    module: ir.Module
    entry_name: str
    parallel: bool                    # outline "parallel" loops through GOMP_parallel
    threads_global: ir.GlobalVariable | None = None
    counter: int = 0
    loop_ids: list[str] = field(default_factory=list)

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}.{self.counter}"


STACK_ALIGN = 64
"""Every generated function realigns its frame to a cache line. The C ABI promises 16 bytes, so without it
LLVM spills 512-bit registers with unaligned moves, and a spill-heavy loop nest ran at 12 or at 18-20 ms by
where the caller's stack pointer fell modulo 64 (a register-tiled gemm at 800, AVX-512: fast in 3 of 8 fresh
processes, since the stack's start is randomised per process; with the realigned frame, 8 of 8 at 12 ms)."""


class FunctionEmitter:
    """Emits loop nodes into `function` at the builder position; `in_parallel` disables nested outlining."""

    def __init__(self, ctx: ModuleContext, function: ir.Function, env: Env, *, in_parallel: bool = False) \
            -> None:
        self.ctx = ctx
        self.function = function
        function.attributes.add("nounwind")   # generated code never unwinds (llvmlite prints alignstack
        function.attributes.alignstack = STACK_ALIGN   # only beside another attribute)
        self.alloca_block = function.append_basic_block("allocas")
        self.entry = function.append_basic_block("entry")
        self.b = ir.IRBuilder(self.entry)
        self.alloca_b = ir.IRBuilder(self.alloca_block)
        self.env = env
        self.x = ExprLowerer(ctx.program.scop, ctx.module, self.b, env)
        self.in_parallel = in_parallel

    def alloca(self, ty: ir.Type, name: str = "") -> ir.Value:
        """An alloca in the first block (where mem2reg/SROA look for them)."""
        slot = self.alloca_b.alloca(ty, name=name)
        slot.type = PTR     # llvmlite types allocas as typed pointers; field GEPs/stores need opaque ones
        return slot

    def finish(self) -> None:
        """Close the function: the alloca block falls through to the code, which returns."""
        self.alloca_b.branch(self.entry)
        self.b.ret_void()

    def make_locals(self) -> None:
        for a in self.ctx.program.scop.local_arrays:
            self.env.locals[a.name] = self.alloca(storage_type(a.dtype), name=a.name)

    # -- nodes ---------------------------------------------------------------------------------------
    def nodes(self, nodes: tuple[LoopNode, ...]) -> None:
        for n in nodes:
            if isinstance(n, For):
                self.loop(n)
            elif isinstance(n, If):
                self.branch(n)
            elif isinstance(n, Mark):
                if n.name.startswith("promote:"):
                    log.debug("mark %s not above a loop: nothing to pack", n.name)
                self.nodes(n.body)
            elif isinstance(n, StatementCall):
                target, value = self.ctx.program.instance(n)
                self.x.store(target, value)
            else:  # pragma: no cover
                raise CodegenError(f"unknown loop node {type(n).__name__}")

    def branch(self, n: If) -> None:
        c = self.x.typed(n.cond, DType.BOOL)
        if n.orelse:
            with self.b.if_else(c) as (then, otherwise):
                with then:
                    self.nodes(n.then)
                with otherwise:
                    self.nodes(n.orelse)
        else:
            with self.b.if_then(c):
                self.nodes(n.then)

    def loop(self, n: For) -> None:
        parallel = n.is_parallel and self.ctx.parallel and not self.in_parallel
        if not parallel and any(a.startswith("promote:") for a in n.annotations):
            from polyopt.codegen.llvm.promote import emit_promoted
            emit_promoted(self, n, lambda: self._loop(n, parallel))
            return
        self._loop(n, parallel)

    def _loop(self, n: For, parallel: bool) -> None:
        if n.degenerate:
            old = self.env.values.get(n.iterator)
            self.env.values[n.iterator] = (self.x.index(n.init), DType.INT64)
            self.nodes(n.body)
            self._restore(n.iterator, old)
            return
        if parallel:
            from polyopt.codegen.llvm.parallel import emit_parallel_loop

            if emit_parallel_loop(self, n):
                return
        init = self.x.index(n.init)
        self.counted_loop(n, init, lambda: self.x.typed(n.cond, DType.BOOL))

    def counted_loop(self, n: For, init: ir.Value, cond: Callable[[], ir.Value]) -> None:
        """for (it = init; cond(); it += step) body, with loop metadata from the annotations."""
        b = self.b
        pre = b.block
        header = self.function.append_basic_block(self.ctx.fresh("for.header"))
        body = self.function.append_basic_block(self.ctx.fresh("for.body"))
        latch = self.function.append_basic_block(self.ctx.fresh("for.latch"))
        exit_ = self.function.append_basic_block(self.ctx.fresh("for.exit"))
        b.branch(header)
        b.position_at_end(header)
        iv = b.phi(init.type, name=n.iterator)
        iv.add_incoming(init, pre)
        old = self.env.values.get(n.iterator)
        self.env.values[n.iterator] = (iv, DType.INT64)
        b.cbranch(cond(), body, exit_)
        b.position_at_end(body)
        old_flags = self.x.fp_flags
        if "vectorize:reassoc" in n.annotations:
            self.x.fp_flags = ("reassoc", "contract")
        elif self._single_reduction_chain(n):
            self.x.fp_flags = tuple(f for f in old_flags if f != "contract")
        self.nodes(n.body)
        self.x.fp_flags = old_flags
        b.branch(latch)
        b.position_at_end(latch)
        nxt = b.add(iv, ir.Constant(iv.type, n.step), flags=("nsw",))
        back = b.branch(header)
        iv.add_incoming(nxt, latch)
        md = self.loop_metadata(n)
        if md is not None:
            back.set_metadata("llvm.loop", md)
        b.position_at_end(exit_)
        self._restore(n.iterator, old)

    def _single_reduction_chain(self, n: For) -> bool:
        """An innermost scalar loop (no vector mark, no unrolling, no loop inside) around a reduction
        `t = t - a*b` whose target stays put: every iteration waits for the previous one, and a fused
        multiply-add puts the multiply on that chain (4 cycles a step instead of the add's 2-3; GCC's
        avoid-FMA-chains tuning does the same on Zen). Such loops get no `contract` flag."""
        if n.is_vector or n.unroll > 1 or any(isinstance(c, For) for c in n.body):
            return False
        for c in n.body:
            if isinstance(c, StatementCall):
                target, value = self.ctx.program.instance(c)
                if n.iterator in X.free_vars(target):
                    continue
                if isinstance(value, X.Binary) and value.op in ("+", "-") and target in (value.lhs, value.rhs):
                    return True
        return False

    def loop_metadata(self, n: For) -> ir.MDValue | None:
        """A distinct self-referential loop id (fixed up in the module text, see module.py).

        A "vectorize" mark is a hint and deliberately emits no `llvm.loop.vectorize.enable` /
        `vectorize.width`: those force the vectorizer, which then (a) may reorder floating-point
        reductions without the reassoc flag, and (b) prints "loop not vectorized" remarks and
        warnings on stderr whenever it cannot. The O3 vectorizer handles these loops by its cost
        model; "vectorize:reassoc" loops carry reassoc flags on their arithmetic instead."""
        m = self.ctx.module
        props = []
        if n.unroll > 1:
            props.append(m.add_metadata([ir.MetaDataString(m, "llvm.loop.unroll.count"),
                                         ir.Constant(I32, n.unroll)]))
        if not props:
            return None
        tag = self.ctx.fresh("polyopt.loop")
        self.ctx.loop_ids.append(tag)
        return m.add_metadata([ir.MetaDataString(m, tag), *props])

    def _restore(self, name: str, old: tuple[ir.Value, DType] | None) -> None:
        if old is None:
            self.env.values.pop(name, None)
        else:
            self.env.values[name] = old


def iterator_free(e: X.Expr, name: str) -> bool:
    return name not in X.free_vars(e)
