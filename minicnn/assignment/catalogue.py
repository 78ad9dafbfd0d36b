"""The assignments: which of minicnn's functions the student writes, and how each is graded.

Every assignment names its student files (each cut from one minicnn module: the functions to
implement and the helpers given as they are) and its tests. A test has points, a hypothesis
strategy of cases and a check, which runs the student's code on one case and raises
:class:`~minicnn.assignment.checks.Mismatch` when it differs from minicnn's own code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .. import autograd
from ..ops import im2col as I
from ..ops import math as M
from ..ops import reference as R
from ..optim import SGD, Adam
from ..tensor import Tensor
from .checks import (
    Case,
    Mismatch,
    as_array,
    batch_norm_cases,
    broadcast_shapes,
    compare,
    conv_cases,
    cross_entropy_cases,
    finite_difference,
    generator,
    im2col_cases,
    pool_cases,
    shape_text,
    strategies,
    tiny_values,
)


@dataclass(frozen=True)
class StudentFile:
    """``name`` (e.g. ``"conv.py"``) made from ``module``: ``implement`` are the functions (or
    classes) whose solution blocks the student writes, ``given`` the helpers kept whole."""

    name: str
    module: str
    implement: tuple[str, ...]
    given: tuple[str, ...] = ()

    @property
    def stem(self) -> str:
        return self.name.removesuffix(".py")


@dataclass(frozen=True)
class Test:
    """One graded test: ``check(student, case)`` over the cases of ``cases()``."""

    name: str
    points: float
    file: str  # the stem of the student file it exercises
    cases: Callable[[], Any]
    check: Callable[[Student, Case], None]
    max_examples: int = 30
    examples: Callable[[], list[Case]] = list  # cases always tried first (not shrunk)


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    summary: str  # a paragraph for the student's README
    files: tuple[StudentFile, ...]
    tests: tuple[Test, ...]
    seed: int

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests)

    def test(self, name: str) -> Test:
        for t in self.tests:
            if t.name == name:
                return t
        raise KeyError(name)


class Student:
    """The student's imported modules, by file stem, and the assignment's seed."""

    def __init__(self, modules: dict[str, ModuleType], seed: int):
        self.modules, self.seed = modules, seed

    def function(self, file: str, name: str) -> Any:
        module = self.modules[file]
        if not hasattr(module, name):
            raise Mismatch(f"{file}.py defines no {name}")
        return getattr(module, name)


def _returned(value: Any, count: int, name: str, names: str) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != count:
        raise Mismatch(f"{name} returned {type(value).__name__}, expected a tuple ({names})")
    return tuple(value)


def _with_values(check: Callable[[], None], **arrays: np.ndarray) -> None:
    """Run ``check``; on a Mismatch add the (small) inputs, to reproduce it by hand."""
    try:
        check()
    except Mismatch as error:
        shown = [tiny_values(k, v) for k, v in arrays.items()]
        shown = [s for s in shown if s]
        raise Mismatch("\n".join([str(error), *shown])) from None


# --- conv: im2col, col2im, conv2d forward and backward ----------------------------------------


def _conv_data(student: Student, case: Case) -> tuple:
    c, bias = case.config
    rng = generator(student.seed, case.data_seed)
    x = rng.standard_normal(c.input_shape)
    w = rng.standard_normal((c.out_channels, c.in_channels // c.groups, *c.kernel_size))
    b = rng.standard_normal(c.out_channels) if bias else None
    g = rng.standard_normal(c.output_shape)
    options = dict(stride=c.stride, padding=c.padding, dilation=c.dilation, groups=c.groups)
    return x, w, b, g, options


def check_conv_forward(student: Student, case: Case) -> None:
    x, w, b, _, options = _conv_data(student, case)
    conv = student.function("conv", "conv2d_forward")
    got = conv(x.copy(), w.copy(), None if b is None else b.copy(), **options)
    compare("y", got, R.conv2d_forward(x, w, b, **options))


def conv_backward(which: int) -> Callable[[Student, Case], None]:
    """The check of one of conv2d_backward's (dx, dw, db)."""

    def check(student: Student, case: Case) -> None:
        x, w, b, g, options = _conv_data(student, case)
        backward = student.function("conv", "conv2d_backward")
        got = _returned(
            backward(x.copy(), w.copy(), g.copy(), **options), 3, "conv2d_backward", "dx, dw, db"
        )
        expected = R.conv2d_backward(x, w, g, **options)
        bias = np.zeros(w.shape[0]) if b is None else b

        def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
            return R.conv2d_forward(x, w, b, **options)

        fd = finite_difference(forward, [x, w, bias], which, g)
        compare(("dx", "dw", "db")[which], got[which], expected[which], fd)

    return check


