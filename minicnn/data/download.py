"""Downloading data files safely: verify a SHA-256 checksum, write atomically.

A download goes to a temporary file in the destination's folder, and only once its checksum
matches is it renamed (``os.replace``, atomic on one file system) to its final name. An
interrupted or corrupt download therefore never leaves a half-written file that a later run
would mistake for a good one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

CHUNK_BYTES = 1 << 20


def download(url: str, destination: str | os.PathLike, sha256: str, timeout: float = 60) -> Path:
    """Fetch ``url`` into ``destination``, checking that its SHA-256 equals ``sha256``.

    Works for ``https://`` and ``file://`` URLs alike. On a checksum mismatch (or any other
    error) nothing is left at ``destination`` and the error says what was expected and got.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as src:
            for chunk in iter(lambda: src.read(CHUNK_BYTES), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256.lower():
            raise ValueError(
                f"checksum mismatch for {url}: expected SHA-256 {sha256.lower()}, "
                f"got {digest.hexdigest()}; the file was not saved"
            )
        os.replace(temp_name, destination)
    finally:
        if os.path.exists(temp_name):
            os.remove(temp_name)
    return destination
