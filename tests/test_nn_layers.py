"""Every layer: gradient-checked with ``check_layer`` (float64, hypothesis configs) and compared
with its ``torch.nn`` twin, weights copied through ``state_dict`` both ways."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn import nn
from minicnn.testing import check_layer, conv2d_configs, conv_transpose2d_configs, pool2d_configs

FEW = settings(max_examples=12)


def normal(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def assert_close(ours, theirs, what):
    np.testing.assert_allclose(
        np.asarray(ours), np.asarray(theirs), rtol=1e-10, atol=1e-12, err_msg=what
    )


def assert_same_as_torch(torch, ours, theirs, x, args=(), torch_args=(), steps=1):
    """Copy weights minicnn -> torch (``torch.from_numpy``), compare, then give torch new
    weights and copy torch -> minicnn (``load_state_dict`` of NumPy arrays), compare again.

    Compared in float64: outputs, input gradients, parameter gradients and, after ``steps``
    forward passes, every state_dict entry (BatchNorm's running statistics).
    """
    ours.double()
    theirs.double()
    for direction in ("minicnn -> torch", "torch -> minicnn"):
        if direction == "minicnn -> torch":
            state = {k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()}
            theirs.load_state_dict(state)
        else:
            with torch.no_grad():
                for p in theirs.parameters():
                    p.uniform_(-1, 1)
            ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        for step in range(steps):
            ours.zero_grad()
            theirs.zero_grad()
            xs = normal(x.shape, seed=step) if step else x
            ox = mc.tensor(xs, requires_grad=True)
            tx = torch.tensor(xs, requires_grad=True)
            y, ty = ours(ox, *args), theirs(tx, *torch_args)
            assert y.shape == tuple(ty.shape), direction
            assert_close(y.numpy(), ty.detach().numpy(), f"output, {direction}")
            upstream = normal(y.shape, seed=100 + step)
            y.backward(upstream)
            ty.backward(torch.from_numpy(upstream))
            assert_close(ox.grad.numpy(), tx.grad.numpy(), f"input gradient, {direction}")
            torch_params = dict(theirs.named_parameters())
            for name, p in ours.named_parameters():
                assert_close(
                    p.grad.numpy(), torch_params[name].grad.numpy(), f"{name}, {direction}"
                )
        theirs_state = theirs.state_dict()
        for key, value in ours.state_dict().items():
            assert_close(value, theirs_state[key].numpy(), f"state {key}, {direction}")


# --- Linear ------------------------------------------------------------------------------------


@FEW
@given(
    st.integers(1, 4),
    st.integers(1, 4),
    st.booleans(),
    st.lists(st.integers(1, 3), min_size=1, max_size=2),
)
def test_linear_gradcheck(in_features, out_features, bias, leading):
    check_layer(nn.Linear(in_features, out_features, bias), (*leading, in_features))


@FEW
@given(st.integers(1, 5), st.integers(1, 5), st.booleans())
def test_linear_matches_torch(torch, in_features, out_features, bias):
    assert_same_as_torch(
        torch,
        nn.Linear(in_features, out_features, bias),
        torch.nn.Linear(in_features, out_features, bias),
        normal((2, 3, in_features)),
    )


def test_flatten_gradcheck():
    check_layer(nn.Flatten(), (2, 3, 2))


def test_identity_and_flatten_match_torch(torch):
    x = normal((2, 3, 2, 2))
    assert_same_as_torch(torch, nn.Flatten(), torch.nn.Flatten(), x)
    assert_same_as_torch(torch, nn.Flatten(0, 2), torch.nn.Flatten(0, 2), x)
    assert_same_as_torch(torch, nn.Identity(), torch.nn.Identity(), x)


# --- convolutions ------------------------------------------------------------------------------


@FEW
@given(conv2d_configs(), st.booleans())
def test_conv2d_gradcheck(config, bias):
    check_layer(nn.Conv2d(**config.kwargs(), bias=bias), config.input_shape)


WIDE_CONV2D = conv2d_configs(max_channels_per_group=4, max_groups=3, max_kernel=4, max_stride=3)


@given(WIDE_CONV2D, st.booleans())
def test_conv2d_output_shape(config, bias):
    layer = nn.Conv2d(**config.kwargs(), bias=bias)
    assert layer(mc.randn(*config.input_shape)).shape == config.output_shape


@given(WIDE_CONV2D, st.booleans())
def test_conv2d_matches_torch(torch, config, bias):
    ours = nn.Conv2d(**config.kwargs(), bias=bias)
    theirs = torch.nn.Conv2d(**config.kwargs(), bias=bias)
    assert_same_as_torch(torch, ours, theirs, normal(config.input_shape))


STRING_PADDINGS = pytest.mark.parametrize("padding", ["same", "valid"])
DILATED_KERNELS = pytest.mark.parametrize(
    "kernel_size, dilation", [(3, 1), (2, 1), ((4, 3), (1, 2)), (2, 3)]
)


@STRING_PADDINGS
@DILATED_KERNELS
def test_conv2d_string_padding(padding, kernel_size, dilation):
    args = dict(kernel_size=kernel_size, padding=padding, dilation=dilation)
    if padding == "same":
        assert nn.Conv2d(2, 3, **args)(mc.randn(1, 2, 7, 8)).shape == (1, 3, 7, 8)
    check_layer(nn.Conv2d(1, 2, **args), (1, 1, 7, 6))


@STRING_PADDINGS
@DILATED_KERNELS
def test_conv2d_string_padding_matches_torch(torch, padding, kernel_size, dilation):
    args = dict(kernel_size=kernel_size, padding=padding, dilation=dilation)
    ours, theirs = nn.Conv2d(2, 3, **args), torch.nn.Conv2d(2, 3, **args)
    assert_same_as_torch(torch, ours, theirs, normal((2, 2, 7, 8)))


@FEW
@given(conv_transpose2d_configs(), st.booleans())
def test_conv_transpose2d_gradcheck(config, bias):
    check_layer(nn.ConvTranspose2d(**config.kwargs(), bias=bias), config.input_shape)


WIDE_CONV_TRANSPOSE2D = conv_transpose2d_configs(
    max_channels_per_group=4, max_groups=3, max_stride=3
)


@given(WIDE_CONV_TRANSPOSE2D, st.booleans())
def test_conv_transpose2d_output_shape(config, bias):
    layer = nn.ConvTranspose2d(**config.kwargs(), bias=bias)
    assert layer(mc.randn(*config.input_shape)).shape == config.output_shape


@given(WIDE_CONV_TRANSPOSE2D, st.booleans())
def test_conv_transpose2d_matches_torch(torch, config, bias):
    ours = nn.ConvTranspose2d(**config.kwargs(), bias=bias)
    theirs = torch.nn.ConvTranspose2d(**config.kwargs(), bias=bias)
    assert_same_as_torch(torch, ours, theirs, normal(config.input_shape))


# --- pooling -----------------------------------------------------------------------------------


def max_pool2d_kwargs(config, use_default_stride):
    kwargs = config.kwargs()
    if use_default_stride:
        kwargs.pop("stride")
        # the default stride is the kernel size: the padding rule still holds
    return kwargs


@FEW
@given(pool2d_configs(), st.booleans())
def test_max_pool2d_gradcheck(config, use_default_stride):
    check_layer(nn.MaxPool2d(**max_pool2d_kwargs(config, use_default_stride)), config.input_shape)


@FEW
@given(pool2d_configs(), st.booleans())
def test_max_pool2d_matches_torch(torch, config, use_default_stride):
    kwargs = max_pool2d_kwargs(config, use_default_stride)
    layer, theirs = nn.MaxPool2d(**kwargs), torch.nn.MaxPool2d(**kwargs)
    assert_same_as_torch(torch, layer, theirs, normal(config.input_shape))


@FEW
@given(pool2d_configs(), st.booleans())
def test_avg_pool2d_gradcheck(config, count_include_pad):
    layer = nn.AvgPool2d(**config.kwargs(), count_include_pad=count_include_pad)
    assert layer(mc.randn(*config.input_shape)).shape == config.output_shape
    check_layer(layer, config.input_shape)


@FEW
@given(pool2d_configs(), st.booleans())
def test_avg_pool2d_matches_torch(torch, config, count_include_pad):
    layer = nn.AvgPool2d(**config.kwargs(), count_include_pad=count_include_pad)
    theirs = torch.nn.AvgPool2d(**config.kwargs(), count_include_pad=count_include_pad)
    assert_same_as_torch(torch, layer, theirs, normal(config.input_shape))


ADAPTIVE_SIZES = pytest.mark.parametrize(
    "output_size, input_hw", [(1, (5, 4)), (2, (5, 7)), ((3, 2), (7, 5)), ((4, None), (6, 3))]
)


@ADAPTIVE_SIZES
def test_adaptive_avg_pool2d(output_size, input_hw):
    check_layer(nn.AdaptiveAvgPool2d(output_size), (2, 2, *input_hw))


@ADAPTIVE_SIZES
def test_adaptive_avg_pool2d_matches_torch(torch, output_size, input_hw):
    assert_same_as_torch(
        torch,
        nn.AdaptiveAvgPool2d(output_size),
        torch.nn.AdaptiveAvgPool2d(output_size),
        normal((2, 3, *input_hw)),
    )


def test_global_pools():
    x = normal((2, 3, 4, 5))
    avg = nn.GlobalAvgPool2d()(mc.tensor(x))
    top = nn.GlobalMaxPool2d()(mc.tensor(x))
    assert avg.shape == top.shape == (2, 3)
    np.testing.assert_allclose(avg.numpy(), x.mean(axis=(2, 3)), rtol=1e-12)
    np.testing.assert_allclose(top.numpy(), x.max(axis=(2, 3)), rtol=1e-12)
    check_layer(nn.GlobalAvgPool2d(), (2, 3, 3, 2))
    check_layer(nn.GlobalMaxPool2d(), (2, 3, 3, 2))


# --- batch normalisation -------------------------------------------------------------------------


@st.composite
def batch_norm_cases(draw):
    """A BatchNorm layer's name, input shape (batch 1..3, channels 1..3, spatial sizes 1..4)
    and options. Batch statistics need at least 2 values per channel (PyTorch refuses 1)."""
    name, spatial_dims = draw(
        st.sampled_from([("BatchNorm1d", 0), ("BatchNorm1d", 1), ("BatchNorm2d", 2)])
    )
    spatial = tuple(draw(st.integers(1, 4)) for _ in range(spatial_dims))
    batch = draw(st.integers(1 if np.prod(spatial) > 1 else 2, 3))
    options = dict(
        eps=draw(st.floats(1e-5, 0.1)),
        momentum=draw(st.none() | st.floats(0.0, 1.0)),
        affine=draw(st.booleans()),
        track_running_stats=draw(st.booleans()),
    )
    return name, (batch, draw(st.integers(1, 3)), *spatial), options


def batch_norm_layer(case, training, seed):
    name, shape, options = case
    ours = getattr(nn, name)(shape[1], **options).train(training)
    if ours.affine:
        with mc.no_grad():
            nn.init.uniform_(ours.weight, 0.5, 1.5)
            nn.init.uniform_(ours.bias, -1, 1)
    if not training and ours.track_running_stats:
        # non-trivial running statistics to evaluate with
        stats = {
            "running_mean": normal(shape[1], seed + 1),
            "running_var": 1 + normal(shape[1], seed + 2) ** 2,
        }
        ours.load_state_dict({**ours.state_dict(), **stats})
    return ours


@given(batch_norm_cases(), st.booleans(), st.integers(0, 2**16))
def test_batch_norm_gradcheck(case, training, seed):
    check_layer(batch_norm_layer(case, training, seed), case[1], seed=seed)


@given(batch_norm_cases(), st.booleans(), st.integers(0, 2**16))
def test_batch_norm_matches_torch(torch, case, training, seed):
    name, shape, options = case
    ours = batch_norm_layer(case, training, seed)
    theirs = getattr(torch.nn, name)(shape[1], **options).train(training)
    assert_same_as_torch(torch, ours, theirs, normal(shape, seed), steps=3)
    if training and ours.track_running_stats:
        # 3 steps, then torch's count (3) loaded back and 3 more steps
        assert ours.num_batches_tracked.item() == 6


def test_batch_norm_buffers_and_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()
    batches = [normal((5, 2), seed) for seed in range(3)]
    for b in batches:
        bn(mc.tensor(b.astype(np.float32)))
    # momentum=None: the running mean is the plain average of the batch means
    expected = np.mean([b.mean(axis=0) for b in batches], axis=0)
    np.testing.assert_allclose(bn.running_mean.numpy(), expected, rtol=1e-5)
    assert bn.num_batches_tracked.item() == 3 and bn.running_mean.dtype == np.float32
    bn.eval()
    bn(mc.tensor(batches[0].astype(np.float32)))
    assert bn.num_batches_tracked.item() == 3  # not counted in eval mode


# --- dropout -------------------------------------------------------------------------------------


def test_dropout_train_and_eval():
    layer = nn.Dropout(0.25)
    x = mc.ones(200, 50)
    mc.manual_seed(0)
    y = layer(x).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    mc.manual_seed(0)
    np.testing.assert_array_equal(layer(x).numpy(), y)  # seeded: reproducible
    assert layer.eval()(x) is x
    check_layer(nn.Dropout(0.5), (3, 4))  # train mode: check_layer reseeds each forward


# --- activations -----------------------------------------------------------------------------------

KINKED_AT_ZERO = ("ReLU", "LeakyReLU", "ELU")


def shapes(min_dims=2, max_dims=4):
    """(batch 1..3, channels 1..3, then spatial sizes 1..4), ``min_dims`` to ``max_dims`` axes."""
    return st.tuples(
        st.integers(1, 3),
        st.integers(1, 3),
        st.lists(st.integers(1, 4), min_size=min_dims - 2, max_size=max_dims - 2),
    ).map(lambda t: (t[0], t[1], *t[2]))


@st.composite
def activation_cases(draw):
    """An activation's name, its arguments and an input shape."""
    shape = draw(shapes())
    name = draw(
        st.sampled_from([*KINKED_AT_ZERO, "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax"])
    )
    kwargs = {}
    if name == "LeakyReLU":
        kwargs["negative_slope"] = draw(st.floats(0.0, 1.0))
    elif name == "ELU":
        kwargs["alpha"] = draw(st.floats(0.1, 2.0))
    elif name == "GELU":
        kwargs["approximate"] = draw(st.sampled_from(["none", "tanh"]))
    elif name in ("Softmax", "LogSoftmax"):
        kwargs["dim"] = draw(st.integers(-len(shape), len(shape) - 1))
    return name, kwargs, shape


def away_from_zero(shape, seed, gap=1e-3):
    """Normal noise moved ``gap`` away from 0, so that finite differences never cross a kink."""
    x = normal(shape, seed)
    return np.where(x >= 0, x + gap, x - gap)


@given(activation_cases(), st.integers(0, 2**16))
def test_activation_gradcheck(case, seed):
    name, kwargs, shape = case
    layer = getattr(nn, name)(**kwargs)
    x = away_from_zero(shape, seed)
    if name in KINKED_AT_ZERO:
        # check_layer's own input may lie within eps of the kink: check on x instead
        assert mc.gradcheck(layer, [mc.tensor(x, requires_grad=True)])
    else:
        check_layer(layer, shape, seed=seed)
    assert layer(mc.randn(*shape)).dtype == np.float32


@given(activation_cases(), st.integers(0, 2**16))
def test_activation_matches_torch(torch, case, seed):
    name, kwargs, shape = case
    layer = getattr(nn, name)(**kwargs)
    assert_same_as_torch(
        torch, layer, getattr(torch.nn, name)(**kwargs), away_from_zero(shape, seed)
    )


# --- losses ------------------------------------------------------------------------------------------

REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
FEW_LOSSES = settings(max_examples=20)


def class_weights(rng, classes, weighted):
    return rng.uniform(0.2, 2.0, classes) if weighted else None


def maybe(array, wrap):
    return None if array is None else wrap(array)


def check_loss(build, x, target):
    """Gradient-check the loss ``build(nn, mc.tensor)`` on inputs shaped like ``x``."""
    check_layer(build(nn, mc.tensor), x.shape, args=(mc.tensor(target),))


def compare_loss(torch, build, x, target):
    """The loss ``build(nn, mc.tensor)`` against its torch twin ``build(torch.nn,
    torch.from_numpy)`` on ``x`` and ``target``."""
    ours, theirs = build(nn, mc.tensor), build(torch.nn, torch.from_numpy)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert_same_as_torch(torch, ours, theirs, x, (mc.tensor(target),), (torch.from_numpy(target),))


@st.composite
def cross_entropy_cases(draw):
    """``(build, x, target)``: ``build(nn_module, wrap)`` makes the loss in ``minicnn.nn`` or
    ``torch.nn``, with ``wrap`` turning its class weights into that library's tensor."""
    shape, reduction = draw(shapes()), draw(REDUCTIONS)
    weighted, label_smoothing = draw(st.booleans()), draw(st.floats(0.0, 0.5))
    probabilities, seed = draw(st.booleans()), draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    classes = shape[1]
    if probabilities:  # class probabilities shaped like the input
        scores = rng.standard_normal(shape)
        target = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    else:  # class indices (N, d1, ...)
        target = rng.integers(0, classes, (shape[0], *shape[2:]))
    weight = class_weights(rng, classes, weighted)
    kwargs = dict(reduction=reduction, label_smoothing=label_smoothing)

    def build(nn_module, wrap):
        return nn_module.CrossEntropyLoss(maybe(weight, wrap), **kwargs)

    return build, normal(shape, seed), target


@st.composite
def nll_loss_cases(draw):
    shape, reduction = draw(shapes()), draw(REDUCTIONS)
    weighted, seed = draw(st.booleans()), draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    target = rng.integers(0, shape[1], (shape[0], *shape[2:]))
    weight = class_weights(rng, shape[1], weighted)

    def build(nn_module, wrap):
        return nn_module.NLLLoss(maybe(weight, wrap), reduction=reduction)

    return build, normal(shape, seed), target


@st.composite
def mse_loss_cases(draw):
    shape, reduction, seed = draw(shapes()), draw(REDUCTIONS), draw(st.integers(0, 2**16))

    def build(nn_module, wrap):
        return nn_module.MSELoss(reduction=reduction)

    return build, normal(shape, seed), normal(shape, seed + 1)


@st.composite
def bce_with_logits_loss_cases(draw):
    shape, reduction = draw(shapes()), draw(REDUCTIONS)
    weighted, pos_weighted = draw(st.booleans()), draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    target = rng.uniform(0, 1, shape)
    # both broadcast along the last axis, as in PyTorch (one value per class for (N, C))
    weight = rng.uniform(0.2, 2.0, shape[-1]) if weighted else None
    pos_weight = rng.uniform(0.2, 2.0, shape[-1]) if pos_weighted else None

    def build(nn_module, wrap):
        return nn_module.BCEWithLogitsLoss(
            maybe(weight, wrap), reduction=reduction, pos_weight=maybe(pos_weight, wrap)
        )

    return build, normal(shape, seed), target


@FEW_LOSSES
@given(cross_entropy_cases())
def test_cross_entropy_loss(case):
    check_loss(*case)


@FEW_LOSSES
@given(cross_entropy_cases())
def test_cross_entropy_loss_matches_torch(torch, case):
    compare_loss(torch, *case)


@FEW_LOSSES
@given(nll_loss_cases())
def test_nll_loss(case):
    check_loss(*case)


@FEW_LOSSES
@given(nll_loss_cases())
def test_nll_loss_matches_torch(torch, case):
    compare_loss(torch, *case)


@FEW_LOSSES
@given(mse_loss_cases())
def test_mse_loss(case):
    check_loss(*case)


@FEW_LOSSES
@given(mse_loss_cases())
def test_mse_loss_matches_torch(torch, case):
    compare_loss(torch, *case)


@FEW_LOSSES
@given(bce_with_logits_loss_cases())
def test_bce_with_logits_loss(case):
    check_loss(*case)


@FEW_LOSSES
@given(bce_with_logits_loss_cases())
def test_bce_with_logits_loss_matches_torch(torch, case):
    compare_loss(torch, *case)


# --- a small model end to end ------------------------------------------------------------------------


def build_cnn(nn_module):
    return nn_module.Sequential(
        nn_module.Conv2d(1, 4, 3, padding=1),
        nn_module.BatchNorm2d(4),
        nn_module.ReLU(),
        nn_module.MaxPool2d(2),
        nn_module.Conv2d(4, 6, 3, stride=2, padding="valid" if nn_module is nn else 0),
        nn_module.Flatten(),
        nn_module.Linear(6, 3),
    )


def test_small_cnn_matches_torch_end_to_end(torch):
    ours, theirs = build_cnn(nn), build_cnn(torch.nn)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    assert_same_as_torch(torch, ours, theirs, normal((3, 1, 6, 6)), steps=2)


def test_small_cnn_gradcheck_in_train_mode():
    check_layer(build_cnn(nn), (2, 1, 6, 6))


def test_layers_keep_float32():
    model = build_cnn(nn)
    assert all(p.dtype == np.float32 for p in model.parameters())
    y = model(mc.randn(2, 1, 6, 6))
    assert y.dtype == np.float32
    y.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
