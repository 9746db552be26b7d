"""Compile a LoopProgram into a callable native function through LLVM (the "cpu" target), with an
in-process cache keyed by (scop fingerprint and signature, schedule text, sizes, host target, llvmlite
version, options)."""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from polyopt.codegen.common import abi_arguments
from polyopt.codegen.llvm import jit
from polyopt.codegen.llvm.module import build_module
from polyopt.codegen.loop_ast import LoopProgram
from polyopt.codegen.options import CompileOptions

log = logging.getLogger(__name__)


@dataclass(eq=False)
class NativeFunction:
    """A callable entry point: ctypes function over MCJIT code (kept alive here)."""

    cfunc: ctypes._CFuncPtr  # type: ignore[name-defined]
    threads_addr: int
    owner: object
    ir: str = ""
    optimized_ir: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._threads = ctypes.c_int32.from_address(self.threads_addr) if self.threads_addr else None

    def set_threads(self, n: int | None) -> None:
        if self._threads is not None:
            self._threads.value = int(n or 0)

    def __call__(self, *args: object) -> None:
        self.cfunc(*args)


def ctypes_signature(program: LoopProgram) -> ctypes._CFuncPtr:  # type: ignore[name-defined]
    return ctypes.CFUNCTYPE(None, *[a.ctype for a in abi_arguments(program.scop)])


def cache_key(program: LoopProgram, options: CompileOptions, kind: str) -> tuple:
    scop = program.scop
    params = program.param_values if options.specialize else ()
    return (kind, scop.fingerprint, scop.arguments, program.schedule_text, params, jit.target_id(), options)


_CACHE: OrderedDict[tuple, NativeFunction] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 256


def optimized_module(program: LoopProgram, options: CompileOptions):  # type: ignore[no-untyped-def]
    """(unoptimised IR text, optimised ModuleRef, timings)."""
    t0 = time.perf_counter()
    text = build_module(program, entry_name=options.entry_name, specialized=options.specialize,
                        parallel=options.parallel)
    t1 = time.perf_counter()
    mod = jit.optimize(text, opt=options.opt_level)
    t2 = time.perf_counter()
    return text, mod, {"irgen": t1 - t0, "optimize": t2 - t1}


def compile_native(program: LoopProgram, options: CompileOptions) -> NativeFunction:
    """JIT-compile (or fetch from the cache) the program's entry point."""
    key = cache_key(program, options, "jit")
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    text, mod, timings = optimized_module(program, options)
    opt_text = str(mod)
    t0 = time.perf_counter()
    jm = jit.jit_module(mod)
    timings["codegen"] = time.perf_counter() - t0
    fn = wrap(jm, program, options.entry_name, text, opt_text, timings)
    log.debug("compiled %s (%s): %s", program.scop.name, dict(program.param_values), timings)
    with _CACHE_LOCK:
        _CACHE[key] = fn
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return fn


def wrap(jm: jit.JitModule, program: LoopProgram, entry: str, text: str = "", opt_text: str = "",
         timings: dict[str, float] | None = None) -> NativeFunction:
    addr = jm.function_address(entry)
    cfunc = ctypes_signature(program)(addr)
    threads = jm.global_address(f"{entry}_nthreads")
    return NativeFunction(cfunc, threads, jm, text, opt_text, timings or {})


def object_code(program: LoopProgram, options: CompileOptions, *, pic: bool = False, jit_model: bool = True) \
        -> tuple[bytes, str]:
    """(object code, optimised IR text) of the program, for artifacts and exports."""
    _, mod, _ = optimized_module(program, options)
    return jit.emit_object(mod, pic=pic, jit=jit_model), str(mod)


def assembly(program: LoopProgram, options: CompileOptions) -> str:
    _, mod, _ = optimized_module(program, options)
    return jit.emit_assembly(mod)


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
