"""The engine refuses to be silently wrong: a context per Function call, grad mode per thread,
in-place changes of saved tensors caught in backward, and PyTorch's tensor idioms."""

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minicnn as mc
from minicnn import nn


def leaf(values, dtype=mc.float64):
    return mc.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


class Square(mc.Function):
    """y = x**2;  dx = 2 x g"""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return 2 * self.x * g


# --- one context per call --------------------------------------------------------------------


def test_one_function_instance_called_twice_keeps_each_calls_values():
    square = Square()
    a, b = leaf([1.0, 2.0]), leaf([3.0, 5.0])
    (square(a) + square(b)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(b.grad.numpy(), [6.0, 10.0])


def test_each_call_is_its_own_graph_node_and_the_instance_keeps_only_options():
    square = Square()
    a = leaf([1.0])
    y1, y2 = square(a), square(a)
    assert y1.grad_fn is not y2.grad_fn
    assert y1.grad_fn is not square and not hasattr(square, "x")
    assert mc.gradcheck(lambda t: square(t) * square(t + 1), [leaf([0.5, -1.5])])


def test_a_backward_returning_too_few_gradients_says_how_many_it_got():
    class Pair(mc.Function):
        def forward(self, x, y):
            return x + y

        def backward(self, g):
            return g  # one gradient for two inputs

    with pytest.raises(RuntimeError, match="Pair.backward returned 1 gradient for 2 inputs"):
        Pair()(leaf([1.0]), leaf([2.0])).backward()


def test_a_backward_may_return_a_list():
    class Pair(mc.Function):
        def forward(self, x, y):
            return x * y

        def backward(self, g):
            return [g, 2 * g]

    a, b = leaf([1.0]), leaf([2.0])
    Pair()(a, b).backward()
    assert a.grad.item() == 1.0 and b.grad.item() == 2.0


# --- grad mode per thread ------------------------------------------------------------------


def test_no_grad_in_one_thread_leaves_grad_mode_on_in_another():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def evaluate():
        with mc.no_grad():
            inside.set()
            done.wait(5)  # stay in no_grad while the other thread builds its graph
            seen["evaluator"] = mc.is_grad_enabled()

    thread = threading.Thread(target=evaluate)
    thread.start()
    assert inside.wait(5)
    x = leaf([1.0, 2.0])
    y = (x * 3).sum()
    seen["trainer"] = mc.is_grad_enabled()
    done.set()
    thread.join()
    assert seen == {"evaluator": False, "trainer": True}
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_a_new_thread_starts_with_grad_mode_on():
    seen = []
    with mc.no_grad():
        thread = threading.Thread(target=lambda: seen.append(mc.is_grad_enabled()))
        thread.start()
        thread.join()
        assert not mc.is_grad_enabled()
    assert seen == [True]


# --- version counter: in-place changes of saved tensors -----------------------------------


def test_optimizer_step_between_forward_and_backward_raises_naming_the_op():
    mc.manual_seed(0)
    layer = nn.Linear(3, 2)
    optimizer = mc.optim.SGD(layer.parameters(), lr=0.1)
    loss = layer(mc.randn(4, 3)).sum()
    loss.backward(retain_graph=True)
    saved = layer.weight._version
    optimizer.step()
    assert layer.weight._version == saved + 1
    with pytest.raises(
        RuntimeError,
        match=rf"Linear backward: .*its input 1 of shape \(2, 3\) and dtype float32, was "
        rf"modified by an in-place operation \(it is at version {saved + 1}, saved at "
        rf"version {saved}\)",
    ):
        loss.backward()


def test_setitem_on_a_saved_input_raises_in_backward():
    w = leaf([1.0, 2.0])
    x = mc.tensor([3.0, 4.0], dtype=mc.float64)
    y = (w * x).sum()
    x[0] = 10.0
    assert x._version == 1
    with pytest.raises(RuntimeError, match="Mul backward: .*its input 1 of shape"):
        y.backward()


def test_changing_a_saved_output_in_place_raises():
    x = leaf([0.0, 1.0])
    y = x.exp()  # exp's backward uses its output
    z = y.detach()  # shares y's memory and its version counter
    z.mul_(2)
    with pytest.raises(RuntimeError, match="Exp backward: .*its output 0"):
        y.sum().backward()


def test_an_in_place_change_that_no_backward_needs_is_allowed():
    x = leaf([1.0, 2.0])
    c = mc.tensor([5.0, 6.0], dtype=mc.float64)
    y = (x + c).sum()  # addition saves no values
    c.zero_()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_in_place_change_of_a_tensor_that_requires_grad_needs_no_grad():
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="add_: a leaf tensor that requires grad cannot"):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="__setitem__: a tensor computed from one"):
        (w * 2)[0] = 1.0
    with mc.no_grad():
        w.add_(1.0).mul_(2.0).sub_(mc.tensor([1.0, 1.0], dtype=mc.float64), alpha=2)
    np.testing.assert_array_equal(w.numpy(), [2.0, 4.0])
    assert w._version == 3


