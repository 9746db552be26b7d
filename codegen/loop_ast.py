"""A backend-neutral loop AST generated from an isl schedule tree.

Every code generator (C, LLVM, CUDA) consumes this: loops with their annotations (from schedule-tree
mark nodes), guards, blocks, and statement instances whose iterators are affine expressions of the
generated loop iterators. Expressions reuse polyopt.expr (Var, Const, Binary, Compare, Logical, Select).

Mark convention (the transformations insert these mark nodes directly above a one-member band):
  "parallel"            run the loop below on all cores (OpenMP-style fork/join)
  "vectorize"           the loop below is the SIMD loop (LLVM vectorize metadata)
  "vectorize:reassoc"   same, and floating-point reductions may be reassociated
  "unroll:N"            ask the backend to unroll the loop below by N
  "gpu:block.x|y|z"     the loop below is mapped to a grid dimension
  "gpu:thread.x|y|z"    the loop below is mapped to a thread dimension
  "gpu:split.x|y|z"     the loop below (parts of a '+' reduction) is mapped to a grid dimension; partial
                        sums are combined with atomicAdd
  any other text        kept as an annotation, ignored by backends that do not know it
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Union

import islpy as isl

from polyopt import expr as X
from polyopt.errors import CodegenError
from polyopt.model import Scop


@dataclass(frozen=True)
class For:
    """`for (iterator = init; cond; iterator += step)`; annotations come from marks above the band."""

    iterator: str
    init: X.Expr
    cond: X.Expr
    step: int
    body: tuple["LoopNode", ...]
    annotations: tuple[str, ...] = ()
    degenerate: bool = False          # the body runs exactly once, with iterator = init

    def has(self, prefix: str) -> bool:
        return any(a == prefix or a.startswith(prefix + ":") or a.startswith(prefix + ".")
                   for a in self.annotations)

    @property
    def is_parallel(self) -> bool:
        return "parallel" in self.annotations

    @property
    def is_vector(self) -> bool:
        return any(a.startswith("vectorize") for a in self.annotations)

    @property
    def unroll(self) -> int:
        for a in self.annotations:
            if a.startswith("unroll:"):
                return int(a.split(":", 1)[1])
        return 1

    @property
    def gpu_mapping(self) -> str | None:
        """'block.x' / 'thread.y' ... or None."""
        for a in self.annotations:
            if a.startswith("gpu:"):
                return a[4:]
        return None


@dataclass(frozen=True)
class If:
    cond: X.Expr
    then: tuple["LoopNode", ...]
    orelse: tuple["LoopNode", ...] = ()


@dataclass(frozen=True)
class Mark:
    """A mark that does not sit directly above a loop (kept so backends can see it)."""

    name: str
    body: tuple["LoopNode", ...]


@dataclass(frozen=True)
class StatementCall:
    """One instance of statement `statement`; args are the values of its iterators, in order."""

    statement: str
    args: tuple[X.Expr, ...]


LoopNode = Union[For, If, Mark, StatementCall]


@dataclass(frozen=True, eq=False)
class LoopProgram:
    """The loop AST of one schedule, with the parameter values it was specialised for (if any)."""

    scop: Scop
    body: tuple[LoopNode, ...]
    param_values: tuple[tuple[str, int], ...] = ()
    schedule_text: str = field(default="", repr=False)

    @property
    def params(self) -> dict[str, int]:
        return dict(self.param_values)

    def instance(self, call: StatementCall) -> tuple[X.Access, X.Expr]:
        """(target, value) of a statement instance, with the statement iterators substituted."""
        stmt = self.scop.statement(call.statement)
        values = dict(zip(stmt.iterators, call.args))
        target = X.substitute(stmt.target, values)
        assert isinstance(target, X.Access)
        return target, X.substitute(stmt.value, values)


@contextmanager
def isl_operation_cap(ctx: isl.Context, operations: int) -> Iterator[None]:
    """isl work inside the block is capped at `operations` (isl raises a quota error past it); the
    context's previous cap comes back afterwards."""
    limit = ctx.get_max_operations()
    ctx.set_max_operations(operations)
    ctx.reset_operations()
    try:
        yield
    finally:
        ctx.set_max_operations(limit)
        ctx.reset_operations()


