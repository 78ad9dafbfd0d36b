"""The speed paths: dtypes, fast paths against their plain twins, and memory behaviour.

* No functional op promotes float32 to float64, forward or backward (every name in
  ``minicnn.functional.__all__`` is covered, so a new op must be added here).
* Fast paths (GELU's erf by ranges, depthwise convolution, convolution in slabs of a bounded
  workspace) give the reference's numbers (``minicnn.ops.reference``) and PyTorch's.
* Memory: the im2col workspace never keeps more than its cap, and repeated ``no_grad``
  forward passes allocate nothing that stays.

No timing is asserted anywhere: speed is measured by ``python -m benchmarks``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn.ops import activation as A

RNG = np.random.default_rng(0)


def _f32(*shape, low=None):
    a = RNG.standard_normal(shape) if low is None else RNG.uniform(low, 1.0, shape)
    return a.astype(np.float32)


def _labels(n, classes):
    return RNG.integers(0, classes, n)


# name in F.__all__ -> (call on tensors, float32 input arrays); int arrays get no gradient
FLOAT32_CALLS = {
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [_f32(2, 3, 5, 7)]),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, (2, 3)), [_f32(2, 3, 5, 7)]),
    "avg_pool2d": (
        lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        [_f32(2, 3, 8, 8)],
    ),
    "batch_norm": (
        lambda x, w, b: (
            F.batch_norm(x, mc.zeros(3), mc.ones(3), w, b, training=True)
            + F.batch_norm(x, mc.zeros(3), mc.ones(3), w, b, training=False)
        ),
        [_f32(4, 3, 2, 2), _f32(3), _f32(3)],
    ),  # fmt: skip
    "binary_cross_entropy": (
        lambda p, t: F.binary_cross_entropy(p, t),
        [_f32(3, 4, low=0.05), _f32(3, 4, low=0.0)],
    ),
    "binary_cross_entropy_with_logits": (
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=mc.ones(4) * 2),
        [_f32(3, 4), _f32(3, 4, low=0.0)],
    ),
    "conv2d": (
        lambda x, w, b: (
            F.conv2d(x, w, b, stride=2, padding=1)
            + F.conv2d(x, w, b, stride=2, padding=1, dilation=1)
        ),
        [_f32(2, 4, 7, 6), _f32(4, 4, 3, 3), _f32(4)],
    ),
    "conv_transpose2d": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [_f32(2, 3, 4, 4), _f32(3, 2, 3, 3), _f32(2)],
    ),
    "cross_entropy": (
        lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1),
        [_f32(5, 4), _labels(5, 4)],
    ),
    "dropout": (lambda x: F.dropout(x, 0.3), [_f32(4, 5)]),
    "elu": (lambda x: F.elu(x, 1.5), [_f32(4, 5)]),
    "gelu": (lambda x: F.gelu(x * 4) + F.gelu(x * 4, "tanh"), [_f32(4, 5)]),
    "global_avg_pool2d": (F.global_avg_pool2d, [_f32(2, 3, 4, 4)]),
    "global_max_pool2d": (F.global_max_pool2d, [_f32(2, 3, 4, 4)]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [_f32(2, 4, 3, 3), _f32(4), _f32(4)]),
    "hardswish": (lambda x: F.hardswish(x * 4), [_f32(4, 5)]),
    "interpolate": (
        lambda x: (
            F.interpolate(x, scale_factor=2)
            + F.interpolate(x, size=(8, 10), mode="bilinear", align_corners=False)
        ),
        [_f32(2, 3, 4, 5)],
    ),
    "layer_norm": (
        lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
        [_f32(2, 3, 4), _f32(3, 4), _f32(3, 4)],
    ),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), [_f32(4, 5)]),
    "linear": (F.linear, [_f32(4, 3), _f32(2, 3), _f32(2)]),
    "log_softmax": (lambda x: F.log_softmax(x, 1), [_f32(4, 5)]),
    "max_pool2d": (
        lambda x: F.max_pool2d(x, 3, 2, 1) + F.max_pool2d(x, 2)[..., :4, :4],
        [_f32(2, 3, 8, 8)],
    ),
    "max_unpool2d": (
        lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2),
        [_f32(2, 3, 6, 6)],
    ),
    "mish": (F.mish, [_f32(4, 5)]),
    "mse_loss": (F.mse_loss, [_f32(3, 4), _f32(3, 4)]),
    "nll_loss": (lambda x, y: F.nll_loss(F.log_softmax(x, 1), y), [_f32(5, 4), _labels(5, 4)]),
    "relu": (F.relu, [_f32(4, 5)]),
    "relu6": (lambda x: F.relu6(x * 4), [_f32(4, 5)]),
    "sigmoid": (F.sigmoid, [_f32(4, 5)]),
    "silu": (F.silu, [_f32(4, 5)]),
    "softmax": (lambda x: F.softmax(x, 0), [_f32(4, 5)]),
    "softplus": (lambda x: F.softplus(x, 2, 1), [_f32(4, 5)]),
    "tanh": (F.tanh, [_f32(4, 5)]),
}


def test_every_functional_op_has_a_float32_case():
    missing = sorted(set(F.__all__) - set(FLOAT32_CALLS))
    assert not missing, f"add a float32 case for {missing}"


@pytest.mark.parametrize("name", sorted(FLOAT32_CALLS))
def test_float32_stays_float32(name):
    fn, arrays = FLOAT32_CALLS[name]
    inputs = [mc.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(*inputs)
    assert out.dtype == np.float32, f"{name}: output {out.dtype}"
    out.backward(np.ones(out.shape, np.float32))
    for i, t in enumerate(inputs):
        if t.requires_grad:
            assert t.grad is not None and t.grad.dtype == np.float32, f"{name}: grad {i}"


# --- GELU: erf by ranges, block by block -----------------------------------------------------


def _plain_gelu(x):
    """The plain formulas: y = x erfc(-x / sqrt 2) / 2, dy/dx = Phi + x exp(-x^2 / 2) / sqrt(2 pi)."""
    phi = 0.5 * A.erfc(-x * (1 / math.sqrt(2)))
    xc = np.clip(x, -50, 50)
    return x * phi, phi + xc * np.exp(-0.5 * xc * xc) / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("block_bytes", [64, 2**18])
def test_gelu_blocks_equal_the_plain_formula(monkeypatch, dtype, block_bytes):
    """Tiny blocks: some hold |x| > 5.66 (Cody's third range), some do not, so both the skip
    and the evaluation of that range are exercised; specials and exact zeros included."""
    monkeypatch.setattr(mc.backend, "BLOCK_BYTES", block_bytes)
    x = np.concatenate(
        [np.linspace(-30, 30, 2401), RNG.standard_normal(300), [0.0, -0.0, np.inf, -np.inf, np.nan]]
    ).astype(dtype)
    t = mc.tensor(x, requires_grad=True)
    with np.errstate(invalid="ignore"):  # -inf * Phi(-inf) = -inf * 0 is NaN, as in PyTorch
        y = F.gelu(t)
        want_y, want_slope = _plain_gelu(x)
    y.backward(np.ones_like(x))
    assert y.dtype == dtype and t.grad.dtype == dtype
    tol = dict(rtol=1e-14, atol=1e-300) if dtype == np.float64 else dict(rtol=1e-6, atol=1e-37)
    np.testing.assert_allclose(y.numpy(), want_y, **tol)
    # the slope Phi + x phi cancels for x << 0: an absolute tolerance at the terms' rounding
    atol = 1e-15 if dtype == np.float64 else 1e-7
    np.testing.assert_allclose(t.grad.numpy(), want_slope, rtol=tol["rtol"], atol=atol)


def test_gelu_under_no_grad_keeps_no_slope():
    x = mc.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    with mc.no_grad():
        y = F.gelu(x)
    assert y.grad_fn is None
    np.testing.assert_allclose(y.numpy(), _plain_gelu(x.numpy())[0], rtol=1e-14)
