"""LLVM types of polyopt dtypes and value conversions following C's rules."""

from __future__ import annotations

from llvmlite import ir

from polyopt.errors import CodegenError
from polyopt.expr import DType

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F32 = ir.FloatType()
F64 = ir.DoubleType()
PTR = ir.PointerType()
VOID = ir.VoidType()

_VALUE_TYPES = {DType.INT32: I32, DType.INT64: I64, DType.FLOAT32: F32, DType.FLOAT64: F64, DType.BOOL: I1}


def value_type(dtype: DType) -> ir.Type:
    """The SSA type of a value of this dtype (bool is i1)."""
    return _VALUE_TYPES[dtype]


def storage_type(dtype: DType) -> ir.Type:
    """The in-memory element type (bool is a byte, as in numpy)."""
    return I8 if dtype == DType.BOOL else _VALUE_TYPES[dtype]


def constant(value: float | bool, dtype: DType) -> ir.Constant:
    if dtype.is_float:
        return ir.Constant(value_type(dtype), float(value))
    return ir.Constant(value_type(dtype), int(value))


def convert(b: ir.IRBuilder, v: ir.Value, src: DType, dst: DType) -> ir.Value:
    """C conversion of a value from src to dst (to bool means != 0)."""
    if src == dst:
        return v
    if dst == DType.BOOL:
        if src.is_float:
            return b.fcmp_unordered("!=", v, ir.Constant(v.type, 0.0))
        return b.icmp_signed("!=", v, ir.Constant(v.type, 0))
    dt = value_type(dst)
    if src == DType.BOOL:
        return b.uitofp(v, dt) if dst.is_float else b.zext(v, dt)
    if src.is_float and dst.is_float:
        return b.fpext(v, dt) if dst == DType.FLOAT64 else b.fptrunc(v, dt)
    if src.is_float:
        return b.fptosi(v, dt)
    if dst.is_float:
        return b.sitofp(v, dt)
    if dst.itemsize > src.itemsize:
        return b.sext(v, dt)
    if dst.itemsize < src.itemsize:
        return b.trunc(v, dt)
    raise CodegenError(f"cannot convert {src.value} to {dst.value}")  # pragma: no cover
