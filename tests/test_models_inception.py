"""Inception: the course's block (28x28x192 in, 28x28x256 out), branch order and contents
against a PyTorch twin, finite differences, and googlenet_mini that trains."""

import numpy as np
import pytest

import minicnn as mc
from minicnn import models, nn
from minicnn.testing import check_layer


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_the_course_inception_block_gives_28x28x256():
    block = models.InceptionBlock(192, 64, 96, 128, 16, 32, 32)
    assert block(mc.randn(1, 192, 28, 28)).shape == (1, 256, 28, 28)
    assert block.out_channels == 256
    # 1x1: 192*64+64; 1x1+3x3: 192*96+96 + 9*96*128+128; 1x1+5x5: 192*16+16 + 25*16*32+32;
    # pool + 1x1: 192*32+32
    assert count(block) == 12_352 + 18_528 + 110_720 + 3_088 + 12_832 + 6_176
    assert block.branch3[1][0].kernel_size == (5, 5)  # a true 5x5, as in the paper


def torch_inception(torch, cin, c1, c3r, c3, c5r, c5, pp):
    tnn = torch.nn

    def conv(i, o, k):
        return tnn.Sequential(tnn.Conv2d(i, o, k, padding=k // 2), tnn.ReLU())

    class Inception(tnn.Module):
        def __init__(self):
            super().__init__()
            self.branch1 = conv(cin, c1, 1)
            self.branch2 = tnn.Sequential(conv(cin, c3r, 1), conv(c3r, c3, 3))
            self.branch3 = tnn.Sequential(conv(cin, c5r, 1), conv(c5r, c5, 5))
            self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1), conv(cin, pp, 1))

        def forward(self, x):
            branches = [self.branch1, self.branch2, self.branch3, self.branch4]
            return torch.cat([b(x) for b in branches], 1)

    return Inception().double()


def test_inception_block_equals_a_pytorch_twin(torch):
    torch.manual_seed(0)
    theirs = torch_inception(torch, 6, 2, 3, 4, 2, 3, 2)
    ours = models.InceptionBlock(6, 2, 3, 4, 2, 3, 2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.double()
    x = np.random.default_rng(0).standard_normal((2, 6, 7, 6))
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs(xt)
    (expected**2).sum().backward()
    xm = mc.tensor(x, requires_grad=True)
    got = ours(xm)
    (got**2).sum().backward()
    assert got.shape == (2, 11, 7, 6)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-11, atol=1e-12)


def test_inception_block_with_batch_norm_is_torchvisions_basic_conv():
    block = models.InceptionBlock(8, 2, 2, 4, 2, 4, 2, batch_norm=True)
    conv, bn, relu = block.branch2[1]
    assert conv.bias is None and isinstance(bn, nn.BatchNorm2d) and bn.eps == 0.001
    assert isinstance(relu, nn.ReLU)
    with pytest.raises(ValueError, match="InceptionBlock: ch5x5 must be a positive int, got 0"):
        models.InceptionBlock(8, 2, 2, 4, 2, 0, 2)


def test_inception_block_gradients():
    mc.manual_seed(0)
    check_layer(models.InceptionBlock(2, 1, 1, 2, 1, 1, 1, batch_norm=True), (2, 2, 4, 4))


def test_googlenet_mini_shapes_and_width():
    model = models.googlenet_mini()
    assert model(mc.randn(2, 3, 32, 32)).shape == (2, 10)
    assert model.inception5a.out_channels == 192
    narrow = models.googlenet_mini(num_classes=4, in_channels=1, width=0.25)
    assert narrow(mc.randn(1, 1, 28, 28)).shape == (1, 4)
    assert count(narrow) < count(model) / 8
    with pytest.raises(ValueError, match="googlenet_mini: width must be a positive number"):
        models.googlenet_mini(width=0)


def test_googlenet_mini_trains():
    mc.manual_seed(0)
    model = models.googlenet_mini(num_classes=4, width=0.25, dropout=0.0)
    x, y = mc.randn(8, 3, 16, 16), mc.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    optimizer = mc.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(6):
        loss = mc.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
