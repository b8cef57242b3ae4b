"""The IDX file format MNIST ships in, and the checksums of the four canonical files."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from dllab.errors import DataError

# md5 of the canonical uncompressed files (the same torchvision reads from MNIST/raw/).
CANONICAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
FILES = tuple(CANONICAL_MD5)
_UBYTE = 0x08  # the IDX type code for unsigned bytes, the only one MNIST uses


def md5sum(path: str | Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_files(raw_dir: str | Path) -> dict[str, str]:
    """Return ``{name: problem}`` for each canonical file that is missing or has the wrong checksum."""
    problems = {}
    for name, expected in CANONICAL_MD5.items():
        path = Path(raw_dir) / name
        if not path.is_file():
            problems[name] = "missing"
        elif (actual := md5sum(path)) != expected:
            problems[name] = f"md5 {actual} != expected {expected} (truncated or altered)"
    return problems


def require_canonical(raw_dir: str | Path) -> None:
    """Refuse to go on unless all four files are present and byte-exact."""
    problems = check_files(raw_dir)
    if problems:
        listing = "; ".join(f"{Path(raw_dir) / n}: {p}" for n, p in problems.items())
        raise DataError(f"{listing}. Run `dvc repro mnist_download` to fetch them again")


def to_idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: magic (0, 0, type, ndim), big-endian dims, then the data."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writing supports uint8 only, got {array.dtype}")
    header = bytes([0, 0, _UBYTE, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def read_idx(path: str | Path) -> np.ndarray:
    """Decode an uncompressed IDX file of unsigned bytes, checking its header against its size."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 4 or data[0:2] != b"\0\0" or data[2] != _UBYTE:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = data[3]
    offset = 4 + 4 * ndim
    if ndim == 0 or len(data) < offset:
        raise DataError(f"{path}: IDX header is truncated")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = offset + int(np.prod(shape))
    if len(data) != expected:
        raise DataError(f"{path}: header announces shape {shape} ({expected} bytes) but the file has {len(data)}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)
