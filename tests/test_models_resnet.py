"""ResNet: torchvision's parameter counts, state_dict keys and outputs (evaluation mode with
non-trivial BatchNorm statistics, training mode with gradients), the blocks by finite
differences, the small-input variant and the course's custom ResNet-50."""

import gc

import numpy as np
import pytest

import minicnn as mc
from minicnn import models, nn
from minicnn.models.resnet import BasicBlock, Bottleneck, CBAMBottleneck, conv1x1
from minicnn.testing import check_layer

# REFERENCE.md: parameters and torchvision state_dict entries
PUBLISHED = {
    "resnet18": (11_689_512, 122),
    "resnet34": (21_797_672, 218),
    "resnet50": (25_557_032, 320),
    "resnet101": (44_549_160, 626),
    "resnet152": (60_192_808, 932),
}


def count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_resnet_parameter_and_state_dict_counts_and_output_shape(name, zero_init):
    model = models.get_model(name)
    params, entries = PUBLISHED[name]
    assert count(model) == params
    state = model.state_dict()
    assert len(state) == entries
    expansion = 1 if name in ("resnet18", "resnet34") else 4
    assert state["conv1.weight"].shape == (64, 3, 7, 7)
    assert state["bn1.running_mean"].shape == (64,)
    assert state["layer1.0.conv1.weight"].shape[1] == 64
    assert state["layer2.0.downsample.0.weight"].shape == (128 * expansion, 64 * expansion, 1, 1)
    assert state["layer4.0.downsample.1.num_batches_tracked"].shape == ()
    assert state["fc.weight"].shape == (1000, 512 * expansion)
    assert ("layer1.0.downsample.0.weight" in state) == (expansion == 4)
    with mc.no_grad():  # the output shape (global pooling: 32x32 images give 1x1 maps)
        assert model.eval()(mc.zeros(1, 3, 32, 32)).shape == (1, 1000)
    del model, state
    gc.collect()


@pytest.mark.parametrize(
    "name",
    [
        "resnet18", "resnet34", "resnet50",
        pytest.param("resnet101", marks=pytest.mark.slow),
        pytest.param("resnet152", marks=pytest.mark.slow),
    ],
)  # fmt: skip
def test_resnet_state_dict_keys_and_shapes_are_torchvisions(name, torchvision, zero_init):
    theirs = getattr(torchvision.models, name)().state_dict()
    ours = models.get_model(name).state_dict()
    assert list(ours) == list(theirs)
    assert [v.shape for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]
    del theirs, ours
    gc.collect()


def randomise_batchnorm(torch, model, shape):
    """Running statistics from a few batches, and weights and biases away from 1 and 0."""
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(*shape))
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)


def load_from(torch_model, ours):
    state = {k: v.detach().numpy() for k, v in torch_model.state_dict().items()}
    ours.load_state_dict(state)
    return ours


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("resnet18", {}),
        ("resnet50", {}),
        pytest.param(
            "resnet50",
            {"replace_stride_with_dilation": [False, True, True], "num_classes": 7},
            marks=pytest.mark.slow,
        ),
    ],
)
def test_resnet_equals_torchvision_in_evaluation_mode(torch, torchvision, name, kwargs, zero_init):
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)(**kwargs)
    randomise_batchnorm(torch, theirs, (4, 3, 32, 32))
    theirs.eval().double()
    ours = load_from(theirs, getattr(models, name)(**kwargs)).double().eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 40, 40))
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with mc.no_grad():
        got = ours(mc.tensor(x)).numpy()
    assert got.shape == (2, kwargs.get("num_classes", 1000))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-10 * np.abs(expected).max())
    del theirs, ours
    gc.collect()


def test_resnet18_equals_torchvision_in_training_mode_with_gradients(torch, torchvision, zero_init):
    torch.manual_seed(0)
    theirs = torchvision.models.resnet18(num_classes=5).double()
    ours = load_from(theirs, models.resnet18(num_classes=5)).double()
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32))
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs(xt)
    (expected**2).sum().backward()
    xm = mc.tensor(x, requires_grad=True)
    got = ours(xm)
    (got**2).sum().backward()
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-10)
    # BatchNorm of layer4 on 2 values per channel amplifies rounding: tolerances relative to
    # the largest gradient
    dx = xt.grad.numpy()
    np.testing.assert_allclose(xm.grad.numpy(), dx, rtol=1e-7, atol=1e-8 * np.abs(dx).max())
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        q = theirs_params[name].grad.numpy()
        np.testing.assert_allclose(
            p.grad.numpy(), q, rtol=1e-7, atol=1e-9 * np.abs(q).max(), err_msg=name
        )
    for key, value in theirs.state_dict().items():  # running statistics updated alike
        np.testing.assert_allclose(
            ours.state_dict()[key], value.numpy(), rtol=1e-10, atol=1e-12, err_msg=key
        )


def test_resnet_initialisation_is_torchvisions():
    mc.manual_seed(0)
    model = models.resnet18(zero_init_residual=True)
    w = model.layer3[0].conv2.weight.numpy()  # kaiming normal, fan_out = 256 * 3 * 3
    assert abs(w.std() / np.sqrt(2 / (256 * 9)) - 1) < 0.02
    assert (model.bn1.weight.numpy() == 1).all() and not model.bn1.bias.numpy().any()
    assert not model.layer2[1].bn2.weight.numpy().any()  # zero_init_residual
    assert (model.layer2[1].bn1.weight.numpy() == 1).all()
    small = models.resnet(Bottleneck, [1, 1, 1, 1], base_channels=4, zero_init_residual=True)
    assert not small.layer1[0].bn3.weight.numpy().any()