def build_loop_ast(scop: Scop, schedule: isl.Schedule,
                   param_values: Mapping[str, int] | None = None) -> LoopProgram:
    """Generate the loop AST of a schedule tree; with param_values, loop bounds become constants."""
    context = scop.context
    if param_values:
        missing = [p for p in scop.params if p not in param_values]
        if missing:
            raise CodegenError(f"no value for size parameter(s) {', '.join(missing)}")
        context = context.intersect(scop.parameter_point(param_values))
        if context.is_empty():
            raise CodegenError(f"parameter values {dict(param_values)} violate the assumptions "
                               f"{scop.context}")
    prefix = iterator_prefix(scop)
    try:
        with isl_operation_cap(schedule.get_ctx(), MAX_AST_OPERATIONS):
            build = isl.AstBuild.from_context(context).set_iterators(_iterator_ids(prefix))
            root = build.node_from_schedule(_tag_marks(schedule.intersect_domain(scop.domain)))
    except isl.Error as e:
        if "quota" in str(e).lower() or "operations" in str(e).lower():
            raise CodegenError(f"generating the loop AST took more than {MAX_AST_OPERATIONS:.0e} isl operations: "
                               f"the schedule asks for too many separated pieces of loops; "
                               f"hint: fewer `separate` options or fewer tiled members") from e
        raise CodegenError(f"while generating the loop AST: {e}") from e
    body = _convert(root, (), prefix)
    values = tuple((p, int(param_values[p])) for p in scop.params) if param_values else ()
    return LoopProgram(scop, body, values, schedule.to_str())


MAX_LOOP_DEPTH = 64
# A bound on the isl work an AST build may do (tens of seconds of it). isl counts only part of its work: a
# heat-3d tiling took 37 s under the bound (benchmarks/results/search_fission_2026-11-27.md).
MAX_AST_OPERATIONS = 100_000_000


def iterator_prefix(scop: Scop) -> str:
    """A prefix P such that the generated loop iterators P0, P1, ... clash with no name of the kernel."""
    names = set(scop.params) | {a.name for a in scop.arguments} | {a.name for a in scop.arrays}
    for prefix in ("c", "cc", "c_", "loop_c", "_polyopt_c"):
        if not any(n.startswith(prefix) and n[len(prefix):].isdigit() for n in names):
            return prefix
    raise CodegenError("cannot choose loop iterator names that avoid the kernel's own names")


def _iterator_ids(prefix: str) -> isl.IdList:
    ids = isl.IdList.alloc(isl.DEFAULT_CONTEXT, MAX_LOOP_DEPTH)
    for d in range(MAX_LOOP_DEPTH):
        ids = ids.add(isl.Id(f"{prefix}{d}"))
    return ids


def _tag_marks(schedule: isl.Schedule) -> isl.Schedule:
    """Suffix every mark with the schedule depth of the band below it ("parallel@3").

    The loop of schedule dimension d is named "<prefix><d>" (set_iterators) and isl drops loops that run once; the suffix lets
    the conversion attach a mark to exactly the loops of its own dimension (all of them, when isl
    separates full and partial tiles), never to an inner loop that comes first because the marked loop
    was eliminated."""
    def tag(node: isl.ScheduleNode) -> isl.ScheduleNode:
        if node.get_type() != isl.schedule_node_type.mark or "@" in node.mark_get_id().get_name():
            return node
        name = f"{node.mark_get_id().get_name()}@{node.get_schedule_depth()}"
        return node.delete().insert_mark(isl.Id(name))
    return schedule.map_schedule_node_bottom_up(tag)


def _split_mark(mark: str) -> tuple[str, int]:
    """("parallel", 3) from "parallel@3"; depth -1 for an untagged mark."""
    name, _, depth = mark.rpartition("@")
    return (name, int(depth)) if name and depth.isdigit() else (mark, -1)


def _convert(node: isl.AstNode, marks: tuple[str, ...], prefix: str) -> tuple[LoopNode, ...]:
    """Convert an isl AST node; `marks` are pending marks that belong to loops further down."""
    t = node.get_type()
    if t == isl.ast_node_type.block:
        kids = node.block_get_children()
        out: list[LoopNode] = []
        for k in range(kids.n_ast_node()):
            out.extend(_convert(kids.get_at(k), marks, prefix))
        return tuple(out)
    if t == isl.ast_node_type.mark:
        return _convert(node.mark_get_node(), marks + (node.mark_get_id().get_name(),), prefix)
    if t == isl.ast_node_type.for_:
        return (_for(node, marks, prefix),)
    if t == isl.ast_node_type.if_:
        then = _convert(node.if_get_then_node(), marks, prefix)
        orelse = _convert(node.if_get_else_node(), marks, prefix) if node.if_has_else_node() else ()
        return (If(expr_from_isl(node.if_get_cond()), then, orelse),)
    if t == isl.ast_node_type.user:
        call = node.user_get_expr()
        name = call.get_op_arg(0).get_id().get_name()
        args = tuple(expr_from_isl(call.get_op_arg(k)) for k in range(1, call.get_op_n_arg()))
        return _wrap_marks((StatementCall(name, args),), marks)
    raise CodegenError(f"unsupported isl AST node type {t}")


