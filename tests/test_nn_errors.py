"""Layers given wrong inputs or arguments fail at once, naming themselves, what they expected
and what they got."""

import re

import pytest

import minicnn as mc
from minicnn import nn


def raises(error, message):
    return pytest.raises(error, match=re.escape(message))


def test_conv2d_wrong_channels():
    layer = nn.Conv2d(3, 16, kernel_size=3)
    with raises(
        ValueError,
        "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1)): conv2d: expected input with 3 "
        "channels (weight (16, 3, 3, 3), groups=1), got shape (8, 1, 28, 28)",
    ):
        layer(mc.zeros(8, 1, 28, 28))
    with raises(ValueError, "conv2d: expected a 4-D input (N, C, H, W), got shape (3, 28, 28)"):
        layer(mc.zeros(3, 28, 28))


def test_conv2d_input_too_small():
    layer = nn.Conv2d(1, 2, kernel_size=5, dilation=2)
    with raises(
        ValueError,
        "Conv2d(1, 2, kernel_size=(5, 5), stride=(1, 1), dilation=(2, 2)): conv2d: kernel 5x5 "
        "(dilated 9x9) is larger than the padded input 8x9",
    ):
        layer(mc.zeros(1, 1, 8, 9))


def test_conv_transpose2d_wrong_channels():
    layer = nn.ConvTranspose2d(4, 2, kernel_size=2, stride=2)
    with raises(
        ValueError,
        "expected input with 4 channels (weight (4, 2, 2, 2), groups=1), got shape (1, 2, 5, 5)",
    ):
        layer(mc.zeros(1, 2, 5, 5))


def test_linear_wrong_last_dimension():
    with raises(
        ValueError,
        "Linear(in_features=784, out_features=10, bias=True): linear: expected input of "
        "shape (..., 784) to match weight (10, 784), got (8, 100)",
    ):
        nn.Linear(784, 10)(mc.zeros(8, 100))


def test_batch_norm_wrong_shapes():
    with raises(
        ValueError,
        "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, "
        "track_running_stats=True): expected 4-D input (N, 16, H, W), got shape (8, 16)",
    ):
        nn.BatchNorm2d(16)(mc.zeros(8, 16))
    with raises(
        ValueError,
        "batch_norm: expected running_mean of shape (3,) for an input with 3 channels, got (16,)",
    ):
        nn.BatchNorm2d(16)(mc.zeros(8, 3, 4, 4))
    with raises(ValueError, "expected 2-D (N, 4) or 3-D (N, 4, L) input, got shape (8, 3, 2, 2)"):
        nn.BatchNorm1d(4)(mc.zeros(8, 3, 2, 2))


WINDOWS = "expected a 3-D (C, H, W) or 4-D (N, C, H, W) input with non-zero C, H, W"


@pytest.mark.parametrize(
    "layer, name, expected",
    [
        (
            nn.MaxPool2d(kernel_size=2, stride=2),
            "MaxPool2d(kernel_size=2, stride=2, padding=0)",
            f"max_pool2d: {WINDOWS}",
        ),
        (
            nn.AvgPool2d((3, 2), padding=(1, 0), count_include_pad=False),
            "AvgPool2d(kernel_size=(3, 2), stride=(3, 2), padding=(1, 0), count_include_pad=False)",
            f"avg_pool2d: {WINDOWS}",
        ),
        (
            nn.AdaptiveAvgPool2d(1),
            "AdaptiveAvgPool2d(output_size=1)",
            f"adaptive_avg_pool2d: {WINDOWS}",
        ),
        (
            nn.GlobalAvgPool2d(),
            "GlobalAvgPool2d()",
            "global_avg_pool2d: expected a 4-D (N, C, H, W) input",
        ),
        (
            nn.GlobalMaxPool2d(),
            "GlobalMaxPool2d()",
            "global_max_pool2d: expected a 4-D (N, C, H, W) input",
        ),
    ],
)
@pytest.mark.parametrize("shape", [(8, 784), (2, 1, 3, 4, 4)])
def test_pooling_wrong_rank_names_the_layer(layer, name, expected, shape):
    with raises(ValueError, f"{name}: {expected}, got shape {shape}"):
        layer(mc.zeros(*shape))


def test_pooling_layers_take_unbatched_input_like_torch():
    # as in PyTorch, (C, H, W) is one image; the global poolings (not PyTorch's) want batches
    assert nn.MaxPool2d(2)(mc.zeros(8, 28, 28)).shape == (8, 14, 14)
    assert nn.AvgPool2d(2)(mc.zeros(8, 28, 28)).shape == (8, 14, 14)
    assert nn.AdaptiveAvgPool2d(1)(mc.zeros(8, 28, 28)).shape == (8, 1, 1)
    with raises(
        ValueError,
        "GlobalAvgPool2d(): global_avg_pool2d: expected a 4-D (N, C, H, W) input, got shape "
        "(8, 28, 28)",
    ):
        nn.GlobalAvgPool2d()(mc.zeros(8, 28, 28))


