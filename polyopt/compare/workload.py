"""What is compared: one C kernel at concrete sizes, with its inputs, its C signature and the reference
outputs of the unoptimised build, so that every contender is checked on exactly the same data."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from polyopt.compare.c_call import CArg, c_signature, load_function, suite_signature
from polyopt.errors import PolyoptError
from polyopt.model import Scop

DEFAULT_USER_SIZES = {"MINI": 32, "SMALL": 128, "MEDIUM": 400, "LARGE": 1200, "EXTRALARGE": 2400}
"""Size parameter value used for a user's C file when --param does not give it."""


@dataclass(frozen=True, eq=False)
class Workload:
    """One kernel at one size: the C source and function, every argument's value, the outputs."""

    name: str
    source: Path
    function: str
    signature: tuple[CArg, ...]
    inputs: Mapping[str, Any]
    outputs: tuple[str, ...]
    rtol: float
    flops: float | None = None
    suite: str | None = None
    load_scop: Callable[[], Scop] = field(default=lambda: _no_scop(), repr=False)
    checked: Mapping[str, tuple[slice, ...]] = field(default_factory=dict)
    """Per output, the index of the part that is compared (the rest is rounding noise); others whole."""

    @property
    def params(self) -> dict[str, int]:
        return {a.name: int(self.inputs[a.name]) for a in self.signature if a.kind == "param"}

    @functools.cached_property
    def scop(self) -> Scop:
        """The polyhedral model of the kernel (built on first use; frontend errors propagate)."""
        return self.load_scop()

    def fresh(self) -> dict[str, Any]:
        """A copy of every argument: arrays start equal for every run."""
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.inputs.items()}


def _no_scop() -> Scop:
    raise PolyoptError("no polyhedral model for this workload")


def suite_workload(name: str, size: str, seed: int = 0, params: Mapping[str, int] | None = None) -> Workload:
    """A suite kernel (polyopt.kernels) at a dataset size, on make_inputs(name, sizes, seed); `params`
    overrides those of the kernel's size parameters that it names (the others are not this kernel's)."""
    from polyopt import kernels
    k = kernels.get(name)
    sizes = dict(k.sizes(size))
    sizes.update({p: int(v) for p, v in (params or {}).items() if p in sizes})
    inputs = kernels.make_inputs(name, sizes, seed)

    def load() -> Scop:
        from polyopt.frontend.c_frontend import from_c
        return from_c(str(k.c_path), k.c_function)

    rtol = max(float(k.rtol), 1e-10) if k.dtype != "int32" else 0.0
    return Workload(name, Path(k.c_path), k.c_function, suite_signature(k), inputs, tuple(k.outputs), rtol,
                    float(k.flops(sizes)), name, load, k.checked_region(sizes))


def file_workload(path: str | Path, size: str, params: Mapping[str, int] | None = None,
                  function: str | None = None, seed: int = 0) -> Workload:
    """A user's C file: the model gives the signature; random inputs at the given (or default) sizes."""
    from polyopt.frontend.c_frontend import from_c
    from polyopt.search.inputs import array_outputs, random_inputs
    src = Path(path)
    scop = from_c(str(src), function)
    default = DEFAULT_USER_SIZES.get(size.upper(), 128)
    values = {p: int((params or {}).get(p, default)) for p in scop.params}
    inputs = random_inputs(scop, values, seed)
    floats = [scop.array(a).dtype for a in array_outputs(scop)]
    rtol = 0.0 if floats and not any(d.is_float for d in floats) else \
        (1e-4 if any(getattr(d, "value", "") == "float32" for d in floats) else 1e-9)
    return Workload(src.stem, src, function or scop.name, c_signature(scop), inputs,
                    tuple(array_outputs(scop)), rtol, None, None, lambda: scop)


def reference_outputs(workload: Workload, build_dir: Path | None = None, mode: str = "c") -> dict[str, np.ndarray]:
    """Outputs of the reference: the unoptimised gcc -O2 build of the same C source ('c'), or the
    suite's Python version ('python', small sizes only)."""
    values = workload.fresh()
    if mode == "python":
        if workload.suite is None:
            raise PolyoptError("a Python reference exists only for suite kernels")
        from polyopt import kernels
        kernels.python_function(workload.suite)(**values)
    else:
        from polyopt.compare.toolchain import REFERENCE, build_shared
        lib = build_shared(REFERENCE, workload.source, build_dir)
        load_function(lib, workload.function, workload.signature)(values)
    return {name: np.array(values[name], copy=True) for name in workload.outputs}


def check_outputs(workload: Workload, values: Mapping[str, Any],
                  reference: Mapping[str, np.ndarray]) -> tuple[bool, float, str]:
    """(verified, worst error relative to each output's magnitude, which output failed)."""
    worst = 0.0
    for name, ref in reference.items():
        out = np.asarray(values[name])
        if out.shape != ref.shape:
            return False, float("inf"), f"{name}: shape {out.shape} != {ref.shape}"
        if name in workload.checked:
            out, ref = out[workload.checked[name]], ref[workload.checked[name]]
        finite = np.isfinite(ref)
        if not np.array_equal(finite, np.isfinite(out)):
            return False, float("inf"), f"{name}: NaN/inf where the reference has none (or vice versa)"
        if not finite.any():
            continue
        diff = np.abs(out[finite].astype(np.float64) - ref[finite].astype(np.float64))
        scale = max(float(np.max(np.abs(ref[finite]))), 1e-300)
        err = float(np.max(diff)) / scale if diff.size else 0.0
        limit = workload.rtol * (np.abs(ref[finite]) + scale * 1e-3) if workload.rtol else 0.0
        if np.any(diff > limit):
            return False, max(err, worst), f"{name}: differs from the reference (max error {err:.2e})"
        worst = max(worst, err)
    return True, worst, ""
