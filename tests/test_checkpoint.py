"""Training checkpoints: exact round trips of model, optimizer, scheduler and random state,
and training resumed in a fresh process that ends on the very same parameters."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc
from minicnn import backend, nn, optim
from minicnn.checkpoint import decode, encode, load_checkpoint, save_checkpoint
from minicnn.functional import cross_entropy
from minicnn.optim.lr_scheduler import StepLR
from minicnn.serialization import CheckpointError, load, save

REPO = Path(mc.__file__).resolve().parent.parent


def test_encode_decode_round_trip():
    state = {
        "ints": {0: {"step": 3, "buf": np.arange(3.0)}, 1: {}},
        "tuple": (0.9, 0.999),
        "nested": [1, "two", None, True, float("inf"), {"a": np.ones((2, 2), np.uint8)}],
        "looks_tagged": {"__tensor__": "not a tensor"},
        "numpy_scalar": np.float32(0.5),
        "tensor": mc.tensor([1.0, 2.0]),
    }
    tensors = {}
    data = encode(state, "s", tensors)
    assert sorted(tensors) == ["s.ints.0.buf", "s.nested.5.a", "s.tensor"]
    back = decode(data, {k: backend.to_host(getattr(v, "data", v)) for k, v in tensors.items()})
    assert list(back["ints"]) == [0, 1] and back["ints"][0]["step"] == 3
    np.testing.assert_array_equal(back["ints"][0]["buf"], np.arange(3.0))
    assert back["tuple"] == (0.9, 0.999) and back["looks_tagged"] == state["looks_tagged"]
    assert back["nested"][:5] == [1, "two", None, True, float("inf")]
    assert back["nested"][5]["a"].dtype == np.uint8 and back["numpy_scalar"] == 0.5
    with pytest.raises(TypeError, match="cannot store s.bad of type object"):
        encode({"bad": object()}, "s", {})
    with pytest.raises(ValueError, match="both be stored as 'a.a.b'"):
        encode({"a.b": np.ones(1), "a": {"b": np.ones(1)}}, "a", {})


# --- a small CNN with BatchNorm and dropout, trained on fixed synthetic data ------------------


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(4 * 4 * 4, 3),
    )


def make_training(kind, model):
    if kind == "sgd":
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    else:
        opt = optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    # step_size 3: the decay after epoch 2 happens only if the scheduler's epoch count resumes
    return opt, StepLR(opt, step_size=3 if kind == "sgd" else 1, gamma=0.7)


def data():
    rng = np.random.default_rng(42)
    x = rng.standard_normal((24, 1, 8, 8)).astype(np.float32)
    return x, np.arange(24) % 3


def train(model, opt, sched, epochs):
    """Epochs of shuffled mini-batches: shuffling and dropout draw from minicnn's generator."""
    x, y = data()
    model.train()
    for _ in epochs:
        order = backend.default_generator("cpu").permutation(len(x))
        for batch in np.array_split(order, 3):
            opt.zero_grad()
            cross_entropy(model(mc.tensor(x[batch])), mc.tensor(y[batch])).backward()
            opt.step()
        sched.step()


def resume_in_this_process(checkpoint, out, kind):
    """What the fresh process runs: a differently initialised model, then the checkpoint."""
    mc.manual_seed(12345)
    model = make_model()
    opt, sched = make_training(kind, model)
    info = load_checkpoint(checkpoint, model, opt, sched)
    train(model, opt, sched, range(info["epoch"] + 1, 4))
    save(model.state_dict(), out)


def trained(kind, epochs):
    mc.manual_seed(0)
    model = make_model()
    opt, sched = make_training(kind, model)
    train(model, opt, sched, epochs)
    return model, opt, sched


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_resumed_training_in_a_fresh_process_matches_the_uninterrupted_run(tmp_path, kind):
    uninterrupted = {k: v.copy() for k, v in trained(kind, range(4))[0].state_dict().items()}

    model, opt, sched = trained(kind, range(2))
    save_checkpoint(tmp_path / "ckpt.safetensors", model, opt, sched, epoch=1)
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_checkpoint; "
        f"test_checkpoint.resume_in_this_process(*sys.argv[1:])"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(tmp_path / "ckpt.safetensors"),
            str(tmp_path / "out"),
            kind,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    resumed = load(tmp_path / "out")
    assert sorted(resumed) == sorted(uninterrupted)
    for key, value in uninterrupted.items():
        assert np.array_equal(resumed[key], value), key
    assert not np.array_equal(uninterrupted["6.weight"], model.state_dict()["6.weight"])


