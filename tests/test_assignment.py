"""minicnn.assignment: the solution markers, make, and grading in this process (isolate=False).

Grading in a child process, with its time and memory limits, is in test_assignment_grade.py.
"""

import ast
import json
import sys

import numpy as np
import pytest

from minicnn.assignment import ASSIGNMENTS, grade, make
from minicnn.assignment.checks import Mismatch, compare, number
from minicnn.assignment.make import file_text
from minicnn.assignment.source import MarkerError, all_blocks, cut, find_blocks

MARKED = [
    "minicnn.ops.reference",
    "minicnn.ops.im2col",
    "minicnn.autograd",
    "minicnn.ops.math",
    "minicnn.optim.sgd",
    "minicnn.optim.adam",
]
EXAMPLES = 8  # hypothesis cases per test: the solutions pass all; bugs show in the first few


def plant(folder, filename, code):
    """A student's bug: a new definition at the end of the file replaces the solution's."""
    with open(folder / filename, "a") as f:
        f.write("\n\n" + code.strip() + "\n")


def outputs(report):
    return {t.name: t.output for t in report.tests}


# --- markers and cutting -------------------------------------------------------------------


def test_every_solution_block_belongs_to_an_assignment_and_back():
    implemented = {
        (spec.module, name)
        for a in ASSIGNMENTS.values()
        for spec in a.files
        for name in spec.implement
    }
    marked = {(module, name) for module in MARKED for name, _ in all_blocks(module)}
    assert marked == implemented


def test_cut_leaves_the_hints_and_a_raise():
    lines = [
        "def f(x):",
        "    y = x + 1",
        "    ### BEGIN SOLUTION",
        "    ### HINT: double it",
        "    ### HINT: then return it",
        "    return 2 * y",
        "    ### END SOLUTION",
    ]
    assert cut(lines, "f", solutions=False) == [
        "def f(x):",
        "    y = x + 1",
        "    # Hint: double it",
        "    #       then return it",
        '    raise NotImplementedError("f: your code here")',
    ]
    assert cut(lines, "f", solutions=True) == ["def f(x):", "    y = x + 1", "    return 2 * y"]


@pytest.mark.parametrize(
    "lines, match",
    [
        (["### BEGIN SOLUTION", "x = 1"], "without an ### END"),
        (["x = 1", "### END SOLUTION"], "without a ### BEGIN"),
        (["### BEGIN SOLUTION", "### BEGIN SOLUTION", "### END SOLUTION"], "inside another"),
    ],
)
def test_unpaired_markers_are_errors(lines, match):
    with pytest.raises(MarkerError, match=match):
        find_blocks(lines, "file.py")


# --- make ----------------------------------------------------------------------------------


def _imported_roots(tree):
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import in a student file"
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_make_writes_the_students_files(tmp_path, name):
    assignment = ASSIGNMENTS[name]
    written = make(name, tmp_path / "hw")
    assert sorted(p.name for p in written) == sorted(
        [*(s.name for s in assignment.files), "README.md", "check.py", "assignment.json"]
    )
    assert json.loads((tmp_path / "hw" / "assignment.json").read_text())["assignment"] == name
    readme = (tmp_path / "hw" / "README.md").read_text()
    assert "python check.py" in readme
    assert all(f"| {t.name} | {t.points:g} |" in readme for t in assignment.tests)
    for spec in assignment.files:
        text = (tmp_path / "hw" / spec.name).read_text()
        tree = ast.parse(text)  # valid Python
        assert "### BEGIN SOLUTION" not in text and "### HINT" not in text
        blocks = [n for n, _ in all_blocks(spec.module) if n in spec.implement]
        assert text.count('your code here")') == len(blocks)
        assert "# Hint:" in text
        # numpy and minicnn only, besides the standard library
        assert _imported_roots(tree) - set(sys.stdlib_module_names) <= {"numpy", "minicnn"}
        defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert set(spec.implement) <= defined
        solution = file_text(assignment, spec, solutions=True)
        assert "NotImplementedError(" not in solution.replace('raise NotImplementedError("', "")
        assert "your code here" not in solution


