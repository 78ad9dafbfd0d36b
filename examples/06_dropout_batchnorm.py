# %% [markdown]
# # 06 - Dropout and batch normalisation: train and eval behave differently
#
# Two layers act differently in training and in evaluation, which is why every training
# loop calls `model.train()` and `model.eval()`:
#
# - **Dropout(p)** zeroes each activation with probability p during training and scales the
#   survivors by 1/(1-p), so the expected value is unchanged; in evaluation it does nothing.
# - **BatchNorm** normalises with the statistics of the current batch during training and
#   keeps running averages of them; in evaluation it uses those running averages, so a
#   sample's output no longer depends on the rest of its batch.
#
# Then the regularisation effect: a network trained on few digits memorises them; dropout
# narrows the gap between training and test accuracy.

# %%
import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import minicnn as mc
from minicnn import nn, optim
from minicnn.data import MNIST, DataLoader, random_split
from minicnn.train import fit

QUICK = os.environ.get("MINICNN_QUICK") == "1"  # the test suite's small settings
OUT = Path(os.environ.get("MINICNN_OUT", "output"))
OUT.mkdir(parents=True, exist_ok=True)
mc.set_num_threads(1)  # small matrices: one BLAS thread is faster than several
mc.manual_seed(0)

# %% [markdown]
# ## Dropout: random in training, the identity in evaluation

# %%
drop = nn.Dropout(p=0.5)
x = mc.ones(1, 10_000)
drop.train()
y = drop(x).numpy()
print(
    f"train: {np.mean(y == 0):.1%} zeros, survivors = {np.unique(y[y != 0])}, mean {y.mean():.3f}"
)
drop.eval()
print("eval: output equals input:", bool(np.array_equal(drop(x).numpy(), x.numpy())))

# %% [markdown]
# ## BatchNorm: batch statistics in training, running statistics in evaluation
# Batches of 3 features with means (5, -2, 0) and standard deviations (2, 1, 0.5). In
# training the output of every batch has mean 0 and std 1; the running mean moves towards
# the data's mean by `momentum` (0.1) of the gap at every batch.

# %%
bn = nn.BatchNorm1d(3)
rng = np.random.default_rng(0)
true_mean, true_std = np.array([5.0, -2.0, 0.0]), np.array([2.0, 1.0, 0.5])
running = []
bn.train()
for _ in range(60):
    batch = mc.tensor((true_mean + true_std * rng.standard_normal((32, 3))).astype(np.float32))
    out = bn(batch)
    running.append(bn.running_mean.numpy().copy())
print(
    "training output mean",
    out.numpy().mean(axis=0).round(3),
    "std",
    out.numpy().std(axis=0).round(3),
)
print(
    "running mean", bn.running_mean.numpy().round(2), "running var", bn.running_var.numpy().round(2)
)

sample = mc.tensor([[5.0, -2.0, 0.0], [9.0, 0.0, 1.0]])
bn.eval()
print("eval output (running statistics):", bn(sample).numpy().round(2))
bn.train()
print("train output (this 2-sample batch's statistics):", bn(sample).numpy().round(2))

figure = Figure(figsize=(6, 3), layout="constrained")
ax = figure.add_subplot()
running = np.array(running)
for k in range(3):
    ax.plot(running[:, k], label=f"feature {k} (mean {true_mean[k]:g})")
ax.set(xlabel="training batch", ylabel="running_mean", title="BatchNorm running mean")
ax.legend(fontsize=8)
figure.savefig(OUT / "06_running_mean.png", dpi=120)
figure  # noqa: B018 (a notebook cell shows its last value)

# %% [markdown]
# ## The regularisation effect
# Three networks with two hidden layers, trained on only a few digits: plain, with dropout
# after each hidden layer, and with BatchNorm. The plain one reaches 100% on its training
# digits long before it stops improving on the test digits.

# %%
TRAIN, EPOCHS, WIDTH = (150, 3, 64) if QUICK else (400, 30, 256)
few = random_split(MNIST("train"), [TRAIN, 4000 - TRAIN], stratified=True)[0]
test_set = MNIST("test")
if QUICK:
    test_set = random_split(test_set, [200, 800], stratified=True)[0]


def mlp(kind: str) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    for n_in in (28 * 28, WIDTH):
        layers.append(nn.Linear(n_in, WIDTH))
        if kind == "batchnorm":
            layers.append(nn.BatchNorm1d(WIDTH))
        layers.append(nn.ReLU())
        if kind == "dropout":
            layers.append(nn.Dropout(0.5))
    return nn.Sequential(*layers, nn.Linear(WIDTH, 10))


histories = {}
for kind in ("plain", "dropout", "batchnorm"):
    mc.manual_seed(1)
    model = mlp(kind)
    histories[kind] = fit(
        model,
        DataLoader(few, batch_size=32, shuffle=True, seed=0),
        epochs=EPOCHS,
        optimizer=optim.Adam(model.parameters(), lr=1e-3),
        val_loader=DataLoader(test_set, batch_size=500),
        progress=False,
    )
    h = histories[kind]
    print(f"{kind:9s} train accuracy {h['accuracy'][-1]:.3f}, test accuracy "
          f"{h['val_accuracy'][-1]:.3f}, gap {h['accuracy'][-1] - h['val_accuracy'][-1]:+.3f}")  # fmt: skip

# %%
figure = Figure(figsize=(9, 3.5), layout="constrained")
loss_ax, acc_ax = figure.subplots(1, 2)
for kind, h in histories.items():
    epochs = np.arange(1, len(h["loss"]) + 1)
    (line,) = loss_ax.plot(epochs, h["loss"], label=f"{kind} train")
    loss_ax.plot(epochs, h["val_loss"], "--", color=line.get_color(), label=f"{kind} test")
    acc_ax.plot(epochs, h["accuracy"], color=line.get_color(), label=f"{kind} train")
    acc_ax.plot(epochs, h["val_accuracy"], "--", color=line.get_color(), label=f"{kind} test")
loss_ax.set(xlabel="epoch", ylabel="loss", title=f"Loss ({TRAIN} training digits)")
acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Accuracy: train (solid), test (dashed)")
acc_ax.legend(fontsize=7)
figure.savefig(OUT / "06_regularisation.png", dpi=120)
figure  # noqa: B018 (a notebook cell shows its last value)

# %% [markdown]
# All three reach (nearly) 100% on their training digits, far above their test accuracy:
# with so few examples they memorise. The test *loss* shows the difference: the plain
# network's turns upwards while its training loss keeps falling (it grows confidently
# wrong on the digits it misses); dropout's stays lower (each step trains a different
# thinned network, so no unit can rely on another) and its training accuracy lags behind.
# BatchNorm mostly speeds training up; its batch-to-batch noise regularises a little too.
