"""Pooling: max and average pooling over windows, adaptive average pooling, global pooling.

Inputs are ``(N, C, H, W)`` (or unbatched ``(C, H, W)``); pooling acts on the last two axes.
A window of size ``(kh, kw)`` moves by ``stride``; output size ``Ho = (H + 2 ph - kh) // sh + 1``
(likewise ``Wo``).

How the windows are formed without a loop over pixels: for a kernel offset ``(i, j)`` the
slice ``x[..., i : i + sh*(Ho-1) + 1 : sh, j : j + sw*(Wo-1) + 1 : sw]`` holds the element at
offset ``(i, j)`` of *every* window at once, an ``(N, C, Ho, Wo)`` array. So a loop over the
``kh * kw`` offsets (9 for a 3x3 kernel) visits every window element. Backward adds into the
same slices: within one slice no element repeats, so ``+=`` is exact, and overlapping windows
(stride < kernel) are summed over the offsets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import backend
from ..autograd import Function
from ..tensor import Tensor, as_tensor
from . import reduce as R

IntOrPair = int | tuple[int, int]


def _pair(op: str, name: str, value: Any, minimum: int) -> tuple[int, int]:
    """``value`` (an int or a pair of ints) as a pair, each at least ``minimum``."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= minimum for v in pair):
        raise ValueError(
            f"{op}: {name} must be an int or a pair of ints >= {minimum}, got {value!r}"
        )
    return pair  # type: ignore[return-value]


def _check_input(op: str, x: Any) -> None:
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{op}: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape {x.shape}"
        )


class _WindowPool(Function):
    """Shared set-up of max and average pooling: options, output size and window slices."""

    op = "pool"

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair):
        self.kernel = _pair(self.op, "kernel_size", kernel_size, 1)
        self.stride = self.kernel if stride is None else _pair(self.op, "stride", stride, 1)
        self.padding = _pair(self.op, "padding", padding, 0)
        for p, k in zip(self.padding, self.kernel, strict=True):
            if p > k // 2:
                raise ValueError(
                    f"{self.op}: padding should be at most half of the kernel size, "
                    f"got padding={self.padding} for kernel_size={self.kernel}"
                )

    def _setup(self, x: Any) -> None:
        _check_input(self.op, x)
        self.x_shape = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        padded = (x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw)
        if kh > padded[0] or kw > padded[1]:
            raise ValueError(
                f"{self.op}: kernel size {self.kernel} is larger than the padded input "
                f"{padded} (input {tuple(x.shape[-2:])}, padding {self.padding})"
            )
        self.padded_shape = (*x.shape[:-2], *padded)
        self.out_hw = ((padded[0] - kh) // sh + 1, (padded[1] - kw) // sw + 1)

    def _pad(self, x: Any, value: float) -> Any:
        ph, pw = self.padding
        if ph == pw == 0:
            return x
        xp = backend.get_array_module(x)
        widths = [(0, 0)] * (x.ndim - 2) + [(ph, ph), (pw, pw)]
        return xp.pad(x, widths, mode="constant", constant_values=value)

    def _crop(self, padded: Any) -> Any:
        (ph, pw), (h, w) = self.padding, self.x_shape[-2:]
        return padded[..., ph : ph + h, pw : pw + w]

    def _offsets(self) -> Iterator[tuple[int, tuple[slice, slice]]]:
        """For each kernel offset (row-major order): its number and the slice of the padded input
        holding that offset's element of every window."""
        (kh, kw), (sh, sw), (ho, wo) = self.kernel, self.stride, self.out_hw
        for i in range(kh):
            for j in range(kw):
                yield (
                    i * kw + j,
                    (slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw)),
                )


