"""`polyopt tune`: search for a fast schedule of a loop nest with the learned cost model."""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from typing import Any

from polyopt.cli.common import (add_target_argument, non_negative_int, parse_params, positive_float,
                                positive_int, scop_of, suite_params)
from polyopt.errors import PolyoptError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tune", help="tune the schedule of a loop nest (measures candidates on this machine)")
    add_target_argument(p)
    p.add_argument("--param", action="append", metavar="N=VALUE", help="a size parameter value (repeatable)")
    p.add_argument("--size", help="dataset size for suite:NAME targets (MINI..EXTRALARGE; default SMALL)")
    p.add_argument("--trials", type=positive_int, default=200, help="measurements in total (default 200)")
    p.add_argument("--db", help="tuning database (default: $POLYOPT_CACHE_DIR or ~/.cache/polyopt/tuning.db)")
    p.add_argument("--resume", action="store_true",
                   help="continue a previous tuning of the same task: its measurements count as trials")
    p.add_argument("--strategy", choices=("model", "random"), default="model")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--batch-size", type=positive_int, default=16)
    p.add_argument("--timeout", type=positive_float, default=None,
                   help="seconds to build / to run one candidate")
    p.add_argument("--time-budget", type=positive_float, default=None, metavar="SECONDS",
                   help="stop tuning after this many seconds, even before --trials (the measurement in progress "
                        "finishes; everything measured is kept)")
    p.add_argument("--no-transfer", action="store_true", help="do not start from other kernels' records")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads of the measured kernels (default: every core; part of the record key)")
    p.add_argument("--target-device", default="cpu", dest="device", help="cpu (default) or cuda")
    p.add_argument("--plot", help="write best-so-far GFLOP/s vs trials to this PNG")
    p.add_argument("--json", action="store_true", help="print the result as JSON (no progress bar)")
    p.set_defaults(handler=run)


def _suite_check(target: str, params: dict[str, int]) -> Any:
    """MeasureOptions for a bundled kernel: outputs checked on their well-determined part only
    (SuiteKernel.checked); None otherwise."""
    from polyopt import kernels
    from polyopt.search.measure import MeasureOptions, checked_ranges

    if not target.startswith("suite:"):
        return None
    region = kernels.get(target[len("suite:"):]).checked_region(params)
    return MeasureOptions(checked=checked_ranges(region)) if region else None


def run(args: argparse.Namespace) -> int:
    from polyopt.search.tuner import tune

    scop = scop_of(args)
    defaults = {k: v for k, v in suite_params(args.target, args.size).items() if k in scop.params}
    params = {**defaults, **parse_params(args.param, scop)}
    missing = [p for p in scop.params if p not in params]
    if missing:
        raise PolyoptError(f"tune needs a value for every size parameter of {scop.name}: give "
                           + " ".join(f"--param {p}=N" for p in missing))
    bar = None if args.json else _ProgressBar(args.trials)
    try:
        result = tune(scop, args.device, params, trials=args.trials, db=args.db, seed=args.seed,
                      strategy=args.strategy, batch_size=args.batch_size, transfer=not args.no_transfer,
                      timeout=args.timeout, resume=args.resume, progress=bar.update if bar else None,
                      threads=args.threads, time_budget=args.time_budget,
                      measure_options=_suite_check(args.target, params))
    finally:
        if bar is not None:
            bar.stop()
    if args.plot:
        result.plot(args.plot)
    print(json.dumps(summary(result), indent=2) if args.json else render(result))
    return 0 if result.best is not None else 1


def summary(result) -> dict:  # type: ignore[no-untyped-def]
    best = result.best
    fin = (lambda x: x if isinstance(x, (int, float)) and math.isfinite(x) else None)
    return {"kernel": result.scop.name, "params": dict(result.params), "trials": len(result.history),
            "errors": result.errors, "interrupted": result.interrupted,
            "best_time": fin(best.seconds) if best else None, "best_gflops": fin(best.gflops) if best else None,
            "best_candidate": json.loads(best.candidate_json) if best else None,
            "baselines": {k: fin(v) for k, v in result.baselines.items()},
            "target": result.target,
            "speedup_over_polly": fin(result.speedup_over("polly")),
            "speedup_over_original": fin(result.speedup_over("original")),
            **({"speedup_over_default_mapping": fin(result.speedup_over("default"))}
               if "default" in result.baselines else {})}


def render(result) -> str:  # type: ignore[no-untyped-def]
    s = summary(result)
    lines = [f"{s['kernel']} {s['params']}: {s['trials']} trials, {s['errors']} errors"
             + (" (interrupted)" if s["interrupted"] else "")]
    if result.best is not None:
        lines.append(f"best: {result.best.seconds * 1e3:.3f} ms, {result.best.gflops:.2f} GFLOP/s")
        lines.append(f"  {result.best.candidate}")
    for name in result.baselines:
        sp = result.speedup_over(name)
        lines.append(f"speedup over {name}: {sp:.2f}x" if math.isfinite(sp) else f"speedup over {name}: n/a")
    failures = common_errors(result.history)
    if failures:
        lines += ["failures:", *(f"  {n} x {msg}" for msg, n in failures)]
    return "\n".join(lines)


def common_errors(history, top: int = 3) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """The most frequent failure messages of the trials (first line each), with their counts."""
    counts = Counter((t.message or f"error {t.error}").splitlines()[0][:200] for t in history if t.error)
    return counts.most_common(top)


class _ProgressBar:
    """rich progress: trials, current / best GFLOP/s, errors, ETA."""

    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("tuning"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                                 TextColumn("{task.fields[info]}"), TimeRemainingColumn())
        self.task = self.progress.add_task("tune", total=total, info="")
        self.errors = 0
        self.start = time.time()
        self.progress.start()

    def update(self, trial, best_gflops: float) -> None:  # type: ignore[no-untyped-def]
        self.errors += trial.error != 0
        self.progress.update(self.task, advance=1, info=f"now {trial.gflops:.2f} best {best_gflops:.2f} "
                             f"GFLOP/s, {self.errors} errors")

    def stop(self) -> None:
        self.progress.stop()