def check_im2col(student: Student, case: Case) -> None:
    c, padding = case.config
    x = generator(student.seed, case.data_seed).standard_normal(c.input_shape)
    args = (c.kernel_size, c.stride, padding, c.dilation)
    got = student.function("im2col", "im2col")(x.copy(), *args)
    compare("cols", got, I.im2col(x, *args))


def check_col2im(student: Student, case: Case) -> None:
    c, padding = case.config
    shape = I.im2col(np.zeros(c.input_shape), c.kernel_size, c.stride, padding, c.dilation).shape
    cols = generator(student.seed, case.data_seed).standard_normal(shape)
    args = (c.input_shape, c.stride, padding, c.dilation)
    got = student.function("im2col", "col2im")(cols.copy(), *args)
    compare("x", got, I.col2im(cols, *args))


# --- pool --------------------------------------------------------------------------------------


def _pool_data(student: Student, case: Case, ties: bool) -> tuple:
    c, include = case.config if isinstance(case.config, tuple) else (case.config, None)
    rng = generator(student.seed, case.data_seed)
    # max pooling on small integers: windows with ties, where only the first maximum counts
    x = (
        rng.integers(-2, 3, c.input_shape).astype(np.float64)
        if ties
        else rng.standard_normal(c.input_shape)
    )
    g = rng.standard_normal(c.output_shape)
    options: dict[str, Any] = dict(kernel=c.kernel_size, stride=c.stride, padding=c.padding)
    if include is not None:
        options["count_include_pad"] = include
    return x, g, options


def check_max_pool_forward(student: Student, case: Case) -> None:
    x, _, options = _pool_data(student, case, ties=True)
    got = student.function("pool", "max_pool2d_forward")(x.copy(), **options)
    _with_values(lambda: compare("y", got, R.max_pool2d_forward(x, **options)), x=x)


def check_max_pool_backward(student: Student, case: Case) -> None:
    x, g, options = _pool_data(student, case, ties=True)
    got = student.function("pool", "max_pool2d_backward")(x.copy(), g.copy(), **options)
    _with_values(lambda: compare("dx", got, R.max_pool2d_backward(x, g, **options)), x=x, g=g)


def check_avg_pool_forward(student: Student, case: Case) -> None:
    x, _, options = _pool_data(student, case, ties=False)
    got = student.function("pool", "avg_pool2d_forward")(x.copy(), **options)
    compare("y", got, R.avg_pool2d_forward(x, **options))


def check_avg_pool_backward(student: Student, case: Case) -> None:
    x, g, options = _pool_data(student, case, ties=False)
    got = student.function("pool", "avg_pool2d_backward")(x.copy(), g.copy(), **options)
    fd = finite_difference(lambda x: R.avg_pool2d_forward(x, **options), [x], 0, g)
    compare("dx", got, R.avg_pool2d_backward(x, g, **options), fd)


# --- batchnorm ---------------------------------------------------------------------------------


def _batch_norm_data(student: Student, case: Case) -> tuple:
    shape = case.config
    rng = generator(student.seed, case.data_seed)
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    return x, gamma, beta, rng.standard_normal(shape)


def check_batch_norm_forward(student: Student, case: Case) -> None:
    x, gamma, beta, _ = _batch_norm_data(student, case)
    got = student.function("batchnorm", "batch_norm_forward")(x.copy(), gamma.copy(), beta.copy())
    compare("y", got, R.batch_norm_forward(x, gamma, beta))


def batch_norm_backward(which: int) -> Callable[[Student, Case], None]:
    def check(student: Student, case: Case) -> None:
        x, gamma, beta, g = _batch_norm_data(student, case)
        backward = student.function("batchnorm", "batch_norm_backward")
        got = _returned(
            backward(x.copy(), gamma.copy(), g.copy()), 3, "batch_norm_backward",
            "dx, dgamma, dbeta",
        )  # fmt: skip
        expected = R.batch_norm_backward(x, gamma, g)
        fd = finite_difference(R.batch_norm_forward, [x, gamma, beta], which, g)
        compare(("dx", "dgamma", "dbeta")[which], got[which], expected[which], fd)

    return check


