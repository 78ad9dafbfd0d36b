"""The autograder: grade a student's folder in a child process with time and memory limits.

The student's files run in ``python -m minicnn.assignment._worker``, never in the grader: the
child has a memory limit (its address space, on Linux), and each test a time limit, after
which the child is killed and a fresh one goes on with the next test. So an infinite loop, a
20 GB allocation or a crash fails that one test, and the grade is still written.

Grading is deterministic: hypothesis and the arrays are seeded by the assignment's seed, so
regrading the same files gives the same score and the same messages.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .catalogue import Assignment, get_assignment

TIME_LIMIT = 60.0  # seconds per test
MEMORY_MB = 2048  # above the child's own use once minicnn and hypothesis are imported
STARTUP_LIMIT = 120.0  # importing numpy, minicnn and hypothesis in the child
ASSIGNMENT_FILE = "assignment.json"

_TIMEOUT = object()


@dataclass
class TestResult:
    name: str
    score: float
    max_score: float
    output: str

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


@dataclass
class GradeReport:
    """The outcome of grading one folder: ``text()`` for people, ``gradescope()`` for
    Gradescope's ``results.json``."""

    assignment: Assignment
    directory: Path
    tests: list[TestResult]
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    def summary(self) -> str:
        a = self.assignment
        return (
            f"minicnn assignment {a.name} ({a.title}): {self.score:g} / {self.max_score:g} points"
        )

    def text(self) -> str:
        lines = [self.summary(), ""]
        for t in self.tests:
            mark = "PASS" if t.passed else "FAIL"
            first, *rest = t.output.splitlines() or [""]
            lines.append(f"  {mark}  {t.score:g}/{t.max_score:g}  {first}")
            lines += [f"{'':14}{line}" for line in rest]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def gradescope(self) -> dict[str, Any]:
        """Gradescope's autograder results: ``score``, and ``tests`` with ``name``, ``score``,
        ``max_score``, ``status``, ``output`` and ``visibility``."""
        return {
            "score": self.score,
            "execution_time": round(self.seconds, 1),
            "output": self.summary(),
            "visibility": "visible",
            "stdout_visibility": "visible",
            "tests": [
                {
                    "name": t.name,
                    "score": t.score,
                    "max_score": t.max_score,
                    "status": "passed" if t.passed else "failed",
                    "output": t.output,
                    "visibility": "visible",
                }
                for t in self.tests
            ],
        }


def assignment_of(directory: Path, name: str | None = None) -> Assignment:
    """``name``'s assignment, or the one ``make`` recorded in the folder's assignment.json."""
    if name is None:
        record = directory / ASSIGNMENT_FILE
        if not record.exists():
            raise ValueError(
                f"{directory} has no {ASSIGNMENT_FILE} (written by 'make'): name the assignment "
                "with --assignment"
            )
        name = json.loads(record.read_text())["assignment"]
    return get_assignment(name)


