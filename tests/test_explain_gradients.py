"""minicnn.explain's input-gradient methods: saliency, SmoothGrad, integrated gradients,
guided backpropagation (and Guided Grad-CAM), deconvnet and activation maximisation; by their
definitions with minicnn's own autograd, and against PyTorch (and pytorch-grad-cam's guided
backpropagation) where installed."""

import numpy as np
import pytest

import minicnn as mc
from minicnn import explain as E
from minicnn import nn

pytestmark = pytest.mark.filterwarnings("ignore::minicnn.explain.BlankMapWarning")


def net(seed=0, dtype=mc.float64, activation=nn.ReLU, pool=nn.MaxPool2d):
    mc.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        activation(),
        pool(2),
        nn.Conv2d(4, 5, 3, padding=1),
        activation(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(5, 3),
    )
    return model.to(dtype)


def images(seed=0, n=3, size=8, dtype=np.float64):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 2, size, size)).astype(dtype)


def input_gradient(model, x, targets):
    """d(sum of target logits)/dx by minicnn's autograd, directly."""
    model.eval()
    t = mc.tensor(x, requires_grad=True)
    model(t)[np.arange(len(targets)), targets].sum().backward()
    model.zero_grad()
    return t.grad.numpy()


def twin(torch, model):
    """The PyTorch network with ``model``'s layers and weights (float64)."""
    tnn = torch.nn
    layers = []
    for m in model:
        kind = type(m).__name__
        if kind == "Conv2d":
            layers.append(tnn.Conv2d(m.in_channels, m.out_channels, 3, padding=1))
        elif kind == "Linear":
            layers.append(tnn.Linear(m.in_features, m.out_features))
        elif kind in ("MaxPool2d", "AvgPool2d"):
            layers.append(getattr(tnn, kind)(2))
        elif kind == "AdaptiveAvgPool2d":
            layers.append(tnn.AdaptiveAvgPool2d(1))
        else:
            layers.append(getattr(tnn, kind)())
    theirs = tnn.Sequential(*layers).double().eval()
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    return theirs


def torch_input_gradient(torch, theirs, x, targets):
    t = torch.tensor(x, requires_grad=True)
    theirs(t)[torch.arange(len(targets)), torch.tensor(targets)].sum().backward()
    return t.grad.numpy()


# --- saliency, SmoothGrad, integrated gradients ---------------------------------------------


def test_saliency_is_the_largest_absolute_input_gradient():
    model, x = net(1), images(1)
    targets = np.array([0, 2, 1])
    grad = input_gradient(model, x, targets)
    raw = E.saliency(model, x, targets, normalize=False)
    np.testing.assert_allclose(raw, np.abs(grad).max(axis=1), rtol=1e-12)
    maps = E.saliency(model, x, targets)
    assert maps.shape == (3, 8, 8) and maps.min() == 0 and maps.max() == 1
    np.testing.assert_allclose(maps, E.normalize_maps(raw))
    assert all(p.grad is None for p in model.parameters())


def test_saliency_equals_pytorch(torch):
    model, x = net(2), images(2)
    targets = np.array([1, 1, 0])
    expected = np.abs(torch_input_gradient(torch, twin(torch, model), x, targets)).max(axis=1)
    np.testing.assert_allclose(E.saliency(model, x, targets, normalize=False), expected, rtol=1e-10)


def test_smoothgrad_averages_the_saliency_of_noisy_copies():
    model, x = net(3), images(3, n=2)
    maps = E.smoothgrad(model, x, samples=3, noise=0.2, normalize=False, seed=5)
    predicted = model.eval()(mc.tensor(x)).numpy().argmax(axis=1)
    rng = np.random.default_rng(5)
    spread = x.max(axis=(1, 2, 3), keepdims=True) - x.min(axis=(1, 2, 3), keepdims=True)
    expected = np.zeros((2, 8, 8))
    for _ in range(3):
        noisy = x + 0.2 * spread * rng.standard_normal(x.shape)
        expected += np.abs(input_gradient(model, noisy, predicted)).max(axis=1) / 3
    np.testing.assert_allclose(maps, expected, rtol=1e-10)
    np.testing.assert_array_equal(maps, E.smoothgrad(model, x, None, 3, 0.2, False, seed=5))
    no_noise = E.smoothgrad(model, x, samples=1, noise=0.0)
    np.testing.assert_allclose(no_noise, E.saliency(model, x), rtol=1e-12)