# --- losses ------------------------------------------------------------------------------------


def _cross_entropy_data(student: Student, case: Case) -> tuple:
    n, c, scale, target = case.config
    rng = generator(student.seed, case.data_seed)
    return rng.standard_normal((n, c)) * scale, target, float(rng.uniform(0.5, 2.0))


def check_cross_entropy_forward(student: Student, case: Case) -> None:
    logits, target, _ = _cross_entropy_data(student, case)
    got = student.function("losses", "cross_entropy_forward")(logits.copy(), target.copy())
    compare("loss", got, R.cross_entropy_forward(logits, target))


def check_cross_entropy_backward(student: Student, case: Case) -> None:
    logits, target, g = _cross_entropy_data(student, case)
    backward = student.function("losses", "cross_entropy_backward")
    got = backward(logits.copy(), target.copy(), g)
    fd = finite_difference(lambda z: R.cross_entropy_forward(z, target), [logits], 0, g)
    compare("dlogits", got, R.cross_entropy_backward(logits, target, g), fd)


# --- optim -------------------------------------------------------------------------------------

_GRADIENT_SIZES = (1.0, 3.0, 0.1, 1.0)  # steps of different sizes: amsgrad's maximum matters


def optimizer_cases(name: str, **options: list) -> Any:
    """Cases of one optimizer: parameter shape, number of steps, options drawn from lists."""
    st = strategies()

    def case(shape: tuple[int, ...], steps: int, chosen: dict[str, Any], seed: int) -> Case:
        settings = ", ".join(f"{k}={v!r}" for k, v in chosen.items())
        text = f"{name}({settings}), parameter {shape_text(shape)}, {steps} step"
        return Case((shape, steps, chosen), seed, text + ("s" if steps > 1 else ""))

    shapes = st.sampled_from([(1,), (2,), (3,), (2, 2)])
    chosen = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in options.items()})
    return st.builds(case, shapes, st.integers(1, 4), chosen, st.integers(0, 3))


def optimizer_check(file: str, name: str, reference: type) -> Callable[[Student, Case], None]:
    def check(student: Student, case: Case) -> None:
        shape, steps, options = case.config
        rng = generator(student.seed, case.data_seed)
        start = rng.standard_normal(shape)
        mine, theirs = Tensor(start, requires_grad=True), Tensor(start, requires_grad=True)
        optimizer = student.function(file, name)([mine], **options)
        expected = reference([theirs], **options)
        for step in range(1, steps + 1):
            grad = rng.standard_normal(shape) * _GRADIENT_SIZES[step - 1]
            mine.grad, theirs.grad = Tensor(grad), Tensor(grad)
            optimizer.step()
            expected.step()
            compare(f"the parameter after step {step}: param", mine.data, theirs.data)
            if not np.array_equal(as_array("grad", mine.grad), grad):
                raise Mismatch(f"step {step} changed the gradient in place: never write to grad")

    return check


# --- autograd: the backward pass and elementwise ops -------------------------------------------


def unbroadcast_cases() -> Any:
    st = strategies()

    def case(shapes: tuple, seed: int) -> Case:
        shape, wide = shapes
        return Case(shapes, seed, f"grad {shape_text(wide)} summed to shape {shape_text(shape)}")

    return st.builds(case, broadcast_shapes(), st.integers(0, 3))


def check_unbroadcast(student: Student, case: Case) -> None:
    shape, wide = case.config
    grad = generator(student.seed, case.data_seed).standard_normal(wide)
    got = student.function("autograd", "unbroadcast")(grad.copy(), shape)
    compare("the result", got, autograd.unbroadcast(grad, shape))


_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "tanh": lambda a, b: np.tanh(a)}


def graph_cases() -> Any:
    """Small graphs: leaves x0.. of one shape, then nodes ``v = a op b`` on earlier values (a
    value used twice, or by several nodes, must have its gradients added up)."""
    st = strategies()

    @st.composite
    def draw(draw: Any) -> Case:
        shape = (draw(st.integers(1, 3)),)
        leaves = draw(st.integers(1, 3))
        count = draw(st.integers(1, 5))
        nodes = []
        for k in range(count):
            available = leaves + k
            op = draw(st.sampled_from(list(_OPS)))
            a, b = draw(st.integers(0, available - 1)), draw(st.integers(0, available - 1))
            nodes.append((op, available - 1 - a, available - 1 - b))  # shrinks to the latest
        config = (shape, leaves, tuple(nodes))
        return Case(config, draw(st.integers(0, 3)), _graph_text(config))

    return draw()


