"""im2col and col2im: turning a convolution into one matrix product, and back.

A 2-D convolution slides a kernel of ``C x kh x kw`` weights over the input and, at each of
the ``OH x OW`` output positions, takes a dot product between the kernel and the patch of
input under it. **im2col** ("image to columns") copies every patch into a column of a matrix:

    cols[(c, i, j), (n, oh, ow)] = x_pad[n, c, oh*s + i*d, ow*s + j*d]

(``s`` the stride, ``d`` the dilation, ``x_pad`` the zero-padded input). Row ``(c, i, j)`` is
input channel ``c`` seen through kernel offset ``(i, j)``; column ``(n, oh, ow)`` is the patch
that output pixel ``(oh, ow)`` of image ``n`` looks at. Then every output of every image is a
row of weights times a column, and the whole convolution is one matrix product::

    W  (out, C*kh*kw)  @  cols  (C*kh*kw, N*OH*OW)  =  y  (out, N*OH*OW)

A worked example: one image with one 3x3 channel, a 2x2 kernel, stride 1, no padding, so
OH = OW = 2 and ``cols`` is 4x4. Row ``(i, j)`` holds what kernel tap ``(i, j)`` sees at each
output pixel; column ``(oh, ow)`` is the 2x2 patch under output pixel ``(oh, ow)``::

    x = a b c        cols      (0,0) (0,1) (1,0) (1,1)   <- output pixel (oh, ow)
        d e f        tap (0,0)   a     b     d     e
        g h i        tap (0,1)   b     c     e     f
                     tap (1,0)   d     e     g     h
                     tap (1,1)   e     f     h     i

With weights ``W = [w00 w01 w10 w11]`` (one output channel), ``W @ cols`` gives the four
outputs, e.g. ``y[0, 0] = w00 a + w01 b + w10 d + w11 e``. Pixel ``e`` appears four times:
it lies under all four windows.

**col2im** is the transpose (the adjoint) of im2col: each entry of a column is *added* back
to the input pixel it was copied from. A pixel that sits in several patches (neighbouring
windows overlap when the stride is smaller than the kernel) receives the sum of all its
copies' values. That is what the chain rule asks for: im2col is linear, every copy of a
pixel passes the pixel's value on unchanged, so the pixel's gradient is the sum of its
copies' gradients, ``dx = col2im(dcols)``. In the example, col2im of a ``cols`` full of
ones counts the windows that cover each pixel::

    1 2 1
    2 4 2
    1 2 1

Both are written as a loop over the ``kh * kw`` kernel offsets: offset ``(i, j)`` touches a
strided grid of the input, ``x_pad[:, :, i*d : ... : s, j*d : ... : s]``, one slice for all
images, channels and output pixels at once.

Memory layout. The columns are stored as a 6-D array ``(C, kh, kw, N, OH, OW)`` in C order,
which *is* the matrix ``(C*kh*kw, N*OH*OW)`` without any copy. Each offset's slice is
``(C, N, OH, OW)``; the padded input is kept as ``(C, N, Hp, Wp)`` so that the copy runs over
matching axes, row by contiguous row.

Padding is given per side, ``((top, bottom), (left, right))``, because ``padding="same"``
with an even kernel pads one more row and column at the bottom and right, as PyTorch does.
"""

from __future__ import annotations

from typing import Any

from .. import backend

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]


def conv_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """Output length of a convolution along one axis, ``pad`` counting both sides::

    floor((size + pad - dilation * (kernel - 1) - 1) / stride) + 1

    ``dilation * (kernel - 1) + 1`` is the span of the dilated kernel; it fits in the padded
    input ``size + pad`` at ``floor(...) + 1`` positions ``stride`` apart.
    """
    return (size + pad - dilation * (kernel - 1) - 1) // stride + 1


def _offset_slice(offset: int, dilation: int, stride: int, count: int) -> slice:
    """Positions ``offset*dilation + stride*t`` for ``t = 0 .. count-1``: one kernel tap's grid."""
    start = offset * dilation
    return slice(start, start + stride * (count - 1) + 1, stride)


