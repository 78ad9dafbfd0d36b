"""Helpers for testing layers, for minicnn's own tests and for yours.

* ``check_layer(layer, input_shape)``: gradient-check a whole layer, with respect to its input
  and to every parameter, in float64, naming the parameter whose gradient is wrong.
* Hypothesis strategies of valid convolution and pooling settings (each draw has a non-empty
  output): ``conv2d_configs()``, ``conv_transpose2d_configs()``, ``pool2d_configs()``::

      from hypothesis import given
      from minicnn.testing import check_layer, conv2d_configs

      @given(conv2d_configs())
      def test_my_conv(config):
          check_layer(MyConv2d(**config.kwargs()), config.input_shape)

The strategies need ``hypothesis`` (a test dependency, imported when a strategy is built);
``check_layer`` does not.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy

from . import backend
from .gradcheck import GradcheckError, gradcheck
from .tensor import Tensor

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from .nn import Module

__all__ = [
    "ConvConfig",
    "PoolConfig",
    "check_layer",
    "conv2d_configs",
    "conv_transpose2d_configs",
    "pool2d_configs",
]

Pair = tuple[int, int]


# --- check_layer ---------------------------------------------------------------------------


def _layer_device(layer: Module) -> str:
    for t in [*layer.parameters(), *layer.buffers()]:
        return t.device
    return "cpu"


def _to_float64(value: Any, device: str) -> Any:
    """Floating extra arguments (targets) in float64 like the layer; others unchanged."""
    if isinstance(value, Tensor) or hasattr(value, "dtype"):
        t = value if isinstance(value, Tensor) else Tensor(value, device=device)
        return t.double() if t.dtype.kind == "f" else t
    return value


def check_layer(
    layer: Module,
    input_shape: tuple[int, ...],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    args: tuple = (),
) -> None:
    """Gradient-check ``layer`` with respect to its input and each of its parameters.

    A copy of the layer is converted to float64 (``.double()``); the input is standard normal
    noise of ``input_shape`` (from ``seed``). For the input and then every parameter that
    requires grad, ``minicnn.gradcheck`` compares backpropagation with central differences of
    ``layer(x, *args)``; extra ``args`` (e.g. a loss's target) are passed through, floating ones
    in float64. The layer's own Parameters are the perturbed inputs, so this checks what
    training uses. Raises ``GradcheckError`` naming the input or the parameter (e.g.
    ``'weight'``, ``'0.bias'``) whose gradient is wrong.

    Random layers (Dropout in training mode) must draw the same numbers at every call: the
    forward is therefore run after ``minicnn.manual_seed(seed)`` each time, so this function
    reseeds minicnn's generators. A layer with its own random source must seed it likewise.
    The layer's mode is kept: BatchNorm in training mode is checked with batch statistics.
    """
    layer = copy.deepcopy(layer).double()
    device = _layer_device(layer)
    rng = numpy.random.default_rng(seed)
    x = Tensor(
        backend.asarray(rng.standard_normal(input_shape), backend.float64, device),
        requires_grad=True,
    )
    extra = tuple(_to_float64(a, device) for a in args)
    named = [("input", x)] + [(name, p) for name, p in layer.named_parameters() if p.requires_grad]
    tensors = [t for _, t in named]

    def forward(x: Tensor, *params: Tensor) -> Any:
        # params are the layer's own Parameters: gradcheck perturbs them in place
        backend.manual_seed(seed)
        return layer(x, *extra)

    for name, target in named:
        # check one tensor at a time, so that a failure names it
        for t in tensors:
            t.requires_grad = t is target
        try:
            gradcheck(forward, tensors, eps=eps, atol=atol, rtol=rtol, seed=seed)
        except GradcheckError as error:
            what = "the input" if name == "input" else f"parameter {name!r}"
            raise GradcheckError(
                f"check_layer: the gradient of {type(layer).__name__} with respect to {what} "
                f"(shape {target.shape}) is wrong: {error}"
            ) from None
        finally:
            for t in tensors:
                t.requires_grad = True


# --- hypothesis strategies -----------------------------------------------------------------


@dataclass(frozen=True)
class ConvConfig:
    """A valid (transposed) convolution: layer arguments and an input size.

    ``kwargs()`` gives the ``Conv2d``/``ConvTranspose2d`` constructor arguments,
    ``input_shape`` the ``(N, C, H, W)`` input shape and ``output_shape`` the output's.
    """

    batch: int
    in_channels: int
    out_channels: int
    kernel_size: Pair
    stride: Pair
    padding: Pair
    dilation: Pair
    groups: int
    height: int
    width: int
    output_padding: Pair | None = None  # None: an ordinary convolution

    @property
    def transposed(self) -> bool:
        return self.output_padding is not None

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.in_channels, self.height, self.width)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        sizes = []
        for a, n in enumerate((self.height, self.width)):
            k, s, p, d = self.kernel_size[a], self.stride[a], self.padding[a], self.dilation[a]
            if self.transposed:
                sizes.append((n - 1) * s - 2 * p + d * (k - 1) + self.output_padding[a] + 1)
            else:
                sizes.append((n + 2 * p - d * (k - 1) - 1) // s + 1)
        return (self.batch, self.out_channels, *sizes)

    def kwargs(self) -> dict[str, Any]:
        result = {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "groups": self.groups,
        }
        if self.transposed:
            result["output_padding"] = self.output_padding
        return result


@dataclass(frozen=True)
class PoolConfig:
    """A valid pooling window (padding at most half the kernel, as PyTorch requires) and input.

    ``kwargs()`` gives ``kernel_size``, ``stride`` and ``padding`` for ``MaxPool2d``/``AvgPool2d``.
    """

    batch: int
    channels: int
    kernel_size: Pair
    stride: Pair
    padding: Pair
    height: int
    width: int

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.channels, self.height, self.width)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        sizes = [
            (n + 2 * p - k) // s + 1
            for n, k, s, p in zip(
                (self.height, self.width), self.kernel_size, self.stride, self.padding, strict=True
            )
        ]
        return (self.batch, self.channels, *sizes)

    def kwargs(self) -> dict[str, Any]:
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding}


def _strategies() -> Any:
    try:
        from hypothesis import strategies
    except ImportError as error:  # pragma: no cover
        raise ImportError(
            "minicnn.testing's strategies need hypothesis: pip install hypothesis"
        ) from error
    return strategies


def conv2d_configs(
    max_batch: int = 2,
    max_channels_per_group: int = 3,
    max_groups: int = 2,
    max_kernel: int = 3,
    max_stride: int = 2,
    max_padding: int = 1,
    max_dilation: int = 2,
    max_extra_size: int = 3,
) -> SearchStrategy[ConvConfig]:
    """Valid ``Conv2d`` settings with an input just large enough (plus up to
    ``max_extra_size`` pixels) for a non-empty output. Channels are multiples of ``groups``."""
    st = _strategies()

    @st.composite
    def draw_config(draw: Any) -> ConvConfig:
        kernel, stride, padding, dilation = _draw_geometry(
            draw, st, max_kernel, max_stride, max_padding, max_dilation
        )
        # the smallest size whose padded extent holds the dilated kernel
        smallest = [
            max(1, d * (k - 1) + 1 - 2 * p)
            for k, d, p in zip(kernel, dilation, padding, strict=True)
        ]
        return ConvConfig(
            kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
            **_draw_sizes(draw, st, smallest, max_batch, max_groups, max_channels_per_group,
                          max_extra_size),
        )  # fmt: skip

    return draw_config()


def _draw_geometry(
    draw: Any, st: Any, max_kernel: int, max_stride: int, max_padding: int, max_dilation: int
) -> tuple[tuple[int, int], ...]:
    """Kernel size, stride, padding and dilation pairs of a convolution."""

    def pair(low: int, high: int) -> tuple[int, int]:
        return draw(st.integers(low, high)), draw(st.integers(low, high))

    return pair(1, max_kernel), pair(1, max_stride), pair(0, max_padding), pair(1, max_dilation)


def _draw_sizes(
    draw: Any,
    st: Any,
    smallest: list[int],
    max_batch: int,
    max_groups: int,
    max_channels_per_group: int,
    max_extra_size: int,
) -> dict[str, int]:
    """Batch, groups, channel counts (multiples of groups) and an input size of at least
    ``smallest``."""
    groups = draw(st.integers(1, max_groups))
    return dict(
        batch=draw(st.integers(1, max_batch)),
        in_channels=groups * draw(st.integers(1, max_channels_per_group)),
        out_channels=groups * draw(st.integers(1, max_channels_per_group)),
        groups=groups,
        height=smallest[0] + draw(st.integers(0, max_extra_size)),
        width=smallest[1] + draw(st.integers(0, max_extra_size)),
    )


def conv_transpose2d_configs(
    max_batch: int = 2,
    max_channels_per_group: int = 3,
    max_groups: int = 2,
    max_kernel: int = 3,
    max_stride: int = 2,
    max_padding: int = 1,
    max_dilation: int = 2,
    max_extra_size: int = 2,
) -> SearchStrategy[ConvConfig]:
    """Valid ``ConvTranspose2d`` settings (``output_padding`` smaller than stride or dilation)
    with an input large enough for a non-empty output."""
    st = _strategies()

    @st.composite
    def draw_config(draw: Any) -> ConvConfig:
        kernel, stride, padding, dilation = _draw_geometry(
            draw, st, max_kernel, max_stride, max_padding, max_dilation
        )
        output_padding = tuple(
            draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation, strict=True)
        )
        smallest = []
        for k, s, p, d, o in zip(kernel, stride, padding, dilation, output_padding, strict=True):
            # output (n-1)*s - 2p + d(k-1) + o + 1 >= 1  <=>  n - 1 >= (2p - d(k-1) - o) / s
            smallest.append(1 + max(0, math.ceil((2 * p - d * (k - 1) - o) / s)))
        return ConvConfig(
            kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
            output_padding=output_padding,
            **_draw_sizes(draw, st, smallest, max_batch, max_groups, max_channels_per_group,
                          max_extra_size),
        )  # fmt: skip

    return draw_config()


def pool2d_configs(
    max_batch: int = 2,
    max_channels: int = 3,
    max_kernel: int = 3,
    max_stride: int = 3,
    max_extra_size: int = 3,
) -> SearchStrategy[PoolConfig]:
    """Valid ``MaxPool2d``/``AvgPool2d`` settings: padding at most half the kernel and an input
    large enough for a non-empty output."""
    st = _strategies()

    @st.composite
    def draw_config(draw: Any) -> PoolConfig:
        sizes = st.integers(1, max_kernel)
        kernel = (draw(sizes), draw(sizes))
        stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
        padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
        smallest = [max(1, k - 2 * p) for k, p in zip(kernel, padding, strict=True)]
        return PoolConfig(
            batch=draw(st.integers(1, max_batch)),
            channels=draw(st.integers(1, max_channels)),
            kernel_size=kernel,
            stride=stride,
            padding=padding,
            height=smallest[0] + draw(st.integers(0, max_extra_size)),
            width=smallest[1] + draw(st.integers(0, max_extra_size)),
        )

    return draw_config()
