"""File readers on files the tests write: IDX/MNIST (plain, gzip, download), CIFAR-10, ImageFolder."""

import gzip
import hashlib
import struct

import numpy as np
import pytest
from PIL import Image

from minicnn.data import CIFAR10, MNIST, ImageFolder
from minicnn.data.idx import read_idx


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder, split, images, labels, compress=False):
    """Write one split's two IDX files; returns their paths."""
    prefix = "train" if split == "train" else "t10k"
    paths = []
    for name, array in (
        (f"{prefix}-images-idx3-ubyte", images),
        (f"{prefix}-labels-idx1-ubyte", labels),
    ):
        data = idx_bytes(array)
        path = folder / (name + ".gz" if compress else name)
        path.write_bytes(gzip.compress(data) if compress else data)
        paths.append(path)
    return paths


def random_digits(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


# --- IDX ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "code"), [(np.uint8, 0x08), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D)]
)
def test_read_idx_big_endian_types(tmp_path, dtype, code):
    array = (np.arange(24).reshape(2, 3, 4) * 3).astype(dtype)
    path = tmp_path / "a.idx"
    path.write_bytes(idx_bytes(array, code))
    out = read_idx(path, ndim=3)
    np.testing.assert_array_equal(out, array)
    assert out.dtype == dtype and out.dtype.isnative


def test_read_idx_errors_name_the_file(tmp_path):
    good = idx_bytes(np.zeros((2, 3), np.uint8))
    cases = {
        "magic.idx": (b"\x08\x03" + good[2:], "magic number"),
        "short.idx": (good[:-1], "truncated"),
        "long.idx": (good + b"\x00", "extra data"),
        "header.idx": (good[:6], "truncated header"),
        "empty.idx": (b"", "magic number"),
        "badgz.idx.gz": (gzip.compress(good)[:-10], "gzip"),
        "notgz.idx.gz": (good, "gzip"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=message) as error:
            read_idx(tmp_path / name)
        assert name in str(error.value)
    (tmp_path / "ok.idx").write_bytes(good)
    with pytest.raises(ValueError, match="expected an IDX array with 3 dimensions, got 2"):
        read_idx(tmp_path / "ok.idx", ndim=3)


# --- MNIST from IDX files -----------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_idx_files(tmp_path, compress):
    images, labels = random_digits(7)
    write_mnist(tmp_path, "test", images, labels, compress)
    data = MNIST("test", root=tmp_path)
    assert len(data) == 7 and data.images.shape == (7, 1, 28, 28)
    np.testing.assert_array_equal(data.targets, labels)
    image, label = data[3]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32 and label == labels[3]
    np.testing.assert_allclose(image[0], images[3] / 255, rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        MNIST("train", root=tmp_path)


def test_mnist_rejects_inconsistent_files(tmp_path):
    images, labels = random_digits(5)
    image_path, label_path = write_mnist(tmp_path, "train", images, labels[:4])
    with pytest.raises(ValueError, match="labels-idx1-ubyte: expected 5 uint8 labels .* got 4"):
        MNIST("train", root=tmp_path)
    write_mnist(tmp_path, "train", images, np.full(5, 10, np.uint8))
    with pytest.raises(ValueError, match="0..9"):
        MNIST("train", root=tmp_path)
    image_path.write_bytes(idx_bytes(np.zeros((5, 28, 27), np.uint8)))
    with pytest.raises(ValueError, match="images-idx3-ubyte: expected uint8 images of 28x28"):
        MNIST("train", root=tmp_path)
    image_path.write_bytes(idx_bytes(images)[:-100])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*truncated"):
        MNIST("train", root=tmp_path)


@pytest.fixture
def mirror(tmp_path):
    """A folder of gzipped MNIST files, its file:// URL and their SHA-256 table."""
    source = tmp_path / "mirror"
    source.mkdir()
    paths = write_mnist(source, "train", *random_digits(6, seed=1), compress=True)
    hashes = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}
    return source, source.as_uri() + "/", hashes


def test_download_checks_hash_and_writes_files(tmp_path, mirror):
    source, url, hashes = mirror
    root = tmp_path / "data"
    data = MNIST("train", root=root, download=True, mirror=url, sha256=hashes)
    assert len(data) == 6
    for name in hashes:
        assert (root / name).read_bytes() == (source / name).read_bytes()
    assert sorted(p.name for p in root.iterdir()) == sorted(hashes)  # no temporary files left
    # Files that are already there are not fetched again, even from a dead mirror.
    again = MNIST("train", root=root, download=True, mirror=(tmp_path / "nowhere").as_uri())
    np.testing.assert_array_equal(again.images, data.images)


def test_download_with_wrong_hash_leaves_no_file(tmp_path, mirror):
    _, url, hashes = mirror
    wrong = dict(hashes, **{"train-images-idx3-ubyte.gz": "0" * 64})
    root = tmp_path / "data"
    with pytest.raises(ValueError, match="checksum mismatch.*train-images-idx3-ubyte.gz"):
        MNIST("train", root=root, download=True, mirror=url, sha256=wrong)
    assert list(root.iterdir()) == []


def test_download_tries_mirrors_in_order(tmp_path, mirror, monkeypatch):
    _, url, hashes = mirror
    dead = (tmp_path / "dead").as_uri() + "/"
    monkeypatch.setattr(MNIST, "mirrors", [dead, url])
    assert len(MNIST("train", root=tmp_path / "a", download=True, sha256=hashes)) == 6
    monkeypatch.setattr(MNIST, "mirrors", [dead])
    with pytest.raises(RuntimeError, match="could not download train-images-idx3-ubyte.gz"):
        MNIST("train", root=tmp_path / "b", download=True, sha256=hashes)
    with pytest.raises(KeyError, match="no known SHA-256"):
        MNIST("train", root=tmp_path / "c", download=True, mirror=url, sha256={})


def test_mnist_class_hash_table_covers_every_file():
    names = {
        f"{p}-{k}.gz" for p in ("train", "t10k") for k in ("images-idx3-ubyte", "labels-idx1-ubyte")
    }
    assert set(MNIST.sha256) == names
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in MNIST.sha256.values())


