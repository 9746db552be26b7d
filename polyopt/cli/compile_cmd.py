"""`polyopt compile`: generate code for a loop nest under a baseline schedule: LLVM IR, assembly, C, or an
exported shared library / object file with a C header; with `--target cuda`, CUDA C or PTX (no GPU needed;
PTX needs nvcc or NVRTC)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from polyopt.cli.common import add_target_argument, c_identifier, parse_params, scop_of
from polyopt.errors import PolyoptError

EMITS = ("llvm", "asm", "c", "so", "o", "cuda", "ptx")
GPU_EMITS = ("cuda", "ptx")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="generate LLVM IR, assembly, C or a shared library for a loop nest")
    add_target_argument(p)
    p.add_argument("--scheduler", default="original", choices=("original", "isl", "pluto", "polly"),
                   help="baseline schedule (default: original)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="specialise for a size (repeatable); without sizes the code is generic")
    p.add_argument("--target", dest="backend", default="cpu", choices=("cpu", "c", "cuda"),
                   help="cpu: LLVM (default); c: C compiled by gcc; cuda: the CUDA backend")
    p.add_argument("--emit", default=None, choices=EMITS,
                   help="what to write (default: llvm; cuda with --target cuda)")
    p.add_argument("--entry", type=c_identifier, default="kernel",
                   help="name of the exported function, a C identifier (default: kernel)")
    p.add_argument("-o", "--output", help="output file (default: stdout; required for so/o)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from polyopt.codegen import api

    scop = scop_of(args)
    params = parse_params(args.param, scop)
    options = {"entry_name": args.entry, "specialize": bool(params)}
    emit = args.emit or ("cuda" if args.backend == "cuda" else "llvm")
    if args.backend == "cuda" or emit in GPU_EMITS:
        if emit not in GPU_EMITS:
            raise PolyoptError(f"--target cuda writes CUDA C or PTX, not {emit}: use --emit cuda or --emit ptx")
        kernel = api.compile(scop, args.scheduler, "cuda", params=params or None)
        return _write(args.output, kernel.ptx if emit == "ptx" else kernel.cuda_source)
    kernel = api.compile(scop, args.scheduler, args.backend, options=options)
    if params:
        kernel.params = params
    if emit in ("so", "o"):
        if not args.output:
            raise PolyoptError(f"--emit {emit} needs -o FILE.{emit}")
        out = Path(args.output)
        if out.suffix != f".{emit}":
            out = out.with_suffix(f".{emit}")
        kernel.export(out, specialized=bool(params))
        print(f"wrote {out} and {out.with_suffix('.h')}", file=sys.stderr)
        return 0
    text = {"llvm": lambda: kernel.llvm_ir, "asm": lambda: kernel.asm, "c": lambda: kernel.c_source}[emit]()
    return _write(args.output, text)


def _write(path: str | None, text: str) -> int:
    if path:
        Path(path).write_text(text)
        print(f"wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
