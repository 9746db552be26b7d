"""The contenders: C compilers on the original source, polyopt's heuristic and tuned schedules through
its own LLVM backend, and numpy/BLAS. Each prepares a `run(values)` callable for one workload; the
harness (polyopt.compare.harness) verifies and times them all the same way.

codegen and search are imported inside functions: `import polyopt.compare` stays light."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyopt.compare.workload import Workload
from polyopt.errors import PolyoptError

Run = Callable[[dict[str, Any]], None]


class Skip(PolyoptError):
    """The contender does not apply here (compiler missing, no numpy equivalent, no trials asked)."""


@dataclass(frozen=True)
class Settings:
    """How contenders are built and measured."""

    threads: int = 1
    repeats: int = 5
    warmup: int = 1
    trials: int = 0
    db: str | None = None
    seed: int = 0
    build_dir: Path | None = None    # None: the shared build cache (toolchain.cache_dir)
    max_seconds: float = 60.0      # measurement budget per contender and kernel (fewer repeats beyond)
    specialize_sizes: bool = False   # C contenders compile a copy with the sizes as constants
    tune_seconds: float | None = None  # the tuned contenders' tuning budget (then they go on with their best)


@dataclass(frozen=True)
class Prepared:
    """A contender ready to run on one workload, with what the report shows about it."""

    run: Run
    schedule: str = ""
    code: str = ""
    code_language: str = ""
    history: tuple[float, ...] = ()      # tuning: measured time (s) of each trial, in order
    note: str = ""


@dataclass(frozen=True)
class Contender:
    name: str
    label: str
    family: str                          # 'c' | 'polyopt' | 'numpy'
    prepare: Callable[[Workload, Settings], Prepared] = field(repr=False)
    parallel: bool = False


# ----------------------------------------------------------------------------------------------- C

def _c_contender(name: str) -> Contender:
    from polyopt.compare.toolchain import C_COMPILERS
    spec = C_COMPILERS[name]

    def prepare(w: Workload, s: Settings) -> Prepared:
        from polyopt.compare.c_call import load_function, set_openmp_threads
        from polyopt.compare.toolchain import availability, build_shared
        note = availability(spec)
        if note:
            raise Skip(note)
        source = _sized_source(w, s) if s.specialize_sizes else w.source
        lib = build_shared(spec, source, s.build_dir)
        run = load_function(lib, w.function, w.signature)
        set_openmp_threads(run, s.threads)
        label = spec.label() + (" (sizes fixed)" if s.specialize_sizes else "")
        return Prepared(run, schedule=label, code=source.read_text(errors="replace"), code_language="c")

    return Contender(name, spec.label(), "c", prepare, parallel=name == "polly-par")


def _sized_source(w: Workload, s: Settings) -> Path:
    """The workload's C source with its sizes fixed (toolchain.specialized_source)."""
    import ctypes

    from polyopt.compare.toolchain import specialized_source
    names = {ctypes.c_int: "int", ctypes.c_long: "long", ctypes.c_double: "double", ctypes.c_float: "float"}
    sig = [(a.name, a.kind, names.get(a.ctype, "long")) for a in w.signature]
    return specialized_source(w.source, w.function, sig, w.params, s.build_dir)


# ----------------------------------------------------------------------------------------- polyopt

def describe_candidate(candidate: Any) -> str:
    """Human-readable form of a Candidate (its trace), whatever the transforms module offers."""
    if type(candidate).__str__ is not object.__str__:
        text = str(candidate)
        to_json = getattr(candidate, "to_json", None)
        return text + ("\n" + to_json() if callable(to_json) else "")
    for attr in ("describe", "to_json", "summary"):
        fn = getattr(candidate, attr, None)
        if callable(fn):
            try:
                return str(fn())
            except Exception:  # noqa: BLE001, S112 - a description must never fail a comparison
                continue
    return repr(candidate)


def kernel_code(kernel: Any) -> tuple[str, str]:
    """(generated code, language) of a compiled polyopt Kernel, best effort."""
    for attr, lang in (("c_source", "c"), ("source", "c"), ("llvm_ir", "llvm"), ("ir", "llvm")):
        value = getattr(kernel, attr, None)
        if callable(value):
            try:
                value = value()
            except Exception:  # noqa: BLE001
                value = None
        if isinstance(value, str) and value:
            return value, lang
    return "", ""


def _compile(w: Workload, candidate: Any, threads: int) -> Any:
    from polyopt.codegen.api import compile as compile_kernel
    return compile_kernel(w.scop, candidate, target="cpu", params=w.params, threads=threads)


def _heuristic(name: str) -> Contender:
    def prepare(w: Workload, s: Settings) -> Prepared:
        from polyopt.schedulers import schedule
        candidate = schedule(w.scop, name)
        kernel = _compile(w, candidate, s.threads)
        code, lang = kernel_code(kernel)
        return Prepared(lambda values: kernel(**values), describe_candidate(candidate), code, lang)

    return Contender(f"polyopt-{name}", f"polyopt {name} schedule (LLVM)", "polyopt", prepare,
                     parallel=True)