# --- CIFAR-10 binary ----------------------------------------------------------------------------


def write_cifar(folder, names_and_counts, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for name, count in names_and_counts.items():
        images = rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        records = b"".join(bytes([y]) + x.tobytes() for x, y in zip(images, labels, strict=True))
        (folder / name).write_bytes(records)
        written[name] = (images, labels)
    return written


@pytest.mark.parametrize("subfolder", [False, True])
def test_cifar10_binary(tmp_path, subfolder):
    folder = tmp_path / "cifar-10-batches-bin" if subfolder else tmp_path
    counts = {f"data_batch_{k}.bin": k for k in range(1, 6)} | {"test_batch.bin": 4}
    written = write_cifar(folder, counts)
    train = CIFAR10(tmp_path)
    assert len(train) == 15 and train.classes[0] == "airplane" and len(train.classes) == 10
    expected = np.concatenate([written[f"data_batch_{k}.bin"][0] for k in range(1, 6)])
    np.testing.assert_array_equal(train.images, expected)
    test = CIFAR10(tmp_path, train=False)
    images, labels = written["test_batch.bin"]
    np.testing.assert_array_equal(test.targets, labels)
    image, label = test[2]
    assert image.shape == (3, 32, 32) and image.dtype == np.float32 and label == labels[2]
    # Channel-major records: byte 1 + c*1024 + row*32 + col is channel c at (row, col).
    raw = (folder / "test_batch.bin").read_bytes()[2 * 3073 :]
    assert image[1, 5, 7] == np.float32(raw[1 + 1024 + 5 * 32 + 7]) / np.float32(255)


def test_cifar10_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="test_batch.bin"):
        CIFAR10(tmp_path, train=False)
    (tmp_path / "test_batch.bin").write_bytes(b"\x01" * 3072)
    with pytest.raises(ValueError, match="test_batch.bin.*3073"):
        CIFAR10(tmp_path, train=False)
    (tmp_path / "test_batch.bin").write_bytes(b"\x00" * 3073 + b"\x0a" * 3073)
    with pytest.raises(ValueError, match="test_batch.bin: record 1 has label 10"):
        CIFAR10(tmp_path, train=False)


# --- ImageFolder --------------------------------------------------------------------------------


def test_image_folder_png_and_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    png = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    smooth = np.full((8, 8, 3), (200, 40, 90), np.uint8)
    grey = rng.integers(0, 256, (5, 4), dtype=np.uint8)
    for folder in ("dog", "cat", ".ipynb_checkpoints"):
        (tmp_path / folder).mkdir()
    Image.fromarray(png).save(tmp_path / ".ipynb_checkpoints" / "c.png")
    Image.fromarray(png).save(tmp_path / "dog" / "b.png")
    Image.fromarray(grey, mode="L").save(tmp_path / "dog" / "a.PNG")
    Image.fromarray(smooth).save(tmp_path / "cat" / "x.jpg", quality=95)
    (tmp_path / "cat" / "notes.txt").write_text("not an image")

    data = ImageFolder(tmp_path)
    assert data.classes == ["cat", "dog"] and data.class_to_idx == {"cat": 0, "dog": 1}
    assert [(p.name, y) for p, y in data.samples] == [("x.jpg", 0), ("a.PNG", 1), ("b.png", 1)]
    np.testing.assert_array_equal(data.targets, [0, 1, 1])

    jpeg, label = data[0]
    assert label == 0 and jpeg.shape == (3, 8, 8) and jpeg.dtype == np.float32
    np.testing.assert_allclose(
        jpeg, np.broadcast_to(smooth.transpose(2, 0, 1) / 255, jpeg.shape), atol=0.03
    )
    grey_image, _ = data[1]
    np.testing.assert_allclose(grey_image, np.stack([grey / 255] * 3), rtol=1e-6)
    colour, _ = data[2]
    np.testing.assert_allclose(colour, png.transpose(2, 0, 1) / 255, rtol=1e-6)
    assert colour.min() >= 0 and colour.max() <= 1


def test_image_folder_errors(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(FileNotFoundError, match="no .* images"):
        ImageFolder(tmp_path)
    (tmp_path / "a" / "bad.png").write_bytes(b"this is not a PNG")
    good = tmp_path / "a" / "good.png"
    noise = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(noise).save(good)
    (tmp_path / "a" / "cut.png").write_bytes(good.read_bytes()[:400])
    data = ImageFolder(tmp_path, transform=lambda x: x + 1)
    assert data[2][0].min() == 1  # good.png, through the transform
    for index, name in ((0, "bad.png"), (1, "cut.png")):
        with pytest.raises(ValueError, match=f"{name}: cannot read it"):
            data[index]
    with pytest.raises(FileNotFoundError, match="not a folder"):
        ImageFolder(tmp_path / "missing")
