"""Argument types of a Python kernel: annotations and the example values of a first call.

Annotations are read from the syntax tree (never evaluated), so string annotations need no imports:

- arrays: ``A: "float64[ni, nk]"``, ``B: "int32[N][M]"``, ``x: "float32[:]"`` (unknown extent),
  ``np.ndarray`` / ``NDArray[np.float64]`` (the missing dtype or rank comes from an example argument);
- scalars: ``alpha: float`` (Python float = float64), ``alpha: "float32"``, ``np.float32``;
- sizes: ``n: int`` (a 'param'); every integer scalar is a size parameter.

Inside strings the C spellings apply ("float" is float32, "int" is int32); the Python type objects
``float`` and ``int`` keep their Python meaning (float64, a size).
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from polyopt.expr import DType

DTYPE_NAMES: dict[str, DType] = {
    "float64": DType.FLOAT64, "double": DType.FLOAT64, "f64": DType.FLOAT64,
    "float32": DType.FLOAT32, "float": DType.FLOAT32, "f32": DType.FLOAT32, "single": DType.FLOAT32,
    "int32": DType.INT32, "int": DType.INT32, "i32": DType.INT32,
    "int64": DType.INT64, "long": DType.INT64, "i64": DType.INT64,
    "bool": DType.BOOL,
}
"""dtype spellings accepted inside string annotations (and as numpy attribute names)."""

_PYTHON_TYPES = {"float": ("scalar", DType.FLOAT64), "int": ("param", DType.INT64),
                 "bool": ("param", DType.INT64)}
_NUMPY_DTYPES = {np.dtype(np.float64): DType.FLOAT64, np.dtype(np.float32): DType.FLOAT32,
                 np.dtype(np.int32): DType.INT32, np.dtype(np.int64): DType.INT64,
                 np.dtype(np.bool_): DType.BOOL}


@dataclass(frozen=True)
class TypeSpec:
    """What an annotation or an example says about one argument.

    kind: 'param' | 'scalar' | 'array' | 'unknown' | 'bad'; dims: the annotation's extents as syntax
    (None entries are unknown extents), or None when the rank is not given; shape: an example array's
    concrete shape; problem: why the type is unusable ('bad'); weak: a Python float, which numpy 2
    treats as a "weak" scalar (NEP 50: converted to float32 where it meets a float32 value)."""

    kind: str
    dtype: DType | None = None
    dims: tuple[ast.expr | None, ...] | None = None
    shape: tuple[int, ...] | None = None
    problem: str = ""
    weak: bool = False

    @property
    def rank(self) -> int | None:
        if self.dims is not None:
            return len(self.dims)
        return None if self.shape is None else len(self.shape)


UNKNOWN = TypeSpec("unknown")


def _dtype_of(node: ast.expr) -> DType | None:
    """`float64`, `np.float64`, `numpy.float64` -> DType (None if not a dtype spelling)."""
    if isinstance(node, ast.Name):
        return DTYPE_NAMES.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return DTYPE_NAMES.get(node.attr)
    return None


def _dims_of(node: ast.expr) -> tuple[ast.expr | None, ...]:
    elts = node.elts if isinstance(node, ast.Tuple) else [node]
    return tuple(None if isinstance(e, ast.Slice) or (isinstance(e, ast.Name) and e.id == "_")
                 or (isinstance(e, ast.Constant) and e.value in ("?", Ellipsis)) else e for e in elts)


def annotation_spec(node: ast.expr | None, *, in_string: bool = False) -> TypeSpec:
    """The TypeSpec an annotation's syntax describes."""
    if node is None:
        return UNKNOWN
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            inner = ast.parse(node.value.strip(), mode="eval").body
        except SyntaxError:
            return TypeSpec("bad", problem=f"cannot parse the annotation {node.value!r}")
        return annotation_spec(inner, in_string=True)
    if isinstance(node, ast.Name) and not in_string and node.id in _PYTHON_TYPES:
        kind, dtype = _PYTHON_TYPES[node.id]
        return TypeSpec(kind, dtype, weak=node.id == "float")
    dtype = _dtype_of(node)
    if dtype is not None:
        return TypeSpec("scalar" if dtype.is_float else "param", dtype)
    if isinstance(node, ast.Attribute) and node.attr == "ndarray":
        return TypeSpec("array")
    if isinstance(node, ast.Subscript):
        base = node.value
        if isinstance(base, (ast.Name, ast.Attribute)) and getattr(base, "id", getattr(base, "attr", "")) \
                == "NDArray":
            return TypeSpec("array", _dtype_of(node.slice))
        dims: list[ast.expr | None] = []
        while isinstance(node, ast.Subscript):           # int32[N][M]: the outer subscript is the last dim
            dims[:0] = _dims_of(node.slice)
            node = node.value
        dtype = _dtype_of(node)
        if dtype is not None:
            return TypeSpec("array", dtype, tuple(dims))
    return TypeSpec("bad", problem=f"unsupported annotation '{ast.unparse(node)}'")


