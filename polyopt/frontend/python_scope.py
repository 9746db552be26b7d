"""Where Python source came from (for locations in errors) and what the names in a kernel mean."""

from __future__ import annotations

import ast
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from polyopt import expr as X
from polyopt.errors import ScopError, ScopReason, SourceLocation
from polyopt.expr import DType

MATH_FUNCS = {n: n for n in ("sqrt", "exp", "log", "pow", "fabs", "sin", "cos", "tan", "tanh", "floor",
                             "ceil", "exp2", "log2", "log10", "atan", "atan2")}
NUMPY_FUNCS = {**{n: n for n in ("sqrt", "exp", "log", "fabs", "sin", "cos", "tan", "tanh", "floor",
                                 "ceil", "exp2", "log2", "log10", "fmin", "fmax", "abs")},
               "power": "pow", "arctan": "atan", "arctan2": "atan2", "absolute": "abs",
               "minimum": "minimum", "maximum": "maximum"}
"""numpy's minimum/maximum become the frontend-internal Binary('minimum'/'maximum') (NaN propagates; see
python_exprs.finish_numpy_minmax); everything else a Call."""
NUMPY_CASTS = {"float64": DType.FLOAT64, "double": DType.FLOAT64, "float32": DType.FLOAT32,
               "single": DType.FLOAT32, "int32": DType.INT32, "int64": DType.INT64}
CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan}
TABLES = {"math": MATH_FUNCS, "numpy": {**NUMPY_FUNCS, **{k: k for k in NUMPY_CASTS}}}
_MODULES = {id(math): "math", id(np): "numpy"}


@dataclass(frozen=True)
class Origin:
    """Maps positions in the parsed (dedented) text back to the real file."""

    file: str = "<string>"
    first_line: int = 1          # real line number of the parsed text's line 1
    indent: int = 0              # columns that dedenting removed
    lines: tuple[str, ...] = ()  # the parsed text, line by line

    def location(self, node: ast.AST) -> SourceLocation:
        line = getattr(node, "lineno", 0)
        if not line:
            return SourceLocation(self.file)
        return SourceLocation(self.file, self.first_line + line - 1,
                              getattr(node, "col_offset", 0) + 1 + self.indent)

    def text(self, node: ast.AST) -> str:
        line = getattr(node, "lineno", 0)
        return self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""

    def error(self, reason: ScopReason, message: str, node: ast.AST, hint: str = "") -> ScopError:
        return ScopError(reason, message, location=self.location(node), text=self.text(node), hint=hint)


@dataclass(frozen=True)
class Namespace:
    """What global names mean: module aliases ('math'/'numpy'), functions imported from them
    (name -> (module, attribute)) and numeric constants (inlined as literals)."""

    modules: Mapping[str, str] = field(default_factory=dict)
    functions: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    constants: Mapping[str, int | float] = field(default_factory=dict)


DEFAULT_MODULES = {"math": "math", "np": "numpy", "numpy": "numpy"}


def namespace_from_values(values: Mapping[str, Any], used: set[str]) -> Namespace:
    """A Namespace from a live function's globals and closure (only the names it uses)."""
    modules = {k: v for k, v in DEFAULT_MODULES.items() if k not in values}
    functions: dict[str, tuple[str, str]] = {}
    constants: dict[str, int | float] = {}
    for name in used:
        if name not in values:
            continue
        v = values[name]
        if isinstance(v, types.ModuleType) and id(v) in _MODULES:
            modules[name] = _MODULES[id(v)]
        elif isinstance(v, (bool, int, float, np.integer, np.floating)):
            constants[name] = v.item() if isinstance(v, np.generic) else v
        else:
            for mod_name, mod in (("math", math), ("numpy", np)):
                hit = [a for a in TABLES[mod_name] if getattr(mod, a, None) is v]
                if hit:
                    functions[name] = (mod_name, hit[0])
                    break
    return Namespace(modules, functions, constants)


def namespace_from_module(tree: ast.Module) -> Namespace:
    """A Namespace from a module's imports and top-level numeric constants (source-text path)."""
    modules = dict(DEFAULT_MODULES)
    functions: dict[str, tuple[str, str]] = {}
    constants: dict[str, int | float] = {}
    for st in tree.body:
        if isinstance(st, ast.Import):
            for a in st.names:
                if a.name in ("math", "numpy"):
                    modules[a.asname or a.name] = a.name
        elif isinstance(st, ast.ImportFrom) and st.module in ("math", "numpy"):
            for a in st.names:
                functions[a.asname or a.name] = (st.module, a.name)
        elif isinstance(st, (ast.Assign, ast.AnnAssign)) and st.value is not None:
            targets = st.targets if isinstance(st, ast.Assign) else [st.target]
            try:
                value = ast.literal_eval(st.value)
            except ValueError:
                continue
            if isinstance(value, (int, float)):
                constants.update({t.id: value for t in targets if isinstance(t, ast.Name)})
    return Namespace(modules, functions, constants)


@dataclass
class ArrayInfo:
    """An array argument while lowering: its dtype and (growing) knowledge of its extents."""

    dtype: DType
    shape: list[X.Expr | None]


@dataclass
class Scope:
    """Everything a name can mean inside the kernel body (mutable while lowering one function)."""

    origin: Origin
    namespace: Namespace
    params: dict[str, DType] = field(default_factory=dict)          # sizes: signature + shape params
    scalars: dict[str, DType] = field(default_factory=dict)         # read-only scalar arguments
    arrays: dict[str, ArrayInfo] = field(default_factory=dict)      # array arguments
    shape_params: dict[str, tuple[str, int]] = field(default_factory=dict)
    aliases: dict[str, X.Expr] = field(default_factory=dict)        # names bound to size expressions
    locals: dict[str, DType | None] = field(default_factory=dict)   # scalar temporaries (0-d arrays)
    iterators: list[str] = field(default_factory=list)
    store_counts: dict[str, int] = field(default_factory=dict)

    def is_size(self, name: str) -> bool:
        return name in self.params or name in self.aliases

    def fresh(self, base: str) -> str:
        taken = set(self.params) | set(self.scalars) | set(self.arrays) | set(self.aliases) \
            | set(self.locals) | set(self.store_counts)
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        return name

    def extent(self, array: str, dim: int, name: str | None = None) -> X.Expr:
        """The size expression of array dimension `dim`; creates a size parameter (named `name`, or
        `<array>_shape<dim>`) read off the array at call time when the extent is not known yet."""
        info = self.arrays[array]
        known = info.shape[dim]
        if known is not None:
            return known
        pname = name or self.fresh(f"{array}_shape{dim}")
        self.params[pname] = DType.INT64
        self.shape_params[pname] = (array, dim)
        info.shape[dim] = X.Var(pname)
        return X.Var(pname)
