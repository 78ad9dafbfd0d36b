"""Time forward + backward of minicnn's CNN ops next to PyTorch's CPU implementation.

    python benchmarks/ops.py                 # every row, as many threads as CPU cores
    python benchmarks/ops.py --threads 1     # one thread for NumPy's BLAS and for PyTorch
    python benchmarks/ops.py --repeats 20 --only conv

Each row runs the op forward, then backward with a fixed upstream gradient, on float32 inputs
that all require grad (gradients are reset between runs, so nothing accumulates). The table
gives the median milliseconds of the repeats, after warm-up runs, for minicnn, for PyTorch
as installed, and for PyTorch with oneDNN switched off: then PyTorch's conv2d falls back to its
own im2col + matrix-product path, the algorithm minicnn uses, so that column compares like with
like. "ratio" is minicnn / torch. Without PyTorch only minicnn's times are printed; an op that
cannot be imported is skipped with the reason.

Timing on a shared machine: the frameworks take turns in blocks of a few runs, so both see the
same load; a pause before each block lets the other library's thread pool, which spins for a
while after its work, fall asleep instead of competing for the cores.

Threads: PyTorch gets ``torch.set_num_threads(threads)``; NumPy's BLAS (the matrix products,
where convolution spends most of its time) is limited to the same number through
``threadpoolctl`` when it is installed, else it uses its default (usually every core).
NumPy's elementwise work (im2col's copies, col2im's sums) is single-threaded either way.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import minicnn  # noqa: E402


# --- the rows --------------------------------------------------------------------------------
# op name (the same in minicnn.functional and torch.nn.functional), shape text, input shapes
# in the op's argument order, keyword arguments (the same for both frameworks).
class Row:
    def __init__(self, op: str, text: str, shapes: dict, **kwargs: Any):
        self.op, self.text, self.shapes, self.kwargs = op, text, shapes, kwargs


def _conv(x: tuple, out: int, k: int, transposed: bool = False, **kwargs: Any) -> Row:
    groups = kwargs.get("groups", 1)
    weight = (x[1], out // groups, k, k) if transposed else (out, x[1] // groups, k, k)
    text = f"{x} -> {out}, {k}x{k}" + "".join(f", {a}={v}" for a, v in kwargs.items())
    op = "conv_transpose2d" if transposed else "conv2d"
    shapes = {"x": x, "weight": weight, "bias": (out,)}
    return Row(op, text, shapes, **kwargs)


BATCH = (32, 64, 32, 32)
ROWS = [
    _conv(BATCH, 64, 3, padding=1),
    _conv((32, 3, 32, 32), 64, 3, padding=1),
    _conv(BATCH, 128, 3, stride=2, padding=1),
    _conv(BATCH, 128, 1),
    _conv(BATCH, 64, 3, padding=1, groups=64),
    _conv((32, 64, 16, 16), 32, 2, transposed=True, stride=2),
    Row("max_pool2d", f"{BATCH}, 2x2", {"x": BATCH}, kernel_size=2),
    Row("relu", f"{BATCH}", {"x": BATCH}),
    Row(
        "batch_norm",
        f"{BATCH}, training",
        {"x": BATCH, "running_mean": (64,), "running_var": (64,), "weight": (64,), "bias": (64,)},
        training=True,
    ),
]


def _arrays(shapes: dict) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
    if "running_var" in arrays:
        arrays["running_var"] = np.abs(arrays["running_var"]) + 1
    return arrays


def _step(fn: Callable, inputs: list, kwargs: dict, make_grad: Callable, sync: Callable):
    """A closure running one forward + backward of ``fn``."""
    leaves = [t for t in inputs if t.requires_grad]
    grad = make_grad(np.random.default_rng(1).standard_normal(fn(*inputs, **kwargs).shape))

    def run() -> None:
        for t in leaves:
            t.grad = None
        fn(*inputs, **kwargs).backward(grad)
        sync()

    return run


def _minicnn_step(row: Row, device: str) -> Callable:
    """One forward + backward of the row's op in minicnn."""
    fn = getattr(minicnn.functional, row.op)
    inputs = [
        minicnn.tensor(a, requires_grad=not name.startswith("running_"), device=device)
        for name, a in _arrays(row.shapes).items()
    ]
    make_grad = lambda g: minicnn.tensor(g.astype(np.float32), device=device).data  # noqa: E731
    sync = lambda: None  # noqa: E731
    if device != "cpu":
        sync = minicnn.backend.xp_for(device).cuda.Device().synchronize
    return _step(fn, inputs, row.kwargs, make_grad, sync)


