"""minicnn.save / minicnn.load: exact round trips, atomic writes, rejected files, PyTorch files."""

import json
import os
import pickle

import numpy as np
import pytest

import minicnn as mc
from minicnn import serialization
from minicnn.serialization import CheckpointError, load, load_metadata, save


def sample_arrays():
    rng = np.random.default_rng(0)
    return {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f64": rng.standard_normal(5),
        "f16": rng.standard_normal(2).astype(np.float16),
        "i64": rng.integers(-(2**62), 2**62, (2, 2), dtype=np.int64),
        "i32": np.array([-1, 7], np.int32),
        "u8": rng.integers(0, 256, 7, dtype=np.uint8),
        "bool": np.array([True, False, True]),
        "scalar": np.array(12, np.int64),
        "empty": np.zeros((0, 3), np.float32),
        "strided": np.arange(12.0).reshape(3, 4)[:, ::2],  # not contiguous
    }


def test_round_trip_is_exact_for_every_dtype(tmp_path):
    arrays = sample_arrays()
    path = tmp_path / "a.safetensors"
    save(arrays, path, metadata={"note": "hello"})
    loaded = load(path)
    assert sorted(loaded) == sorted(arrays)
    for name, array in arrays.items():
        assert isinstance(loaded[name], np.ndarray)
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)
    assert load_metadata(path) == {"note": "hello"}
    assert load_metadata(str(path)) == {"note": "hello"}  # str paths too


def test_tensors_and_numbers_are_saved_as_arrays(tmp_path):
    t = mc.tensor([[1.5, 2.5]], requires_grad=True)
    save({"t": t, "n": 3}, tmp_path / "t.safetensors")
    loaded = load(tmp_path / "t.safetensors")
    np.testing.assert_array_equal(loaded["t"], t.numpy())
    assert loaded["t"].dtype == np.float32 and int(loaded["n"]) == 3


def test_invalid_arguments(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="names must be strings"):
        save({1: np.zeros(1)}, path)
    with pytest.raises(TypeError, match="'o' has dtype object"):
        save({"o": np.array([None])}, path)
    with pytest.raises(TypeError, match="metadata keys and values must be strings"):
        save({"a": np.zeros(1)}, path, metadata={"epoch": 3})
    with pytest.raises(TypeError, match="expected a dict"):
        save([np.zeros(1)], path)
    assert not path.exists()


def test_file_permissions_follow_the_umask(tmp_path):
    save({"a": np.zeros(1)}, tmp_path / "a.safetensors")
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(tmp_path / "a.safetensors").st_mode & 0o777 == 0o666 & ~mask


# --- atomic writes -----------------------------------------------------------------------------


