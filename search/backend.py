"""The one place where the search package touches the rest of polyopt (transformations, baseline
schedulers, loop AST, LLVM backend). Everything else in polyopt.search goes through these functions, so
an interface change elsewhere is absorbed here. Imports are lazy: importing polyopt.search stays cheap.
"""

from __future__ import annotations

import json
import platform
from functools import lru_cache
from typing import Any, Mapping

from polyopt.model import Scop


def candidate_from_json(text: str) -> Any:
    from polyopt.transforms import Candidate

    return Candidate.from_json(text)


def candidate_to_json(candidate: Any) -> str:
    """Canonical JSON of a candidate (sorted keys, no spaces): the dedupe and database key."""
    return json.dumps(json.loads(candidate.to_json()), sort_keys=True, separators=(",", ":"))


def baseline(scop: Scop, name: str) -> Any:
    """The Candidate of a baseline scheduler ('original', 'isl', 'pluto', 'polly')."""
    try:
        from polyopt.schedulers import schedule
    except ImportError:
        # ADAPTER (search): polyopt.schedulers is not there yet; the bare base schedule stands in for it
        # (no tiling), which understates the Polly/Pluto baselines.
        from polyopt.transforms import Candidate

        return Candidate(name)
    return schedule(scop, name)


def apply(scop: Scop, candidate: Any) -> Any:
    """The Schedule of a candidate; raises IllegalTransformError (or another PolyoptError)."""
    return candidate.apply(scop)


def schedule_tree(schedule: Any) -> Any:
    """The isl.Schedule inside a polyopt Schedule (or the object itself if it already is one)."""
    return getattr(schedule, "tree", schedule)


def loop_program(scop: Scop, schedule: Any, params: Mapping[str, int]) -> Any:
    from polyopt.codegen.loop_ast import build_loop_ast

    return build_loop_ast(scop, schedule_tree(schedule), dict(params))


def build_artifact(scop: Scop, schedule: Any, target: str, params: Mapping[str, int]) -> Any:
    from polyopt.codegen import api

    return api.build_artifact(scop, schedule, target, dict(params))


def load_artifact(artifact: Any, threads: int | None = None) -> Any:
    from polyopt.codegen import api

    return api.load_artifact(artifact, threads=threads)


def compile_kernel(scop: Scop, schedule: Any, target: str, params: Mapping[str, int],
                   threads: int | None = None) -> Any:
    from polyopt.codegen import api

    kwargs: dict[str, Any] = {"target": target, "params": dict(params)}
    if threads is not None:
        kwargs["threads"] = threads
    return api.compile(scop, schedule, **kwargs)


def call_kernel(kernel: Any, args: Mapping[str, Any]) -> Any:
    """Run a compiled kernel on arrays/scalars passed by name."""
    return kernel(**args)


def _accepts(fn: Any, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


@lru_cache(maxsize=None)
def target_fingerprint(target: str = "cpu") -> str:
    """'cpu:<llvm cpu name>:<hash of cpu features>', or for 'cuda' 'cuda:<GPU model>:sm_<compute
    capability>:gputime' (BackendUnavailableError without a GPU)."""
    import hashlib

    if target.startswith("cuda") or target.startswith("gpu"):
        from polyopt.search.gpu import gpu_target_fingerprint, require_gpu

        return gpu_target_fingerprint(*require_gpu())
    try:
        import llvmlite.binding as llvm

        name = llvm.get_host_cpu_name()
        feats = llvm.get_host_cpu_features().flatten()
    except Exception:  # pragma: no cover
        name, feats = platform.processor() or "unknown", ""
    digest = hashlib.sha256(feats.encode()).hexdigest()[:8]
    return f"cpu:{name}:{digest}"
