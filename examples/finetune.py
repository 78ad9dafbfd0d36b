"""Transfer learning: reuse a CNN trained on digits 0-4 to recognise digits 5-9.

The convolutional layers of a trained CNN detect strokes, curves and corners, features that
are useful for other digits too. So instead of training a new network from scratch on a
second task, we keep those layers and train only what is task-specific:

1. Train a small CNN (3 conv blocks + a linear classifier) on digits 0-4 (task A).
2. Replace the classifier by a new head for digits 5-9 (task B), *freeze* the three conv
   blocks (``requires_grad_(False)``: they get no gradients, so the optimizer skips them) and
   train the head alone, on only a few labelled examples of task B.
3. Unfreeze the last conv block and fine-tune it together with the head, the block with a
   smaller learning rate (an optimizer with two parameter groups).

For comparison the same network is also trained from scratch on the few task-B examples,
for as many epochs as stages 2 and 3 together. Typical test accuracies (they vary a few
points with ``--seed``): task A about 97%; task B with the frozen base about 80%, after
fine-tuning block 3 about 86%, from scratch about 84%. The less task-B data there is, the
more the borrowed features help; with thousands of examples, training from scratch catches up.

Uses the 5,000-digit MNIST sample bundled with minicnn (no download) and runs in seconds on a
laptop CPU: ``python examples/finetune.py [--per-class 25] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import minicnn as mc
from minicnn import nn, optim
from minicnn.data import MNIST, ArrayDataset, DataLoader
from minicnn.train import evaluate, fit


class SmallCNN(nn.Module):
    """Three conv blocks (conv 3x3, ReLU, 2x2 max-pool) and a linear head.

    Shapes: (N, 1, 28, 28) -> block1 (N, 8, 14, 14) -> block2 (N, 16, 7, 7)
    -> block3 (N, 32, 3, 3) -> head (N, num_classes).
    """

    def __init__(self, num_classes: int):
        super().__init__()
        self.block1 = self.conv_block(1, 8)
        self.block2 = self.conv_block(8, 16)
        self.block3 = self.conv_block(16, 32)
        self.head = self.new_head(num_classes)

    @staticmethod
    def conv_block(c_in: int, c_out: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))

    @staticmethod
    def new_head(num_classes: int) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(32 * 3 * 3, num_classes))

    def forward(self, x: mc.Tensor) -> mc.Tensor:
        return self.head(self.block3(self.block2(self.block1(x))))


def digits(split: str, first: int, per_class: int | None = None) -> ArrayDataset:
    """MNIST digits first..first+4 relabelled 0..4, optionally ``per_class`` of each."""
    data = MNIST(split)
    chosen = []
    for digit in range(first, first + 5):
        (where,) = np.nonzero(data.targets == digit)
        chosen.append(where[:per_class])
    index = np.sort(np.concatenate(chosen))
    return ArrayDataset(data.images[index], data.targets[index] - first)


def train(model: nn.Module, data: ArrayDataset, optimizer: optim.Optimizer, epochs: int) -> None:
    """minicnn's training loop (cross-entropy); only the trainable parameters change."""
    loader = DataLoader(data, batch_size=32, shuffle=True)
    fit(model, loader, epochs=epochs, optimizer=optimizer, progress=False)


def accuracy(model: nn.Module, data: ArrayDataset) -> float:
    """Test accuracy in percent."""
    return 100.0 * evaluate(model, DataLoader(data, batch_size=250)).accuracy


def trainable(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def report(stage: str, model: nn.Module, data: ArrayDataset, start: float) -> None:
    n = sum(p.numel() for p in trainable(model))
    print(
        f"{stage:<44} trainable parameters {n:>6}   test accuracy {accuracy(model, data):5.1f}%"
        f"   ({time.perf_counter() - start:.1f} s)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs-a", type=int, default=3, help="epochs on digits 0-4")
    parser.add_argument("--epochs-b", type=int, default=8, help="epochs of each task-B stage")
    parser.add_argument(
        "--per-class", type=int, default=25, help="task-B training digits per class"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    mc.manual_seed(args.seed)
    start = time.perf_counter()

    task_a, test_a = digits("train", 0), digits("test", 0)
    task_b, test_b = digits("train", 5, args.per_class), digits("test", 5)
    print(
        f"task A: {len(task_a)} training digits 0-4; task B: {len(task_b)} training digits 5-9 "
        f"({args.per_class} per class); chance is 20%"
    )

    # 1. Train everything on task A.
    model = SmallCNN(num_classes=5)
    train(model, task_a, optim.Adam(model.parameters(), lr=2e-3), args.epochs_a)
    report("1. digits 0-4, all layers trained", model, test_a, start)

    # 2. New head for task B; freeze the convolutional base ("freeze layers 1-3").
    model.head = SmallCNN.new_head(num_classes=5)
    for block in (model.block1, model.block2, model.block3):
        block.requires_grad_(False)
    frozen = {k: v.copy() for k, v in model.state_dict().items() if not k.startswith("head.")}
    report("   digits 5-9, new untrained head", model, test_b, start)
    train(model, task_b, optim.Adam(trainable(model), lr=1e-2), args.epochs_b)
    report("2. digits 5-9, base frozen, head trained", model, test_b, start)
    unchanged = all(np.array_equal(model.state_dict()[k], v) for k, v in frozen.items())
    print(f"   frozen conv weights unchanged: {unchanged}")

    # 3. Unfreeze block 3: fine-tune it gently (small lr) together with the head.
    model.block3.requires_grad_(True)
    optimizer = optim.Adam(
        [
            {"params": model.block3.parameters(), "lr": 3e-4},
            {"params": model.head.parameters()},
        ],
        lr=1e-3,
    )
    train(model, task_b, optimizer, args.epochs_b)
    report("3. digits 5-9, blocks 1-2 frozen, 3 + head", model, test_b, start)

    # Baseline: the same network and budget of task-B examples, trained from scratch.
    scratch = SmallCNN(num_classes=5)
    train(scratch, task_b, optim.Adam(scratch.parameters(), lr=2e-3), 2 * args.epochs_b)
    report("   baseline: digits 5-9 from scratch", scratch, test_b, start)


if __name__ == "__main__":
    main()
