"""The error hierarchy of polyopt: every failure a user can see is one of these."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class PolyoptError(Exception):
    """Base class of all errors polyopt raises on purpose."""


class ScopReason(str, Enum):
    """Why a piece of code is outside the polyhedral model (Polly-style reason codes)."""

    SYNTAX = "syntax"                          # the source does not parse
    UNSUPPORTED_STATEMENT = "unsupported-statement"   # while, goto, break, return, switch ...
    NON_AFFINE_SUBSCRIPT = "non-affine-subscript"
    NON_AFFINE_BOUND = "non-affine-bound"
    NON_AFFINE_CONDITION = "non-affine-condition"
    DATA_DEPENDENT_CONTROL = "data-dependent-control"
    SIDE_EFFECT_CALL = "side-effect-call"
    POINTER_ARITHMETIC = "pointer-arithmetic"
    ALIASING = "aliasing"
    LOOP_BOUND_WRITE = "loop-bound-write"
    UNKNOWN_NAME = "unknown-name"
    UNSUPPORTED_TYPE = "unsupported-type"
    BAD_LOOP = "bad-loop"                      # a loop header outside the supported forms
    NO_SCOP = "no-scop"                        # nothing to model (no pragma region / no loops)


@dataclass(frozen=True)
class SourceLocation:
    """Where a construct comes from: file (or '<string>'), 1-based line and column."""

    file: str = "<string>"
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")


class ScopError(PolyoptError):
    """The input cannot be modelled: carries a reason code, a location, the offending text and a hint."""

    def __init__(self, reason: ScopReason, message: str, *, location: SourceLocation | None = None,
                 text: str = "", hint: str = "") -> None:
        self.reason = ScopReason(reason)
        self.message = message
        self.location = location or SourceLocation()
        self.text = text
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        out = f"{self.location}: [{self.reason.value}] {self.message}"
        if self.text:
            out += f"\n    {self.text.strip()}"
        if self.hint:
            out += f"\n  hint: {self.hint}"
        return out

    def to_dict(self) -> dict[str, object]:
        """Machine-readable form, for `polyopt show --json`."""
        return {"reason": self.reason.value, "message": self.message, "file": self.location.file,
                "line": self.location.line, "column": self.location.column, "text": self.text,
                "hint": self.hint}


class IllegalTransformError(PolyoptError):
    """A transformation would reorder dependent statement instances."""

    def __init__(self, message: str, *, dependence: str = "", source: str = "", sink: str = "") -> None:
        self.dependence = dependence
        self.source = source
        self.sink = sink
        super().__init__(message)


class CodegenError(PolyoptError):
    """Code could not be generated or compiled for a schedule."""


class BackendUnavailableError(PolyoptError):
    """A backend (a GPU, pycuda, a compiler) is missing; the message says how to get it."""


class KernelTimeoutError(PolyoptError):
    """A kernel launched on a device did not finish within its time limit (it may still be running)."""


class NotAScopError(PolyoptError, TypeError):
    """An entry point that takes a Scop (compile, schedule, dependences, ...) got something else."""


class ArgumentError(PolyoptError, ValueError):
    """A compiled kernel was called with arguments that do not match its signature; `hint` says what to
    pass instead (when there is something to say)."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message}\n  hint: {hint}" if hint else message)
