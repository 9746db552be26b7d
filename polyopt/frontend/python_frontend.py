"""The Python frontend: a plain Python function whose body is a loop nest over numpy arrays -> Scop.

    @kernel
    def gemm(alpha: float, C: "float64[ni, nj]", A: "float64[ni, nk]", B: "float64[nk, nj]"):
        for i in range(C.shape[0]): ...

Types come from annotations (see python_types) or from the example arguments of a first call.

Size parameters that are not function arguments -- `N, M = A.shape`, `n = len(x)`, `A.shape[0]` used
inline, or an annotation extent naming no argument (`A: "float64[N, N]"`) -- become Arguments of kind
'param' appended after the signature's arguments. KernelSource is frozen and language-neutral, so
which array extent each of them is (param -> (array, dim)) is kept beside it: in
`PythonKernel.shape_params` and from `shape_params(fn, ...)`; a caller reads them off the arrays.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from polyopt import expr as X
from polyopt.builder import build_scop
from polyopt.errors import ScopError, ScopReason, SourceLocation
from polyopt.expr import DType
from polyopt.frontend.python_exprs import (ExprLowerer, finish_division, finish_numpy_minmax, finish_python_floats,
                                           finish_weak_floats, infer_dtype, is_weak_float)
from polyopt.frontend.python_scope import (
    ArrayInfo,
    Namespace,
    Origin,
    Scope,
    namespace_from_module,
    namespace_from_values,
)
from polyopt.frontend.python_stmts import StatementLowerer, store_counts
from polyopt.frontend.python_types import (
    NO_EXAMPLES,
    UNKNOWN,
    Examples,
    TypeSpec,
    annotation_spec,
    describe_examples,
    merge,
    signature_of,
)
from polyopt.frontend.tree import Argument, ArrayDecl, If, KernelSource, Loop, Node
from polyopt.model import Scop

__all__ = [
    "LoweredKernel",
    "PythonKernel",
    "from_python",
    "from_python_source",
    "kernel",
    "python_kernel_source",
    "shape_params",
]

_TYPE_HINT = ('annotate it (A: "float64[N, M]", n: int, alpha: float) or pass example arguments '
              "(from_python(f, *args), or call the @kernel once)")


@dataclass(frozen=True)
class ParsedFunction:
    """A function's syntax with what is needed to lower it."""

    fdef: ast.FunctionDef
    origin: Origin
    namespace: Namespace
    signature: inspect.Signature
    text: str


@dataclass(frozen=True)
class LoweredKernel:
    """The loop tree of a Python kernel and the size parameters read off its arrays."""

    source: KernelSource
    shape_params: tuple[tuple[str, str, int], ...] = ()     # (param, array, dim)

    @property
    def shape_map(self) -> dict[str, tuple[str, int]]:
        return {p: (a, d) for p, a, d in self.shape_params}


# -- reading source ---------------------------------------------------------------------------------

def _parse(text: str, origin: Origin) -> ast.Module:
    try:
        return ast.parse(text, filename=origin.file)
    except SyntaxError as e:
        line = origin.first_line + (e.lineno or 1) - 1
        raise ScopError(ScopReason.SYNTAX, e.msg, location=SourceLocation(origin.file, line, e.offset or 0),
                        text=(e.text or "").strip()) from None


def parse_function(fn: Callable[..., Any]) -> ParsedFunction:
    """Read and parse a live function's source; line numbers refer to its real file."""
    fn = inspect.unwrap(fn)
    name = getattr(fn, "__name__", repr(fn))
    if not inspect.isfunction(fn):
        raise ScopError(ScopReason.NO_SCOP, f"{name} is not a Python function",
                        hint="pass a function defined with def")
    code = fn.__code__
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError) as e:
        raise ScopError(ScopReason.NO_SCOP, f"the source of '{name}' is not available ({e})",
                        location=SourceLocation(code.co_filename, code.co_firstlineno),
                        hint="for code built at run time use from_python_source(text, ...)") from None
    text = textwrap.dedent("".join(lines))
    indent = len(lines[0]) - len(text.splitlines(True)[0]) if lines else 0
    origin = Origin(inspect.getsourcefile(fn) or code.co_filename, max(first, 1), indent,
                    tuple(text.splitlines()))
    tree = _parse(text, origin)
    fdef = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if fdef is None:
        raise ScopError(ScopReason.NO_SCOP, f"'{name}' is not defined with def", location=origin.location(
            tree.body[0]) if tree.body else SourceLocation(origin.file), hint="lambdas are not supported")
    values: dict[str, Any] = dict(fn.__globals__)
    for var, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            values[var] = cell.cell_contents
        except ValueError:
            pass
    used = {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name)}
    return ParsedFunction(fdef, origin, namespace_from_values(values, used), inspect.signature(fn), text)


