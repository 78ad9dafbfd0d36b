"""Every op, layer and optimizer on the device named by ``--device``, against the CPU.

``pytest --device strict`` runs them on the tests' stand-in for a GPU (tests/strict_device.py),
whose arrays, like CuPy's, refuse implicit conversion to host arrays and count every copy
between host and device: so these tests also prove that device code makes no copy it does not
need. ``pytest --device cuda`` runs them on a real GPU; the default, ``cpu``, checks the tests.
"""

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import nn

RNG = np.random.default_rng(0)


def transfers(device):
    """The strict device's copy counter (cleared), or None on devices that do not count."""
    if device != "strict":
        return None
    from strict_device import TRANSFERS

    TRANSFERS.clear()
    return TRANSFERS


def assert_no_transfer(counter, allowed=None):
    if counter is not None:
        assert dict(counter) == (allowed or {}), f"host/device copies made: {dict(counter)}"


def host(array):
    return mc.backend.to_host(array)


def both(arrays, device):
    """Each array as a float64 leaf on the CPU and on ``device``."""
    cpu = [mc.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    dev = [mc.tensor(a, requires_grad=a.dtype.kind == "f", device=device) for a in arrays]
    return cpu, dev


def normal(*shape):
    return RNG.standard_normal(shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def labels(n, classes):
    return RNG.integers(0, classes, n)


# name -> (function of tensors, its input arrays)
OPS = {
    "add": (lambda a, b: a + b, [normal(2, 3), normal(3)]),
    "sub": (lambda a, b: a - b, [normal(2, 3), normal(2, 1)]),
    "mul": (lambda a, b: a * b, [normal(2, 3), normal(2, 3)]),
    "div": (lambda a, b: a / b, [normal(2, 3), positive(3)]),
    "matmul": (lambda a, b: a @ b, [normal(2, 3), normal(3, 4)]),
    "pow": (lambda a, b: a**b, [positive(3), normal(3)]),
    "numbers": (lambda a: (2 - a * 3 + 1) / 2 + 1 / a + a**2 + 2**a, [positive(2, 3)]),
    "neg_abs_clip": (lambda a: (-a).abs().clip(0.2, 1.0), [normal(4, 3)]),
    "exp_log_sqrt_tanh": (lambda a: a.exp().log().sqrt().tanh(), [positive(5)]),
    "reductions": (
        lambda a: a.sum(0) + a.mean(1, keepdim=True) + a.amax(0) + a.amin((0, 1)),
        [normal(3, 3)],
    ),
    "max_min_dim": (lambda a: a.max(1).values + a.min(1).values, [normal(3, 4)]),
    "shapes": (
        lambda a: a.reshape(3, 4).permute(1, 0).T.unsqueeze(0).squeeze(0).flatten(),
        [normal(2, 6)],
    ),
    "view_clone": (lambda a: a.view(6).clone() * 2, [normal(2, 3)]),
    "getitem": (lambda a: a[1:, ::2] + a[0, -1], [normal(3, 4)]),
    "cat_stack_pad": (
        lambda a, b: mc.pad(mc.cat([a, b]), (1, 1)) + mc.stack([a, b]).sum(0).sum(),
        [normal(2, 3), normal(2, 3)],
    ),
    "conv2d": (
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
        [normal(2, 3, 7, 6), normal(4, 3, 3, 3), normal(4)],
    ),
    "conv2d_groups_dilation": (
        lambda x, w: F.conv2d(x, w, padding="same", dilation=2, groups=2),
        [normal(1, 4, 6, 6), normal(6, 2, 3, 3)],
    ),
    "conv_transpose2d": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [normal(2, 3, 4, 4), normal(3, 2, 3, 3), normal(2)],
    ),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1), [normal(2, 3, 7, 7)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), [normal(2, 3, 6, 6)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [normal(2, 3, 5, 7)]),
    "global_pools": (
        lambda x: F.global_avg_pool2d(x) + F.global_max_pool2d(x),
        [normal(2, 3, 4, 4)],
    ),
    "batch_norm": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [normal(4, 3, 2, 2), normal(3), normal(3)],
    ),
    "activations": (
        lambda x: (
            F.relu(x)
            + F.leaky_relu(x, 0.1)
            + F.elu(x)
            + F.gelu(x)
            + F.gelu(x, "tanh")
            + F.sigmoid(x)
            + F.tanh(x)
            + F.softmax(x, 1)
            + F.log_softmax(x, 1)
        ),
        [normal(4, 5)],
    ),  # fmt: skip
    "pool_options": (
        lambda x: (
            F.max_pool2d(x, 3, 2, 1, dilation=1, ceil_mode=True)
            + F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
            + F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, divisor_override=4)
        ),
        [normal(2, 3, 8, 8)],
    ),
    "max_unpool2d": (
        lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2),
        [normal(2, 3, 6, 6)],
    ),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, (2, 3)), [normal(2, 3, 5, 7)]),
    "layer_group_norm": (
        lambda x, w, b, v: F.layer_norm(x, (3, 4), w, b) + F.group_norm(x, 2, v),
        [normal(2, 4, 3, 4), normal(3, 4), normal(3, 4), normal(4)],
    ),
    "batch_norm_3d": (
        lambda x: F.batch_norm(x, None, None, training=True),
        [normal(2, 3, 2, 2, 2)],
    ),
    "modern_activations": (
        lambda x: F.silu(x) + F.relu6(3 * x) + F.hardswish(3 * x) + F.softplus(x, 2, 1) + F.mish(x),
        [normal(4, 5)],
    ),
    "interpolate": (
        lambda x: (
            F.interpolate(x, scale_factor=2)
            + F.interpolate(x, size=(8, 10), mode="bilinear", align_corners=False)
            + F.interpolate(x, size=(8, 10), mode="bilinear", align_corners=True)
        ),
        [normal(2, 3, 4, 5)],
    ),
    "linear": (lambda x, w, b: F.linear(x, w, b), [normal(4, 3), normal(2, 3), normal(2)]),
    "cross_entropy": (
        lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1),
        [normal(5, 4), labels(5, 4)],
    ),
    "nll_loss": (lambda x, y: F.nll_loss(F.log_softmax(x, 1), y), [normal(5, 4), labels(5, 4)]),
    "ignore_index": (
        lambda x, y: F.cross_entropy(x, y, ignore_index=2) + F.nll_loss(x, y, ignore_index=0),
        [normal(2, 4, 3, 3), labels(18, 4).reshape(2, 3, 3)],
    ),
    "binary_cross_entropy": (
        lambda p, t: F.binary_cross_entropy(p, t),
        [RNG.uniform(0.05, 0.95, (3, 4)), RNG.uniform(0, 1, (3, 4))],
    ),
    "mse_bce": (
        lambda x, t: F.mse_loss(x, t) + F.binary_cross_entropy_with_logits(x, t),
        [normal(3, 4), RNG.uniform(0, 1, (3, 4))],
    ),
}


