"""Learning-rate schedulers: hand-computed schedules, PyTorch agreement, chaining, resuming."""

import math

import numpy as np
import pytest

import minicnn as mc
from minicnn import optim
from minicnn.optim import lr_scheduler as S


def make_optimizer(lr=1.0, groups=1):
    params = [mc.tensor(np.zeros(1), requires_grad=True) for _ in range(groups)]
    return optim.SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)], lr=lr)


def schedule(scheduler, epochs, metrics=None):
    """The rates of group 0 after construction and after each of ``epochs`` steps."""
    lrs = [scheduler.get_last_lr()[0]]
    for epoch in range(epochs):
        scheduler.optimizer.step()
        scheduler.step(*([] if metrics is None else [metrics[epoch]]))
        lrs.append(scheduler.get_last_lr()[0])
    return lrs


def test_step_lr_by_hand():
    opt = make_optimizer(1.0)
    sched = S.StepLR(opt, step_size=2, gamma=0.5)
    assert sched.last_epoch == 0 and opt.param_groups[0]["initial_lr"] == 1.0
    assert schedule(sched, 5) == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert sched.last_epoch == 5 and opt.param_groups[0]["lr"] == 0.25


def test_step_lr_course_schedule_multiplies_by_0_7_every_epoch():
    sched = S.StepLR(make_optimizer(1.0), step_size=1, gamma=0.7)
    np.testing.assert_allclose(schedule(sched, 6), 0.7 ** np.arange(7), rtol=1e-14)


def test_exponential_lr_by_hand():
    sched = S.ExponentialLR(make_optimizer(2.0, groups=2), gamma=0.5)
    assert schedule(sched, 3) == [2.0, 1.0, 0.5, 0.25]
    assert sched.get_last_lr() == [0.25, 0.5]  # every group


def test_cosine_follows_the_closed_form_for_one_period():
    eta_0, eta_min, t_max = 0.1, 0.01, 8
    sched = S.CosineAnnealingLR(make_optimizer(eta_0), T_max=t_max, eta_min=eta_min)
    expected = [
        eta_min + (eta_0 - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2
        for t in range(2 * t_max + 1)
    ]
    np.testing.assert_allclose(schedule(sched, 2 * t_max), expected, rtol=1e-12)


def test_reduce_on_plateau_by_hand():
    opt = make_optimizer(1.0)
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    losses = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]
    # bad epochs 2, 3 -> halve at epoch 3; cooldown epoch 4; bad 5, 6 -> halve; ... floor 0.2
    assert schedule(sched, 9, losses) == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    sched = S.ReduceLROnPlateau(make_optimizer(1.0), factor=0.5, patience=0, min_lr=0.3)
    assert schedule(sched, 3, [1.0, 1.0, 1.0]) == [1.0, 1.0, 0.5, 0.3]
    sched = S.ReduceLROnPlateau(make_optimizer(1.0), mode="max", patience=0)
    assert schedule(sched, 3, [1.0, 2.0, 2.0])[-1] == pytest.approx(0.1)
    sched = S.ReduceLROnPlateau(make_optimizer(1.0), patience=0)
    sched.step(mc.tensor(3.0))  # a one-element Tensor is accepted
    assert sched.best == 3.0


def test_schedulers_chain():
    opt = make_optimizer(1.0)
    a, b = S.StepLR(opt, step_size=2, gamma=0.5), S.ExponentialLR(opt, gamma=0.9)
    lrs = []
    for _ in range(4):
        opt.step()
        a.step()
        b.step()
        lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [0.9, 0.5 * 0.9**2, 0.5 * 0.9**3, 0.25 * 0.9**4])


