"""Print a LoopProgram as compilable C99 with a C ABI entry point.

The entry point is `void NAME(long N.., double alpha.., double *restrict A, ...)` with the arguments in
the scop's signature order; arrays are linearised row-major; 0-d local arrays are local variables.
"parallel" loops get `#pragma omp parallel for`, "vectorize" loops `#pragma omp simd` (a
"vectorize:reassoc" loop only gets a comment: `omp simd` would assert the absence of the reduction
dependence). Expressions follow polyopt.expr semantics exactly, with explicit casts where C's implicit
conversions would differ (int64 literals are printed with an L suffix).
"""

from __future__ import annotations

from collections.abc import Mapping

from polyopt.codegen.common import (
    abi_arguments,
    c_array_name,
    c_name,
    check_local_arrays,
    linear_index,
    specialize,
    upper_bound,
)
from polyopt.codegen.loop_ast import For, If, LoopNode, LoopProgram, Mark, StatementCall

from polyopt import expr as X
from polyopt.errors import CodegenError
from polyopt.expr import DType
from polyopt.model import Scop, expr_dtype

PRELUDE = """\
#include <math.h>
#include <stdint.h>

static inline long polyopt_floord(long a, long b) {
  long q = a / b; return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline long polyopt_pmod(long a, long b) {
  long r = a % b; return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
static inline double polyopt_pmodd(double a, double b) {
  double r = fmod(a, b); return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
static inline float polyopt_pmodf(float a, float b) {
  float r = fmodf(a, b); return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
#define polyopt_min(a, b) (((b) < (a)) ? (b) : (a))
#define polyopt_max(a, b) (((b) > (a)) ? (b) : (a))
static inline double polyopt_maximum(double a, double b) { return (a > b || a != a) ? a : b; }
static inline double polyopt_minimum(double a, double b) { return (a < b || a != a) ? a : b; }
static inline float polyopt_maximumf(float a, float b) { return (a > b || a != a) ? a : b; }
static inline float polyopt_minimumf(float a, float b) { return (a < b || a != a) ? a : b; }
"""

_FLOAT_ONLY = {"sqrt", "exp", "log", "pow", "sin", "cos", "tan", "tanh", "floor", "ceil", "exp2", "log2",
               "log10", "atan", "atan2", "fmin", "fmax", "fabs"}


def print_c(program: LoopProgram, *, function_name: str = "kernel", specialized: bool = True) -> str:
    """C99 source of the program; with specialized=True the parameter values the program was built for
    are substituted into the body (the signature keeps the size arguments, unused)."""
    printer = _CPrinter(program, specialized)
    return printer.module(function_name)


def c_prototype(scop: Scop, function_name: str = "kernel") -> str:
    """`void NAME(long N, double alpha, double *restrict A)` for the header of an exported kernel."""
    args = ", ".join(a.c_decl for a in abi_arguments(scop)) or "void"
    return f"void {function_name}({args})"