def im2col(
    x: Any,
    kernel_size: Pair,
    stride: Pair,
    padding: Padding,
    dilation: Pair,
    output_size: Pair | None = None,
    workspace: bool = False,
) -> Any:
    """Patches of ``x`` (N, C, H, W) as columns ``(C, kh, kw, N, OH, OW)``.

    ``cols[c, i, j, n, oh, ow] = x_pad[n, c, oh*sh + i*dh, ow*sw + j*dw]``; reshaped (no copy)
    to ``(C*kh*kw, N*OH*OW)`` it is the matrix that the kernel multiplies.
    ``output_size`` (OH, OW) defaults to the convolution's output size; a smaller one keeps
    only the first rows and columns of outputs (``conv_transpose2d`` needs that).
    ``workspace=True`` writes the columns into :func:`minicnn.backend.workspace` instead of a
    fresh array: faster, but they are overwritten by the next such call, so the caller must
    use them at once and never return or save them.
    """
    xp = backend.get_array_module(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    (top, bottom), (left, right) = padding
    ### BEGIN SOLUTION
    ### HINT: the output size comes from conv_output_size (pad = top + bottom, left + right).
    ### HINT: zero-pad x (as (C, N, Hp, Wp): x.transpose(1, 0, 2, 3)), then, for each kernel
    ### HINT: offset (i, j), cols[:, i, j] is one strided slice of it (see _offset_slice).
    if output_size is None:
        output_size = (
            conv_output_size(h, kh, sh, top + bottom, dh),
            conv_output_size(w, kw, sw, left + right, dw),
        )
    oh, ow = output_size

    # (C, N, Hp, Wp): channels first, so that each tap's slice lines up with the columns.
    x_cn = x.transpose(1, 0, 2, 3)
    if top or bottom or left or right:
        x_pad = xp.zeros((c, n, h + top + bottom, w + left + right), dtype=x.dtype)
        x_pad[:, :, top : top + h, left : left + w] = x_cn
    else:
        x_pad = x_cn

    shape = (c, kh, kw, n, oh, ow)
    if workspace:
        cols = backend.workspace(shape, x.dtype, backend.device_of(x))
    else:
        cols = xp.empty(shape, dtype=x.dtype)
    for i in range(kh):
        rows = _offset_slice(i, dh, sh, oh)
        for j in range(kw):
            cols[:, i, j] = x_pad[:, :, rows, _offset_slice(j, dw, sw, ow)]
    return cols
    ### END SOLUTION


def col2im(
    cols: Any, input_shape: tuple[int, ...], stride: Pair, padding: Padding, dilation: Pair
) -> Any:
    """The adjoint of :func:`im2col`: add every column entry back to the pixel it came from.

    ``cols`` (C, kh, kw, N, OH, OW) -> array of ``input_shape`` (N, C, H, W), with
    ``x[n, c, oh*sh + i*dh - top, ow*sw + j*dw - left] += cols[c, i, j, n, oh, ow]`` summed
    over all ``(i, j, oh, ow)`` that land on the same pixel; entries that land on the padding
    are dropped. The kernel size and (OH, OW) are read from ``cols``'s shape.
    """
    xp = backend.get_array_module(cols)
    c, kh, kw, n, oh, ow = cols.shape
    _, _, h, w = input_shape
    (sh, sw), (dh, dw) = stride, dilation
    (top, bottom), (left, right) = padding

    ### BEGIN SOLUTION
    ### HINT: the same slices as im2col, with += into a zero padded (C, N, Hp, Wp) array
    ### HINT: (overlapping windows add up); then crop the padding and go back to (N, C, H, W).
    x_pad = xp.zeros((c, n, h + top + bottom, w + left + right), dtype=cols.dtype)
    for i in range(kh):
        rows = _offset_slice(i, dh, sh, oh)
        for j in range(kw):
            # Slices never repeat an element, so ``+=`` adds each value once: the overlaps
            # between windows are summed across the loop iterations.
            x_pad[:, :, rows, _offset_slice(j, dw, sw, ow)] += cols[:, i, j]
    x_cn = x_pad[:, :, top : top + h, left : left + w]
    return xp.ascontiguousarray(x_cn.transpose(1, 0, 2, 3))
    ### END SOLUTION
