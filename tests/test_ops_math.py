"""Gradient checks (float64, finite differences) and PyTorch comparisons for the math ops."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minicnn as mc

SHAPES = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
PAIRS = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3)


def values(shape, low=-2.0, high=2.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def leaf(array):
    return mc.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def assert_matches_torch(torch, fn, torch_fn, *arrays):
    """Forward values and gradients (for a random upstream gradient) equal PyTorch's."""
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    y, ty = fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = values(y.shape, seed=1)
    y.backward(upstream)
    ty.backward(torch.from_numpy(upstream))
    for a, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=PAIRS)
def test_binary_ops_broadcast_gradcheck(name, shapes):
    a_shape, b_shape = shapes.input_shapes
    a = leaf(values(a_shape, seed=1))
    b = leaf(values(b_shape, 0.5, 2.0, seed=2))  # away from 0 for division
    assert mc.gradcheck(BINARY[name], [a, b])


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=PAIRS)
def test_binary_ops_match_torch(torch, name, shapes):
    a_shape, b_shape = shapes.input_shapes
    assert_matches_torch(
        torch, BINARY[name], BINARY[name], values(a_shape), values(b_shape, 0.5, 2.0)
    )


@given(shapes=PAIRS)
def test_pow_gradcheck_both_operands(shapes):
    a_shape, b_shape = shapes.input_shapes
    a, b = leaf(values(a_shape, 0.5, 2.0)), leaf(values(b_shape, -1.5, 1.5))
    assert mc.gradcheck(lambda x, y: x**y, [a, b])


@given(shapes=PAIRS)
def test_pow_both_operands_matches_torch(torch, shapes):
    a_shape, b_shape = shapes.input_shapes
    a, b = values(a_shape, 0.5, 2.0), values(b_shape, -1.5, 1.5)
    assert_matches_torch(torch, lambda x, y: x**y, lambda x, y: x**y, a, b)


@given(shape=SHAPES, exponent=st.sampled_from([2, 3, 0.5, -1.0]))
def test_pow_scalar_exponent_and_scalar_base(shape, exponent):
    x = leaf(values(shape, 0.5, 2.0))
    assert mc.gradcheck(lambda t: t**exponent, [x])
    assert mc.gradcheck(lambda t: 2.0**t, [x])


def test_pow_exponent_gradient_at_zero_base_is_zero_like_torch(torch):
    assert_matches_torch(
        torch, lambda a, b: a**b, lambda a, b: a**b, np.array([0.0, 1.5]), np.array([2.0, 2.0])
    )


MATMUL_SHAPES = st.sampled_from(
    [
        ((3,), (3,)),
        ((3,), (3, 2)),
        ((2, 3), (3,)),
        ((2, 3), (3, 4)),
        ((2, 2, 3), (3, 4)),
        ((2, 3), (5, 3, 4)),
        ((1, 2, 3), (4, 3, 2)),
        ((4, 1, 2, 3), (3, 3, 2)),
        ((3,), (2, 3, 4)),
    ]
)


@given(shapes=MATMUL_SHAPES)
def test_matmul_gradcheck(shapes):
    a, b = values(shapes[0], seed=3), values(shapes[1], seed=4)
    assert mc.gradcheck(lambda x, y: x @ y, [leaf(a), leaf(b)])


@given(shapes=MATMUL_SHAPES)
def test_matmul_matches_torch(torch, shapes):
    a, b = values(shapes[0], seed=3), values(shapes[1], seed=4)
    assert_matches_torch(torch, lambda x, y: x @ y, lambda x, y: x @ y, a, b)


UNARY = {
    "exp": (mc.exp, "exp", -2.0, 2.0),
    "log": (mc.log, "log", 0.2, 3.0),
    "sqrt": (mc.sqrt, "sqrt", 0.2, 3.0),
    "tanh": (mc.tanh, "tanh", -2.0, 2.0),
    "abs": (mc.abs, "abs", 0.1, 2.0),  # sign flips below, see test_abs_*
    "neg": (lambda t: -t, "neg", -2.0, 2.0),
}


def _unary_input(name, shape):
    _, _, low, high = UNARY[name]
    x = values(shape, low, high)
    sign = np.where(np.random.default_rng(5).random(shape) < 0.5, -1.0, 1.0)
    if name == "abs":
        x = x * sign  # both signs, away from the kink at 0
    return x


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=SHAPES)
def test_unary_ops_gradcheck(name, shape):
    assert mc.gradcheck(UNARY[name][0], [leaf(_unary_input(name, shape))])


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=SHAPES)
def test_unary_ops_match_torch(torch, name, shape):
    fn, torch_name, _, _ = UNARY[name]
    assert_matches_torch(torch, fn, getattr(torch, torch_name), _unary_input(name, shape))


def test_abs_gradient_at_zero_is_zero():
    x = leaf([0.0, -1.0, 2.0])
    mc.abs(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, -1.0, 1.0])


CLIP_BOUNDS = dict(low=st.sampled_from([None, -0.5]), high=st.sampled_from([None, 0.7]))


