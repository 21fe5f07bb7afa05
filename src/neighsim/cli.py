"""The `neighsim` command. Every user error is printed as one line naming the file and field."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import NeighsimError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def deco(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = fn
        return fn
    return deco


def _config(args: argparse.Namespace):
    from .config import load_config

    overrides: dict[str, Any] = {}
    pop: dict[str, Any] = {}
    if getattr(args, "scale", None) is not None:
        pop["scale"] = args.scale
    if getattr(args, "la", None):
        pop["local_authorities"] = args.la
    if pop:
        overrides["population"] = pop
    if getattr(args, "seed", None) is not None:
        overrides["seed"] = args.seed
    return load_config(args.config, **overrides)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", default=None,
                   help="ICS configuration file (default: configs/ics.yaml)")
    p.add_argument("--seed", type=int, default=None, help="master seed (default: from the configuration)")
    p.add_argument("--scale", type=float, default=None,
                   help="fraction of residents to synthesise, e.g. 0.05 for a quick look (default 1.0)")
    p.add_argument("--la", action="append", metavar="NAME",
                   help="restrict to a local authority (repeatable), e.g. --la Tamworth")


@command("population")
def cmd_population(args: argparse.Namespace) -> int:
    from .population import build_population
    from .population.summary import format_summary, summarise_population

    pop = build_population(_config(args))
    s = summarise_population(pop)
    if args.json:
        print(json.dumps(s, indent=2))
    else:
        print(format_summary(s))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neighsim",
        description="Neighbourhood microsimulation of the residents of Staffordshire and Stoke-on-Trent: "
                    "projects April 2026 - March 2031 month by month and compares interventions.",
        epilog="Run `neighsim COMMAND --help` for each command's options. Docs: README.md and docs/.",
    )
    parser.add_argument("--version", action="version", version=f"neighsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("population", help="synthesise the residents and summarise them",
                       description="Build the residents, households, neighbourhoods and social network at the "
                                   "start date and print a summary (or JSON with --json).")
    _add_common(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    for extra in EXTRA_PARSERS:
        extra(sub)
    return parser


EXTRA_PARSERS: list[Callable[[Any], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except NeighsimError as exc:
        print(f"neighsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"neighsim {args.command}: interrupted; finished results are kept on disk", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _path(s: str) -> Path:
    return Path(s)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
