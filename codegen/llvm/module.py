"""Build the LLVM module of a LoopProgram: the C ABI entry point `void NAME(i64 N.., T scalar.., ptr
noalias A..)`, specialised (sizes as constants) or generic (sizes read from the arguments)."""

from __future__ import annotations

import re

from llvmlite import ir
from polyopt.codegen.common import abi_arguments, check_local_arrays
from polyopt.codegen.llvm.emitter import FunctionEmitter, ModuleContext
from polyopt.codegen.llvm.exprs import Env
from polyopt.codegen.llvm.parallel import gomp_available, threads_global
from polyopt.codegen.llvm.types import I64, PTR, VOID, value_type
from polyopt.codegen.loop_ast import LoopProgram, walk_loops

from polyopt.expr import DType


def build_module(program: LoopProgram, *, entry_name: str = "kernel", specialized: bool = True,
                 triple: str = "", data_layout: str = "", parallel: bool = True) -> str:
    """LLVM IR text of the program; parallel=False emits "parallel" loops serially."""
    scop = program.scop
    check_local_arrays(scop)
    module = ir.Module(name=f"polyopt.{scop.name}")
    if triple:
        module.triple = triple
    if data_layout:
        module.data_layout = data_layout
    abi = abi_arguments(scop)
    types = [I64 if a.kind == "param" else PTR if a.kind == "array" else value_type(a.dtype) for a in abi]
    fn = ir.Function(module, ir.FunctionType(VOID, types), entry_name)
    env = Env()
    params = program.params if specialized else {}
    for a, arg in zip(abi, fn.args):
        arg.name = a.name
        if a.kind == "array":
            arg.add_attribute("noalias")
            env.arrays[a.name] = arg
        elif a.kind == "param":
            value = ir.Constant(I64, params[a.name]) if a.name in params else arg
            env.values[a.name] = (value, DType.INT64)
        else:
            env.values[a.name] = (arg, a.dtype)
    wants_parallel = parallel and any(loop.is_parallel for loop in walk_loops(program.body))
    ctx = ModuleContext(program, module, entry_name, wants_parallel and gomp_available())
    ctx.threads_global = threads_global(module, entry_name)
    em = FunctionEmitter(ctx, fn, env)
    em.make_locals()
    em.nodes(program.body)
    em.finish()
    return fix_loop_ids(str(module), ctx.loop_ids)


_MD_LINE = re.compile(r'^(!\d+) = !\{\s*!"(polyopt\.loop\.\d+)"\s*,', re.MULTILINE)


def fix_loop_ids(text: str, tags: list[str]) -> str:
    """llvmlite cannot express self-referential metadata: turn `!7 = !{!"polyopt.loop.N", ...}` into the
    loop id `!7 = distinct !{!7, ...}` that LLVM's loop passes expect."""
    if not tags:
        return text
    return _MD_LINE.sub(lambda m: f"{m.group(1)} = distinct !{{{m.group(1)},", text)