def example_spec(value: Any) -> TypeSpec:
    """The TypeSpec of an example argument (never raises: unusable values give kind 'bad')."""
    if isinstance(value, np.ndarray):
        dtype = _NUMPY_DTYPES.get(value.dtype)
        if dtype is None:
            return TypeSpec("bad", problem=f"arrays of dtype {value.dtype} are not supported")
        return TypeSpec("array", dtype, shape=tuple(int(s) for s in value.shape))
    if isinstance(value, (bool, int, np.integer, np.bool_)):
        dtype = DType.INT32 if isinstance(value, np.int32) else DType.INT64
        return TypeSpec("param", dtype)
    if isinstance(value, np.floating):
        dtype = _NUMPY_DTYPES.get(np.dtype(type(value)))
        if dtype is None:
            return TypeSpec("bad", problem=f"scalars of type {type(value).__name__} are not supported")
        return TypeSpec("scalar", dtype)
    if isinstance(value, float):
        return TypeSpec("scalar", DType.FLOAT64, weak=True)
    return TypeSpec("bad", problem=f"arguments of type {type(value).__name__} are not supported")


def merge(annotated: TypeSpec, example: TypeSpec) -> TypeSpec | str:
    """Combine an annotation with an example: the annotation wins, the example fills the gaps.
    Returns an explanation string when they disagree or nothing usable is known."""
    for spec in (annotated, example):
        if spec.kind == "bad":
            return spec.problem
    if annotated.kind == "unknown":
        return example if example.kind != "unknown" else "its type is unknown"
    if example.kind == "unknown":
        return annotated
    if annotated.kind == "scalar" and example.kind == "param" and annotated.dtype is not None \
            and annotated.dtype.is_float:
        return annotated                          # an int where a float is annotated (x: float = 1)
    if annotated.kind != example.kind:
        return f"it is annotated as a {annotated.kind} but the example is a {example.kind}"
    if annotated.dtype is not None and example.dtype is not None and annotated.dtype != example.dtype \
            and annotated.kind == "array":
        return f"it is annotated {annotated.dtype.value} but the example array is {example.dtype.value}"
    if annotated.rank is not None and example.rank is not None and annotated.rank != example.rank:
        return f"it is annotated with {annotated.rank} dimensions but the example has {example.rank}"
    return TypeSpec(annotated.kind, annotated.dtype or example.dtype, annotated.dims, example.shape,
                    weak=annotated.weak or (annotated.dtype is None and example.weak))


@dataclass(frozen=True)
class Examples:
    """The types of a first call's arguments (by parameter name) and the pairs of arguments that
    share memory; holds no reference to the arrays themselves."""

    specs: Mapping[str, TypeSpec]
    aliases: tuple[tuple[str, str], ...] = ()


NO_EXAMPLES = Examples({})


def describe_examples(signature: inspect.Signature, args: tuple[Any, ...],
                      kwargs: Mapping[str, Any]) -> Examples:
    """Bind example arguments to a signature (defaults included) and describe them; never raises
    except TypeError when the arguments do not fit the signature."""
    bound = signature.bind_partial(*args, **kwargs)
    bound.apply_defaults()
    values = dict(bound.arguments)
    specs = {name: example_spec(v) for name, v in values.items()}
    arrays = [(n, v) for n, v in values.items() if isinstance(v, np.ndarray)]
    aliases = tuple((a, b) for k, (a, x) in enumerate(arrays) for b, y in arrays[k + 1:]
                    if _shares_memory(x, y))
    return Examples(specs, aliases)


_TOO_HARD = getattr(getattr(np, "exceptions", np), "TooHardError", Exception)


def _shares_memory(x: np.ndarray, y: np.ndarray) -> bool:
    if x is y:
        return True
    if x.size == 0 or y.size == 0 or not np.may_share_memory(x, y):
        return False
    try:
        return bool(np.shares_memory(x, y, max_work=10_000))
    except _TOO_HARD:
        return True


def signature_of(fdef: ast.FunctionDef) -> inspect.Signature:
    """An inspect.Signature built from syntax (literal defaults only), to bind example arguments."""
    a = fdef.args
    positional = a.posonlyargs + a.args
    defaults: list[Any] = [inspect.Parameter.empty] * (len(positional) - len(a.defaults))
    defaults += [_literal(d) for d in a.defaults]
    params = [inspect.Parameter(p.arg, inspect.Parameter.POSITIONAL_ONLY if k < len(a.posonlyargs)
                                else inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
              for k, (p, d) in enumerate(zip(positional, defaults))]
    params += [inspect.Parameter(p.arg, inspect.Parameter.KEYWORD_ONLY,
                                 default=inspect.Parameter.empty if d is None else _literal(d))
               for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    return inspect.Signature(params)


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return inspect.Parameter.empty
