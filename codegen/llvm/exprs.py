"""Lower polyopt expressions to LLVM IR with the element types and C promotion rules of
polyopt.model.expr_dtype, and the operator semantics documented in polyopt.expr."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llvmlite import ir
from polyopt.codegen.common import linear_index
from polyopt.codegen.llvm.types import I64, constant, convert, storage_type, value_type

from polyopt import expr as X
from polyopt.errors import CodegenError
from polyopt.expr import DType
from polyopt.model import Scop, expr_dtype

# math functions lowered to LLVM intrinsics (llvm.NAME.f32/f64); the rest are libm calls
INTRINSICS = {"sqrt": "sqrt", "exp": "exp", "log": "log", "pow": "pow", "fabs": "fabs", "sin": "sin",
              "cos": "cos", "floor": "floor", "ceil": "ceil", "exp2": "exp2", "log2": "log2",
              "log10": "log10", "fmin": "minnum", "fmax": "maxnum"}
LIBM = ("tan", "tanh", "atan", "atan2")
_FCMP = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass
class Env:
    """What names mean inside the function being emitted."""

    values: dict[str, tuple[ir.Value, DType]] = field(default_factory=dict)   # params, scalars, iterators
    arrays: dict[str, ir.Value] = field(default_factory=dict)                 # argument base pointers
    locals: dict[str, ir.Value] = field(default_factory=dict)                 # 0-d local allocas
    promoted: dict[str, Any] = field(default_factory=dict)                    # packed copies (promote.py)

    def copy(self) -> Env:
        return Env(dict(self.values), dict(self.arrays), dict(self.locals), dict(self.promoted))


def is_safe(e: X.Expr) -> bool:
    """True when evaluating e speculatively cannot fault (no memory access, no integer division)."""
    for x in X.walk(e):
        if isinstance(x, X.Access):
            return False
        if isinstance(x, X.Binary) and x.op in ("/", "floordiv", "%", "mod") and not isinstance(x.rhs, X.Const):
            return False
    return True


class ExprLowerer:
    """Lowers expressions at the builder's current position; `fp_flags` are the fast-math flags put on
    floating-point arithmetic (contract, plus reassoc inside vectorize:reassoc loops)."""

    def __init__(self, scop: Scop, module: ir.Module, builder: ir.IRBuilder, env: Env) -> None:
        self.scop = scop
        self.module = module
        self.b = builder
        self.env = env
        self.fp_flags: tuple[str, ...] = ("contract",)

    def typed(self, e: X.Expr, dtype: DType) -> ir.Value:
        v, t = self.lower(e)
        return convert(self.b, v, t, dtype)

    def index(self, e: X.Expr) -> ir.Value:
        return self.typed(e, DType.INT64)

    def lower(self, e: X.Expr) -> tuple[ir.Value, DType]:
        if isinstance(e, X.Const):
            return constant(e.value, e.dtype), e.dtype
        if isinstance(e, X.Var):
            if e.name not in self.env.values:
                raise CodegenError(f"unknown name '{e.name}' in generated code")
            return self.env.values[e.name]
        if isinstance(e, X.Access):
            return self.load(e)
        if isinstance(e, X.Cast):
            return self.typed(e.operand, e.dtype), e.dtype
        t = expr_dtype(self.scop, e)
        if isinstance(e, X.Unary):
            if e.op == "not":
                return self.b.xor(self.typed(e.operand, DType.BOOL), constant(1, DType.BOOL)), DType.BOOL
            t = DType.INT32 if t == DType.BOOL else t
            v = self.typed(e.operand, t)
            return (self.b.fneg(v, flags=self.fp_flags) if t.is_float else self.b.neg(v)), t
        if isinstance(e, X.Select):
            return self.select(e.cond, e.if_true, e.if_false, t), t
        if isinstance(e, X.Logical):
            return self.logical(e), DType.BOOL
        if isinstance(e, X.Compare):
            return self.compare(e), DType.BOOL
        if isinstance(e, X.Call):
            return self.call(e, t), t
        assert isinstance(e, X.Binary), e
        return self.binary(e, t), t

    # -- memory --------------------------------------------------------------------------------------
    def address(self, a: X.Access) -> ir.Value:
        if a.array in self.env.locals:
            return self.env.locals[a.array]
        arr = self.scop.array(a.array)
        base = self.env.arrays[a.array]
        if not a.indices:
            return base
        packed = self.env.promoted.get(a.array)
        if packed is not None:
            from polyopt.codegen.llvm.promote import packed_address
            return packed_address(self, packed, a.indices, storage_type(arr.dtype))
        idx = self.index(linear_index(arr, a.indices))
        return self.b.gep(base, [idx], inbounds=True, source_etype=storage_type(arr.dtype))

    def load(self, a: X.Access) -> tuple[ir.Value, DType]:
        dtype = self.scop.array(a.array).dtype
        v = self.b.load(self.address(a), typ=storage_type(dtype), align=dtype.itemsize)
        if dtype == DType.BOOL:
            v = self.b.trunc(v, value_type(DType.BOOL))
        return v, dtype

    def store(self, target: X.Access, value: X.Expr) -> None:
        dtype = self.scop.array(target.array).dtype
        v = self.typed(value, dtype)
        if dtype == DType.BOOL:
            v = self.b.zext(v, storage_type(dtype))
        self.b.store(v, self.address(target), align=dtype.itemsize)

    # -- operators -----------------------------------------------------------------------------------
    def binary(self, e: X.Binary, t: DType) -> ir.Value:
        t = DType.INT32 if t == DType.BOOL else t
        a, c = self.typed(e.lhs, t), self.typed(e.rhs, t)
        b, fl = self.b, self.fp_flags
        nsw = ("nsw",) if t == DType.INT64 else ()
        if e.op in ("+", "-", "*"):
            if t.is_float:
                return {"+": b.fadd, "-": b.fsub, "*": b.fmul}[e.op](a, c, flags=fl)
            return {"+": b.add, "-": b.sub, "*": b.mul}[e.op](a, c, flags=nsw)
        if e.op == "/":
            return b.fdiv(a, c, flags=fl) if t.is_float else b.sdiv(a, c)
        if e.op == "%":
            return b.frem(a, c, flags=fl) if t.is_float else b.srem(a, c)
        if e.op in ("min", "max"):
            better = self.cmp("<" if e.op == "min" else ">", c, a, t)   # Python: b replaces a only if strictly
            return b.select(better, c, a)
        if e.op == "floordiv":
            if t.is_float:
                return self.intrinsic("floor", [b.fdiv(a, c, flags=fl)], t)
            q, r = b.sdiv(a, c), b.srem(a, c)
            return b.select(self.needs_adjust(r, c), b.sub(q, ir.Constant(q.type, 1)), q)
        if e.op == "mod":
            r = b.frem(a, c, flags=fl) if t.is_float else b.srem(a, c)
            fix = b.fadd(r, c, flags=fl) if t.is_float else b.add(r, c)
            return b.select(self.needs_adjust(r, c, t.is_float), fix, r)
        raise CodegenError(f"unsupported binary operator '{e.op}'")

    def needs_adjust(self, r: ir.Value, d: ir.Value, is_float: bool = False) -> ir.Value:
        """r != 0 and sign(r) != sign(d): the fix-up from C truncation to Python floor semantics."""
        b = self.b
        if is_float:
            zero = ir.Constant(r.type, 0.0)
            return b.and_(b.fcmp_ordered("!=", r, zero),
                          b.xor(b.fcmp_ordered("<", r, zero), b.fcmp_ordered("<", d, zero)))
        zero = ir.Constant(r.type, 0)
        return b.and_(b.icmp_signed("!=", r, zero), b.icmp_signed("<", b.xor(r, d), zero))

    def cmp(self, op: str, a: ir.Value, c: ir.Value, t: DType) -> ir.Value:
        if t.is_float:
            return self.b.fcmp_unordered(op, a, c) if op == "!=" else self.b.fcmp_ordered(_FCMP[op], a, c)
        if t == DType.BOOL:
            return self.b.icmp_unsigned(op, a, c)
        return self.b.icmp_signed(op, a, c)

    def compare(self, e: X.Compare) -> ir.Value:
        t = DType.promote(expr_dtype(self.scop, e.lhs), expr_dtype(self.scop, e.rhs))
        return self.cmp(e.op, self.typed(e.lhs, t), self.typed(e.rhs, t), t)

    def logical(self, e: X.Logical) -> ir.Value:
        lhs = self.typed(e.lhs, DType.BOOL)
        if is_safe(e.rhs):
            rhs = self.typed(e.rhs, DType.BOOL)
            return self.b.and_(lhs, rhs) if e.op == "and" else self.b.or_(lhs, rhs)
        short = constant(0 if e.op == "and" else 1, DType.BOOL)
        if e.op == "and":
            return self.lazy(lhs, lambda: self.typed(e.rhs, DType.BOOL), lambda: short)
        return self.lazy(lhs, lambda: short, lambda: self.typed(e.rhs, DType.BOOL))

    def select(self, cond: X.Expr, yes: X.Expr, no: X.Expr, t: DType) -> ir.Value:
        c = self.typed(cond, DType.BOOL)
        if is_safe(yes) and is_safe(no):
            return self.b.select(c, self.typed(yes, t), self.typed(no, t))
        return self.lazy(c, lambda: self.typed(yes, t), lambda: self.typed(no, t))

    def lazy(self, c: ir.Value, yes, no) -> ir.Value:  # type: ignore[no-untyped-def]
        """Branch on c and evaluate only the taken side (C's ?:, && and || are lazy)."""
        with self.b.if_else(c) as (then, otherwise):
            with then:
                v1 = yes()
                bb1 = self.b.block
            with otherwise:
                v2 = no()
                bb2 = self.b.block
        phi = self.b.phi(v1.type)
        phi.add_incoming(v1, bb1)
        phi.add_incoming(v2, bb2)
        return phi

    # -- math ----------------------------------------------------------------------------------------
    def call(self, e: X.Call, t: DType) -> ir.Value:
        args = [self.typed(a, t) for a in e.args]
        if e.func == "abs":
            if t.is_float:
                return self.intrinsic("fabs", args, t)
            neg = self.b.neg(args[0])
            return self.b.select(self.b.icmp_signed("<", args[0], ir.Constant(args[0].type, 0)), neg, args[0])
        if e.func in X.NUMPY_FUNCTIONS:
            a, b = args
            pick = self.b.fcmp_ordered(">" if e.func == "maximum" else "<", a, b)
            return self.b.select(self.b.or_(pick, self.b.fcmp_unordered("uno", a, a)), a, b)
        if e.func in INTRINSICS:
            return self.intrinsic(INTRINSICS[e.func], args, t)
        if e.func in LIBM:
            name = e.func + ("f" if t == DType.FLOAT32 else "")
            fn = self.declare(name, value_type(t), [value_type(t)] * len(args))
            return self.b.call(fn, args)
        raise CodegenError(f"unsupported math function '{e.func}'")

    def intrinsic(self, name: str, args: list[ir.Value], t: DType) -> ir.Value:
        ty = value_type(t)
        suffix = "f32" if t == DType.FLOAT32 else "f64"
        fn = self.declare(f"llvm.{name}.{suffix}", ty, [ty] * len(args))
        return self.b.call(fn, args, fastmath=self.fp_flags)

    def declare(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        existing = self.module.globals.get(name)
        if existing is not None:
            return existing
        return ir.Function(self.module, ir.FunctionType(ret, args), name)

    def int64(self, v: int) -> ir.Constant:
        return ir.Constant(I64, v)