def parse_source(text: str, function: str | None = None, filename: str = "<string>") -> ParsedFunction:
    """Parse module source text and pick the kernel function (the only one, or the one named)."""
    origin = Origin(filename, 1, 0, tuple(text.splitlines()))
    tree = _parse(text, origin)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    names = [d.name for d in defs]
    chosen = [d for d in defs if d.name == function] if function else defs
    if len(chosen) != 1:
        what = f"no function '{function}'" if function else \
            ("no function" if not defs else f"{len(defs)} functions")
        raise ScopError(ScopReason.NO_SCOP, f"{filename} has {what}", location=SourceLocation(filename),
                        hint=f"name one of: {', '.join(names)}" if names else "define the kernel with def")
    fdef = chosen[-1]
    return ParsedFunction(fdef, origin, namespace_from_module(tree), signature_of(fdef),
                          ast.get_source_segment(text, fdef) or text)


# -- lowering ---------------------------------------------------------------------------------------

def _argument_specs(fdef: ast.FunctionDef, origin: Origin, examples: Examples) \
        -> list[tuple[ast.arg, TypeSpec]]:
    a = fdef.args
    if a.vararg or a.kwarg:
        raise origin.error(ScopReason.UNSUPPORTED_STATEMENT, "variadic arguments (*args, **kwargs)", fdef,
                           "name every argument of the kernel")
    out = []
    for arg in a.posonlyargs + a.args + a.kwonlyargs:
        spec = merge(annotation_spec(arg.annotation), examples.specs.get(arg.arg, UNKNOWN))
        if isinstance(spec, str):
            raise origin.error(ScopReason.UNSUPPORTED_TYPE, f"cannot type the argument '{arg.arg}': "
                               f"{spec}", arg, _TYPE_HINT)
        if spec.kind == "array" and (spec.dtype is None or spec.rank is None):
            what = "element type" if spec.dtype is None else "number of dimensions"
            raise origin.error(ScopReason.UNSUPPORTED_TYPE, f"the {what} of the array '{arg.arg}' is "
                               "unknown", arg, _TYPE_HINT)
        out.append((arg, spec))
    for x, y in examples.aliases:
        raise origin.error(ScopReason.ALIASING, f"the arguments '{x}' and '{y}' share memory", fdef,
                           "pass distinct arrays (copy one of them)")
    return out


def _declare(scope: Scope, specs: list[tuple[ast.arg, TypeSpec]]) -> None:
    """Register the arguments, then the extents their annotations give."""
    for arg, spec in specs:
        dtype = spec.dtype or DType.INT64
        if spec.kind == "param":
            scope.params[arg.arg] = dtype
        elif spec.kind == "scalar":
            scope.scalars[arg.arg] = dtype
        else:
            scope.arrays[arg.arg] = ArrayInfo(dtype, [None] * (spec.rank or 0))
    lower = ExprLowerer(scope)
    known = set(scope.params) | set(scope.scalars) | set(scope.arrays)
    for arg, spec in specs:
        for dim, node in enumerate(spec.dims or ()):
            if node is None:
                continue
            if isinstance(node, ast.Name) and node.id not in known and node.id not in scope.params:
                scope.extent(arg.arg, dim, node.id)
                continue
            try:
                scope.arrays[arg.arg].shape[dim] = lower(node)
            except ScopError as e:
                raise scope.origin.error(e.reason, f"in the annotation of '{arg.arg}': {e.message}", arg,
                                         "extents are sizes: int arguments, names or constants") from None


def weak_names(scope: Scope, stmts: StatementLowerer, weak_args: frozenset[str]) -> frozenset[str]:
    """numpy's weak scalars (python_exprs.finish_weak_floats): the arguments typed as Python floats
    (`weak_args`) and the unannotated locals that only ever hold Python floats (literals, module
    constants, and expressions of those, of such arguments and of each other)."""
    names = {n for n in scope.locals if n not in stmts.annotated and stmts.values.get(n)}
    changed = True
    while changed:
        keep = {n for n in names if all(is_weak_float(v, frozenset(names) | weak_args) for v in stmts.values[n])}
        changed, names = keep != names, keep
    return frozenset(names) | weak_args


