"""compare(): every contender on every kernel, in one harness, on the same inputs."""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from polyopt.compare.contenders import ALL_NAMES, Settings, contender, resolve
from polyopt.compare.harness import measure_side_by_side
from polyopt.compare.report import ComparisonReport, Measurement
from polyopt.compare.workload import Workload, file_workload, reference_outputs, suite_workload
from polyopt.errors import PolyoptError

log = logging.getLogger(__name__)

Progress = Callable[[Measurement], None]


def compare(kernels: Iterable[str | Path], size: str = "SMALL",
            contenders: str | Iterable[str] | None = None, threads: int = 1, repeats: int = 5,
            trials: int = 0, db: str | Path | None = None, *, params: Mapping[str, int] | None = None,
            seed: int = 0, reference: str = "c", build_dir: Path | None = None, isolate: bool = True,
            timeout_s: float | None = 1800.0, max_seconds: float = 60.0, specialize_sizes: bool = False,
            progress: Progress | None = None) -> ComparisonReport:
    """Compare contenders on kernels (suite names like 'gemm', or paths of C files).

    Every contender runs on the same inputs (make_inputs of the suite kernel, or random inputs for a C
    file at `params` / default sizes); its outputs are checked against the reference (the gcc -O2 build
    of the same C source, or reference='python' for the suite's Python version at small sizes) before
    any time counts. Timing: `warm-up` run (the verified one), then `repeats` runs on fresh copies of the
    inputs in rounds that interleave the contenders (harness.measure_side_by_side), median reported;
    OpenMP and BLAS pinned to `threads`. A missing compiler is a 'skipped' entry with a note, a failing or wrong contender is reported, never timed. specialize_sizes: the C
    contenders compile a copy of the source with the sizes as constants (as polyopt's specialised
    kernels are; Polly gives up on VLA bounds that are function arguments). timeout_s: per contender and
    kernel; the tuned contenders stop tuning in time to be measured within it (tuning_budget)."""
    names = resolve(list(contenders) if contenders is not None and not isinstance(contenders, str)
                    else contenders)
    out_dir = Path(build_dir) if build_dir else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(threads=threads, repeats=repeats, trials=trials, db=str(db) if db else None,
                        seed=seed, build_dir=out_dir, max_seconds=max_seconds,
                        specialize_sizes=specialize_sizes, tune_seconds=tuning_budget(timeout_s, max_seconds))
    chosen = [contender(n) for n in names]
    _check_params(list(kernels), params)
    _probe_compilers(names)
    measurements: list[Measurement] = []
    kernel_names: list[str] = []
    workloads: list[Workload] = []
    flops: dict[str, float] = {}
    notes: list[str] = []
    for target in kernels:
        try:
            w = _workload(target, size, params, seed)
        except Exception as e:  # noqa: BLE001 - a kernel that cannot be loaded is noted, not fatal
            notes.append(f"{target}: not compared ({type(e).__name__}: {str(e).splitlines()[0]})")
            continue
        kernel_names.append(w.name)
        workloads.append(w)
        if w.flops:
            flops[w.name] = w.flops
        measurements += _compare_one(w, chosen, settings, reference, out_dir, isolate, timeout_s, progress)
    labels = {c.name: c.label for c in chosen}
    label = _size_label(size, params, all_set=bool(params) and all(set(w.params) <= set(params or {})
                                                                   for w in workloads))
    return ComparisonReport(label, threads, repeats, trials, tuple(kernel_names), names, labels,
                            tuple(measurements), flops, tuple(notes), _machine())


def tuning_budget(timeout_s: float | None, max_seconds: float) -> float | None:
    """Seconds a tuned contender may tune within its timeout: what its measurement leaves (up to
    max_seconds of timed runs, as much again for building, the checked run and the warm-up, and a tenth
    of the timeout to spare), and at least half the timeout. A kernel that runs for seconds then ends its
    tuning early with the best schedule measured so far, instead of timing out with nothing. None: no
    timeout, no budget."""
    if timeout_s is None:
        return None
    return max(0.5 * timeout_s, 0.9 * timeout_s - 2.0 * max_seconds)


def _size_label(size: str, params: Mapping[str, int] | None, all_set: bool) -> str:
    """How the report names the sizes: the dataset size, with the --param values that override it; only
    those values when they set every size of every kernel (the dataset size then played no part)."""
    given = ", ".join(f"{k}={v}" for k, v in (params or {}).items())
    if not given:
        return size.upper()
    return given if all_set else f"{size.upper()} with {given}"


def _workload(target: str | Path, size: str, params: Mapping[str, int] | None, seed: int) -> Workload:
    text = str(target)
    if _is_suite(text) and not os.path.isfile(text):
        return suite_workload(text, size, seed, params)   # a folder named like the kernel does not hide it
    path, _, function = text.partition(":") if not os.path.exists(text) else (text, "", "")
    if path.endswith(".c") or os.path.exists(path):
        if not os.path.isfile(path):
            raise PolyoptError(f"no such file: {path}")
        return file_workload(path, size, params, function or None, seed)
    return suite_workload(text, size, seed, params)


def _check_params(targets: list[str | Path], params: Mapping[str, int] | None) -> None:
    """A size parameter that none of the suite kernels has is a typo, not something to ignore silently
    (C files are checked by their own model: an unknown name there keeps its default)."""
    from polyopt import kernels
    if not params or any(not _is_suite(t) for t in targets):
        return
    known = {p for t in targets for p in kernels.get(str(t)).params}
    unknown = sorted(set(params) - known)
    if unknown:
        raise PolyoptError(f"--param {', '.join(unknown)}: not a size parameter of "
                           f"{', '.join(map(str, targets))} (hint: theirs are {', '.join(sorted(known))})")


def _is_suite(target: str | Path) -> bool:
    from polyopt import kernels
    return str(target) in kernels.names()


def _compare_one(w: Workload, chosen: list, settings: Settings, reference: str, out_dir: Path | None,
                 isolate: bool, timeout_s: float | None, progress: Progress | None) -> list[Measurement]:
    try:
        ref = reference_outputs(w, out_dir, reference)
    except Exception as e:  # noqa: BLE001
        why = f"the reference could not be computed: {type(e).__name__}: {e}"
        return [Measurement(w.name, c.name, "error", note=why) for c in chosen]
    if any(c.family == "polyopt" for c in chosen):
        try:
            _ = w.scop  # build the model once, before the measuring processes fork
        except Exception as e:  # noqa: BLE001 - the polyopt contenders will report it
            log.info("%s: no polyhedral model: %s", w.name, e)
    out = measure_side_by_side(chosen, w, ref, settings, isolate=isolate, timeout_s=timeout_s)
    if progress is not None:
        for m in out:
            progress(m)
    return out


def _probe_compilers(names: tuple[str, ...]) -> None:
    """Probe compilers once here, so that every measuring process inherits the answers."""
    from polyopt.compare.toolchain import C_COMPILERS, REFERENCE, availability
    availability(REFERENCE)
    for n in names:
        if n in C_COMPILERS:
            availability(C_COMPILERS[n])


def _machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": str(os.cpu_count() or 1), "system": platform.platform(),
            "python": platform.python_version()}


def available_contenders() -> tuple[str, ...]:
    return ALL_NAMES


def check_size(size: str) -> str:
    from polyopt.kernels import SIZES
    if size.upper() not in SIZES:
        raise PolyoptError(f"unknown size '{size}'; one of {', '.join(SIZES)}")
    return size.upper()
