"""CPU emulation of mapped GPU kernels, in Python/numpy (the reference is polyopt.interpret.run_loop_program).

The emulator runs the same mapped-kernel IR (kernel_ir.GpuProgram) that the CUDA printer prints: host
loops in Python, then for every launch and every block, one Python generator per thread; a barrier is a
`yield`, so all threads of a block run phase by phase (everything between two __syncthreads), and a
thread that skips a barrier that others reach is reported as a divergent barrier. With race checking on,
every global and shared element access is logged per (block, thread, phase): an element written by one
thread and touched by another thread of the same block in the same phase, or by another block of the same
launch, is a race and raises CodegenError. This is how CI checks mappings without a GPU. Sizes must be
tiny (MINI): every statement instance runs as interpreted Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from polyopt import expr as X
from polyopt.errors import CodegenError
from polyopt.expr import DType
from polyopt.model import Scop, expr_dtype
from polyopt.pyexpr import HELPERS, NUMPY_TYPES, PyExprPrinter, c_div, c_rem

from .kernel_ir import TID, GpuProgram, HostFor, HostIf, KBarrier, KCopy, Kernel, KFor, KIf, KStmt, Launch
from .promote import stored_index

_NP = NUMPY_TYPES


def eval_int(e: X.Expr, env: Mapping[str, int]) -> int:
    """Integer value of an index expression (isl semantics: '/' exact or truncating, 'floordiv')."""
    if isinstance(e, X.Const):
        return int(e.value)
    if isinstance(e, X.Var):
        return int(env[e.name])
    if isinstance(e, X.Unary):
        v = eval_int(e.operand, env)
        return -v if e.op == "neg" else int(not v)
    if isinstance(e, X.Cast):
        return eval_int(e.operand, env)
    if isinstance(e, X.Binary):
        a, b = eval_int(e.lhs, env), eval_int(e.rhs, env)
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: c_div(a, b),
                "floordiv": lambda: a // b, "%": lambda: c_rem(a, b), "mod": lambda: a % b,
                "min": lambda: min(a, b), "max": lambda: max(a, b)}[e.op]()
    if isinstance(e, X.Compare):
        a, b = eval_int(e.lhs, env), eval_int(e.rhs, env)
        return int({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[e.op])
    if isinstance(e, X.Logical):
        a = eval_int(e.lhs, env)
        if e.op == "and":
            return int(bool(a) and bool(eval_int(e.rhs, env)))
        return int(bool(a) or bool(eval_int(e.rhs, env)))
    if isinstance(e, X.Select):
        return eval_int(e.if_true, env) if eval_int(e.cond, env) else eval_int(e.if_false, env)
    raise CodegenError(f"cannot evaluate {X.to_c(e)} on the host")


class _PyPrinter(PyExprPrinter):
    """Python source for statement bodies and index expressions."""

    def __init__(self, scop: Scop, buffers: Mapping[str, Any] | None = None, log_races: bool = False) -> None:
        self.scop = scop
        self.buffers = dict(buffers or {})
        self.consts: dict[str, Any] = {}
        self.log_races = log_races

    def const(self, value: Any) -> str:
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def dtype(self, e: X.Expr) -> DType:
        if isinstance(e, X.Var) and e.name in TID.values():
            return DType.INT64
        try:    # promoted buffers are not the scop's arrays: without their types, `x / (sqrt(n) * s_sh[j])`
            return expr_dtype(self.scop, e, self._array_dtype)   # was typed INT64, a truncating division
        except KeyError:
            return DType.INT64

    def _array_dtype(self, name: str) -> DType:
        return self.buffers[name].dtype if name in self.buffers else self.scop.array(name).dtype

    def index(self, a: X.Access) -> str:
        if not a.indices:
            return "()"
        return "(" + ", ".join(f"int({self.expr(i)})" for i in a.indices) + ",)"

    def access(self, e: X.Access) -> str:
        return f"{e.array}[{self.index(e)}]"

    def is_float(self, e: X.Binary) -> bool:
        return self.dtype(e).is_float

    def float_const(self, e: X.Const) -> str:
        return self.const(_NP[e.dtype](e.value))

    def int_cast(self, dtype: DType, text: str) -> str:
        return f"int({text})"             # Python ints: index arithmetic never wraps

    def assign(self, target: X.Access, value: X.Expr, ind: str, who: str = "") -> list[str]:
        lines = []
        if self.log_races:
            for a in X.accesses(value):
                if a.array not in self.buffers or self.buffers[a.array].space == "shared":
                    lines.append(f"{ind}_log({a.array!r}, {self.index(a)}, False{who})")
            if target.array not in self.buffers or self.buffers[target.array].space == "shared":
                lines.append(f"{ind}_log({target.array!r}, {self.index(target)}, True{who})")
        lines.append(f"{ind}{target.array}[{self.index(target)}] = {self.expr(value)}")
        return lines


_HELPERS = {**HELPERS, "np": np}


def _compile(src: str, env: dict[str, Any], name: str) -> Callable:
    glb = dict(_HELPERS)
    glb.update(env)
    try:
        code = compile(src, f"<polyopt-emulate {name}>", "exec")
    except SyntaxError as e:  # pragma: no cover - a printer bug
        raise CodegenError(f"emulator source does not compile: {e}\n{src}") from e
    exec(code, glb)  # noqa: S102 - runs the source generated above
    return glb[name]


def _typed_scalars(scop: Scop, scalars: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for a in scop.scalar_arguments:
        if a.name in scalars:
            v = scalars[a.name]
            out[a.name] = _NP[a.dtype](v) if a.dtype in _NP else v
    return out


# ------------------------------------------------------------------------------------------ emulation

@dataclass
class _Emitter:
    k: Kernel
    pp: _PyPrinter
    lines: list

    def emit(self, nodes, ind: str) -> None:
        for n in nodes:
            if isinstance(n, KFor):
                self.loop(n, ind)
            elif isinstance(n, KIf):
                self.lines.append(f"{ind}if {self.pp.expr(n.cond)}:")
                self.emit(n.then, ind + "    ")
                self.lines.append(f"{ind}    pass")
                if n.orelse:
                    self.lines.append(f"{ind}else:")
                    self.emit(n.orelse, ind + "    ")
                    self.lines.append(f"{ind}    pass")
            elif isinstance(n, KBarrier):
                self.lines.append(f"{ind}_phase[0] += 1")
                self.lines.append(f"{ind}yield")
            elif isinstance(n, KStmt):
                i2 = ind
                if n.thread_guard:
                    cond = " and ".join(f"{TID[d]} == 0" for d in n.thread_guard)
                    self.lines.append(f"{ind}if {cond}:")
                    i2 = ind + "    "
                self.lines.extend(self.pp.assign(n.target, n.value, i2, ", _phase[0]"))
            elif isinstance(n, KCopy):
                self.copy(n, ind)

    def loop(self, n: KFor, ind: str) -> None:
        e, v = self.pp.expr, n.var
        if n.kind == "block":
            self.lines.append(f"{ind}{v} = {e(n.lo)} + _b{n.dim} * {n.step}")
            self.lines.append(f"{ind}if {v} >= {e(n.init)} and {e(n.cond)}:")
            self.emit(n.body, ind + "    ")
            self.lines.append(f"{ind}    pass")
            return
        if n.kind == "thread":
            nt = self.k.block["xyz".index(n.dim)]
            self.lines.append(f"{ind}{v} = {e(n.init)} + {TID[n.dim]} * {n.step}")
            self.lines.append(f"{ind}while {e(n.cond)}:")
            self.emit(n.body, ind + "    ")
            self.lines.append(f"{ind}    {v} += {nt * n.step}")
            return
        self.lines.append(f"{ind}{v} = {e(n.init)}")
        self.lines.append(f"{ind}while {e(n.cond)}:")
        self.emit(n.body, ind + "    ")
        self.lines.append(f"{ind}    {v} += {n.step}")

    def copy(self, c: KCopy, ind: str) -> None:
        b = self.k.buffer(c.buffer)
        e = self.pp.expr
        rank = len(b.shape)
        shape = self.pp.scop.array(b.array).shape
        idx = ", ".join(f"_i{d}" for d in range(rank))
        glob = ", ".join(f"_g{d}" for d in range(rank))
        if b.space == "shared":
            nthreads = self.k.threads
            lin = f"({TID['x']} + {self.k.block[0]} * ({TID['y']} + {self.k.block[1]} * {TID['z']}))"
            self.lines.append(f"{ind}for _e in range({lin}, {b.size}, {nthreads}):")
            i2 = ind + "    "
            rem = "_e"
            for d in reversed(range(rank)):
                self.lines.append(f"{i2}_i{d} = {rem} % {b.shape[d]}")
                rem = f"({rem} // {b.shape[d]})"
            bounds = []
            for d in range(rank):
                self.lines.append(f"{i2}_g{d} = {e(b.offset[d])} + _i{d}")
                bounds.append(f"0 <= _g{d} < {e(shape[d])}")
            self.lines.append(f"{i2}if {' and '.join(bounds)}:")
            self.lines.append(f"{i2}    _log({b.array!r}, ({glob},), False, _phase[0])")
            sidx = ", ".join(e(x) for x in stored_index(b, [X.Var(f"_i{d}") for d in range(rank)]))
            self.lines.append(f"{i2}    _log({b.name!r}, ({sidx},), True, _phase[0])")
            self.lines.append(f"{i2}    {b.name}[{sidx},] = {b.array}[{glob},]")
            return
        i2 = ind
        for d in range(rank):
            self.lines.append(f"{i2}for _i{d} in range({b.shape[d]}):")
            i2 += "    "
        for d in range(rank):
            self.lines.append(f"{i2}_g{d} = _e{d} = {e(b.offset[d])} + {b.stride[d]} * _i{d}")
        self.lines.append(f"{i2}if {e(b.guard) if b.guard is not None else 'True'}:")
        if b.accumulate and c.direction == "in":
            self.lines.append(f"{i2}    {b.name}[{idx},] = 0")
        elif b.accumulate:         # atomicAdd: never races with other atomic updates
            self.lines.append(f"{i2}    _log({b.array!r}, ({glob},), 'atomic', _phase[0])")
            self.lines.append(f"{i2}    {b.array}[{glob},] += {b.name}[{idx},]")
        elif c.direction == "in":
            self.lines.append(f"{i2}    _log({b.array!r}, ({glob},), False, _phase[0])")
            self.lines.append(f"{i2}    {b.name}[{idx},] = {b.array}[{glob},]")
        else:
            self.lines.append(f"{i2}    _log({b.array!r}, ({glob},), True, _phase[0])")
            self.lines.append(f"{i2}    {b.array}[{glob},] = {b.name}[{idx},]")


def _kernel_fn(prog: GpuProgram, k: Kernel, check_races: bool) -> Callable:
    bufs = {b.name: b for b in k.buffers}
    pp = _PyPrinter(prog.scop, bufs, log_races=True)
    lines: list[str] = []
    for b in k.buffers:
        if b.space == "register":
            lines.append(f"    {b.name} = np.zeros({b.shape}, dtype=_dt_{b.name})")
            pp.consts[f"_dt_{b.name}"] = _NP[b.dtype]
    _Emitter(k, pp, lines).emit(k.body, "    ")
    shared = [b.name for b in k.buffers if b.space == "shared"]
    args = (["_bx", "_by", "_bz", TID["x"], TID["y"], TID["z"], "_phase", "_log"] + list(k.arrays)
            + shared + list(k.scalars) + list(prog.scop.params) + list(k.host_vars))
    src = f"def {k.name}({', '.join(args)}):\n" + "\n".join(lines) + "\n    if False:\n        yield\n"
    fn = _compile(src, pp.consts, k.name)
    fn.source = src  # type: ignore[attr-defined]
    return fn


class _RaceLog:
    def __init__(self, kernel: str, active: bool) -> None:
        self.kernel = kernel
        self.active = active
        self.seen: dict[tuple, list] = {}
        self.block = (0, 0, 0)
        self.thread = (0, 0, 0)
        self.shared: set[str] = set()

    def __call__(self, array: str, index: tuple, write: bool | str, phase: int) -> None:
        """Record an access (write: False, True or 'atomic'); raise on a race with an earlier one."""
        if not self.active:
            return
        key = (array, self.block, index) if array in self.shared else (array, index)
        who = (self.block, self.thread, phase, write)
        prev = self.seen.setdefault(key, [])
        for b, t, p, w in prev:
            if not (w or write) or (w == "atomic" and write == "atomic"):
                continue
            if b != self.block:
                raise CodegenError(f"race in {self.kernel}: {array}{list(index)} accessed by blocks {b} and "
                                   f"{self.block}, one of them writing")
            if t != self.thread and p == phase:
                raise CodegenError(f"race in {self.kernel}: {array}{list(index)} accessed by threads {t} and "
                                   f"{self.thread} of block {b} in the same barrier phase")
        if len(prev) < 8 and who not in prev:
            prev.append(who)


def emulate(prog: GpuProgram, arrays: Mapping[str, np.ndarray], scalars: Mapping[str, Any] | None = None,
            params: Mapping[str, int] | None = None, *, check_races: bool = True) -> None:
    """Run a GPU program on the CPU, in place on the numpy arrays (blocks and threads as loops)."""
    scop = prog.scop
    env_params = dict(prog.params)
    env_params.update(params or {})
    missing = [p for p in scop.params if p not in env_params]
    if missing:
        raise CodegenError(f"no value for size parameter(s) {', '.join(missing)}")
    vals: dict[str, Any] = {**arrays, **_typed_scalars(scop, scalars or {})}
    for a in scop.local_arrays:
        if a.name not in vals:
            shape = tuple(eval_int(s, env_params) for s in a.shape)
            vals[a.name] = np.zeros(shape, dtype=_NP[a.dtype])
    fns = [_kernel_fn(prog, k, check_races) for k in prog.kernels]

    def launch(idx: int, env: dict[str, int]) -> None:
        k = prog.kernels[idx]
        grid = [eval_int(ext, env) for _lo, ext in k.grid]
        race = _RaceLog(k.name, check_races)
        race.shared = {b.name for b in k.buffers if b.space == "shared"}
        for bz in range(max(grid[2], 0)):
            for by in range(max(grid[1], 0)):
                for bx in range(max(grid[0], 0)):
                    _run_block(prog, k, fns[idx], (bx, by, bz), vals, env, race)

    run_host(prog, env_params, launch)


def run_host(prog: GpuProgram, env: Mapping[str, int], launch: Callable[[int, dict[str, int]], None]) -> None:
    """Run the host side of a GPU program: its loops and conditions over the sizes in env, calling
    launch(kernel index, env of that launch) for every kernel launch, in order."""
    def walk(nodes: Sequence[Any], env: dict[str, int]) -> None:
        for n in nodes:
            if isinstance(n, Launch):
                launch(n.kernel, env)
            elif isinstance(n, HostIf):
                walk(n.then if eval_int(n.cond, env) else n.orelse, env)
            elif isinstance(n, HostFor):
                env = dict(env)
                env[n.var] = eval_int(n.init, env)
                while eval_int(n.cond, env):
                    walk(n.body, env)
                    env[n.var] += n.step
    walk(prog.host, dict(env))


def _run_block(prog: GpuProgram, k: Kernel, fn: Callable, b: tuple[int, int, int], vals: dict[str, Any],
               env: dict[str, int], race: _RaceLog) -> None:
    shared = [np.zeros(s.stored_shape, dtype=_NP[s.dtype]) for s in k.buffers if s.space == "shared"]
    rest = ([vals[a] for a in k.arrays] + shared + [vals[s] for s in k.scalars]
            + [env[p] for p in prog.scop.params] + [env[v] for v in k.host_vars])
    threads = []
    race.block = b
    for tz in range(k.block[2]):
        for ty in range(k.block[1]):
            for tx in range(k.block[0]):
                phase = [0]
                race.thread = (tx, ty, tz)
                threads.append(((tx, ty, tz), phase, fn(b[0], b[1], b[2], tx, ty, tz, phase, race, *rest)))
    live = list(threads)
    while live:
        done, waiting = [], []
        for t, phase, g in live:
            race.thread = t
            try:
                next(g)
                waiting.append((t, phase, g))
            except StopIteration:
                done.append(t)
        if done and waiting:
            raise CodegenError(f"divergent barrier in {k.name}: threads {done[:3]} finished while "
                               f"{[w[0] for w in waiting[:3]]} wait at a barrier (block {b})")
        live = waiting
