"""Compile options shared by the CPU backends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from polyopt.errors import CodegenError


@dataclass(frozen=True)
class CompileOptions:
    """specialize: sizes become constants (one compile per distinct size tuple); parallel: honour
    "parallel" marks (GOMP_parallel / OpenMP); opt_level: LLVM pipeline level; entry_name: the exported
    symbol; c_flags: flags for the C backend's compiler."""

    specialize: bool = True
    parallel: bool = True
    opt_level: int = 3
    entry_name: str = "kernel"
    c_flags: tuple[str, ...] = ("-O3", "-std=gnu99", "-fopenmp", "-fPIC", "-march=native")

    @staticmethod
    def of(options: CompileOptions | Mapping[str, Any] | None) -> CompileOptions:
        if options is None:
            return CompileOptions()
        if isinstance(options, CompileOptions):
            return options
        known = {f.name for f in fields(CompileOptions)}
        unknown = set(options) - known
        if unknown:
            raise CodegenError(f"unknown compile option(s) {', '.join(sorted(unknown))}; "
                               f"known: {', '.join(sorted(known))}")
        values = dict(options)
        if "c_flags" in values:
            values["c_flags"] = tuple(values["c_flags"])
        return replace(CompileOptions(), **values)