@pytest.mark.parametrize("name", list(OPS))
def test_op_on_device_equals_cpu_and_makes_no_copy(device, name):
    fn, arrays = OPS[name]
    cpu, dev = both(arrays, device)
    expected = fn(*cpu)
    upstream = normal(*expected.shape)
    expected.backward(mc.tensor(upstream))
    g = mc.tensor(upstream, device=device)

    counter = transfers(device)
    out = fn(*dev)
    out.backward(g)
    assert_no_transfer(counter)

    assert out.device == device and out.dtype == expected.dtype
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)
    for c, d in zip(cpu, dev, strict=True):
        if c.requires_grad:
            assert d.grad.device == device
            np.testing.assert_allclose(d.grad.numpy(), c.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["conv2d", "max_pool2d", "batch_norm", "numbers", "cross_entropy"])
def test_gradcheck_runs_on_device(device, name):
    fn, arrays = OPS[name]
    _, dev = both(arrays, device)
    assert mc.gradcheck(fn, dev)


def test_dropout_on_device_keeps_or_scales_and_its_gradient_follows(device):
    x = mc.tensor(positive(50, 40), requires_grad=True, device=device)
    counter = transfers(device)
    y = F.dropout(x, p=0.5)
    y.backward(mc.ones_like(y))
    assert_no_transfer(counter)
    kept = y.numpy() != 0
    np.testing.assert_allclose(y.numpy()[kept], 2 * x.numpy()[kept], rtol=1e-12)
    np.testing.assert_array_equal(x.grad.numpy(), 2.0 * kept)
    assert 0.4 < kept.mean() < 0.6


def small_cnn():
    mc.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.Conv2d(4, 6, 3),
        nn.GroupNorm(2, 6),
        nn.GELU(),
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 3),
    )


