"""Shared test settings.

Hypothesis: one profile for the whole suite, "minicnn" (no deadlines: timings vary on shared CI
machines). Where the environment variable ``CI`` is set (``.ci/run`` exports ``CI=true``) the
"ci" profile is loaded instead: the same settings, derandomized, so that a CI run is
reproducible. Tests may ask for fewer examples where each is expensive; for more only with the
reason written next to it.

PyTorch is the oracle of the comparison tests and optional: a test that needs it takes the
``torch`` fixture, which returns the module or skips the test with one reason
(``TORCH_MISSING``); put it first where ``@given`` has positional strategies (they fill the
arguments from the right). Everything a test checks without PyTorch goes in a test that does not
take the fixture, so that it runs everywhere. PyTorch runs on one thread: with its own thread
pool next to NumPy's on a small machine, the two fight for the cores and the suite runs
several times slower.
"""

import functools
import os

import pytest
from hypothesis import settings

MINICNN = dict(deadline=None, max_examples=25)
# Explicit parents: where CI is set, hypothesis itself makes its own "ci" profile the default.
settings.register_profile("minicnn", settings.get_profile("default"), **MINICNN)
# hypothesis's "ci" profile (no example database, failing examples printed as blobs) with ours
settings.register_profile("ci", settings.get_profile("ci"), derandomize=True, **MINICNN)
settings.load_profile("ci" if os.environ.get("CI") else "minicnn")

TORCH_MISSING = "PyTorch is not installed: comparison with PyTorch skipped"


@functools.cache
def _import_torch():
    """PyTorch on one thread, or None where it cannot be imported. Imported on first use only,
    so that tests without PyTorch neither need it nor pay for its import."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only possible before any inter-op work: already started elsewhere
        pass
    return torch


@pytest.fixture(scope="session")
def torch():
    """The ``torch`` module (on one thread), or a skip where PyTorch is not installed.

    Session-scoped, so that hypothesis tests (``@given``) can take it too."""
    module = _import_torch()
    if module is None:
        pytest.skip(TORCH_MISSING)
    return module


@pytest.fixture(scope="session")
def torchvision(torch):
    """The ``torchvision`` module (the model zoo's oracle), or a skip where it is missing."""
    try:
        import torchvision
    except ImportError:
        pytest.skip("torchvision is not installed: comparison with torchvision skipped")
    return torchvision


@pytest.fixture
def zero_init(monkeypatch):
    """Random initialisation replaced by zeros while the test runs: building VGG16 draws
    138 million random numbers (seconds), which tests of shapes, counts and costs do not need."""
    from minicnn.nn import init

    def zero_fill(tensor, *args, **kwargs):
        tensor.data[...] = 0
        return tensor

    monkeypatch.setattr(init, "uniform_", zero_fill)
    monkeypatch.setattr(init, "normal_", zero_fill)


# --- the device of the device tests ------------------------------------------------------------


def pytest_addoption(parser):
    parser.addoption(
        "--device",
        default="cpu",
        help="device for the tests that take the `device` fixture: cpu (default), strict (the "
        "tests' stand-in for a GPU, see tests/strict_device.py) or cuda. With a device other "
        "than cpu, only those tests run: the others do not depend on it.",
    )


def pytest_configure(config):
    if config.getoption("--device") == "strict":
        import strict_device

        strict_device.register()


def pytest_collection_modifyitems(config, items):
    if config.getoption("--device") == "cpu":
        return
    selected = [item for item in items if "device" in getattr(item, "fixturenames", ())]
    config.hook.pytest_deselected(items=[item for item in items if item not in selected])
    items[:] = selected


@pytest.fixture(scope="session")
def device(request):
    """The device named by ``--device``: the tests that take it run their ops there."""
    import minicnn

    name = request.config.getoption("--device")
    if name.startswith("cuda") and not minicnn.cuda_available():
        pytest.skip("--device cuda needs CuPy and a GPU")
    return name
