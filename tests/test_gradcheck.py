"""gradcheck is a product feature: it must catch wrong gradients and accept right ones."""

import warnings

import numpy as np
import pytest

import minicnn as mc
from minicnn.autograd import Function


class Square(Function):
    """y = x**2, with a backward that can be scaled by (1 + error) to simulate a bug."""

    def __init__(self, error=0.0):
        self.error = error

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return 2 * self.x * g * (1 + self.error)


def x64(shape=(3, 4), seed=0):
    data = np.random.default_rng(seed).uniform(0.5, 2.0, size=shape)
    return mc.tensor(data, requires_grad=True)


def test_accepts_the_right_gradient():
    assert mc.gradcheck(lambda t: Square()(t), [x64()])


def test_rejects_a_backward_off_by_one_percent():
    with pytest.raises(mc.GradcheckError) as info:
        mc.gradcheck(lambda t: Square(error=0.01)(t), [x64()])
    message = str(info.value)
    for piece in (
        "input 0",
        "at index (",
        "analytic gradient is",
        "numerical one is",
        "max abs error",
        "max rel error",
    ):
        assert piece in message


def test_returns_false_without_raising():
    assert mc.gradcheck(lambda t: Square(error=0.01)(t), [x64()], raise_exception=False) is False


def test_names_the_wrong_input_and_element():
    class MulWrongB(Function):
        def forward(self, a, b):
            self.a, self.b = a, b
            return a * b

        def backward(self, g):
            gb = g * self.a
            gb[1, 2] *= 1.5
            return g * self.b, gb

    with pytest.raises(mc.GradcheckError, match=r"input 1 \(shape \(3, 4\)\): at index \(1, 2\)"):
        mc.gradcheck(lambda a, b: MulWrongB()(a, b), [x64(seed=1), x64(seed=2)])


def test_checks_every_output_of_a_multi_output_function():
    x = x64((4,))
    assert mc.gradcheck(lambda t: (t * 2, t.exp()), [x])
    with pytest.raises(mc.GradcheckError):
        mc.gradcheck(lambda t: (t * 2, Square(error=0.05)(t)), [x])


def test_inputs_without_grad_are_left_alone():
    a, b = x64(seed=1), mc.tensor(np.ones((3, 4)))
    assert mc.gradcheck(lambda p, q: p * q, [a, b])
    with pytest.raises(ValueError, match="no input requires grad"):
        mc.gradcheck(lambda q: q * 2, [b])


def test_warns_on_float32_inputs():
    x = mc.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        mc.gradcheck(lambda t: t * 2, [x], eps=1e-2, atol=1e-2, rtol=1e-2)


def test_no_warning_for_float64():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mc.gradcheck(lambda t: t * 2, [x64()])


def test_perturbs_non_contiguous_inputs_correctly():
    data = np.random.default_rng(3).uniform(0.5, 2.0, size=(4, 3)).T  # a transposed view
    x = mc.tensor(data, requires_grad=True)
    assert mc.gradcheck(lambda t: Square()(t) @ mc.tensor(np.ones((4, 2))), [x])


class NanBackward(Function):
    def forward(self, x):
        return x * 2

    def backward(self, g):
        return g * float("nan")


def test_rejects_nan_gradients():
    with pytest.raises(mc.GradcheckError, match="analytic gradient is nan"):
        mc.gradcheck(lambda t: NanBackward()(t), [x64()])


def test_rejects_a_nan_forward():
    with pytest.raises(mc.GradcheckError, match="numerical one is nan"):
        mc.gradcheck(lambda t: t * float("nan"), [x64()])


def test_leaves_inputs_as_they_came():
    x = x64()
    data = x.data
    x.grad = mc.tensor(np.full((3, 4), 7.0))
    mc.gradcheck(lambda t: Square()(t), [x])
    assert x.data is data and np.all(x.grad.numpy() == 7.0)
