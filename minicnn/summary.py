"""``summary(model, input_shape)``: every layer's output shape, parameters and cost, as Keras'
``model.summary()``.

One forward pass (batch size 1, zeros, no gradients, evaluation mode; each layer's mode is
restored afterwards, so BatchNorm's running statistics do not move) with hooks on every module
records, for each call of a layer without sub-layers (and of any module with parameters of its
own):

- its name (``features.0``), type and output shape;
- its parameters (counted at its first call only, so that the rows add up to the total);
- its multiply-accumulates (MACs), counted as torchvision counts them: for a convolution, the
  output elements times ``in_channels / groups * kh * kw``; for a transposed convolution, the
  input elements times ``out_channels / groups * kh * kw``; for a linear layer
  ``in_features * out_features`` per input row; biases, BatchNorm, activations and pooling are
  not counted;
- its receptive field: how many input pixels (rows x columns) one output pixel sees. A
  convolution or pooling with kernel k, dilation d and stride s grows it by ``d*(k-1)`` times
  the jump (the product of the strides before it), elementwise layers keep it. Where branches
  merge (a residual sum, a concatenation) the merged maps get the largest branch's receptive
  field. It is ``None`` where it is not defined: after a linear layer, a flattening, an adaptive
  or global pooling, an interpolation. Global context that tensor code multiplies back into
  the maps (CBAM's channel attention) is not followed.

For example, a 5x5 convolution from 28x28x192 to 32 channels ('same' padding) has
28*28*32 * 5*5*192 = 120,422,400 MACs and 5*5*192*32 + 32 = 153,632 parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from . import nn
from .autograd import no_grad
from .creation import zeros
from .functional._args import int_pair, positive_int
from .tensor import Tensor

Pair = tuple[int, int]
_Field = tuple[Pair, tuple[Fraction, Fraction]]  # (receptive field, jump) per axis

_ELEMENTWISE = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.Dropout, nn.Identity)
_WINDOWED = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


@dataclass(frozen=True)
class LayerSummary:
    """One row of a summary: a call of one layer."""

    name: str
    type: str
    output_shape: tuple[int, ...] | tuple[tuple[int, ...], ...]
    params: int
    macs: int
    receptive_field: Pair | None


@dataclass(frozen=True)
class ModelSummary:
    """What :func:`summary` returns: ``rows`` and the totals; ``str()`` renders the table."""

    model_name: str
    input_shape: tuple[int, ...]
    rows: list[LayerSummary]
    total_params: int
    trainable_params: int
    total_macs: int

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        header = ("Layer (type)", "Output shape", "Param #", "MACs", "Receptive field")
        table = [header] + [
            (
                f"{row.name} ({row.type})" if row.name else row.type,
                _shape_text(row.output_shape),
                f"{row.params:,}",
                f"{row.macs:,}",
                "" if row.receptive_field is None else "x".join(map(str, row.receptive_field)),
            )
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]

        def render(line: tuple[str, ...]) -> str:
            cells = [line[0].ljust(widths[0]), line[1].ljust(widths[1])]
            cells += [cell.rjust(width) for cell, width in zip(line[2:], widths[2:], strict=True)]
            return "  ".join(cells).rstrip()

        rule = "=" * len(render(tuple("x" * w for w in widths)))
        lines = [f'Model: "{self.model_name}", input {_shape_text(self.input_shape)}', rule]
        lines += [render(header), rule, *(render(line) for line in table[1:]), rule]
        lines += [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Total MACs: {self.total_macs:,}",
        ]
        return "\n".join(lines)


def _shape_text(shape: tuple) -> str:
    if shape and isinstance(shape[0], tuple):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join(str(n) for n in shape) + ")"


def _shape_of(output: Any) -> tuple:
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return tuple(_shape_of(o) for o in output)
    return ()


def _first_tensor(value: Any) -> Tensor | None:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)):
        return next((t for t in map(_first_tensor, value) if t is not None), None)
    return None


def macs_of(module: nn.Module, x: Tensor | None, y: Tensor | None) -> int:
    """Multiply-accumulates of one call of ``module`` (input ``x``, output ``y``), counted as
    torchvision does: convolutions and linear layers only, biases not counted."""
    if x is None or y is None:
        return 0
    if isinstance(module, nn.ConvTranspose2d):
        kh, kw = module.kernel_size
        return x.numel() * module.out_channels // module.groups * kh * kw
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return y.numel() * module.in_channels // module.groups * kh * kw
    if isinstance(module, nn.Linear):
        return x.numel() * module.out_features
    return 0


def _grow(module: nn.Module, field: _Field) -> _Field | None:
    """The receptive field and jump after ``module``, from those of its input."""
    (rh, rw), (jh, jw) = field
    if isinstance(module, _WINDOWED) or isinstance(module, nn.ConvTranspose2d):
        k = int_pair("summary", "kernel_size", module.kernel_size)
        s = int_pair("summary", "stride", module.stride)
        d = int_pair("summary", "dilation", getattr(module, "dilation", 1))
        span = [d[i] * (k[i] - 1) + 1 for i in range(2)]
        if isinstance(module, nn.ConvTranspose2d):  # an output pixel sees ceil(span/s) inputs
            taps = [math.ceil(span[i] / s[i]) for i in range(2)]
            return (
                (rh + (taps[0] - 1) * math.ceil(jh), rw + (taps[1] - 1) * math.ceil(jw)),
                (jh / s[0], jw / s[1]),
            )
        return (rh + (span[0] - 1) * jh, rw + (span[1] - 1) * jw), (jh * s[0], jw * s[1])
    if isinstance(module, _ELEMENTWISE) or type(module).__module__ == nn.ReLU.__module__:
        return field
    return None


def _largest(fields: list[_Field]) -> _Field | None:
    """The largest field; of equal ones the latest (the nearest to what comes next)."""
    return max(reversed(fields), key=lambda f: f[0][0] * f[0][1], default=None)


def summary(model: nn.Module, input_shape: tuple[int, ...]) -> ModelSummary:
    """Summarise ``model`` on one input of ``input_shape`` (without the batch dimension, e.g.
    ``(3, 224, 224)``): rows of name, type, output shape, parameters, MACs and receptive field,
    and the totals. The input is zeros of the dtype and on the device of the model's first
    parameter (float32 on the CPU without parameters)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary: model must be a minicnn.nn.Module, got {type(model).__name__}")
    if isinstance(input_shape, int) or not isinstance(input_shape, (tuple, list)):
        raise TypeError(f"summary: input_shape must be a tuple of ints, got {input_shape!r}")
    input_shape = tuple(positive_int("summary", "input_shape", n) for n in input_shape)
    first = next(model.parameters(), None)
    dtype = first.dtype if first is not None else None
    device = first.device if first is not None else "cpu"
    x = zeros(1, *input_shape, **({"dtype": dtype} if dtype is not None else {}), device=device)

    names: dict[int, str] = {}
    for name, m in model.named_modules(remove_duplicate=False):
        names.setdefault(id(m), name)  # a module registered twice: its first name
    rows: list[LayerSummary] = []
    seen: set[int] = set()  # modules whose parameters have been counted
    fields: dict[int, _Field] = {id(x): ((1, 1), (Fraction(1), Fraction(1)))}
    alive: list[Any] = [x]  # keeps the outputs alive, so that their ids stay unique
    frames: list[list[_Field]] = [[fields[id(x)]]]

    def enclosing() -> _Field | None:
        """The largest field of the innermost call that has one: the fallback for a tensor
        made by tensor code (a sum, a concatenation) inside a forward."""
        return next((_largest(f) for f in reversed(frames) if f), None)

    def before(module: nn.Module, args: tuple) -> None:
        tensors = [a for a in args if isinstance(a, Tensor)]
        frame = [fields[id(a)] for a in tensors if id(a) in fields]
        if tensors and not frame and (outer := enclosing()) is not None:
            frame = [outer]
        frames.append(frame)

    def after(module: nn.Module, args: tuple, output: Any) -> None:
        frame = frames.pop()
        out = _first_tensor(output)
        alive.append(output)
        own = list(module.parameters(recurse=False))
        leaf = not any(True for _ in module.children())
        field: _Field | None
        if leaf or own:
            x_in = _first_tensor(args)
            if x_in is not None and id(x_in) in fields:
                source = fields[id(x_in)]
            else:
                source = enclosing()
            field = _grow(module, source) if source is not None else None
            if out is None or out.ndim != 4:
                field = None
            params = 0 if id(module) in seen else sum(p.numel() for p in own)
            seen.add(id(module))
            receptive = None
            if field is not None:
                receptive = (math.ceil(field[0][0]), math.ceil(field[0][1]))
            rows.append(
                LayerSummary(
                    names.get(id(module), ""),
                    type(module).__name__,
                    _shape_of(output),
                    params,
                    macs_of(module, x_in, out),
                    receptive,
                )
            )
        elif out is not None and id(out) in fields:
            field = fields[id(out)]
        else:
            field = _largest(frame)
        if out is not None and field is not None:
            fields[id(out)] = field
            frames[-1].append(field)

    modules = list(model.modules())
    modes = [m.training for m in modules]
    handles = []
    try:
        for m in modules:
            handles.append(m.register_forward_pre_hook(before))
            handles.append(m.register_forward_hook(after))
        model.eval()
        with no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        for m, mode in zip(modules, modes, strict=True):
            m.training = mode

    params = list(model.parameters())
    return ModelSummary(
        model_name=type(model).__name__,
        input_shape=input_shape,
        rows=rows,
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        total_macs=sum(row.macs for row in rows),
    )
