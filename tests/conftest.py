"""Shared test settings: hypothesis runs without deadlines (timings vary on shared CI machines)."""

import pytest
from hypothesis import settings

settings.register_profile("minicnn", deadline=None, max_examples=25)
settings.load_profile("minicnn")


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
