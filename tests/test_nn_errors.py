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
        "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1)): expected input of shape "
        "(N, 3, H, W), got (8, 1, 28, 28)",
    ):
        layer(mc.zeros(8, 1, 28, 28))
    with raises(ValueError, "expected input of shape (N, 3, H, W), got (3, 28, 28)"):
        layer(mc.zeros(3, 28, 28))


def test_conv2d_input_too_small():
    layer = nn.Conv2d(1, 2, kernel_size=5, dilation=2)
    with raises(
        ValueError,
        "Conv2d(1, 2, kernel_size=(5, 5), stride=(1, 1), dilation=(2, 2)): input of size 8x9 "
        "is too small: padded to 8x9, it is smaller than the (dilated) kernel 9x9",
    ):
        layer(mc.zeros(1, 1, 8, 9))


def test_conv_transpose2d_wrong_channels():
    layer = nn.ConvTranspose2d(4, 2, kernel_size=2, stride=2)
    with raises(ValueError, "expected input of shape (N, 4, H, W), got (1, 2, 5, 5)"):
        layer(mc.zeros(1, 2, 5, 5))


def test_linear_wrong_last_dimension():
    with raises(
        ValueError,
        "Linear(in_features=784, out_features=10, bias=True): expected input with last "
        "dimension 784, got shape (8, 100)",
    ):
        nn.Linear(784, 10)(mc.zeros(8, 100))


def test_batch_norm_wrong_shapes():
    with raises(
        ValueError,
        "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True): "
        "expected 4-D input with 16 channels (N, 16, H, W), got shape (8, 16)",
    ):
        nn.BatchNorm2d(16)(mc.zeros(8, 16))
    with raises(ValueError, "expected 4-D input with 16 channels (N, 16, H, W), got shape"):
        nn.BatchNorm2d(16)(mc.zeros(8, 3, 4, 4))
    with raises(ValueError, "expected 2-D (N, 4) or 3-D (N, 4, L) input, got shape (8, 3)"):
        nn.BatchNorm1d(4)(mc.zeros(8, 3))


def test_pooling_wrong_rank():
    with raises(
        ValueError,
        "MaxPool2d(kernel_size=2, stride=2, padding=0): expected a 3-D (C, H, W) or 4-D "
        "(N, C, H, W) input, got shape (8, 784)",
    ):
        nn.MaxPool2d(2)(mc.zeros(8, 784))
    with raises(ValueError, "GlobalAvgPool2d(): expected a 4-D input (N, C, H, W), got shape"):
        nn.GlobalAvgPool2d()(mc.zeros(3, 4, 4))


def test_dtype_mismatch_is_an_error_naming_the_fix():
    with raises(
        TypeError,
        "Linear(in_features=2, out_features=1, bias=True): input dtype float64 does not "
        "match the layer's float32; convert the input (x.to(minicnn.float32)) or the model "
        "(model.to(minicnn.float64))",
    ):
        nn.Linear(2, 1)(mc.zeros(3, 2, dtype=mc.float64))
    with raises(TypeError, "input dtype float32 does not match the layer's float64"):
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
            "Conv2d: padding='same' is not supported for strided convolutions (stride=(2, 2))",
        ),
        (
            lambda: nn.Conv2d(3, 6, 3, padding="full"),
            ValueError,
            "Conv2d: padding must be an int, a pair, 'same' or 'valid', got 'full'",
        ),
        (
            lambda: nn.Conv2d(3, 6, (3, 3, 3)),
            ValueError,
            "Conv2d: kernel_size must be an int or a pair of ints >= 1, got (3, 3, 3)",
        ),
        (
            lambda: nn.ConvTranspose2d(3, 6, 3, stride=2, output_padding=2),
            ValueError,
            "ConvTranspose2d: output_padding must be smaller than either stride or dilation",
        ),
        (lambda: nn.Dropout(1.5), ValueError, "Dropout: probability p must be between 0 and 1"),
        (lambda: nn.Softmax(), TypeError, "Softmax: give the dimension to normalise over"),
        (lambda: nn.LogSoftmax(), TypeError, "LogSoftmax(dim=1)"),
        (lambda: nn.GELU("fast"), ValueError, "GELU: approximate must be 'none' or 'tanh'"),
        (
            lambda: nn.CrossEntropyLoss(reduction="avg"),
            ValueError,
            "CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'",
        ),
    ],
)
def test_constructor_errors(build, error, message):
    with raises(error, message):
        build()