def test_layers_on_device_equal_cpu(device):
    cpu_model, dev_model = small_cnn().double().eval(), small_cnn().double().eval()
    dev_model.to(device)
    assert all(p.device == device for p in dev_model.parameters())
    x = normal(2, 1, 8, 8)
    expected = cpu_model(mc.tensor(x))
    xd = mc.tensor(x, device=device)
    counter = transfers(device)
    out = dev_model(xd)
    assert_no_transfer(counter)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)


def test_state_dict_moves_between_devices_without_a_host_round_trip_on_the_same_device(device):
    source = small_cnn().to(device)
    target = small_cnn().to(device)
    for p in source.parameters():
        with mc.no_grad():
            p.add_(1.0)
    counter = transfers(device)
    target.load_state_dict(source.state_dict())
    assert_no_transfer(counter)
    for a, b in zip(source.parameters(), target.parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    cpu_copy = small_cnn()
    cpu_copy.load_state_dict(source.state_dict())  # device -> host: explicit copies
    np.testing.assert_array_equal(cpu_copy[0].weight.numpy(), source[0].weight.numpy())


OPTIMIZERS = {
    "sgd": lambda ps: mc.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda ps: mc.optim.Adam(ps, lr=0.01, weight_decay=0.01),
    "adamw": lambda ps: mc.optim.AdamW(ps, lr=0.01, amsgrad=True),
    "rmsprop": lambda ps: mc.optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_on_device_equals_cpu_and_makes_no_copy(device, name):
    start, grads = normal(3, 2), [normal(3, 2) for _ in range(3)]
    results = {}
    for where in ("cpu", device):
        p = mc.nn.Parameter(mc.tensor(start, device=where))
        optimizer = OPTIMIZERS[name]([p])
        steps = [mc.tensor(g, device=where) for g in grads]
        counter = transfers(where)
        for g in steps:
            p.grad = g
            optimizer.step()
        optimizer.zero_grad()
        assert_no_transfer(counter)
        results[where] = p.numpy()
    np.testing.assert_allclose(results[device], results["cpu"], rtol=1e-10, atol=1e-12)


def test_clip_grad_norm_stays_on_the_device(device):
    grads = [normal(3, 2), normal(4)]
    results = {}
    for where in ("cpu", device):
        params = [mc.nn.Parameter(mc.tensor(np.zeros(g.shape), device=where)) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = mc.tensor(g, device=where)
        counter = transfers(where)
        total = nn.utils.clip_grad_norm_(params, max_norm=0.5)
        nn.utils.clip_grad_value_(params, 0.1)
        assert_no_transfer(counter)
        assert total.device == where
        results[where] = [total.numpy()] + [p.grad.numpy() for p in params]
    for a, b in zip(results[device], results["cpu"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_training_step_copies_nothing_but_the_loss_value(device):
    model = small_cnn().to(device)
    optimizer = mc.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = mc.tensor(normal(4, 1, 8, 8).astype(np.float32), device=device)
    y = mc.tensor(labels(4, 3), device=device)
    losses = []
    for _ in range(5):
        counter = transfers(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        assert_no_transfer(counter, {"to_host": 1})
    assert losses[-1] < losses[0], losses


def test_tensors_stay_on_the_device_of_their_data(device):
    data = mc.backend.asarray(np.arange(3.0), device=device)
    assert mc.tensor(data).device == device
    assert mc.backend.device_of(mc.tensor(data).data) == device
    assert mc.functional.relu(data).device == device  # as_tensor keeps the device
    t = mc.tensor(data)
    if device != "cpu":
        with pytest.raises(TypeError, match=f"tensor on '{device}' to a NumPy array implicitly"):
            np.asarray(t)
    np.testing.assert_array_equal(t.numpy(), [0.0, 1.0, 2.0])
    assert t.to("cpu").device == "cpu" and t.to("cpu").to(device).device == device


def test_the_column_workspace_is_only_used_on_the_cpu(device):
    mc.backend.free_workspace()
    x = mc.tensor(normal(2, 3, 16, 16), device=device)
    F.conv2d(x, mc.tensor(normal(4, 3, 3, 3), device=device))
    has_buffer = getattr(mc.backend._workspaces, "buffer", None) is not None
    assert has_buffer == (device == "cpu")


def test_conv2d_on_an_empty_batch(device):
    layer = nn.Conv2d(3, 4, 3, padding=1).to(device)
    x = mc.tensor(np.zeros((0, 3, 5, 5), np.float32), requires_grad=True, device=device)
    y = layer(x)
    assert y.shape == (0, 4, 5, 5)
    y.sum().backward()
    assert x.grad.shape == x.shape and layer.weight.grad.numpy().sum() == 0
