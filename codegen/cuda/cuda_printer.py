"""CUDA C source from the mapped-kernel IR.

Why CUDA C and not llvmlite's NVPTX target: CUDA C is readable (it is what a user debugs and what the
search's logs show), nvcc and NVRTC compile it with the real CUDA optimizer (unrolling, register
allocation of the register tiles, vectorized shared/global accesses), and `__syncthreads`, `__shared__`,
`__launch_bounds__` and `__ldg` are one word each. Both routes were checked on the H200 (stack-notes §7);
the NVPTX route would need its own address-space, intrinsics and metadata handling for the same result.

The source includes nothing: nvcc implicitly provides the CUDA runtime headers (math functions,
threadIdx, float4), so `nvcc -ptx -arch=sm_90` works without any include path. Array arguments are flat
`__restrict__` pointers (read-only ones `const`, so loads can use the non-coherent cache); multi-
dimensional accesses are linearized with the declared shapes (row-major, like numpy C order).
"""

from __future__ import annotations

from dataclasses import dataclass

from polyopt import expr as X
from polyopt.expr import DType
from polyopt.model import expr_dtype

from .kernel_ir import TID, Buffer, GpuProgram, KBarrier, KCopy, Kernel, KFor, KIf, KStmt
from .promote import stored_index

CTYPE = {DType.FLOAT32: "float", DType.FLOAT64: "double", DType.INT32: "int", DType.INT64: "long long",
         DType.BOOL: "unsigned char"}
_MATH = {"sqrt", "exp", "log", "pow", "fabs", "sin", "cos", "tan", "tanh", "floor", "ceil", "exp2",
         "log2", "log10", "atan", "atan2", "fmin", "fmax"}

PRELUDE = """\
/* helpers (isl semantics: floord rounds down, pmod is non-negative) */
static __device__ __forceinline__ int polyopt_floord(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static __device__ __forceinline__ long long polyopt_floord(long long a, long long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static __device__ __forceinline__ int polyopt_pmod(int a, int b) { int r = a % b; return r < 0 ? r + b : r; }
static __device__ __forceinline__ long long polyopt_pmod(long long a, long long b) { long long r = a % b; return r < 0 ? r + b : r; }
static __device__ __forceinline__ int polyopt_min(int a, int b) { return a < b ? a : b; }
static __device__ __forceinline__ int polyopt_max(int a, int b) { return a > b ? a : b; }
static __device__ __forceinline__ long long polyopt_min(long long a, long long b) { return a < b ? a : b; }
static __device__ __forceinline__ long long polyopt_max(long long a, long long b) { return a > b ? a : b; }
/* Python's min/max on floats: b replaces a only if strictly smaller/larger (not fmin/fmax, which drop NaN) */
static __device__ __forceinline__ float polyopt_min(float a, float b) { return b < a ? b : a; }
static __device__ __forceinline__ float polyopt_max(float a, float b) { return b > a ? b : a; }
static __device__ __forceinline__ double polyopt_min(double a, double b) { return b < a ? b : a; }
static __device__ __forceinline__ double polyopt_max(double a, double b) { return b > a ? b : a; }
/* numpy's maximum/minimum: a NaN on either side propagates */
static __device__ __forceinline__ float polyopt_maximum(float a, float b) { return (a > b || a != a) ? a : b; }
static __device__ __forceinline__ float polyopt_minimum(float a, float b) { return (a < b || a != a) ? a : b; }
static __device__ __forceinline__ double polyopt_maximum(double a, double b) { return (a > b || a != a) ? a : b; }
static __device__ __forceinline__ double polyopt_minimum(double a, double b) { return (a < b || a != a) ? a : b; }
"""


@dataclass(frozen=True)
class KernelArg:
    """One kernel parameter, in launch order."""

    name: str
    kind: str            # array | scalar | param | host
    ctype: str
    dtype: DType


