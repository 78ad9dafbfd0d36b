"""U-Net: output size = input size (even and odd), the parameter count of its diagram, a PyTorch
twin with the same weights, finite differences, and a tiny segmentation that trains."""

import numpy as np
import pytest

import minicnn as mc
from minicnn import models, nn
from minicnn.testing import check_layer


def count(model):
    return sum(p.numel() for p in model.parameters())


def double_conv_params(cin, cout, batch_norm):
    convs = 9 * cin * cout + 9 * cout * cout
    return convs + (4 * cout if batch_norm else 2 * cout)  # BN weight+bias, or conv biases


def unet_params(cin, classes, base, depth, batch_norm):
    widths = [base * 2**i for i in range(depth + 1)]
    total = double_conv_params(cin, widths[0], batch_norm)
    total += sum(
        double_conv_params(a, b, batch_norm) for a, b in zip(widths, widths[1:], strict=False)
    )
    for w_in, w_out in zip(widths[:0:-1], widths[-2::-1], strict=True):
        total += 4 * w_in * w_out + w_out  # 2x2 transposed convolution
        total += double_conv_params(2 * w_out, w_out, batch_norm)
    return total + widths[0] * classes + classes


@pytest.mark.parametrize("batch_norm", [False, True])
def test_unet_parameter_count_follows_its_diagram(batch_norm, zero_init):
    model = models.unet(batch_norm=batch_norm)
    assert count(model) == unet_params(1, 2, 64, 4, batch_norm)
    assert model.encoder[3][0].out_channels == 512 and model.bottleneck[0].out_channels == 1024
    assert isinstance(model.upsamplers[0], nn.ConvTranspose2d)
    assert model.head.kernel_size == (1, 1)


@pytest.mark.parametrize("size", [(16, 16), (17, 23), (8, 9)])
def test_unet_output_has_the_inputs_height_and_width(size):
    model = models.unet(in_channels=3, num_classes=4, base_channels=2, depth=3)
    assert model(mc.randn(2, 3, *size)).shape == (2, 4, *size)
    with pytest.raises(ValueError, match=r"unet: the input's height and width must be at least"):
        model(mc.randn(1, 3, 4, 16))


def torch_unet(torch, cin, classes, base, depth):
    """U-Net written in PyTorch with the same module names (no BatchNorm)."""
    tnn = torch.nn

    def double(i, o):
        return tnn.Sequential(
            tnn.Conv2d(i, o, 3, padding=1), tnn.ReLU(), tnn.Conv2d(o, o, 3, padding=1), tnn.ReLU()
        )

    class UNet(tnn.Module):
        def __init__(self):
            super().__init__()
            w = [base * 2**i for i in range(depth + 1)]
            self.encoder = tnn.ModuleList(
                double(a, b) for a, b in zip([cin, *w[:-2]], w[:-1], strict=True)
            )
            self.pool = tnn.MaxPool2d(2)
            self.bottleneck = double(w[-2], w[-1])
            pairs = list(zip(w[:0:-1], w[-2::-1], strict=True))
            self.upsamplers = tnn.ModuleList(tnn.ConvTranspose2d(a, b, 2, 2) for a, b in pairs)
            self.decoder = tnn.ModuleList(double(2 * b, b) for _, b in pairs)
            self.head = tnn.Conv2d(w[0], classes, 1)

        def forward(self, x):
            skips = []
            for down in self.encoder:
                x = down(x)
                skips.append(x)
                x = self.pool(x)
            x = self.bottleneck(x)
            for up, conv, skip in zip(self.upsamplers, self.decoder, reversed(skips), strict=True):
                x = up(x)
                dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
                x = torch.nn.functional.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
                x = conv(torch.cat([skip, x], 1))
            return self.head(x)

    return UNet().double()


def test_unet_equals_a_pytorch_twin(torch):
    torch.manual_seed(0)
    theirs = torch_unet(torch, 2, 3, 2, 2)
    ours = models.unet(2, 3, base_channels=2, depth=2, batch_norm=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.double()
    x = np.random.default_rng(0).standard_normal((2, 2, 11, 10))
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs(xt)
    (expected**2).sum().backward()
    xm = mc.tensor(x, requires_grad=True)
    got = ours(xm)
    (got**2).sum().backward()
    assert got.shape == (2, 3, 11, 10)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_unet_gradients():
    mc.manual_seed(0)
    model = models.unet(1, 2, base_channels=1, depth=1, batch_norm=True)
    check_layer(model, (2, 1, 5, 4))


def test_tiny_unet_learns_a_segmentation():
    mc.manual_seed(0)
    model = models.unet(1, 2, base_channels=4, depth=2)
    x = mc.randn(4, 1, 16, 16)
    y = mc.tensor((x.numpy()[:, 0] > 0).astype("int64"))  # label: is the pixel positive?
    optimizer = mc.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(10):
        loss = mc.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
