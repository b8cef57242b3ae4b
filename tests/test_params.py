
import pytest
import yaml

from dllab.chat.config import ChatParams, JudgeParams, LlmParams
from dllab.errors import ParamError
from dllab.mnist.config import MnistParams
from dllab.params import Section, load, load_all, read_yaml
from dllab.rag.config import RagParams
from dllab.report.config import ReportParams
from dllab.speech.config import SpeechEvaluateParams, SttParams, TtsParams
from dllab.text.config import CorpusParams, LmEvaluateParams, LstmParams, TokenizerParams, TransformerParams
from tests.conftest import REPO

MODELS = [MnistParams, CorpusParams, TokenizerParams, LstmParams, TransformerParams, LmEvaluateParams, RagParams,
          LlmParams, ChatParams, JudgeParams, TtsParams, SttParams, SpeechEvaluateParams, ReportParams]
PARAMS = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))


def as_yaml(value):
    """A model's dump as YAML would hold it (tuples are lists)."""
    if isinstance(value, dict):
        return {k: as_yaml(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_yaml(v) for v in value]
    return value


@pytest.mark.parametrize("bad, fragment", [
    ({"hidden": [-5]}, "mnist.hidden = [-5]"),
    ({"hidden": []}, "mnist.hidden = []"),
    ({"lr": "fast"}, "mnist.lr = 'fast'"),
    ({"lr": 0}, "a number > 0"),
    ({"activation": "swish"}, "one of 'relu'"),
    ({"epochs": True}, "an integer"),
    ({"dropout": 1.5}, "from 0 to 0.95"),
])
def test_bad_value_names_file_key_value_and_what_is_allowed(bad, fragment):
    with pytest.raises(ParamError) as err:
        MnistParams.from_mapping({**PARAMS["mnist"], **bad}, source="exp.yaml")
    message = str(err.value)
    key = next(iter(bad))
    assert message.startswith("exp.yaml: ") and fragment in message and f"mnist.{key}" in message
    assert "\n" not in message


def test_unknown_keys_are_named_and_missing_keys_take_the_default():
    with pytest.raises(ParamError, match="unknown key mnist.lrr; allowed keys: activation"):
        MnistParams.from_mapping({**PARAMS["mnist"], "lrr": 1})
    incomplete = {k: v for k, v in PARAMS["mnist"].items() if k != "epochs"}
    assert MnistParams.from_mapping({**incomplete, "seed": 7}).epochs == MnistParams().epochs


def test_only_reads_the_keys_a_stage_declares():
    raw = {**PARAMS["mnist"], "sources": "not a list", "epochs": 3}
    params = MnistParams.from_mapping(raw, only=MnistParams.TRAIN_KEYS)
    assert params.epochs == 3 and params.sources == MnistParams().sources  # not read: its default
    with pytest.raises(ParamError, match="mnist.sources = 'not a list'"):
        MnistParams.from_mapping(raw)


def test_numbers_written_as_yaml_text_are_accepted_and_bools_are_not_numbers():
    # PyYAML reads 1e-3 (no dot) as a string; users write it anyway.
    assert MnistParams.from_mapping({"lr": "1e-3"}).lr == pytest.approx(0.001)
    with pytest.raises(ParamError, match="mnist.lr = True"):
        MnistParams.from_mapping({"lr": True})
    with pytest.raises(ParamError, match="mnist.hidden = \\[1.5\\]"):
        MnistParams.from_mapping({"hidden": [1.5]})


def test_models_are_frozen_and_copies_are_checked():
    params = MnistParams()
    with pytest.raises(Exception):
        params.lr = 1.0  # frozen: a stage cannot change what it was given
    assert params.with_values(epochs=1).epochs == 1 and params.epochs == 20
    with pytest.raises(ParamError, match="mnist.epochs = 0"):
        params.with_values(epochs=0)


def test_cross_key_checks_name_the_file_and_both_keys():
    with pytest.raises(ParamError, match="^exp.yaml: transformer.dim = 100 is not a multiple of transformer.heads = 3"):
        TransformerParams.from_mapping({"dim": 100, "heads": 3}, source="exp.yaml")
    with pytest.raises(ParamError, match="^exp.yaml: rag.chunk_overlap = 600 must be smaller than rag.chunk_size"):
        RagParams.from_mapping({"chunk_overlap": 600}, source="exp.yaml")
    with pytest.raises(ParamError, match="chat.server_threads = 5 is too few for chat.queue_size = 16"):
        ChatParams.from_mapping({"server_threads": 5})


def test_nested_mappings_are_checked_whole():
    with pytest.raises(ParamError, match="tts.question_voice = \\{'kokoro': 'ff_siwis'\\} is not allowed; expected a "
                                         "mapping \\{kokoro: a non-empty string, espeak"):
        TtsParams.from_mapping({"question_voice": {"kokoro": "ff_siwis"}})
    with pytest.raises(ParamError, match="unknown key|tts.kokoro_speed"):
        TtsParams.from_mapping({"kokoro_speed": {"question": 1.0, "answer": 1.0, "chorus": 1.0}})
    assert TtsParams().voice("answer", "espeak") == PARAMS["tts"]["answer_voice"]["espeak"]


def test_a_data_dependent_error_names_the_file_it_came_from():
    params = TokenizerParams.from_mapping({"vocab_size": 300}, source="exp.yaml")
    assert str(params.invalid("vocab_size", "is too small")) == "exp.yaml: tokenizer.vocab_size = 300 is too small"


def test_load_reports_file_problems(tmp_path):
    with pytest.raises(ParamError, match="file not found"):
        load(tmp_path / "nope.yaml", MnistParams)
    bad = tmp_path / "params.yaml"
    bad.write_text("mnist: [unclosed\n")
    with pytest.raises(ParamError, match="not valid YAML"):
        load(bad, MnistParams)
    bad.write_text("other: {}\n")
    with pytest.raises(ParamError, match="section 'mnist' is missing"):
        load(bad, MnistParams)
    bad.write_text("- a list\n")
    with pytest.raises(ParamError, match="a mapping of sections"):
        read_yaml(bad)


def test_a_wrong_value_in_a_given_file_names_that_file(tmp_path):
    given = tmp_path / "exp.yaml"
    given.write_text(yaml.safe_dump({**PARAMS, "rag": {**PARAMS["rag"], "top_k": 0}}))
    with pytest.raises(ParamError, match=f"^{given}: rag.top_k = 0 is not allowed; expected an integer from 1 to 100"):
        load(given, RagParams)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.section)
