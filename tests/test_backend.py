"""The backend boundary: which modules may import numpy and cupy, devices, seeding."""

import ast
from pathlib import Path

import numpy as np
import pytest

from minicnn import backend

PACKAGE = Path(__file__).resolve().parent.parent / "minicnn"
# Device code: runs on NumPy and CuPy alike, so it must get its array module from the backend.
DEVICE_CODE = [
    "tensor.py",
    "autograd.py",
    "functions.py",
    "creation.py",
    "functional.py",
    "ops",
    "nn",
    "optim",
]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_files(entry: str) -> list[Path]:
    path = PACKAGE / entry
    return sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []


def test_only_the_backend_imports_cupy():
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "backend.py" and {"cupy", "cupyx"} & imported_modules(p)
    ]
    assert offenders == []


def test_device_code_never_imports_numpy():
    files = [p for entry in DEVICE_CODE for p in python_files(entry)]
    assert len(files) >= 5
    offenders = [str(p.relative_to(PACKAGE)) for p in files if "numpy" in imported_modules(p)]
    assert offenders == []


def test_array_module_and_device_of_host_arrays():
    a = np.zeros(3)
    assert backend.get_array_module(a) is np
    assert backend.device_of(a) == "cpu"
    assert backend.to_host(a) is a


def test_device_names():
    assert backend.normalize_device(None) == "cpu"
    assert backend.normalize_device("CPU") == "cpu"
    with pytest.raises(ValueError, match="one GPU"):
        backend.normalize_device("cuda:1")


def test_manual_seed_resets_every_generator():
    backend.manual_seed(7)
    first = backend.default_generator("cpu").random(3)
    backend.manual_seed(7)
    np.testing.assert_array_equal(backend.default_generator("cpu").random(3), first)


def test_rng_state_round_trip():
    backend.manual_seed(1)
    state = backend.get_rng_state()
    a = backend.default_generator().random(4)
    backend.set_rng_state(state)
    np.testing.assert_array_equal(backend.default_generator().random(4), a)


@pytest.mark.skipif(not backend.cuda_available(), reason="no CUDA GPU with CuPy here")
def test_arrays_move_between_devices():
    gpu = backend.to_device(np.arange(3.0), "cuda")
    assert backend.device_of(gpu) == "cuda"
    np.testing.assert_array_equal(backend.to_host(gpu), [0.0, 1.0, 2.0])


def test_workspace_is_reused_grown_and_freed():
    backend.free_workspace()
    a = backend.workspace((3, 4), np.float32)
    assert a.shape == (3, 4) and a.dtype == np.float32 and a.flags.c_contiguous
    b = backend.workspace((2, 5), np.float64)  # 80 bytes > 48: a larger buffer
    assert b.shape == (2, 5) and b.dtype == np.float64
    assert not np.shares_memory(a, b)
    c = backend.workspace((6,), np.float32)  # fits: the same memory again
    assert np.shares_memory(b, c)
    backend.free_workspace()
    assert not np.shares_memory(c, backend.workspace((6,), np.float32))