class _CPrinter:
    def __init__(self, program: LoopProgram, specialized: bool) -> None:
        self.program = program
        self.scop = program.scop
        check_local_arrays(self.scop)
        self.params: Mapping[str, int] = program.params if specialized else {}
        self.locals = {a.name for a in self.scop.local_arrays}
        self.lines: list[str] = []
        self.in_parallel = False

    def module(self, name: str) -> str:
        self.lines = [PRELUDE, c_prototype(self.scop, name) + " {"]
        for a in self.scop.local_arrays:
            self.emit(1, f"{a.dtype.c_name} {c_array_name(a.name)};")
        for p in self.scop.params:
            if p in self.params:
                self.emit(1, f"(void){c_name(p)};")
        self.nodes(self.program.body, 1)
        self.lines.append("}")
        return "\n".join(self.lines) + "\n"

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)

    def nodes(self, nodes: tuple[LoopNode, ...], depth: int) -> None:
        for n in nodes:
            if isinstance(n, For):
                self.loop(n, depth)
            elif isinstance(n, If):
                self.emit(depth, f"if ({self.cond(n.cond)}) {{")
                self.nodes(n.then, depth + 1)
                if n.orelse:
                    self.emit(depth, "} else {")
                    self.nodes(n.orelse, depth + 1)
                self.emit(depth, "}")
            elif isinstance(n, Mark):
                self.emit(depth, f"/* mark: {n.name} */")
                self.nodes(n.body, depth)
            elif isinstance(n, StatementCall):
                self.statement(n, depth)
            else:  # pragma: no cover
                raise CodegenError(f"unknown loop node {type(n).__name__}")

    def loop(self, n: For, depth: int) -> None:
        it = c_name(n.iterator)
        if n.degenerate:
            self.emit(depth, f"{{ const long {it} = {self.index(n.init)};")
            self.nodes(n.body, depth + 1)
            self.emit(depth, "}")
            return
        outer_parallel = self.in_parallel
        for a in n.annotations:
            self.emit(depth, f"/* {a} */")
        if n.is_parallel and not self.in_parallel and upper_bound(n) is not None:
            private = f" firstprivate({', '.join(c_array_name(x) for x in sorted(self.locals))})" if self.locals \
                else ""
            self.emit(depth, f"#pragma omp parallel for schedule(static){private}")
            self.in_parallel = True
        elif "vectorize" in n.annotations:
            self.emit(depth, "#pragma omp simd")
        if n.unroll > 1:
            self.emit(depth, f"#pragma GCC unroll {n.unroll}")
        ub = upper_bound(n)      # OpenMP's canonical loop form wants `it <= bound` without parentheses
        cond = f"{it} {n.cond.op} {self.index(ub[0])}" if ub and isinstance(n.cond, X.Compare) \
            else self.cond(n.cond)
        self.emit(depth, f"for (long {it} = {self.index(n.init)}; {cond}; {it} += {n.step}) {{")
        self.nodes(n.body, depth + 1)
        self.emit(depth, "}")
        self.in_parallel = outer_parallel

    def statement(self, call: StatementCall, depth: int) -> None:
        target, value = self.program.instance(call)
        tdtype = self.scop.array(target.array).dtype
        self.emit(depth, f"{self.access(target)} = {self.typed(value, tdtype)};")

    # -- expressions ---------------------------------------------------------------------------------
    def index(self, e: X.Expr) -> str:
        return self.typed(e, DType.INT64)

    def cond(self, e: X.Expr) -> str:
        return self.expr(specialize(e, self.params))

    def typed(self, e: X.Expr, dtype: DType) -> str:
        """The expression converted to dtype (explicit cast when its own type differs)."""
        e = specialize(e, self.params)
        text = self.expr(e)
        if expr_dtype(self.scop, e) == dtype:
            return text
        if dtype == DType.BOOL:
            return f"(({text}) != 0)"
        return f"(({dtype.c_name})({text}))"

    def access(self, a: X.Access) -> str:
        if a.array in self.locals:
            return c_array_name(a.array)
        arr = self.scop.array(a.array)
        idx = linear_index(arr, tuple(specialize(i, self.params) for i in a.indices))
        return f"{c_array_name(a.array)}[{self.typed(idx, DType.INT64)}]"

    def expr(self, e: X.Expr) -> str:
        t = expr_dtype(self.scop, e)
        if isinstance(e, X.Const):
            if e.dtype == DType.INT64:
                return f"{int(e.value)}L"
            if e.dtype == DType.BOOL:
                return "1" if e.value else "0"
            return X.to_c(e)
        if isinstance(e, X.Var):
            return c_name(e.name)
        if isinstance(e, X.Access):
            return self.access(e)
        if isinstance(e, X.Cast):
            return self.typed(e.operand, e.dtype)
        if isinstance(e, X.Unary):
            if e.op == "not":
                return f"(!{self.typed(e.operand, DType.BOOL)})"
            return f"(-{self.typed(e.operand, t)})"
        if isinstance(e, X.Select):
            return f"({self.typed(e.cond, DType.BOOL)} ? {self.typed(e.if_true, t)} : " \
                   f"{self.typed(e.if_false, t)})"
        if isinstance(e, X.Call):
            return self.call(e, t)
        if isinstance(e, X.Logical):
            op = "&&" if e.op == "and" else "||"
            return f"({self.typed(e.lhs, DType.BOOL)} {op} {self.typed(e.rhs, DType.BOOL)})"
        if isinstance(e, X.Compare):
            ct = DType.promote(expr_dtype(self.scop, e.lhs), expr_dtype(self.scop, e.rhs))
            return f"({self.typed(e.lhs, ct)} {e.op} {self.typed(e.rhs, ct)})"
        assert isinstance(e, X.Binary), e
        return self.binary(e, t)

    def binary(self, e: X.Binary, t: DType) -> str:
        a, b = self.typed(e.lhs, t), self.typed(e.rhs, t)
        if e.op in ("+", "-", "*", "/"):
            return f"({a} {e.op} {b})"
        if e.op == "%":
            return f"fmod{'f' if t == DType.FLOAT32 else ''}({a}, {b})" if t.is_float else f"({a} % {b})"
        if e.op in ("min", "max"):
            return f"polyopt_{e.op}({a}, {b})"
        if e.op == "floordiv":
            if t.is_float:
                return f"floor{'f' if t == DType.FLOAT32 else ''}({a} / {b})"
            return f"(({t.c_name})polyopt_floord({a}, {b}))"
        if e.op == "mod":
            if t.is_float:
                return f"polyopt_pmod{'f' if t == DType.FLOAT32 else 'd'}({a}, {b})"
            return f"(({t.c_name})polyopt_pmod({a}, {b}))"
        raise CodegenError(f"unsupported binary operator '{e.op}'")

    def call(self, e: X.Call, t: DType) -> str:
        args = ", ".join(self.typed(x, t) for x in e.args)
        if e.func == "abs" and not t.is_float:
            return f"{'labs' if t == DType.INT64 else 'abs'}({args})"
        if e.func in X.NUMPY_FUNCTIONS:
            return f"polyopt_{e.func}{'f' if t == DType.FLOAT32 else ''}({args})"
        name = "fabs" if e.func == "abs" else e.func
        if name not in _FLOAT_ONLY:
            raise CodegenError(f"unsupported math function '{e.func}'")
        return f"{name}{'f' if t == DType.FLOAT32 else ''}({args})"
