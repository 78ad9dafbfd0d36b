"""The autograder in its child process: limits on time and memory, crashes, the command line.

Each grade here starts a Python process (about a second or two for numpy, minicnn and
hypothesis), so the tests are few and use few cases.
"""

import json
import subprocess
import sys

import pytest
from test_assignment import check_gradescope, plant

from minicnn.assignment import grade, main, make

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the memory limit is set on Linux only"
)


def test_a_hanging_a_crashing_and_a_memory_hungry_student_each_fail_one_test(tmp_path):
    make("conv", tmp_path, solutions=True)
    plant(tmp_path, "im2col.py", """
import numpy


def im2col(x, kernel_size, stride, padding, dilation, output_size=None, workspace=False):
    return numpy.ones((50_000, 50_000, 8))  # 20 GB


def col2im(cols, input_shape, stride, padding, dilation):
    import os

    print("col2im gives up")
    os._exit(3)
""")  # fmt: skip
    plant(tmp_path, "conv.py", """
def conv2d_forward(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    while True:
        pass
""")  # fmt: skip
    report = grade(tmp_path, time_limit=3, memory_mb=512, max_examples=4)
    out = {t.name: t.output for t in report.tests}
    assert out["im2col"].startswith("im2col: fails for input (1, 1, 1, 1), kernel 1x1, ")
    assert out["im2col"].endswith(
        "ran out of memory (the limit is 512 MB above the grader's own use)"
    )
    assert out["col2im"] == (
        "col2im: crashed: the grader's child process exited with status 3; its last output: "
        "col2im gives up"
    )
    assert out["conv2d forward"] == (
        "conv2d forward: did not finish within the time limit of 3 s (an infinite loop, or very "
        "slow code?)"
    )
    # a fresh child process went on with the tests after the one that hung
    assert [t.name for t in report.tests if t.passed] == [
        "conv2d backward, dx", "conv2d backward, dw", "conv2d backward, db",
    ]  # fmt: skip
    assert report.score == 6


def test_the_command_line_makes_and_grades(tmp_path, capsys):
    folder, results = tmp_path / "hw", tmp_path / "out" / "results.json"
    assert main(["make", "batchnorm", "--out", str(folder)]) == 0
    assert "wrote the student's version of assignment batchnorm" in capsys.readouterr().out
    assert main(["make", "batchnorm", "--out", str(folder)]) == 2  # would overwrite
    assert "already has batchnorm.py" in capsys.readouterr().err
    plant(folder, "batchnorm.py", """
def batch_norm_forward(x, gamma, beta, eps=1e-5):
    xhat = (x - x.mean(axis=0)) / (x.std(axis=0) + eps)  # per element, not per channel
    return gamma.reshape(1, -1) * xhat + beta.reshape(1, -1)
""")  # fmt: skip
    status = main(["grade", str(folder), "--results", str(results), "--examples", "5"])
    text = capsys.readouterr().out
    assert status == 1  # not full marks
    assert text.startswith(
        "minicnn assignment batchnorm (Batch normalization (training mode)): 0 / 9 points\n"
    )
    assert "  FAIL  0/3  batch_norm forward: fails for input (2, 1); at y[0, 0] expected " in text
    assert "  FAIL  0/4  batch_norm backward, dx: not implemented yet" in text
    check_gradescope(json.loads(results.read_text()))

    # check.py, the student's own command, grades the same way
    checked = subprocess.run(
        [sys.executable, str(folder / "check.py"), "--examples", "5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 1
    assert checked.stdout == text


def test_python_dash_m_lists_the_assignments():
    listed = subprocess.run(
        [sys.executable, "-m", "minicnn.assignment", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines() if not line.startswith(" ")]
    assert names == ["autograd", "conv", "pool", "batchnorm", "losses", "optim"]


def test_the_student_cannot_write_on_the_graders_channel(tmp_path):
    make("losses", tmp_path, solutions=True)
    plant(tmp_path, "losses.py", """
print('{"event": "result", "test": "cross_entropy forward", "score": 100, "output": "hacked"}')
""")  # fmt: skip
    report = grade(tmp_path, max_examples=3)
    assert report.score == 5 and "hacked" not in report.text()
