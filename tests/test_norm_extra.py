"""layer_norm, group_norm, LayerNorm, GroupNorm and BatchNorm3d: float64 gradient checks and
comparisons with PyTorch (outputs, gradients, parameters, running statistics, repr) over
hypothesis-generated cases; argument errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import functional as F
from minicnn import nn
from minicnn.testing import check_layer

SETTINGS = settings(max_examples=20)
CLOSE = dict(rtol=1e-10, atol=1e-12)


def normal(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def raises(error, message):
    return pytest.raises(error, match=re.escape(message))


# --- cases ---------------------------------------------------------------------------------------

sizes = st.integers(1, 3)
eps_values = st.sampled_from([1e-5, 1e-3, 0.1])


@st.composite
def layer_norm_cases(draw):
    """(input shape, normalized_shape, weight?, bias?, eps): 0-2 leading axes, 1-2 normalised."""
    lead = tuple(draw(st.lists(sizes, max_size=2)))
    normalized = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    return lead + normalized, normalized, draw(st.booleans()), draw(st.booleans()), draw(eps_values)


@st.composite
def group_norm_cases(draw):
    """(input shape, num_groups, weight?, bias?, eps) for (N, C, *) with 0-2 spatial axes,
    kept to inputs PyTorch accepts (N * C/G * spatial size > 1)."""
    groups, per_group, n = draw(sizes), draw(st.integers(1, 2)), draw(sizes)
    spatial = tuple(draw(st.lists(sizes, max_size=2)))
    shape = (n, groups * per_group, *spatial)
    if n * per_group * math.prod(spatial) == 1:
        shape = (2, *shape[1:])
    return shape, groups, draw(st.booleans()), draw(st.booleans()), draw(eps_values)


def _inputs(shape, affine_shape, with_weight, with_bias, seed):
    """x, weight and bias (None where not wanted) as float64 arrays."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2 + rng.standard_normal()
    weight = rng.uniform(0.5, 1.5, affine_shape) if with_weight else None
    bias = rng.standard_normal(affine_shape) if with_bias else None
    return x, weight, bias


def _leaves(arrays, make):
    return [None if a is None else make(a) for a in arrays]


def _compare_with_torch(torch, ours_fn, torch_fn, arrays, seed):
    """Outputs and the gradient of every given input, minicnn against PyTorch, in float64."""
    ours = _leaves(arrays, lambda a: minicnn.tensor(a, requires_grad=True))
    theirs = _leaves(arrays, lambda a: torch.tensor(a, requires_grad=True))
    y, y_t = ours_fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), **CLOSE)
    g = normal(y.shape, seed + 1)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    for name, a, a_t in zip(["input", "weight", "bias"], ours, theirs, strict=True):
        if a is not None:
            np.testing.assert_allclose(a.grad.numpy(), a_t.grad.numpy(), err_msg=name, **CLOSE)


def _gradcheck(fn, arrays):
    tensors = _leaves(arrays, lambda a: minicnn.tensor(a, requires_grad=True))
    given = [t for t in tensors if t is not None]

    def call(*ts):
        it = iter(ts)
        return fn(*[None if t is None else next(it) for t in tensors])

    assert minicnn.gradcheck(call, given)


# --- layer_norm ------------------------------------------------------------------------------------


@SETTINGS
@given(layer_norm_cases(), st.integers(0, 2**16))
def test_layer_norm_gradcheck(case, seed):
    shape, normalized, with_weight, with_bias, eps = case
    arrays = _inputs(shape, normalized, with_weight, with_bias, seed)
    _gradcheck(lambda x, w, b: F.layer_norm(x, normalized, w, b, eps), arrays)


@SETTINGS
@given(layer_norm_cases(), st.integers(0, 2**16))
def test_layer_norm_matches_torch(torch, case, seed):
    shape, normalized, with_weight, with_bias, eps = case
    _compare_with_torch(
        torch,
        lambda x, w, b: F.layer_norm(x, normalized, w, b, eps),
        lambda x, w, b: torch.nn.functional.layer_norm(x, normalized, w, b, eps),
        _inputs(shape, normalized, with_weight, with_bias, seed),
        seed,
    )


def test_layer_norm_by_hand():
    x = np.array([[1.0, 3.0], [2.0, 2.0]])  # rows: mean 2, var 1; mean 2, var 0
    y = F.layer_norm(x, 2, eps=1e-12).numpy()
    np.testing.assert_allclose(y, [[-1.0, 1.0], [0.0, 0.0]])
    y = F.layer_norm(x, (2,), np.array([2.0, 3.0]), np.array([0.5, -0.5]), eps=1e-12)
    np.testing.assert_allclose(y.numpy(), [[-1.5, 2.5], [0.5, -0.5]])


# --- group_norm ------------------------------------------------------------------------------------


