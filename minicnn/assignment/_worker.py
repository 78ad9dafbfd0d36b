"""The grader's child process: import the student's files and run tests, one at a time.

Started by :mod:`minicnn.assignment.grader` as ``python -m minicnn.assignment._worker`` with a
JSON request on standard input (assignment, folder, test names, memory limit). It answers with
JSON lines on its original standard output, which nothing else writes to: the student's prints
(Python's and C's) go to standard error. Events: ``ready`` (minicnn and hypothesis imported),
``imported`` (the student's files, or why not), then ``start`` and ``result`` per test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
import warnings
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from .catalogue import Assignment, Student, Test, get_assignment
from .checks import Mismatch


def _send(channel: IO[str], **event: Any) -> None:
    channel.write(json.dumps(event) + "\n")
    channel.flush()


def limit_memory(megabytes: int) -> str:
    """Cap this process's address space at what it uses now plus ``megabytes`` (Linux); returns
    a note when the limit cannot be set here."""
    try:
        import resource

        status = Path("/proc/self/status").read_text()
        used = next(
            int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmSize")
        )
        limit = used + megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        return ""
    except (ImportError, OSError, ValueError, StopIteration) as error:
        return f"no memory limit on this system ({error})"


def _where(error: BaseException, directory: Path) -> str:
    """`` (conv.py, line 42: y = ...)`` for the deepest frame in the student's files."""
    frames = [
        f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).parent == directory
    ]
    if not frames:
        return ""
    frame = frames[-1]
    code = f": {frame.line}" if frame.line else ""
    return f" (at {Path(frame.filename).name}, line {frame.lineno}{code})"


def _load(path: Path, stem: str) -> ModuleType:
    # a name per folder: grading two folders in one process keeps their modules apart
    tag = abs(hash(str(path.parent)))
    spec = importlib.util.spec_from_file_location(f"minicnn_student_{tag}_{stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def describe_error(error: BaseException, directory: Path, memory_mb: int) -> str:
    if isinstance(error, MemoryError):
        return f"ran out of memory (the limit is {memory_mb} MB above the grader's own use)"
    if isinstance(error, RecursionError):
        return f"raises RecursionError: {error}{_where(error, directory)}"
    if isinstance(error, SystemExit):
        return f"calls sys.exit({error.code}){_where(error, directory)}"
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return f"raises {type(error).__name__}: {first}{_where(error, directory)}"


def run_test(
    assignment: Assignment,
    test: Test,
    student: Student,
    directory: Path,
    memory_mb: int,
    max_examples: int | None = None,
) -> tuple[float, str]:
    """Run one test over its hypothesis cases; (score, output), the output naming the smallest
    failing case that hypothesis shrank to."""
    from hypothesis import HealthCheck, Phase, Verbosity, example, given, seed, settings

    failures: dict[int, tuple[Any, str]] = {}
    missing: list[str] = []
    count = [0]

    def body(case: Any) -> None:
        count[0] += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # overflow in a student's exp: the value says it
                test.check(student, case)
        except NotImplementedError as error:  # not written yet: no case to shrink
            missing.append(str(error) or "NotImplementedError")
            return
        except Mismatch as error:
            failures[id(error)] = (case, str(error))
            raise
        except (Exception, SystemExit) as error:  # noqa: BLE001 (any bug of the student's)
            wrapped = Mismatch(describe_error(error, directory, memory_mb))
            failures[id(wrapped)] = (case, str(wrapped))
            raise wrapped from error

    examples = test.max_examples if max_examples is None else min(max_examples, test.max_examples)
    tested = given(test.cases())(body)
    for case in test.examples():
        tested = example(case)(tested)
    runner = seed(assignment.seed)(
        settings(
            settings.get_profile("default"),  # the same run wherever a profile is loaded
            max_examples=examples,
            derandomize=False,  # the seed decides
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(tested)
    )
    try:
        runner()
    except Mismatch as error:
        case, message = failures.get(id(error), (None, str(error)))
        if case is None and failures:
            case, message = list(failures.values())[-1]
        where = f" for {case.describe()}" if case is not None else ""
        return 0.0, f"{test.name}: fails{where}; {message}"
    except Exception as error:  # noqa: BLE001 (hypothesis itself: flaky, unsatisfiable)
        if failures:
            case, message = list(failures.values())[-1]
            return 0.0, f"{test.name}: fails for {case.describe()}; {message}"
        return 0.0, f"{test.name}: the grader could not run it: {type(error).__name__}: {error}"
    if missing:
        return 0.0, f"{test.name}: not implemented yet ({missing[0]})"
    return float(test.points), f"{test.name}: passed ({count[0]} cases)"


def load_student(
    assignment: Assignment, directory: Path, memory_mb: int
) -> tuple[dict[str, ModuleType], dict[str, str]]:
    """The student's modules by file stem, and for the files that would not import, why."""
    modules: dict[str, ModuleType] = {}
    broken: dict[str, str] = {}
    for spec in assignment.files:
        path = directory / spec.name
        if not path.exists():
            broken[spec.stem] = f"{spec.name} is missing from {directory}"
            continue
        try:
            modules[spec.stem] = _load(path, spec.stem)
        except (Exception, SystemExit) as error:  # noqa: BLE001
            broken[spec.stem] = f"importing {spec.name} fails: " + describe_error(
                error, directory, memory_mb
            )
    return modules, broken


def grade_test(
    assignment: Assignment,
    test: Test,
    student: Student,
    broken: dict[str, str],
    directory: Path,
    memory_mb: int,
    max_examples: int | None,
) -> tuple[float, str]:
    if test.file in broken:
        return 0.0, f"{test.name}: {broken[test.file]}"
    return run_test(assignment, test, student, directory, memory_mb, max_examples)


def main() -> None:
    request = json.loads(sys.stdin.read())
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the student's prints go to standard error
    sys.stdout = sys.stderr
    import hypothesis  # noqa: F401 (imported before the memory limit)

    assignment = get_assignment(request["assignment"])
    directory = Path(request["directory"]).resolve()
    memory_mb = int(request["memory_mb"])
    note = limit_memory(memory_mb)
    _send(channel, event="ready", note=note)

    modules, broken = load_student(assignment, directory, memory_mb)
    _send(channel, event="imported")

    student = Student(modules, assignment.seed)
    for name in request["tests"]:
        test = assignment.test(name)
        _send(channel, event="start", test=name)
        score, output = grade_test(
            assignment, test, student, broken, directory, memory_mb, request.get("max_examples")
        )
        _send(channel, event="result", test=name, score=score, output=output)


if __name__ == "__main__":
    main()