def kernel_signature(prog: GpuProgram, k: Kernel) -> tuple[KernelArg, ...]:
    scop = prog.scop
    idx = "int" if prog.index_type == "int" else "long long"
    out = [KernelArg(a, "array", CTYPE[scop.array(a).dtype], scop.array(a).dtype) for a in k.arrays]
    out += [KernelArg(s.name, "scalar", CTYPE[s.dtype], s.dtype) for s in scop.scalar_arguments
            if s.name in k.scalars]
    needed = set(k.params)
    if not prog.params:
        for a in k.arrays:
            for s in scop.array(a).shape:
                if s is not None:
                    needed |= X.free_vars(s)
    out += [KernelArg(p, "param", idx, DType.INT64) for p in scop.params if p in needed]
    out += [KernelArg(v, "host", idx, DType.INT64) for v in k.host_vars]
    return tuple(out)


class CudaPrinter:
    def __init__(self, prog: GpuProgram, k: Kernel) -> None:
        self.prog = prog
        self.k = k
        self.scop = prog.scop
        self.T = "int" if prog.index_type == "int" else "long long"
        self.buffers = {b.name: b for b in k.buffers}
        self.lines: list[str] = []

    # -- expressions
    def dtype(self, e: X.Expr) -> DType:
        if isinstance(e, X.Access) and e.array in self.buffers:
            return self.buffers[e.array].dtype
        if any(isinstance(x, X.Access) and x.array in self.buffers for x in X.walk(e)):
            sub = X.transform(e, lambda x: X.Access(self.buffers[x.array].array, x.indices)
                              if isinstance(x, X.Access) and x.array in self.buffers else None)
            return expr_dtype(self.scop, sub)
        try:
            return expr_dtype(self.scop, e)
        except KeyError:
            return DType.INT64

    def const(self, e: X.Const) -> str:
        if e.dtype.is_float:
            v = float(e.value)
            f32 = e.dtype == DType.FLOAT32
            if v != v:
                return "__int_as_float(0x7fffffff)" if f32 else "__longlong_as_double(0x7ff8000000000000LL)"
            if v in (float("inf"), float("-inf")):
                sign = "-" if v < 0 else ""
                return (f"({sign}__int_as_float(0x7f800000))" if f32
                        else f"({sign}__longlong_as_double(0x7ff0000000000000LL))")
            text = repr(v)
            if "e" not in text and "." not in text:
                text += ".0"
            return f"{text}f" if f32 else text
        v = int(e.value)
        return f"{v}LL" if abs(v) >= 2 ** 31 else str(v)

    def index(self, a: X.Access) -> str:
        if a.array in self.buffers:
            return a.array + "".join(f"[{self.expr(i)}]" for i in a.indices)
        arr = self.scop.array(a.array)
        if not a.indices:
            return f"{a.array}[0]"
        lin = self.expr(a.indices[0])
        for i, s in zip(a.indices[1:], arr.shape[1:]):
            lin = f"({lin}) * ({self.expr(s)}) + {self.expr(i)}"
        return f"{a.array}[{lin}]"

    def expr(self, e: X.Expr) -> str:
        if isinstance(e, X.Const):
            return self.const(e)
        if isinstance(e, X.Var):
            if e.name in TID.values():
                d = [k for k, v in TID.items() if v == e.name][0]
                return f"(({self.T})threadIdx.{d})"
            if e.name in self.prog.params:
                return str(self.prog.params[e.name])
            return e.name
        if isinstance(e, X.Access):
            return self.index(e)
        if isinstance(e, X.Unary):
            return f"(-{self.expr(e.operand)})" if e.op == "neg" else f"(!{self.expr(e.operand)})"
        if isinstance(e, X.Cast):
            return f"(({CTYPE[e.dtype]})({self.expr(e.operand)}))"
        if isinstance(e, X.Select):
            return f"({self.expr(e.cond)} ? {self.expr(e.if_true)} : {self.expr(e.if_false)})"
        if isinstance(e, X.Compare):
            return f"({self.expr(e.lhs)} {e.op} {self.expr(e.rhs)})"
        if isinstance(e, X.Logical):
            return f"({self.expr(e.lhs)} {'&&' if e.op == 'and' else '||'} {self.expr(e.rhs)})"
        if isinstance(e, X.Call):
            return self.call(e)
        assert isinstance(e, X.Binary), e
        t = self.dtype(e)
        a, b = self.expr(e.lhs), self.expr(e.rhs)
        if e.op in ("+", "-", "*", "/"):
            return f"({a} {e.op} {b})"
        if t.is_float:
            f = "f" if t == DType.FLOAT32 else ""
            if e.op in ("min", "max"):
                return f"polyopt_{e.op}(({CTYPE[t]})({a}), ({CTYPE[t]})({b}))"
            if e.op == "floordiv":
                return f"floor{f}({a} / {b})"
            if e.op == "%":
                return f"fmod{f}({a}, {b})"
            return f"({a} - {b} * floor{f}({a} / {b}))"       # Python's mod on floats
        it = self.T if t == DType.INT64 else CTYPE[t]
        if e.op == "%":
            return f"({a} % {b})"
        name = {"floordiv": "polyopt_floord", "mod": "polyopt_pmod", "min": "polyopt_min",
                "max": "polyopt_max"}[e.op]
        if it not in ("int", "long long"):
            it = "long long"
        return f"{name}(({it})({a}), ({it})({b}))"

    def call(self, e: X.Call) -> str:
        args = ", ".join(self.expr(a) for a in e.args)
        t = self.dtype(e)
        if e.func == "abs":
            if t.is_float:
                return f"fabs{'f' if t == DType.FLOAT32 else ''}({args})"
            return f"llabs({args})" if t == DType.INT64 else f"abs({args})"
        if e.func in X.NUMPY_FUNCTIONS:
            return f"polyopt_{e.func}(({CTYPE[t]})({self.expr(e.args[0])}), ({CTYPE[t]})({self.expr(e.args[1])}))"
        if e.func in _MATH:
            if t == DType.FLOAT32:
                return f"{e.func}f({args})"
            return f"{e.func}({args})"
        return f"{e.func}({args})"

    # -- statements
    def emit(self, nodes, ind: str) -> None:
        for n in nodes:
            if isinstance(n, KFor):
                self.loop(n, ind)
            elif isinstance(n, KIf):
                self.lines.append(f"{ind}if {self.paren(n.cond)} {{")
                self.emit(n.then, ind + "  ")
                if n.orelse:
                    self.lines.append(f"{ind}}} else {{")
                    self.emit(n.orelse, ind + "  ")
                self.lines.append(f"{ind}}}")
            elif isinstance(n, KBarrier):
                self.lines.append(f"{ind}__syncthreads();")
            elif isinstance(n, KStmt):
                stmt = f"{self.index(n.target)} = {self.expr(n.value)};  /* {n.name} */"
                if n.thread_guard:
                    cond = " && ".join(f"threadIdx.{d} == 0" for d in n.thread_guard)
                    stmt = f"if ({cond}) {stmt}"
                self.lines.append(ind + stmt)
            elif isinstance(n, KCopy):
                self.copy(n, ind)

    def paren(self, e: X.Expr) -> str:
        s = self.expr(e)
        return s if s.startswith("(") and s.endswith(")") and _balanced(s[1:-1]) else f"({s})"

    def loop(self, n: KFor, ind: str) -> None:
        T, v = self.T, n.var
        if n.kind == "block":
            self.lines.append(f"{ind}{{ const {T} {v} = {self.expr(n.lo)} + ({T})blockIdx.{n.dim} * {n.step};"
                              f"  /* block loop */")
            self.lines.append(f"{ind}if ({v} >= {self.expr(n.init)} && {self.expr(n.cond)}) {{")
            self.emit(n.body, ind + "  ")
            self.lines.append(f"{ind}}} }}")
            return
        if n.kind == "thread":
            nt = self.k.block["xyz".index(n.dim)]
            start = f"{self.expr(n.init)} + ({T})threadIdx.{n.dim} * {n.step}"
            if n.trip is not None and n.trip <= nt:
                self.lines.append(f"{ind}{{ const {T} {v} = {start};  /* thread loop */")
                self.lines.append(f"{ind}if {self.paren(n.cond)} {{")
                self.emit(n.body, ind + "  ")
                self.lines.append(f"{ind}}} }}")
            else:
                self.lines.append(f"{ind}for ({T} {v} = {start}; {self.expr(n.cond)}; {v} += {nt * n.step}) {{")
                self.emit(n.body, ind + "  ")
                self.lines.append(f"{ind}}}")
            return
        if n.unroll and n.trip is not None and n.trip <= max(n.unroll, 1) * 8:
            const_bounds = isinstance(n.init, X.Const) and _const_bound(n.cond, v)
            self.lines.append(f"{ind}#pragma unroll")
            if const_bounds:
                self.lines.append(f"{ind}for ({T} {v} = {self.expr(n.init)}; {self.expr(n.cond)}; {v} += {n.step}) {{")
                self.emit(n.body, ind + "  ")
                self.lines.append(f"{ind}}}")
            else:
                u = f"_u_{v}"
                self.lines.append(f"{ind}for (int {u} = 0; {u} < {n.trip}; {u}++) {{")
                self.lines.append(f"{ind}  const {T} {v} = {self.expr(n.init)} + {u} * {n.step};")
                self.lines.append(f"{ind}  if {self.paren(n.cond)} {{")
                self.emit(n.body, ind + "    ")
                self.lines.append(f"{ind}  }}")
                self.lines.append(f"{ind}}}")
            return
        if n.unroll:
            self.lines.append(f"{ind}#pragma unroll {n.unroll}")
        self.lines.append(f"{ind}for ({T} {v} = {self.expr(n.init)}; {self.expr(n.cond)}; {v} += {n.step}) {{")
        self.emit(n.body, ind + "  ")
        self.lines.append(f"{ind}}}")

    def glob(self, b: Buffer, names: list[str]) -> str:
        return self.index(X.Access(b.array, tuple(X.Var(n) for n in names)))

    def copy(self, c: KCopy, ind: str) -> None:
        b = self.buffers[c.buffer]
        if b.space == "shared":
            self.copy_shared(b, ind)
            return
        T, rank = self.T, len(b.shape)
        i2 = ind
        self.lines.append(f"{ind}{{  /* {'load' if c.direction == 'in' else 'store'} {b.name} */")
        for d in range(rank):
            self.lines.append(f"{i2}#pragma unroll")
            self.lines.append(f"{i2}for (int _i{d} = 0; _i{d} < {b.shape[d]}; _i{d}++) {{")
            i2 += "  "
        for d in range(rank):
            self.lines.append(f"{i2}const {T} _e{d} = {self.expr(b.offset[d])} + {b.stride[d]} * _i{d};")
        reg = b.name + "".join(f"[_i{d}]" for d in range(rank))
        g = self.glob(b, [f"_e{d}" for d in range(rank)])
        if b.accumulate:      # split reduction: partial sums start at zero, meet in global memory
            assign = f"{reg} = 0;" if c.direction == "in" else f"atomicAdd(&{g}, {reg});"
        else:
            assign = f"{reg} = {g};" if c.direction == "in" else f"{g} = {reg};"
        guard = self.expr(b.guard) if b.guard is not None else "1"
        self.lines.append(f"{i2}if ({guard}) {assign}")
        for _d in range(rank):
            i2 = i2[:-2]
            self.lines.append(f"{i2}}}")
        self.lines.append(f"{ind}}}")

    def copy_shared(self, b: Buffer, ind: str) -> None:
        T, rank, nt = self.T, len(b.shape), self.k.threads
        shape = self.scop.array(b.array).shape
        vec = b.vector
        n = b.size // vec
        lin = f"(int)(threadIdx.x + {self.k.block[0]} * (threadIdx.y + {self.k.block[1]} * threadIdx.z))"
        self.lines.append(f"{ind}{{  /* copy {b.array} -> {b.name} */")
        i2 = ind + "  "
        if n % nt == 0:
            self.lines.append(f"{i2}#pragma unroll")
            self.lines.append(f"{i2}for (int _r = 0; _r < {n // nt}; _r++) {{")
            self.lines.append(f"{i2}  const int _e = {lin} + _r * {nt};")
        else:
            self.lines.append(f"{i2}for (int _e = {lin}; _e < {n}; _e += {nt}) {{")
        i3 = i2 + "  "
        rem = "_e"
        last = b.shape[-1] // vec
        for d in reversed(range(rank)):
            ext = last if d == rank - 1 else b.shape[d]
            scale = f" * {vec}" if d == rank - 1 and vec > 1 else ""
            self.lines.append(f"{i3}const int _i{d} = ({rem} % {ext}){scale};")
            rem = f"({rem} / {ext})"
        conds = []
        for d in range(rank):
            self.lines.append(f"{i3}const {T} _g{d} = {self.expr(b.offset[d])} + _i{d};")
            hi = f"_g{d} + {vec - 1}" if d == rank - 1 and vec > 1 else f"_g{d}"
            conds.append(f"_g{d} >= 0 && {hi} < {self.expr(shape[d])}")
        sh = self.stored(b, "")
        g = self.glob(b, [f"_g{d}" for d in range(rank)])
        if vec > 1:
            self.lines.append(f"{i3}if ({' && '.join(conds)}) {{")
            load = f"__ldg(reinterpret_cast<const float4*>(&{g}))"
            if b.perm or b.swizzle:      # transposed / swizzled layout: one 128-bit load, 4 scalar stores
                self.lines.append(f"{i3}  const float4 _val = {load};")
                self.lines.append(f"{i3}  #pragma unroll")
                self.lines.append(f"{i3}  for (int _v = 0; _v < {vec}; _v++) {self.stored(b, '_v')} = (&_val.x)[_v];")
            else:
                self.lines.append(f"{i3}  *reinterpret_cast<float4*>(&{sh}) = {load};")
            self.lines.append(f"{i3}}} else {{")
            self.lines.append(f"{i3}  #pragma unroll")
            self.lines.append(f"{i3}  for (int _v = 0; _v < {vec}; _v++) {{")
            conds1 = [c.replace(f" + {vec - 1} <", " + _v <") for c in conds]
            g1 = self.glob(b, [f"_g{d}" for d in range(rank - 1)] + [f"_g{rank - 1} + _v"])
            sh1 = self.stored(b, "_v")
            self.lines.append(f"{i3}    if ({' && '.join(conds1)}) {sh1} = {g1};")
            self.lines.append(f"{i3}  }}")
            self.lines.append(f"{i3}}}")
        else:
            self.lines.append(f"{i3}if ({' && '.join(conds)}) {sh} = {g};")
        self.lines.append(f"{i2}}}")
        self.lines.append(f"{ind}}}")

    def stored(self, b: Buffer, plus: str) -> str:
        """The shared element of logical index (_i0, ..., _i{n-1} + plus) in b's stored layout."""
        rank = len(b.shape)
        logical: list[X.Expr] = [X.Var(f"_i{d}") for d in range(rank)]
        if plus:
            logical[-1] = X.Binary("+", logical[-1], X.Var(plus))
        return b.name + "".join(f"[{self.expr(i)}]" for i in stored_index(b, logical))

    def kernel_source(self) -> str:
        k = self.k
        sig = kernel_signature(self.prog, k)
        params = []
        for a in sig:
            if a.kind == "array":
                const = "" if a.name in k.written else "const "
                params.append(f"{const}{a.ctype}* __restrict__ {a.name}")
            else:
                params.append(f"const {a.ctype} {a.name}")
        head = (f'extern "C" __global__ void __launch_bounds__({k.threads}) {k.name}'
                f"({', '.join(params)})")
        self.lines = [f"/* {k.name}: grid over {self.grid_text()}, block {k.block[0]}x{k.block[1]}x"
                      f"{k.block[2]}{' (single thread: no parallel loop)' if k.single_thread else ''} */",
                      head, "{"]
        for b in k.buffers:
            dims = "".join(f"[{s}]" for s in b.stored_shape)
            if b.space == "shared":
                self.lines.append(f"  __shared__ __align__(16) {CTYPE[b.dtype]} {b.name}{dims};")
            else:
                self.lines.append(f"  {CTYPE[b.dtype]} {b.name}{dims};")
        self.emit(k.body, "  ")
        self.lines.append("}")
        return "\n".join(self.lines)

    def grid_text(self) -> str:
        return " x ".join(X.to_c(ext) for _lo, ext in self.k.grid)


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def _const_bound(cond: X.Expr, v: str) -> bool:
    return (isinstance(cond, X.Compare) and cond.op in ("<", "<=") and cond.lhs == X.Var(v)
            and isinstance(cond.rhs, X.Const))


def print_program(prog: GpuProgram) -> str:
    """The whole CUDA translation unit (every kernel of the program)."""
    parts = [f"/* generated by polyopt: {prog.scop.name} */", PRELUDE]
    for k in prog.kernels:
        parts.append(CudaPrinter(prog, k).kernel_source())
    return "\n\n".join(parts) + "\n"
