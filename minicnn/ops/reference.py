"""Reference versions of the CNN ops: the plain formulas, written as loops. Read these first.

Each op is a ``*_forward`` and a ``*_backward`` function on raw arrays (NumPy or CuPy, no
Tensors, no autograd), written the way the course writes the math: a loop over the output
pixels, and inside it the window of input that the pixel looks at. A backward walks the same
windows and sends the gradient back to where each value came from. Nothing is cached between
the two: a backward recomputes what it needs from the inputs.

They are slow on purpose. The fast ops in this package (im2col, strided slices, einsum) must
give the same numbers; the tests compare every fast op with its reference, and check these
references against finite differences. When the two disagree, trust this file.

Conventions: images are (N, C, H, W); ``stride``, ``padding``, ``dilation`` and ``kernel``
are (height, width) pairs; ``padding`` adds that many rows (columns) on *each* side.
"""

import math
from itertools import product

from .. import backend
from .activation import erfc

# --- windows: which input pixels an output pixel sees ----------------------------------------


def _output_size(size, kernel, stride, padding, dilation=(1, 1)):
    """OH = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1, and likewise OW."""
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(size, kernel, stride, padding, dilation, strict=True)
    )


def _windows(grid, kernel, stride, dilation=(1, 1)):
    """Each pixel (i, j) of ``grid`` with the rows and columns of its window in the padded map:
    rows i sh, i sh + dh, ..., i sh + dh (kh - 1), and likewise columns."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    for i, j in product(range(grid[0]), range(grid[1])):
        rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
        yield i, j, rows, slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)


def _groups(groups, channels_in, channels_out):
    """(input channels, output channels) of each group: a group's outputs see only its inputs."""
    a, b = channels_in // groups, channels_out // groups
    return [(slice(k * a, (k + 1) * a), slice(k * b, (k + 1) * b)) for k in range(groups)]


def _pad(x, padding, value=0.0):
    """x with ``ph`` rows of ``value`` above and below, ``pw`` columns left and right."""
    (ph, pw), xp = padding, backend.get_array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _crop(x_pad, padding, size):
    """The inverse of :func:`_pad`: the (H, W) = ``size`` pixels inside the border."""
    (ph, pw), (h, w) = padding, size
    return x_pad[:, :, ph : ph + h, pw : pw + w]


# --- convolution -----------------------------------------------------------------------------


def conv2d_forward(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] x_pad[n, c, i sh + p dh, j sw + q dw]:
    the kernel dotted with the patch under output pixel (i, j), c over o's group.
    x (N, C, H, W), w (O, C/groups, kh, kw), b (O,) or None -> y (N, O, OH, OW)."""
    xp = backend.get_array_module(x)
    x_pad = _pad(x, padding)
    oh, ow = _output_size(x.shape[2:], w.shape[2:], stride, padding, dilation)
    y = xp.zeros((x.shape[0], w.shape[0], oh, ow), dtype=x.dtype)
    ### BEGIN SOLUTION
    ### HINT: loop over the output pixels with _windows and over the groups with _groups; each
    ### HINT: y[:, outs, i, j] is the patch x_pad[:, ins, rows, cols] dotted with w[outs]
    ### HINT: (xp.einsum or a reshape and @). Add the bias last, when there is one.
    for i, j, rows, cols in _windows((oh, ow), w.shape[2:], stride, dilation):
        for ins, outs in _groups(groups, x.shape[1], w.shape[0]):
            patch = x_pad[:, ins, rows, cols]  # (N, C/groups, kh, kw)
            y[:, outs, i, j] = xp.einsum("nckl,ockl->no", patch, w[outs])
    return y if b is None else y + b.reshape(1, -1, 1, 1)
    ### END SOLUTION


def conv2d_backward(x, w, g, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Every y[n, o, i, j] used patch and w[o] once, so, summed over all (i, j):
    dpatch += g[n, o, i, j] w[o];  dw[o] += g[n, o, i, j] patch[n];  db[o] = sum g[:, o].
    Overlapping patches add up in dx. Returns (dx, dw, db)."""
    xp = backend.get_array_module(x)
    x_pad = _pad(x, padding)
    dx_pad, dw = xp.zeros_like(x_pad), xp.zeros_like(w)
    ### BEGIN SOLUTION
    ### HINT: walk the same windows as the forward. Output pixel (i, j) sends g[:, outs, i, j]
    ### HINT: times the kernel back to its patch of dx_pad (+=: windows overlap), and the patch
    ### HINT: times g[:, outs, i, j] into dw. Crop the padding off dx; db sums g over N, OH, OW.
    for i, j, rows, cols in _windows(g.shape[2:], w.shape[2:], stride, dilation):
        for ins, outs in _groups(groups, x.shape[1], w.shape[0]):
            g_ij = g[:, outs, i, j]  # (N, O/groups)
            dx_pad[:, ins, rows, cols] += xp.einsum("no,ockl->nckl", g_ij, w[outs])
            dw[outs] += xp.einsum("no,nckl->ockl", g_ij, x_pad[:, ins, rows, cols])
    return _crop(dx_pad, padding, x.shape[2:]), dw, g.sum(axis=(0, 2, 3))
    ### END SOLUTION