def _tuned(parallel: bool) -> Contender:
    def prepare(w: Workload, s: Settings) -> Prepared:
        if s.trials <= 0:
            raise Skip("no tuning trials asked for (--trials 0)")
        if parallel and s.threads <= 1:
            raise Skip("the parallel tuned contender needs --threads > 1")
        from polyopt.search.measure import MeasureOptions, checked_ranges
        from polyopt.search.tuner import tune
        threads = s.threads if parallel else 1
        db = _thread_db(s.db, threads) if parallel else s.db
        result = tune(w.scop, target="cpu", params=w.params, trials=s.trials, db=db, seed=s.seed,
                      measure_options=MeasureOptions(threads=threads, checked=checked_ranges(w.checked)),
                      time_budget=s.tune_seconds)
        if result.best is None:
            raise PolyoptError(f"tuning measured no successful candidate in {len(result.history)} trials")
        kernel = result.compile(threads=threads)
        code, lang = kernel_code(kernel)
        note = f"{len(result.history)} trials, {result.errors} failed"
        if s.tune_seconds is not None and len(result.history) < s.trials and result.elapsed >= s.tune_seconds:
            note += f" (the tuning budget of {s.tune_seconds:.0f} s ran out)"
        return Prepared(lambda values: kernel(**values), describe_candidate(result.best.candidate), code,
                        lang, tuple(t.seconds for t in result.history), note)

    name = "polyopt-tuned-par" if parallel else "polyopt-tuned"
    label = "polyopt tuned, parallel (LLVM)" if parallel else "polyopt tuned, serial (LLVM)"
    return Contender(name, label, "polyopt", prepare, parallel=parallel)


def _thread_db(db: str | None, threads: int) -> str:
    """The database of the parallel tuning: a sibling file per thread count. Tuning records are keyed
    by (workload, sizes, target) without the thread count, so sharing the serial file would make the
    parallel run resume the serial run's measurements instead of measuring with `threads` threads."""
    from polyopt.search.database import default_path
    base = Path(db) if db else default_path()
    return str(base.with_name(f"{base.stem}-threads{threads}{base.suffix}"))


# ------------------------------------------------------------------------------------------- numpy

def _numpy() -> Contender:
    def prepare(w: Workload, s: Settings) -> Prepared:
        from polyopt.compare.numpy_equiv import equivalent
        fn = equivalent(w.suite) if w.suite else None
        if fn is None:
            raise Skip(f"no numpy/BLAS equivalent for {w.name}")
        return Prepared(fn, schedule="numpy/BLAS", code=inspect.getsource(fn), code_language="python")

    return Contender("numpy", "numpy/BLAS (OpenBLAS)", "numpy", prepare, parallel=True)


# --------------------------------------------------------------------------------------- registry

C_NAMES = ("gcc", "gcc-fast", "graphite", "clang", "polly", "polly-fast", "polly-par")
POLYOPT_NAMES = ("polyopt-original", "polyopt-isl", "polyopt-pluto", "polyopt-polly", "polyopt-tuned",
                 "polyopt-tuned-par")
ALL_NAMES = (*C_NAMES, *POLYOPT_NAMES, "numpy")
"""Every contender, in report order."""

GROUPS: Mapping[str, tuple[str, ...]] = {
    "all": ALL_NAMES,
    "compilers": C_NAMES,
    "polyopt": POLYOPT_NAMES,
    "heuristics": POLYOPT_NAMES[:4],
    "tuned": POLYOPT_NAMES[4:],
}


def contender(name: str) -> Contender:
    """The contender called `name` (see ALL_NAMES)."""
    if name in C_NAMES:
        return _c_contender(name)
    if name.startswith("polyopt-") and name[8:] in ("original", "isl", "pluto", "polly"):
        return _heuristic(name[8:])
    if name in ("polyopt-tuned", "polyopt-tuned-par"):
        return _tuned(name.endswith("-par"))
    if name == "numpy":
        return _numpy()
    raise PolyoptError(f"unknown contender '{name}'; known: {', '.join(ALL_NAMES)} "
                       f"(or a group: {', '.join(GROUPS)})")


def resolve(names: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """'gcc,polly' / ['compilers', 'numpy'] / None (all) -> contender names, deduplicated, report order."""
    if names is None:
        return ALL_NAMES
    items = names.split(",") if isinstance(names, str) else [n for x in names for n in str(x).split(",")]
    chosen: list[str] = []
    for item in (i.strip() for i in items if i.strip()):
        for n in GROUPS.get(item, (item,)):
            contender(n)  # validates the name
            if n not in chosen:
                chosen.append(n)
    order = {n: i for i, n in enumerate(ALL_NAMES)}
    return tuple(sorted(chosen, key=order.__getitem__))