def _local_dtypes(scope: Scope, stmts: StatementLowerer, weak: frozenset[str]) -> dict[str, DType]:
    """Annotated dtype, else the promotion of every value assigned (float64 if nothing is known). A Python
    float assigned to a local that also takes array values does not count: in numpy, `s = 0.0` then
    `s = s + A[i]` makes s a float32 when A is (NEP 50), and weak locals stay Python floats (float64)."""
    types: dict[str, DType] = dict(stmts.annotated)

    def var(name: str) -> DType:
        return scope.scalars.get(name, DType.INT64)

    def array(name: str) -> DType | None:
        return scope.arrays[name].dtype if name in scope.arrays else types.get(name)

    changed = True
    while changed:
        changed = False
        for name in scope.locals:
            if name in stmts.annotated or name in weak:
                continue
            for v in stmts.values.get(name, []):
                t = infer_dtype(finish_weak_floats(v, var, array, weak), var, array)
                if t == DType.FLOAT64 and is_weak_float(v, weak):
                    continue
                if t is not None and t != types.get(name):
                    new = DType.promote(types.get(name, t), t)
                    changed |= new != types.get(name)
                    types[name] = new
    return {n: types.get(n, DType.FLOAT64) for n in scope.locals}


def _finish(nodes: tuple[Node, ...], fix: Callable[[X.Expr], X.Expr]) -> tuple[Node, ...]:
    out: list[Node] = []
    for n in nodes:
        if isinstance(n, Loop):
            out.append(replace(n, init=fix(n.init), cond=fix(n.cond), body=_finish(n.body, fix)))
        elif isinstance(n, If):
            out.append(replace(n, cond=fix(n.cond), then=_finish(n.then, fix),
                               orelse=_finish(n.orelse, fix)))
        else:
            target = fix(n.target)
            assert isinstance(target, X.Access)
            out.append(replace(n, target=target, value=fix(n.value)))
    return tuple(out)


def _default(signature: inspect.Signature, name: str, kind: str) -> int | float | None:
    """An argument's default value when it is a number a kernel call can use (a size: an int)."""
    param = signature.parameters.get(name)
    v = param.default if param is not None else inspect.Parameter.empty
    if isinstance(v, (bool, np.bool_)) or kind == "array":
        return None
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)) and kind == "scalar":
        return float(v)
    return None


def lower(parsed: ParsedFunction, examples: Examples = NO_EXAMPLES) -> LoweredKernel:
    """The loop tree (KernelSource) of a parsed function."""
    fdef = parsed.fdef
    scope = Scope(parsed.origin, parsed.namespace, store_counts=store_counts(fdef))
    specs = _argument_specs(fdef, parsed.origin, examples)
    _declare(scope, specs)
    stmts = StatementLowerer(scope)
    body = stmts.body(fdef)
    weak = weak_names(scope, stmts, frozenset(arg.arg for arg, spec in specs if spec.kind == "scalar" and spec.weak))
    local_types = _local_dtypes(scope, stmts, weak)

    def var(name: str) -> DType:
        return scope.scalars.get(name, DType.INT64)

    def array(name: str) -> DType | None:
        return scope.arrays[name].dtype if name in scope.arrays else local_types.get(name)

    def fix(e: X.Expr) -> X.Expr:
        weak_settled = finish_weak_floats(finish_division(e, var, array), var, array, weak)
        return finish_numpy_minmax(finish_python_floats(weak_settled, var, array), var, array)

    arguments = [Argument(arg.arg, spec.kind, spec.dtype or DType.INT64,
                          _default(parsed.signature, arg.arg, spec.kind)) for arg, spec in specs]
    arguments += [Argument(p, "param", DType.INT64) for p in scope.shape_params]
    arrays = [ArrayDecl(n, a.dtype, tuple(a.shape), True) for n, a in scope.arrays.items()]
    arrays += [ArrayDecl(n, t, (), False) for n, t in local_types.items()]
    source = KernelSource(fdef.name, tuple(arguments), tuple(arrays), _finish(body, fix), "python",
                          parsed.origin.file, tuple(fix(a) for a in stmts.assumptions), parsed.text)
    return LoweredKernel(source, tuple((p, a, d) for p, (a, d) in scope.shape_params.items()))


