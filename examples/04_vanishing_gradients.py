# %% [markdown]
# # 04 - Vanishing gradients and the degradation problem
#
# Three networks of the same depth (20 linear layers of width 64) on MNIST digits:
#
# 1. a plain chain with **sigmoid** activations,
# 2. the same chain with **ReLU**,
# 3. a **residual** network: the same layers in pairs, each pair added to its input
#    (`x + f(x)`, as in ResNet).
#
# The gradient of the loss reaches layer 1 through a product of one factor per layer above
# it. A sigmoid's slope is at most 1/4, so 19 of them shrink the gradient by many orders of
# magnitude: the first layers of the sigmoid chain barely learn. ReLU's slope is 1 where it
# is active, which helps, but a deep plain chain is still hard to train: adding layers makes
# it *worse*, even on the training set (the "degradation problem" that ResNet solved). The
# skip connections give the gradient a path that bypasses every pair, so it stays large
# down to the input.

# %%
import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import minicnn as mc
import minicnn.functional as F
from minicnn import inspect, nn, optim
from minicnn.data import MNIST, DataLoader, random_split
from minicnn.train import fit

QUICK = os.environ.get("MINICNN_QUICK") == "1"  # the test suite's small settings
OUT = Path(os.environ.get("MINICNN_OUT", "output"))
OUT.mkdir(parents=True, exist_ok=True)
DEPTH, WIDTH = (12, 32) if QUICK else (20, 64)
EPOCHS = 1 if QUICK else 4
mc.set_num_threads(1)  # matrices of 64 columns: one BLAS thread is faster than several

train_set, test_set = MNIST("train"), MNIST("test")
if QUICK:
    train_set = random_split(train_set, [400, 3600], stratified=True)[0]
    test_set = random_split(test_set, [200, 800], stratified=True)[0]

# %% [markdown]
# ## Three networks of the same depth

# %%


def plain(activation: type[nn.Module]) -> nn.Module:
    """Flatten, DEPTH - 1 hidden layers of WIDTH units with ``activation``, the classifier."""
    layers: list[nn.Module] = [nn.Flatten(), nn.Linear(28 * 28, WIDTH), activation()]
    for _ in range(DEPTH - 2):
        layers += [nn.Linear(WIDTH, WIDTH), activation()]
    return nn.Sequential(*layers, nn.Linear(WIDTH, 10))


class ResidualPair(nn.Module):
    """x + W2 relu(W1 x): two linear layers with a skip connection around them."""

    def __init__(self, width: int):
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, x: mc.Tensor) -> mc.Tensor:
        return F.relu(x + self.fc2(F.relu(self.fc1(x))))


def residual() -> nn.Module:
    """The same DEPTH linear layers: input layer, (DEPTH - 2) / 2 residual pairs, classifier."""
    blocks = [ResidualPair(WIDTH) for _ in range((DEPTH - 2) // 2)]
    return nn.Sequential(
        nn.Flatten(), nn.Linear(28 * 28, WIDTH), nn.ReLU(), *blocks, nn.Linear(WIDTH, 10)
    )


mc.manual_seed(0)
networks = {"sigmoid": plain(nn.Sigmoid), "relu": plain(nn.ReLU), "residual": residual()}
for name, net in networks.items():
    linear = sum(isinstance(m, nn.Linear) for m in net.modules())
    print(f"{name:9s} {linear} linear layers, {sum(p.numel() for p in net.parameters()):,} params")

# %% [markdown]
# ## Gradient flow at initialisation
# One batch, one backward pass; `gradient_flow` reads the gradient of every layer. The
# sigmoid chain's first layers get gradients many orders of magnitude smaller than its last.

# %%
x, y = next(iter(DataLoader(train_set, batch_size=128, shuffle=True, seed=0)))
flows = {}
for name, net in networks.items():
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    flows[name] = inspect.gradient_flow(net)
print(flows["sigmoid"])

for name, flow in flows.items():
    first, last = flow[0].mean_abs_grad, flow[-1].mean_abs_grad
    print(f"{name:9s} mean |grad| first layer {first:.2e}, last layer {last:.2e}, "
          f"ratio {first / last:.1e}")  # fmt: skip

# %%
figure = Figure(figsize=(7, 3.5), layout="constrained")  # no pyplot: no window, no state
ax = figure.add_subplot()
for name, flow in flows.items():
    ax.plot(range(1, len(flow) + 1), flow.mean_abs_grads, marker="o", label=name)
ax.set_yscale("log")
ax.set_xlabel("linear layer (1 = next to the input)")
ax.set_ylabel("mean |grad|")
ax.set_title(f"Gradient flow at initialisation, depth {DEPTH}")
ax.legend()
figure.savefig(OUT / "04_gradient_flow.png", dpi=120)
flows["sigmoid"].plot(OUT / "04_gradient_flow_sigmoid.png", title="Sigmoid chain")
figure  # noqa: B018 (a notebook cell shows its last value)

# %% [markdown]
# ## Training the three
# Same optimizer, same data, same number of steps.

# %%
histories = {}
for name, net in networks.items():
    mc.manual_seed(1)
    histories[name] = fit(
        net,
        DataLoader(train_set, batch_size=64, shuffle=True, seed=0),
        epochs=EPOCHS,
        optimizer=optim.SGD(net.parameters(), lr=0.05, momentum=0.9),
        val_loader=DataLoader(test_set, batch_size=500),
        progress=False,
    )
    h = histories[name]
    print(f"{name:9s} train loss {h['loss'][-1]:.3f}  val accuracy {h['val_accuracy'][-1]:.3f}")

# %%
figure = Figure(figsize=(9, 3.5), layout="constrained")
loss_ax, acc_ax = figure.subplots(1, 2)
for name, h in histories.items():
    epochs = np.arange(1, len(h["loss"]) + 1)
    loss_ax.plot(epochs, h["loss"], marker="o", label=name)
    acc_ax.plot(epochs, h["val_accuracy"], marker="o", label=name)
loss_ax.set(xlabel="epoch", ylabel="training loss", title="Training loss")
acc_ax.set(xlabel="epoch", ylabel="validation accuracy", title="Validation accuracy")
acc_ax.legend()
figure.savefig(OUT / "04_training_curves.png", dpi=120)
figure  # noqa: B018 (a notebook cell shows its last value)

# %% [markdown]
# In a few epochs the sigmoid chain does not leave chance level (10%), nor does the plain
# ReLU chain with PyTorch's default initialisation (its signal and its gradient shrink at
# every layer; `nn.init.kaiming_normal_` rescales them and helps, but only so far). The
# residual network of the same depth trains like a shallow one.
