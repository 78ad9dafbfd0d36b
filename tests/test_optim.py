"""Optimizers: hand-computed updates, PyTorch step-by-step agreement, parameter groups,
skipped parameters, dtypes, validation and state_dict round trips."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn import optim


def param(values, dtype=np.float64):
    return mc.tensor(np.array(values, dtype=dtype), requires_grad=True)


def run(optimizer, p, grads):
    """Apply one step per gradient in ``grads`` to the single parameter ``p``."""
    for g in grads:
        p.grad = mc.tensor(np.array(g, dtype=p.dtype))
        optimizer.step()
    return p.numpy()


# --- hand-computed updates (no PyTorch needed) -----------------------------------------------


def test_sgd_plain_and_weight_decay_by_hand():
    p = param([1.0, 2.0])
    np.testing.assert_allclose(run(optim.SGD([p], lr=0.1), p, [[0.5, -1.0]]), [0.95, 2.1])
    p = param([1.0])  # g <- g + 0.1 p = 1.1
    np.testing.assert_allclose(run(optim.SGD([p], lr=0.1, weight_decay=0.1), p, [[1.0]]), [0.89])


def test_sgd_momentum_velocity_by_hand():
    # v1 = g = 1, v2 = 0.9 + 1 = 1.9, v3 = 1.71 + 1 = 2.71; p -= 0.1 v
    p = param([1.0])
    np.testing.assert_allclose(
        run(optim.SGD([p], lr=0.1, momentum=0.9), p, [[1.0]] * 3), [1 - 0.1 - 0.19 - 0.271]
    )
    # Nesterov steps along g + 0.9 v: 1 + 0.9 = 1.9, then 1 + 0.9 * 1.9 = 2.71
    p = param([1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(run(opt, p, [[1.0]] * 2), [1 - 0.19 - 0.271])
    # dampening 0.5: v1 = g (not damped), v2 = 0.9 * 1 + 0.5 * 1 = 1.4
    p = param([1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)
    np.testing.assert_allclose(run(opt, p, [[1.0]] * 2), [1 - 0.1 - 0.14])
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [1.4])


def test_rmsprop_by_hand():
    # s = 0.1 * 2^2 = 0.4; p -= 0.01 * 2 / sqrt(0.4)
    p = param([0.0])
    np.testing.assert_allclose(
        run(optim.RMSprop([p], lr=0.01, alpha=0.9, eps=0), p, [[2.0]]), [-0.02 / math.sqrt(0.4)]
    )
    # centered: m = 0.2, s - m^2 = 0.36, p -= 0.01 * 2 / 0.6
    p = param([0.0])
    opt = optim.RMSprop([p], lr=0.01, alpha=0.9, eps=0, centered=True)
    np.testing.assert_allclose(run(opt, p, [[2.0]]), [-0.02 / 0.6])
    # momentum: b1 = 2/sqrt(0.4), s2 = 0.36 + 0.4 = 0.76, b2 = 0.5 b1 + 2/sqrt(0.76)
    p = param([0.0])
    opt = optim.RMSprop([p], lr=1.0, alpha=0.9, eps=0, momentum=0.5)
    b1 = 2 / math.sqrt(0.4)
    b2 = 0.5 * b1 + 2 / math.sqrt(0.76)
    np.testing.assert_allclose(run(opt, p, [[2.0]] * 2), [-b1 - b2])


def test_adam_bias_correction_by_hand():
    # With bias correction the first step is exactly lr * sign(g) (eps = 0), whatever the betas.
    p = param([1.0, 1.0])
    opt = optim.Adam([p], lr=0.1, betas=(0.8, 0.7), eps=0)
    np.testing.assert_allclose(run(opt, p, [[2.0, -3.0]]), [0.9, 1.1])
    # Two steps, g = 1 then 3, betas 0.5: m = 1.75, v = 4.75, corrections 1 - 0.25 = 0.75.
    p = param([0.0])
    opt = optim.Adam([p], lr=1.0, betas=(0.5, 0.5), eps=0)
    second = (1.75 / 0.75) / math.sqrt(4.75 / 0.75)
    np.testing.assert_allclose(run(opt, p, [[1.0], [3.0]]), [-1.0 - second])
    assert opt.state[p]["step"] == 2
    np.testing.assert_allclose(opt.state[p]["exp_avg"], [1.75])
    np.testing.assert_allclose(opt.state[p]["exp_avg_sq"], [4.75])


def test_adam_weight_decay_is_l2_and_adamw_is_decoupled():
    # Adam: g <- 1 + 0.1 * 2 = 1.2 > 0, so the first step is -lr: 2 - 0.1 = 1.9.
    p = param([2.0])
    assert run(optim.Adam([p], lr=0.1, weight_decay=0.1, eps=0), p, [[1.0]]) == pytest.approx(1.9)
    # AdamW: p <- 2 (1 - 0.1 * 0.1) = 1.98, then the Adam step of g = 1: 1.98 - 0.1.
    p = param([2.0])
    assert run(optim.AdamW([p], lr=0.1, weight_decay=0.1, eps=0), p, [[1.0]]) == pytest.approx(1.88)
    assert optim.AdamW([param([1.0])]).defaults["weight_decay"] == 0.01


def test_amsgrad_divides_by_the_largest_second_moment():
    # g = 10 then 0 (eps = 0, betas 0.5): v2 = 25, max v = 50 -> v̂ = 50 / 0.75
    p = param([0.0])
    opt = optim.Adam([p], lr=1.0, betas=(0.5, 0.5), eps=0, amsgrad=True)
    m_hat, v_hat = (2.5 / 0.75), (50 / 0.75)
    np.testing.assert_allclose(run(opt, p, [[10.0], [0.0]]), [-1.0 - m_hat / math.sqrt(v_hat)])


# --- behaviour shared by all optimizers -------------------------------------------------------

ALL = [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (optim.AdamW, {"lr": 0.01}),
]


@pytest.mark.parametrize(("cls", "kwargs"), ALL)
def test_float32_in_place_and_grads_untouched(cls, kwargs):
    p = param(np.linspace(-1, 1, 6).reshape(2, 3), np.float32)
    data = p.data
    opt = cls([p], **kwargs)
    g = np.full((2, 3), 0.5, np.float32)
    for _ in range(3):
        p.grad = mc.tensor(g.copy())
        opt.step()
        assert p.data is data  # updated in place: modules holding p see the change
        np.testing.assert_array_equal(p.grad.numpy(), g)  # weight decay must not touch .grad
    assert p.dtype == np.float32
    arrays = [v for v in opt.state[p].values() if hasattr(v, "dtype")]
    assert arrays and all(a.dtype == np.float32 for a in arrays)


@pytest.mark.parametrize(("cls", "kwargs"), ALL)
def test_parameters_without_grad_are_skipped(cls, kwargs):
    used, frozen = param([1.0, 2.0]), param([3.0, 4.0])
    frozen.requires_grad_(False)
    opt = cls([used, frozen], **kwargs)
    used.grad = mc.tensor(np.ones(2))
    opt.step()
    np.testing.assert_array_equal(frozen.numpy(), [3.0, 4.0])
    assert frozen not in opt.state and used in opt.state
    assert not np.array_equal(used.numpy(), [1.0, 2.0])


def test_zero_grad():
    a, b = param([1.0]), param([2.0])
    opt = optim.SGD([a, b], lr=0.1)
    a.grad = mc.tensor(np.array([3.0]))
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    a.grad = shared = mc.tensor(np.array([3.0]))
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0])
    assert b.grad is None and shared.numpy()[0] == 3.0  # a new array, not zeroed in place


def test_step_with_closure_returns_the_loss():
    w = param([3.0])
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0 and w.numpy()[0] == 3.0 - 0.25 * 6.0


def test_param_groups_take_defaults_and_their_own_options():
    base, head = param([1.0]), param([1.0])
    opt = optim.SGD([{"params": [base], "lr": 0.01}, {"params": head}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.1]
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    base.grad = head.grad = mc.tensor(np.array([1.0]))
    opt.step()
    np.testing.assert_allclose([base.numpy()[0], head.numpy()[0]], [0.99, 0.9])
    extra = param([0.0])
    opt.add_param_group({"params": [extra], "nesterov": True})
    assert opt.param_groups[2]["nesterov"] and opt.param_groups[2]["lr"] == 0.1


def test_model_parameters_generator_is_accepted():
    ps = [param([1.0]), param([2.0])]
    opt = optim.Adam(p for p in ps)
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["params"] == ps
    assert "Adam (" in repr(opt) and "lr: 0.001" in repr(opt)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: optim.SGD([p], lr=-0.1), "Invalid learning rate: -0.1"),
        (lambda p: optim.SGD([p], lr=0.1, momentum=-1), "Invalid momentum value: -1"),
        (lambda p: optim.SGD([p], lr=0.1, weight_decay=-1), "Invalid weight_decay value"),
        (lambda p: optim.SGD([p], lr=0.1, nesterov=True), "Nesterov momentum requires"),
        (
            lambda p: optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
            "Nesterov momentum requires a momentum and zero dampening",
        ),
        (lambda p: optim.Adam([p], betas=(1.0, 0.999)), "Invalid beta parameter at index 0"),
        (lambda p: optim.Adam([p], betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
        (lambda p: optim.AdamW([p], eps=-1e-8), "Invalid epsilon value"),
        (lambda p: optim.RMSprop([p], alpha=-0.5), "Invalid alpha value"),
        (lambda p: optim.RMSprop([p], lr=0.1, momentum=-0.5), "Invalid momentum value"),
        (lambda p: optim.SGD([{"params": [p], "lr": -1.0}], lr=0.1), "Invalid learning rate"),
        (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda p: optim.SGD([{"params": [p]}, {"params": [p]}]), "more than one parameter group"),
        (lambda p: optim.SGD([p, p]), "same parameter twice"),
        (lambda p: optim.SGD([p * 2], lr=0.1), "non-leaf"),
    ],
)
def test_invalid_options_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make(param([1.0]))


def test_invalid_params_raise_type_error():
    p = param([1.0])
    with pytest.raises(TypeError, match="iterable of Tensors or of dicts.*got a Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors.*ndarray"):
        optim.SGD([np.zeros(2)], lr=0.1)


# --- state_dict ------------------------------------------------------------------------------


def make_params(seed=0):
    rng = np.random.default_rng(seed)
    return [param(rng.standard_normal((3, 2))), param(rng.standard_normal(2))]


def grads_for(step):
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal((3, 2)), rng.standard_normal(2)]


def train(opt, ps, steps):
    for s in steps:
        for p, g in zip(ps, grads_for(s), strict=True):
            p.grad = mc.tensor(g)
        opt.step()


OPTIONS = [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (optim.AdamW, {"lr": 0.01, "betas": (0.8, 0.9)}),
]


@pytest.mark.parametrize(("cls", "kwargs"), OPTIONS)
def test_state_dict_round_trip_resumes_exactly(cls, kwargs):
    ps = make_params()
    opt = cls([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.05}], **kwargs)
    train(opt, ps, range(5))
    snapshot = opt.state_dict()
    assert sorted(snapshot["state"]) == [0, 1]
    assert [g["params"] for g in snapshot["param_groups"]] == [[0], [1]]
    saved_params = [p.numpy().copy() for p in ps]

    train(opt, ps, range(5, 12))  # the uninterrupted run

    resumed = [param(a) for a in saved_params]
    opt2 = cls([{"params": resumed[:1]}, {"params": resumed[1:]}], **kwargs)
    opt2.load_state_dict(snapshot)
    assert opt2.param_groups[1]["lr"] == 0.05  # options come from the state dict
    train(opt2, resumed, range(5, 12))
    for a, b in zip(ps, resumed, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_state_dict_is_a_snapshot_and_load_copies():
    p = param([1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    run(opt, p, [[1.0]])
    sd = opt.state_dict()
    run(opt, p, [[1.0]])
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], [1.0])
    q = param([1.0])
    opt2 = optim.SGD([q], lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    run(opt2, q, [[1.0]])
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], [1.0])


def test_load_state_dict_casts_to_the_parameter_dtype_and_accepts_string_keys():
    p = param([1.0], np.float32)
    opt = optim.Adam([p])
    sd = {
        "state": {"0": {"step": np.array(3.0), "exp_avg": np.ones(1), "exp_avg_sq": np.ones(1)}},
        "param_groups": [{**opt.param_groups[0], "params": [0], "lr": 0.5}],
    }
    opt.load_state_dict(sd)
    assert opt.state[p]["exp_avg"].dtype == np.float32 and opt.state[p]["step"] == 3
    opt.step()  # no gradient: nothing changes
    p.grad = mc.tensor(np.ones(1, np.float32))
    opt.step()
    assert opt.state[p]["step"] == 4 and p.dtype == np.float32
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["params"] == [p]


def test_load_state_dict_mismatches_raise():
    opt = optim.SGD([param([1.0, 2.0])], lr=0.1, momentum=0.9)
    two_groups = optim.SGD([{"params": [param([1.0])]}, {"params": [param([1.0])]}], lr=0.1)
    with pytest.raises(ValueError, match="2 parameter groups, the optimizer has 1"):
        opt.load_state_dict(two_groups.state_dict())
    bigger = optim.SGD([param([1.0]), param([2.0])], lr=0.1)
    with pytest.raises(ValueError, match="group 0 .* has 2 parameters, the optimizer's has 1"):
        opt.load_state_dict(bigger.state_dict())
    other = optim.SGD([param([1.0, 2.0, 3.0])], lr=0.1, momentum=0.9)
    run(other, other.param_groups[0]["params"][0], [[1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match=r"state 0.momentum_buffer has shape \(3,\)"):
        opt.load_state_dict(other.state_dict())


# --- PyTorch agreement, step by step ------------------------------------------------------------

TORCH_CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.7, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "eps": 1e-6}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.95), "weight_decay": 0.1, "eps": 1e-6}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "kwargs"), TORCH_CASES)
def test_matches_pytorch_step_by_step(torch, name, kwargs, dtype):
    rng = np.random.default_rng(1)
    init = [rng.standard_normal(s).astype(dtype) for s in [(4, 3), (3,), (2, 2)]]
    ours = [mc.tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]

    # two groups (the second with its own lr), and the last parameter unused on odd steps
    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": kwargs["lr"] / 2}]

    opt = getattr(optim, name)(groups(ours), **kwargs)
    ref = getattr(torch.optim, name)(groups(theirs), **kwargs)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    for step in range(15):
        for i, (p, t, a) in enumerate(zip(ours, theirs, init, strict=True)):
            g = rng.standard_normal(a.shape).astype(dtype)
            if i == 2 and step % 2:
                p.grad = t.grad = None
            else:
                p.grad, t.grad = mc.tensor(g), torch.tensor(g)
        opt.step()
        ref.step()
        for p, t in zip(ours, theirs, strict=True):
            assert p.dtype == dtype
            np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=rtol, atol=rtol)
    ref_state = ref.state_dict()["state"]
    for index, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            expected = ref_state[index][key]
            expected = expected.numpy() if hasattr(expected, "numpy") else expected
            np.testing.assert_allclose(value, expected, rtol=rtol, atol=rtol)


rates = st.floats(1e-4, 0.5)
fractions = st.floats(0.0, 0.99)
HYPERPARAMETERS = st.one_of(
    st.builds(
        lambda lr, m, d, wd, nesterov: (
            "SGD",
            dict(
                lr=lr,
                momentum=m,
                weight_decay=wd,
                dampening=0.0 if nesterov else d,
                nesterov=nesterov and m > 0,
            ),
        ),
        rates,
        fractions,
        fractions,
        st.floats(0, 0.1),
        st.booleans(),
    ),
    st.builds(
        lambda lr, a, m, wd, centered: (
            "RMSprop",
            dict(lr=lr, alpha=a, momentum=m, weight_decay=wd, centered=centered),
        ),
        rates,
        st.floats(0.5, 0.999),
        fractions,
        st.floats(0, 0.1),
        st.booleans(),
    ),
    st.builds(
        lambda name, lr, b1, b2, wd, ams: (
            name,
            dict(lr=lr, betas=(b1, b2), weight_decay=wd, amsgrad=ams),
        ),
        st.sampled_from(["Adam", "AdamW"]),
        rates,
        fractions,
        st.floats(0.5, 0.9999),
        st.floats(0, 0.1),
        st.booleans(),
    ),
)


@given(config=HYPERPARAMETERS, seed=st.integers(0, 2**16))
def test_random_hyperparameters_match_pytorch(torch, config, seed):
    name, kwargs = config
    rng = np.random.default_rng(seed)
    init = rng.standard_normal((3, 2))
    ours, theirs = param(init.copy()), torch.tensor(init.copy(), requires_grad=True)
    opt, ref = (
        getattr(optim, name)([ours], **kwargs),
        getattr(torch.optim, name)([theirs], **kwargs),
    )
    for _ in range(10):
        g = rng.standard_normal((3, 2))
        ours.grad, theirs.grad = mc.tensor(g), torch.tensor(g)
        opt.step()
        ref.step()
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_cuda_arrays_stay_on_the_gpu():
    if not mc.cuda_available():
        pytest.skip("CuPy with a GPU is not available: GPU optimizer test skipped")
    for cls, kwargs in ALL:
        p = mc.tensor(np.ones((2, 2), np.float32), requires_grad=True, device="cuda")
        q = param(np.ones((2, 2)), np.float32)
        opt, ref = cls([p], **kwargs), cls([q], **kwargs)
        for _ in range(3):
            p.grad = mc.tensor(np.full((2, 2), 0.3, np.float32), device="cuda")
            q.grad = mc.tensor(np.full((2, 2), 0.3, np.float32))
            opt.step()
            ref.step()
        assert p.device == "cuda" and p.dtype == np.float32
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-6)
        q2 = mc.tensor(np.ones((2, 2), np.float32), requires_grad=True, device="cuda")
        opt2 = cls([q2], **kwargs)
        opt2.load_state_dict(ref.state_dict())  # host state onto a GPU parameter
        assert all(
            mc.backend.device_of(v) == "cuda"
            for v in opt2.state[q2].values()
            if hasattr(v, "shape")
        )


# --- state_dict of another kind of optimizer --------------------------------------------------


def stepped(cls, **kwargs):
    ps = make_params()
    opt = cls(ps, **kwargs)
    train(opt, ps, range(2))
    return opt


@pytest.mark.parametrize(
    ("saved", "loading"),
    [(optim.SGD, optim.Adam), (optim.Adam, optim.SGD), (optim.Adam, optim.AdamW)],
)
def test_load_state_dict_rejects_another_kind_of_optimizer(saved, loading):
    sd = stepped(saved, lr=0.1).state_dict()
    assert sd["optimizer"] == saved.__name__
    opt = loading(make_params(), lr=0.1)
    before = opt.state_dict()
    message = f"state dict of a {saved.__name__} optimizer into a {loading.__name__}"
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(sd)
    del sd["optimizer"]  # an older state dict: told apart by its options, where they differ
    if saved is not optim.Adam or loading is not optim.AdamW:
        with pytest.raises(ValueError, match=f"{loading.__name__}.load_state_dict: .* lack"):
            opt.load_state_dict(sd)
    assert opt.state_dict()["param_groups"] == before["param_groups"]  # left unchanged


def test_load_state_dict_of_the_same_kind_with_and_without_its_kind():
    sd = stepped(optim.Adam, lr=0.01).state_dict()
    for with_kind in (True, False):
        if not with_kind:
            del sd["optimizer"]  # as written before the kind was stored
        opt = optim.Adam(make_params(), lr=0.5)
        opt.load_state_dict(sd)
        assert opt.param_groups[0]["lr"] == 0.01 and opt.state_dict()["optimizer"] == "Adam"
        for index, state in sd["state"].items():
            np.testing.assert_array_equal(
                opt.state_dict()["state"][index]["exp_avg"], state["exp_avg"]
            )