def test_make_never_overwrites_a_students_work(tmp_path):
    make("losses", tmp_path)
    (tmp_path / "losses.py").write_text("# my work\n")
    with pytest.raises(FileExistsError, match=r"already has losses.py.*force"):
        make("losses", tmp_path)
    assert (tmp_path / "losses.py").read_text() == "# my work\n"
    make("losses", tmp_path, force=True)
    assert "raise NotImplementedError" in (tmp_path / "losses.py").read_text()


def test_unknown_assignment():
    with pytest.raises(ValueError, match="unknown assignment 'convv'; choose one of: autograd"):
        make("convv", "unused")


# --- the messages ----------------------------------------------------------------------------


def test_compare_names_the_first_wrong_element():
    expected = np.zeros((1, 1, 3, 2))
    got = expected.copy()
    got[0, 0, 2, 1], got[0, 0, 1, 0] = 0.3, 7.0
    with pytest.raises(Mismatch, match=r"^at dx\[0, 0, 1, 0\] expected 0\.0, got 7\.0; 2 of 6"):
        compare("dx", got, expected)
    with pytest.raises(Mismatch, match=r"^db has shape \(1, 3\), expected \(3,\)$"):
        compare("db", np.zeros((1, 3)), np.zeros(3))
    with pytest.raises(Mismatch, match=r"^loss expected 0\.52, got nan$"):
        compare("loss", np.float64("nan"), np.float64(0.52))
    with pytest.raises(Mismatch, match="y is None: return an array"):
        compare("y", None, expected)
    compare("y", expected + 1e-12, expected)  # within the tolerance
    assert [number(v) for v in (0.5200001, -0.0, 1.23456e-5, float("inf"))] == [
        "0.52", "0.0", "1.235e-05", "inf",
    ]  # fmt: skip


# --- grading here (the child process is tested in test_assignment_grade.py) ------------------


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_solutions_get_full_marks_and_the_skeleton_none(tmp_path, name):
    make(name, tmp_path / "solutions", solutions=True)
    report = grade(tmp_path / "solutions", isolate=False, max_examples=EXAMPLES)
    assert [t.output for t in report.tests if not t.passed] == []
    assert report.score == report.max_score == ASSIGNMENTS[name].points

    make(name, tmp_path / "skeleton")
    report = grade(tmp_path / "skeleton", isolate=False, max_examples=EXAMPLES)
    assert report.score == 0
    assert all("not implemented yet" in t.output for t in report.tests), report.text()


def test_planted_conv_bugs_are_caught_with_the_smallest_case(tmp_path):
    make("conv", tmp_path, solutions=True)
    plant(tmp_path, "conv.py", """
def _output_size(size, kernel, stride, padding, dilation=(1, 1)):  # off by one: no + 1
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s
        for n, k, s, p, d in zip(size, kernel, stride, padding, dilation, strict=True)
    )


def conv2d_backward(x, w, g, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    xp = backend.get_array_module(x)
    x_pad = _pad(x, padding)
    dx_pad, dw = xp.zeros_like(x_pad), xp.zeros_like(w)
    for i, j, rows, cols in _windows(g.shape[2:], w.shape[2:], stride, dilation):
        for ins, outs in _groups(groups, x.shape[1], w.shape[0]):
            g_ij = g[:, outs, i, j]
            flipped = w[outs][:, :, ::-1, ::-1]  # the kernel transposed for dx
            dx_pad[:, ins, rows, cols] += xp.einsum("no,ockl->nckl", g_ij, flipped)
            dw[outs] += xp.einsum("no,nckl->ockl", g_ij, x_pad[:, ins, rows, cols])
    return _crop(dx_pad, padding, x.shape[2:]), dw, g.sum(axis=(2, 3))  # no sum over the batch
""")  # fmt: skip
    report = grade(tmp_path, isolate=False, max_examples=EXAMPLES)
    out = outputs(report)
    assert report.score == 2 + 2 + 2  # im2col, col2im and dw stay right
    assert out["conv2d forward"] == (
        "conv2d forward: fails for input (1, 1, 1, 1), kernel 1x1, stride 1, padding 0, no "
        "bias; y has shape (1, 1, 0, 0), expected (1, 1, 1, 1)"
    )
    # a 1x2 kernel is the smallest that a flip changes
    assert out["conv2d backward, dx"].startswith(
        "conv2d backward, dx: fails for input (1, 1, 1, 2), kernel 1x2, stride 1, padding 0; "
        "at dx[0, 0, 0, 0] expected "
    )
    assert "(finite differences of the forward give " in out["conv2d backward, dx"]
    assert out["conv2d backward, db"] == (
        "conv2d backward, db: fails for input (1, 1, 1, 1), kernel 1x1, stride 1, padding 0; "
        "db has shape (1, 1), expected (1,)"
    )
    assert out["conv2d backward, dw"].startswith("conv2d backward, dw: passed")