def conv_transpose2d_forward(
    x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1), groups=1
):
    """Each input pixel scatters a copy of the kernel, scaled by its value, into the output:
    y_full[n, o, i sh + p dh, j sw + q dw] += sum_c x[n, c, i, j] w[c, o, p, q];
    y = y_full without ``padding`` rows (columns) on each side, plus b. x (N, C, H, W),
    w (C, O/groups, kh, kw) -> y (N, O, OH, OW), OH = (H-1) sh - 2 ph + dh (kh-1) + 1 + oph."""
    xp = backend.get_array_module(x)
    sizes = zip(x.shape[2:], w.shape[2:], stride, dilation, output_padding, strict=True)
    full = [(n - 1) * s + d * (k - 1) + 1 + extra for n, k, s, d, extra in sizes]
    channels_out = w.shape[1] * groups
    y_full = xp.zeros((x.shape[0], channels_out, *full), dtype=x.dtype)
    for i, j, rows, cols in _windows(x.shape[2:], w.shape[2:], stride, dilation):
        for ins, outs in _groups(groups, x.shape[1], channels_out):
            y_full[:, outs, rows, cols] += xp.einsum("nc,cokl->nokl", x[:, ins, i, j], w[ins])
    y = _crop(y_full, padding, [n - 2 * p for n, p in zip(full, padding, strict=True)])
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def conv_transpose2d_backward(x, w, g, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Each x[n, c, i, j] reached the window of g_pad (g with the cropped border back, as 0)
    through w[c], so: dx[n, c, i, j] = sum_{o, p, q} g_window[n, o, p, q] w[c, o, p, q];
    dw[c] += x[n, c, i, j] g_window[n];  db[o] = sum g[:, o]. Returns (dx, dw, db)."""
    xp = backend.get_array_module(x)
    g_pad = _pad(g, padding)
    dx, dw = xp.zeros_like(x), xp.zeros_like(w)
    for i, j, rows, cols in _windows(x.shape[2:], w.shape[2:], stride, dilation):
        for ins, outs in _groups(groups, x.shape[1], g.shape[1]):
            window = g_pad[:, outs, rows, cols]  # (N, O/groups, kh, kw)
            dx[:, ins, i, j] = xp.einsum("nokl,cokl->nc", window, w[ins])
            dw[ins] += xp.einsum("nc,nokl->cokl", x[:, ins, i, j], window)
    return dx, dw, g.sum(axis=(0, 2, 3))


# --- pooling ---------------------------------------------------------------------------------


def max_pool2d_forward(x, kernel, stride=None, padding=(0, 0)):
    """y[n, c, i, j] = max of the window under (i, j); padding counts as -inf, never the max.
    ``stride`` defaults to ``kernel``."""
    xp, stride = backend.get_array_module(x), stride or kernel
    x_pad = _pad(x, padding, float("-inf"))
    y = xp.zeros((*x.shape[:2], *_output_size(x.shape[2:], kernel, stride, padding)), x.dtype)
    ### BEGIN SOLUTION
    ### HINT: one loop over the output pixels (_windows); each is the max of its window.
    for i, j, rows, cols in _windows(y.shape[2:], kernel, stride):
        y[:, :, i, j] = x_pad[:, :, rows, cols].max(axis=(2, 3))
    return y
    ### END SOLUTION


def max_pool2d_backward(x, g, kernel, stride=None, padding=(0, 0)):
    """dx = g[n, c, i, j] at the maximum of each window (the first in row-major order on ties,
    as PyTorch), 0 elsewhere: only the maximum moved y. Overlapping windows add up."""
    xp, stride = backend.get_array_module(x), stride or kernel
    x_pad = _pad(x, padding, float("-inf"))
    dx_pad = xp.zeros_like(x_pad)
    ### BEGIN SOLUTION
    ### HINT: in each window only the maximum gets g[:, :, i, j]. With ties, only the FIRST
    ### HINT: maximum in row-major order (argmax of the flattened window) gets it.
    for i, j, rows, cols in _windows(g.shape[2:], kernel, stride):
        window = x_pad[:, :, rows, cols]  # (N, C, kh, kw)
        first_max = window.reshape(*x.shape[:2], -1).argmax(axis=-1)  # (N, C)
        is_max = xp.arange(kernel[0] * kernel[1]) == first_max[..., None]  # one-hot (N, C, kh*kw)
        dx_pad[:, :, rows, cols] += is_max.reshape(window.shape) * g[:, :, i, j, None, None]
    return _crop(dx_pad, padding, x.shape[2:])
    ### END SOLUTION


def avg_pool2d_forward(x, kernel, stride=None, padding=(0, 0), count_include_pad=True):
    """y[n, c, i, j] = (sum of the window under (i, j)) / d with d = kh kw, the zeros of the
    padding included, or (count_include_pad=False) d = the number of real pixels in it."""
    xp, stride = backend.get_array_module(x), stride or kernel
    x_pad, real = _pad(x, padding), _pad(xp.ones_like(x[:1, :1]), padding)  # real: 1, pad: 0
    y = xp.zeros((*x.shape[:2], *_output_size(x.shape[2:], kernel, stride, padding)), x.dtype)
    ### BEGIN SOLUTION
    ### HINT: each output pixel is its window's sum divided by d; with count_include_pad=False,
    ### HINT: d counts only the real pixels of the window (sum the same window of ``real``).
    for i, j, rows, cols in _windows(y.shape[2:], kernel, stride):
        d = kernel[0] * kernel[1] if count_include_pad else real[0, 0, rows, cols].sum()
        y[:, :, i, j] = x_pad[:, :, rows, cols].sum(axis=(2, 3)) / d
    return y
    ### END SOLUTION


def avg_pool2d_backward(x, g, kernel, stride=None, padding=(0, 0), count_include_pad=True):
    """dx += g[n, c, i, j] / d on every pixel of the window under (i, j): each counted once."""
    xp, stride = backend.get_array_module(x), stride or kernel
    dx_pad, real = _pad(xp.zeros_like(x), padding), _pad(xp.ones_like(x[:1, :1]), padding)
    ### BEGIN SOLUTION
    ### HINT: every pixel of a window moved its output by 1/d: spread g[:, :, i, j] / d over the
    ### HINT: window (+=: windows may overlap), then crop the padding off.
    for i, j, rows, cols in _windows(g.shape[2:], kernel, stride):
        d = kernel[0] * kernel[1] if count_include_pad else real[0, 0, rows, cols].sum()
        dx_pad[:, :, rows, cols] += g[:, :, i, j, None, None] / d
    return _crop(dx_pad, padding, x.shape[2:])
    ### END SOLUTION


# --- batch normalisation (training mode) and cross-entropy -----------------------------------


def _normalize(x, eps):
    """xhat = (x - mean) / sqrt(var + eps) per channel, over the M = N*H*W values of each."""
    xp, axes = backend.get_array_module(x), (0, *range(2, x.ndim))
    ### BEGIN SOLUTION
    ### HINT: mean and biased variance over ``axes`` (keepdims=True, so they broadcast);
    ### HINT: return (xhat, inv_std, axes) with inv_std = 1 / sqrt(var + eps).
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)  # biased: divides by M
    inv_std = 1 / xp.sqrt(var + eps)
    return (x - mean) * inv_std, inv_std, axes
    ### END SOLUTION


def batch_norm_forward(x, gamma, beta, eps=1e-5):
    """y = gamma xhat + beta with the batch's mean and biased variance per channel (axis 1).
    x (N, C) or (N, C, H, W); gamma, beta (C,)."""
    xhat, _, _ = _normalize(x, eps)
    ### BEGIN SOLUTION
    ### HINT: reshape gamma and beta to (1, C, 1, 1) (or (1, C)) so that they broadcast.
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return gamma.reshape(shape) * xhat + beta.reshape(shape)
    ### END SOLUTION


def batch_norm_backward(x, gamma, g, eps=1e-5):
    """dx = (1/M) gamma inv_std (M g - sum g - xhat sum(g xhat)), sums over a channel's M
    values (the mean and the variance depend on x too); dgamma = sum(g xhat), dbeta = sum g."""
    xhat, inv_std, axes = _normalize(x, eps)
    ### BEGIN SOLUTION
    ### HINT: the formula in the docstring, with the sums over ``axes`` (keepdims=True);
    ### HINT: dgamma and dbeta come back with shape (C,).
    m = x.size // x.shape[1]
    sum_g, sum_g_xhat = g.sum(axis=axes, keepdims=True), (g * xhat).sum(axis=axes, keepdims=True)
    gamma = gamma.reshape((1, -1) + (1,) * (x.ndim - 2))
    dx = gamma * inv_std / m * (m * g - sum_g - xhat * sum_g_xhat)
    return dx, sum_g_xhat.reshape(-1), sum_g.reshape(-1)
    ### END SOLUTION


# --- GELU: the plain formula, which the blocked fast path must equal ----------------------


def gelu_forward(x):
    """y = x Phi(x), with Phi(x) = erfc(-x / sqrt 2) / 2 the standard normal CDF."""
    return x * (0.5 * erfc(x * (-1 / math.sqrt(2))))


def gelu_backward(x, g):
    """dx = g (Phi(x) + x phi(x)), with phi(x) = exp(-x^2 / 2) / sqrt(2 pi) the normal pdf."""
    xp = backend.get_array_module(x)
    xc = xp.clip(x, -50, 50)  # x phi(x) is 0 beyond: no overflow of x^2, and no inf * 0
    x_pdf = xc * xp.exp(-0.5 * xc * xc) / math.sqrt(2 * math.pi)
    return g * (0.5 * erfc(x * (-1 / math.sqrt(2))) + x_pdf)


def _log_softmax(z):
    """log softmax over the classes (axis 1), shifted by the max so that exp never overflows."""
    xp = backend.get_array_module(z)
    ### BEGIN SOLUTION
    ### HINT: log softmax(z) = z - log(sum exp z); subtract each row's max from z first, or
    ### HINT: exp overflows for large logits (the answer does not change).
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    ### END SOLUTION


def cross_entropy_forward(logits, target):
    """L = -(1/N) sum_n log softmax(logits[n])[target[n]].
    logits (N, C), target (N,) class indices -> a scalar."""
    ### BEGIN SOLUTION
    ### HINT: pick each row's log-probability of its target class (fancy indexing) and average.
    rows = backend.get_array_module(logits).arange(logits.shape[0])
    return -_log_softmax(logits)[rows, target].mean()
    ### END SOLUTION


def cross_entropy_backward(logits, target, g=1.0):
    """dlogits = g (softmax(logits) - onehot(target)) / N."""
    xp, n = backend.get_array_module(logits), logits.shape[0]
    ### BEGIN SOLUTION
    ### HINT: softmax(logits) (from _log_softmax), minus 1 at each row's target, times g / N.
    p = xp.exp(_log_softmax(logits))
    p[xp.arange(n), target] -= 1
    return g * p / n
    ### END SOLUTION
