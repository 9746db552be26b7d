"""The `polyopt` command line: one module per subcommand, each with register(subparsers)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
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
        rc = int(args.handler(args) or 0)
        sys.stdout.flush()            # a closed pipe shows here, not at exit
        return rc
    except PolyoptError as e:
        print(f"polyopt {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"polyopt {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _broken_pipe()


def _broken_pipe() -> int:
    """The reader of our output went away (`polyopt ... | head -1`): stop quietly, as other tools do,
    with stdout pointed at /dev/null so that Python's flush at exit does not complain again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