@SETTINGS
@given(group_norm_cases(), st.integers(0, 2**16))
def test_group_norm_gradcheck(case, seed):
    shape, groups, with_weight, with_bias, eps = case
    arrays = _inputs(shape, shape[1:2], with_weight, with_bias, seed)
    _gradcheck(lambda x, w, b: F.group_norm(x, groups, w, b, eps), arrays)


@SETTINGS
@given(group_norm_cases(), st.integers(0, 2**16))
def test_group_norm_matches_torch(torch, case, seed):
    shape, groups, with_weight, with_bias, eps = case
    _compare_with_torch(
        torch,
        lambda x, w, b: F.group_norm(x, groups, w, b, eps),
        lambda x, w, b: torch.nn.functional.group_norm(x, groups, w, b, eps),
        _inputs(shape, shape[1:2], with_weight, with_bias, seed),
        seed,
    )


def test_group_norm_special_cases_are_layer_and_instance_norm():
    x = normal((2, 4, 3, 3), 0)
    one_group = F.group_norm(x, 1, eps=1e-5).numpy()
    np.testing.assert_allclose(one_group, F.layer_norm(x, (4, 3, 3)).numpy(), **CLOSE)
    per_channel = F.group_norm(x, 4, eps=1e-5).numpy()
    np.testing.assert_allclose(per_channel, F.layer_norm(x, (3, 3)).numpy(), **CLOSE)
    # with batch statistics of a single sample, batch norm normalises each channel alike
    expected = F.batch_norm(x[:1], None, None, training=True).numpy()
    np.testing.assert_allclose(per_channel[:1], expected, **CLOSE)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, w, b: F.layer_norm(x, (3, 2), w.reshape(3, 2), b.reshape(3, 2)),
        lambda x, w, b: F.group_norm(x, 3, w, b),
    ],
)
def test_float32_stays_float32(fn):
    x = minicnn.randn(2, 6, 3, 2, requires_grad=True)
    w, b = minicnn.ones(6, requires_grad=True), minicnn.zeros(6, requires_grad=True)
    y = fn(x, w, b)
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


# --- the layers ------------------------------------------------------------------------------------


def _torch_copy(torch, ours, theirs):
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})


def _assert_layer_matches_torch(torch, ours, theirs, shape, seed, steps=1):
    """State copied minicnn -> torch, then ``steps`` forward/backward passes compared in
    float64: outputs, input and parameter gradients, and finally every state_dict entry."""
    ours.double()
    theirs.double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _torch_copy(torch, ours, theirs)
    for step in range(steps):
        ours.zero_grad()
        theirs.zero_grad()
        x = normal(shape, seed + step) * 2 + 1
        ox, tx = minicnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = ours(ox), theirs(tx)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), err_msg="output", **CLOSE)
        g = normal(y.shape, seed + 100 + step)
        y.backward(g)
        ty.backward(torch.from_numpy(g))
        np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), err_msg="input", **CLOSE)
        torch_params = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(
                p.grad.numpy(), torch_params[name].grad.numpy(), err_msg=name, **CLOSE
            )
    theirs_state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(
            np.asarray(value), theirs_state[key].numpy(), err_msg=key, **CLOSE
        )


def _randomise(layer, seed):
    """Non-trivial weights and biases (the defaults are ones and zeros)."""
    rng = np.random.default_rng(seed)
    state = {
        name: rng.uniform(0.5, 1.5, p.shape) if name == "weight" else rng.standard_normal(p.shape)
        for name, p in layer.named_parameters()
    }
    layer.load_state_dict({**layer.state_dict(), **state})
    return layer


@st.composite
def layer_norm_layers(draw):
    shape, normalized, affine, bias, eps = draw(layer_norm_cases())
    as_int = len(normalized) == 1 and draw(st.booleans())
    kwargs = dict(eps=eps, elementwise_affine=affine, bias=bias)
    return (normalized[0] if as_int else normalized), kwargs, shape


@st.composite
def group_norm_layers(draw):
    shape, groups, affine, bias, eps = draw(group_norm_cases())
    return (groups, shape[1]), dict(eps=eps, affine=affine, bias=bias), shape


@SETTINGS
@given(layer_norm_layers(), st.integers(0, 2**16))
def test_layer_norm_layer_gradcheck(case, seed):
    normalized, kwargs, shape = case
    check_layer(_randomise(nn.LayerNorm(normalized, **kwargs), seed), shape, seed=seed)


@SETTINGS
@given(layer_norm_layers(), st.integers(0, 2**16))
def test_layer_norm_layer_matches_torch(torch, case, seed):
    normalized, kwargs, shape = case
    ours = _randomise(nn.LayerNorm(normalized, **kwargs), seed)
    theirs = torch.nn.LayerNorm(normalized, **kwargs)
    assert repr(ours) == repr(theirs)
    _assert_layer_matches_torch(torch, ours, theirs, shape, seed, steps=2)