def crash_after_half(file, data):
    file.write(data[: len(data) // 2])
    raise OSError("disk full (simulated)")


def test_a_crash_while_writing_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    save({"w": np.ones(1000)}, path)
    before = path.read_bytes()
    monkeypatch.setattr(serialization, "_write_bytes", crash_after_half)
    with pytest.raises(OSError, match="disk full"):
        save({"w": np.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]  # no temporary file left behind
    np.testing.assert_array_equal(load(path)["w"], np.ones(1000))


def test_a_crash_before_the_rename_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    save({"w": np.ones(3)}, path)
    before = path.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save({"w": np.zeros(3)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.safetensors"]


def test_a_new_file_is_not_created_when_the_save_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "_write_bytes", crash_after_half)
    with pytest.raises(OSError):
        save({"w": np.zeros(3)}, tmp_path / "new.safetensors")
    assert os.listdir(tmp_path) == []


# --- files that must be rejected -----------------------------------------------------------------


class Exploit:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def valid_bytes():
    return serialization.safetensors.numpy.save({"a": np.arange(4.0), "b": np.ones(2, np.int64)})


def with_header(header, data=b""):
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data


BAD_FILES = {
    "empty": (b"", "empty"),
    "short": (b"\x01\x02\x03", "too short"),
    "truncated": (valid_bytes()[:-5], "truncated or corrupt"),
    "truncated header": (valid_bytes()[:40], "truncated or not a safetensors file"),
    "huge header length": (b"\xff" * 8 + b"{}", "truncated or not a safetensors file"),
    "garbage": (bytes(range(256)) * 4, "not a safetensors file"),
    "json not an object": (with_header([1, 2]), "not a JSON object"),
    "not json": (b"\x04\x00\x00\x00\x00\x00\x00\x00abcd", "not valid JSON"),
    "bad entry": (with_header({"a": {"dtype": "F32", "shape": 3}}), "entry of 'a' is malformed"),
    "bad dtype": (
        with_header({"a": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}, b"0000"),
        "dtype 'Q7'",
    ),
    "size mismatch": (
        with_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"0000"),
        r"shape \[2\], F32\) claims bytes \[0, 4\)",
    ),
    "offset past the end": (
        with_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"0" * 8),
        "claims bytes",
    ),
    "overlap": (
        with_header(
            {
                "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
            },
            b"0" * 8,
        ),
        "overlap or leave gaps",
    ),
    "trailing bytes": (
        with_header({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"0" * 8),
        "the data section has 8",
    ),
    "bad metadata": (with_header({"__metadata__": {"epoch": 3}}), "__metadata__"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_a_clear_error(tmp_path, case):
    content, message = BAD_FILES[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as info:
        load(path)
    assert "bad.safetensors" in str(info.value) and isinstance(info.value, ValueError)
    with pytest.raises(CheckpointError):
        load_metadata(path)


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_a_pickle_is_rejected_and_never_unpickled(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"w": Exploit(marker)}, protocol=protocol))
    with pytest.raises(CheckpointError, match="model.pt"):
        load(path)
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the file really was dangerous
    assert marker.exists()


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.safetensors")


# --- PyTorch interoperability ------------------------------------------------------------------


def test_files_are_readable_by_pytorch_and_back(torch, tmp_path):
    from safetensors.torch import load_file, save_file

    arrays = {k: v for k, v in sample_arrays().items() if k != "strided"}
    save(arrays, tmp_path / "ours.safetensors")
    theirs = load_file(tmp_path / "ours.safetensors")
    for name, array in arrays.items():
        np.testing.assert_array_equal(theirs[name].numpy(), array)
    save_file(
        {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "n": torch.tensor(4)},
        tmp_path / "theirs.safetensors",
    )
    loaded = load(tmp_path / "theirs.safetensors")
    np.testing.assert_array_equal(loaded["w"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert loaded["n"].dtype == np.int64 and loaded["n"] == 4


def test_a_pytorch_state_dict_loads_into_the_matching_minicnn_model(torch, tmp_path):
    from safetensors.torch import load_file, save_file

    from minicnn import nn

    torch.manual_seed(0)
    reference = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3),
        torch.nn.BatchNorm2d(3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(3 * 4 * 4, 5),
    )
    reference.train()
    reference(torch.randn(8, 1, 6, 6))  # give BatchNorm non-trivial running statistics
    reference.eval()
    save_file(reference.state_dict(), tmp_path / "torch.safetensors")

    model = nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5)
    )
    model.load_state_dict(load(tmp_path / "torch.safetensors"))
    model.eval()
    for key, value in reference.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value.numpy())
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(mc.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)

    save(model.state_dict(), tmp_path / "ours.safetensors")  # and back into PyTorch
    reference.load_state_dict(load_file(tmp_path / "ours.safetensors"))


# --- symlinks, read-only files and stale temporary files ------------------------------------


def test_saving_through_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "model-v1.safetensors"
    save({"w": np.ones(2)}, target)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(target)
    save({"w": np.zeros(2)}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(load(target)["w"], np.zeros(2))
    assert sorted(os.listdir(tmp_path)) == ["latest.safetensors", "runs"]  # no temp files left
    assert os.listdir(tmp_path / "runs") == ["model-v1.safetensors"]

    dangling = tmp_path / "next.safetensors"  # a link to a file that does not exist yet
    dangling.symlink_to(tmp_path / "runs" / "model-v2.safetensors")
    save({"w": np.ones(1)}, dangling)
    assert dangling.is_symlink() and (tmp_path / "runs" / "model-v2.safetensors").is_file()


def test_a_read_only_file_is_not_overwritten(tmp_path):
    path = tmp_path / "frozen.safetensors"
    save({"w": np.ones(2)}, path)
    before = path.read_bytes()
    os.chmod(path, 0o444)  # no write bit for anyone: refused even when the tests run as root
    with pytest.raises(PermissionError, match=r"frozen\.safetensors.* read-only"):
        save({"w": np.zeros(2)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["frozen.safetensors"]
    link = tmp_path / "link.safetensors"
    link.symlink_to(path)
    with pytest.raises(PermissionError, match=r"frozen\.safetensors.* read-only"):
        save({"w": np.zeros(2)}, link)
    assert path.read_bytes() == before


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root may write into any folder, so a folder without write permission cannot be made",
)
def test_a_folder_without_write_permission_names_the_file(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(PermissionError, match=r"cannot save .*locked.*model\.safetensors"):
            save({"w": np.ones(2)}, folder / "model.safetensors")
    finally:
        os.chmod(folder, 0o755)


def test_a_folder_refusing_new_files_names_the_file(tmp_path, monkeypatch):
    """The same as the test above, simulated, so that it runs as root too."""

    def refused(path, *args):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(serialization.os, "open", refused)
    with pytest.raises(PermissionError, match=r"cannot save .*model\.safetensors.*its folder"):
        save({"w": np.ones(2)}, tmp_path / "model.safetensors")


def test_replacing_a_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "private.safetensors"
    save({"w": np.ones(2)}, path)
    os.chmod(path, 0o600)
    save({"w": np.zeros(2)}, path)
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_stale_temporary_files_of_the_same_target_are_removed(tmp_path):
    path = tmp_path / "model.safetensors"
    stale = [
        tmp_path / ".model.safetensors.k3x_9qab.tmp",
        tmp_path / ".model.safetensors.0a1b2c3d.tmp",
    ]
    others = [
        tmp_path / ".other.safetensors.0a1b2c3d.tmp",  # another target's
        tmp_path / ".model.safetensors.v2.0a1b2c3d.tmp",  # the target "model.safetensors.v2"'s
        tmp_path / "model.safetensors.0a1b2c3d.tmp",  # not hidden: not one of ours
        tmp_path / "notes.txt",
    ]
    for file in stale + others:
        file.write_bytes(b"half a save")
        os.utime(file, (0, 0))  # long ago: left by a save that was killed
    save({"w": np.ones(2)}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in [path, *others])
    np.testing.assert_array_equal(load(path)["w"], np.ones(2))


def test_a_killed_save_leaves_a_temporary_file_that_the_next_save_removes(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"

    def killed(*args):  # os._exit in the middle: no cleanup runs
        raise SystemExit

    monkeypatch.setattr(serialization.os, "replace", killed)
    monkeypatch.setattr(serialization.os, "unlink", lambda *args: None)
    with pytest.raises(SystemExit):
        save({"w": np.ones(2)}, path)
    monkeypatch.undo()
    [leftover] = os.listdir(tmp_path)
    assert leftover.startswith(".model.safetensors.") and leftover.endswith(".tmp")
    os.utime(tmp_path / leftover, (0, 0))
    save({"w": np.ones(2)}, path)
    assert os.listdir(tmp_path) == ["model.safetensors"]