def test_integrated_gradients_are_complete_on_a_smooth_network():
    model, x = net(4, activation=nn.Softplus, pool=nn.AvgPool2d), images(4)
    targets = np.array([0, 1, 2])
    baseline = np.full_like(x, 0.25)
    attributions = E.integrated_gradients(model, x, targets, baseline=baseline, steps=64)
    assert attributions.shape == x.shape
    with mc.no_grad():
        full = model(mc.tensor(x)).numpy()[np.arange(3), targets]
        base = model(mc.tensor(baseline)).numpy()[np.arange(3), targets]
    total = attributions.sum(axis=(1, 2, 3))
    np.testing.assert_allclose(total, full - base, rtol=1e-3, atol=1e-6)


def test_integrated_gradients_equal_pytorch(torch):
    model, x = net(5), images(5)
    targets = np.array([2, 0, 1])
    theirs = twin(torch, model)
    steps = 8
    expected = np.zeros_like(x)
    for k in range(steps):
        expected += torch_input_gradient(torch, theirs, (k + 0.5) / steps * x, targets) / steps
    expected *= x
    got = E.integrated_gradients(model, x, targets, steps=steps)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_saliency_family_rejects_bad_settings():
    model, x = net(), images()
    with pytest.raises(ValueError, match="smoothgrad: samples must be a positive int, got 0"):
        E.smoothgrad(model, x, samples=0)
    with pytest.raises(ValueError, match="smoothgrad: noise must be a non-negative number"):
        E.smoothgrad(model, x, noise=-1)
    with pytest.raises(ValueError, match="integrated_gradients: steps must be a positive int"):
        E.integrated_gradients(model, x, steps=0)
    with pytest.raises(TypeError, match="saliency: normalize must be True or False"):
        E.saliency(model, x, normalize="yes")


# --- guided backpropagation -----------------------------------------------------------------


def gap_net(sign):
    """conv -> ReLU -> global average pool -> linear with weights of one sign."""
    mc.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(3, 2),
    ).to(mc.float64)  # fmt: skip
    with mc.no_grad():
        model[4].weight.copy_(sign * np.abs(model[4].weight.numpy()) + sign * 0.1)
    return model


def test_guided_backprop_drops_only_the_negative_gradients_at_relus():
    x = images(6)
    positive = gap_net(1)  # the ReLU receives only positive gradients: plain backprop
    np.testing.assert_allclose(
        E.guided_backprop(positive, x, 0), input_gradient(positive, x, [0, 0, 0]), rtol=1e-12
    )
    negative = gap_net(-1)  # only negative ones: nothing passes
    assert np.abs(input_gradient(negative, x, [0, 0, 0])).max() > 0
    assert not E.guided_backprop(negative, x, 0).any()
    # no copy of the model, and the hooks are gone: the ordinary gradient afterwards
    np.testing.assert_allclose(
        input_gradient(negative, x, [0, 0, 0]), input_gradient(gap_net(-1), x, [0, 0, 0])
    )


def test_guided_backprop_warns_without_relu_layers():
    model = net(activation=nn.Tanh)
    with pytest.warns(UserWarning, match="guided_backprop: the model has no nn.ReLU layer"):
        guided = E.guided_backprop(model, images(), 1)
    np.testing.assert_allclose(guided, input_gradient(model, images(), [1, 1, 1]), rtol=1e-12)


def test_guided_backprop_equals_pytorch_grad_cam(torch):
    try:
        from pytorch_grad_cam import GuidedBackpropReLUModel
    except ImportError:
        pytest.skip("pytorch-grad-cam is not installed: comparison with pytorch-grad-cam skipped")
    model, x = net(7), images(7)
    theirs = twin(torch, model)
    ours = E.guided_backprop(model, x, [0, 2, 1])
    guided = GuidedBackpropReLUModel(theirs, device="cpu")
    for i, c in enumerate([0, 2, 1]):
        expected = guided(torch.tensor(x[i : i + 1]), target_category=c).transpose(2, 0, 1)
        np.testing.assert_allclose(ours[i], expected, rtol=1e-10, atol=1e-14)


def test_guided_gradcam_is_guided_backprop_times_the_gradcam_map():
    model, x = net(8), images(8)
    got = E.guided_gradcam(model, x, "4", target=[1, 0, 2])
    maps = E.GradCAM(model, "4")(x, [1, 0, 2])
    np.testing.assert_allclose(got, E.guided_backprop(model, x, [1, 0, 2]) * maps[:, None])


# --- deconvnet -----------------------------------------------------------------------------