@SETTINGS
@given(group_norm_layers(), st.integers(0, 2**16))
def test_group_norm_layer_gradcheck(case, seed):
    args, kwargs, shape = case
    check_layer(_randomise(nn.GroupNorm(*args, **kwargs), seed), shape, seed=seed)


@SETTINGS
@given(group_norm_layers(), st.integers(0, 2**16))
def test_group_norm_layer_matches_torch(torch, case, seed):
    args, kwargs, shape = case
    ours = _randomise(nn.GroupNorm(*args, **kwargs), seed)
    theirs = torch.nn.GroupNorm(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    _assert_layer_matches_torch(torch, ours, theirs, shape, seed, steps=2)


def test_layer_norm_and_group_norm_parameters_like_torch():
    ln = nn.LayerNorm((3, 4))
    assert ln.normalized_shape == (3, 4) and nn.LayerNorm(5).normalized_shape == (5,)
    assert [(n, p.shape) for n, p in ln.named_parameters()] == [
        ("weight", (3, 4)),
        ("bias", (3, 4)),
    ]
    assert (ln.weight.numpy() == 1).all() and (ln.bias.numpy() == 0).all()
    assert ln.weight.dtype == np.float32
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == ["weight"]
    assert nn.LayerNorm(3, elementwise_affine=False).state_dict() == {}
    gn = nn.GroupNorm(2, 6, dtype=minicnn.float64)
    assert [(n, p.shape) for n, p in gn.named_parameters()] == [("weight", (6,)), ("bias", (6,))]
    assert (gn.weight.numpy() == 1).all() and (gn.bias.numpy() == 0).all()
    assert gn.weight.dtype == np.float64
    assert gn.state_dict().keys() == {"weight", "bias"}
    assert nn.GroupNorm(2, 6, affine=False).state_dict() == {}
    # no batch statistics: training and evaluation agree
    x = minicnn.randn(3, 6, 2)
    np.testing.assert_array_equal(gn.float()(x).numpy(), gn.eval()(x).numpy())


# --- BatchNorm3d -----------------------------------------------------------------------------------


@st.composite
def batch_norm3d_cases(draw):
    """(num_features, options, (N, C, D, H, W)): more than one value per channel."""
    shape = (draw(st.integers(1, 2)), draw(sizes), *[draw(st.integers(1, 2)) for _ in range(3)])
    if shape[0] * math.prod(shape[2:]) == 1:
        shape = (2, *shape[1:])
    options = dict(
        eps=draw(eps_values),
        momentum=draw(st.none() | st.floats(0.0, 1.0)),
        affine=draw(st.booleans()),
        track_running_stats=draw(st.booleans()),
        bias=draw(st.booleans()),
    )
    return shape[1], options, shape


def _batch_norm3d(case, training, seed):
    channels, options, _ = case
    layer = _randomise(nn.BatchNorm3d(channels, **options), seed).train(training)
    if not training and layer.track_running_stats:
        stats = {
            "running_mean": normal(channels, seed + 1),
            "running_var": 1 + normal(channels, seed + 2) ** 2,
        }
        layer.load_state_dict({**layer.state_dict(), **stats})
    return layer


@SETTINGS
@given(batch_norm3d_cases(), st.booleans(), st.integers(0, 2**16))
def test_batch_norm3d_gradcheck(case, training, seed):
    check_layer(_batch_norm3d(case, training, seed), case[2], seed=seed)


@SETTINGS
@given(batch_norm3d_cases(), st.booleans(), st.integers(0, 2**16))
def test_batch_norm3d_matches_torch(torch, case, training, seed):
    channels, options, shape = case
    ours = _batch_norm3d(case, training, seed)
    theirs = torch.nn.BatchNorm3d(channels, **options).train(training)
    assert repr(ours) == repr(theirs)
    _assert_layer_matches_torch(torch, ours, theirs, shape, seed, steps=3)
    if training and ours.track_running_stats:
        assert ours.num_batches_tracked.item() == 3


def test_batch_norm3d_buffers_and_eval():
    bn = nn.BatchNorm3d(2)
    assert list(bn.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    x = minicnn.tensor(normal((3, 2, 2, 3, 2), 0).astype(np.float32) * 2 + 5)
    bn(x)
    batch = x.numpy().transpose(1, 0, 2, 3, 4).reshape(2, -1)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * batch.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(
        bn.running_var.numpy(), 0.9 + 0.1 * batch.var(axis=1, ddof=1), rtol=1e-5
    )
    assert bn.num_batches_tracked.item() == 1 and bn.running_mean.dtype == np.float32
    bn.eval()
    before = bn.running_mean.numpy().copy()
    y = bn(x).numpy()
    mean, var = bn.running_mean.numpy(), bn.running_var.numpy()
    expected = (x.numpy() - mean[:, None, None, None]) / np.sqrt(var + 1e-5)[:, None, None, None]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)
    assert bn.num_batches_tracked.item() == 1


def test_batch_norm_repr_like_torch(torch):
    for cls in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"):
        for kwargs in [{}, dict(affine=False, momentum=None), dict(bias=False, eps=0.1)]:
            assert repr(getattr(nn, cls)(3, **kwargs)) == repr(getattr(torch.nn, cls)(3, **kwargs))


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: F.layer_norm(np.zeros((2, 4)), (3,)),
            ValueError,
            "layer_norm: expected an input of shape (*, 3) for normalized_shape=(3,), got (2, 4)",
        ),
        (
            lambda: F.layer_norm(np.zeros((2, 3, 4)), (3, 4), weight=np.ones(4)),
            ValueError,
            "layer_norm: expected weight of shape (3, 4) for normalized_shape=(3, 4), got (4,)",
        ),
        (
            lambda: F.layer_norm(np.zeros((2, 4)), ()),
            ValueError,
            "layer_norm: normalized_shape must be a positive int or a non-empty sequence of "
            "them, got ()",
        ),
        (
            lambda: F.layer_norm(np.zeros((2, 4)), 4, eps=-1.0),
            ValueError,
            "layer_norm: eps must be a non-negative number, got -1.0",
        ),
        (
            lambda: F.layer_norm(np.zeros((2, 4)), 4, weight=minicnn.ones(4)),
            TypeError,
            "layer_norm: input, weight and bias must have the same dtype, got float64 input, "
            "float32 weight",
        ),
        (
            lambda: F.group_norm(np.zeros((2, 6, 2)), 4),
            ValueError,
            "group_norm: input channels 6 (input (2, 6, 2)) must be divisible by num_groups=4",
        ),
        (
            lambda: F.group_norm(np.zeros((2, 6)), 0),
            ValueError,
            "group_norm: num_groups must be a positive int, got 0",
        ),
        (
            lambda: F.group_norm(np.zeros(6), 2),
            ValueError,
            "group_norm: expected an input of shape (N, C, *), got (6,)",
        ),
        (
            lambda: F.group_norm(np.zeros((2, 6)), 2, bias=np.zeros(3)),
            ValueError,
            "group_norm: expected bias of shape (6,) for an input with 6 channels, got (3,)",
        ),
        (
            lambda: F.group_norm(np.zeros((1, 2)), 2),
            ValueError,
            "group_norm: expected N * C/num_groups * (spatial size) > 1, as PyTorch does, got "
            "input size (1, 2) with num_groups=2",
        ),
    ],
)
def test_functional_errors(call, error, message):
    with raises(error, message):
        call()


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: nn.LayerNorm(0), ValueError, "LayerNorm: normalized_shape must be a positive"),
        (lambda: nn.LayerNorm((2, 2.5)), ValueError, "got (2, 2.5)"),
        (lambda: nn.LayerNorm(3, eps=-1), ValueError, "LayerNorm: eps must be a non-negative"),
        (
            lambda: nn.GroupNorm(2, 3),
            ValueError,
            "GroupNorm: num_channels=3 must be divisible by num_groups=2",
        ),
        (lambda: nn.GroupNorm(0, 3), ValueError, "GroupNorm: num_groups must be a positive int"),
        (lambda: nn.BatchNorm3d(0), ValueError, "BatchNorm3d: num_features must be a positive"),
        (lambda: nn.BatchNorm3d(2, eps=-1), ValueError, "BatchNorm3d: eps must be a non-negative"),
        (
            lambda: nn.BatchNorm3d(2, momentum="0.1"),
            TypeError,
            "BatchNorm3d: momentum must be a real number, got '0.1'",
        ),
    ],
)
def test_constructor_errors(build, error, message):
    with raises(error, message):
        build()


def test_layer_errors_name_the_layer():
    with raises(
        ValueError,
        "BatchNorm3d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, "
        "track_running_stats=True): expected 5-D input (N, 2, D, H, W), got shape (2, 2, 3, 3)",
    ):
        nn.BatchNorm3d(2)(minicnn.zeros(2, 2, 3, 3))
    with raises(
        ValueError,
        "LayerNorm((3,), eps=1e-05, elementwise_affine=True, bias=True): layer_norm: expected an "
        "input of shape (*, 3) for normalized_shape=(3,), got (2, 4)",
    ):
        nn.LayerNorm(3)(minicnn.zeros(2, 4))
    with raises(
        ValueError,
        "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True): group_norm: expected weight of "
        "shape (6,) for an input with 6 channels, got (4,)",
    ):
        nn.GroupNorm(2, 4)(minicnn.zeros(2, 6, 3))
