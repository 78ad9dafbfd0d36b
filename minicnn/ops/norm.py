"""Normalisation: batch, layer and group normalisation, one formula over different axes.

Each op standardises groups of M values, ``xhat = (x - mean) / std`` with the group's mean and
biased variance, ``std = sqrt(var + eps)``, then scales and shifts. Only the groups differ;
each op views its input as an ``(A, B, L)`` array and standardises every b over a and l:

    batch norm  (N, C, *)    -> (N, C, L)            one group per channel, M = N * L
    layer norm  (*, *shape)  -> (1, rows, K)         one group per row, M = K = prod(shape)
    group norm  (N, C, *)    -> (1, N * G, C/G * L)  one per (sample, group), M = C/G * L

With ``dxhat`` the gradient reaching xhat and sums over a group's M values, all three share

    dx = (1 / (M std)) * (M dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))

(the mean and the variance depend on x too, which gives the two subtracted terms).
:func:`standardise` and :func:`standardise_backward` compute these for the three Functions.

The plain version of batch norm is ``batch_norm_forward``/``_backward`` in
:mod:`minicnn.ops.reference`. The fast path differs only for speed (measured in
``benchmarks/README.md``): every per-group sum is an ``einsum`` over a and l, e.g.
``einsum("abl,abl->b", g, xhat)``, one pass over memory without the temporary ``g * xhat``
and equally accurate; and since an elementwise pass costs as much as such a sum, the arrays
the ops create are updated in place (``*=``, ``+=``) instead of made anew.
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd import Function


def standardise(x3: Any, eps: float) -> tuple[Any, Any, Any, Any]:
    """(xhat, 1/std, mean, var) of each b of an (A, B, L) array, statistics over a and l."""
    xp = backend.get_array_module(x3)
    count = x3.shape[0] * x3.shape[2]
    mean = xp.einsum("abl->b", x3) / count
    xhat = x3 - mean[:, None]  # centred for now, scaled below
    var = xp.einsum("abl,abl->b", xhat, xhat) / count
    inv_std = 1 / xp.sqrt(var + eps)
    xhat *= inv_std[:, None]
    return xhat, inv_std, mean, var


def group_sums(d3: Any, xhat: Any) -> tuple[Any, Any]:
    """sum(d) and sum(d * xhat) over a and l, for each b of (A, B, L) arrays."""
    xp = backend.get_array_module(d3)
    return xp.einsum("abl->b", d3), xp.einsum("abl,abl->b", d3, xhat)


def standardise_backward(
    d3: Any, xhat: Any, scale: Any, sum_d: Any, sum_d_xhat: Any, count: int
) -> Any:
    """dx = scale * (d - sum(d) / M - xhat * sum(d * xhat) / M), per b of (A, B, L) arrays.

    With d = dxhat and scale = 1/std this is the gradient of :func:`standardise`; batch norm,
    whose weight is constant over a group, passes d = g and scale = weight/std instead.
    """
    dx = xhat * (-sum_d_xhat / count)[:, None]
    dx += d3
    dx -= (sum_d / count)[:, None]
    dx *= scale[:, None]
    return dx


class BatchNorm(Function):
    """y = xhat * weight + bias, xhat = (x - mean) / sqrt(var + eps), per channel (axis 1).

    Training (batch statistics over the M = N * L values of each channel): with
    dxhat = g * weight, dx = (1 / (M std)) (M dxhat - sum(dxhat) - xhat sum(dxhat xhat)).
    Since weight is constant per channel, sum(dxhat) = weight * dbias and
    sum(dxhat * xhat) = weight * dweight, so dx = (weight / std) (g - dbias/M - xhat dweight/M).
    Evaluation (given statistics, constants): an affine map, dx = g * weight / std.
    Both: dweight = sum(g * xhat), dbias = sum(g).
    Shapes: x (N, C, *) -> y like x; weight, bias, running_mean, running_var (C,) or None.

    ``training``: normalise with the batch statistics, and update ``running_mean`` and
    ``running_var`` (raw arrays) in place if given: ``running = (1 - momentum) * running +
    momentum * batch``, with the unbiased variance (times M / (M - 1)). Otherwise normalise
    with ``running_mean`` and ``running_var``. Settings are checked by the caller.
    """

    def __init__(
        self,
        training: bool,
        momentum: float,
        eps: float,
        running_mean: Any = None,
        running_var: Any = None,
    ):
        self.training, self.momentum, self.eps = training, momentum, eps
        self.running_mean, self.running_var = running_mean, running_var

    def forward(self, x: Any, weight: Any, bias: Any) -> Any:
        xp = backend.get_array_module(x)
        x3 = x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))  # (N, C, L)
        self.count = m = x3.shape[0] * x3.shape[2]
        if self.training:
            xhat, inv_std, mean, var = standardise(x3, self.eps)
            if self.running_mean is not None:
                self._update(self.running_mean, mean)
                self._update(self.running_var, var * (m / (m - 1)))
        else:
            xhat = x3 - self.running_mean[:, None]
            inv_std = 1 / xp.sqrt(self.running_var + self.eps)
            xhat *= inv_std[:, None]
        # per-channel factor of the map xhat -> y, and of g -> dx in the backward
        self.scale = inv_std if weight is None else weight * inv_std
        self.xhat, self.x_shape = xhat, x.shape
        if weight is None:
            # a copy: the output must not alias xhat, which the backward still needs
            y = xhat.copy() if bias is None else xhat + bias[:, None]
        else:
            y = xhat * weight[:, None]
            if bias is not None:
                y += bias[:, None]
        return y.reshape(x.shape)

    def _update(self, running: Any, batch: Any) -> None:
        running *= 1 - self.momentum
        running += self.momentum * batch

    def backward(self, g: Any) -> tuple[Any, Any, Any]:
        xhat = self.xhat
        g3 = g.reshape(xhat.shape)
        dbias, dweight = group_sums(g3, xhat)  # sum(g), sum(g * xhat)
        dx = None
        if self.needs_input_grad[0]:
            if self.training:
                dx = standardise_backward(g3, xhat, self.scale, dbias, dweight, self.count)
            else:
                dx = g3 * self.scale[:, None]
            dx = dx.reshape(self.x_shape)
        if not self.needs_input_grad[1]:
            dweight = None
        if not self.needs_input_grad[2]:
            dbias = None
        return dx, dweight, dbias


class LayerNorm(Function):
    """y = xhat * weight + bias, xhat = (x - mean) / sqrt(var + eps) over the last axes.

    The statistics of each row run over its last K = prod(normalized_shape) values; weight
    and bias (normalized_shape) or None act elementwise on those K values. The gradient is
    batch norm's over other axes: with dxhat = g * weight and sums over the K values of a row,
    dx = (1 / (K std)) (K dxhat - sum(dxhat) - xhat sum(dxhat xhat));
    dweight = sum(g * xhat), dbias = sum(g), summed over the rows.
    Shapes: x (*, *normalized_shape) -> y like x (checked by the caller).
    """

    def __init__(self, normalized_shape: tuple[int, ...], eps: float):
        self.normalized_shape, self.eps = normalized_shape, eps
        self.size = math.prod(normalized_shape)

    def forward(self, x: Any, weight: Any, bias: Any) -> Any:
        x3 = x.reshape(1, x.size // self.size, self.size)  # (1, rows, K)
        self.xhat, self.inv_std, _, _ = standardise(x3, self.eps)
        self.weight, self.x_shape = weight, x.shape
        y = self.xhat.copy() if weight is None else self.xhat * weight.reshape(-1)
        if bias is not None:
            y += bias.reshape(-1)
        return y.reshape(x.shape)

    def backward(self, g: Any) -> tuple[Any, Any, Any]:
        xp = backend.get_array_module(g)
        xhat, weight = self.xhat, self.weight
        g3 = g.reshape(xhat.shape)
        dx = dweight = dbias = None
        if self.needs_input_grad[0]:
            d3 = g3 if weight is None else g3 * weight.reshape(-1)  # dxhat
            dx = standardise_backward(d3, xhat, self.inv_std, *group_sums(d3, xhat), self.size)
            dx = dx.reshape(self.x_shape)
        if self.needs_input_grad[1]:
            dweight = xp.einsum("abl,abl->l", g3, xhat).reshape(self.normalized_shape)
        if self.needs_input_grad[2]:
            dbias = xp.einsum("abl->l", g3).reshape(self.normalized_shape)
        return dx, dweight, dbias


class GroupNorm(Function):
    """y = xhat * weight + bias, xhat = (x - mean) / sqrt(var + eps) over each group of channels.

    The C channels of each sample are split into G groups of C/G consecutive channels; the
    statistics of a group run over its M = C/G * L values (L positions per channel); weight and
    bias (C,) or None act per channel. The gradient is batch norm's over other axes: with
    dxhat = g * weight and sums over the M values of a group,
    dx = (1 / (M std)) (M dxhat - sum(dxhat) - xhat sum(dxhat xhat));
    dweight = sum(g * xhat), dbias = sum(g), summed over N and L per channel.
    Shapes: x (N, C, *) -> y like x; C divisible by ``num_groups`` (checked by the caller).
    """

    def __init__(self, num_groups: int, eps: float):
        self.num_groups, self.eps = num_groups, eps

    def forward(self, x: Any, weight: Any, bias: Any) -> Any:
        n, c = x.shape[:2]
        self.ncl = (n, c, math.prod(x.shape[2:]))  # per-channel view for the affine map
        groups = self.num_groups
        x3 = x.reshape(1, n * groups, c // groups * self.ncl[2])  # (1, N*G, C/G * L)
        self.xhat, self.inv_std, _, _ = standardise(x3, self.eps)
        self.weight, self.x_shape = weight, x.shape
        xhat = self.xhat.reshape(self.ncl)
        y = xhat.copy() if weight is None else xhat * weight[:, None]
        if bias is not None:
            y += bias[:, None]
        return y.reshape(x.shape)

    def backward(self, g: Any) -> tuple[Any, Any, Any]:
        xp = backend.get_array_module(g)
        xhat, weight = self.xhat, self.weight
        g_ncl, xhat_ncl = g.reshape(self.ncl), xhat.reshape(self.ncl)
        dx = dweight = dbias = None
        if self.needs_input_grad[0]:
            d3 = (g_ncl if weight is None else g_ncl * weight[:, None]).reshape(xhat.shape)
            count = xhat.shape[2]
            dx = standardise_backward(d3, xhat, self.inv_std, *group_sums(d3, xhat), count)
            dx = dx.reshape(self.x_shape)
        if self.needs_input_grad[1]:
            dweight = xp.einsum("ncl,ncl->c", g_ncl, xhat_ncl)
        if self.needs_input_grad[2]:
            dbias = xp.einsum("ncl->c", g_ncl)
        return dx, dweight, dbias