def test_checkpoint_round_trip_is_exact(tmp_path):
    model, opt, sched = trained("adam", range(2))
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, opt, sched, epoch=1, best_acc=0.75, history=[0.5, 0.75])
    expected_draw = backend.default_generator("cpu").random(3)

    mc.manual_seed(7)
    model2 = make_model()
    opt2, sched2 = make_training("adam", model2)
    info = load_checkpoint(path, model2, opt2, sched2)
    assert info == {"epoch": 1, "best_acc": 0.75, "history": [0.5, 0.75]}
    np.testing.assert_array_equal(backend.default_generator("cpu").random(3), expected_draw)

    for (k, a), (k2, b) in zip(
        model.state_dict().items(), model2.state_dict().items(), strict=True
    ):
        assert k == k2 and a.dtype == b.dtype and np.array_equal(a, b), k
    assert model2.state_dict()["1.num_batches_tracked"].dtype == np.int64
    sd, sd2 = opt.state_dict(), opt2.state_dict()
    assert sd["param_groups"] == sd2["param_groups"] and sd2["param_groups"][0]["betas"] == (
        0.9,
        0.999,
    )
    for index, state in sd["state"].items():
        for name, value in state.items():
            assert np.array_equal(sd2["state"][index][name], value)
            assert type(sd2["state"][index][name]) is type(value)
    assert sched2.state_dict() == sched.state_dict()

    tensors = load(path)  # tensors live under namespaced names; the rest is metadata
    assert "model.0.weight" in tensors and "optimizer.state.0.exp_avg" in tensors
    assert all(k.startswith(("model.", "optimizer.state.")) for k in tensors)


def test_model_only_checkpoint_and_errors(tmp_path):
    model = make_model()
    path = tmp_path / "weights.safetensors"
    save_checkpoint(path, model, epoch=5)
    opt, _ = make_training("sgd", model)
    assert load_checkpoint(path, make_model()) == {"epoch": 5}
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        load_checkpoint(path, make_model(), opt)
    save(model.state_dict(), tmp_path / "plain.safetensors")
    with pytest.raises(CheckpointError, match="not a minicnn training checkpoint"):
        load_checkpoint(tmp_path / "plain.safetensors", model)
    (tmp_path / "broken").write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="broken"):
        load_checkpoint(tmp_path / "broken", model)
    wrong = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="Unexpected key"):
        load_checkpoint(path, wrong)


@pytest.mark.usefixtures("torch")
def test_checkpoint_model_weights_are_readable_by_pytorch(tmp_path):
    from safetensors.torch import load_file

    model, opt, sched = trained("sgd", range(1))
    save_checkpoint(tmp_path / "c.safetensors", model, opt, sched, epoch=0)
    weights = load_file(tmp_path / "c.safetensors")
    np.testing.assert_array_equal(weights["model.6.weight"].numpy(), model.state_dict()["6.weight"])


# --- resuming a seeded, shuffling, augmenting DataLoader -------------------------------------


def make_loader():
    """24 images, shuffled and augmented by a seeded loader: 3 batches of 8 per epoch."""
    from minicnn.data import ArrayDataset, DataLoader
    from minicnn.data import transforms as T

    x, y = data()
    augment = T.Compose([T.RandomHorizontalFlip(), T.RandomCrop(8, padding=1)])
    return DataLoader(ArrayDataset(x, y, transform=augment), batch_size=8, shuffle=True, seed=3)


def train_from_loader(model, opt, loader, epochs):
    model.train()
    for _ in epochs:
        for xb, yb in loader:
            opt.zero_grad()
            cross_entropy(model(xb), yb).backward()
            opt.step()


def loader_training(epochs):
    mc.manual_seed(0)
    model = make_model()
    opt, _ = make_training("sgd", model)
    loader = make_loader()
    train_from_loader(model, opt, loader, epochs)
    return model, opt, loader


def resume_loader_training_in_this_process(checkpoint, out, restore_loader="yes"):
    mc.manual_seed(12345)
    model = make_model()
    opt, _ = make_training("sgd", model)
    loader = make_loader()
    loaders = loader if restore_loader == "yes" else None
    info = load_checkpoint(checkpoint, model, opt, loaders=loaders)
    train_from_loader(model, opt, loader, range(info["epoch"] + 1, 2))
    save(model.state_dict(), out)


@pytest.mark.slow
def test_resumed_training_with_a_seeded_augmenting_loader_matches_the_uninterrupted_run(tmp_path):
    uninterrupted = {k: v.copy() for k, v in loader_training(range(2))[0].state_dict().items()}

    model, opt, loader = loader_training(range(1))
    save_checkpoint(tmp_path / "ckpt.safetensors", model, opt, epoch=0, loaders=loader)
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_checkpoint; "
        f"test_checkpoint.resume_loader_training_in_this_process(*sys.argv[1:])"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "ckpt.safetensors"), str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    resumed = load(tmp_path / "out")
    assert sorted(resumed) == sorted(uninterrupted)
    for key, value in uninterrupted.items():
        assert np.array_equal(resumed[key], value), key

    # without the loader's state the second epoch has another order and augmentation
    resume_loader_training_in_this_process(
        tmp_path / "ckpt.safetensors", tmp_path / "other", restore_loader="no"
    )
    assert not np.array_equal(load(tmp_path / "other")["6.weight"], uninterrupted["6.weight"])


def test_checkpoint_loaders_must_match(tmp_path):
    model, opt, loader = loader_training(range(1))
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, opt, epoch=0, loaders=[loader, make_loader()])
    with pytest.raises(CheckpointError, match="holds the state of 2 data loaders, but 1 was given"):
        load_checkpoint(path, make_model(), loaders=make_loader())
    fresh = [make_loader(), make_loader()]
    load_checkpoint(path, make_model(), loaders=fresh)
    assert fresh[0].state_dict()["generator"] == loader.state_dict()["generator"]
    save_checkpoint(path, model, epoch=0)
    with pytest.raises(CheckpointError, match="holds no data loader state"):
        load_checkpoint(path, make_model(), loaders=[make_loader()])
