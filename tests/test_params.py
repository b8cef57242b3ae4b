import pytest

from dllab.errors import ParamError
from dllab.mnist.config import SPEC, TRAIN_KEYS
from dllab.params import check_section, integer, list_of, load_section, number, one_of

GOOD = {"sources": ["pypi"], "hidden": [64], "activation": "relu", "dropout": 0.1, "lr": 0.001,
        "weight_decay": 0.0, "lr_schedule": "cosine", "batch_size": 32, "epochs": 1, "val_size": 10,
        "train_limit": 0, "augment_shift": 0, "seed": 1, "nproc": 1}


@pytest.mark.parametrize("key, value, fragment", [
    ("hidden", [-5], "mnist.hidden = [-5]"),
    ("hidden", [], "mnist.hidden = []"),
    ("lr", "fast", "mnist.lr = 'fast'"),
    ("lr", 0, "a number > 0"),
    ("activation", "swish", "one of 'relu'"),
    ("epochs", True, "an integer"),
    ("dropout", 1.5, "from 0 to 0.95"),
])
def test_bad_value_names_key_value_and_what_is_allowed(key, value, fragment):
    with pytest.raises(ParamError) as err:
        check_section("mnist", {**GOOD, key: value}, SPEC)
    message = str(err.value)
    assert fragment in message and f"mnist.{key}" in message and "\n" not in message


def test_unknown_and_missing_keys_are_named():
    with pytest.raises(ParamError, match="unknown key mnist.lrr"):
        check_section("mnist", {**GOOD, "lrr": 1}, SPEC)
    incomplete = dict(GOOD)
    del incomplete["epochs"]
    with pytest.raises(ParamError, match="missing key mnist.epochs"):
        check_section("mnist", incomplete, SPEC)


def test_only_checks_the_keys_a_stage_reads():
    raw = {**GOOD, "sources": "not a list"}
    clean = check_section("mnist", raw, SPEC, only=TRAIN_KEYS)
    assert "sources" not in clean and clean["hidden"] == [64]


def test_numbers_written_as_yaml_text_are_accepted():
    # PyYAML reads 1e-3 (no dot) as a string; users write it anyway.
    assert number(above=0).convert("1e-3") == pytest.approx(0.001)
    assert list_of(integer(min=1)).convert([1, 2]) == [1, 2]
    with pytest.raises(ValueError):
        one_of("a").convert("b")


def test_load_section_reports_file_problems(tmp_path):
    with pytest.raises(ParamError, match="file not found"):
        load_section(tmp_path / "nope.yaml", "mnist", SPEC)
    bad = tmp_path / "params.yaml"
    bad.write_text("mnist: [unclosed\n")
    with pytest.raises(ParamError, match="not valid YAML"):
        load_section(bad, "mnist", SPEC)
    bad.write_text("other: {}\n")
    with pytest.raises(ParamError, match="section 'mnist' is missing"):
        load_section(bad, "mnist", SPEC)


def test_repository_params_are_valid():
    from tests.conftest import REPO

    load_section(REPO / "params.yaml", "mnist", SPEC)
