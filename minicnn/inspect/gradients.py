"""``gradient_flow(model)``: how large the gradients are, layer by layer, after a backward pass.

In a deep network the gradient of the loss reaches the first layers through a product of one
factor per layer (each layer's Jacobian). Factors below 1 (a sigmoid's slope is at most 1/4)
make it vanish towards the input, factors above 1 make it explode. A table of the gradient's
size per layer shows which: read it from the input (first row) to the output (last row).

For each layer with parameters of its own that require grad, the row holds, over all of that
layer's parameter elements:

- ``mean_abs_grad``: the mean of |grad|;
- ``max_abs_grad``: the largest |grad|;
- ``ratio``: ||grad|| / ||weight|| (Euclidean norms): the relative size of a gradient step
  before the learning rate. With SGD, ``lr * ratio`` is how much one step changes the layer
  relative to its size; around 1e-3 is healthy, much smaller means the layer barely learns.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from .. import backend
from ..nn import Module
from ._table import new_figure, number, scalar, table


@dataclass(frozen=True)
class LayerGradient:
    """One row of :func:`gradient_flow`: one layer's gradient statistics."""

    name: str
    type: str
    mean_abs_grad: float
    max_abs_grad: float
    grad_norm: float
    weight_norm: float
    ratio: float


class GradientFlow:
    """What :func:`gradient_flow` returns: ``rows`` (input to output), ``str()`` renders the
    table, ``plot()`` draws it; ``missing`` names the layers that got no gradient."""

    def __init__(self, rows: list[LayerGradient], missing: list[str]):
        self.rows = rows
        self.missing = missing

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> LayerGradient:
        return self.rows[index]

    @property
    def names(self) -> list[str]:
        return [row.name for row in self.rows]

    @property
    def mean_abs_grads(self) -> list[float]:
        return [row.mean_abs_grad for row in self.rows]

    def __str__(self) -> str:
        header = ("Layer (type)", "mean |grad|", "max |grad|", "|grad|/|weight|")
        body = [
            (
                f"{r.name} ({r.type})",
                number(r.mean_abs_grad),
                number(r.max_abs_grad),
                number(r.ratio),
            )
            for r in self.rows
        ]
        text = table(header, body)
        if self.missing:
            text += f"\nno gradient reached: {', '.join(self.missing)}"
        return text

    def __repr__(self) -> str:
        return str(self)

    def plot(self, path: str | os.PathLike | None = None, title: str = "Gradient flow") -> Any:
        """Bars of the mean and max |grad| per layer on a log scale (a matplotlib Figure);
        ``path``: also write it as a PNG file."""
        figure = new_figure(max(5.0, 0.45 * len(self.rows) + 2.0), 3.6)
        ax = figure.add_subplot()
        positions = range(len(self.rows))
        tiny = 1e-30  # a zero gradient has no place on a log scale: drawn at the bottom
        ax.bar(positions, [max(r.max_abs_grad, tiny) for r in self.rows], color="#90caf9",
               label="max |grad|")  # fmt: skip
        ax.bar(positions, [max(r.mean_abs_grad, tiny) for r in self.rows], color="#1565c0",
               label="mean |grad|")  # fmt: skip
        ax.set_yscale("log")
        positive = [r.mean_abs_grad for r in self.rows if r.mean_abs_grad > 0]
        if positive:
            ax.set_ylim(bottom=min(positive) / 10)
        ax.set_xticks(list(positions), self.names, rotation=60, ha="right", fontsize=8)
        ax.set_xlabel("layer (input -> output)")
        ax.set_ylabel("|gradient|")
        ax.set_title(title)
        ax.legend(fontsize=8)
        if path is not None:
            figure.savefig(path, dpi=120, format="png")
        return figure


def _norm(xp: Any, arrays: list[Any]) -> float:
    return math.sqrt(sum(scalar(xp.sum(xp.square(a), dtype="float64")) for a in arrays))


def gradient_flow(model: Module) -> GradientFlow:
    """Gradient statistics per layer of ``model``, read after ``loss.backward()``.

    One row per module with parameters of its own that require grad, in the order the
    modules were registered (for a ``Sequential`` or a model written top to bottom: from the
    input to the output). A layer whose parameters got no gradient (it was not used by the
    loss, or backward was not called) is listed in ``missing`` instead.
    """
    if not isinstance(model, Module):
        raise TypeError(f"gradient_flow: expected a minicnn.nn.Module, got {type(model).__name__}")
    rows, missing = [], []
    for name, module in model.named_modules():
        params = [p for p in module.parameters(recurse=False) if p.requires_grad]
        if not params:
            continue
        name = name or type(module).__name__
        grads = [p.grad.data for p in params if p.grad is not None]
        if not grads:
            missing.append(name)
            continue
        xp = backend.get_array_module(*grads)
        count = sum(g.size for g in grads)
        abs_sum = sum(scalar(xp.abs(g).sum(dtype="float64")) for g in grads)
        abs_max = max(scalar(xp.abs(g).max()) if g.size else 0.0 for g in grads)
        grad_norm = _norm(xp, grads)
        weight_norm = _norm(xp, [p.data for p in params if p.grad is not None])
        if weight_norm > 0:
            ratio = grad_norm / weight_norm
        else:
            ratio = math.inf if grad_norm > 0 else 0.0
        rows.append(
            LayerGradient(
                name=name,
                type=type(module).__name__,
                mean_abs_grad=abs_sum / max(count, 1),
                max_abs_grad=abs_max,
                grad_norm=grad_norm,
                weight_norm=weight_norm,
                ratio=ratio,
            )
        )
    if not rows and not missing:
        raise ValueError("gradient_flow: the model has no parameters that require grad")
    if not rows:
        raise ValueError(
            "gradient_flow: no parameter of the model has a gradient; call loss.backward() "
            "first (and not optimizer.zero_grad() after it)"
        )
    return GradientFlow(rows, missing)
