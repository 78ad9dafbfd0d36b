"""LeNet-5: the classic's parameter count, shapes for 28x28 and 32x32 input, names, training."""

import pytest

import minicnn as mc
from minicnn import models, nn


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_lenet5_has_the_classic_61706_parameters():
    assert count(models.lenet5()) == 61_706
    assert count(models.lenet5(padding=0)) == 61_706
    # 10 more classes: 84 weights and one bias each
    assert count(models.lenet5(num_classes=20)) == 61_706 + 10 * 85
    # 3 input channels: 2 * 6 * 25 more weights in the first convolution
    assert count(models.lenet5(in_channels=3)) == 61_706 + 2 * 150


def test_lenet5_takes_28x28_digits_by_default_and_32x32_with_padding_0():
    assert models.lenet5()(mc.randn(2, 1, 28, 28)).shape == (2, 10)
    assert models.lenet5(padding=0)(mc.randn(2, 1, 32, 32)).shape == (2, 10)
    assert models.lenet5(num_classes=3, in_channels=3)(mc.randn(1, 3, 28, 28)).shape == (1, 3)
    with pytest.raises(ValueError, match=r"Linear.*400"):
        models.lenet5()(mc.randn(1, 1, 32, 32))


def test_lenet5_padding_2_equals_a_zero_padded_32x32_image():
    mc.manual_seed(0)
    padded, classic = models.lenet5(), models.lenet5(padding=0)
    classic.load_state_dict(padded.state_dict())
    x = mc.randn(3, 1, 28, 28)
    big = mc.pad(x, (2, 2, 2, 2))
    assert mc.functional.mse_loss(padded(x), classic(big)).item() < 1e-12


def test_lenet5_names_features_and_classifier():
    model = models.lenet5(activation="tanh", pool="avg")
    assert list(model.state_dict()) == [
        "features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
        "classifier.0.weight", "classifier.0.bias", "classifier.2.weight",
        "classifier.2.bias", "classifier.4.weight", "classifier.4.bias",
    ]  # fmt: skip
    assert isinstance(model.features[3], nn.Conv2d)
    assert isinstance(model.features[1], nn.Tanh)
    assert isinstance(model.features[2], nn.AvgPool2d)
    assert isinstance(models.lenet5().features[2], nn.MaxPool2d)


def test_lenet5_rejects_bad_settings():
    with pytest.raises(ValueError, match="lenet5: activation must be one of .*got 'swish'"):
        models.lenet5(activation="swish")
    with pytest.raises(ValueError, match="lenet5: num_classes must be a positive int, got 0"):
        models.lenet5(num_classes=0)
    with pytest.raises(ValueError, match="lenet5: pool must be one of"):
        models.lenet5(pool="min")


def test_lenet5_trains_on_a_tiny_batch():
    mc.manual_seed(0)
    model = models.lenet5()
    x, y = mc.randn(8, 1, 28, 28), mc.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    optimizer = mc.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(10):
        loss = mc.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
