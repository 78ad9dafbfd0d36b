"""VGG: torchvision's parameter counts, state_dict keys and shapes, outputs equal to
torchvision's given the same weights, and a small variant that trains."""

import gc

import numpy as np
import pytest

import minicnn as mc
from minicnn import models, nn
from minicnn.models.vgg import CFGS, make_layers

# REFERENCE.md: parameters and torchvision state_dict entries
PUBLISHED = {
    "vgg11": (132_863_336, 22),
    "vgg13": (133_047_848, 26),
    "vgg16": (138_357_544, 32),
    "vgg19": (143_667_240, 38),
    "vgg16_bn": (138_365_992, 97),
}


def count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_vgg_parameter_and_state_dict_counts_and_output_shape(name, zero_init):
    model = models.get_model(name)
    params, entries = PUBLISHED[name]
    assert count(model) == params
    state = model.state_dict()
    assert len(state) == entries
    assert state["features.0.weight"].shape == (64, 3, 3, 3)
    assert state["classifier.0.weight"].shape == (4096, 512 * 7 * 7)
    assert state["classifier.6.weight"].shape == (1000, 4096)
    assert state["classifier.6.bias"].shape == (1000,)
    if name.endswith("_bn"):
        assert "features.1.running_var" in state and "features.1.num_batches_tracked" in state
    with mc.no_grad():  # the output shape (the adaptive pool takes 32x32 images too)
        assert model.eval()(mc.zeros(2, 3, 32, 32)).shape == (2, 1000)
    del model, state
    gc.collect()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "cfg"), [("vgg11_bn", "A"), ("vgg13_bn", "B"), ("vgg19_bn", "E")])
def test_vgg_with_batch_norm_adds_two_parameters_and_five_entries_per_convolution(
    name, cfg, zero_init
):
    """(vgg16_bn's published figures follow the same rule: 138,357,544 + 2 * 4,224.)"""
    channels = [v for v in CFGS[cfg] if v != "M"]
    plain = {"A": "vgg11", "B": "vgg13", "E": "vgg19"}[cfg]
    model = models.get_model(name)
    assert count(model) == PUBLISHED[plain][0] + 2 * sum(channels)
    assert len(model.state_dict()) == PUBLISHED[plain][1] + 5 * len(channels)
    with mc.no_grad():
        assert model.eval()(mc.zeros(1, 3, 32, 32)).shape == (1, 1000)
    del model
    gc.collect()


def test_vgg16_bn_follows_the_same_rule():
    channels = [v for v in CFGS["D"] if v != "M"]
    assert PUBLISHED["vgg16"][0] + 2 * sum(channels) == PUBLISHED["vgg16_bn"][0]
    assert PUBLISHED["vgg16"][1] + 5 * len(channels) == PUBLISHED["vgg16_bn"][1]


def test_vgg_names_follow_torchvision(zero_init):
    model = models.vgg11(num_classes=10)
    convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert convs == [f"features.{i}" for i in (0, 3, 6, 8, 11, 13, 16, 18)]
    assert [type(m).__name__ for m in model.classifier] == [
        "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear",
    ]  # fmt: skip
    assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d)
    assert model.classifier[6].out_features == 10


@pytest.mark.slow
def test_vgg16_bn_equals_torchvision_with_the_same_weights(torch, torchvision, zero_init):
    name = "vgg16_bn"
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)()
    theirs.train()  # BatchNorm statistics that are not 0 and 1
    with torch.no_grad():
        for _ in range(2):
            theirs.features(torch.randn(4, 3, 32, 32))
        for m in theirs.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    theirs.eval()
    ours = getattr(models, name)()
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    ours.load_state_dict(state)
    ours.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with mc.no_grad():
        got = ours(mc.tensor(x)).numpy()
    assert got.shape == (2, 1000)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
    del theirs, ours, state
    gc.collect()


@pytest.mark.parametrize("batch_norm", [False, True])
def test_vgg_features_equal_torchvisions_in_training_mode(torch, torchvision, batch_norm):
    """torchvision's make_layers on a small configuration, in float64 and in training mode:
    batch statistics, their running averages and every gradient. (Its VGG class fixes the
    classifier at 512*7*7 -> 4096: that part is compared above, in evaluation mode.)"""
    from torchvision.models.vgg import make_layers as their_layers

    cfg = [8, "M", 16, 16, "M"]
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(their_layers(cfg, batch_norm), torch.nn.AdaptiveAvgPool2d(3))
    theirs.double()
    ours = nn.Sequential(make_layers(cfg, batch_norm), nn.AdaptiveAvgPool2d(3))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.double()
    x = np.random.default_rng(1).standard_normal((2, 3, 16, 16))
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs(xt)
    (expected**2).sum().backward()
    xm = mc.tensor(x, requires_grad=True)
    got = ours(xm)
    (got**2).sum().backward()
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(
            p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name
        )
    for key, value in theirs.state_dict().items():  # the running statistics moved alike
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-12, err_msg=key)


def test_vgg_initialisation_is_torchvisions():
    mc.manual_seed(0)
    model = models.vgg([64, "M", 128, "M"], num_classes=10, hidden=512, pool_size=2)
    conv = model.features[3].weight.numpy()  # kaiming normal, fan_out = 128 * 3 * 3
    assert abs(conv.std() / np.sqrt(2 / (128 * 9)) - 1) < 0.02
    assert not model.features[3].bias.numpy().any()
    fc = model.classifier[0].weight.numpy()
    assert abs(fc.std() / 0.01 - 1) < 0.02
    assert not model.classifier[0].bias.numpy().any()


def test_small_vgg_shapes_and_bad_configurations():
    model = models.vgg([16, "M", 32, "M", 64, "M"], num_classes=10, hidden=64, pool_size=1)
    assert model(mc.randn(2, 3, 32, 32)).shape == (2, 10)
    assert model(mc.randn(1, 3, 40, 24)).shape == (1, 10)  # the adaptive pool takes any size
    assert model.classifier[0].in_features == 64
    gray = models.vgg("A", num_classes=3, in_channels=1, hidden=8, pool_size=1)
    assert gray.features[0].weight.shape == (64, 1, 3, 3)
    assert gray(mc.randn(1, 1, 32, 32)).shape == (1, 3)
    with pytest.raises(ValueError, match="vgg: cfg must be a list or one of A, B, D, E, got 'Z'"):
        models.vgg("Z")
    with pytest.raises(ValueError, match=r"vgg: cfg entries .* must be a positive int, got 'N'"):
        models.vgg([8, "N"])
    with pytest.raises(ValueError, match="VGG: features must contain at least one Conv2d"):
        models.vgg(["M"])
    with pytest.raises(ValueError, match="VGG: dropout must be a probability"):
        models.vgg([8], dropout=1.5)


def test_small_vgg_trains_on_32x32_images():
    mc.manual_seed(0)
    model = models.vgg(
        [8, "M", 16, "M", 32, "M"], num_classes=4, batch_norm=True, hidden=32, pool_size=1,
        dropout=0.0,
    )  # fmt: skip
    x, y = mc.randn(8, 3, 32, 32), mc.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    # torchvision's N(0, 0.01) linear layers start slowly: Adam gets them moving
    optimizer = mc.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(12):
        loss = mc.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