def test_in_place_methods_match_numpy():
    t = mc.tensor([1.0, -2.0, 3.0])
    t.fill_(2.0).div_(4.0).clamp_(0.0, 0.4)
    np.testing.assert_array_equal(t.numpy(), np.float32([0.4, 0.4, 0.4]))
    t.copy_(mc.tensor([1.0, 2.0, 3.0]))
    t[1:] = mc.tensor([5.0, 6.0])
    np.testing.assert_array_equal(t.numpy(), [1.0, 5.0, 6.0])
    assert t._version == 5 and t.dtype == mc.float32


def test_load_state_dict_and_init_bump_versions():
    layer = nn.Linear(2, 2)
    before = layer.weight._version
    layer.load_state_dict(nn.Linear(2, 2).state_dict())
    nn.init.zeros_(layer.bias)
    assert layer.weight._version > before and layer.bias._version >= 2


# --- max/min, amax/amin, argmax/argmin ------------------------------------------------------


def test_max_with_dim_returns_values_and_indices():
    x = mc.tensor([[1.0, 5.0, 5.0], [7.0, 2.0, 0.0]])
    values, indices = x.max(1)
    np.testing.assert_array_equal(values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    assert indices.dtype == mc.int64
    result = x.min(dim=0, keepdim=True)
    assert result.values.shape == (1, 3) and result.indices.shape == (1, 3)
    assert x.max().item() == 7.0  # without dim: one value, as in PyTorch
    with pytest.raises(
        TypeError, match=r"max: dim must be an int, got \(0, 1\); for several dims use amax"
    ):
        x.max((0, 1))


def test_max_gradient_goes_to_the_index_and_amax_shares_ties():
    x = leaf([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    x.max(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])
    x = leaf([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    x.amax(1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0.5, 0.5], [0.5, 0, 0.5]])


@given(
    shape=array_shapes(min_dims=1, max_dims=3, max_side=4),
    dim=st.integers(-3, 2),
    keepdim=st.booleans(),
    name=st.sampled_from(["max", "min"]),
)
def test_max_min_along_dim_match_torch_and_gradcheck(torch, shape, dim, keepdim, name):
    if not -len(shape) <= dim < len(shape):
        return
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 3, size=shape).astype(np.float64)  # ties on purpose
    ours = getattr(leaf(x), name)(dim, keepdim)
    theirs = getattr(torch.tensor(x, requires_grad=True), name)(dim, keepdim)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.detach().numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    for arg in ("argmax", "argmin"):
        np.testing.assert_array_equal(
            getattr(mc.tensor(x), arg)(dim, keepdim).numpy(),
            getattr(torch.tensor(x), arg)(dim, keepdim).numpy(),
        )
    t, tt = leaf(x), torch.tensor(x, requires_grad=True)
    upstream = rng.normal(size=ours.values.shape)
    getattr(t, name)(dim, keepdim).values.backward(upstream)
    getattr(tt, name)(dim, keepdim).values.backward(torch.from_numpy(upstream))
    np.testing.assert_array_equal(t.grad.numpy(), tt.grad.numpy())
    smooth = rng.permutation(np.arange(np.prod(shape), dtype=np.float64)).reshape(shape)
    assert mc.gradcheck(lambda u: getattr(u, name)(dim, keepdim).values, [leaf(smooth)])


def test_argmax_without_dim_indexes_the_flattened_tensor():
    x = mc.tensor([[1.0, 9.0], [9.5, 0.0]])
    assert x.argmax().item() == 2 and x.argmin().item() == 3
    assert x.argmax(dim=-1, keepdim=True).shape == (2, 1)


# --- shape idioms ------------------------------------------------------------------------


def test_view_unsqueeze_squeeze_size_clone_cat():
    x = leaf(np.arange(6.0).reshape(2, 3))
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.unsqueeze(0).shape == (1, 2, 3) and x.unsqueeze(-1).shape == (2, 3, 1)
    assert x.unsqueeze(1).squeeze().shape == (2, 3)
    assert mc.zeros(1, 2, 1).squeeze(0).shape == (2, 1)
    assert mc.zeros(1, 2, 1).squeeze((0, 2)).shape == (2,)
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3 and x.dim() == 2
    c = x.clone()
    assert c.data is not x.data and not np.shares_memory(c.data, x.data)
    (c * mc.cat([x, x], dim=0)[:2]).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * np.arange(6.0).reshape(2, 3))
    with pytest.raises(IndexError, match="unsqueeze: dimension 3 is out of range for 2 dims"):
        x.unsqueeze(3)