# --- the blocks -----------------------------------------------------------------------------


def test_basic_block_adds_the_shortcut_before_the_last_relu():
    mc.manual_seed(0)
    block = BasicBlock(4, 4).eval()
    x = mc.randn(2, 4, 5, 5)
    inner = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(x)))))
    np.testing.assert_allclose(
        block(x).numpy(), np.maximum(inner.numpy() + x.numpy(), 0), rtol=1e-6
    )


def test_blocks_project_the_shortcut_when_the_shape_changes():
    down = nn.Sequential(conv1x1(4, 8, stride=2), nn.BatchNorm2d(8))
    assert BasicBlock(4, 8, stride=2, downsample=down)(mc.randn(1, 4, 6, 6)).shape == (1, 8, 3, 3)
    down = nn.Sequential(conv1x1(4, 12, stride=2), nn.BatchNorm2d(12))
    block = Bottleneck(4, 3, stride=2, downsample=down)
    assert block.conv2.stride == (2, 2) and block.conv1.stride == (1, 1)  # "ResNet v1.5"
    assert block(mc.randn(1, 4, 7, 7)).shape == (1, 12, 4, 4)
    with pytest.raises(ValueError, match="BasicBlock: only supports groups=1"):
        BasicBlock(4, 4, groups=2)


@pytest.mark.parametrize(
    "make",
    [
        lambda: BasicBlock(2, 3, 2, nn.Sequential(conv1x1(2, 3, 2), nn.BatchNorm2d(3))),
        lambda: Bottleneck(8, 2),  # the identity shortcut
        lambda: Bottleneck(2, 2, 2, nn.Sequential(conv1x1(2, 8, 2), nn.BatchNorm2d(8)), groups=2),
        pytest.param(lambda: CBAMBottleneck(8, 2, reduction=4), marks=pytest.mark.slow),
    ],
    ids=["basic-downsample", "bottleneck", "bottleneck-grouped-stride2", "cbam-bottleneck"],
)
def test_block_gradients_by_finite_differences(make):
    mc.manual_seed(0)
    block = make()
    channels = block.conv1.in_channels
    # training mode (BatchNorm on batch statistics: the harder case)
    check_layer(block, (2, channels, 3, 3))


# --- small variants -------------------------------------------------------------------------


def test_small_input_resnet_keeps_32x32_images_large():
    model = models.resnet18(num_classes=10, small_input=True, base_channels=8)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, nn.Identity)
    assert model(mc.randn(2, 3, 32, 32)).shape == (2, 10)
    assert model.fc.in_features == 64
    gray = models.resnet50(num_classes=3, in_channels=1, small_input=True, base_channels=4)
    assert gray.conv1.weight.shape == (4, 1, 3, 3)
    assert gray.fc.in_features == 4 * 8 * 4
    assert gray(mc.randn(1, 1, 16, 16)).shape == (1, 3)
    with pytest.raises(ValueError, match=r"ResNet: layers must list 4 block counts, got \[2, 2\]"):
        models.resnet(BasicBlock, [2, 2])
    with pytest.raises(ValueError, match="ResNet: num_classes must be a positive int, got 0"):
        models.resnet18(num_classes=0)


def train_steps(model, x, y, steps, lr):
    optimizer = mc.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = mc.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_small_resnet_trains():
    mc.manual_seed(0)
    model = models.resnet18(num_classes=4, small_input=True, base_channels=4)
    x, y = mc.randn(8, 3, 16, 16), mc.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    losses = train_steps(model, x, y, steps=6, lr=0.02)
    assert losses[-1] < 0.5 * losses[0]


def test_resnet50_custom_is_resnet50_with_gelu_depthwise_and_cbam():
    model = models.resnet50_custom(num_classes=10)
    block = model.layer2[0]
    assert isinstance(block, CBAMBottleneck)
    assert block.conv2.groups == block.conv2.in_channels == 128  # depthwise 3x3, the stride
    assert block.conv2.stride == (2, 2)
    assert isinstance(block.act, nn.GELU) and isinstance(model.relu, nn.GELU)
    assert isinstance(block.cbam, models.CBAM)
    assert block.cbam.channel_attention.mlp[0].out_features == 512 // 16
    # ReLU only in CBAM's MLP, as in the CBAM paper
    relus = [name for name, m in model.named_modules() if isinstance(m, nn.ReLU)]
    assert relus and all(".cbam.channel_attention.mlp." in name for name in relus)
    # depthwise 3x3 convolutions: far fewer parameters than ResNet-50's 25.6 million
    assert count(model) < 0.65 * PUBLISHED["resnet50"][0]
    assert len(list(model.layer1)) == 3 and len(list(model.layer3)) == 6


def test_tiny_resnet50_custom_trains():
    mc.manual_seed(0)
    model = models.resnet50_custom(num_classes=3, small_input=True, base_channels=4, reduction=4)
    x, y = mc.randn(6, 3, 16, 16), mc.tensor([0, 1, 2, 0, 1, 2])
    assert model(x).shape == (6, 3)
    losses = train_steps(model, x, y, steps=6, lr=0.02)
    assert losses[-1] < 0.6 * losses[0]
    assert all(p.grad is not None for p in model.parameters())
