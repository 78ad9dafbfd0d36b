"""``make``: write an assignment's folder for the student (or, with solutions, the answer key)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from .catalogue import Assignment, StudentFile, get_assignment
from .grader import ASSIGNMENT_FILE
from .source import MarkerError, blocks_in, student_file

CHECK_SCRIPT = '''"""Check your work: python check.py (the autograder's own tests, run on this folder)."""

import sys
from pathlib import Path

from minicnn.assignment import main

sys.exit(main(["grade", str(Path(__file__).resolve().parent), *sys.argv[1:]]))
'''


def file_text(assignment: Assignment, spec: StudentFile, solutions: bool = False) -> str:
    """The text of one student file of ``assignment``."""
    for name in spec.implement:
        if not blocks_in(spec.module, name):
            raise MarkerError(f"{spec.module}.{name} has no solution block to cut")
    what = ", ".join(f"``{n}``" for n in spec.implement)
    header = f"minicnn assignment {assignment.name} ({assignment.title}).\n\n" + (
        f"The answer key: {what} with their solutions (from ``{spec.module}``)."
        if solutions
        else f"Write the parts of {what} marked ``raise NotImplementedError``; the "
        "``# Hint:`` comments above each say what goes there. Everything else in this file "
        "is given. Check your work with ``python check.py``."
    )
    names = (*spec.given, *spec.implement)
    header = "\n\n".join(textwrap.fill(p, 95) for p in header.split("\n\n"))
    return student_file(spec.module, names, solutions=solutions, header=header)


def readme(assignment: Assignment, solutions: bool = False) -> str:
    """The student's README: what to write, how to check it, the points."""
    lines = [f"# minicnn assignment `{assignment.name}`: {assignment.title}", ""]
    if solutions:
        lines += ["This folder holds the solutions (the answer key); they grade to full marks.", ""]
    lines += [assignment.summary, "", "## What to write", ""]
    for spec in assignment.files:
        item = f"- `{spec.name}`: " + ", ".join(f"`{n}`" for n in spec.implement)
        if spec.given:
            item += " (given, to use: " + ", ".join(f"`{n}`" for n in spec.given) + ")"
        lines.append(item)
    lines += [
        "",
        "Each `raise NotImplementedError(...)` marks a block for you to write, with `# Hint:` "
        "comments above it. Keep the names and arguments of the functions: the grader calls "
        "them. The files import only `numpy` and `minicnn`.",
        "",
        "## Check your work",
        "",
        "    pip install minicnn hypothesis",
        "    python check.py            # or: minicnn assignment grade .",
        "",
        "This runs the autograder's own tests on this folder. Each test tries your code on many "
        "small cases and, when one fails, reports the smallest failing case it can find, the "
        "first wrong element, the expected and your value, e.g.",
        "",
        "    conv2d backward, dx: fails for input (1, 1, 3, 4), kernel 2x3, stride 2, padding 1;",
        "    at dx[0, 0, 2, 1] expected 0.52, got 0.0",
        "",
        "Start from that case: it is small enough to work out by hand. Grading is "
        "deterministic: the same files always get the same score.",
        "",
        "## Points",
        "",
        "| test | points |",
        "| --- | --- |",
        *[f"| {t.name} | {t.points:g} |" for t in assignment.tests],
        f"| **total** | **{assignment.points:g}** |",
        "",
    ]
    return "\n".join(lines)


def make(name: str, out: str | Path, solutions: bool = False, force: bool = False) -> list[Path]:
    """Write assignment ``name`` into the folder ``out``: the student's files (solution blocks
    cut, or kept with ``solutions=True``), README.md, check.py and assignment.json.

    Refuses to overwrite a file that exists unless ``force``: it may hold a student's work.
    Returns the paths written.
    """
    assignment = get_assignment(name)
    out = Path(out)
    texts = {spec.name: file_text(assignment, spec, solutions) for spec in assignment.files}
    texts["README.md"] = readme(assignment, solutions)
    texts["check.py"] = CHECK_SCRIPT
    record = {"assignment": assignment.name, "solutions": solutions,
              "files": [spec.name for spec in assignment.files]}  # fmt: skip
    texts[ASSIGNMENT_FILE] = json.dumps(record, indent=2) + "\n"
    existing = [n for n in texts if (out / n).exists()]
    if existing and not force:
        raise FileExistsError(
            f"{out} already has {', '.join(existing)}; pass force=True (--force) to overwrite"
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in texts.items():
        (out / filename).write_text(text)
        written.append(out / filename)
    return written