class _Child:
    """One worker process, its event lines read by a thread into a queue."""

    def __init__(self, request: dict[str, Any], workdir: str, log: IO[bytes]):
        root = str(Path(__file__).resolve().parents[2])  # the folder holding the minicnn package
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(name, "1")  # small arrays; and thread stacks count in the memory
        self.process = subprocess.Popen(
            [sys.executable, "-m", "minicnn.assignment._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=workdir,
            env=env,
            start_new_session=os.name == "posix",  # killed as a group, with any children
        )
        self.events: queue.Queue = queue.Queue()
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request).encode())
        self.process.stdin.close()
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                continue
        self.events.put(None)  # end of output: the child has exited

    def next(self, timeout: float) -> Any:
        """The next event, None if the child died, or _TIMEOUT."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return _TIMEOUT

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                if os.name == "posix":
                    os.killpg(self.process.pid, signal.SIGKILL)
                else:  # pragma: no cover
                    self.process.kill()
            except ProcessLookupError:
                pass
        self.process.wait()

    def death(self, log: IO[bytes]) -> str:
        """Why the child ended: its exit status and the last lines it wrote."""
        code = self.process.wait()
        if code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        log.flush()
        log.seek(0)
        tail = [line for line in log.read().decode(errors="replace").splitlines() if line.strip()]
        last = f"; its last output: {' | '.join(tail[-3:])}" if tail else ""
        return f"the grader's child process {how}{last}"


def grade(
    directory: str | Path,
    assignment: str | None = None,
    time_limit: float = TIME_LIMIT,
    memory_mb: int = MEMORY_MB,
    max_examples: int | None = None,
    isolate: bool = True,
) -> GradeReport:
    """Grade the student's files in ``directory``.

    ``assignment`` names it (default: from the folder's assignment.json). Each test runs with
    a limit of ``time_limit`` seconds, and the student's code may allocate ``memory_mb`` MB;
    ``max_examples`` lowers the number of hypothesis cases per test. ``isolate=False`` runs the
    student's code in this process, without limits: for debugging, and for trusted files only.
    """
    if importlib.util.find_spec("hypothesis") is None:
        raise ImportError(
            "grading needs hypothesis, which draws the cases: pip install 'minicnn[assignment]'"
        )
    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a folder")
    chosen = assignment_of(directory, assignment)
    started = time.monotonic()
    remaining = [t.name for t in chosen.tests]
    outputs: dict[str, tuple[float, str]] = {}
    notes: list[str] = []
    request = dict(
        assignment=chosen.name, directory=str(directory), memory_mb=memory_mb,
        max_examples=max_examples,
    )  # fmt: skip

    if not isolate:
        from ._worker import grade_test, load_student
        from .catalogue import Student

        modules, broken = load_student(chosen, directory, memory_mb)
        student = Student(modules, chosen.seed)
        for t in chosen.tests:
            outputs[t.name] = grade_test(
                chosen, t, student, broken, directory, memory_mb, max_examples
            )
        remaining.clear()

    def fail_all(reason: str) -> None:
        for name in remaining:
            outputs[name] = (0.0, f"{name}: {reason}")
        remaining.clear()

    with tempfile.TemporaryDirectory(prefix="minicnn-grade-") as workdir:
        while remaining:  # one child, and a fresh one after each test that kills it
            with tempfile.TemporaryFile(dir=workdir) as log:
                child = _Child({**request, "tests": remaining}, workdir, log)
                try:
                    ready = child.next(STARTUP_LIMIT)
                    if not isinstance(ready, dict):
                        fail_all("the grader could not start: " + child.death(log))
                        break
                    if ready.get("note") and ready["note"] not in notes:
                        notes.append(ready["note"])
                    if not isinstance(child.next(time_limit), dict):
                        child.kill()
                        fail_all(
                            f"importing the files did not finish within {time_limit:g} s "
                            "(code at the top level of a file that never ends?) or crashed: "
                            + child.death(log)
                        )
                        break
                    while remaining:
                        name = remaining[0]
                        start = child.next(STARTUP_LIMIT)
                        result = child.next(time_limit) if isinstance(start, dict) else start
                        if isinstance(result, dict) and result.get("event") == "result":
                            outputs[name] = (result["score"], result["output"])
                            remaining.pop(0)
                            continue
                        remaining.pop(0)
                        if result is _TIMEOUT:
                            child.kill()
                            outputs[name] = (
                                0.0,
                                f"{name}: did not finish within the time limit of {time_limit:g} s "
                                "(an infinite loop, or very slow code?)",
                            )
                        else:
                            outputs[name] = (0.0, f"{name}: crashed: {child.death(log)}")
                        break  # a fresh child for the tests left
                finally:
                    child.kill()

    tests = [
        TestResult(t.name, outputs[t.name][0], float(t.points), outputs[t.name][1])
        for t in chosen.tests
    ]
    return GradeReport(chosen, directory, tests, time.monotonic() - started, notes)