def graph_examples() -> list[Case]:
    """The diamond ``v1 = tanh(x0); v2 = tanh(v1); out = v2 + v1`` (both ways round): v1 may
    only be visited once both its consumers are done, which random graphs seldom test."""
    configs = [
        ((2,), 1, (("tanh", 0, 0), ("tanh", 1, 1), ("+", 2, 1))),
        ((2,), 1, (("tanh", 0, 0), ("tanh", 1, 1), ("+", 1, 2))),
    ]
    return [Case(c, 0, _graph_text(c)) for c in configs]


def _graph_text(config: tuple) -> str:
    shape, leaves, nodes = config
    names = [f"x{i}" for i in range(leaves)]
    parts = [f"{', '.join(names)} of shape {shape_text(shape)}"]
    for k, (op, a, b) in enumerate(nodes):
        name = "out" if k == len(nodes) - 1 else f"v{leaves + k}"
        parts.append(
            f"{name} = " + (f"tanh({names[a]})" if op == "tanh" else f"{names[a]} {op} {names[b]}")
        )
        names.append(name)
    return "the graph " + "; ".join(parts)


def _graph_leaves(student: Student, case: Case) -> tuple[list[np.ndarray], np.ndarray]:
    shape, leaves, _ = case.config
    rng = generator(student.seed, case.data_seed)
    return [rng.standard_normal(shape) for _ in range(leaves)], rng.standard_normal(shape)


def _build_graph(config: tuple, arrays: list[np.ndarray]) -> tuple[list[Tensor], list[Tensor]]:
    """The leaves and every value of the graph, as minicnn Tensors."""
    _, _, nodes = config
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    values = list(leaves)
    for op, a, b in nodes:
        x, y = values[a], values[b]
        values.append(x.tanh() if op == "tanh" else {"+": x + y, "-": x - y, "*": x * y}[op])
    return leaves, values


def _evaluate_graph(config: tuple, *arrays: np.ndarray) -> np.ndarray:
    values = list(arrays)
    for op, a, b in config[2]:
        values.append(_OPS[op](values[a], values[b]))
    return values[-1]


@contextlib.contextmanager
def students_engine(student: Student) -> Iterator[None]:
    """minicnn's ``run_backward`` with the student's ``_topological_order`` and
    ``_backward_through`` (the ones the student file defines), restored afterwards."""
    module = student.modules["autograd"]
    saved = {}
    try:
        for name in ("_topological_order", "_backward_through"):
            if hasattr(module, name):
                saved[name] = getattr(autograd, name)
                setattr(autograd, name, getattr(module, name))
        yield
    finally:
        for name, original in saved.items():
            setattr(autograd, name, original)


def check_graph_gradients(student: Student, case: Case) -> None:
    arrays, upstream = _graph_leaves(student, case)
    leaves, values = _build_graph(case.config, arrays)
    values[-1].backward(upstream)
    expected = [t.grad for t in leaves]
    leaves, values = _build_graph(case.config, arrays)
    with students_engine(student):
        values[-1].backward(upstream)
    for i, (t, want) in enumerate(zip(leaves, expected, strict=True)):
        label = f"x{i}.grad"
        if want is None:
            if t.grad is not None:
                raise Mismatch(f"{label} should stay None: out does not depend on x{i}")
            continue
        if t.grad is None:
            raise Mismatch(f"{label} is None, but out depends on x{i}")
        fd = finite_difference(lambda *a: _evaluate_graph(case.config, *a), arrays, i, upstream)
        compare(label, t.grad.data, want.data, fd)


