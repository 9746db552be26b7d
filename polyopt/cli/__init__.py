"""The `polyopt` command line: one module per subcommand, each with register(subparsers)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from polyopt.errors import PolyoptError

SUBCOMMANDS = ("show", "schedule", "compile", "tune", "best", "compare")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polyopt", description="Polyhedral loop-nest optimizer with a "
                                     "learned cost model.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"polyopt.cli.{name}_cmd")
        except ModuleNotFoundError as e:
            if e.name != f"polyopt.cli.{name}_cmd":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except PolyoptError as e:
        print(f"polyopt {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"polyopt {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
