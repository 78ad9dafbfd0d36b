"""``minicnn.nn.init`` and the layers' default initialisation, against PyTorch's formulas."""

import math

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from minicnn.nn import init


def assert_uniform(values, bound, what):
    """Samples of U(-bound, bound): inside the bounds, reaching close to them, std bound/sqrt(3)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    assert np.abs(values).max() <= bound * (1 + 1e-6), what
    # P(all n samples below (1 - 10/n) * bound) = (1 - 10/n)**n < e**-10
    assert np.abs(values).max() > (1 - min(0.5, 10 / values.size)) * bound, what
    std_error = 0.05 if values.size > 1000 else 0.2
    assert abs(values.std() / (bound / math.sqrt(3)) - 1) < std_error, what
    assert abs(values.mean()) < 4 * bound / math.sqrt(3 * values.size), what


# --- gains and fans --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nonlinearity, param",
    [
        ("linear", None),
        ("conv2d", None),
        ("conv_transpose2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", math.sqrt(5)),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(torch, nonlinearity, param):
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-12)


def test_calculate_gain_values_and_errors():
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(3, 5), (8, 4, 3, 3), (4, 2, 1, 5), (6, 3, 2)])
def test_fan_in_and_fan_out_matches_torch(torch, shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.fan_in_and_fan_out(mc.zeros(*shape)) == expected


def test_fan_needs_two_dimensions():
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        init.fan_in_and_fan_out(mc.zeros(5))
    with pytest.raises(ValueError, match="mode 'fan_avg' not supported"):
        init.kaiming_uniform_(mc.zeros(3, 3), mode="fan_avg")


# --- the init functions ------------------------------------------------------------------------


def test_simple_fills_are_in_place_and_keep_dtype():
    t = mc.zeros(3, 4)
    array = t.data
    assert init.ones_(t) is t and t.data is array and (array == 1).all()
    init.constant_(t, 2.5)
    assert (array == 2.5).all() and t.dtype == np.float32
    init.zeros_(t)
    assert not array.any()
    d = mc.zeros(2, dtype=mc.float64)
    init.constant_(d, 1 / 3)
    assert d.dtype == np.float64 and d.data[0] == 1 / 3


def test_uniform_and_normal():
    mc.manual_seed(0)
    t = init.uniform_(mc.zeros(200, 100), -2.0, 3.0)
    assert t.dtype == np.float32
    assert t.data.min() >= -2 and t.data.max() < 3 and abs(t.data.mean() - 0.5) < 0.03
    n = init.normal_(mc.zeros(200, 100), 1.0, 2.0)
    assert abs(n.data.mean() - 1) < 0.05 and abs(n.data.std() - 2) < 0.05


def test_init_does_not_build_a_graph_and_works_on_parameters():
    p = nn.Parameter(mc.zeros(3, 3))
    init.normal_(p)
    assert p.grad_fn is None and p.requires_grad and p.data.any()


def test_init_is_reproducible_with_manual_seed():
    mc.manual_seed(3)
    a = init.kaiming_normal_(mc.zeros(4, 5))
    mc.manual_seed(3)
    b = init.kaiming_normal_(mc.zeros(4, 5))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier_uniform_and_normal(gain):
    shape = (64, 32, 3, 3)  # fan_in 288, fan_out 576
    bound = gain * math.sqrt(6 / (288 + 576))
    assert_uniform(init.xavier_uniform_(mc.zeros(*shape), gain).numpy(), bound, "xavier_uniform")
    std = init.xavier_normal_(mc.zeros(*shape), gain).numpy().std()
    assert std == pytest.approx(gain * math.sqrt(2 / (288 + 576)), rel=0.03)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, a", [("relu", 0), ("leaky_relu", 0.1), ("tanh", 0)])
def test_kaiming_uniform_and_normal(mode, nonlinearity, a):
    shape = (128, 64)
    fan = 64 if mode == "fan_in" else 128
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    t = init.kaiming_uniform_(mc.zeros(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    assert_uniform(t.numpy(), math.sqrt(3) * std, "kaiming_uniform")
    t = init.kaiming_normal_(mc.zeros(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    assert t.numpy().std() == pytest.approx(std, rel=0.03)


# --- the layers' default initialisation --------------------------------------------------------


LAYERS = [
    ("Linear", (300, 100), {}),
    ("Linear", (20, 7), {"bias": False}),
    ("Conv2d", (64, 128, 3), {}),
    ("Conv2d", (6, 12, (3, 5)), {"groups": 3}),
    ("ConvTranspose2d", (16, 32, 3), {}),
    ("ConvTranspose2d", (8, 12, 2), {"groups": 4, "stride": 2}),
]


@pytest.mark.parametrize("name, args, kwargs", LAYERS)
def test_default_init_bounds(name, args, kwargs):
    """kaiming_uniform_(a=sqrt(5)) on the weight and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) on the
    bias, both of which have the bound 1/sqrt(fan_in), fan_in = weight.shape[1] * kh * kw (for
    ConvTranspose2d that is out_channels/groups * kh * kw, as PyTorch computes it)."""
    layer = getattr(nn, name)(*args, **kwargs)
    weight = layer.weight
    bound = 1 / math.sqrt(math.prod(weight.shape[1:]))
    assert weight.dtype == np.float32
    assert_uniform(weight.numpy(), bound, f"{name} weight")
    if layer.bias is not None:
        assert layer.bias.dtype == np.float32
        assert np.abs(layer.bias.numpy()).max() <= bound
    if name == "Conv2d" and args == (64, 128, 3):
        assert bound == pytest.approx(1 / 24)
        assert weight.numpy().std() == pytest.approx(1 / 24 / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize("name, args, kwargs", LAYERS)
def test_default_init_matches_torch_statistics_and_shapes(torch, name, args, kwargs):
    ours = getattr(nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    ours_params = dict(ours.named_parameters())
    theirs_params = dict(theirs.named_parameters())
    assert {k: p.shape for k, p in ours_params.items()} == {
        k: tuple(p.shape) for k, p in theirs_params.items()
    }
    for key, p in ours_params.items():
        mine, torchs = p.numpy(), theirs_params[key].detach().numpy()
        # the same distribution: nearly the same largest magnitude and spread
        if mine.size >= 100:
            rel = 0.01 + 10 / mine.size
            assert np.abs(mine).max() == pytest.approx(np.abs(torchs).max(), rel=rel), key
        if mine.size > 1000:
            assert mine.std() == pytest.approx(torchs.std(), rel=0.05), key


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        *LAYERS,
        ("BatchNorm1d", (5,), {}),
        ("BatchNorm2d", (4,), {"affine": False}),
        ("BatchNorm2d", (4,), {"track_running_stats": False}),
        ("CrossEntropyLoss", (), {}),
    ],
)
def test_parameter_and_buffer_names_shapes_dtypes_match_torch(torch, name, args, kwargs):
    ours = getattr(nn, name)(*args, **kwargs).state_dict()
    theirs = getattr(torch.nn, name)(*args, **kwargs).state_dict()
    assert list(ours) == list(theirs)
    for key, value in ours.items():
        assert value.shape == tuple(theirs[key].shape), key
        assert str(value.dtype) == str(theirs[key].dtype).replace("torch.", ""), key


def test_batch_norm_defaults():
    bn = nn.BatchNorm2d(3)
    assert (bn.weight.numpy() == 1).all() and (bn.bias.numpy() == 0).all()
    assert (bn.running_mean.numpy() == 0).all() and (bn.running_var.numpy() == 1).all()
    assert bn.num_batches_tracked.item() == 0 and bn.num_batches_tracked.dtype == np.int64
    bn.running_mean.data[...] = 5
    bn.num_batches_tracked.data[...] = 9
    bn.reset_running_stats()
    assert (bn.running_mean.numpy() == 0).all() and bn.num_batches_tracked.item() == 0


def test_layers_are_reproducible_with_manual_seed_and_accept_dtype():
    mc.manual_seed(11)
    a = nn.Conv2d(2, 3, 3)
    mc.manual_seed(11)
    b = nn.Conv2d(2, 3, 3)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert nn.Linear(2, 3, dtype=mc.float64).weight.dtype == np.float64
    assert nn.BatchNorm1d(2, dtype=mc.float64).running_var.dtype == np.float64
