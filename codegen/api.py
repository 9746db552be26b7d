"""The code generation entry points: compile(scop, schedule, target) -> Kernel, and picklable build
artifacts (build_artifact / load_artifact / compile_in_subprocess) for tuners that build in a worker
process and run elsewhere."""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import islpy as isl
from polyopt.codegen.binding import check_sizes
from polyopt.codegen.kernel import Kernel
from polyopt.codegen.options import CompileOptions

from polyopt.errors import CodegenError, PolyoptError
from polyopt.model import Scop

log = logging.getLogger(__name__)
TARGETS = ("cpu", "c", "cuda")
SCHEDULER_NAMES = ("original", "isl", "pluto", "polly")


def schedule_tree(scop: Scop, schedule: Any) -> isl.Schedule:
    """Normalise a schedule: isl.Schedule, polyopt Schedule (.tree), Candidate (.apply), scheduler name."""
    if schedule is None:
        schedule = "original"
    if isinstance(schedule, isl.Schedule):
        return schedule
    if isinstance(schedule, str):
        return _named_schedule(scop, schedule)
    if hasattr(schedule, "tree") and isinstance(schedule.tree, isl.Schedule):
        return schedule.tree
    if hasattr(schedule, "apply"):
        return schedule_tree(scop, schedule.apply(scop))
    raise CodegenError(f"cannot use {type(schedule).__name__} as a schedule: give an isl.Schedule, a "
                       f"polyopt Schedule, a Candidate or one of {', '.join(SCHEDULER_NAMES)}")


def _named_schedule(scop: Scop, name: str) -> isl.Schedule:
    try:
        from polyopt.schedulers import schedule as run_scheduler
    except ImportError:
        if name == "original":
            from polyopt.schedule_tree import Schedule
            return Schedule.original(scop).tree
        raise CodegenError(f"scheduler '{name}' is unavailable (polyopt.schedulers is missing)") from None
    return schedule_tree(scop, run_scheduler(scop, name))


def _builder(target: str):  # type: ignore[no-untyped-def]
    if target == "cpu":
        from polyopt.codegen.llvm.backend import compile_native
        return compile_native
    from polyopt.codegen.c_backend import compile_c_program
    return compile_c_program


def compile(scop: Scop, schedule: Any = "original", target: str = "cpu", *,
            params: Mapping[str, int] | None = None, threads: int | None = None,
            options: CompileOptions | Mapping[str, Any] | None = None) -> Any:
    """Compile a scop under a schedule for a target ("cpu": LLVM JIT, "c": the C compiler, "cuda").

    With params the kernel is specialised and compiled now; otherwise specialised kernels compile lazily
    at the first call for each distinct size tuple. threads: cores for "parallel" loops (None: all)."""
    target = target.lower()
    if target not in TARGETS:
        raise CodegenError(f"unknown target '{target}'; choose one of {', '.join(TARGETS)}")
    if params:
        params = check_sizes(scop, params)
    tree = schedule_tree(scop, schedule)
    if target == "cuda":
        try:
            from polyopt.codegen.cuda import compile_cuda
        except ImportError as e:
            from polyopt.errors import BackendUnavailableError
            raise BackendUnavailableError(f"the CUDA backend is unavailable: {e}") from e
        return compile_cuda(scop, tree, params=params, options=options)
    opts = CompileOptions.of(options)
    kernel = Kernel(scop, tree, target=target, builder=_builder(target), options=opts, params=params,
                    threads=threads)
    if params:
        kernel.native(params)
    return kernel


@dataclass(frozen=True)
class Artifact:
    """A picklable build result. kind: "object" (host object code, payload bytes) or "c" (C source, payload
    str); meta holds the scop, schedule text, sizes, target and options needed to load and call it."""

    kind: str
    payload: bytes | str
    entry_name: str
    meta: dict[str, Any] = field(default_factory=dict)