def test_deconvnet_through_convolutions_and_pooling_is_backprop_of_the_feature_map():
    """Without ReLUs, unpooling with the switches and transposed convolutions are exactly
    the backward pass of sum(A_c * A_c.detach()) with respect to the input."""
    mc.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3, padding="same"),
        nn.Flatten(),
    ).to(mc.float64)  # fmt: skip
    x = images(9, size=9)
    for channel in (0, 3):
        got = E.deconvnet(model, x, "2", channel)
        t = mc.tensor(x, requires_grad=True)
        a = model[2](model[1](model[0](t)))[:, channel]
        (a * a.detach()).sum().backward()
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_deconvnet_equals_zeiler_and_fergus_with_pytorch(torch):
    tf = torch.nn.functional
    model, x = net(10), images(10, size=8)
    theirs = twin(torch, model)
    got = E.deconvnet(model, x, "4", 2)
    strongest = E.deconvnet(model, x, model[4], 2, strongest_only=True)
    with torch.no_grad():
        t0 = torch.tensor(x)
        a1 = theirs[1](theirs[0](t0))
        pooled, switches = tf.max_pool2d(a1, 2, return_indices=True)
        a4 = theirs[4](theirs[3](pooled))
        for keep_top, result in ((False, got), (True, strongest)):
            signal = torch.zeros_like(a4)
            signal[:, 2] = a4[:, 2]
            if keep_top:
                flat = signal[:, 2].reshape(len(x), -1)
                top = flat.argmax(dim=1)
                kept = torch.zeros_like(flat)
                kept[torch.arange(len(x)), top] = flat[torch.arange(len(x)), top]
                signal[:, 2] = kept.reshape(signal[:, 2].shape)
            s = tf.relu(signal)
            s = tf.conv_transpose2d(s, theirs[3].weight, padding=1)
            s = tf.max_unpool2d(s, switches, 2, output_size=a1.shape[2:])
            s = tf.relu(s)
            s = tf.conv_transpose2d(s, theirs[0].weight, padding=1)
            np.testing.assert_allclose(result, s.numpy(), rtol=1e-10, atol=1e-13)
    assert np.count_nonzero(strongest) < np.count_nonzero(got)


def test_deconvnet_says_what_it_cannot_undo():
    x = images()
    with pytest.raises(ValueError, match="deconvnet: cannot project back through BatchNorm2d"):
        bn = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU()).to(mc.float64)
        E.deconvnet(bn, x, "2", 0)
    with pytest.raises(
        ValueError, match="channel must be an int in \\[0, 5\\) for layer '4', got 5"
    ):
        E.deconvnet(net(), x, "4", 5)
    with pytest.raises(
        ValueError, match="deconvnet: the layers below 'conv2' are not a plain chain"
    ):

        class Skip(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(2, 2, 3, padding=1)
                self.conv2 = nn.Conv2d(2, 2, 3, padding=1)

            def forward(self, t):
                return self.conv2(self.conv1(t) + t)

        E.deconvnet(Skip().to(mc.float64), x, "conv2", 0)


# --- activation maximisation ---------------------------------------------------------------


def test_activation_maximization_climbs_and_repeats():
    model = net(11)
    model.eval()

    def ascend(steps, **kwargs):
        return E.activation_maximization(model, "3", 1, steps, 0.1, input_shape=(2, 8, 8), **kwargs)

    start = E.activation_maximization(model, "3", 1, 1, lr=0.0, input_shape=(2, 8, 8))
    images_ = [start, ascend(20), ascend(40)]
    assert images_[2].shape == (2, 8, 8) and images_[2].dtype == np.float64
    with mc.no_grad():
        activations = [model[:4](mc.tensor(i[None])).numpy()[0, 1].mean() for i in images_]
    assert activations[0] < activations[1] < activations[2]
    np.testing.assert_array_equal(images_[2], ascend(40))  # the same seed, the same image
    assert not np.array_equal(images_[2], ascend(40, seed=1))
    unit = E.activation_maximization(model, "7", 2, steps=5, input_shape=(2, 8, 8), clip=(0, 1))
    assert unit.min() >= 0 and unit.max() <= 1
    assert all(p.grad is None for p in model.parameters())


def test_activation_maximization_rejects_bad_settings():
    model = net()
    with pytest.raises(ValueError, match="channel must be an int in \\[0, 4\\) for layer '0'"):
        E.activation_maximization(model, "0", 4, input_shape=(2, 8, 8))
    with pytest.raises(ValueError, match="input_shape must be \\(C, H, W\\), got \\(8, 8\\)"):
        E.activation_maximization(model, "0", 0, input_shape=(8, 8))
    with pytest.raises(ValueError, match="jitter must be a non-negative int, got 1.5"):
        E.activation_maximization(model, "0", 0, input_shape=(2, 8, 8), jitter=1.5)
