"""Kernel: a compiled loop nest callable on numpy arrays and scalars.

Call it positionally in the source function's parameter order or by name; sizes that can be read off
array shapes may be omitted. Specialised kernels compile lazily, once per distinct size tuple (unless
sizes were fixed at compile time). Arrays are updated in place; the call returns None.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import islpy as isl
from polyopt.codegen.binding import BoundArguments, bind_arguments
from polyopt.codegen.common import abi_arguments
from polyopt.codegen.loop_ast import LoopProgram, build_loop_ast
from polyopt.codegen.options import CompileOptions

from polyopt.model import Scop

log = logging.getLogger(__name__)
ParamKey = tuple[tuple[str, int], ...]


class NativeCode(Protocol):
    def set_threads(self, n: int | None) -> None: ...
    def __call__(self, *args: object) -> None: ...


Builder = Callable[[LoopProgram, CompileOptions], NativeCode]


class Kernel:
    """A compiled kernel for one scop, schedule and target ("cpu" = LLVM, "c" = the C compiler)."""

    def __init__(self, scop: Scop, schedule: isl.Schedule, *, target: str, builder: Builder,
                 options: CompileOptions, params: Mapping[str, int] | None = None,
                 threads: int | None = None) -> None:
        self.scop = scop
        self.schedule = schedule
        self.target = target
        self.options = options
        self.params = dict(params) if params else None
        self.threads = threads
        self._builder = builder
        self._compiled: dict[ParamKey, NativeCode] = {}
        self._abi = abi_arguments(scop)
        self._slots = tuple((a.kind, a.name) for a in self._abi)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Kernel({self.scop.name!r}, target={self.target!r}, params={self.params})"

    # -- calling -------------------------------------------------------------------------------------
    def bind(self, *args: Any, **kwargs: Any) -> BoundArguments:
        return bind_arguments(self.scop, args, kwargs, fixed_params=self.params)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        bound = self.bind(*args, **kwargs)
        fn = self.native(bound.params)
        fn.set_threads(self.threads)
        fn(*self.c_arguments(bound))

    def c_arguments(self, bound: BoundArguments) -> list[object]:
        """Plain Python values in ABI order (the ctypes prototype converts them)."""
        params, scalars, arrays = bound.params, bound.scalars, bound.arrays
        return [params[name] if kind == "param" else scalars[name] if kind == "scalar"
                else arrays[name].ctypes.data for kind, name in self._slots]

    def native(self, params: Mapping[str, int]) -> NativeCode:
        """The compiled function for these sizes (compiled now if needed)."""
        key: ParamKey = tuple((p, int(params[p])) for p in self.scop.params) if self.options.specialize else ()
        fn = self._compiled.get(key)        # compiled already: no lock needed to read the dict
        if fn is not None:
            return fn
        with self._lock:
            fn = self._compiled.get(key)
            if fn is None:
                fn = self._builder(self.program(dict(key) if key else None), self.options)
                self._compiled[key] = fn
        return fn

    def program(self, params: Mapping[str, int] | None = None) -> LoopProgram:
        """The loop AST, specialised for `params` when given."""
        return build_loop_ast(self.scop, self.schedule, params)

    def add_compiled(self, params: Mapping[str, int] | None, fn: NativeCode) -> None:
        key: ParamKey = tuple((p, int(params[p])) for p in self.scop.params) if params else ()
        self._compiled[key] = fn

    # -- inspection ----------------------------------------------------------------------------------
    def _text_program(self) -> tuple[LoopProgram, CompileOptions]:
        if self.params and self.options.specialize:
            return self.program(self.params), self.options
        from dataclasses import replace
        return self.program(None), replace(self.options, specialize=False)

    @property
    def llvm_ir(self) -> str:
        """Optimised LLVM IR (specialised when sizes were fixed at compile time, else generic)."""
        from polyopt.codegen.llvm.backend import optimized_module
        program, options = self._text_program()
        return str(optimized_module(program, options)[1])

    @property
    def asm(self) -> str:
        from polyopt.codegen.llvm.backend import assembly
        program, options = self._text_program()
        return assembly(program, options)

    @property
    def c_source(self) -> str:
        from polyopt.codegen.c_printer import print_c
        program, options = self._text_program()
        return print_c(program, function_name=options.entry_name, specialized=options.specialize)

    # -- export --------------------------------------------------------------------------------------
    def export(self, path: str | os.PathLike[str], *, specialized: bool = False) -> Path:
        """Write a shared library (.so) or object file (.o) with the C ABI entry point, plus a header
        (same stem, .h). Generic (sizes as arguments) unless specialized=True and sizes were fixed."""
        from polyopt.codegen.export import export_kernel
        return export_kernel(self, Path(path), specialized=specialized)

