"""`polyopt schedule`: the schedule a baseline scheduler (or a candidate file) gives a loop nest."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import islpy as isl

from polyopt.cli.common import add_target_argument, parse_params, scop_of
from polyopt.errors import PolyoptError
from polyopt.legality import check_legal
from polyopt.schedule_tree import Schedule
from polyopt.schedulers import SCHEDULERS, schedule
from polyopt.transforms import Candidate

EMITS = ("tree", "json", "c", "ast")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schedule", help="compute a baseline schedule (original, isl, pluto, polly) and "
                       "print it as a tree, a replayable candidate (json) or code")
    add_target_argument(p)
    p.add_argument("--scheduler", default="polly", choices=SCHEDULERS, help="baseline scheduler")
    p.add_argument("--tile", default="", help="tile sizes, e.g. 32,32,8 (default 32)")
    p.add_argument("--candidate", help="replay a candidate JSON file (or inline JSON) instead")
    p.add_argument("--emit", default="tree", choices=EMITS, help="what to print")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="fix a size parameter for --emit c/ast (repeatable)")
    p.set_defaults(handler=run)


def _tile_sizes(text: str) -> tuple[int, ...] | None:
    if not text.strip():
        return None
    try:
        sizes = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise PolyoptError(f"--tile expects comma-separated integers, got '{text}'") from None
    if not sizes or min(sizes) < 1:
        raise PolyoptError(f"--tile sizes must be positive, got '{text}'")
    return sizes


def _candidate(args: argparse.Namespace, scop: object) -> Candidate:
    if args.candidate:
        return read_candidate(args.candidate)
    return schedule(scop, args.scheduler, tile_sizes=_tile_sizes(args.tile))  # type: ignore[arg-type]


def read_candidate(arg: str) -> Candidate:
    """A candidate from inline JSON or a JSON file: a candidate record, or a record wrapped in
    {"candidate": ...} as `polyopt schedule --emit json` and `polyopt best --json` print it."""
    text = arg
    if not text.lstrip().startswith(("{", "[")):
        try:
            text = Path(arg).read_text(errors="replace")
        except OSError as e:
            raise PolyoptError(f"--candidate: cannot read {arg}: {e.strerror or e}") from None
    try:
        data = json.loads(text)
        if isinstance(data, dict) and isinstance(data.get("candidate"), dict):
            data = data["candidate"]
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return Candidate.from_dict(data)
    except KeyError as e:
        raise PolyoptError(f"--candidate: not a candidate record: no field {e}") from None
    except (ValueError, TypeError) as e:
        raise PolyoptError(f"--candidate: not a candidate record: {e}") from None


def run(args: argparse.Namespace) -> int:
    scop = scop_of(args)
    params = parse_params(args.param, scop)        # checked whatever --emit says
    if params and args.emit in ("tree", "json"):
        print(f"note: --param applies to --emit c and ast only; --emit {args.emit} prints the schedule for "
              "every size", file=sys.stderr)
    cand = _candidate(args, scop)
    sched = cand.apply(scop)
    check_legal(scop, sched)
    if args.emit == "json":
        print(json.dumps({"candidate": cand.to_dict(), "schedule": sched.to_str()}, indent=2))
    elif args.emit == "tree":
        print(f"# {cand}")
        print(render_tree(sched))
    else:
        print(emit_code(sched, params, args.emit))
    return 0


def render_tree(sched: Schedule) -> str:
    """The schedule tree, one node per line, indented (marks shown above their band)."""
    lines: list[str] = []

    def walk(n: isl.ScheduleNode, depth: int) -> None:
        pad = "  " * depth
        t = n.get_type()
        if t == isl.schedule_node_type.band:
            lines.append(f"{pad}band {n.band_get_partial_schedule()}"
                         f"{'  permutable' if n.band_get_permutable() else ''}")
        elif t == isl.schedule_node_type.mark:
            lines.append(f"{pad}mark \"{n.mark_get_id().get_name()}\"")
        elif t == isl.schedule_node_type.filter:
            lines.append(f"{pad}filter {n.filter_get_filter()}")
        elif t == isl.schedule_node_type.domain:
            lines.append(f"{pad}domain {n.domain_get_domain()}")
        elif t != isl.schedule_node_type.leaf:
            lines.append(f"{pad}{str(t).rsplit('.', 1)[-1]}")
        for i in range(n.n_children()):
            walk(n.child(i), depth + 1)
    walk(sched.tree.get_root(), 0)
    return "\n".join(lines)


def emit_code(sched: Schedule, params: dict[str, int], emit: str) -> str:
    """C text of a schedule: the C printer when it is there (emit 'c'), else isl's AST as C."""
    if emit == "c":
        try:
            from polyopt.codegen.c_printer import print_c
            from polyopt.codegen.loop_ast import build_loop_ast
        except ImportError:
            pass
        else:
            return str(print_c(build_loop_ast(sched.scop, sched.tree, params or None)))
    context = sched.scop.context
    if params:
        fixed = " and ".join(f"{k} = {v}" for k, v in params.items() if k in sched.scop.params)
        if fixed:
            context = context.intersect(isl.Set(f"[{', '.join(sched.scop.params)}] -> {{ : {fixed} }}"))
    build = isl.AstBuild.from_context(context)
    return str(build.node_from_schedule(sched.tree.intersect_domain(sched.scop.domain)).to_C_str())
