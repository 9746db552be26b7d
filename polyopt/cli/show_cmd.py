"""`polyopt show`: the polyhedral model of a loop nest, its dependences, or why it cannot be modelled."""

from __future__ import annotations

import argparse
import json
import sys

import islpy as isl

from polyopt import expr as X
from polyopt.cli.common import add_target_argument, scop_of
from polyopt.dataflow import dependences
from polyopt.errors import ScopError
from polyopt.model import Scop


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("show", help="print the polyhedral model and dependences of a loop nest")
    add_target_argument(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        scop = scop_of(args)
    except ScopError as e:
        if args.json:
            print(json.dumps({"error": e.to_dict()}, indent=2))
        else:
            print(f"rejected: {e}", file=sys.stderr)
        return 1
    data = describe(scop)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(render_text(data))
    return 0


def original_c(scop: Scop) -> str:
    """The original loop nest re-printed as C by isl's AST generator."""
    build = isl.AstBuild.from_context(scop.context)
    return build.node_from_schedule_map(scop.schedule_map).to_C_str()


def describe(scop: Scop) -> dict[str, object]:
    """The stable machine-readable form of a Scop and its dependences."""
    deps = dependences(scop)
    return {
        "name": scop.name,
        "language": scop.language,
        "file": scop.file,
        "fingerprint": scop.fingerprint,
        "params": list(scop.params),
        "context": str(scop.context),
        "arguments": [{"name": a.name, "kind": a.kind, "dtype": a.dtype.value} for a in scop.arguments],
        "arrays": [{"name": a.name, "dtype": a.dtype.value, "local": not a.is_argument,
                    "shape": [None if e is None else X.to_c(e) for e in a.shape]} for a in scop.arrays],
        "statements": [{
            "name": s.name, "line": s.location.line, "text": s.text, "iterators": list(s.iterators),
            "domain": str(s.domain), "schedule": str(s.schedule),
            "body": f"{X.to_c(s.target)} = {X.to_c(s.value)}",
            "reads": [str(r.relation) for r in s.reads], "writes": [str(w.relation) for w in s.writes],
        } for s in scop.statements],
        "dependences": [d.to_dict() for d in deps.summaries],
        "code": original_c(scop),
    }


def render_text(d: dict) -> str:
    lines = [f"SCoP {d['name']} ({d['language']}, {d['file']})  fingerprint {d['fingerprint']}",
             f"parameters: {', '.join(d['params']) or '-'}    context: {d['context']}", "arrays:"]
    for a in d["arrays"]:
        shape = "".join(f"[{s or ''}]" for s in a["shape"])
        lines.append(f"  {a['dtype']:8} {a['name']}{shape}{'   (local)' if a['local'] else ''}")
    lines.append("statements:")
    for s in d["statements"]:
        lines.append(f"  {s['name']} (line {s['line']}): {s['body']}")
        lines.append(f"      domain   {s['domain']}")
        for w in s["writes"]:
            lines.append(f"      write    {w}")
        for r in s["reads"]:
            lines.append(f"      read     {r}")
    lines.append("dependences:")
    for dep in d["dependences"]:
        carried = "carried by " + ", ".join(dep["carried_by"]) if dep["carried_by"] else "loop-independent"
        if dep["carried_by"] and dep["loop_independent"]:
            carried += " and loop-independent"
        dirs = "(" + ", ".join(dep["direction"]) + ")" if dep["direction"] else "()"
        lines.append(f"  {dep['kind']} {dep['source']} -> {dep['sink']} on {', '.join(dep['arrays'])}: "
                     f"{carried}; direction {dirs}")
    if not d["dependences"]:
        lines.append("  none")
    lines += ["original loop nest:", d["code"].rstrip()]
    return "\n".join(lines)