class MaxPool2d(_WindowPool):
    """y = max of each window;  dx = g routed to the argmax of its window, 0 elsewhere.

    With ties the first maximum in row-major window order wins, as in PyTorch; a NaN counts
    as the maximum. Padding is -inf, so padded positions never win. Overlapping windows that
    share a maximum add their gradients. Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo).

    Forward keeps, for each window, the number ``k`` of the offset holding its maximum
    (``arg``); backward writes ``g * (arg == k)`` into offset ``k``'s slice of dx.
    Speed (numbers for (64, 32, 28, 28) float32, 2x2): each offset's strided slice is first
    copied into one contiguous buffer, so that the four operations on it run on contiguous
    memory (forward 1.2 ms instead of 2.3). ``where``, ``copyto(..., where=)`` and boolean
    indexing are avoided: on a random mask each takes 1.1-1.7 ms, 10-50x more than
    ``maximum`` or a multiplication by the mask.
    """

    op = "max_pool2d"

    def forward(self, x: Any) -> Any:
        self._setup(x)
        xp = backend.get_array_module(x)
        padded = self._pad(x, float("-inf"))
        offsets = self._offsets()
        _, (rows, cols) = next(offsets)
        best = padded[..., rows, cols].copy()
        kh, kw = self.kernel
        small = kh * kw <= 256  # then uint8 holds every k: 4x less memory traffic than int32
        arg = xp.zeros(best.shape, dtype=backend.uint8 if small else backend.int32)
        window = xp.empty_like(best)
        for k, (rows, cols) in offsets:
            window[...] = padded[..., rows, cols]
            better = window > best  # strict: the first maximum is kept
            better |= xp.isnan(window)  # NaN beats all; the last NaN wins, as in PyTorch
            xp.maximum(best, window, out=best)  # propagates NaN
            # Offsets come in increasing order, so "arg = k where better" is a maximum.
            xp.maximum(arg, better * arg.dtype.type(k), out=arg)
        self.arg, self.dtype = arg, x.dtype
        return best

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        dx = xp.zeros(self.padded_shape, dtype=self.dtype)
        overlapping = any(s < k for s, k in zip(self.stride, self.kernel, strict=True))
        for k, (rows, cols) in self._offsets():
            routed = g * (self.arg == k)
            if overlapping:  # an input pixel may be the maximum of several windows
                dx[..., rows, cols] += routed
            else:  # at most one window per pixel: assigning is faster than adding
                dx[..., rows, cols] = routed
        return self._crop(dx)


class AvgPool2d(_WindowPool):
    """y = mean of each window = (sum of the window) / d;  dx = g / d spread over each window.

    The divisor d is kh * kw with ``count_include_pad`` (padding counts as zeros), else the
    number of real (unpadded) elements in the window. Overlapping windows add their gradients.
    Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo).
    """

    op = "avg_pool2d"

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        count_include_pad: bool = True,
    ):
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad

    def _divisor(self, xp: Any, dtype: Any) -> Any:
        (kh, kw), (ph, pw) = self.kernel, self.padding
        if self.count_include_pad or ph == pw == 0:
            return kh * kw
        counts = []  # per output row (column): how many of its kernel rows (columns) are real
        for n, k, s, p, out in zip(
            self.x_shape[-2:], self.kernel, self.stride, self.padding, self.out_hw, strict=True
        ):
            start = xp.arange(out) * s - p
            counts.append(xp.minimum(start + k, n) - xp.maximum(start, 0))
        return (counts[0][:, None] * counts[1][None, :]).astype(dtype)

    def forward(self, x: Any) -> Any:
        self._setup(x)
        xp = backend.get_array_module(x)
        padded = self._pad(x, 0)
        total = None
        for _, (rows, cols) in self._offsets():
            window = padded[..., rows, cols]
            total = window.copy() if total is None else total + window
        self.divisor, self.dtype = self._divisor(xp, x.dtype), x.dtype
        return total / self.divisor

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        share = g / self.divisor
        dx = xp.zeros(self.padded_shape, dtype=self.dtype)
        for _, (rows, cols) in self._offsets():
            dx[..., rows, cols] += share
        return self._crop(dx)


def _adaptive_matrix(xp: Any, size: int, out: int, dtype: Any) -> Any:
    """The (out, size) averaging matrix of adaptive pooling along one axis.

    Bin i covers [floor(i size / out), ceil((i + 1) size / out)), as in PyTorch; row i holds
    1 / (bin length) on its bin and 0 elsewhere. Bins may overlap when size is not a multiple
    of out, and a position may belong to several bins.
    """
    i = xp.arange(out)[:, None]
    start = (i * size) // out
    end = ((i + 1) * size + out - 1) // out
    position = xp.arange(size)[None, :]
    inside = (position >= start) & (position < end)
    return (inside / (end - start)).astype(dtype)


