import numpy as np
import pytest

from dllab.errors import DataError
from dllab.mnist.idx import CANONICAL_MD5, check_files, md5sum, read_idx, require_canonical, to_idx_bytes


def test_idx_round_trip(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(to_idx_bytes(array))
    assert np.array_equal(read_idx(path), array)
    labels = np.arange(10, dtype=np.uint8)
    path.write_bytes(to_idx_bytes(labels))
    assert np.array_equal(read_idx(path), labels)


def test_truncated_or_foreign_idx_is_refused(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(to_idx_bytes(np.zeros((3, 4), np.uint8))[:-1])
    with pytest.raises(DataError, match="header announces shape"):
        read_idx(path)
    path.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DataError, match="bad magic"):
        read_idx(path)


def test_real_files_match_canonical_checksums(mnist_raw):
    assert check_files(mnist_raw) == {}
    images = read_idx(mnist_raw / "t10k-images-idx3-ubyte")
    labels = read_idx(mnist_raw / "t10k-labels-idx1-ubyte")
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,) and labels.max() == 9


def test_altered_file_is_named_by_its_checksum(mnist_raw, tmp_path):
    for name in CANONICAL_MD5:
        (tmp_path / name).write_bytes((mnist_raw / name).read_bytes())
    altered = tmp_path / "t10k-labels-idx1-ubyte"
    data = bytearray(altered.read_bytes())
    data[100] ^= 1
    altered.write_bytes(bytes(data))
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    problems = check_files(tmp_path)
    assert set(problems) == {"t10k-labels-idx1-ubyte", "train-labels-idx1-ubyte"}
    assert problems["train-labels-idx1-ubyte"] == "missing"
    assert md5sum(altered) in problems["t10k-labels-idx1-ubyte"]
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.*dvc repro mnist_download"):
        require_canonical(tmp_path)
