"""polyopt: a polyhedral loop-nest optimizer with a learned cost model.

    scop = polyopt.from_python(fn)            # or polyopt.from_c("kernel.c")
    polyopt.dependences(scop)                 # exact dependences (isl)
    cand = polyopt.schedule(scop, "polly")    # a baseline schedule, or polyopt.tune(scop, ...)
    kernel = polyopt.compile(scop, cand)      # LLVM CPU kernel (target="cuda" for NVIDIA GPUs)

Heavy parts (LLVM, xgboost, pycuda) load lazily: `import polyopt` is fast and needs no GPU.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any

from polyopt.errors import (ArgumentError, BackendUnavailableError, CodegenError, IllegalTransformError,
                            NotAScopError, PolyoptError, ScopError, ScopReason)

__version__ = "0.1.0"

_LAZY = {
    "from_python": "polyopt.frontend.python_frontend",
    "from_python_source": "polyopt.frontend.python_frontend",
    "kernel": "polyopt.frontend.python_frontend",
    "from_c": "polyopt.frontend.c_frontend",
    "from_c_all": "polyopt.frontend.c_frontend",
    "build_scop": "polyopt.builder",
    "Scop": "polyopt.model",
    "dependences": "polyopt.dataflow",
    "Dependences": "polyopt.dataflow",
    "Schedule": "polyopt.schedule_tree",
    "schedule": "polyopt.schedulers",
    "check_legal": "polyopt.legality",
    "Candidate": "polyopt.transforms",
    "SCHEDULERS": "polyopt.schedulers",
    "is_legal": "polyopt.legality",
    "run_loop_program": "polyopt.interpret",
    "compile": "polyopt.codegen.api",
    "tune": "polyopt.search.tuner",
}

__all__ = sorted([*_LAZY, "ArgumentError", "BackendUnavailableError", "CodegenError",
                  "IllegalTransformError", "NotAScopError", "PolyoptError", "ScopError", "ScopReason",
                  "__version__"])


_TAKE_SCOP = ("compile", "schedule", "dependences", "check_legal", "is_legal", "tune")
"""Entry points whose first argument is a Scop: given anything else they raise NotAScopError."""


def _expect_scop(fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn, raising NotAScopError (a TypeError) when its first argument is not a Scop, e.g. a function."""
    @functools.wraps(fn)
    def checked(scop: Any, *args: Any, **kwargs: Any) -> Any:
        from polyopt.model import Scop
        if not isinstance(scop, Scop):
            what = f"the function '{getattr(scop, '__name__', '?')}'" if callable(scop) \
                else f"a {type(scop).__name__}"
            how = (f"build it first: polyopt.{fn.__name__}(polyopt.from_python({scop.__name__}), ...)"
                   if inspect.isfunction(scop) or hasattr(scop, "__wrapped__") else
                   "build one with polyopt.from_python(fn) or polyopt.from_c(path)")
            raise NotAScopError(f"polyopt.{fn.__name__}() takes a Scop, got {what}; {how}")
        return fn(scop, *args, **kwargs)
    return checked


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'polyopt' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    if name in _TAKE_SCOP:
        value = _expect_scop(value)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
