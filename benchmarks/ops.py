"""The op-level rows: forward + backward of one op on CNN-sized float32 inputs.

Each row names an op by its name in ``minicnn.functional`` and ``torch.nn.functional`` (the
same), its inputs in argument order and its keyword arguments (the same for both). A run
does the forward, then the backward of a fixed upstream gradient; every float input except
batch norm's running statistics requires grad, and the gradients are reset (to ``None``)
before each run, so nothing accumulates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Row:
    """One op on one shape. ``inputs``: (name, shape, kind) with kind "grad" (a float input
    that requires grad), "const" (a float input that does not) or "labels" (int64 classes
    below the last dimension of the previous input)."""

    name: str
    op: str
    text: str
    inputs: tuple[tuple[str, tuple[int, ...], str], ...]
    kwargs: dict = field(default_factory=dict)


def _conv(name: str, x: tuple, out: int, k: int, transposed: bool = False, **kwargs: Any) -> Row:
    groups = kwargs.get("groups", 1)
    weight = (x[1], out // groups, k, k) if transposed else (out, x[1] // groups, k, k)
    text = f"{x} -> {out}, {k}x{k}" + "".join(f", {a}={v}" for a, v in kwargs.items())
    op = "conv_transpose2d" if transposed else "conv2d"
    inputs = (("x", x, "grad"), ("weight", weight, "grad"), ("bias", (out,), "grad"))
    return Row(name, op, text, inputs, kwargs)


BATCH = (32, 64, 32, 32)
ROWS = [
    _conv("conv-lenet1", (64, 1, 32, 32), 6, 5),
    _conv("conv-lenet2", (64, 6, 14, 14), 16, 5),
    _conv("conv-vgg64", BATCH, 64, 3, padding=1),
    _conv("conv-vgg128", (32, 128, 16, 16), 128, 3, padding=1),
    _conv("conv-stem", (8, 3, 224, 224), 64, 7, stride=2, padding=3),
    _conv("conv-depthwise", BATCH, 64, 3, padding=1, groups=64),
    _conv("conv-transpose", (32, 64, 16, 16), 32, 2, transposed=True, stride=2),
    Row("maxpool-2x2", "max_pool2d", f"{BATCH}, 2x2", (("x", BATCH, "grad"),), {"kernel_size": 2}),
    Row(
        "maxpool-3x3s2",
        "max_pool2d",
        "(8, 64, 112, 112), 3x3, stride=2, padding=1",
        (("x", (8, 64, 112, 112), "grad"),),
        {"kernel_size": 3, "stride": 2, "padding": 1},
    ),
    Row(
        "batchnorm",
        "batch_norm",
        f"{BATCH}, training",
        (
            ("x", BATCH, "grad"),
            ("running_mean", (64,), "const"),
            ("running_var", (64,), "const"),
            ("weight", (64,), "grad"),
            ("bias", (64,), "grad"),
        ),
        {"training": True},
    ),
    Row("relu", "relu", f"{BATCH}", (("x", BATCH, "grad"),)),
    Row("gelu", "gelu", f"{BATCH}, exact", (("x", BATCH, "grad"),)),
    Row("gelu-tanh", "gelu", f"{BATCH}, tanh", (("x", BATCH, "grad"),), {"approximate": "tanh"}),
    Row(
        "cross-entropy",
        "cross_entropy",
        "(256, 1000) logits",
        (("input", (256, 1000), "grad"), ("target", (256,), "labels")),
    ),
]


def _arrays(row: Row) -> list[tuple[np.ndarray, bool]]:
    """The row's inputs as (array, requires_grad), the same numbers for both frameworks."""
    rng = np.random.default_rng(0)
    arrays: list[tuple[np.ndarray, bool]] = []
    for name, shape, kind in row.inputs:
        if kind == "labels":
            classes = row.inputs[0][1][-1]
            arrays.append((rng.integers(0, classes, shape), False))
            continue
        a = rng.standard_normal(shape).astype(np.float32)
        if name == "running_var":
            a = np.abs(a) + 1
        arrays.append((a, kind == "grad"))
    return arrays


def step(framework: str, row: Row, torch: Any = None) -> Callable[[], None]:
    """A closure running one forward + backward of ``row`` in ``framework``."""
    if framework == "minicnn":
        import minicnn

        fn = getattr(minicnn.functional, row.op)
        inputs = [minicnn.tensor(a, requires_grad=r) for a, r in _arrays(row)]
        wrap = np.asarray  # minicnn's backward takes an array
    else:
        fn = getattr(torch.nn.functional, row.op)
        inputs = [torch.tensor(a, requires_grad=r) for a, r in _arrays(row)]
        wrap = torch.from_numpy
    leaves = [t for t in inputs if t.requires_grad]
    shape = tuple(fn(*inputs, **row.kwargs).shape)
    grad = wrap(np.asarray(np.random.default_rng(1).standard_normal(shape), np.float32))

    def run() -> None:
        for t in leaves:
            t.grad = None
        fn(*inputs, **row.kwargs).backward(grad)

    return run


def time_row(framework: str, row: Row, repeats: int, warmup: int, torch: Any = None) -> list:
    """Milliseconds of ``repeats`` runs of the row, after ``warmup`` runs."""
    run = step(framework, row, torch)
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return times
