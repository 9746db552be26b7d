"""A slow, backend-independent executor of loop programs, for tests at tiny sizes.

The loop AST is translated to Python source once (loops, guards, one function per statement), then
run on numpy arrays in place. Expression semantics follow polyopt.expr: '/' is C division
(truncation on integers), 'floordiv' is Python's //, '%' is C's remainder, 'mod' Python's %.
Also: make_inputs() builds fresh random inputs for a SCoP with write-only arrays poisoned (NaN).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import islpy as isl
import numpy as np

from polyopt import expr as X
from polyopt.codegen import loop_ast as L
from polyopt.errors import PolyoptError
from polyopt.model import Scop, Statement, expr_dtype
from polyopt.pyexpr import HELPERS, NUMPY_TYPES, PyExprPrinter


class _Printer(PyExprPrinter):
    """Variables through env (prefixed names), arrays as a_<name>; typed: the scop's C types decide
    float vs integer division (index expressions are integers)."""

    def __init__(self, scop: Scop, env: Callable[[str], str], typed: bool) -> None:
        self.scop, self.env, self.typed = scop, env, typed

    def var(self, name: str) -> str:
        return self.env(name)

    def access(self, e: X.Access) -> str:
        return f"a_{e.array}[{', '.join(self.expr(i) for i in e.indices) if e.indices else '()'}]"

    def is_float(self, e: X.Binary) -> bool:
        return self.typed and expr_dtype(self.scop, e).is_float


class _Emitter:
    def __init__(self, scop: Scop) -> None:
        self.scop = scop
        self.lines: list[str] = []

    def expr(self, e: X.Expr, env: Callable[[str], str], typed: bool) -> str:
        """Python text of an expression; env maps variable names; typed: use the scop's C types."""
        return _Printer(self.scop, env, typed).expr(e)

    def statement(self, s: Statement) -> None:
        env = lambda n: f"i_{n}" if n in s.iterators else f"p_{n}"
        self.lines.append(f"    def s_{s.name}({', '.join('i_' + i for i in s.iterators)}):")
        target = self.expr(s.target, env, True)
        dtype = self.scop.array(s.target.array).dtype
        value = self.expr(s.value, env, True)
        self.lines.append(f"        {target} = _np.{NUMPY_TYPES[dtype].__name__}({value})")

    def nodes(self, nodes: tuple[L.LoopNode, ...], depth: int) -> None:
        pad = "    " * depth
        if not nodes:
            self.lines.append(pad + "pass")
        for n in nodes:
            self.node(n, depth, pad)

    def node(self, n: L.LoopNode, depth: int, pad: str) -> None:
        env = lambda name: f"l_{name}"
        if isinstance(n, L.StatementCall):
            self.lines.append(pad + f"s_{n.statement}({', '.join(self.expr(a, env, False) for a in n.args)})")
        elif isinstance(n, L.Mark):
            self.nodes(n.body, depth)
        elif isinstance(n, L.If):
            self.lines.append(pad + f"if {self.expr(n.cond, env, False)}:")
            self.nodes(n.then, depth + 1)
            if n.orelse:
                self.lines.append(pad + "else:")
                self.nodes(n.orelse, depth + 1)
        else:
            self.loop(n, depth, pad, env)

    def loop(self, n: L.For, depth: int, pad: str, env: Callable[[str], str]) -> None:
        it = env(n.iterator)
        init = self.expr(n.init, env, False)
        if n.degenerate:
            self.lines.append(pad + f"{it} = {init}")
            self.nodes(n.body, depth)
            return
        c = n.cond
        if (isinstance(c, X.Compare) and c.op in ("<", "<=") and c.lhs == X.Var(n.iterator)
                and n.iterator not in X.free_vars(c.rhs) and n.step > 0):
            end = self.expr(c.rhs, env, False) + (" + 1" if c.op == "<=" else "")
            self.lines.append(pad + f"for {it} in range({init}, {end}, {n.step}):")
            self.nodes(n.body, depth + 1)
            return
        self.lines.append(pad + f"{it} = {init}")
        self.lines.append(pad + f"while {self.expr(c, env, False)}:")
        self.nodes(n.body, depth + 1)
        self.lines.append(pad + f"    {it} += {n.step}")


def python_source(program: L.LoopProgram) -> str:
    """The Python text run_loop_program executes (for debugging)."""
    scop = program.scop
    em = _Emitter(scop)
    em.lines.append("def _kernel(_arrays, _values):")
    for a in scop.arrays:
        em.lines.append(f"    a_{a.name} = _arrays[{a.name!r}]")
    names = list(scop.params) + [a.name for a in scop.scalar_arguments]
    for p in names:
        em.lines.append(f"    p_{p} = _values[{p!r}]")
    for s in scop.statements:
        em.statement(s)
    em.nodes(program.body, 1)
    return "\n".join(em.lines) + "\n"


def compile_program(program: L.LoopProgram) -> Callable[[dict[str, np.ndarray], dict[str, Any]], None]:
    src = python_source(program)
    namespace: dict[str, Any] = dict(HELPERS)
    code = compile(src, f"<polyopt loop program {program.scop.name}>", "exec")
    exec(code, namespace)  # noqa: S102 - runs the source generated above
    return namespace["_kernel"]  # type: ignore[no-any-return]


