"""examples/finetune.py runs end to end and every stage learns (accuracies well above chance)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import minicnn

REPO = Path(minicnn.__file__).resolve().parent.parent


@pytest.mark.slow
def test_finetune_example_prints_accuracies_above_chance():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "finetune.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    accuracies = {
        match[1]: float(match[2])
        for match in re.finditer(
            r"^ *(\d|baseline)\S* .*test accuracy +([\d.]+)%", result.stdout, re.M
        )
    }
    assert sorted(accuracies) == ["1", "2", "3", "baseline"], result.stdout
    # chance is 20% (5 classes in each task)
    assert accuracies["1"] > 85, result.stdout
    assert accuracies["2"] > 50 and accuracies["3"] > 50 and accuracies["baseline"] > 40, (
        result.stdout
    )
    assert "frozen conv weights unchanged: True" in result.stdout
