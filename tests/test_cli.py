"""The ``minicnn`` command line, run in subprocesses with small settings."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minicnn

REPO = Path(minicnn.__file__).resolve().parent.parent
ACCURACY = re.compile(r"^test accuracy: (0\.\d{4}|1\.0000)$")


def run(*args, cwd=None, timeout=300):
    """``python -m minicnn ARGS`` in a fresh process; returns the CompletedProcess."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "OPENBLAS_NUM_THREADS": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "minicnn", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def fails_with(result, message):
    """Exit status 1, one line on stderr naming the problem, no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minicnn: error: "), result.stderr
    assert re.search(message, lines[0]), lines[0]


def test_help_and_version():
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "train", "evaluate", "summary"):
        assert command in result.stdout
    assert run("--version").stdout.strip() == f"minicnn {minicnn.__version__}"
    usage = run("demo", "--epochs", "0")
    assert usage.returncode == 2 and "must be a positive integer" in usage.stderr


@pytest.mark.slow
def test_demo_writes_the_report_and_its_pictures(tmp_path):
    out = tmp_path / "report"
    result = run("demo", "--epochs", 1, "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert ACCURACY.match(lines[-1]), result.stdout
    assert float(lines[-1].split()[-1]) > 0.5  # one epoch already reads most digits
    assert "epoch 1/1" in result.stderr and "img/s" in result.stderr  # the progress bar
    page = (out / "report.html").read_text(encoding="utf-8")
    pictures = re.findall(r'<img src="([^"]+)"', page)
    for name in ("curves.png", "confusion_matrix.png", "misclassified.png"):
        assert name in pictures
    for name in pictures:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert "Classification report" in page and "<td>weighted avg</td>" in page
    assert "Grad-CAM analysis of misclassified digits" in page
    assert "gradcam_layers.png" in pictures and "gradcam_divergence.png" in pictures
    assert "http" not in page  # opens offline, with no server
    # the checkpoint beside it is what `minicnn evaluate` tests
    evaluated = run("evaluate", out / "lenet5.safetensors", "--no-progress")
    assert evaluated.returncode == 0, evaluated.stderr
    assert evaluated.stdout.strip().splitlines()[-1] == lines[-1]


def test_train_then_evaluate_a_checkpoint(tmp_path):
    result = run(
        "train", "--model", "lenet5", "--dataset", "shapes", "--epochs", 1, "--out", tmp_path,
        "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert ACCURACY.match(result.stdout.strip().splitlines()[-1]), result.stdout
    checkpoint = tmp_path / "lenet5.safetensors"
    assert checkpoint.is_file() and (tmp_path / "curves.png").is_file()
    assert (tmp_path / "history.json").is_file()
    evaluated = run("evaluate", checkpoint, "--no-progress")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "circle" in evaluated.stdout and "weighted avg" in evaluated.stdout
    assert evaluated.stdout.strip().splitlines()[-1] == result.stdout.strip().splitlines()[-1]
    # the checkpoint of one model does not load into another
    fails_with(
        run("evaluate", checkpoint, "--model", "vgg_small"),
        r"is not a checkpoint of model vgg_small: Missing key\(s\)",
    )
    explained = run("explain", checkpoint, "--out", tmp_path / "cam", "--count", 2, "--no-progress")
    assert explained.returncode == 0, explained.stderr
    assert "lenet5: gradcam of 2 " in explained.stdout
    assert (tmp_path / "cam" / "gradcam_layers.png").stat().st_size > 0
    fails_with(run("explain", checkpoint, "--method", "magic"), r"unknown method 'magic'")


def test_train_on_an_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, name in enumerate(["dark", "light"]):
        (tmp_path / "pictures" / name).mkdir(parents=True)
        for i in range(10):
            pixels = rng.integers(0, 100, (12, 12, 3)) + 150 * label
            Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "pictures" / name / f"{i}.png")
    result = run(
        "train", "--model", "lenet5", "--dataset", tmp_path / "pictures", "--epochs", 2,
        "--batch-size", 4, "--out", tmp_path / "run", "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "16 training" not in result.stdout and "4 test images" in result.stdout
    assert ACCURACY.match(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "--model", "alexnet", "--dataset", "mnist"],
            r"unknown model 'alexnet'; choose one of: lenet5, vgg_small, ",
        ),
        (
            ["train", "--model", "lenet5", "--dataset", "no/such/folder"],
            r"unknown dataset 'no/such/folder': use mnist, shapes or the path of an image folder",
        ),
        (["evaluate", "missing.safetensors"], r"no checkpoint file 'missing.safetensors'"),
        (["summary", "lenet5", "--input", "1x28x28"], r"--input must be C,H,W"),
    ],
)
def test_user_errors_are_one_line(tmp_path, args, message):
    fails_with(run(*args, cwd=tmp_path), message)


def test_a_file_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "notes.safetensors").write_text("not a checkpoint")
    fails_with(run("evaluate", tmp_path / "notes.safetensors"), r"notes\.safetensors")
    fails_with(
        run("train", "--model", "lenet5", "--dataset", tmp_path / "notes.safetensors"), "is a file"
    )


def test_summary_of_a_model():
    result = run("summary", "lenet5", "--input", "1,28,28")
    assert result.returncode == 0, result.stderr
    assert "features.0 (Conv2d)" in result.stdout and "Total params: 61,706" in result.stdout
    fails_with(
        run("summary", "lenet5", "--input", "1,8,8"),
        r"model lenet5 does not take \(1, 8, 8\) inputs: Conv2d\(6, 16",
    )
