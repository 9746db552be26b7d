"""`polyopt best`: the best measured schedule of a loop nest in a tuning database."""

from __future__ import annotations

import argparse
import json
import os

from polyopt.cli.common import add_target_argument, parse_params, positive_int, scop_of, suite_params
from polyopt.errors import PolyoptError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("best", help="show the best tuned schedule recorded for a loop nest")
    add_target_argument(p)
    p.add_argument("--param", action="append", metavar="N=VALUE", help="a size parameter value (repeatable)")
    p.add_argument("--size", help="dataset size for suite:NAME targets")
    p.add_argument("--db", help="tuning database (default: the per-user cache)")
    p.add_argument("--target-device", default="cpu", dest="device")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="only measurements with this thread count")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from polyopt.search import backend
    from polyopt.search.database import Database, params_key

    if args.db and not os.path.isfile(args.db):
        raise PolyoptError(f"no tuning database at {args.db} (polyopt tune --db {args.db} makes one)")
    scop = scop_of(args)
    defaults = {k: v for k, v in suite_params(args.target, args.size).items() if k in scop.params}
    params = {**defaults, **parse_params(args.param, scop)}
    with Database(args.db) as db:
        target = backend.target_fingerprint(args.device)
        rec = db.best(scop.fingerprint, params_key(params), target, args.threads)
        n = len(db.records(scop.fingerprint, params, target, args.threads))
        tuned = sorted({r.params for r in db.records(scop.fingerprint) if r.ok and r.target == target})
    if rec is None:
        msg = f"no successful measurement of {scop.name} {params} on {target} in the database"
        if tuned:
            msg += "; it has " + ", ".join(
                " ".join(f"--param {k}={v}" for k, v in json.loads(p).items()) for p in tuned[:5])
        print(json.dumps({"error": msg}) if args.json else msg)
        return 1
    out = {"kernel": scop.name, "params": params, "target": target, "measurements": n,
           "best_time": rec.median, "threads": rec.threads, "candidate": json.loads(rec.candidate)}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{scop.name} {params} on {target}: best of {n} measurements: {rec.median * 1e3:.3f} ms")
        print(f"  {backend.candidate_from_json(rec.candidate)}")
    return 0
