"""Pooling: max and average pooling over windows, max unpooling, adaptive and global pooling.

Inputs are ``(N, C, H, W)`` (or unbatched ``(C, H, W)``); pooling acts on the last two axes.
A window of ``(kh, kw)`` taps, ``(dh, dw)`` apart (the dilation), moves by ``stride`` over
the input padded by ``(ph, pw)`` on each side. Output size, PyTorch's rule::

    Ho = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1          (likewise Wo)

With ``ceil_mode`` the division rounds up, but the last window must start inside the input
or the top padding (else ``Ho`` drops by one); windows may then run past the padded input,
and the part outside counts as padding. The functions here trust their settings: the checks
are in :mod:`minicnn.functional.pool`.

How the windows are formed without a loop over pixels: for a kernel offset ``(i, j)`` the
slice ``x[..., i dh : i dh + sh*(Ho-1) + 1 : sh, j dw : j dw + sw*(Wo-1) + 1 : sw]`` holds the
element at offset ``(i, j)`` of *every* window at once, an ``(N, C, Ho, Wo)`` array. So a
loop over the ``kh * kw`` offsets (9 for a 3x3 kernel) visits every window element. Backward
adds into the same slices: within one slice no element repeats, so ``+=`` is exact, and
overlapping windows (stride < kernel) are summed over the offsets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import backend
from ..autograd import Function

Pair = tuple[int, int]


def pool_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int = 1, ceil_mode: bool = False
) -> int:
    """The number of windows along one axis, PyTorch's formula (see the module docstring)."""
    span = dilation * (kernel - 1) + 1
    out = (size + 2 * padding - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # the last window would start in the bottom padding: drop it
    return out


@dataclass(frozen=True)
class PoolGeometry:
    """How a pooling window slides: kernel, stride, padding and dilation pairs, ceil_mode."""

    kernel: Pair
    stride: Pair
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    ceil_mode: bool = False

    def output_size(self, size: tuple[int, ...]) -> Pair:
        """(Ho, Wo) for an input of spatial size ``size`` (H, W)."""
        return tuple(  # type: ignore[return-value]
            pool_output_size(n, k, s, p, d, self.ceil_mode)
            for n, k, s, p, d in zip(
                size, self.kernel, self.stride, self.padding, self.dilation, strict=True
            )
        )


def _unsigned_view(a: Any) -> Any:
    """The bit patterns of a float array as unsigned ints of the same width (no copy)."""
    return a.view(f"u{a.dtype.itemsize}")


def _where_or_zero(mask: Any, g: Any) -> Any:
    """``xp.where(mask, g, 0)``, computed faster in NumPy (whose ``where`` is slow on a
    random mask): g's bit patterns, read as unsigned ints, times the 0/1 mask keep a value's
    exact bits or give 0.0. A float product ``g * mask`` would not do: inf * 0 is NaN."""
    return (_unsigned_view(g) * mask).view(g.dtype)


class _WindowPool(Function):
    """Shared set-up of max and average pooling: output size, padding and window slices."""

    def __init__(self, geometry: PoolGeometry):
        self.geometry = geometry

    def _setup(self, x: Any) -> None:
        """Output size and padding for ``x``: ``(before, after)`` per axis, ``after`` as far as
        the last window reaches (more than the padding with ``ceil_mode``, maybe less)."""
        g = self.geometry
        self.x_shape = x.shape
        self.out_hw = g.output_size(x.shape[-2:])
        self.pads = tuple(
            (p, max(0, (o - 1) * s + d * (k - 1) + 1 - n - p))
            for n, o, k, s, p, d in zip(
                x.shape[-2:], self.out_hw, g.kernel, g.stride, g.padding, g.dilation, strict=True
            )
        )
        self.padded_shape = (
            *x.shape[:-2],
            *(
                n + before + after
                for n, (before, after) in zip(x.shape[-2:], self.pads, strict=True)
            ),
        )

    def _pad(self, x: Any, value: Any) -> Any:
        if self.pads == ((0, 0), (0, 0)):
            return x
        xp = backend.get_array_module(x)
        widths = [(0, 0)] * (x.ndim - 2) + list(self.pads)
        return xp.pad(x, widths, mode="constant", constant_values=value)

    def _crop(self, padded: Any) -> Any:
        ((ph, _), (pw, _)), (h, w) = self.pads, self.x_shape[-2:]
        return padded[..., ph : ph + h, pw : pw + w]

    def _offsets(self) -> Iterator[tuple[int, tuple[slice, slice]]]:
        """For each kernel offset (row-major order): its number and the slice of the padded input
        holding that offset's element of every window."""
        g, (ho, wo) = self.geometry, self.out_hw
        (kh, kw), (sh, sw), (dh, dw) = g.kernel, g.stride, g.dilation
        for i in range(kh):
            for j in range(kw):
                yield (
                    i * kw + j,
                    (
                        slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                        slice(j * dw, j * dw + sw * (wo - 1) + 1, sw),
                    ),
                )

    def _overlapping(self) -> bool:
        """Whether a pixel may be in several windows (a window spans more than the stride)."""
        g = self.geometry
        return any(
            d * (k - 1) + 1 > s for k, s, d in zip(g.kernel, g.stride, g.dilation, strict=True)
        )


class MaxPool2dFunction(_WindowPool):
    """y = max of each window;  dx = g routed to the argmax of its window, 0 elsewhere.

    With ties the first maximum in row-major window order wins, as in PyTorch; a NaN counts
    as the maximum. Padding is -inf (the dtype's minimum for integers), so padded positions
    never win; a window whose real elements all equal that value picks its first real one,
    as PyTorch does. Overlapping windows that share a maximum add their gradients.
    Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo); with ``return_indices`` also the int64 index
    of each maximum in its flattened (H, W) input plane, as PyTorch returns it.

    Forward keeps, for each window, the number ``k`` of the offset holding its maximum
    (``arg``); backward writes g where ``arg == k`` (else 0) into offset ``k``'s slice of dx.
    The plain version is ``max_pool2d_forward``/``_backward`` in :mod:`minicnn.ops.reference`
    (a loop over windows). This fast path loops over the kh*kw kernel offsets instead, and for
    speed (measured in ``benchmarks/README.md``): each offset's strided slice is first copied
    into one contiguous buffer, so that the operations on it run on contiguous memory;
    ``where``, ``copyto(..., where=)`` and boolean indexing, slow on a random mask, are
    avoided; backward selects with bit patterns instead (:func:`_where_or_zero`), which also
    keeps an infinite g from turning into NaN at the other positions, and without overlap it
    multiplies straight into dx's slices.
    """

    def __init__(self, geometry: PoolGeometry, return_indices: bool = False):
        super().__init__(geometry)
        self.return_indices = return_indices

    def forward(self, x: Any) -> Any:
        self._setup(x)
        xp = backend.get_array_module(x)
        floating = x.dtype.kind == "f"
        lowest = float("-inf") if floating else xp.iinfo(x.dtype).min
        kh, kw = self.geometry.kernel
        small = kh * kw <= 256  # then uint8 holds every k: a quarter of int32's memory traffic
        best = xp.empty((*x.shape[:-2], *self.out_hw), dtype=x.dtype)
        arg = xp.zeros(best.shape, dtype=backend.uint8 if small else backend.int32)
        # a block of images (planes, for unbatched input) at a time: the kh*kw passes over
        # its buffers then find them in the CPU's cache
        for block in backend.block_slices(x.shape[0], x[:1].nbytes, x):
            self._max_of_windows(xp, self._pad(x[block], lowest), best[block], arg[block])
        if self.geometry.padding != (0, 0):
            self._first_real_on_ties(xp, best, arg, lowest)
        self.arg, self.dtype = arg, x.dtype
        if self.return_indices:
            return best, self._indices(xp, arg)
        return best

    def _max_of_windows(self, xp: Any, padded: Any, best: Any, arg: Any) -> None:
        """best = the maximum of each window of ``padded``, arg = the offset holding it."""
        floating = padded.dtype.kind == "f"
        offsets = self._offsets()
        _, (rows, cols) = next(offsets)
        best[...] = padded[..., rows, cols]
        window = xp.empty_like(best)
        for k, (rows, cols) in offsets:
            window[...] = padded[..., rows, cols]
            better = window > best  # strict: the first maximum is kept
            if floating:
                better |= xp.isnan(window)  # NaN beats all; the last NaN wins, as in PyTorch
            xp.maximum(best, window, out=best)  # propagates NaN
            # Offsets come in increasing order, so "arg = k where better" is a maximum.
            xp.maximum(arg, better * arg.dtype.type(k), out=arg)

    def _first_offsets(self, xp: Any, axis: int) -> tuple[Any, Any]:
        """Along one axis, for each output position: the first offset that lands in the input
        (not in the padding), and whether there is one (with dilation there may be none)."""
        g, n = self.geometry, self.x_shape[-2 + axis]
        k, s, p, d = g.kernel[axis], g.stride[axis], g.padding[axis], g.dilation[axis]
        start = xp.arange(self.out_hw[axis]) * s - p
        first = xp.maximum(0, -(start // d))  # ceil(-start / d): the first tap at or after 0
        return first, (first < k) & (start + first * d < n)

    def _first_real_on_ties(self, xp: Any, best: Any, arg: Any, lowest: Any) -> None:
        """Where a window's maximum equals the padding value, every real element of it does;
        then the first real element is the maximum (PyTorch never looks at the padding)."""
        (rows, rows_ok), (cols, cols_ok) = self._first_offsets(xp, 0), self._first_offsets(xp, 1)
        kw = self.geometry.kernel[1]
        first = (rows[:, None] * kw + cols[None, :]).astype(arg.dtype)
        tie = (best == lowest) & rows_ok[:, None] & cols_ok[None, :]
        xp.copyto(arg, first, where=tie)

    def _indices(self, xp: Any, arg: Any) -> Any:
        """Index in the flattened (H, W) input plane of each window's maximum (int64)."""
        g, (ho, wo), width = self.geometry, self.out_hw, self.x_shape[-1]
        (kw, (sh, sw), (ph, pw), (dh, dw)) = g.kernel[1], g.stride, g.padding, g.dilation
        k = arg.astype(backend.int64)
        rows = (xp.arange(ho, dtype=backend.int64) * sh - ph)[:, None] + (k // kw) * dh
        cols = (xp.arange(wo, dtype=backend.int64) * sw - pw)[None, :] + (k % kw) * dw
        return rows * width + cols

    def backward(self, g: Any, *_: Any) -> Any:
        xp = backend.get_array_module(g)
        g = g.astype(self.dtype, copy=False)
        overlapping = self._overlapping()
        # At most one window per pixel: write g where arg == k, else 0, straight into the
        # slice (as bits, see _where_or_zero: exact also for an infinite g). Where the windows
        # tile the padded input (stride = kernel), every pixel is written: no zeroing needed.
        geometry, (ho, wo) = self.geometry, self.out_hw
        tiled = (
            not overlapping
            and geometry.kernel == geometry.stride
            and geometry.dilation == (1, 1)
            and self.padded_shape[-2:] == (ho * geometry.stride[0], wo * geometry.stride[1])
        )
        dx = (xp.empty if tiled else xp.zeros)(self.padded_shape, dtype=self.dtype)
        # a block of images at a time, as in the forward
        for block in backend.block_slices(g.shape[0], dx[:1].nbytes, g):
            dx_block, g_block, arg = dx[block], g[block], self.arg[block]
            if overlapping:  # an input pixel may be the maximum of several windows: add
                for k, (rows, cols) in self._offsets():
                    dx_block[..., rows, cols] += _where_or_zero(arg == k, g_block)
                continue
            dx_bits, g_bits = _unsigned_view(dx_block), _unsigned_view(g_block)
            for k, (rows, cols) in self._offsets():
                xp.multiply(g_bits, arg == k, out=dx_bits[..., rows, cols])
        return self._crop(dx)


class AvgPool2dFunction(_WindowPool):
    """y = (sum of each window) / d;  dx = g / d spread over each window.

    The divisor d is ``divisor_override`` if given; else with ``count_include_pad`` the
    window's size within the padded input (kh * kw, unless ``ceil_mode`` lets it run past),
    padding counted as zeros; else the number of real (unpadded) elements in the window.
    Overlapping windows add their gradients. Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo).
    The plain version (a loop over windows) is ``avg_pool2d_forward``/``_backward`` in
    :mod:`minicnn.ops.reference`; this one sums the kh*kw offset slices instead.
    """

    def __init__(
        self,
        geometry: PoolGeometry,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ):
        super().__init__(geometry)
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def _divisor(self, xp: Any, dtype: Any) -> Any:
        """The divisor of each window: an int where all are equal, else an (Ho, Wo) array."""
        if self.divisor_override is not None:
            return self.divisor_override
        g = self.geometry
        uniform, counts = True, []  # per output row (column): how many kernel rows count
        for n, k, s, p, out in zip(
            self.x_shape[-2:], g.kernel, g.stride, g.padding, self.out_hw, strict=True
        ):
            low, high = (-p, n + p) if self.count_include_pad else (0, n)
            # decided in Python ints, so that nothing is read back from a device
            uniform &= all(min(i * s - p + k, high) - max(i * s - p, low) == k for i in range(out))
            start = xp.arange(out) * s - p
            counts.append(xp.minimum(start + k, high) - xp.maximum(start, low))
        if uniform:
            return g.kernel[0] * g.kernel[1]
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


def _planes(a: Any) -> Any:
    """(..., H, W) -> (P, H*W): one row per (n, c) plane."""
    return a.reshape(-1, a.shape[-2] * a.shape[-1])


class MaxUnpool2dFunction(Function):
    """The partial inverse of max pooling: y = 0 except y.flat[indices] = x, per (n, c) plane;
    dx = g.flat[indices] (a gather; each x element went to one place).

    ``indices`` (int64, x's shape) are positions in each flattened (Ho, Wo) output plane, as
    ``max_pool2d(..., return_indices=True)`` gives them. Shapes: x (N, C, H, W) ->
    y (N, C, Ho, Wo). Indices that repeat (overlapping windows with one maximum) carry the same
    value; each copy receives the gradient of that output element.
    """

    def __init__(self, indices: Any, output_size: Pair):
        self.indices, self.output_size = indices, output_size

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        oh, ow = self.output_size
        self.x_shape = x.shape
        y = xp.zeros((_planes(x).shape[0], oh * ow), dtype=x.dtype)
        rows = xp.arange(y.shape[0])[:, None]
        y[rows, _planes(self.indices)] = _planes(x)
        return y.reshape(*x.shape[:-2], oh, ow)

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        gathered = xp.take_along_axis(_planes(g), _planes(self.indices), axis=1)
        return gathered.reshape(self.x_shape)


def _adaptive_bins(xp: Any, size: int, out: int) -> tuple[Any, Any]:
    """Bin i of adaptive pooling along one axis covers [floor(i size / out),
    ceil((i + 1) size / out)), as in PyTorch; returns (start, end), each (out,)."""
    i = xp.arange(out)
    return (i * size) // out, ((i + 1) * size + out - 1) // out


def _adaptive_matrix(xp: Any, size: int, out: int, dtype: Any) -> Any:
    """The (out, size) averaging matrix of adaptive pooling along one axis.

    Row i holds 1 / (bin length) on bin i (see ``_adaptive_bins``) and 0 elsewhere. Bins may
    overlap when size is not a multiple of out, and a position may belong to several bins.
    """
    start, end = _adaptive_bins(xp, size, out)
    position = xp.arange(size)[None, :]
    inside = (position >= start[:, None]) & (position < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2dFunction(Function):
    """y = mean of each adaptive bin, output (Ho, Wo) whatever the input size.

    Averaging along H and along W are linear maps, so with the averaging matrices A_h
    (Ho, H) and A_w (Wo, W) (see ``_adaptive_matrix``) y = A_h x A_w^T, a product per (n, c),
    and dx = A_h^T g A_w. This handles uneven and overlapping bins with two matrix products,
    no loop at all. (An integral image, cumsum then four corner lookups, would do too, but
    loses precision to cancellation in float32 and its backward needs a scatter.)
    Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo).
    """

    def __init__(self, output_size: Pair):
        self.output_size = output_size

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        (h, w), (oh, ow) = x.shape[-2:], self.output_size
        self.a_h = _adaptive_matrix(xp, h, oh, x.dtype)
        self.a_w = _adaptive_matrix(xp, w, ow, x.dtype)
        return self.a_h @ x @ self.a_w.T

    def backward(self, g: Any) -> Any:
        return self.a_h.T @ g @ self.a_w


class AdaptiveMaxPool2dFunction(Function):
    """y = max of each adaptive bin (the bins of ``_adaptive_bins``);  dx = g added at the
    first maximum of each bin (bins may overlap, so a pixel may collect several).

    Ties and NaN as in ``max_pool2d``. Bins differ in length, so each axis gets a table of
    positions, (out, longest bin), each bin's row padded by repeating its last position (a
    repeat never changes a maximum); the loop then runs over the table's columns as
    ``max_pool2d`` loops over kernel offsets. Forward keeps the flat (H, W) index of each
    maximum, returned too with ``return_indices``. Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo).
    """

    def __init__(self, output_size: Pair, return_indices: bool = False):
        self.output_size, self.return_indices = output_size, return_indices

    @staticmethod
    def _positions(xp: Any, size: int, out: int) -> Any:
        start, end = _adaptive_bins(xp, size, out)
        # the longest bin, in Python ints (reading it from the arrays would copy from a device)
        longest = max(-(-(i + 1) * size // out) - i * size // out for i in range(out))
        return xp.minimum(start[:, None] + xp.arange(longest)[None, :], end[:, None] - 1)

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        (h, w), (oh, ow) = x.shape[-2:], self.output_size
        rows, cols = self._positions(xp, h, oh), self._positions(xp, w, ow)
        best = index = None
        for a in range(rows.shape[1]):
            for b in range(cols.shape[1]):
                r, c = rows[:, a][:, None], cols[:, b][None, :]  # (Ho, 1), (1, Wo)
                window = x[..., r, c]
                here = (r * w + c).astype(backend.int64)
                if best is None:
                    best, index = window, xp.broadcast_to(here, window.shape).copy()
                    continue
                better = (window > best) | xp.isnan(window)
                index = xp.where(better, here, index)
                best = xp.where(better, window, best)
        self.index, self.x_shape = index, x.shape
        return (best, index) if self.return_indices else best

    def backward(self, g: Any, *_: Any) -> Any:
        xp = backend.get_array_module(g)
        dx = xp.zeros((_planes(g).shape[0], self.x_shape[-2] * self.x_shape[-1]), dtype=g.dtype)
        rows = xp.arange(dx.shape[0])[:, None]
        backend.scatter_add(dx, (rows, _planes(self.index)), _planes(g))
        return dx.reshape(self.x_shape)


class GlobalMaxPool2dFunction(Function):
    """y[n, c] = max over h, w of x[n, c];  dx = g at the first maximum of each map, else 0.

    Like ``max_pool2d`` with one window covering the map (ties: the first in row-major order).
    Shapes: x (N, C, H, W) -> y (N, C).
    """

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        flat = x.reshape(*x.shape[:2], -1)
        self.arg, self.x_shape = flat.argmax(axis=-1), x.shape
        return xp.take_along_axis(flat, self.arg[..., None], axis=-1)[..., 0]

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        n, c, h, w = self.x_shape
        hit = xp.arange(h * w) == self.arg[..., None]
        return xp.where(hit, g[..., None], 0).reshape(self.x_shape)
