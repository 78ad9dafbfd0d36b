# %% [markdown]
# # 05 - The cost of an Inception block, and what 1x1 bottlenecks save
#
# An Inception block runs 1x1, 3x3 and 5x5 convolutions and a max pooling side by side and
# concatenates the results. Run directly on a 28x28x192 input, the large filters are
# expensive: every output pixel of a 5x5 convolution reads 5*5*192 = 4,800 values. GoogLeNet
# first shrinks the channels with a cheap 1x1 convolution (the "bottleneck"), then runs the
# large filter on the thin result. `minicnn.summary` counts the parameters and the
# multiply-accumulates (MACs) of every layer.

# %%
import os
from pathlib import Path

from matplotlib.figure import Figure

import minicnn as mc
from minicnn import functions, nn
from minicnn.models import InceptionBlock
from minicnn.summary import ModelSummary

OUT = Path(os.environ.get("MINICNN_OUT", "output"))
OUT.mkdir(parents=True, exist_ok=True)
SHAPE = (192, 28, 28)  # the course's block: GoogLeNet's inception (3a) input

# %% [markdown]
# ## One 5x5 convolution, with and without a bottleneck
# 5x5, 192 -> 32 channels on 28x28: 28*28*32 outputs * 5*5*192 MACs each = 120,422,400.
# A 1x1 to 16 channels first: 28*28*16 * 192 = 2,408,448, then the 5x5 on 16 channels:
# 28*28*32 * 5*5*16 = 10,035,200, in all 12,443,648: almost ten times fewer.

# %%
direct = nn.Conv2d(192, 32, 5, padding=2)
bottleneck = nn.Sequential(nn.Conv2d(192, 16, 1), nn.ReLU(), nn.Conv2d(16, 32, 5, padding=2))
direct_cost = mc.summary(direct, SHAPE)
bottleneck_cost = mc.summary(bottleneck, SHAPE)
print(bottleneck_cost)
assert direct_cost.total_macs == 120_422_400
assert bottleneck_cost.total_macs == 12_443_648
print(f"direct 5x5: {direct_cost.total_macs:,} MACs, {direct_cost.total_params:,} params")
print(f"1x1 then 5x5: {bottleneck_cost.total_macs:,} MACs, {bottleneck_cost.total_params:,} params")

# %% [markdown]
# ## A whole block: naive versus with bottlenecks
# The naive block has the same branches without the 1x1 reductions (and the pooling branch
# passes its 192 channels on unchanged, which makes the next block's input grow too).

# %%


class NaiveInception(nn.Module):
    """1x1, 3x3 and 5x5 convolutions and a 3x3 max pooling, all on the input itself."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(in_channels, ch1x1, 1), nn.ReLU())
        self.branch2 = nn.Sequential(nn.Conv2d(in_channels, ch3x3, 3, padding=1), nn.ReLU())
        self.branch3 = nn.Sequential(nn.Conv2d(in_channels, ch5x5, 5, padding=2), nn.ReLU())
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x: mc.Tensor) -> mc.Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return functions.cat(branches, dim=1)


naive = NaiveInception(192, 64, 128, 32)
block = InceptionBlock(192, 64, 96, 128, 16, 32, 32)  # GoogLeNet's inception (3a)
naive_cost, block_cost = mc.summary(naive, SHAPE), mc.summary(block, SHAPE)
print(block_cost)
for name, cost in [("naive", naive_cost), ("with 1x1 bottlenecks", block_cost)]:
    print(f"{name:21s} {cost.total_macs:>12,} MACs {cost.total_params:>9,} params")
print(f"bottlenecks save {1 - block_cost.total_macs / naive_cost.total_macs:.0%} of the MACs, "
      f"{1 - block_cost.total_params / naive_cost.total_params:.0%} of the parameters")  # fmt: skip
y = naive(mc.zeros(1, *SHAPE))
print("naive output channels:", y.shape[1], " block output channels:", block.out_channels)

# %% [markdown]
# ## Where the multiplies go
# The MACs of each branch, summed over its layers (the rows of the summary are named
# `branch<k>.<layer>`).

# %%


def macs_per_branch(cost: ModelSummary) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in cost.rows:
        branch = row.name.split(".")[0]
        totals[branch] = totals.get(branch, 0) + row.macs
    return totals


labels = ["1x1", "3x3", "5x5", "pool"]
figure = Figure(figsize=(7, 3.5), layout="constrained")
ax = figure.add_subplot()
width = 0.38
for offset, (name, cost) in zip((-width / 2, width / 2),
                                [("naive", naive_cost), ("bottleneck", block_cost)],
                                strict=True):  # fmt: skip
    totals = macs_per_branch(cost)
    values = [totals.get(f"branch{k}", 0) / 1e6 for k in range(1, 5)]
    ax.bar([i + offset for i in range(4)], values, width, label=name)
ax.set_xticks(range(4), labels)
ax.set_ylabel("million MACs")
ax.set_title("Inception (3a) on 28x28x192: cost per branch")
ax.legend()
figure.savefig(OUT / "05_inception_cost.png", dpi=120)
figure  # noqa: B018 (a notebook cell shows its last value)