def check_topological_order(student: Student, case: Case) -> None:
    arrays, _ = _graph_leaves(student, case)
    _, values = _build_graph(case.config, arrays)
    names = {id(v.grad_fn): f"v{k}" for k, v in enumerate(values) if v.grad_fn is not None}
    names[id(values[-1].grad_fn)] = "out"
    expected = autograd._topological_order(values[-1].grad_fn)
    order = student.function("autograd", "_topological_order")(values[-1].grad_fn)
    if not isinstance(order, list):
        raise Mismatch(f"the order is a {type(order).__name__}, expected a list of Functions")
    seen = [id(fn) for fn in order]
    for fn in expected:
        if seen.count(id(fn)) != 1:
            how = "leaves out" if id(fn) not in seen else "lists twice"
            raise Mismatch(f"the order {how} {names[id(fn)]} ({type(fn).__name__})")
    if len(order) != len(expected):
        raise Mismatch(f"the order has {len(order)} Functions, the graph {len(expected)}")
    position = {id(fn): k for k, fn in enumerate(order)}
    for fn in order:
        for t in fn.inputs:
            producer = None if t is None else t.grad_fn
            if producer is not None and position[id(producer)] < position[id(fn)]:
                raise Mismatch(
                    f"the order puts {names[id(producer)]} before {names[id(fn)]}, which uses "
                    "it: every consumer must come before the producers of its inputs"
                )


def chain_cases() -> Any:
    st = strategies()
    return st.just(Case(2000, 0, "a chain of 2000 ops: out = tanh(tanh(... tanh(x0)))"))


def _chain(x: Tensor, length: int) -> Tensor:
    for k in range(length):
        x = x.tanh() if k % 2 else x * 1.001
    return x


def check_chain(student: Student, case: Case) -> None:
    x = Tensor(generator(student.seed, 0).standard_normal(3), requires_grad=True)
    with students_engine(student):
        _chain(x, case.config).backward(np.ones(3))
    mine, x.grad = x.grad, None
    _chain(x, case.config).backward(np.ones(3))
    if mine is None:
        raise Mismatch("x0.grad is None, but out depends on x0")
    compare("x0.grad", mine.data, x.grad.data)


def elementwise_cases(binary: bool) -> Any:
    st = strategies()

    def case(shapes: tuple, swap: bool, seed: int) -> Case:
        small, wide = shapes
        a, b = (small, wide) if swap else (wide, small)
        return Case((a, b), seed, f"a {shape_text(a)}, b {shape_text(b)}")

    if binary:
        return st.builds(case, broadcast_shapes(), st.booleans(), st.integers(0, 3))
    shapes = st.lists(st.integers(1, 3), max_size=3).map(tuple)
    return st.builds(
        lambda s, seed: Case((s,), seed, f"x {shape_text(s)}"), shapes, st.integers(0, 3)
    )


def elementwise_check(name: str, forward: Callable) -> Callable[[Student, Case], None]:
    """Forward and backward of the student's Function ``name`` against minicnn's."""

    def check(student: Student, case: Case) -> None:
        rng = generator(student.seed, case.data_seed)
        arrays = [rng.standard_normal(s) for s in case.config]
        if name == "Div":  # away from 0
            arrays[1] = np.sign(arrays[1]) * (0.5 + np.abs(arrays[1]))
        reference = getattr(M, name)
        mine = [Tensor(a, requires_grad=True) for a in arrays]
        theirs = [Tensor(a, requires_grad=True) for a in arrays]
        y, want = student.function("elementwise", name)()(*mine), reference()(*theirs)
        compare("y", y, want.data)
        upstream = rng.standard_normal(want.shape)
        y.backward(upstream)
        want.backward(upstream)
        labels = ("da", "db") if len(arrays) == 2 else ("dx",)
        for i, (label, t, w) in enumerate(zip(labels, mine, theirs, strict=True)):
            fd = finite_difference(forward, arrays, i, upstream)
            compare(label, None if t.grad is None else t.grad.data, w.grad.data, fd)

    return check


def _backward_conv_cases() -> Any:
    return conv_cases(bias=False)


# --- the catalogue -----------------------------------------------------------------------------

_REFERENCE = "minicnn.ops.reference"
_WINDOWS = ("_output_size", "_windows", "_pad", "_crop")

