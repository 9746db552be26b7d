"""Features of a candidate's machine code: what LLVM actually made of the loop nest (x86-64 assembly).

The loop-nest features (features.py) predict what the compiler will do; these read it from the code:
whether the hot loops were vectorized and at which width, how many flops each load feeds (register
blocking, unroll-and-jam), register spills, gathers. They need a compile (~0.05-0.2 s a candidate), so the
tuner uses them to re-rank a shortlist, never inside the explorer's inner loop.

Loops are found without a CFG: a jump to a label placed before it is a back edge, and the innermost loops
are the back-edge ranges that hold no other back edge. The "main" loop is the innermost loop with the
most floating-point work per iteration (the vectorized body, not its remainder); totals cover every
innermost loop. Spills are stack-slot accesses (`N(%rsp)`, `N(%rbp)` with no index register).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

ASM_FEATURE_VERSION = 1

ASM_FEATURE_NAMES: tuple[str, ...] = (
    "main.log_insts",             # instructions in the main innermost loop
    "main.flops_per_inst",        # element flops (FMA = 2) per instruction
    "main.flops_per_memop",       # element flops per load or store
    "main.vector_width",          # elements per FP arithmetic instruction
    "main.fma_fraction",          # FMAs among FP arithmetic instructions
    "main.stack_per_inst",        # spills and reloads per instruction
    "main.gathers_per_inst",      # gathers and scatters per instruction
    "main.cycles_per_flop",       # throughput bound (issue, FP pipes, load/store ports) per element flop
    "main.share_of_flops",        # main loop's element flops / all innermost loops'
    "all.log_inner_loops",        # innermost loops in the function
    "all.packed_fraction",        # packed FP instructions among all FP arithmetic in innermost loops
    "all.log_stack_ops",          # stack-slot accesses inside loops
    "all.log_insts",              # instructions in the function
)

_FP = re.compile(r"^v?(?P<op>add|sub|mul|div|min|max|sqrt|f(?:n?)m(?:add|sub)(?:\d{3})?)(?P<kind>[ps])(?P<t>[sd])$")
_REG_BYTES = {"zmm": 64, "ymm": 32, "xmm": 16}
_STACK = re.compile(r"(?:^|[\s,])-?\d*\(%r[sb]p\)")
_JUMP = re.compile(r"^j[a-z]+$")

# Throughput of the core the numbers were fitted on (Zen 5): FP pipes, loads, stores, issue width.
FP_PER_CYCLE, LOADS_PER_CYCLE, STORES_PER_CYCLE, ISSUE_PER_CYCLE = 2.0, 2.0, 1.0, 6.0


@dataclass(frozen=True)
class _Inst:
    mnemonic: str
    operands: str


@dataclass
class _LoopStats:
    insts: int = 0
    fp: int = 0
    packed: int = 0
    fma: int = 0
    flops: float = 0.0
    elements: float = 0.0
    loads: int = 0
    stores: int = 0
    stack: int = 0
    gathers: int = 0

    def add(self, ins: _Inst) -> None:
        self.insts += 1
        m, ops = ins.mnemonic, ins.operands
        if "gather" in m or "scatter" in m:
            self.gathers += 1
        if _STACK.search(ops):
            self.stack += 1
        if "(" in ops and not m.startswith("lea") and not _JUMP.match(m):
            last = ops.rsplit(",", 1)[-1]
            if "(" in last and ("mov" in m or m.startswith("st")):
                self.stores += 1
            else:
                self.loads += 1
        f = _FP.match(m)
        if f is None:
            return
        width = 1
        if f["kind"] == "p":
            reg = next((r for r in ("zmm", "ymm", "xmm") if r in ops), "xmm")
            width = _REG_BYTES[reg] // (4 if f["t"] == "s" else 8)
            self.packed += 1
        is_fma = f["op"].startswith("f")
        self.fp += 1
        self.fma += is_fma
        self.elements += width
        self.flops += width * (2 if is_fma else 1)

    def cycles(self) -> float:
        return max(self.fp / FP_PER_CYCLE, self.loads / LOADS_PER_CYCLE, self.stores / STORES_PER_CYCLE,
                   self.insts / ISSUE_PER_CYCLE, 1.0)


def _parse(asm: str) -> tuple[list[_Inst], dict[str, int]]:
    """Instructions in order, and the instruction index each label stands before."""
    insts: list[_Inst] = []
    labels: dict[str, int] = {}
    for raw in asm.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.endswith(":"):
            labels[line[:-1]] = len(insts)
            continue
        if line.startswith("."):
            continue
        parts = line.split(None, 1)
        insts.append(_Inst(parts[0], parts[1] if len(parts) > 1 else ""))
    return insts, labels


def _innermost_loops(insts: list[_Inst], labels: dict[str, int]) -> list[tuple[int, int]]:
    edges = []
    for i, ins in enumerate(insts):
        if _JUMP.match(ins.mnemonic):
            target = labels.get(ins.operands.strip())
            if target is not None and target <= i:
                edges.append((target, i))
    return [(a, b) for a, b in edges
            if not any((c, d) != (a, b) and a <= c and d <= b for c, d in edges)]


def asm_features(asm: str) -> np.ndarray:
    """The ASM_FEATURE_NAMES vector of one function's (or module's) x86-64 AT&T assembly."""
    insts, labels = _parse(asm)
    loops = []
    for a, b in _innermost_loops(insts, labels):
        s = _LoopStats()
        for ins in insts[a:b + 1]:
            s.add(ins)
        loops.append(s)
    out = np.zeros(len(ASM_FEATURE_NAMES))
    out[ASM_FEATURE_NAMES.index("all.log_insts")] = math.log2(1 + len(insts))
    if not loops:
        return out
    main = max(loops, key=lambda s: (s.flops, -s.insts))
    total_flops = sum(s.flops for s in loops)
    fp = sum(s.fp for s in loops)
    values = {
        "main.log_insts": math.log2(1 + main.insts),
        "main.flops_per_inst": main.flops / max(main.insts, 1),
        "main.flops_per_memop": main.flops / max(main.loads + main.stores, 1),
        "main.vector_width": main.elements / max(main.fp, 1),
        "main.fma_fraction": main.fma / max(main.fp, 1),
        "main.stack_per_inst": main.stack / max(main.insts, 1),
        "main.gathers_per_inst": main.gathers / max(main.insts, 1),
        "main.cycles_per_flop": main.cycles() / max(main.flops, 1.0),
        "main.share_of_flops": main.flops / total_flops if total_flops else 0.0,
        "all.log_inner_loops": math.log2(1 + len(loops)),
        "all.packed_fraction": sum(s.packed for s in loops) / max(fp, 1),
        "all.log_stack_ops": math.log2(1 + sum(s.stack for s in loops)),
    }
    for name, v in values.items():
        out[ASM_FEATURE_NAMES.index(name)] = v
    return out


def assembly_of(scop: object, schedule: object, params: dict[str, int]) -> str:
    """x86-64 assembly of a schedule as the CPU backend compiles it (same loop AST, options and O3)."""
    from polyopt.codegen.llvm import jit
    from polyopt.codegen.llvm.backend import optimized_module
    from polyopt.codegen.options import CompileOptions
    from polyopt.search import backend

    program = backend.loop_program(scop, schedule, params)   # type: ignore[arg-type]
    _, mod, _ = optimized_module(program, CompileOptions.of(None))
    return jit.emit_assembly(mod)


def compiled_features(scop: object, schedule: object, params: dict[str, int]) -> np.ndarray:
    """ASM_FEATURE_NAMES of a schedule's machine code (compiles it: ~0.05-0.2 s)."""
    return asm_features(assembly_of(scop, schedule, params))