@pytest.mark.parametrize(
    "make",
    [
        lambda o: S.StepLR(o, step_size=3, gamma=0.7),
        lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
        lambda o: S.ReduceLROnPlateau(o, patience=1, cooldown=1, factor=0.5),
    ],
)
def test_state_dict_round_trip_resumes_the_schedule(make):
    metrics = [1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    plateau = "Plateau" in type(make(make_optimizer())).__name__
    opt = make_optimizer(0.1, groups=2)
    sched = make(opt)
    full = schedule(sched, 12, metrics if plateau else None)

    opt = make_optimizer(0.1, groups=2)
    sched = make(opt)
    schedule(sched, 5, metrics[:5] if plateau else None)
    saved_sched, saved_opt = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in saved_sched

    opt2 = make_optimizer(0.1, groups=2)
    opt2.load_state_dict(saved_opt)  # the current rates live in the optimizer
    sched2 = make(opt2)
    sched2.load_state_dict(saved_sched)
    assert sched2.get_last_lr() == sched.get_last_lr() and sched2.get_last_lr()[0] == full[5]
    np.testing.assert_allclose(
        schedule(sched2, 7, metrics[5:] if plateau else None), full[5:], rtol=1e-15
    )


def test_warns_when_stepped_before_the_optimizer():
    opt = make_optimizer()
    sched = S.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()


def test_get_last_lr_is_a_copy():
    sched = S.ExponentialLR(make_optimizer(1.0), gamma=0.5)
    sched.get_last_lr()[0] = 100.0
    assert sched.get_last_lr() == [1.0]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda o: S.StepLR(o, step_size=0), ValueError, "step_size must be a positive integer"),
        (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be a positive"),
        (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor should be < 1.0"),
        (lambda o: S.ReduceLROnPlateau(o, mode="best"), ValueError, "mode 'best' is unknown"),
        (lambda o: S.ReduceLROnPlateau(o, threshold_mode="x"), ValueError, "threshold mode"),
        (lambda o: S.ReduceLROnPlateau(o, min_lr=[0, 0]), ValueError, "expected 1 min_lrs, got 2"),
        (lambda o: S.StepLR("sgd", step_size=1), TypeError, "str is not an Optimizer"),
    ],
)
def test_invalid_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make(make_optimizer())


# --- PyTorch agreement ------------------------------------------------------------------------

TORCH_SCHEDULERS = [
    ("StepLR", {"step_size": 3, "gamma": 0.7}),
    ("StepLR", {"step_size": 1, "gamma": 0.7}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 7}),
    ("CosineAnnealingLR", {"T_max": 4, "eta_min": 0.01}),
]


def torch_optimizer(torch, lr, groups):
    params = [torch.zeros(1, requires_grad=True) for _ in range(groups)]
    return torch.optim.SGD(
        [{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)], lr=lr
    )


def run_both(ours, theirs, epochs, metrics=None):
    got, want = [ours.get_last_lr()], [theirs.get_last_lr()]
    for epoch in range(epochs):
        for s in (ours, theirs):
            s.optimizer.step()
            s.step(*([] if metrics is None else [metrics[epoch]]))
        got.append(ours.get_last_lr())
        want.append(theirs.get_last_lr())
    return np.array(got), np.array(want)


@pytest.mark.parametrize(("name", "kwargs"), TORCH_SCHEDULERS)
def test_matches_pytorch(torch, name, kwargs):
    ours = getattr(S, name)(make_optimizer(0.1, groups=2), **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_optimizer(torch, 0.1, 2), **kwargs)
    got, want = run_both(ours, theirs, 25)  # several periods of the cosine
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-16)
    assert ours.last_epoch == theirs.last_epoch == 25


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": "max", "factor": 0.5, "patience": 2, "threshold": 0.1, "threshold_mode": "abs"},
        {"factor": 0.3, "patience": 1, "cooldown": 2, "min_lr": [0.01, 0.02], "eps": 1e-3},
        {"patience": 0, "threshold": 0.05},
    ],
)
def test_reduce_on_plateau_matches_pytorch(torch, kwargs):
    metrics = np.random.default_rng(0).uniform(0.5, 1.0, 40) + np.linspace(0.5, 0, 40)
    ours = S.ReduceLROnPlateau(make_optimizer(0.1, groups=2), **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_optimizer(torch, 0.1, 2), **kwargs)
    got, want = run_both(ours, theirs, 40, metrics.tolist())
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert got[-1, 0] < got[0, 0]  # the rate was actually reduced
    for key in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch"):
        assert getattr(ours, key) == getattr(theirs, key)


def test_chained_schedulers_match_pytorch(torch):
    opt, ref = make_optimizer(0.1), torch_optimizer(torch, 0.1, 1)
    ours = [S.CosineAnnealingLR(opt, T_max=6), S.StepLR(opt, step_size=4, gamma=0.5)]
    theirs = [
        torch.optim.lr_scheduler.CosineAnnealingLR(ref, T_max=6),
        torch.optim.lr_scheduler.StepLR(ref, step_size=4, gamma=0.5),
    ]
    for _ in range(15):
        opt.step()
        ref.step()
        for a, b in zip(ours, theirs, strict=True):
            a.step()
            b.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(ref.param_groups[0]["lr"], rel=1e-13)
