"""Gradient clipping (minicnn.nn.utils), nn.ModuleDict and minicnn.set_num_threads."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import nn
from minicnn.nn.utils import clip_grad_norm_, clip_grad_value_

FEW = settings(max_examples=20)
NORMS = [2.0, 1, math.inf, "inf", -math.inf, 3.0, 0.5, 0]


@st.composite
def grad_cases(draw):
    """Gradients of a few parameters (None: no gradient), shapes and scales varied."""
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    count = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from([(3,), (2, 3), (1,), (2, 1, 2)])) for _ in range(count)]
    grads = [
        None
        if draw(st.integers(0, 4)) == 0
        else rng.standard_normal(s) * draw(st.sampled_from([0.01, 1, 30]))
        for s in shapes
    ]
    return shapes, grads


def _parameters(lib, shapes, grads, dtype):
    params = []
    for shape, grad in zip(shapes, grads, strict=True):
        if lib is minicnn:
            p = nn.Parameter(minicnn.zeros(*shape, dtype=dtype))
            p.grad = None if grad is None else minicnn.tensor(grad.astype(dtype))
        else:
            p = lib.nn.Parameter(lib.zeros(*shape, dtype=getattr(lib, np.dtype(dtype).name)))
            p.grad = None if grad is None else lib.tensor(grad.astype(dtype))
        params.append(p)
    return params


@FEW
@given(
    grad_cases(),
    st.sampled_from(NORMS),
    st.sampled_from([0.0, 0.1, 1.0, 100.0]),
    st.sampled_from([np.float64, np.float32]),
)
def test_clip_grad_norm_matches_torch(torch, case, norm_type, max_norm, dtype):
    shapes, grads = case
    ours, theirs = _parameters(minicnn, *case, dtype), _parameters(torch, *case, dtype)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    close = dict(rtol=1e-12, atol=0) if dtype == np.float64 else dict(rtol=2e-6, atol=0)
    assert isinstance(total, minicnn.Tensor) and total.shape == ()
    assert total.dtype == total_t.numpy().dtype
    np.testing.assert_allclose(total.numpy(), total_t.numpy(), **close)
    for p, p_t in zip(ours, theirs, strict=True):
        assert (p.grad is None) == (p_t.grad is None)
        if p.grad is not None:
            assert p.grad.dtype == dtype
            np.testing.assert_allclose(p.grad.numpy(), p_t.grad.numpy(), **close)


def test_clip_grad_norm_by_hand():
    a, b = nn.Parameter(minicnn.zeros(2)), nn.Parameter(minicnn.zeros(1))
    a.grad, b.grad = minicnn.tensor([3.0, 0.0]), minicnn.tensor([4.0])
    total = clip_grad_norm_([a, b], max_norm=1.0)  # the norm of everything together: 5
    assert total.item() == pytest.approx(5.0)
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(a.grad.numpy(), [3 * scale, 0.0], rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), [4 * scale], rtol=1e-6)
    # below max_norm nothing changes (the factor is clamped to 1), a single tensor works
    before = a.grad.numpy().copy()
    clip_grad_norm_(a, max_norm=10.0)
    np.testing.assert_array_equal(a.grad.numpy(), before)
    # infinity norm: the largest magnitude
    a.grad = minicnn.tensor([-2.0, 1.0])
    assert clip_grad_norm_(a, 1.0, norm_type="inf").item() == pytest.approx(2.0)
    np.testing.assert_allclose(a.grad.numpy(), [-1.0, 0.5], rtol=1e-6)
    # nothing has a gradient: 0, as in PyTorch
    assert clip_grad_norm_([nn.Parameter(minicnn.zeros(2))], 1.0).item() == 0.0


def test_clip_grad_norm_stays_on_the_device(monkeypatch):
    """No host round trip: the norm is never turned into a Python number."""

    def no_host(self, *args):
        raise AssertionError("the norm was read on the host")

    for name in ("item", "__float__", "numpy", "tolist"):
        monkeypatch.setattr(minicnn.Tensor, name, no_host)
    p = nn.Parameter(minicnn.zeros(3))
    p.grad = minicnn.tensor([3.0, 4.0, 12.0])
    total = clip_grad_norm_([p], 1.0)
    assert total.device == p.device and total.dtype == p.dtype == p.grad.dtype
    monkeypatch.undo()
    assert total.item() == pytest.approx(13.0)
    np.testing.assert_allclose(p.grad.numpy(), np.array([3, 4, 12]) / (13 + 1e-6), rtol=1e-6)


def test_clip_grad_norm_nonfinite(torch):
    for bad in (np.nan, np.inf):
        grads = [np.array([1.0, bad]), np.array([2.0])]
        ours = _parameters(minicnn, [(2,), (1,)], grads, np.float64)
        with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0"):
            clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
        # without the flag the gradients are scaled by it anyway, as in PyTorch
        theirs = _parameters(torch, [(2,), (1,)], grads, np.float64)
        total = clip_grad_norm_(ours, 1.0)
        total_t = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
        np.testing.assert_array_equal(total.numpy(), total_t.numpy())
        for p, p_t in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(p.grad.numpy(), p_t.grad.numpy())


def test_clip_grad_value(torch):
    grads = [np.array([-3.0, 0.5, 2.0]), None, np.array([[0.1, -0.2]])]
    shapes = [(3,), (2,), (1, 2)]
    ours, theirs = (
        _parameters(minicnn, shapes, grads, np.float32),
        _parameters(torch, shapes, grads, np.float32),
    )
    assert clip_grad_value_(ours, 0.15) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.15)
    for p, p_t in zip(ours, theirs, strict=True):
        if p.grad is not None:
            assert p.grad.dtype == np.float32
            np.testing.assert_array_equal(p.grad.numpy(), p_t.grad.numpy())


def test_clipping_errors():
    p = nn.Parameter(minicnn.zeros(2))
    with pytest.raises(ValueError, match="clip_grad_norm_: max_norm must be a non-negative"):
        clip_grad_norm_(p, -1.0)
    with pytest.raises(ValueError, match="clip_grad_norm_: norm_type must be a number or 'inf'"):
        clip_grad_norm_(p, 1.0, norm_type="fro")
    with pytest.raises(ValueError, match="clip_grad_value_: clip_value must be a non-negative"):
        clip_grad_value_(p, None)


# --- ModuleDict ------------------------------------------------------------------------------


def _blocks(lib):
    lib.manual_seed(0)
    return OrderedDict(
        [("encoder", lib.nn.Linear(3, 4)), ("act", lib.nn.ReLU()), ("decoder", lib.nn.Linear(4, 2))]
    )


def test_module_dict_like_torch(torch):
    ours, theirs = nn.ModuleDict(_blocks(minicnn)), torch.nn.ModuleDict(_blocks(torch))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert list(ours) == list(theirs) == ["encoder", "act", "decoder"]


def test_module_dict_operations():
    blocks = _blocks(minicnn)
    d = nn.ModuleDict(blocks)
    assert len(d) == 3 and "act" in d and "relu" not in d and d["encoder"] is blocks["encoder"]
    assert list(d.keys()) == ["encoder", "act", "decoder"]
    assert list(d.values()) == list(blocks.values())
    assert list(d.items()) == list(blocks.items())
    assert d.encoder is blocks["encoder"]  # attribute access, as for any child
    # registered: their parameters are the container's, with the keys as prefixes
    assert [name for name, _ in d.named_parameters()] == [
        "encoder.weight",
        "encoder.bias",
        "decoder.weight",
        "decoder.bias",
    ]
    # replacing keeps the position; new keys go last
    head = nn.Linear(4, 5)
    d["decoder"] = head
    d["extra"] = nn.Identity()
    assert list(d) == ["encoder", "act", "decoder", "extra"] and d["decoder"] is head
    del d["act"]
    assert list(d) == ["encoder", "decoder", "extra"]
    assert d.pop("extra").__class__ is nn.Identity and "extra" not in d
    d.update([("a", nn.ReLU()), ("b", nn.Tanh())])  # pairs
    d.update({"c": nn.Sigmoid()})  # a dict, in its order
    d.update(nn.ModuleDict({"d": nn.Identity()}))
    assert list(d) == ["encoder", "decoder", "a", "b", "c", "d"]
    assert list(d.state_dict()) == [
        "encoder.weight",
        "encoder.bias",
        "decoder.weight",
        "decoder.bias",
    ]
    d.clear()
    assert len(d) == 0 and list(d.parameters()) == []


def test_module_dict_in_a_model_state_dict_round_trip():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleDict({"cls": nn.Linear(2, 3), "box": nn.Linear(2, 4)})

        def forward(self, x):
            return {name: head(x) for name, head in self.heads.items()}

    a, b = Net(), Net()
    assert list(a.state_dict()) == [
        "heads.cls.weight",
        "heads.cls.bias",
        "heads.box.weight",
        "heads.box.bias",
    ]
    b.load_state_dict(a.state_dict())
    x = minicnn.randn(5, 2)
    out_a, out_b = a(x), b(x)
    for key in ("cls", "box"):
        np.testing.assert_array_equal(out_a[key].numpy(), out_b[key].numpy())


def test_module_dict_errors():
    d = nn.ModuleDict()
    with pytest.raises(KeyError):
        d["missing"]
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        d["x"] = 3
    with pytest.raises(TypeError, match="module name should be a string"):
        d[1] = nn.ReLU()
    with pytest.raises(KeyError, match="attribute 'keys' already exists"):
        d["keys"] = nn.ReLU()
    with pytest.raises(TypeError, match="ModuleDict.update: expected a mapping or an iterable"):
        d.update(nn.ReLU())
    with pytest.raises(TypeError, match="element #0 must be a \\(key, module\\) pair, got int"):
        d.update([1])
    with pytest.raises(
        ValueError, match="element #1 must be a \\(key, module\\) pair, got 3 items"
    ):
        d.update([("a", nn.ReLU()), ("b", nn.ReLU(), 1)])


# --- threads ---------------------------------------------------------------------------------


def test_set_num_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = lambda: [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]  # noqa: E731
    if not blas():
        pytest.skip("no BLAS library found by threadpoolctl")
    before = minicnn.get_num_threads()
    try:
        minicnn.set_num_threads(1)
        assert [lib["num_threads"] for lib in blas()] == [1] * len(blas())
        assert minicnn.get_num_threads() == 1
    finally:
        minicnn.set_num_threads(before)
    assert minicnn.get_num_threads() == before


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2", None])
def test_set_num_threads_rejects(n):
    with pytest.raises(ValueError, match=f"set_num_threads: n must be a positive int, got {n!r}"):
        minicnn.set_num_threads(n)