def test_view_of_a_transposed_tensor_is_an_error_as_in_pytorch():
    x = mc.tensor(np.arange(6.0).reshape(2, 3))
    assert np.shares_memory(x.view(3, 2).data, x.data)
    with pytest.raises(
        RuntimeError, match=r"view: shape \(6,\) is not compatible .* use \.reshape"
    ):
        x.T.view(6)
    assert x.T.reshape(6).shape == (6,)


@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=3), dim=st.integers(-4, 3))
def test_shape_idioms_match_torch(torch, shape, dim):
    x = np.random.default_rng(1).normal(size=shape)
    t, tt = leaf(x), torch.tensor(x, requires_grad=True)
    if -len(shape) - 1 <= dim <= len(shape):
        assert t.unsqueeze(dim).shape == tuple(tt.unsqueeze(dim).shape)
    if -len(shape) <= dim < len(shape):
        assert t.squeeze(dim).shape == tuple(tt.squeeze(dim).shape)
        assert t.size(dim) == tt.size(dim)
    assert t.squeeze().shape == tuple(tt.squeeze().shape)
    assert mc.gradcheck(lambda u: u.clone().view(-1) * 2, [t])


# --- numbers in arithmetic -----------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, op",
    [
        (lambda t: t + 2, "AddScalar"),
        (lambda t: 2 + t, "AddScalar"),
        (lambda t: t - 2, "AddScalar"),
        (lambda t: 2 - t, "RSubScalar"),
        (lambda t: t * 2, "MulScalar"),
        (lambda t: 2 * t, "MulScalar"),
        (lambda t: t / 2, "DivScalar"),
        (lambda t: 2 / t, "RDivScalar"),
        (lambda t: t**3, "PowScalar"),
        (lambda t: 2**t, "RPowScalar"),
        (lambda t: t * np.float64(2), "MulScalar"),
    ],
)
def test_a_number_in_arithmetic_is_no_tensor(torch, fn, op):
    x = np.array([0.5, 1.5, 2.5])
    t = leaf(x.astype(np.float32), dtype=mc.float32)
    y = fn(t)
    assert type(y.grad_fn).__name__ == op and y.dtype == mc.float32
    assert mc.gradcheck(fn, [leaf(x)])
    tt = torch.tensor(x, requires_grad=True)
    y, ty = fn(leaf(x)), fn(tt)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
