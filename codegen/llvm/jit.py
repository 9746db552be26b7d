"""Optimise LLVM IR for the host CPU (new pass manager, O3 with vectorisers and unroller), JIT it with
MCJIT, or emit object code / assembly.

Pitfall (stack-notes §3): create_mcjit_compiler takes ownership of its TargetMachine, so every engine,
and every pass builder, gets a fresh one.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import llvmlite
import llvmlite.binding as llvm

from polyopt.errors import CodegenError

log = logging.getLogger(__name__)
_init_lock = threading.Lock()
_initialized = False


def init_llvm() -> None:
    global _initialized
    with _init_lock:
        if not _initialized:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _initialized = True


@lru_cache(maxsize=1)
def host_target() -> tuple[str, str, str]:
    """(triple, cpu name, feature string) of the host."""
    init_llvm()
    return llvm.get_process_triple(), llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


def target_id() -> str:
    """Identifies generated code: host CPU, features and llvmlite version (part of cache keys)."""
    triple, cpu, feats = host_target()
    return f"{triple}/{cpu}/{feats}/llvmlite-{llvmlite.__version__}"


def new_target_machine(*, jit: bool = True, pic: bool = False, opt: int = 3) -> llvm.TargetMachine:
    triple, cpu, feats = host_target()
    target = llvm.Target.from_triple(triple)
    return target.create_target_machine(cpu=cpu, features=feats, opt=opt, reloc="pic" if pic else "default",
                                        codemodel="jitdefault" if jit else "default", jit=jit)


def data_layout() -> str:
    return str(new_target_machine().target_data)


def optimize(ir_text: str, *, opt: int = 3) -> llvm.ModuleRef:
    """Parse, verify and run the O3 pipeline with loop/SLP vectorisation, interleaving and unrolling."""
    init_llvm()
    try:
        mod = llvm.parse_assembly(ir_text)
        mod.verify()
    except RuntimeError as e:
        raise CodegenError(f"while verifying generated LLVM IR: {e}") from e
    tm = new_target_machine()
    mod.triple, mod.data_layout = host_target()[0], str(tm.target_data)
    pto = llvm.create_pipeline_tuning_options(speed_level=opt)
    pto.loop_vectorization = pto.slp_vectorization = pto.loop_interleaving = pto.loop_unrolling = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    del pb, tm
    return mod


@dataclass(eq=False)
class JitModule:
    """A JIT-compiled module; the engine (and so the code) lives as long as this object."""

    engine: llvm.ExecutionEngine
    keep: list[object] = field(default_factory=list)

    def function_address(self, name: str) -> int:
        addr = self.engine.get_function_address(name)
        if not addr:
            raise CodegenError(f"symbol '{name}' missing from the JIT-compiled module")
        return addr

    def global_address(self, name: str) -> int:
        return self.engine.get_global_value_address(name)


def jit_module(mod: llvm.ModuleRef) -> JitModule:
    """MCJIT-compile an (optimised) module."""
    init_llvm()
    engine = llvm.create_mcjit_compiler(mod, new_target_machine())
    engine.finalize_object()
    return JitModule(engine)


def jit_object(obj: bytes) -> JitModule:
    """Load object code produced by emit_object() into a fresh MCJIT engine."""
    init_llvm()
    empty = llvm.parse_assembly("")
    engine = llvm.create_mcjit_compiler(empty, new_target_machine())
    objref = llvm.ObjectFileRef.from_data(obj)
    engine.add_object_file(objref)
    engine.finalize_object()
    return JitModule(engine, [objref])


def emit_object(mod: llvm.ModuleRef, *, pic: bool = False, jit: bool = True) -> bytes:
    return new_target_machine(pic=pic, jit=jit).emit_object(mod)


def emit_assembly(mod: llvm.ModuleRef) -> str:
    return new_target_machine(jit=False).emit_assembly(mod)