def _torch_step(row: Row, torch: Any, onednn: bool) -> Callable:
    inputs = [
        torch.tensor(a, requires_grad=not name.startswith("running_"))
        for name, a in _arrays(row.shapes).items()
    ]
    make_grad = lambda g: torch.tensor(g.astype(np.float32))  # noqa: E731
    run = _step(getattr(torch.nn.functional, row.op), inputs, row.kwargs, make_grad, lambda: None)

    def with_flag() -> None:
        with torch.backends.mkldnn.flags(enabled=onednn):
            run()

    return with_flag


def _time(steps: list[Callable], warmup: int, repeats: int, block: int = 5) -> list[float]:
    """Median milliseconds of ``repeats`` runs of each step, after ``warmup`` runs of each.

    The steps take turns in blocks of ``block`` runs, each block after a short pause.
    """
    for step in steps:
        for _ in range(warmup):
            step()
    times: list[list[float]] = [[] for _ in steps]
    while len(times[-1]) < repeats:
        for step, bucket in zip(steps, times, strict=True):
            time.sleep(0.2)
            for _ in range(min(block, repeats - len(bucket))):
                start = time.perf_counter()
                step()
                bucket.append(time.perf_counter() - start)
    return [statistics.median(bucket) * 1e3 for bucket in times]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="minicnn's device: cpu or cuda")
    parser.add_argument("--only", default="", help="only the rows whose op contains this text")
    args = parser.parse_args(argv)

    limit_blas: Any = contextlib.nullcontext()
    blas_note = "NumPy BLAS threads: library default (install threadpoolctl to set them)"
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        limit_blas = threadpool_limits(limits=args.threads, user_api="blas")
        blas_note = f"NumPy BLAS threads: {args.threads}"
    try:
        import torch

        # torch.backends.mkldnn.flags() warns about Intel-GPU TF32 on every call: not our concern
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        torch.set_num_threads(args.threads)
        torch_note = f"PyTorch {torch.__version__}, torch.set_num_threads({args.threads})"
    except ImportError:
        torch = None
        torch_note = "PyTorch not installed: minicnn times only"

    print(
        f"# {platform.machine()}, {os.cpu_count()} cores; NumPy {np.__version__}, {blas_note}\n"
        f"# {torch_note}; minicnn on {args.device}; float32 forward + backward; median of "
        f"{args.repeats} runs after {args.warmup} warm-up runs\n"
    )
    print("| op | shape | minicnn ms | torch ms | ratio | torch, oneDNN off, ms | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    with limit_blas:
        for row in ROWS:
            if args.only not in row.op:
                continue
            mine = _minicnn_step(row, args.device)
            if torch is None:
                (ours,) = _time([mine], args.warmup, args.repeats)
                print(f"| {row.op} | {row.text} | {ours:.1f} | - | - | - | - |", flush=True)
                continue
            steps = [mine, _torch_step(row, torch, True), _torch_step(row, torch, False)]
            ours, ref, im2col_ref = _time(steps, args.warmup, args.repeats)
            print(
                f"| {row.op} | {row.text} | {ours:.1f} | {ref:.1f} | {ours / ref:.2f} | "
                f"{im2col_ref:.1f} | {ours / im2col_ref:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
