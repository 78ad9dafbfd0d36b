"""The autograd engine: graph walking, accumulation, freeing, hooks, no_grad, custom Functions."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn.autograd import Function


class Cube(Function):
    """y = x**3;  dx = 3 x**2 g."""

    def forward(self, x):
        self.x = x
        return x**3

    def backward(self, g):
        return 3 * self.x**2 * g


class SplitHalves(Function):
    """Two outputs: the first and second half of a vector."""

    def forward(self, x):
        self.n = x.shape[0]
        return x[: self.n // 2].copy(), x[self.n // 2 :].copy()

    def backward(self, g_first, g_second):
        return np.concatenate([g_first, g_second])


def test_custom_function_forward_and_backward():
    x = mc.tensor([1.0, -2.0], requires_grad=True, dtype=mc.float64)
    y = Cube()(x)
    np.testing.assert_allclose(y.numpy(), [1.0, -8.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    assert mc.gradcheck(lambda t: Cube()(t), [x])


def test_function_with_two_outputs_gets_zero_gradient_for_unused_output():
    x = mc.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    first, _second = SplitHalves()(x)
    (first * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 0.0, 0.0])


def test_long_chain_does_not_recurse():
    x = mc.tensor([1.0], requires_grad=True, dtype=mc.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001**10_000], rtol=1e-9)


def test_gradient_accumulates_where_a_tensor_is_used_twice():
    x = mc.tensor([3.0], requires_grad=True)
    a = x * 2
    y = a * a + a  # dy/dx = (2a + 1) * 2 = 26 at x=3
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [26.0])


def test_diamond_graph_visits_shared_node_once_after_both_consumers():
    x = mc.tensor([2.0], requires_grad=True)
    h = x.exp()
    y = h * 3 + h.log()  # dy/dx = 3 e^x + 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 * np.exp(2.0) + 1], rtol=1e-6)


def test_leaf_gradients_accumulate_across_backward_calls():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


def test_graph_is_freed_unless_retained():
    x = mc.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0])
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_freeing_drops_saved_arrays():
    x = mc.tensor([1.0], requires_grad=True)
    y = x * x
    fn = y.grad_fn
    y.sum().backward()
    assert fn.inputs is None and not hasattr(fn, "a")


def test_no_grad_context_and_decorator():
    x = mc.tensor([1.0], requires_grad=True)
    with mc.no_grad():
        y = x * 2
        assert not mc.is_grad_enabled()
        with mc.enable_grad():
            assert (x * 2).requires_grad
    assert mc.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @mc.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert mc.is_grad_enabled()


def test_leaf_and_intermediate_hooks_see_and_can_replace_gradients():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    handle = x.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    np.testing.assert_array_equal(seen[0], [6.0, 12.0])  # dL/dh = 2h
    np.testing.assert_array_equal(x.grad.numpy(), [180.0, 360.0])  # 10 * 2h * 3
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_retain_grad_keeps_intermediate_gradient():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h**2).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [6.0, 12.0])
    y = x * 1
    y.sum().backward()
    assert y.grad is None  # not retained


def test_backward_argument_errors():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="one-element"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"grad of shape \(3,\)"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        mc.tensor([1.0]).backward()


def test_wrong_gradient_shape_from_a_function_is_reported():
    class Broken(Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return g.sum()

    x = mc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Broken.backward returned a gradient of shape \(\)"):
        Broken()(x).sum().backward()


def test_none_inputs_reach_forward_and_get_no_gradient():
    class AddOptional(Function):
        def forward(self, x, bias):
            return x if bias is None else x + bias

        def backward(self, g):
            return g, None if self.needs_input_grad[1] is False else g

    x = mc.tensor([1.0], requires_grad=True)
    AddOptional()(x, None).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0])


def test_gradient_only_flows_to_inputs_that_require_it():
    a = mc.tensor([1.0], requires_grad=True)
    b = mc.tensor([2.0])
    (a * b).sum().backward()
    assert b.grad is None
    np.testing.assert_array_equal(a.grad.numpy(), [2.0])


def test_detach_cuts_the_graph():
    x = mc.tensor([1.0], requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.grad_fn is None


@pytest.mark.parametrize(
    "expression",
    [
        lambda a: a + a * a,  # the direct use of a comes first
        lambda a: a * a + a,
        lambda a: a + mc.tanh(a),  # a residual connection h + f(h)
        lambda a: mc.tanh(a) + a,
        lambda a: a / a.sum(),
        lambda a: (a + a.exp()) * (a.exp() + a * 2),
    ],
)
def test_shared_intermediate_gets_every_consumers_gradient(expression):
    x = mc.tensor(np.array([0.3, -0.7, 1.1]), requires_grad=True)
    assert mc.gradcheck(lambda t: expression(t * 2), [x])


def test_residual_gradient_is_exact():
    x = mc.tensor([3.0], requires_grad=True)
    a = x * 2
    (a + a * a).sum().backward()  # d/dx (2x + 4x^2) = 2 + 8x = 26
    np.testing.assert_allclose(x.grad.numpy(), [26.0])


@given(data=st.data())
def test_random_graphs_with_shared_nodes_pass_gradcheck(data):
    """Random DAGs: each new node combines two earlier nodes, so nodes are reused freely."""
    n_nodes = data.draw(st.integers(2, 8))
    recipe = [
        (
            data.draw(st.sampled_from(["add", "mul", "sub", "tanh_add"])),
            data.draw(st.integers(0, i)),
            data.draw(st.integers(0, i)),
        )
        for i in range(n_nodes)
    ]

    def build(x):
        nodes = [x]
        for op, i, j in recipe:
            a, b = nodes[i], nodes[j]
            nodes.append(
                {"add": a + b, "mul": a * b * 0.5, "sub": a - b}.get(op)
                if op != "tanh_add"
                else mc.tanh(a) + b
            )
        return sum(nodes[1:], nodes[-1] * 0)

    x = mc.tensor(np.linspace(-0.9, 0.8, 4), requires_grad=True)
    assert mc.gradcheck(build, [x])


def test_retained_gradient_is_the_one_after_hooks():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    h.retain_grad()
    h.register_hook(lambda g: g * 10)
    h.sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [10.0, 10.0])  # as in PyTorch


def test_leaf_gradients_never_share_an_array():
    a = mc.tensor([1.0, 2.0], requires_grad=True)
    b = mc.tensor([3.0, 4.0], requires_grad=True)
    upstream = np.ones(2, dtype=np.float32)
    (a + b).backward(upstream)
    a.grad.data[0] = 100.0
    assert b.grad.data[0] == 1.0 and upstream[0] == 1.0


def test_functions_without_incoming_gradient_are_freed_too():
    class FirstOnly(Function):
        """y = a + b, declared differentiable in a only."""

        def forward(self, a, b):
            return a + b

        def backward(self, g):
            return g, None

    x = mc.tensor([1.0], requires_grad=True)
    y = x * 2
    dead = y.grad_fn  # reachable from the loss, but no gradient flows into it
    FirstOnly()(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0])
    assert dead.inputs is None


def test_one_no_grad_instance_can_be_nested():
    guard = mc.no_grad()
    with guard:
        with guard:
            assert not mc.is_grad_enabled()
        assert not mc.is_grad_enabled()
    assert mc.is_grad_enabled()