def test_pooling_kernel_larger_than_padded_input():
    with raises(
        ValueError,
        "MaxPool2d(kernel_size=3, stride=3, padding=0): max_pool2d: kernel size (3, 3) is "
        "larger than the padded input (2, 5) (input (2, 5), padding (0, 0)): output size (0, 1)",
    ):
        nn.MaxPool2d(3)(mc.zeros(1, 1, 2, 5))
    with raises(
        ValueError,
        f"AvgPool2d(kernel_size=(2, 5), stride=1, padding=(1, 2)): avg_pool2d: {WINDOWS}, got "
        "shape (1, 1, 4, 0)",
    ):
        nn.AvgPool2d((2, 5), stride=1, padding=(1, 2))(mc.zeros(1, 1, 4, 0))
    # the padding counts: a 3x3 kernel padded by 1 fits a 1x1 input
    assert nn.MaxPool2d(3, padding=1)(mc.zeros(1, 1, 1, 1)).shape == (1, 1, 1, 1)


@pytest.mark.parametrize(
    "build, message",
    [
        (
            lambda: nn.AvgPool2d(0),
            "AvgPool2d: kernel_size must be positive, got (0, 0)",
        ),
        (
            lambda: nn.MaxPool2d((2, 0)),
            "MaxPool2d: kernel_size must be positive, got (2, 0)",
        ),
        (
            lambda: nn.MaxPool2d(2, padding=2),
            "MaxPool2d: padding must be at most half of kernel_size, got padding=2 for "
            "kernel_size=2",
        ),
        (
            lambda: nn.AvgPool2d((4, 3), padding=(2, 2)),
            "AvgPool2d: padding must be at most half of kernel_size, got padding=(2, 2) for "
            "kernel_size=(4, 3)",
        ),
        (
            lambda: nn.MaxPool2d(2, padding=-1),
            "MaxPool2d: padding must be non-negative, got (-1, -1)",
        ),
        (
            lambda: nn.MaxPool2d(2, stride=-1),
            "MaxPool2d: stride must be positive, got (-1, -1)",
        ),
        (
            lambda: nn.AvgPool2d(2, stride=(1, 0)),
            "AvgPool2d: stride must be positive, got (1, 0)",
        ),
        (
            lambda: nn.AdaptiveAvgPool2d((0, None)),
            "AdaptiveAvgPool2d: output_size must be an int >= 1 or a pair of them (None keeps "
            "that input size), got (0, None)",
        ),
        (
            lambda: nn.AdaptiveAvgPool2d((1, 2, 3)),
            "AdaptiveAvgPool2d: output_size must be an int >= 1 or a pair of them",
        ),
    ],
)
def test_pooling_settings_are_checked_when_the_layer_is_built(build, message):
    with raises(ValueError, message):
        build()


def test_dtype_mismatch_is_an_error_naming_the_fix():
    with raises(
        TypeError,
        "Linear(in_features=2, out_features=1, bias=True): linear: input, weight and bias must "
        "have the same dtype, got float64 input, float32 weight, float32 bias; convert the "
        "input (x.to(minicnn.float32)) or the model (model.to(minicnn.float64))",
    ):
        nn.Linear(2, 1)(mc.zeros(3, 2, dtype=mc.float64))
    with raises(
        TypeError,
        "conv2d: input, weight and bias must have the same dtype, got float32 input, float64 "
        "weight, float64 bias; convert the input (x.to(minicnn.float64)) or the model "
        "(model.to(minicnn.float32))",
    ):
        nn.Conv2d(1, 1, 1).double()(mc.zeros(1, 1, 2, 2))


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: nn.Linear(0, 3), ValueError, "Linear: in_features must be a positive int, got 0"),
        (
            lambda: nn.Conv2d(3, 16, 3, groups=2),
            ValueError,
            "Conv2d: in_channels=3 must be divisible by groups=2",
        ),
        (
            lambda: nn.Conv2d(3, 6, 3, stride=2, padding="same"),
            ValueError,
            "Conv2d: padding='same' requires stride 1, got stride (2, 2)",
        ),
        (
            lambda: nn.Conv2d(3, 6, 3, padding="full"),
            ValueError,
            "Conv2d: padding must be an int, a pair of ints, 'same' or 'valid', got 'full'",
        ),
        (
            lambda: nn.MaxPool2d(2.5),
            TypeError,
            "MaxPool2d: kernel_size must be an int or a pair of ints, got 2.5",
        ),
        (
            lambda: nn.Conv2d(3, 6, (3, 3, 3)),
            TypeError,
            "Conv2d: kernel_size must be an int or a pair of ints, got (3, 3, 3)",
        ),
        (
            lambda: nn.ConvTranspose2d(3, 6, 3, stride=2, output_padding=2),
            ValueError,
            "ConvTranspose2d: output_padding must be non-negative and smaller than either stride "
            "or dilation",
        ),
        (
            lambda: nn.Dropout(1.5),
            ValueError,
            "Dropout: p must be a probability in [0, 1], got 1.5",
        ),
        (lambda: nn.Softmax(), TypeError, "Softmax: give the dimension to normalise over"),
        (lambda: nn.LogSoftmax(), TypeError, "LogSoftmax(dim=1)"),
        (lambda: nn.GELU("fast"), ValueError, "GELU: approximate must be one of 'none', 'tanh'"),
        (
            lambda: nn.CrossEntropyLoss(reduction="avg"),
            ValueError,
            "CrossEntropyLoss: reduction must be one of 'mean', 'sum', 'none', got 'avg'",
        ),
    ],
)
def test_constructor_errors(build, error, message):
    with raises(error, message):
        build()
