"""The "c" target: print C, compile it with the system compiler (gcc by default), call it via ctypes."""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass

from polyopt.codegen.c_printer import print_c
from polyopt.codegen.c_runner import CFunction, compile_shared, load_function
from polyopt.codegen.common import abi_arguments
from polyopt.codegen.loop_ast import LoopProgram
from polyopt.codegen.options import CompileOptions

log = logging.getLogger(__name__)


@dataclass(eq=False)
class CNativeFunction:
    """A compiled C kernel; threads go through omp_set_num_threads (0: OpenMP's default)."""

    function: CFunction
    source: str

    def set_threads(self, n: int | None) -> None:
        if n:
            try:
                ctypes.CDLL("libgomp.so.1").omp_set_num_threads(int(n))
            except OSError:  # pragma: no cover
                log.debug("libgomp missing: thread count ignored")

    def __call__(self, *args: object) -> None:
        self.function(*args)


def compile_c_program(program: LoopProgram, options: CompileOptions) -> CNativeFunction:
    source = print_c(program, function_name=options.entry_name, specialized=options.specialize)
    return load_c_source(program, source, options)


def load_c_source(program: LoopProgram, source: str, options: CompileOptions) -> CNativeFunction:
    flags = options.c_flags if options.parallel else tuple(f for f in options.c_flags if f != "-fopenmp")
    path = compile_shared(source, flags=flags)
    fn = load_function(path, options.entry_name, [a.ctype for a in abi_arguments(program.scop)])
    return CNativeFunction(fn, source)