ASSIGNMENTS: dict[str, Assignment] = {
    a.name: a
    for a in [
        Assignment(
            "autograd",
            "The backward pass and a few elementwise ops",
            "Write the heart of minicnn's autograd engine: `unbroadcast` (the backward of NumPy "
            "broadcasting), `_topological_order` (every consumer before its producers, without "
            "recursion) and the end of `_backward_through` (hand each input its gradient, adding "
            "up where a tensor is used more than once). The grader plugs your two engine "
            "functions into minicnn's `run_backward`. Then the backward of four ops: Mul, Div, "
            "Exp and Tanh.",
            (
                StudentFile(
                    "autograd.py",
                    "minicnn.autograd",
                    ("unbroadcast", "_topological_order", "_backward_through"),
                ),
                StudentFile("elementwise.py", "minicnn.ops.math", ("Mul", "Div", "Exp", "Tanh")),
            ),
            (
                Test("unbroadcast", 2, "autograd", unbroadcast_cases, check_unbroadcast),
                Test(
                    "topological order",
                    2,
                    "autograd",
                    graph_cases,
                    check_topological_order,
                    examples=graph_examples,
                ),
                Test(
                    "backward: gradients through a graph",
                    3,
                    "autograd",
                    graph_cases,
                    check_graph_gradients,
                    examples=graph_examples,
                ),
                Test(
                    "backward: a chain of 2000 ops",
                    1,
                    "autograd",
                    chain_cases,
                    check_chain,
                    max_examples=1,
                ),
                Test(
                    "Mul backward",
                    1,
                    "elementwise",
                    lambda: elementwise_cases(True),
                    elementwise_check("Mul", np.multiply),
                ),
                Test(
                    "Div backward",
                    1,
                    "elementwise",
                    lambda: elementwise_cases(True),
                    elementwise_check("Div", np.divide),
                ),
                Test(
                    "Exp backward",
                    1,
                    "elementwise",
                    lambda: elementwise_cases(False),
                    elementwise_check("Exp", np.exp),
                ),
                Test(
                    "Tanh backward",
                    1,
                    "elementwise",
                    lambda: elementwise_cases(False),
                    elementwise_check("Tanh", np.tanh),
                ),
            ),
            seed=101,
        ),
        Assignment(
            "conv",
            "Convolution: im2col, col2im, and conv2d forward and backward",
            "Write `im2col` (every patch of the padded input as a column) and `col2im` (its "
            "adjoint: each column entry added back where it came from), then the plain loop "
            "versions of a 2-D convolution and its gradients (`conv2d_forward`, "
            "`conv2d_backward`), with stride, padding, dilation and groups.",
            (
                StudentFile(
                    "im2col.py",
                    "minicnn.ops.im2col",
                    ("im2col", "col2im"),
                    ("Pair", "Padding", "conv_output_size", "_offset_slice"),
                ),
                StudentFile(
                    "conv.py",
                    _REFERENCE,
                    ("conv2d_forward", "conv2d_backward"),
                    (*_WINDOWS, "_groups"),
                ),
            ),
            (
                Test("im2col", 2, "im2col", im2col_cases, check_im2col),
                Test("col2im", 2, "im2col", im2col_cases, check_col2im),
                Test("conv2d forward", 3, "conv", conv_cases, check_conv_forward),
                Test("conv2d backward, dx", 3, "conv", _backward_conv_cases, conv_backward(0)),
                Test("conv2d backward, dw", 2, "conv", _backward_conv_cases, conv_backward(1)),
                Test("conv2d backward, db", 1, "conv", _backward_conv_cases, conv_backward(2)),
            ),
            seed=102,
        ),
        Assignment(
            "pool",
            "Max and average pooling",
            "Write max pooling and average pooling, forward and backward, as loops over the "
            "output pixels. Max pooling sends the gradient to the first maximum of each window "
            "(as PyTorch); average pooling may leave the padding out of the count.",
            (
                StudentFile(
                    "pool.py",
                    _REFERENCE,
                    (
                        "max_pool2d_forward",
                        "max_pool2d_backward",
                        "avg_pool2d_forward",
                        "avg_pool2d_backward",
                    ),
                    _WINDOWS,
                ),
            ),
            (
                Test("max_pool2d forward", 2, "pool", pool_cases, check_max_pool_forward),
                Test("max_pool2d backward", 3, "pool", pool_cases, check_max_pool_backward),
                Test(
                    "avg_pool2d forward",
                    2,
                    "pool",
                    lambda: pool_cases(True),
                    check_avg_pool_forward,
                ),
                Test(
                    "avg_pool2d backward",
                    3,
                    "pool",
                    lambda: pool_cases(True),
                    check_avg_pool_backward,
                ),
            ),
            seed=103,
        ),
        Assignment(
            "batchnorm",
            "Batch normalization (training mode)",
            "Write batch normalization with the batch's statistics: `_normalize` (mean, biased "
            "variance, xhat), `batch_norm_forward`, and `batch_norm_backward`, whose dx "
            "remembers that the mean and the variance depend on x too.",
            (
                StudentFile(
                    "batchnorm.py",
                    _REFERENCE,
                    ("_normalize", "batch_norm_forward", "batch_norm_backward"),
                ),
            ),
            (
                Test(
                    "batch_norm forward", 3, "batchnorm", batch_norm_cases, check_batch_norm_forward
                ),
                Test(
                    "batch_norm backward, dx",
                    4,
                    "batchnorm",
                    batch_norm_cases,
                    batch_norm_backward(0),
                ),
                Test(
                    "batch_norm backward, dgamma",
                    1,
                    "batchnorm",
                    batch_norm_cases,
                    batch_norm_backward(1),
                ),
                Test(
                    "batch_norm backward, dbeta",
                    1,
                    "batchnorm",
                    batch_norm_cases,
                    batch_norm_backward(2),
                ),
            ),
            seed=104,
        ),
        Assignment(
            "losses",
            "Softmax cross-entropy",
            "Write a numerically stable log-softmax, the mean cross-entropy of logits against "
            "class indices, and its gradient with respect to the logits.",
            (
                StudentFile(
                    "losses.py",
                    _REFERENCE,
                    ("_log_softmax", "cross_entropy_forward", "cross_entropy_backward"),
                ),
            ),
            (
                Test(
                    "cross_entropy forward",
                    2,
                    "losses",
                    cross_entropy_cases,
                    check_cross_entropy_forward,
                ),
                Test(
                    "cross_entropy backward",
                    3,
                    "losses",
                    cross_entropy_cases,
                    check_cross_entropy_backward,
                ),
            ),
            seed=105,
        ),
        Assignment(
            "optim",
            "Optimizers: SGD with momentum, and Adam",
            "Write the update rules of SGD (weight decay, momentum with dampening, Nesterov "
            "momentum) and of Adam (bias correction, amsgrad, decoupled weight decay as in "
            "AdamW): each `_update` changes one parameter array in place.",
            (
                StudentFile("sgd.py", "minicnn.optim.sgd", ("SGD",)),
                StudentFile("adam.py", "minicnn.optim.adam", ("Adam",)),
            ),
            (
                Test(
                    "SGD",
                    1,
                    "sgd",
                    lambda: optimizer_cases("SGD", lr=[0.1, 0.01], weight_decay=[0, 0.1]),
                    optimizer_check("sgd", "SGD", SGD),
                ),
                Test(
                    "SGD with momentum",
                    2,
                    "sgd",
                    lambda: optimizer_cases(
                        "SGD",
                        lr=[0.1],
                        momentum=[0.9, 0.5],
                        dampening=[0, 0.5],
                        weight_decay=[0, 0.1],
                    ),
                    optimizer_check("sgd", "SGD", SGD),
                ),
                Test(
                    "SGD with Nesterov momentum",
                    1,
                    "sgd",
                    lambda: optimizer_cases(
                        "SGD", lr=[0.1], momentum=[0.9], nesterov=[True], weight_decay=[0, 0.1]
                    ),
                    optimizer_check("sgd", "SGD", SGD),
                ),
                Test(
                    "Adam",
                    3,
                    "adam",
                    lambda: optimizer_cases(
                        "Adam",
                        lr=[0.1, 0.001],
                        betas=[(0.9, 0.999), (0.5, 0.9)],
                        eps=[1e-8, 0.1],
                        weight_decay=[0, 0.1],
                    ),
                    optimizer_check("adam", "Adam", Adam),
                ),
                Test(
                    "Adam with amsgrad",
                    1,
                    "adam",
                    lambda: optimizer_cases("Adam", lr=[0.1], betas=[(0.5, 0.9)], amsgrad=[True]),
                    optimizer_check("adam", "Adam", Adam),
                ),
                Test(
                    "Adam with decoupled weight decay (AdamW)",
                    1,
                    "adam",
                    lambda: optimizer_cases(
                        "Adam", lr=[0.1], weight_decay=[0.1, 0.5], decoupled_weight_decay=[True]
                    ),
                    optimizer_check("adam", "Adam", Adam),
                ),
            ),
            seed=106,
        ),
    ]
}


def get_assignment(name: str) -> Assignment:
    """The assignment called ``name``; a ValueError lists the names when there is none."""
    if name not in ASSIGNMENTS:
        raise ValueError(f"unknown assignment {name!r}; choose one of: {', '.join(ASSIGNMENTS)}")
    return ASSIGNMENTS[name]