def run_loop_program(program: L.LoopProgram, arrays: dict[str, np.ndarray],
                     scalars: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Execute a loop program on numpy arrays (updated in place; returned for convenience).

    Size parameters come from the program (build_loop_ast(..., param_values)) or from `scalars`;
    scalar arguments from `scalars`; local (non-argument) arrays are allocated here."""
    scop = program.scop
    values: dict[str, Any] = dict(program.params)
    for k, v in (scalars or {}).items():
        values[k] = v
    for a in scop.scalar_arguments:
        if a.name not in values:
            raise PolyoptError(f"no value for scalar argument '{a.name}'")
        values[a.name] = NUMPY_TYPES[a.dtype](values[a.name])
    missing = [p for p in scop.params if p not in values]
    if missing:
        raise PolyoptError(f"no value for size parameter(s) {', '.join(missing)}")
    env = dict(arrays)
    for a in scop.local_arrays:
        env.setdefault(a.name, np.zeros(array_shape(scop, a.name, values), dtype=NUMPY_TYPES[a.dtype]))
    for a in scop.array_arguments:
        if a.name not in env:
            raise PolyoptError(f"no value for array argument '{a.name}'")
    with np.errstate(all="ignore"):
        compile_program(program)(env, values)
    return arrays


# --- inputs ----------------------------------------------------------------------------------------------
def array_shape(scop: Scop, name: str, params: Mapping[str, int]) -> tuple[int, ...]:
    """The declared shape (parameters substituted), or the bounding box of the accesses."""
    arr = scop.array(name)
    out = []
    for k, extent in enumerate(arr.shape):
        if extent is not None:
            out.append(int(eval(_int_text(extent), {}, dict(params))))
        else:
            out.append(_access_extent(scop, name, k, params))
    return tuple(max(v, 0) for v in out)


def _int_text(e: X.Expr) -> str:
    return X.to_c(e).replace("/", "//")


def _access_extent(scop: Scop, name: str, k: int, params: Mapping[str, int]) -> int:
    acc = scop.reads.union(scop.writes).intersect_domain(scop.domain)
    ctx = scop.parameter_point(params)
    hi = -1
    for m in _maps(acc.intersect_params(ctx)):
        if m.get_tuple_name(isl.dim_type.out) == name:
            v = m.range().dim_max_val(k) if hasattr(m.range(), "dim_max_val") else None
            if v is not None and v.is_int():
                hi = max(hi, int(v.to_python()))
    return hi + 1


def _maps(u: isl.UnionMap) -> list[isl.Map]:
    out: list[isl.Map] = []
    u.foreach_map(out.append)
    return out


def input_arrays(scop: Scop) -> set[str]:
    """Arrays some statement reads before any statement writes them (upward-exposed reads)."""
    info = isl.UnionAccessInfo.from_sink(scop.reads).set_must_source(scop.writes)
    flow = info.set_schedule_map(scop.schedule_map).compute_flow()
    exposed = flow.get_may_no_source()
    return {m.get_tuple_name(isl.dim_type.out) for m in _maps(exposed) if not m.is_empty()}


def make_inputs(scop: Scop, params: Mapping[str, int], seed: int = 0) -> tuple[dict[str, np.ndarray],
                                                                              dict[str, Any]]:
    """Fresh random arrays and scalars for a SCoP: arrays that are read before being written get
    random values; write-only arrays are poisoned (NaN for floats, a sentinel for integers)."""
    rng = np.random.default_rng(seed)
    inputs = input_arrays(scop)
    arrays: dict[str, np.ndarray] = {}
    for a in scop.array_arguments:
        shape = array_shape(scop, a.name, params)
        dt = NUMPY_TYPES[a.dtype]
        if a.name in inputs:
            data = rng.random(shape) + 0.5 if a.dtype.is_float else rng.integers(0, 10, shape)
        else:
            data = np.full(shape, np.nan) if a.dtype.is_float else np.full(shape, -123456)
        arrays[a.name] = np.asarray(data, dtype=dt)
    scalars: dict[str, Any] = {a.name: (float(rng.random() + 0.5) if a.dtype.is_float else int(rng.integers(1, 5)))
                               for a in scop.scalar_arguments}
    return arrays, scalars


def poison_outputs(scop: Scop, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Copies of the arrays with every write-only float array set to NaN (integer ones to a sentinel)."""
    inputs = input_arrays(scop)
    out: dict[str, np.ndarray] = {}
    for name, a in arrays.items():
        a = np.array(a, copy=True)
        if name not in inputs and any(name == x.name for x in scop.array_arguments):
            a[...] = np.nan if a.dtype.kind == "f" else -123456
        out[name] = a
    return out


def run_schedule(scop: Scop, schedule: isl.Schedule, params: Mapping[str, int],
                 arrays: Mapping[str, np.ndarray], scalars: Mapping[str, Any] | None = None) \
        -> dict[str, np.ndarray]:
    """Generate the loop AST of a schedule tree for fixed sizes and run it on copies of the arrays."""
    program = L.build_loop_ast(scop, schedule, dict(params))
    work = {k: np.array(v, copy=True) for k, v in arrays.items()}
    return run_loop_program(program, work, scalars)
