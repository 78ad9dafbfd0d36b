"""The registry: list_models() and get_model(name, **kwargs), and every model's output shape."""

import gc

import pytest

import minicnn as mc
from minicnn import models

# built once, in the tests of their parameter counts (tests/test_models_vgg.py and
# test_models_resnet.py), which check their output shapes too
TWINS = {name for name in models.list_models() if name.startswith(("vgg", "resnet"))}
TWINS.remove("resnet50_custom")


def test_list_models_names_the_zoo():
    names = models.list_models()
    assert names == sorted(names)
    assert {"lenet5", "vgg11", "vgg13", "vgg16", "vgg19", "vgg16_bn", "resnet18", "resnet34",
            "resnet50", "resnet101", "resnet152", "resnet50_custom", "googlenet_mini",
            "unet"} <= set(names)  # fmt: skip
    assert mc.models is models


def test_get_model_passes_keyword_arguments_and_rejects_unknown_names():
    model = models.get_model("resnet18", num_classes=10, small_input=True, base_channels=4)
    assert isinstance(model, models.ResNet) and model.fc.out_features == 10
    assert isinstance(models.get_model("lenet5", activation="tanh"), models.LeNet5)
    with pytest.raises(ValueError, match="get_model: unknown model 'alexnet'; the models are: "):
        models.get_model("alexnet")
    with pytest.raises(TypeError):
        models.get_model("lenet5", colour=True)


@pytest.mark.parametrize(
    "name",
    [name for name in models.list_models() if name not in TWINS],
)
def test_every_model_gives_scores_of_the_right_shape(name, zero_init):
    if name == "lenet5":
        model, x, shape = models.lenet5(num_classes=7), mc.randn(2, 1, 28, 28), (2, 7)
    elif name == "unet":
        model, x = models.unet(in_channels=3, num_classes=5), mc.randn(2, 3, 16, 16)
        shape = (2, 5, 16, 16)  # a score per pixel
    elif name == "googlenet_mini":
        model, x, shape = models.googlenet_mini(num_classes=7), mc.randn(2, 3, 32, 32), (2, 7)
    else:  # torchvision's twins and resnet50_custom: ImageNet models, any size >= 32
        model, x, shape = models.get_model(name, num_classes=7), mc.randn(2, 3, 32, 32), (2, 7)
    with mc.no_grad():
        assert model.eval()(x).shape == shape
    del model
    gc.collect()
