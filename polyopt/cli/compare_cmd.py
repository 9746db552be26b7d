"""`polyopt compare`: polyopt side by side with gcc -O3, GCC Graphite, clang, clang+Polly and numpy/BLAS."""

from __future__ import annotations

import argparse
import json
import sys

from polyopt.cli.common import non_negative_int, parse_params, positive_float, positive_int

DEFAULT_KERNELS = "gemm,jacobi-2d,lu"


def register(sub: argparse._SubParsersAction) -> None:
    from polyopt.compare.contenders import ALL_NAMES, GROUPS
    p = sub.add_parser("compare", help="compare polyopt with gcc, Graphite, clang, clang+Polly and numpy",
                       description="Every contender runs in one harness on the same inputs; outputs are "
                       "verified against the gcc -O2 build of the same C source before any time counts.")
    p.add_argument("files", nargs="*", metavar="FILE.c",
                   help="C files with a '#pragma scop' region (FILE.c or FILE.c:function)")
    p.add_argument("--kernels", help=f"comma-separated suite kernels (default {DEFAULT_KERNELS} when no "
                   "FILE.c is given; 'all' for the whole suite)")
    p.add_argument("--size", default="SMALL", help="dataset size: MINI, SMALL, MEDIUM, LARGE, EXTRALARGE")
    p.add_argument("--param", action="append", metavar="N=VALUE", help="size of a C file's parameter")
    p.add_argument("--contenders", default="all",
                   help=f"comma-separated names or groups: {', '.join(ALL_NAMES)}; groups "
                   f"{', '.join(GROUPS)} (default all)")
    p.add_argument("--threads", type=positive_int, default=1, help="OpenMP/BLAS threads for every contender")
    p.add_argument("--repeats", type=positive_int, default=5,
                   help="timed runs per contender (median reported)")
    p.add_argument("--trials", type=non_negative_int, default=0,
                   help="tuning trials for the polyopt-tuned contenders")
    p.add_argument("--db", help="tuning database to reuse (default: the shared cache)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--reference", choices=("c", "python"), default="c",
                   help="check outputs against the gcc -O2 build (c) or the suite's Python version")
    p.add_argument("--timeout", type=positive_float, default=1800.0, help="seconds per contender and kernel")
    p.add_argument("--specialize-sizes", action="store_true",
                   help="compile the C contenders with the sizes fixed as constants (as polyopt's kernels "
                   "are); without it Polly gives up on the VLA bounds that are function arguments")
    p.add_argument("--out", help="folder for table.md, table.csv, report.json, PNG plots and report.html")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from polyopt.compare import compare, write_report
    from polyopt.compare.api import check_size
    targets = _targets(args)
    size = check_size(args.size)

    def progress(m) -> None:  # type: ignore[no-untyped-def]
        if not args.json:
            t = f"{m.median * 1e3:9.3f} ms" if m.ok else f"{m.status:>12}"
            print(f"  {m.kernel:<16} {m.contender:<18} {t}", file=sys.stderr, flush=True)

    report = compare(targets, size, args.contenders, threads=args.threads, repeats=args.repeats,
                     trials=args.trials, db=args.db, params=parse_params(args.param), seed=args.seed,
                     reference=args.reference, timeout_s=args.timeout,
                     specialize_sizes=args.specialize_sizes, progress=progress)
    if args.out:
        paths = write_report(report, args.out)
        if not args.json:
            print("wrote " + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.to_markdown())
    return 0 if report.kernels else 1


def _targets(args: argparse.Namespace) -> list[str]:
    targets: list[str] = []
    if args.kernels:
        if args.kernels.strip() == "all":
            from polyopt.kernels import names
            targets += list(names())
        else:
            targets += [k.strip() for k in args.kernels.split(",") if k.strip()]
    targets += list(args.files)
    return targets or DEFAULT_KERNELS.split(",")
