"""``record_activations(model, x)``: what each layer outputs, summarised.

Healthy activations keep a similar spread from layer to layer. A standard deviation that
shrinks towards zero (saturated tanh/sigmoid, too small an initialisation) or grows without
bound shows a badly scaled network before any gradient is computed; a ReLU whose output is
zero for every input of the batch is "dead": it passes no gradient, so it never recovers.

Each row is one call of a layer without sub-layers:

- ``mean``, ``std``: over all the output's elements;
- ``zero_fraction``: the fraction of elements that are exactly 0 (after a ReLU: the inputs
  that were negative);
- ``dead_fraction``: the fraction of units (channels, or features of a linear layer: the
  output's dimension 1) that are 0 for every sample and position of the batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .. import backend
from ..autograd import no_grad
from ..nn import Module
from ..tensor import Tensor
from ._table import new_figure, number, scalar, table


@dataclass(frozen=True)
class LayerActivation:
    """One row of :func:`record_activations`: one call of one layer."""

    name: str
    type: str
    shape: tuple[int, ...]
    mean: float
    std: float
    zero_fraction: float
    dead_fraction: float | None  # None for outputs with fewer than 2 dimensions


class ActivationStats:
    """What :func:`record_activations` returns: ``rows`` in the order the layers ran,
    ``str()`` renders the table, ``plot()`` draws it; ``outputs`` maps each layer's name to
    its output array (host copies) when recorded with ``keep=True``."""

    def __init__(self, rows: list[LayerActivation], outputs: dict[str, Any]):
        self.rows = rows
        self.outputs = outputs

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> LayerActivation:
        return self.rows[index]

    def row(self, name: str) -> LayerActivation:
        """The (first) row of the layer called ``name``."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"record_activations: no layer named {name!r}; the layers: "
                       f"{', '.join(r.name for r in self.rows)}")  # fmt: skip

    def __str__(self) -> str:
        header = ("Layer (type)", "Output shape", "mean", "std", "zeros", "dead units")
        body = [
            (
                f"{r.name} ({r.type})",
                str(list(r.shape)),
                number(r.mean),
                number(r.std),
                f"{r.zero_fraction:.1%}",
                "-" if r.dead_fraction is None else f"{r.dead_fraction:.1%}",
            )
            for r in self.rows
        ]
        return table(header, body)

    def __repr__(self) -> str:
        return str(self)

    def plot(self, path: str | os.PathLike | None = None, title: str = "Activations") -> Any:
        """The std of each layer's output and its fraction of zeros (a matplotlib Figure);
        ``path``: also write it as a PNG file."""
        figure = new_figure(max(5.0, 0.45 * len(self.rows) + 2.0), 5.0)
        top, bottom = figure.subplots(2, 1, sharex=True)
        positions = list(range(len(self.rows)))
        top.bar(positions, [r.std for r in self.rows], color="#1565c0")
        top.set_ylabel("std of output")
        top.set_title(title)
        bottom.bar(positions, [r.zero_fraction for r in self.rows], color="#90caf9",
                   label="zeros")  # fmt: skip
        dead = [r.dead_fraction or 0.0 for r in self.rows]
        bottom.bar(positions, dead, color="#c62828", label="dead units")
        bottom.set_ylim(0, 1)
        bottom.set_ylabel("fraction")
        bottom.legend(fontsize=8)
        labels = [f"{r.name}" for r in self.rows]
        bottom.set_xticks(positions, labels, rotation=60, ha="right", fontsize=8)
        if path is not None:
            figure.savefig(path, dpi=120, format="png")
        return figure


def _stats(name: str, module: Module, out: Tensor) -> LayerActivation:
    a = out.data
    xp = backend.get_array_module(a)
    values = a.astype("float64") if a.dtype.kind != "f" else a
    zeros = values == 0
    dead = None
    if a.ndim >= 2 and a.size:
        axes = tuple(i for i in range(a.ndim) if i != 1)
        dead = scalar(xp.mean(xp.all(zeros, axis=axes)))
    empty = a.size == 0
    return LayerActivation(
        name=name,
        type=type(module).__name__,
        shape=tuple(a.shape),
        mean=0.0 if empty else scalar(xp.mean(values, dtype="float64")),
        std=0.0 if empty else scalar(xp.std(values, dtype="float64")),
        zero_fraction=0.0 if empty else scalar(xp.mean(zeros)),
        dead_fraction=dead,
    )


def record_activations(model: Module, x: Any, *, keep: bool = False) -> ActivationStats:
    """Run ``model(x)`` without gradients and summarise every layer's output.

    One row per call of each module without sub-modules, in the order they ran (a layer
    called twice gives two rows). The model's mode is left as it is: call ``model.eval()``
    first to see what it does at inference (dropout off, BatchNorm's running statistics).
    ``keep=True`` also keeps each output, as a NumPy array, in ``outputs[name]``.
    """
    if not isinstance(model, Module):
        raise TypeError(
            f"record_activations: expected a minicnn.nn.Module, got {type(model).__name__}"
        )
    rows: list[LayerActivation] = []
    outputs: dict[str, Any] = {}
    handles = []

    def hook(name: str) -> Any:
        def record(module: Module, args: tuple, output: Any) -> None:
            out = output
            if isinstance(out, (tuple, list)):
                out = next((o for o in out if isinstance(o, Tensor)), None)
            if not isinstance(out, Tensor):
                return
            rows.append(_stats(name, module, out))
            if keep:
                outputs.setdefault(name, backend.to_host(out.data).copy())

        return record

    for name, module in model.named_modules():
        if next(module.children(), None) is None:
            handles.append(module.register_forward_hook(hook(name or type(module).__name__)))
    try:
        with no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return ActivationStats(rows, outputs)
