"""DepthwiseSeparableConv and CBAM: shapes, parameter counts, PyTorch twins, finite differences."""

import numpy as np
import pytest

import minicnn as mc
from minicnn import models, nn
from minicnn.testing import check_layer


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_depthwise_separable_conv_has_a_convolutions_shape_with_fewer_parameters():
    separable = models.DepthwiseSeparableConv(256, 256, 3, padding=1, bias=False)
    full = nn.Conv2d(256, 256, 3, padding=1, bias=False)
    assert count(separable) == 3 * 3 * 256 + 256 * 256
    assert count(full) / count(separable) > 8.6
    small = models.DepthwiseSeparableConv(4, 6, kernel_size=3, stride=2, padding=1)
    x = mc.randn(2, 4, 9, 9)
    assert small(x).shape == nn.Conv2d(4, 6, 3, stride=2, padding=1)(x).shape == (2, 6, 5, 5)
    assert small.depthwise.groups == 4 and small.depthwise.weight.shape == (4, 1, 3, 3)
    assert small.pointwise.kernel_size == (1, 1) and small.pointwise.weight.shape == (6, 4, 1, 1)
    assert list(small.state_dict()) == [
        "depthwise.weight", "depthwise.bias", "pointwise.weight", "pointwise.bias",
    ]  # fmt: skip


def test_depthwise_separable_conv_as_mobilenets_block():
    block = models.DepthwiseSeparableConv(
        4, 8, norm_layer=nn.BatchNorm2d, activation=nn.ReLU, bias=False
    )
    assert [name for name, _ in block.named_children()] == [
        "depthwise", "bn1", "act1", "pointwise", "bn2", "act2",
    ]  # fmt: skip
    out = block(mc.randn(2, 4, 5, 5))
    assert out.shape == (2, 8, 5, 5) and out.numpy().min() >= 0
    with pytest.raises(ValueError, match="DepthwiseSeparableConv: in_channels must be a positive"):
        models.DepthwiseSeparableConv(0, 4)


def test_depthwise_separable_conv_equals_pytorch(torch):
    torch.manual_seed(0)
    depthwise = torch.nn.Conv2d(3, 3, 3, stride=2, padding=1, groups=3).double()
    pointwise = torch.nn.Conv2d(3, 5, 1).double()
    ours = models.DepthwiseSeparableConv(3, 5, 3, stride=2, padding=1).double()
    ours.load_state_dict(
        {
            "depthwise.weight": depthwise.weight.detach().numpy(),
            "depthwise.bias": depthwise.bias.detach().numpy(),
            "pointwise.weight": pointwise.weight.detach().numpy(),
            "pointwise.bias": pointwise.bias.detach().numpy(),
        }
    )
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 7))
    xt = torch.tensor(x, requires_grad=True)
    expected = pointwise(depthwise(xt))
    (expected**2).sum().backward()
    xm = mc.tensor(x, requires_grad=True)
    got = ours(xm)
    (got**2).sum().backward()
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        ours.depthwise.weight.grad.numpy(), depthwise.weight.grad.numpy(), rtol=1e-12
    )


def test_depthwise_separable_conv_gradients():
    mc.manual_seed(0)
    check_layer(models.DepthwiseSeparableConv(2, 3, 3, stride=2, padding=1), (2, 2, 5, 5))


def torch_cbam(torch, channels, hidden, kernel_size):
    """CBAM written in PyTorch, the formulas of the paper."""
    tnn = torch.nn

    class TorchCBAM(tnn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = tnn.Sequential(
                tnn.Linear(channels, hidden), tnn.ReLU(), tnn.Linear(hidden, channels)
            )
            self.conv = tnn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

        def forward(self, x):
            mc_ = torch.sigmoid(self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3))))
            x = x * mc_[:, :, None, None]
            pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
            return x * torch.sigmoid(self.conv(pooled))

    return TorchCBAM().double()


def test_cbam_equals_the_papers_formulas_in_pytorch(torch):
    torch.manual_seed(0)
    theirs = torch_cbam(torch, 8, 2, 7)
    ours = models.CBAM(8, reduction=4)
    mapping = {
        "channel_attention.mlp.0.weight": "mlp.0.weight",
        "channel_attention.mlp.0.bias": "mlp.0.bias",
        "channel_attention.mlp.2.weight": "mlp.2.weight",
        "channel_attention.mlp.2.bias": "mlp.2.bias",
        "spatial_attention.conv.weight": "conv.weight",
        "spatial_attention.conv.bias": "conv.bias",
    }
    assert list(ours.state_dict()) == list(mapping)
    state = theirs.state_dict()
    ours.load_state_dict({k: state[v].numpy() for k, v in mapping.items()})
    ours.double()
    x = np.random.default_rng(0).standard_normal((2, 8, 6, 5))
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs(xt)
    (expected**2).sum().backward()
    xm = mc.tensor(x, requires_grad=True)
    got = ours(xm)
    (got**2).sum().backward()
    assert got.shape == (2, 8, 6, 5)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, target in mapping.items():
        want = dict(theirs.named_parameters())[target].grad.numpy()
        got_grad = dict(ours.named_parameters())[name].grad.numpy()
        np.testing.assert_allclose(got_grad, want, rtol=1e-10, atol=1e-12, err_msg=name)


def test_cbam_gates_can_be_watched_with_hooks():
    cbam = models.CBAM(4, reduction=2, kernel_size=3)
    seen = {}
    cbam.channel_attention.gate.register_forward_hook(lambda m, i, o: seen.update(channel=o))
    cbam.spatial_attention.gate.register_forward_hook(lambda m, i, o: seen.update(spatial=o))
    cbam(mc.randn(3, 4, 5, 6))
    assert seen["channel"].shape == (3, 4) and seen["spatial"].shape == (3, 1, 5, 6)
    assert 0 < seen["spatial"].numpy().min() and seen["spatial"].numpy().max() < 1
    assert models.CBAM(4, reduction=16).channel_attention.mlp[0].out_features == 1
    with pytest.raises(ValueError, match="SpatialAttention: kernel_size must be odd, got 4"):
        models.CBAM(4, kernel_size=4)
    with pytest.raises(ValueError, match="ChannelAttention: reduction must be a positive int"):
        models.CBAM(4, reduction=0)


def test_cbam_gradients():
    mc.manual_seed(0)
    check_layer(models.CBAM(4, reduction=2, kernel_size=3), (2, 4, 3, 3))
