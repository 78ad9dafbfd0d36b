"""Time a training epoch of small CNNs on the bundled MNIST sample, minicnn next to PyTorch.

    python benchmarks/train.py                # both models, 1 epoch each
    python benchmarks/train.py --epochs 2 --threads 1

The same architecture is built in both frameworks from the same initial weights (copied through
``state_dict``), trained with SGD (momentum 0.9) on the same batches, and evaluated on the
sample's 1,000 test digits. The table gives seconds per epoch (4,000 digits), the ratio
minicnn / torch, and both test accuracies: they should be close, since the two frameworks
compute the same function.

minicnn trains with its one training loop, ``minicnn.train.fit``, which also reads each batch's
loss and predicted classes for its logs; the PyTorch loop does the same (``loss.item()``,
``argmax``), so that both sides do the same work.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import minicnn  # noqa: E402
from minicnn import nn  # noqa: E402
from minicnn.data import MNIST, DataLoader  # noqa: E402
from minicnn.train import evaluate, fit  # noqa: E402


def lenet(nn_module):
    """LeNet-5 for 28x28 digits (padding 2 in the first convolution gives the classic 32x32)."""
    return nn_module.Sequential(
        nn_module.Conv2d(1, 6, 5, padding=2), nn_module.ReLU(), nn_module.MaxPool2d(2),
        nn_module.Conv2d(6, 16, 5), nn_module.ReLU(), nn_module.MaxPool2d(2),
        nn_module.Flatten(),
        nn_module.Linear(400, 120), nn_module.ReLU(),
        nn_module.Linear(120, 84), nn_module.ReLU(),
        nn_module.Linear(84, 10),
    )  # fmt: skip


def small_vgg(nn_module):
    """Two VGG-style blocks (3x3 convolutions, BatchNorm, ReLU, 2x2 max pooling), one linear."""

    def block(cin, cout):
        return [
            nn_module.Conv2d(cin, cout, 3, padding=1), nn_module.BatchNorm2d(cout), nn_module.ReLU(),
            nn_module.Conv2d(cout, cout, 3, padding=1), nn_module.BatchNorm2d(cout), nn_module.ReLU(),
            nn_module.MaxPool2d(2),
        ]  # fmt: skip

    return nn_module.Sequential(
        *block(1, 32), *block(32, 64), nn_module.Flatten(), nn_module.Linear(64 * 7 * 7, 10)
    )


MODELS = {"lenet5": lenet, "small-vgg": small_vgg}


class Replay:
    """Recorded epochs of batches: each pass over it (each epoch of ``fit``) gives the next."""

    def __init__(self, epochs: list[list[tuple[np.ndarray, np.ndarray]]]):
        self.epochs, self.passes = epochs, 0

    def __len__(self) -> int:
        return len(self.epochs[0])

    def __iter__(self):
        self.passes += 1
        return iter(self.epochs[self.passes - 1])


def batches(epochs: int, batch_size: int) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """The shuffled batches of each epoch, read once, so that no timing includes the reading."""
    loader = DataLoader(MNIST("train"), batch_size=batch_size, shuffle=True, seed=0)
    return [[(x.numpy(), y.numpy()) for x, y in loader] for _ in range(epochs)]


def test_arrays() -> tuple[np.ndarray, np.ndarray]:
    x, y = next(iter(DataLoader(MNIST("test"), batch_size=1000)))
    return x.numpy(), y.numpy()


def train_minicnn(model, data, test, lr: float) -> tuple[float, float]:
    optimizer = minicnn.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    start = time.perf_counter()
    fit(model, Replay(data), epochs=len(data), optimizer=optimizer, progress=False)
    seconds = time.perf_counter() - start
    return seconds, evaluate(model, [test]).accuracy


def train_torch(torch, model, data, test, lr: float) -> tuple[float, float]:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    start = time.perf_counter()
    for epoch in data:
        loss_sum, correct = 0.0, 0
        for x, y in epoch:
            target = torch.from_numpy(y)
            output = model(torch.from_numpy(x))
            loss = torch.nn.functional.cross_entropy(output, target)
            loss_sum += loss.item() * len(y)  # what fit reads for its logs
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            correct += int((output.argmax(dim=1) == target).sum())
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(test[0])).argmax(dim=1).numpy()
    return seconds, float((predicted == test[1]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--threads", type=int, default=None, help="PyTorch threads")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: minicnn's column only")
    if torch is not None and args.threads:
        torch.set_num_threads(args.threads)

    data, test = batches(args.epochs, args.batch_size), test_arrays()
    print(f"{args.epochs} epoch(s) of {len(data[0])} batches of {args.batch_size}\n")
    print("| model | minicnn s/epoch | torch s/epoch | ratio | minicnn acc | torch acc |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, build in MODELS.items():
        minicnn.manual_seed(0)
        ours = build(nn)
        weights = {k: np.array(v) for k, v in ours.state_dict().items()}
        t_ours, acc_ours = train_minicnn(ours, data, test, args.lr)
        row = f"| {name} | {t_ours / args.epochs:.2f} |"
        if torch is None:
            print(f"{row} - | - | {acc_ours:.3f} | - |")
            continue
        theirs = build(torch.nn)
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        t_theirs, acc_theirs = train_torch(torch, theirs, data, test, args.lr)
        print(
            f"{row} {t_theirs / args.epochs:.2f} | {t_ours / t_theirs:.2f} | "
            f"{acc_ours:.3f} | {acc_theirs:.3f} |"
        )


if __name__ == "__main__":
    main()