def _wrap_marks(nodes: tuple[LoopNode, ...], marks: tuple[str, ...]) -> tuple[LoopNode, ...]:
    """Marks whose loop isl eliminated (it runs once) stay visible as Mark nodes."""
    for m in reversed(marks):
        nodes = (Mark(_split_mark(m)[0], nodes),)
    return nodes


def _for(node: isl.AstNode, marks: tuple[str, ...], prefix: str) -> LoopNode:
    """The For of an AST loop. Marks of shallower loops that isl left out (they ran once) become Mark
    nodes around it, so that they keep their place above the loops they were above."""
    it = node.for_get_iterator().get_id().get_name()
    depth = int(it[len(prefix):]) if it.startswith(prefix) and it[len(prefix):].isdigit() else -1
    mine = tuple(m for m in marks if it == f"{prefix}{_split_mark(m)[1]}")
    skipped = tuple(m for m in marks if 0 <= _split_mark(m)[1] < depth)
    rest = tuple(m for m in marks if m not in mine and m not in skipped)
    init = expr_from_isl(node.for_get_init())
    body = _convert(node.for_get_body(), rest, prefix)
    annotations = tuple(_split_mark(m)[0] for m in mine)
    if node.for_is_degenerate():
        loop = For(it, init, X.Compare("<=", X.Var(it), init), 1, body, annotations, True)
    else:
        step = node.for_get_inc().get_val().to_python()
        loop = For(it, init, expr_from_isl(node.for_get_cond()), int(step), body, annotations)
    return _wrap_marks((loop,), skipped)[0]


_BINARY = {
    isl.ast_expr_op_type.add: "+", isl.ast_expr_op_type.sub: "-", isl.ast_expr_op_type.mul: "*",
    isl.ast_expr_op_type.div: "/", isl.ast_expr_op_type.pdiv_q: "/", isl.ast_expr_op_type.fdiv_q: "floordiv",
    isl.ast_expr_op_type.pdiv_r: "%", isl.ast_expr_op_type.zdiv_r: "%",
    isl.ast_expr_op_type.min: "min", isl.ast_expr_op_type.max: "max",
}
_COMPARE = {
    isl.ast_expr_op_type.eq: "==", isl.ast_expr_op_type.le: "<=", isl.ast_expr_op_type.lt: "<",
    isl.ast_expr_op_type.ge: ">=", isl.ast_expr_op_type.gt: ">",
}
_LOGICAL = {
    isl.ast_expr_op_type.and_: "and", isl.ast_expr_op_type.and_then: "and",
    isl.ast_expr_op_type.or_: "or", isl.ast_expr_op_type.or_else: "or",
}


def expr_from_isl(e: isl.AstExpr) -> X.Expr:
    """An isl AST expression as a polyopt expression (integers are int64)."""
    t = e.get_type()
    if t == isl.ast_expr_type.int:
        return X.Const(int(e.get_val().to_python()), X.DType.INT64)
    if t == isl.ast_expr_type.id:
        return X.Var(e.get_id().get_name())
    op = e.get_op_type()
    args = [expr_from_isl(e.get_op_arg(k)) for k in range(e.get_op_n_arg())]
    if op == isl.ast_expr_op_type.minus:
        return X.Unary("neg", args[0])
    if op in _BINARY:
        out = args[0]
        for a in args[1:]:
            out = X.Binary(_BINARY[op], out, a)
        return out
    if op in _COMPARE:
        return X.Compare(_COMPARE[op], args[0], args[1])
    if op in _LOGICAL:
        return X.Logical(_LOGICAL[op], args[0], args[1])
    if op in (isl.ast_expr_op_type.select, isl.ast_expr_op_type.cond):
        return X.Select(args[0], args[1], args[2])
    raise CodegenError(f"unsupported isl AST operation {op}")


def walk_loops(nodes: tuple[LoopNode, ...]):
    """Every For node, outermost first."""
    for n in nodes:
        if isinstance(n, For):
            yield n
            yield from walk_loops(n.body)
        elif isinstance(n, If):
            yield from walk_loops(n.then)
            yield from walk_loops(n.orelse)
        elif isinstance(n, Mark):
            yield from walk_loops(n.body)