def build_artifact(scop: Scop, schedule: Any, target: str = "cpu", params: Mapping[str, int] | None = None,
                   *, options: CompileOptions | Mapping[str, Any] | None = None) -> Artifact:
    """Generate and compile code without loading it (sizes are required: the code is specialised)."""
    opts = CompileOptions.of(options)
    tree = schedule_tree(scop, schedule)
    if opts.specialize and not params and scop.params:
        raise CodegenError("build_artifact needs params for a specialised build (or specialize=False)")
    from polyopt.codegen.loop_ast import build_loop_ast
    program = build_loop_ast(scop, tree, params if opts.specialize else None)
    meta = {"scop": scop, "schedule": tree.to_str(), "params": dict(params or {}), "target": target,
            "options": opts}
    if target == "cpu":
        from polyopt.codegen.llvm.backend import object_code
        obj, _ = object_code(program, opts)
        return Artifact("object", obj, opts.entry_name, meta)
    if target == "c":
        from polyopt.codegen.c_printer import print_c
        src = print_c(program, function_name=opts.entry_name, specialized=opts.specialize)
        return Artifact("c", src, opts.entry_name, meta)
    raise CodegenError(f"artifacts are not supported for target '{target}'")


def load_artifact(artifact: Artifact, *, threads: int | None = None) -> Kernel:
    """A callable Kernel from an artifact (in this process; the object code is linked by MCJIT)."""
    meta = artifact.meta
    scop: Scop = meta["scop"]
    opts: CompileOptions = meta["options"]
    tree = isl.Schedule(meta["schedule"])
    params = meta["params"] if opts.specialize else None
    kernel = Kernel(scop, tree, target=meta["target"], builder=_builder(meta["target"]), options=opts,
                    params=params or None, threads=threads)
    program = kernel.program(params or None)
    if artifact.kind == "object":
        from polyopt.codegen.llvm.backend import wrap
        from polyopt.codegen.llvm.jit import jit_object
        from polyopt.codegen.llvm.parallel import gomp_available
        gomp_available()
        fn = wrap(jit_object(bytes(artifact.payload)), program, artifact.entry_name)
    elif artifact.kind == "c":
        from polyopt.codegen.c_backend import load_c_source
        fn = load_c_source(program, str(artifact.payload), opts)
    else:
        raise CodegenError(f"unknown artifact kind '{artifact.kind}'")
    kernel.add_compiled(params or None, fn)
    return kernel


def _worker(conn, scop, tree_text, target, params, options) -> None:  # type: ignore[no-untyped-def]
    try:
        art = build_artifact(scop, isl.Schedule(tree_text), target, params, options=options)
        conn.send(("ok", pickle.dumps(art)))
    except PolyoptError as e:
        conn.send(("error", f"{type(e).__name__}: {e}"))
    except Exception:  # noqa: BLE001 - report anything to the parent, never hang it
        conn.send(("error", traceback.format_exc(limit=5)))
    finally:
        conn.close()


def compile_in_subprocess(scop: Scop, schedule: Any, target: str = "cpu",
                          params: Mapping[str, int] | None = None, *,
                          options: CompileOptions | Mapping[str, Any] | None = None,
                          timeout: float = 120.0) -> Artifact:
    """build_artifact in a forked worker with a timeout: an LLVM crash or hang raises CodegenError here
    instead of killing the caller."""
    tree = schedule_tree(scop, schedule)
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(send, scop, tree.to_str(), target, dict(params or {}),
                                             CompileOptions.of(options)), daemon=True)
    proc.start()
    send.close()
    try:
        if not recv.poll(timeout):
            raise CodegenError(f"compilation timed out after {timeout:.0f} s")
        status, payload = recv.recv()
    except EOFError:
        proc.join(5)
        raise CodegenError(f"the compiler process died (exit code {proc.exitcode})") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        recv.close()
    if status != "ok":
        raise CodegenError(f"compilation failed in the worker: {payload}")
    return pickle.loads(payload)


__all__ = ["Artifact", "CompileOptions", "Kernel", "build_artifact", "compile", "compile_in_subprocess",
           "load_artifact", "schedule_tree"]
