"""The LLVM CPU backend: LoopProgram -> LLVM IR (llvmlite) -> host-optimised machine code (MCJIT)."""

from polyopt.codegen.llvm.module import build_module

__all__ = ["build_module"]
