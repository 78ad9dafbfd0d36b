"""minicnn's benchmark suite, next to PyTorch's CPU build: ``python -m benchmarks``.

    python -m benchmarks                       # everything, 3 rounds, writes benchmarks/results.md
    python -m benchmarks --only ops --rounds 5
    python -m benchmarks --only train --threads 1
    python -m benchmarks --quick               # one round, few repeats: a smoke test

Every job (all op rows, a model's training step, a model's inference, the memory check) runs
in a fresh process per framework (``benchmarks/worker.py``): PyTorch's busy-waiting threads
would slow NumPy down in a shared process. Both get the same thread count, set in the
environment before Python starts. The frameworks alternate which goes first from round to
round; each figure is the median over all runs of all rounds. Without PyTorch the suite
prints and writes minicnn's figures alone.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks import ops

HERE = Path(__file__).resolve().parent
TRAIN = {"lenet5": 20, "small-vgg": 10, "small-resnet18": 5}  # model -> timed steps
INFER = {"vgg16": 5, "resnet50": 10}  # model -> timed forward passes


def _has_torch() -> bool:
    return (
        subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0
    )


def _worker(framework: str, job: str, threads: int, *options: str) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    command = [sys.executable, "-m", "benchmarks.worker", framework, job, *options]
    done = subprocess.run(command, cwd=HERE.parent, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _environment(threads: int, torch: bool) -> list[str]:
    code = (
        "import json, numpy, threadpoolctl, minicnn\n"
        "info = {'numpy': numpy.__version__, 'pools': threadpoolctl.threadpool_info()}\n"
    )
    if torch:
        code += (
            "import torch\ninfo['torch'] = torch.__version__\n"
            "info['torch_threads'] = torch.get_num_threads()\n"
            "info['torch_pools'] = threadpoolctl.threadpool_info()\n"
        )
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    env["MKL_NUM_THREADS"] = str(threads)
    out = subprocess.run(
        [sys.executable, "-c", code + "print(json.dumps(info))"],
        cwd=HERE.parent, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    info = json.loads(out.stdout)

    def pools(entries: list[dict]) -> str:
        return "; ".join(
            f"{p.get('internal_api')} {p.get('version') or ''} "
            f"({p.get('architecture') or p.get('threading_layer') or '-'}, "
            f"{p.get('num_threads')} threads)"
            for p in entries
        )

    lines = [
        f"- Date: {datetime.date.today().isoformat()}",
        f"- Machine: {_cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()}, NumPy {info['numpy']}; thread pools in "
        f"minicnn's process: {pools(info['pools'])}",
    ]
    if torch:
        lines.append(
            f"- PyTorch {info['torch']} (CPU), torch.get_num_threads() = {info['torch_threads']}; "
            f"thread pools in its process: {pools(info['torch_pools'])}"
        )
    else:
        lines.append("- PyTorch: not installed, minicnn's figures only")
    lines.append(
        f"- Threads: {threads} for both (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS"
        " set before each process starts; torch.set_num_threads). NumPy's elementwise loops"
        " are single-threaded."
    )
    return lines


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _ratio(ours: float, theirs: float | None) -> str:
    return "-" if theirs is None else f"{ours / theirs:.2f}"


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def run(args: argparse.Namespace) -> list[str]:
    torch = not args.no_torch and _has_torch()
    frameworks = ["minicnn", "torch"] if torch else ["minicnn"]
    quick = args.quick
    rounds = 1 if quick else args.rounds
    want = set(args.only.split(",")) if args.only else {"ops", "train", "infer", "memory"}
    rows = [r for r in ops.ROWS if not args.rows or r.name in args.rows.split(",")]

    jobs: list[tuple[str, list[str]]] = []  # (job, worker options)
    if "ops" in want and rows:
        reps = ["--repeats", str(2 if quick else args.repeats), "--warmup", "1" if quick else "2"]
        jobs.append(("ops:" + ",".join(r.name for r in rows), reps))
    for kind, counts in (("train", TRAIN), ("infer", INFER)):
        if kind in want:
            for model, count in counts.items():
                jobs.append((f"{kind}:{model}", ["--repeats", str(2 if quick else count)]))
    results: dict[tuple[str, str], list[dict]] = {}
    for r in range(rounds):
        order = frameworks if r % 2 == 0 else frameworks[::-1]
        for job, options in jobs:
            for fw in order:
                print(f"round {r + 1}/{rounds}: {fw} {job}", file=sys.stderr, flush=True)
                results.setdefault((job, fw), []).append(_worker(fw, job, args.threads, *options))
    mem: dict[str, dict] = {}
    if "memory" in want:
        passes = "100" if quick else str(args.passes)
        for fw in frameworks:
            print(f"memory: {fw}, {passes} passes", file=sys.stderr, flush=True)
            mem[fw] = _worker(fw, "memory", args.threads, "--passes", passes)

    lines = ["# Benchmark results", "", "Written by `python -m benchmarks` (see README.md).", ""]
    lines += _environment(args.threads, torch)
    lines += [
        f"- Rounds: {rounds}, frameworks alternating which goes first; medians of all runs",
        "",
    ]

    def times(job: str, fw: str, key: str | None = None) -> float | None:
        runs = results.get((job, fw))
        if not runs:
            return None
        return _median([t for run in runs for t in (run[key] if key else run)["times"]])

    def memory_of(job: str, fw: str) -> tuple[float | None, float | None]:
        runs = results.get((job, fw))
        if not runs:
            return None, None
        return _median([r["peak"] for r in runs]), _median(
            [r["peak"] - r["rss_before"] for r in runs]
        )

    if "ops" in want and rows:
        job = jobs[0][0]
        lines += [
            "## Ops: forward + backward, float32 (ms)",
            "",
            "| op | shape | minicnn | torch | ratio |",
            "|---|---|---:|---:|---:|",
        ]
        for row in rows:
            ours, theirs = times(job, "minicnn", row.name), times(job, "torch", row.name)
            lines.append(
                f"| {row.op} | {row.text} | {ours:.2f} | {_fmt(theirs, 2)} | {_ratio(ours, theirs)} |"
            )
        lines.append("")
    for kind, title, counts in (
        ("train", "Training step: forward, cross-entropy, backward, SGD with momentum", TRAIN),
        ("infer", "Inference: no_grad forward, evaluation mode", INFER),
    ):
        if kind not in want:
            continue
        lines += [
            f"## {title}",
            "",
            "Peak: the process's peak resident memory during the timed runs (MB); above start:"
            " that peak minus the resident memory just before the first run (model, optimizer"
            " and batch already built).",
            "",
            "| model | input | minicnn ms | torch ms | ratio | minicnn img/s | torch img/s "
            "| minicnn peak | torch peak | minicnn above start | torch above start | ratio |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        from benchmarks.models import MODELS

        for model in counts:
            job = f"{kind}:{model}"
            shape = MODELS[model].input_shape
            ours, theirs = times(job, "minicnn"), times(job, "torch")
            (p_ours, d_ours), (p_theirs, d_theirs) = (
                memory_of(job, "minicnn"),
                memory_of(job, "torch"),
            )
            lines.append(
                f"| {model} | {shape} | {ours:.1f} | {_fmt(theirs)} | {_ratio(ours, theirs)} "
                f"| {shape[0] * 1e3 / ours:.1f} | "
                f"{'-' if theirs is None else f'{shape[0] * 1e3 / theirs:.1f}'} "
                f"| {p_ours:.0f} | {_fmt(p_theirs, 0)} | {d_ours:.0f} | {_fmt(d_theirs, 0)} "
                f"| {_ratio(d_ours, d_theirs)} |"
            )
        lines.append("")
    if mem:
        passes = max(int(k) for k in mem["minicnn"]["samples"])
        lines += [
            f"## Memory over {passes} no_grad forward passes (LeNet-5, batch 64), resident MB",
            "",
            "| framework | after 1 | after 10 | after 100 | after "
            f"{passes} | growth 100 -> {passes} | one batch of 1,000, then 10 of 64: retained |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for fw, m in mem.items():
            s = {int(k): v for k, v in m["samples"].items()}
            lines.append(
                f"| {fw} | {s[1]:.1f} | {s[10]:.1f} | {s[100]:.1f} | {s[passes]:.1f} "
                f"| {s[passes] - s[100]:+.1f} | {m['after_big'] - m['before_big']:+.1f} |"
            )
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10, help="runs of each op per round")
    parser.add_argument(
        "--passes", type=int, default=1000, help="forward passes of the memory check"
    )
    parser.add_argument("--only", default="", help="comma-separated: ops, train, infer, memory")
    parser.add_argument("--rows", default="", help="comma-separated op rows (default: all)")
    parser.add_argument("--quick", action="store_true", help="one round, two runs of each")
    parser.add_argument("--no-torch", action="store_true", help="minicnn only")
    parser.add_argument("--out", default=str(HERE / "results.md"), help="'-' prints only")
    args = parser.parse_args(argv)
    text = "\n".join(run(args)) + "\n"
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text)
        print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
