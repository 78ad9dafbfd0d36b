"""``receptive_field(model, input_shape)``: which input pixels each layer's output pixels see.

For a chain of convolutions and poolings, three numbers per axis describe every layer's
output map (the "receptive field arithmetic" of Dumoulin & Visin and of Araujo et al.):

- ``receptive_field`` r: how many input pixels (rows, columns) one output pixel depends on;
- ``jump`` j: how many input pixels apart two neighbouring output pixels are (the product of
  the strides so far);
- ``start``: the input coordinate of the centre of the first output pixel's field, in pixel
  indices (pixel 0 is centred at 0; a half means between two pixels).

Output pixel i of a layer then sees the input pixels ``start + i*jump - (r-1)/2`` to
``start + i*jump + (r-1)/2`` (some of them padding). A layer with kernel k, stride s, dilation
d and padding p (before the first pixel) turns (r, j, start) into::

    r'     = r + d*(k - 1) * j
    j'     = j * s
    start' = start + (d*(k - 1)/2 - p) * j

so three stacked 3x3 convolutions see 3, 5 and 7 pixels, and a 2x2 pooling of stride 2 doubles
the jump. Elementwise layers (activations, batch norm, dropout) change nothing. The rows end
at the first layer whose output is no longer a feature map on the input's grid (``Flatten``,
``Linear``, adaptive or global pooling). Branches (residual sums, Inception's concatenations)
are not chains: ``minicnn.summary`` gives their receptive field.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from . import nn
from .autograd import no_grad
from .creation import zeros
from .functional._args import int_pair, positive_int
from .functional.conv import conv_padding
from .inspect._table import table
from .tensor import Tensor

Pair = tuple[int, int]

_WINDOWED = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
_ENDING = (
    nn.Flatten,
    nn.Linear,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.GlobalAvgPool2d,
    nn.GlobalMaxPool2d,
)
_ELEMENTWISE = tuple(
    getattr(nn, name)
    for name in (
        "ReLU", "LeakyReLU", "ELU", "GELU", "Sigmoid", "Tanh", "SiLU", "ReLU6", "Hardswish",
        "Softplus", "Mish", "Softmax", "LogSoftmax", "BatchNorm2d", "GroupNorm", "LayerNorm",
        "Dropout", "Identity",
    )
    if hasattr(nn, name)
)  # fmt: skip


@dataclass(frozen=True)
class LayerField:
    """One row of :func:`receptive_field`: a layer's output map, per axis (rows, columns)."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    receptive_field: Pair
    jump: Pair
    start: tuple[float, float]


class _Unfollowable(Exception):
    """Raised inside a hook; not a ValueError, so that no enclosing layer prefixes its name."""


class ReceptiveField:
    """What :func:`receptive_field` returns: ``rows``; ``str()`` renders the table."""

    def __init__(self, rows: list[LayerField], input_shape: tuple[int, ...]):
        self.rows = rows
        self.input_shape = input_shape

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> LayerField:
        return self.rows[index]

    def __str__(self) -> str:
        def pair(p: tuple) -> str:
            return f"{p[0]:g} x {p[1]:g}"

        header = ("Layer (type)", "Output shape", "Receptive field", "Jump", "Start")
        body = [
            (f"{r.name} ({r.type})", str(list(r.output_shape)), pair(r.receptive_field),
             pair(r.jump), pair(r.start))
            for r in self.rows
        ]  # fmt: skip
        return table(header, body)

    def __repr__(self) -> str:
        return str(self)


def _window(module: nn.Module) -> tuple[Pair, Pair, Pair, Pair]:
    """(kernel, stride, dilation, padding before the first pixel) of a conv or pool layer."""
    name = type(module).__name__
    kernel = int_pair(name, "kernel_size", module.kernel_size, minimum=1)
    stride = int_pair(name, "stride", module.stride, minimum=1)
    dilation = int_pair(name, "dilation", getattr(module, "dilation", 1), minimum=1)
    if isinstance(module, nn.Conv2d):
        (top, _), (left, _) = conv_padding(name, module.padding, stride, kernel, dilation)
    else:
        top, left = int_pair(name, "padding", module.padding, minimum=0)
    return kernel, stride, dilation, (top, left)


