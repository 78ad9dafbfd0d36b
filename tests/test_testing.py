"""``minicnn.testing``: check_layer accepts correct layers and rejects broken ones; the
hypothesis strategies only produce valid configurations."""

import numpy as np
import pytest
from hypothesis import given, settings

import minicnn as mc
from minicnn import nn
from minicnn.autograd import Function
from minicnn.testing import (
    ConvConfig,
    PoolConfig,
    check_layer,
    conv2d_configs,
    conv_transpose2d_configs,
    pool2d_configs,
)


class ScaleFunction(Function):
    """y = x * w (w broadcast over the rows); the gradients can be made wrong on purpose."""

    def __init__(self, x_error=1.0, w_error=1.0):
        self.x_error, self.w_error = x_error, w_error

    def forward(self, x, w):
        self.x, self.w = x, w
        return x * w

    def backward(self, g):
        return g * self.w * self.x_error, (g * self.x).sum(axis=0) * self.w_error


class Scale(nn.Module):
    def __init__(self, features=3, **errors):
        super().__init__()
        self.weight = nn.Parameter(mc.randn(features))
        self.errors = errors

    def forward(self, x):
        return ScaleFunction(**self.errors)(x, self.weight)


def test_check_layer_accepts_a_correct_custom_layer():
    check_layer(Scale(), (4, 3))


def test_check_layer_rejects_a_weight_gradient_off_by_one_percent():
    with pytest.raises(mc.GradcheckError, match=r"Scale with respect to parameter 'weight'"):
        check_layer(Scale(w_error=1.01), (4, 3))


def test_check_layer_rejects_an_input_gradient_off_by_one_percent():
    with pytest.raises(mc.GradcheckError, match="Scale with respect to the input"):
        check_layer(Scale(x_error=0.99), (4, 3))


def test_check_layer_names_nested_parameters():
    model = nn.Sequential(nn.Linear(3, 3), Scale(w_error=1.01))
    with pytest.raises(mc.GradcheckError, match=r"parameter '1\.weight' \(shape \(3,\)\)"):
        check_layer(model, (2, 3))


def test_check_layer_leaves_the_layer_alone():
    layer = Scale()
    before = layer.weight.numpy().copy()
    check_layer(layer, (4, 3))
    assert layer.weight.dtype == np.float32 and layer.weight.grad is None
    np.testing.assert_array_equal(layer.weight.numpy(), before)


def test_check_layer_skips_frozen_parameters():
    frozen = Scale(w_error=1.01).requires_grad_(False)
    check_layer(frozen, (4, 3))  # the broken weight gradient is never asked for


def test_check_layer_needs_the_reseeding_for_dropout():
    """Dropout draws a new mask per call: only the reseeded forward makes it checkable."""
    check_layer(nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5)), (5, 3))

    class UnseededDropout(nn.Module):
        def forward(self, x):
            keep = mc.tensor(np.random.default_rng().random(x.shape) > 0.5)
            return x * keep

    with pytest.raises(mc.GradcheckError):
        check_layer(UnseededDropout(), (5, 3))


def test_check_layer_passes_extra_arguments():
    target = mc.tensor(np.array([0, 2, 1]))
    check_layer(nn.CrossEntropyLoss(), (3, 4), args=(target,))


# The strategies are public (minicnn.testing) and these checks cheap (one forward pass on zeros):
# more examples than the suite's 25 explore more of the configurations users' tests will draw.
VALIDITY = settings(max_examples=50)


@VALIDITY
@given(conv2d_configs())
def test_conv2d_configs_are_valid(config):
    assert isinstance(config, ConvConfig) and not config.transposed
    assert config.in_channels % config.groups == 0 and config.out_channels % config.groups == 0
    assert min(config.output_shape[2:]) >= 1
    y = nn.Conv2d(**config.kwargs())(mc.zeros(*config.input_shape))
    assert y.shape == config.output_shape


@VALIDITY
@given(conv_transpose2d_configs())
def test_conv_transpose2d_configs_are_valid(config):
    assert config.transposed and min(config.output_shape[2:]) >= 1
    y = nn.ConvTranspose2d(**config.kwargs())(mc.zeros(*config.input_shape))
    assert y.shape == config.output_shape


@VALIDITY
@given(pool2d_configs())
def test_pool2d_configs_are_valid(config):
    assert isinstance(config, PoolConfig)
    assert all(2 * p <= k for p, k in zip(config.padding, config.kernel_size, strict=True))
    for layer in (nn.MaxPool2d(**config.kwargs()), nn.AvgPool2d(**config.kwargs())):
        assert layer(mc.zeros(*config.input_shape)).shape == config.output_shape


@given(conv2d_configs(max_kernel=1, max_padding=0, max_dilation=1, max_extra_size=0))
def test_conv2d_configs_choose_the_smallest_input(config):
    assert config.kernel_size == (1, 1) and config.input_shape[2:] == (1, 1)