def test_defaults_are_what_params_yaml_says(model):
    """Defaults live in the models; params.yaml (what DVC tracks) must say the same, key for key."""
    assert as_yaml(model().model_dump()) == as_yaml(load(REPO / "params.yaml", model).model_dump())
    assert set(PARAMS[model.section]) == set(model.model_fields)


def test_every_section_of_params_yaml_has_a_model():
    assert set(PARAMS) == {model.section for model in MODELS}
    assert all(issubclass(model, Section) for model in MODELS)


def test_sources_are_checked_when_read():
    with pytest.raises(ParamError, match="mnist.sources = \\['kaggle'\\] is not allowed; expected .*'dir:/path"):
        MnistParams.from_mapping({"sources": ["kaggle"]})
    with pytest.raises(ParamError, match="judge.source = 'openai:http://127.0.0.1:8080/v1' is not allowed"):
        JudgeParams.from_mapping({"source": "openai:http://127.0.0.1:8080/v1"})  # the judge needs a GGUF's logits
    with pytest.raises(ParamError, match="llm.source = 'pypy:llm==1'"):
        LlmParams.from_mapping({"source": "pypy:llm==1"})
    assert CorpusParams.from_mapping({"sources": ["shakespeare", "https://example.org/a.txt", "file:/a.txt"]})


def test_load_all_reads_several_sections_of_one_file(tmp_path):
    given = tmp_path / "exp.yaml"
    given.write_text(yaml.safe_dump({**PARAMS, "chat": {**PARAMS["chat"], "top_k": 7}}))
    llm, chat = load_all(given, LlmParams, ChatParams)
    assert chat.top_k == 7 and chat.params_file == str(given) and llm.model_dump() == LlmParams().model_dump()
