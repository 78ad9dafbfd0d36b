"""Tensor construction, conversion, operators with Python scalars and arrays, repr."""

import numpy as np
import pytest

import minicnn as mc


def test_construction_defaults_follow_pytorch():
    assert mc.tensor([1.0, 2.0]).dtype == np.float32
    assert mc.tensor(3.5).dtype == np.float32
    assert mc.tensor([1, 2]).dtype == np.int64
    assert mc.tensor(np.zeros(2)).dtype == np.float64  # arrays keep their dtype
    assert mc.tensor([1, 2], dtype=mc.float64).dtype == np.float64
    t = mc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert t.shape == (2, 2) and t.ndim == 2 and t.device == "cpu" and t.requires_grad
    assert t.is_leaf and t.grad is None and len(t) == 2 and t.numel() == 4


def test_int_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        mc.tensor([1, 2], requires_grad=True)


def test_numpy_item_tolist():
    t = mc.tensor([[1.5]])
    assert isinstance(t.numpy(), np.ndarray)
    assert t.item() == 1.5 and t.tolist() == [[1.5]]
    with pytest.raises(ValueError, match="one-element"):
        mc.tensor([1.0, 2.0]).item()


def test_python_scalars_and_arrays_on_either_side():
    t = mc.tensor([1.0, 2.0], requires_grad=True)
    a = np.array([10.0, 20.0], dtype=np.float32)
    for y in (t + 1, 1 + t, t * a, a * t, a - t, 1 / t, 2**t, a @ t, t @ a):
        assert isinstance(y, mc.Tensor) and y.requires_grad
    np.testing.assert_allclose((a - t).numpy(), [9.0, 18.0])
    np.testing.assert_allclose((2**t).numpy(), [2.0, 4.0])
    np.testing.assert_allclose((a @ t).numpy(), 50.0)


def test_scalar_keeps_float32():
    t = mc.tensor([1.0, 2.0])
    assert (t * 0.1).dtype == np.float32
    assert (0.1 - t).dtype == np.float32
    assert (t**0.5).dtype == np.float32


def test_comparisons_are_not_differentiable():
    t = mc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = t > 1.5
    assert mask.dtype == np.bool_ and not mask.requires_grad
    np.testing.assert_array_equal(mask.numpy(), [False, True, True])
    np.testing.assert_array_equal((t == 2.0).numpy(), [False, True, False])
    np.testing.assert_array_equal((t <= t).numpy(), [True, True, True])
    assert {t: 1}[t] == 1  # tensors stay usable as dict keys, hashed by identity


def test_to_dtype_is_differentiable():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert x.float() is x


def test_unknown_or_unavailable_device():
    with pytest.raises(ValueError, match="unknown device"):
        mc.tensor([1.0], device="tpu")
    if not mc.cuda_available():
        with pytest.raises(RuntimeError, match="CuPy"):
            mc.tensor([1.0], device="cuda")


def test_repr_is_readable():
    assert repr(mc.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(mc.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(mc.tensor([1, 2])) == "tensor([1, 2], dtype=int64)"
    y = mc.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<MulScalar>)"
    assert repr(mc.tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"


def test_factories_and_manual_seed():
    assert mc.zeros(2, 3).shape == (2, 3) and mc.ones((4,)).numpy().sum() == 4
    assert mc.full((2,), 7.0).numpy().tolist() == [7.0, 7.0]
    mc.manual_seed(123)
    a = mc.randn(5)
    mc.manual_seed(123)
    b = mc.randn(5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == np.float32 and mc.rand(3).numpy().min() >= 0
    assert mc.arange(4).numpy().tolist() == [0, 1, 2, 3]
    assert mc.zeros_like(a).shape == (5,) and mc.ones_like(a).numpy().sum() == 5


def test_matrix_transpose_property():
    t = mc.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(t.T.numpy(), np.arange(6.0).reshape(2, 3).T)


def test_mismatched_shapes_raise_numpy_error():
    with pytest.raises(ValueError):
        mc.tensor(np.ones((2, 3))) + mc.tensor(np.ones((4,)))


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda t32, i64, b: t32 * np.int64(2), np.float32),
        (lambda t32, i64, b: t32 ** np.int64(2), np.float32),
        (lambda t32, i64, b: t32 * np.array(2.0), np.float32),
        (lambda t32, i64, b: np.float64(2.0) * t32, np.float32),
        (lambda t32, i64, b: t32 + i64, np.float32),
        (lambda t32, i64, b: i64 - t32, np.float32),
        (lambda t32, i64, b: i64 * 0.5, np.float32),
        (lambda t32, i64, b: i64 / 2, np.float32),
        (lambda t32, i64, b: b + 1.0, np.float32),
        (lambda t32, i64, b: b + 1, np.int64),
        (lambda t32, i64, b: i64 + 1, np.int64),
        (lambda t32, i64, b: t32 > np.float64(0.5), np.bool_),
    ],
)
def test_dtype_promotion_follows_pytorch(make, expected):
    t32 = mc.tensor([1.0, 2.0])
    i64 = mc.tensor([1, 2])
    b = mc.tensor([True, False])
    assert make(t32, i64, b).dtype == expected


def test_int32_plus_python_int_stays_int32():
    assert (mc.tensor(np.array([1, 2], dtype=np.int32)) + 1).dtype == np.int32


def test_tensor_copies_its_data_like_torch_tensor():
    a = np.ones(3, dtype=np.float32)
    t = mc.tensor(a)
    t.data[0] = 5.0
    assert a[0] == 1.0
    u = mc.Tensor(t)
    u.data[1] = 5.0
    assert t.data[1] == 1.0


def test_flatten_checks_its_dimensions():
    t = mc.zeros(2, 3)
    assert t.flatten().shape == (6,) and t.flatten(1).shape == (2, 3)
    with pytest.raises(IndexError, match="out of range"):
        t.flatten(5)
    with pytest.raises(ValueError, match="comes after"):
        t.flatten(1, 0)


def test_conversions_to_python_and_numpy():
    t = mc.tensor([2.5])
    assert float(t) == 2.5 and int(t) == 2 and f"{t:.2f}" == "2.50"
    np.testing.assert_array_equal(np.asarray(mc.tensor([[1.0, 2.0]])), [[1.0, 2.0]])
    assert [10, 20, 30][mc.tensor(1)] == 20
    with pytest.raises(TypeError, match="integer tensors"):
        [1, 2][mc.tensor(1.0)]
    stacked = mc.tensor([mc.tensor(1.0), mc.tensor(2.0)])
    assert stacked.dtype == np.float32 and stacked.tolist() == [1.0, 2.0]


def test_arange_with_floats_is_float32():
    assert mc.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert mc.arange(3).dtype == np.int64


def test_rejects_non_numeric_data_and_integer_mean():
    with pytest.raises(TypeError, match="booleans or numbers"):
        mc.tensor(["a"])
    with pytest.raises(TypeError, match="floating-point"):
        mc.tensor([1, 2]).mean()
