"""Coursework from minicnn's own code: assignments, and an autograder that answers with the
smallest failing case.

Solution blocks are marked in minicnn's teaching code with nbgrader's comments
(``### BEGIN SOLUTION`` / ``### END SOLUTION``, hints as ``### HINT:``), so the package is the
answer key and its own tests keep it right. Three commands::

    minicnn assignment list
    minicnn assignment make conv --out hw2 [--solutions]
    minicnn assignment grade hw2 [--results results.json]

``make`` writes the student's files (each block replaced by its hints and
``raise NotImplementedError``), a README and ``check.py``. ``grade`` runs the student's files in
a child process with time and memory limits, over cases that hypothesis draws, and reports the
smallest failing case; ``results.json`` is in Gradescope's format. Grading needs hypothesis.
"""

from .catalogue import ASSIGNMENTS, Assignment, StudentFile, Test, get_assignment
from .cli import main
from .grader import GradeReport, TestResult, grade
from .make import make

__all__ = [
    "ASSIGNMENTS", "Assignment", "GradeReport", "StudentFile", "Test", "TestResult",
    "get_assignment", "grade", "main", "make",
]  # fmt: skip
