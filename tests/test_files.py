import pytest

from dllab.files import atomic_dir, atomic_path, write_json


def test_atomic_path_leaves_nothing_when_interrupted(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "figs"
    with atomic_dir(target) as tmp:
        (tmp / "a.png").write_bytes(b"1")
    with pytest.raises(ValueError):
        with atomic_dir(target) as tmp:
            (tmp / "b.png").write_bytes(b"2")
            raise ValueError
    assert [p.name for p in target.iterdir()] == ["a.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figs"]


def test_write_json_round_trip(tmp_path):
    import json

    write_json(tmp_path / "m.json", {"é": 1.5})
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8")) == {"é": 1.5}
