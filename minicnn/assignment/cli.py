"""``minicnn assignment list | make | grade`` (also ``python -m minicnn.assignment``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .catalogue import ASSIGNMENTS
from .grader import MEMORY_MB, TIME_LIMIT, grade
from .make import make


def _list(args: argparse.Namespace) -> int:
    for a in ASSIGNMENTS.values():
        files = "; ".join(f"{s.name}: {', '.join(s.implement)}" for s in a.files)
        print(f"{a.name:10} {a.points:3g} points  {a.title}")
        print(f"{'':10} {files}")
    return 0


def _make(args: argparse.Namespace) -> int:
    written = make(args.name, args.out, solutions=args.solutions, force=args.force)
    kind = "solutions" if args.solutions else "student's version"
    print(f"wrote the {kind} of assignment {args.name} to {args.out}:")
    for path in written:
        print(f"  {path.name}")
    print(f"check it with: python {Path(args.out) / 'check.py'}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    report = grade(
        args.directory,
        assignment=args.assignment,
        time_limit=args.time_limit,
        memory_mb=args.memory,
        max_examples=args.examples,
    )
    print(report.text())
    if args.results:
        path = Path(args.results)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report.gradescope(), indent=2) + "\n")
    return 0 if report.score >= report.max_score else 1


def parser(prog: str = "minicnn assignment") -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog=prog, description="Assignments made from minicnn's own code, and their autograder."
    )
    commands = main_parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sub = commands.add_parser("list", help="the assignments, their points and files")
    sub.set_defaults(run=_list)

    sub = commands.add_parser("make", help="write an assignment's files for the student")
    sub.add_argument("name", choices=list(ASSIGNMENTS), metavar="NAME", help=", ".join(ASSIGNMENTS))
    sub.add_argument("--out", required=True, metavar="DIR", help="the folder to write")
    sub.add_argument("--solutions", action="store_true", help="keep the solutions in place")
    sub.add_argument("--force", action="store_true", help="overwrite files that exist")
    sub.set_defaults(run=_make)

    sub = commands.add_parser("grade", help="grade a student's folder (exit status 0: full marks)")
    sub.add_argument("directory", metavar="DIR")
    sub.add_argument("--results", metavar="FILE", help="write Gradescope's results.json here")
    sub.add_argument("--assignment", metavar="NAME", help="default: from DIR/assignment.json")
    sub.add_argument(
        "--time-limit",
        type=float,
        default=TIME_LIMIT,
        metavar="S",
        help=f"seconds per test (default {TIME_LIMIT:g})",
    )
    sub.add_argument(
        "--memory",
        type=int,
        default=MEMORY_MB,
        metavar="MB",
        help=f"memory the student's code may use (default {MEMORY_MB})",
    )
    sub.add_argument("--examples", type=int, metavar="N", help="fewer hypothesis cases per test")
    sub.set_defaults(run=_grade)  # fmt: skip
    return main_parser


def main(argv: Sequence[str] | None = None, prog: str = "minicnn assignment") -> int:
    """Run ``minicnn assignment ...``; returns the exit status (2 for a mistake of the user's)."""
    args = parser(prog).parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileExistsError, ImportError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