def _clip_input(shape, low, high):
    assume(low is not None or high is not None)
    x = values(shape)
    # keep the values off the bounds, where the one-sided derivative is not defined
    for bound in (low, high):
        if bound is not None:
            x[np.abs(x - bound) < 1e-3] += 0.01
    return x


@given(shape=SHAPES, **CLIP_BOUNDS)
def test_clip_gradient_passes_inside_bounds(shape, low, high):
    x = _clip_input(shape, low, high)
    assert mc.gradcheck(lambda t: mc.clip(t, low, high), [leaf(x)])


@given(shape=SHAPES, **CLIP_BOUNDS)
def test_clip_matches_torch(torch, shape, low, high):
    x = _clip_input(shape, low, high)
    assert_matches_torch(
        torch, lambda t: mc.clip(t, low, high), lambda t: torch.clamp(t, low, high), x
    )


DIMS = st.one_of(st.none(), st.integers(-3, 2), st.tuples(st.integers(0, 2), st.integers(-1, 0)))


def _valid_dim(dim, ndim):
    dims = (dim,) if isinstance(dim, int) else (dim or ())
    return all(-max(ndim, 1) <= d < max(ndim, 1) for d in dims)


REDUCTIONS = pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin"])
REDUCED = dict(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), dim=DIMS)


def _reduction_input(shape, dim):
    assume(_valid_dim(dim, len(shape)))
    # torch rejects a repeated dim
    assume(not isinstance(dim, tuple) or len({d % len(shape) for d in dim}) == len(dim))
    return np.random.default_rng(7).permutation(np.prod(shape)).reshape(shape) / 3.0  # no ties


@REDUCTIONS
@given(**REDUCED, keepdim=st.booleans())
def test_reductions_gradcheck(name, shape, dim, keepdim):
    x = _reduction_input(shape, dim)
    assert mc.gradcheck(lambda t: getattr(t, name)(dim=dim, keepdim=keepdim), [leaf(x)])


@REDUCTIONS
@given(**REDUCED, keepdim=st.booleans())
def test_reductions_match_torch(torch, name, shape, dim, keepdim):
    x = _reduction_input(shape, dim)

    def ours(t):
        return getattr(t, name)(dim=dim, keepdim=keepdim)

    def theirs(t):
        d = tuple(range(t.ndim)) if dim is None else dim
        return getattr(torch, name)(t, dim=d, keepdim=keepdim)

    assert_matches_torch(torch, ours, theirs, x)


def test_max_shares_gradient_among_ties_like_torch_amax():
    x = leaf([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    x.amax(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0.5, 0.5], [0.5, 0, 0.5]])


def test_reduction_rejects_out_of_range_dim():
    with pytest.raises(IndexError, match="dimension 2 is out of range"):
        mc.tensor(np.ones((2, 3))).sum(dim=2)


@given(shape=array_shapes(min_dims=1, max_dims=4, max_side=3), data=st.data())
def test_reshape_permute_transpose_flatten(shape, data):
    x = values(shape)
    order = data.draw(st.permutations(range(len(shape))))
    assert mc.gradcheck(lambda t: t.permute(*order) * 2, [leaf(x)])
    assert mc.gradcheck(lambda t: t.reshape(-1)[::-1].reshape(shape), [leaf(x)])
    assert mc.gradcheck(lambda t: t.transpose(0, -1).flatten(), [leaf(x)])


@given(shape=array_shapes(min_dims=1, max_dims=4, max_side=3), data=st.data())
def test_permute_and_flatten_match_torch(torch, shape, data):
    x = values(shape)
    order = data.draw(st.permutations(range(len(shape))))
    assert_matches_torch(torch, lambda t: t.permute(*order), lambda t: t.permute(*order), x)
    assert_matches_torch(
        torch, lambda t: t.flatten(1 % len(shape)), lambda t: t.flatten(1 % len(shape)), x
    )


INDICES = [
    (slice(None, None, 2),),
    (slice(None, None, -1), 0),
    (Ellipsis, slice(1, None, 2)),
    (None, slice(0, 2), 1),
    (np.array([0, 2, 0, 1]),),
    (np.array([1, 1]), slice(None), np.array([0, 2])),
    (np.array([[True, False, True], [False, True, True], [True, True, False]]),),
    (-1, -1),
]


@pytest.mark.parametrize("index", INDICES, ids=[str(i) for i in range(len(INDICES))])
def test_indexing_with_steps_and_repeats(index):
    x = values((3, 3, 3))
    assert mc.gradcheck(lambda t: t[index] * 3, [leaf(x)])


TORCH_INDICES = {  # PyTorch has no negative slice steps
    str(k): index
    for k, index in enumerate(INDICES)
    if not any(isinstance(i, slice) and (i.step or 1) < 0 for i in index)
}