def test_a_bug_only_for_stride_2_and_padding_1_shrinks_to_that_case(tmp_path):
    make("conv", tmp_path, solutions=True)
    plant(tmp_path, "conv.py", """
_right = conv2d_backward


def conv2d_backward(x, w, g, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    dx, dw, db = _right(x, w, g, stride, padding, dilation, groups)
    if stride == (2, 2) and padding == (1, 1):
        dx[..., -1, :] = 0.0  # a student's crop that loses the last row
    return dx, dw, db
""")  # fmt: skip
    output = outputs(grade(tmp_path, isolate=False, max_examples=40))["conv2d backward, dx"]
    assert output.startswith("conv2d backward, dx: fails for input (1, 1, "), output
    assert ", stride 2, padding 1; at dx[0, 0, " in output
    assert ", got 0.0 (finite differences of the forward give " in output
    assert "groups" not in output and "dilation" not in output  # shrunk away


def test_max_pooling_gradient_sent_to_every_tie(tmp_path):
    make("pool", tmp_path, solutions=True)
    plant(tmp_path, "pool.py", """
def max_pool2d_backward(x, g, kernel, stride=None, padding=(0, 0)):
    xp, stride = backend.get_array_module(x), stride or kernel
    x_pad = _pad(x, padding, float("-inf"))
    dx_pad = xp.zeros_like(x_pad)
    for i, j, rows, cols in _windows(g.shape[2:], kernel, stride):
        window = x_pad[:, :, rows, cols]
        is_max = window == window.max(axis=(2, 3), keepdims=True)  # every tie
        dx_pad[:, :, rows, cols] += is_max * g[:, :, i, j, None, None]
    return _crop(dx_pad, padding, x.shape[2:])
""")  # fmt: skip
    report = grade(tmp_path, isolate=False, max_examples=EXAMPLES)
    assert [t.name for t in report.tests if not t.passed] == ["max_pool2d backward"]
    lines = outputs(report)["max_pool2d backward"].splitlines()
    assert lines[0].startswith("max_pool2d backward: fails for input (1, 1, 1, 2), kernel 1x2,")
    assert "at dx[0, 0, 0, 1] expected 0.0, got " in lines[0]
    assert lines[1] == "x = [[[[-2., -2.]]]]"  # the tie, to work through by hand


def test_engine_bugs(tmp_path):
    make("autograd", tmp_path, solutions=True)
    plant(tmp_path, "autograd.py", """
def _topological_order(root):  # pre-order: a Function may come before one of its consumers
    order, seen, stack = [], set(), [root]
    while stack:
        fn = stack.pop()
        if id(fn) not in seen:
            seen.add(id(fn))
            order.append(fn)
            stack += [t.grad_fn for t in fn.inputs if t is not None and t.grad_fn is not None]
    return order
""")  # fmt: skip
    plant(tmp_path, "elementwise.py", """
class Mul(Mul):
    def backward(self, g):
        return g * self.b, g * self.a  # not summed back to the inputs' shapes
""")  # fmt: skip
    out = outputs(grade(tmp_path, isolate=False, max_examples=EXAMPLES))
    diamond = "the graph x0 of shape (2,); v1 = tanh(x0); v2 = tanh(v1); out = v2 + v1"
    assert out["topological order"] == (
        f"topological order: fails for {diamond}; the order puts v1 before v2, which uses it: "
        "every consumer must come before the producers of its inputs"
    )
    assert out["backward: gradients through a graph"].startswith(
        f"backward: gradients through a graph: fails for {diamond}; at x0.grad[0] expected "
    )
    assert out["Mul backward"] == (
        "Mul backward: fails for a (1,), b (); raises RuntimeError: Mul.backward returned a "
        "gradient of shape (1,) for an input of shape ()"
    )


