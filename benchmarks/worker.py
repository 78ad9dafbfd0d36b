"""One framework's side of a benchmark, in a process of its own (started by ``__main__``).

    python -m benchmarks.worker minicnn ops --repeats 10
    python -m benchmarks.worker torch train:small-vgg --repeats 5

prints one JSON object: the times of each job (milliseconds per run) and the process's memory
(resident set size, MB). A job is ``ops`` (every op row, or ``ops:NAME,NAME``), ``train:MODEL``
(a training step: forward, cross-entropy, backward, SGD with momentum), ``infer:MODEL``
(a forward pass under ``no_grad`` in evaluation mode) or ``memory`` (resident memory over
repeated ``no_grad`` forward passes, and after one large batch).

The thread count comes from the environment that ``__main__`` sets before Python starts
(``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``); PyTorch also gets
``torch.set_num_threads``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import minicnn  # noqa: E402
from benchmarks import models as zoo  # noqa: E402
from benchmarks import ops  # noqa: E402

MB = 2**20


def rss_mb() -> float:
    """The resident set size of this process now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) to the current RSS; False if it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """The peak resident set size since the last :func:`reset_peak` (or since the start)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Framework:
    """The few calls in which the two frameworks differ."""

    def __init__(self, name: str, torch: Any = None):
        self.name, self.torch = name, torch

    def model(self, name: str) -> Any:
        ours = zoo.build_minicnn(name)
        if self.name == "minicnn":
            return ours
        weights = {k: np.array(v) for k, v in ours.state_dict().items()}
        return zoo.torch_twin(self.torch, name, weights)

    def tensor(self, a: np.ndarray) -> Any:
        return minicnn.tensor(a) if self.name == "minicnn" else self.torch.from_numpy(a)

    def sgd(self, model: Any) -> Any:
        optim = minicnn.optim if self.name == "minicnn" else self.torch.optim
        return optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def cross_entropy(self, logits: Any, target: Any) -> Any:
        functional = minicnn.functional if self.name == "minicnn" else self.torch.nn.functional
        return functional.cross_entropy(logits, target)

    def no_grad(self) -> Any:
        return minicnn.no_grad() if self.name == "minicnn" else self.torch.no_grad()


def _timed(run, repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _batch(name: str, batch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    spec = zoo.MODELS[name]
    shape = (batch or spec.input_shape[0], *spec.input_shape[1:])
    rng = np.random.default_rng(0)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(
        0, spec.num_classes, shape[0]
    )


def train(fw: Framework, name: str, repeats: int, warmup: int) -> dict:
    """Training steps of ``name`` on one fixed batch: ms per step and the step's memory."""
    model = fw.model(name)
    model.train()
    optimizer = fw.sgd(model)
    x, y = _batch(name)
    x, y = fw.tensor(x), fw.tensor(y)

    def step() -> None:
        loss = fw.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    gc.collect()
    before = rss_mb()
    exact = reset_peak()
    times = _timed(step, repeats, warmup)
    return {"times": times, "rss_before": before, "peak": peak_mb(), "peak_exact": exact}


def infer(fw: Framework, name: str, repeats: int, warmup: int) -> dict:
    """Forward passes of ``name`` under no_grad in evaluation mode."""
    model = fw.model(name)
    model.eval()
    x = fw.tensor(_batch(name)[0])

    def forward() -> None:
        with fw.no_grad():
            model(x)

    gc.collect()
    before = rss_mb()
    exact = reset_peak()
    times = _timed(forward, repeats, warmup)
    return {"times": times, "rss_before": before, "peak": peak_mb(), "peak_exact": exact}


def memory(fw: Framework, passes: int) -> dict:
    """Resident memory over ``passes`` no_grad forward passes of LeNet-5 (batch 64), then
    after one batch of 1,000 and ten more batches of 64 (does the large batch stay?)."""
    model = fw.model("lenet5")
    model.eval()
    x = fw.tensor(_batch("lenet5")[0])
    big = fw.tensor(_batch("lenet5", 1000)[0])
    samples = {}
    with fw.no_grad():
        for i in range(1, passes + 1):
            model(x)
            if i in (1, 10, 100) or i % max(1, passes // 10) == 0:
                samples[i] = rss_mb()
        before_big = rss_mb()
        model(big)
        for _ in range(10):
            model(x)
    gc.collect()
    return {"samples": samples, "before_big": before_big, "after_big": rss_mb()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("framework", choices=["minicnn", "torch"])
    parser.add_argument("job")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--passes", type=int, default=1000, help="forward passes of 'memory'")
    args = parser.parse_args(argv)

    torch = None
    if args.framework == "torch":
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())))
    fw = Framework(args.framework, torch)
    kind, _, what = args.job.partition(":")
    if kind == "ops":
        names = what.split(",") if what else [row.name for row in ops.ROWS]
        rows = {row.name: row for row in ops.ROWS}
        result = {
            name: {"times": ops.time_row(fw.name, rows[name], args.repeats, args.warmup, torch)}
            for name in names
        }
    elif kind == "train":
        result = train(fw, what, args.repeats, args.warmup)
    elif kind == "infer":
        result = infer(fw, what, args.repeats, args.warmup)
    elif kind == "memory":
        result = memory(fw, args.passes)
    else:
        raise SystemExit(f"unknown job {args.job!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