@pytest.mark.parametrize("index", list(TORCH_INDICES.values()), ids=list(TORCH_INDICES))
def test_indexing_with_steps_and_repeats_matches_torch(torch, index):
    x = values((3, 3, 3))
    torch_index = tuple(torch.from_numpy(i) if isinstance(i, np.ndarray) else i for i in index)
    assert_matches_torch(torch, lambda t: t[index], lambda t: t[torch_index], x)


def test_repeated_integer_index_adds_gradients():
    x = leaf([1.0, 2.0, 3.0])
    x[np.array([0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 1.0])


@given(
    shape=array_shapes(min_dims=1, max_dims=3, max_side=3), count=st.integers(1, 3), data=st.data()
)
def test_cat_and_stack(shape, count, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    arrays = [values(shape, seed=i) for i in range(count)]
    assert mc.gradcheck(lambda *ts: mc.cat(ts, dim=dim) ** 2, [leaf(a) for a in arrays])
    stack_dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    assert mc.gradcheck(lambda *ts: mc.stack(ts, dim=stack_dim) ** 2, [leaf(a) for a in arrays])


@given(
    shape=array_shapes(min_dims=1, max_dims=3, max_side=3), count=st.integers(1, 3), data=st.data()
)
def test_cat_and_stack_match_torch(torch, shape, count, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    arrays = [values(shape, seed=i) for i in range(count)]
    stack_dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    assert_matches_torch(
        torch, lambda *ts: mc.cat(ts, dim), lambda *ts: torch.cat(ts, dim), *arrays
    )
    assert_matches_torch(
        torch, lambda *ts: mc.stack(ts, stack_dim), lambda *ts: torch.stack(ts, stack_dim), *arrays
    )


@st.composite
def pad_cases(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=4, max_side=3))
    n = draw(st.integers(1, len(shape)))
    widths = tuple(draw(st.lists(st.integers(0, 2), min_size=2 * n, max_size=2 * n)))
    return values(shape), widths, draw(st.sampled_from([0.0, -1.5]))


@given(case=pad_cases())
def test_pad_constant(case):
    x, widths, value = case
    assert mc.gradcheck(lambda t: mc.pad(t, widths, value) ** 2, [leaf(x)])


@given(case=pad_cases())
def test_pad_constant_matches_torch(torch, case):
    x, widths, value = case
    assert_matches_torch(
        torch,
        lambda t: mc.pad(t, widths, value),
        lambda t: torch.nn.functional.pad(t, widths, value=value),
        x,
    )


def test_pad_rejects_negative_or_odd_widths():
    with pytest.raises(ValueError, match="non-negative"):
        mc.pad(mc.zeros(2, 2), (1, -1))
    with pytest.raises(ValueError, match="pairs"):
        mc.pad(mc.zeros(2, 2), (1, 1, 1))


@pytest.mark.parametrize(
    "op",
    [
        lambda t: t + 1.5,
        lambda t: 2 * t - 1,
        lambda t: 1.0 / (t + 3),
        lambda t: t**2,
        lambda t: (t @ t.T).exp().log().sqrt().tanh(),
        lambda t: t.abs().clip(0.1, 0.5).mean(dim=0).max(),
        lambda t: mc.pad(t, (1, 1)).sum(dim=1),
        lambda t: mc.stack([t, t]).min(dim=0).values,
    ],
)
def test_float32_stays_float32(op):
    x = mc.tensor(values((3, 3)).astype(np.float32) + 3, requires_grad=True)
    y = op(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


@st.composite
def basic_indices(draw, shape):
    """Ints (also negative) and slices with positive or negative steps for the leading
    dimensions, with None (a new axis) and a trailing Ellipsis mixed in."""
    parts = []
    for n in shape[: draw(st.integers(1, len(shape)))]:
        if draw(st.booleans()):
            parts.append(draw(st.integers(-n, n - 1)))
        else:
            step = draw(st.sampled_from([1, 2, 3, -1, -2]))
            parts.append(slice(draw(st.integers(-n, n)), draw(st.integers(-n, n)), step))
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), None)
    if draw(st.booleans()):
        parts.append(Ellipsis)
    return tuple(parts)


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_basic_indexing_gradcheck(shape, data):
    index = data.draw(basic_indices(shape))
    x = values(shape)
    assume(x[index].size > 0)
    assert mc.gradcheck(lambda t: t[index] * 3, [leaf(x)])


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_basic_indexing_matches_torch(torch, shape, data):
    index = data.draw(basic_indices(shape))
    x = values(shape)
    assume(x[index].size > 0)
    if all(not isinstance(i, slice) or i.step > 0 for i in index):  # PyTorch: no negative steps
        assert_matches_torch(torch, lambda t: t[index], lambda t: t[index], x)


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_integer_array_indexing_with_repeats(shape, data):
    picks = data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6))
    index = np.array(picks)
    x = values(shape)
    assert mc.gradcheck(lambda t: t[index] ** 2, [leaf(x)])


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_integer_array_indexing_matches_torch(torch, shape, data):
    picks = data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6))
    index = np.array(picks)
    x = values(shape)
    assert_matches_torch(torch, lambda t: t[index], lambda t: t[torch.from_numpy(index)], x)
