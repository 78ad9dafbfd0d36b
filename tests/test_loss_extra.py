"""Losses, continued: ignore_index, binary cross-entropy on probabilities, label checks, the
loss layers' settings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import nn
from minicnn.functional import binary_cross_entropy, cross_entropy, mse_loss, nll_loss

FEW = settings(max_examples=15)
reductions = st.sampled_from(["mean", "sum", "none"])


@st.composite
def ignore_cases(draw):
    """Logits (N, C) or (N, C, H, W), integer targets with some set to ``ignore_index``
    (negative, or a real class, or beyond the classes), optional class weights."""
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    spatial = draw(st.sampled_from([(), (2, 3), (1, 1)]))
    ignore_index = draw(st.sampled_from([-100, -1, 0, c - 1, 255]))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    x = rng.standard_normal((n, c, *spatial)) * 2
    target = rng.integers(0, c, (n, *spatial))
    ignored = rng.uniform(size=target.shape) < draw(st.sampled_from([0.0, 0.3, 1.0]))
    target[ignored] = ignore_index
    weight = rng.uniform(0.2, 2.0, c) if draw(st.booleans()) else None
    return x, target, weight, ignore_index


def _compare(torch, ours_fn, torch_fn, arrays, grads, close=None):
    """Values and gradients (of the arrays flagged in ``grads``) of ours vs PyTorch."""
    ours = [
        None if a is None else minicnn.tensor(a, requires_grad=r)
        for a, r in zip(arrays, grads, strict=True)
    ]
    theirs = [
        None if a is None else torch.tensor(a, requires_grad=r)
        for a, r in zip(arrays, grads, strict=True)
    ]
    y, y_t = ours_fn(*ours), torch_fn(*theirs)
    assert y.shape == tuple(y_t.shape) and y.dtype == y_t.detach().numpy().dtype
    close = close or dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), **close)
    g = np.random.default_rng(0).standard_normal(y.shape).astype(y.dtype)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    for a, a_t, r in zip(ours, theirs, grads, strict=True):
        if r:
            np.testing.assert_allclose(a.grad.numpy(), a_t.grad.numpy(), **close)


# --- ignore_index ----------------------------------------------------------------------------


@FEW
@given(ignore_cases(), reductions, st.sampled_from([0.0, 0.1, 0.5]))
def test_cross_entropy_ignore_index_matches_torch(torch, case, reduction, smoothing):
    x, target, weight, ignore = case
    _compare(
        torch,
        lambda a, w: cross_entropy(a, target, w, reduction, smoothing, ignore_index=ignore),
        lambda a, w: torch.nn.functional.cross_entropy(
            a,
            torch.from_numpy(target),
            w,
            reduction=reduction,
            label_smoothing=smoothing,
            ignore_index=ignore,
        ),
        [x, weight],
        [True, False],
    )


@FEW
@given(ignore_cases(), reductions)
def test_nll_loss_ignore_index_matches_torch(torch, case, reduction):
    x, target, weight, ignore = case
    _compare(
        torch,
        lambda a, w: nll_loss(a, target, w, reduction, ignore_index=ignore),
        lambda a, w: torch.nn.functional.nll_loss(
            a, torch.from_numpy(target), w, reduction=reduction, ignore_index=ignore
        ),
        [x, weight],
        [True, False],
    )


@FEW
@given(ignore_cases(), reductions, st.sampled_from([0.0, 0.2]))
def test_ignore_index_gradcheck(case, reduction, smoothing):
    x, target, weight, ignore = case
    if reduction == "mean" and (target == ignore).all():
        target.flat[0] = x.shape[1] - 1 if ignore == 0 else 0  # the mean of nothing is nan
        if target.flat[0] == ignore:
            return  # the only class is ignored
    logits = minicnn.tensor(x, requires_grad=True)
    assert minicnn.gradcheck(
        lambda t: cross_entropy(t, target, weight, reduction, smoothing, ignore_index=ignore),
        [logits],
    )
    assert minicnn.gradcheck(
        lambda t: nll_loss(t, target, weight, reduction, ignore_index=ignore), [logits]
    )


def test_ignore_index_by_hand():
    # per-pixel logits (N, C, H, W) with an (N, H, W) mask: the U-Net case
    x = np.log(np.array([[[[1.0, 1.0]], [[1.0, 3.0]]]]))  # (1, 2, 1, 2): p = (.5, .5), (.25, .75)
    target = np.array([[[1, 255]]])
    weight = np.array([1.0, 4.0])
    loss = cross_entropy(x, target, weight, ignore_index=255)
    # the divisor is the weight of the one counted target, class 1
    assert loss.item() == pytest.approx(4 * math.log(2) / 4, rel=1e-14)
    none = cross_entropy(x, target, weight, reduction="none", ignore_index=255).numpy()
    np.testing.assert_allclose(none, [[[4 * math.log(2), 0.0]]], rtol=1e-14)
    # every target ignored: nan for the mean (0 / 0, quietly), 0 for the sum, zero gradients
    t = minicnn.tensor(x, requires_grad=True)
    mean = cross_entropy(t, np.full((1, 1, 2), 255), ignore_index=255, label_smoothing=0.1)
    assert math.isnan(mean.item())
    mean.backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros_like(x))
    assert nll_loss(x, np.full((1, 1, 2), -100), reduction="sum").item() == 0.0


def test_all_ignored_and_zero_weights_match_torch(torch):
    x = np.random.default_rng(1).standard_normal((2, 3))
    for target, weight in [
        (np.array([-100, -100]), None),
        (np.array([-100, -100]), np.array([1.0, 2.0, 3.0])),
        (np.array([0, 1]), np.zeros(3)),  # nothing weighs: nan gradients, as in PyTorch
    ]:
        for smoothing in (0.0, 0.2):
            _compare(
                torch,
                lambda a, w, t=target, s=smoothing: cross_entropy(a, t, w, label_smoothing=s),
                lambda a, w, t=target, s=smoothing: torch.nn.functional.cross_entropy(
                    a, torch.from_numpy(t), w, label_smoothing=s
                ),
                [x, weight],
                [True, False],
            )
        _compare(
            torch,
            lambda a, w, t=target: nll_loss(a, t, w),
            lambda a, w, t=target: torch.nn.functional.nll_loss(a, torch.from_numpy(t), w),
            [x, weight],
            [True, False],
        )


def test_ignore_index_with_probability_targets():
    x = np.zeros((2, 3))
    p = np.full((2, 3), 1 / 3)
    # a negative ignore_index is accepted and means nothing there, as in PyTorch
    assert cross_entropy(x, p, ignore_index=-1).item() == pytest.approx(math.log(3))
    with pytest.raises(
        ValueError, match="cross_entropy: ignore_index is not supported for class probabilities"
    ):
        cross_entropy(x, p, ignore_index=0)


@FEW
@given(ignore_cases(), reductions, st.sampled_from([0.0, 0.3]))
def test_loss_layers_ignore_index_match_torch(torch, case, reduction, smoothing):
    x, target, weight, ignore = case
    for build in (
        lambda lib, w: lib.CrossEntropyLoss(
            w, reduction=reduction, label_smoothing=smoothing, ignore_index=ignore
        ),
        lambda lib, w: lib.NLLLoss(w, reduction=reduction, ignore_index=ignore),
    ):
        ours = build(nn, None if weight is None else minicnn.tensor(weight))
        theirs = build(torch.nn, None if weight is None else torch.from_numpy(weight))
        assert list(ours.state_dict()) == list(theirs.state_dict())
        _compare(
            torch,
            lambda a, o=ours: o(a, minicnn.tensor(target)),
            lambda a, t=theirs: t(a, torch.from_numpy(target)),
            [x],
            [True],
        )


# --- labels ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.uint32, np.int64])
def test_any_integer_label_dtype(dtype):
    x = np.random.default_rng(0).standard_normal((4, 3, 2))
    target = np.array([[0, 1], [2, 2], [1, 0], [2, 1]])
    expected = cross_entropy(x, target, reduction="none").numpy()
    got = cross_entropy(x, target.astype(dtype), reduction="none").numpy()
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        nll_loss(x, target.astype(dtype)).numpy(), nll_loss(x, target).numpy()
    )
    # an ignore_index that the dtype cannot hold ignores nothing, and breaks nothing
    assert cross_entropy(x, target.astype(dtype), ignore_index=-100).item() == pytest.approx(
        expected.mean(), rel=1e-14
    )


@pytest.mark.parametrize(
    "target, got",
    [
        ([0, 3], "from 0 to 3"),
        ([-1, 2], "from -1 to 2"),
        ([-100, 5], "from 5 to 5"),  # the ignored label is not reported
        ([255, 0], "from 0 to 255"),
    ],
)
def test_out_of_range_labels(target, got):
    for fn in (cross_entropy, nll_loss):
        with pytest.raises(IndexError, match=f"target class out of range: .* got values {got}"):
            fn(np.zeros((2, 3)), np.array(target))
    with pytest.raises(IndexError, match=f"got values {got}"):
        nll_loss(np.zeros((2, 3)), np.array(target, np.int16))


def test_in_range_edges_pass():
    x = np.zeros((3, 3))
    for target in ([0, 1, 2], [2, 2, 2], [0, 0, 0]):
        cross_entropy(x, np.array(target))
        cross_entropy(x, np.array(target, np.uint8))
    cross_entropy(x, np.array([0, 7, 2]), ignore_index=7)
    cross_entropy(np.zeros((0, 3)), np.zeros(0, np.int64), reduction="sum")


def test_labels_are_not_read_off_the_cpu(monkeypatch):
    """On a GPU the values are not checked (no device-to-host copy per loss)."""
    import minicnn.functional.loss as loss_module

    monkeypatch.setattr(loss_module, "values_checkable", lambda t: False)
    # an out-of-range label goes through unchecked: here its row simply has no target class
    loss = cross_entropy(np.zeros((2, 3)), np.array([0, 3]), reduction="none").numpy()
    np.testing.assert_allclose(loss, [math.log(3), 0.0], rtol=1e-14)
    # and probabilities outside [0, 1] are not caught either
    binary_cross_entropy(np.array([0.5, 1.5]), np.array([1.0, 1.0]))
    with pytest.raises(TypeError, match="integer class indices"):  # the dtype is still checked
        cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))


# --- binary cross-entropy on probabilities ----------------------------------------------------


@st.composite
def bce_cases(draw, interior=False):
    shape = draw(st.sampled_from([(3,), (2, 3), (2, 3, 2, 2)]))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    low = 0.05 if interior else 0.0
    x = rng.uniform(low, 1 - low, shape)
    if not interior and draw(st.booleans()):  # saturated: exact 0s and 1s
        x.flat[::3] = rng.integers(0, 2, x.flat[::3].shape)
    y = rng.uniform(low, 1 - low, shape)  # finite differences must stay inside [0, 1]
    if not interior and draw(st.booleans()):
        y = np.round(y)
    weight = rng.uniform(0.5, 2, shape[-1:]) if draw(st.booleans()) else None
    return x, y, weight


@FEW
@given(bce_cases(), reductions)
def test_binary_cross_entropy_matches_torch(torch, case, reduction):
    x, y, weight = case
    _compare(
        torch,
        lambda a, b, w: binary_cross_entropy(a, b, w, reduction),
        lambda a, b, w: torch.nn.functional.binary_cross_entropy(a, b, w, reduction=reduction),
        [x, y, weight],
        [True, True, False],
    )


@FEW
@given(bce_cases(interior=True), reductions)
def test_binary_cross_entropy_gradcheck(case, reduction):
    x, y, weight = case
    inputs = [minicnn.tensor(x, requires_grad=True), minicnn.tensor(y, requires_grad=True)]
    assert minicnn.gradcheck(lambda a, b: binary_cross_entropy(a, b, weight, reduction), inputs)


@FEW
@given(bce_cases(), reductions)
def test_bce_loss_layer_matches_torch(torch, case, reduction):
    x, y, weight = case
    ours = nn.BCELoss(None if weight is None else minicnn.tensor(weight), reduction=reduction)
    theirs = torch.nn.BCELoss(
        None if weight is None else torch.from_numpy(weight), reduction=reduction
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _compare(
        torch,
        lambda a: ours(a, minicnn.tensor(y)),
        lambda a: theirs(a, torch.from_numpy(y)),
        [x],
        [True],
    )


def test_binary_cross_entropy_by_hand():
    x = np.array([0.0, 0.5, 1.0, 0.25])
    y = np.array([0.3, 0.5, 0.2, 1.0])
    loss = binary_cross_entropy(x, y, reduction="none").numpy()
    # log 0 is clamped at -100: 0.3 * 100 and 0.8 * 100
    np.testing.assert_allclose(loss, [30.0, math.log(2), 80.0, math.log(4)], rtol=1e-14)
    t = minicnn.tensor(np.array([0.25, 0.5]), requires_grad=True)
    binary_cross_entropy(t, np.array([1.0, 0.0]), reduction="sum").backward()
    np.testing.assert_allclose(t.grad.numpy(), [-4.0, 2.0], rtol=1e-14)  # (x - y) / (x (1 - x))


def test_binary_cross_entropy_errors():
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy: expected input values in \[0, 1\], got values from "
        r"-0.1 to 0.5",
    ):
        binary_cross_entropy(np.array([-0.1, 0.5]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"expected input values in \[0, 1\], got .*nan"):
        binary_cross_entropy(np.array([np.nan, 0.5]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"expected target values in \[0, 1\], got .* to 1.5"):
        binary_cross_entropy(np.array([0.2, 0.5]), np.array([0.0, 1.5]))
    with pytest.raises(ValueError, match=r"expected target of the input's shape \(2, 1\)"):
        binary_cross_entropy(np.full((2, 1), 0.5), np.zeros(2))
    with pytest.raises(ValueError, match=r"weight of shape \(3,\) does not broadcast"):
        binary_cross_entropy(np.full((2, 2), 0.5), np.zeros((2, 2)), weight=np.ones(3))
    with pytest.raises(ValueError, match="binary_cross_entropy: reduction must be one of"):
        binary_cross_entropy(np.full(2, 0.5), np.zeros(2), reduction="avg")
    with pytest.raises(TypeError, match="binary_cross_entropy: expected a floating-point input"):
        binary_cross_entropy(np.array([0, 1]), np.zeros(2))


# --- dtypes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_float32_stays_float32(reduction):
    rng = np.random.default_rng(0)
    x32 = rng.uniform(0.1, 0.9, (2, 3, 2, 2)).astype(np.float32)
    target = rng.integers(0, 3, (2, 2, 2))
    target[0, 0, 0] = -100
    w32 = np.ones(3, np.float32)
    losses = [
        lambda t: cross_entropy(t, target, w32, reduction, 0.1, ignore_index=-100),
        lambda t: nll_loss(t, target, None, reduction, ignore_index=-100),
        lambda t: binary_cross_entropy(t, np.ones_like(x32), w32[:2], reduction),
        # a float64 target follows the input's dtype
        lambda t: binary_cross_entropy(t, np.ones(x32.shape), None, reduction),
        lambda t: mse_loss(t, np.zeros(x32.shape), reduction),
    ]
    for fn in losses:
        t = minicnn.tensor(x32, requires_grad=True)
        loss = fn(t)
        assert loss.dtype == np.float32
        loss.backward(np.ones(loss.shape, np.float32))
        assert t.grad.dtype == np.float32


def test_target_of_another_dtype_gets_its_own_gradient():
    x = minicnn.tensor(np.array([0.2, 0.7], np.float32), requires_grad=True)
    y = minicnn.tensor(np.array([0.0, 1.0]), requires_grad=True)  # float64
    mse_loss(x, y, reduction="sum").backward()
    assert y.grad.dtype == np.float64
    np.testing.assert_allclose(y.grad.numpy(), [-0.4, 0.6], rtol=1e-6)


# --- layers' settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: nn.NLLLoss(reduction="avg"), ValueError, "NLLLoss: reduction must be one of"),
        (lambda: nn.BCELoss(reduction=None), ValueError, "BCELoss: reduction must be one of"),
        (lambda: nn.MSELoss(reduction="mean "), ValueError, "MSELoss: reduction must be one of"),
        (
            lambda: nn.CrossEntropyLoss(label_smoothing=-0.1),
            ValueError,
            r"CrossEntropyLoss: label_smoothing must be a probability in \[0, 1\], got -0.1",
        ),
        (
            lambda: nn.CrossEntropyLoss(ignore_index=1.5),
            TypeError,
            "CrossEntropyLoss: ignore_index must be an int, got 1.5",
        ),
        (
            lambda: nn.NLLLoss(weight=np.ones((2, 2))),
            ValueError,
            r"NLLLoss: weight must be a 1-D tensor of class weights, got shape \(2, 2\)",
        ),
    ],
)
def test_layer_settings_fail_at_construction(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_layer_names_itself_in_call_errors():
    loss = nn.CrossEntropyLoss(ignore_index=5)
    with pytest.raises(IndexError, match="ignore_index=5"):
        loss(np.zeros((2, 3)), np.array([0, 4]))
    with pytest.raises(TypeError, match=r"^CrossEntropyLoss\(\): cross_entropy: expected target"):
        loss(np.zeros((2, 3)), np.array([0.0, 1.0]))