class AdaptiveAvgPool2d(Function):
    """y = mean of each adaptive bin, output (Ho, Wo) whatever the input size.

    Averaging along H and along W are linear maps, so with the averaging matrices A_h
    (Ho, H) and A_w (Wo, W) (see ``_adaptive_matrix``) y = A_h x A_w^T, a product per (n, c),
    and dx = A_h^T g A_w. This handles uneven and overlapping bins with two matrix products,
    no loop at all. (An integral image, cumsum then four corner lookups, would do too, but
    loses precision to cancellation in float32 and its backward needs a scatter.)
    Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo).
    """

    def __init__(self, output_size: int | tuple[int | None, int | None]):
        pair = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
        if len(pair) != 2 or not all(v is None or (isinstance(v, int) and v >= 1) for v in pair):
            raise ValueError(
                f"adaptive_avg_pool2d: output_size must be an int >= 1 or a pair of them "
                f"(None keeps the input size), got {output_size!r}"
            )
        self.output_size = pair

    def forward(self, x: Any) -> Any:
        _check_input("adaptive_avg_pool2d", x)
        xp = backend.get_array_module(x)
        h, w = x.shape[-2:]
        oh, ow = (n if o is None else o for o, n in zip(self.output_size, (h, w), strict=True))
        self.a_h = _adaptive_matrix(xp, h, oh, x.dtype)
        self.a_w = _adaptive_matrix(xp, w, ow, x.dtype)
        return self.a_h @ x @ self.a_w.T

    def backward(self, g: Any) -> Any:
        return self.a_h.T @ g @ self.a_w


class GlobalMaxPool2d(Function):
    """y[n, c] = max over h, w of x[n, c];  dx = g at the first maximum of each map, else 0.

    Like ``max_pool2d`` with one window covering the map (ties: the first in row-major order).
    Shapes: x (N, C, H, W) -> y (N, C).
    """

    def forward(self, x: Any) -> Any:
        if x.ndim != 4:
            raise ValueError(
                f"global_max_pool2d: expected a 4-d (N, C, H, W) input, got shape {x.shape}"
            )
        xp = backend.get_array_module(x)
        flat = x.reshape(*x.shape[:2], -1)
        self.arg, self.x_shape = flat.argmax(axis=-1), x.shape
        return xp.take_along_axis(flat, self.arg[..., None], axis=-1)[..., 0]

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        n, c, h, w = self.x_shape
        hit = xp.arange(h * w) == self.arg[..., None]
        return xp.where(hit, g[..., None], 0).reshape(self.x_shape)


# --- the public functions (PyTorch's names; re-exported by minicnn.functional) -------------


def max_pool2d(
    x: Any, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
) -> Tensor:
    """Max over ``kernel_size`` windows moved by ``stride`` (default: ``kernel_size``) over the
    input padded with -inf; ``padding`` is at most half the kernel, as in PyTorch."""
    return MaxPool2d(kernel_size, stride, padding)(as_tensor(x))


def avg_pool2d(
    x: Any,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over windows of the zero-padded input; with ``count_include_pad=False`` each window
    divides by its number of real (unpadded) elements."""
    return AvgPool2d(kernel_size, stride, padding, count_include_pad)(as_tensor(x))


def adaptive_avg_pool2d(x: Any, output_size: int | tuple[int | None, int | None]) -> Tensor:
    """Average pooling to a fixed ``output_size`` (int or pair; None keeps that input size)."""
    return AdaptiveAvgPool2d(output_size)(as_tensor(x))


def global_avg_pool2d(x: Any) -> Tensor:
    """Mean of each feature map: (N, C, H, W) -> (N, C)."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(
            f"global_avg_pool2d: expected a 4-d (N, C, H, W) input, got shape {x.shape}"
        )
    return R.Mean(dim=(2, 3))(x)


def global_max_pool2d(x: Any) -> Tensor:
    """Max of each feature map: (N, C, H, W) -> (N, C)."""
    return GlobalMaxPool2d()(as_tensor(x))