def test_numerically_unstable_softmax_and_a_broken_file(tmp_path):
    make("losses", tmp_path, solutions=True)
    plant(tmp_path, "losses.py", """
def _log_softmax(z):  # no max shift
    xp = backend.get_array_module(z)
    return z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))
""")  # fmt: skip
    out = outputs(grade(tmp_path, isolate=False, max_examples=EXAMPLES))
    assert out["cross_entropy forward"].startswith(
        "cross_entropy forward: fails for logits (1, 2) of size about 1000, targets ["
    )
    assert "; loss expected " in out["cross_entropy forward"]
    assert out["cross_entropy forward"].endswith((", got inf", ", got nan"))

    (tmp_path / "losses.py").write_text("def cross_entropy_forward(:\n")
    report = grade(tmp_path, isolate=False, max_examples=EXAMPLES)
    assert report.score == 0
    assert "importing losses.py fails: raises SyntaxError" in report.tests[0].output
    (tmp_path / "losses.py").unlink()
    assert "losses.py is missing from" in grade(tmp_path, isolate=False).tests[0].output


def test_optimizer_bugs(tmp_path):
    make("optim", tmp_path, solutions=True)
    plant(tmp_path, "adam.py", """
class Adam(Adam):
    def _update(self, param, grad, state, group):
        super()._update(param, grad, state, group)
        state["step"] = 0  # the steps are not counted: the bias correction is always step 1's
""")  # fmt: skip
    out = outputs(grade(tmp_path, isolate=False, max_examples=EXAMPLES))
    assert out["SGD"].startswith("SGD: passed")
    assert out["Adam"].startswith("Adam: fails for Adam(lr=0.1, betas=(0.9, 0.999), eps=1e-08, ")
    assert ", 2 steps; at the parameter after step 2: param[0] expected " in out["Adam"]


def test_grading_is_deterministic_and_results_are_gradescopes(tmp_path):
    make("pool", tmp_path, solutions=True)
    plant(tmp_path, "pool.py", """
def avg_pool2d_backward(x, g, kernel, stride=None, padding=(0, 0), count_include_pad=True):
    return max_pool2d_backward(x, g, kernel, stride, padding)
""")  # fmt: skip
    first, second = (grade(tmp_path, isolate=False, max_examples=EXAMPLES) for _ in range(2))
    assert first.score == second.score == 7
    assert outputs(first) == outputs(second)
    results = json.loads(json.dumps(first.gradescope()))
    check_gradescope(results)
    assert results["score"] == 7
    assert [t["status"] for t in results["tests"]] == ["passed", "passed", "passed", "failed"]


def check_gradescope(results):
    """The keys and types of Gradescope's autograder results.json."""
    visibility = {"hidden", "after_due_date", "after_published", "visible"}
    assert isinstance(results["score"], (int, float))
    assert results["visibility"] in visibility and results["stdout_visibility"] in visibility
    assert isinstance(results["execution_time"], (int, float))
    assert isinstance(results["output"], str)
    assert results["tests"]
    for test in results["tests"]:
        assert set(test) <= {"name", "score", "max_score", "status", "output", "visibility",
                             "number", "tags", "extra_data", "output_format", "name_format"}  # fmt: skip
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in {"passed", "failed"} and test["visibility"] in visibility
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


def test_the_minicnn_command_has_assignment(capsys):
    from minicnn.cli import main as minicnn

    assert minicnn(["assignment", "list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in ASSIGNMENTS)
    assert "pool.py: max_pool2d_forward, max_pool2d_backward" in listed
    with pytest.raises(SystemExit):
        minicnn(["assignment", "make", "nope", "--out", "x"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err