def _examples(parsed: ParsedFunction, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Examples:
    try:
        return describe_examples(parsed.signature, args, kwargs)
    except TypeError as e:
        raise parsed.origin.error(ScopReason.UNSUPPORTED_TYPE, f"the example arguments do not fit the "
                                  f"signature: {e}", parsed.fdef) from None


def lower_callable(fn: Callable[..., Any], args: tuple[Any, ...] = (),
                   kwargs: Mapping[str, Any] | None = None) -> LoweredKernel:
    """Lower a function (or a PythonKernel, whose first call supplies the examples when none given)."""
    if isinstance(fn, PythonKernel) and not args and not kwargs:
        return fn.lowered
    parsed = parse_function(fn)
    return lower(parsed, _examples(parsed, args, kwargs or {}))


# -- public API -------------------------------------------------------------------------------------

def python_kernel_source(fn: Callable[..., Any], *example_args: Any, **example_kwargs: Any) -> KernelSource:
    """The loop tree of a Python function, before the polyhedral model is built."""
    return lower_callable(fn, example_args, example_kwargs).source


def from_python(fn: Callable[..., Any], *example_args: Any, **example_kwargs: Any) -> Scop:
    """The Scop of a Python loop-nest function; types from annotations or the example arguments.

    Arithmetic follows numpy 2 on array elements: a Python float (a literal, a constant, an argument
    annotated `float`, the result of math.* or float()) meeting a float32 value is converted to float32
    first (NEP 50), so float32 kernels compute in float32 as numpy does; math.* functions compute in double,
    as Python does (np.* functions keep float32).
    Generated code may fuse `a * b + c` into one FMA (one rounding instead of two), as C compilers do;
    results can then differ from numpy's in the last bit."""
    if isinstance(fn, PythonKernel) and not example_args and not example_kwargs:
        return fn.scop
    return build_scop(python_kernel_source(fn, *example_args, **example_kwargs))


def from_python_source(text: str, function: str | None = None, filename: str = "<string>", *,
                       example_args: tuple[Any, ...] = (),
                       example_kwargs: Mapping[str, Any] | None = None) -> Scop:
    """The Scop of a function in Python source text (the only function, or the one named)."""
    parsed = parse_source(text, function, filename)
    return build_scop(lower(parsed, _examples(parsed, example_args, example_kwargs or {})).source)


def shape_params(fn: Callable[..., Any], *example_args: Any, **example_kwargs: Any) \
        -> dict[str, tuple[str, int]]:
    """Size parameters read off arrays: param name -> (array argument, dimension)."""
    return lower_callable(fn, example_args, example_kwargs).shape_map


class PythonKernel:
    """A loop-nest function that polyopt can model. Calling it runs the original Python code; the
    first call's arguments are remembered (as types, not values) to type unannotated arguments."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        functools.update_wrapper(self, fn)
        self.__wrapped__: Callable[..., Any] = fn
        self._signature = inspect.signature(fn)
        self._examples: Examples | None = None
        self._lowered: LoweredKernel | None = None
        self._scop: Scop | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._examples is None:
            try:
                self._examples = describe_examples(self._signature, args, kwargs)
            except TypeError:
                pass                                  # the call itself will report the mistake
        return self.__wrapped__(*args, **kwargs)

    @property
    def lowered(self) -> LoweredKernel:
        if self._lowered is None:
            self._lowered = lower(parse_function(self.__wrapped__), self._examples or NO_EXAMPLES)
        return self._lowered

    @property
    def source(self) -> KernelSource:
        """The loop tree (built lazily: from annotations, or the first call's argument types)."""
        return self.lowered.source

    @property
    def shape_params(self) -> dict[str, tuple[str, int]]:
        return self.lowered.shape_map

    @property
    def scop(self) -> Scop:
        """The polyhedral model (built lazily, once)."""
        if self._scop is None:
            self._scop = build_scop(self.source)
        return self._scop

    def __repr__(self) -> str:
        return f"<polyopt kernel {self.__wrapped__.__qualname__}>"


def kernel(fn: Callable[..., Any] | None = None) -> Any:
    """Decorator: `@kernel def f(...)` (or `@kernel()`) -> PythonKernel."""
    if fn is None:
        return kernel
    return PythonKernel(fn)