def receptive_field(model: nn.Module, input_shape: tuple[int, ...]) -> ReceptiveField:
    """Receptive field, jump and start of every layer of a chain of convolutions and poolings.

    ``input_shape`` is one input without the batch dimension, e.g. ``(1, 28, 28)``. The model
    runs once on zeros (no gradients, evaluation mode; each layer's mode is restored), and its
    layers are followed in the order they run. Raises ``ValueError`` for a model that is not
    a chain (a layer whose input is not the previous layer's output) or that has a layer it
    cannot account for (an upsampling, a transposed convolution).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"receptive_field: model must be a minicnn.nn.Module, got {type(model).__name__}"
        )
    if isinstance(input_shape, int) or not isinstance(input_shape, (tuple, list)):
        raise TypeError(
            f"receptive_field: input_shape must be a tuple of ints, got {input_shape!r}"
        )
    input_shape = tuple(positive_int("receptive_field", "input_shape", n) for n in input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            f"receptive_field: input_shape must be (channels, height, width), got {input_shape}"
        )
    first = next(model.parameters(), None)
    options = {} if first is None else {"dtype": first.dtype, "device": first.device}
    x = zeros(1, *input_shape, **options)

    rows: list[LayerField] = []
    field = [1, 1]
    jump = [1, 1]
    start = [Fraction(0), Fraction(0)]
    state: dict[str, Any] = {"last": x, "last_name": "the input", "ended": False}
    alive = [x]  # keeps outputs alive, so that identity checks cannot be fooled by reused ids

    def after(name: str) -> Any:
        def hook(module: nn.Module, args: tuple, output: Any) -> None:
            if state["ended"]:
                return
            out = output[0] if isinstance(output, tuple) else output  # (output, indices)
            alive.append(out)
            if not args or args[0] is not state["last"]:
                raise _Unfollowable(
                    f"receptive_field: the model is not a chain of layers: the input of "
                    f"'{name}' ({type(module).__name__}) is not the output of "
                    f"{state['last_name']} (a branch, a skip connection or a computation "
                    "outside the layers); minicnn.summary gives the receptive fields of such "
                    "models"
                )
            if isinstance(module, _ENDING) or not isinstance(out, Tensor) or out.ndim != 4:
                state["ended"] = True
                return
            if isinstance(module, _WINDOWED):
                kernel, stride, dilation, padding = _window(module)
                for a in (0, 1):
                    span = dilation[a] * (kernel[a] - 1)
                    start[a] += (Fraction(span, 2) - padding[a]) * jump[a]
                    field[a] += span * jump[a]
                    jump[a] *= stride[a]
            elif not isinstance(module, _ELEMENTWISE):
                raise _Unfollowable(
                    f"receptive_field: cannot follow '{name}' ({type(module).__name__}): the "
                    "rows cover convolutions, max and average pooling and elementwise layers"
                )
            rows.append(
                LayerField(
                    name=name,
                    type=type(module).__name__,
                    output_shape=tuple(out.shape[1:]),
                    receptive_field=(field[0], field[1]),
                    jump=(jump[0], jump[1]),
                    start=(float(start[0]), float(start[1])),
                )
            )
            state["last"], state["last_name"] = out, f"'{name}'"

        return hook

    modes = {m: m.training for m in model.modules()}
    handles = [
        module.register_forward_hook(after(name))
        for name, module in model.named_modules()
        if next(module.children(), None) is None and name
    ]
    try:
        model.eval()
        with no_grad():
            model(x)
    except _Unfollowable as error:
        raise ValueError(str(error)) from None
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training
    return ReceptiveField(rows, input_shape)
