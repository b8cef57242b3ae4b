"""Bark's real code path with tiny random weights laid out like the real ones (see tiny_bark.py)."""
import sys
import wave

import numpy as np
import pytest
import yaml

from dllab.errors import UserError
from dllab.speech.tts import Speaker
from dllab.speech.bark import checkpoint_paths, missing_weights
from tests.conftest import REPO, run_in
from tests.speech.conftest import with_voice
from tests.speech.tiny_bark import make_tiny_bark


@pytest.fixture(scope="module")
def tiny_bark(tmp_path_factory) -> dict[str, str]:
    """Environment variables pointing Bark, transformers and torch.hub at tiny random weights."""
    return make_tiny_bark(tmp_path_factory.mktemp("bark"))


@pytest.fixture
def bark_env(tiny_bark, tts_params, monkeypatch):
    """Bark's caches set to the tiny weights (after ``tts_params`` pointed them at empty folders)."""
    for name, value in tiny_bark.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("SUNO_USE_SMALL_MODELS", raising=False)
    return tiny_bark


@pytest.mark.slow
def test_auto_picks_bark_when_its_weights_are_local_and_bark_makes_a_wav(bark_env, tts_params, tmp_path, monkeypatch):
    # The tiny models are all per-operation overhead: two threads on a shared 2-core machine make them
    # ten times slower than one.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    params = tmp_path / "params.yaml"
    tts = tts_params.with_values(engine="auto", bark_sentence_chars=40)
    params.write_text(yaml.safe_dump({"tts": tts.model_dump()}))
    out = tmp_path / "answer.wav"
    text = "Bonjour à tous, ça va le monde ? Salut le monde, bonjour à tous !"  # two pieces of <= 40 characters
    # No Kokoro here (auto would take it first): Bark is the next engine whose files are present.
    done = run_in(REPO, sys.executable, "-m", "dllab.speech", text, "--role", "question", "--out", str(out),
                  "--params", str(params), "--cache", str(tmp_path / "cache"), "--kokoro", str(tmp_path / "none"),
                  timeout=300)
    assert "bark voice v2/fr_speaker_1" in done.stdout
    assert "piece 2/2" in done.stderr and "piece 3/3" not in done.stderr
    with wave.open(str(out)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    assert len(samples) > 24000 and np.abs(samples).max() > 0
    assert len(list((tmp_path / "cache").glob("*.wav"))) == 1


def test_layout_matches_what_bark_looks_for(bark_env):
    assert missing_weights(small=True) == []
    assert {p.name for p in checkpoint_paths(small=True).values()} == {
        "text.pt", "coarse.pt", "fine.pt", "encodec_24khz-d7cc33bc.th"}


def test_auto_falls_back_to_espeak_when_the_chosen_bark_size_is_missing(bark_env, tts_params, tmp_path):
    speaker = Speaker.from_params(tts_params.with_values(engine="auto", bark_small=False), tmp_path)
    assert speaker.engine == "espeak"


def test_bark_without_its_weights_names_each_missing_file(bark_env, tts_params, tmp_path):
    with pytest.raises(UserError) as error:
        Speaker.from_params(tts_params.with_values(engine="bark", bark_small=False), tmp_path)
    message = str(error.value)
    for name in ("text_2.pt", "coarse_2.pt", "fine_2.pt"):
        assert name in message
    assert "encodec" not in message and "tokenizer" not in message  # those two are present
    assert "preload_models(text_use_small=False" in message and "tts.engine: espeak" in message


def test_bark_with_empty_caches_names_tokenizer_and_encodec(tts_params, tmp_path):
    with pytest.raises(UserError, match="encodec_24khz-d7cc33bc.th.*bert-base-multilingual-cased tokenizer"):
        Speaker.from_params(tts_params.with_values(engine="bark"), tmp_path)


@pytest.mark.parametrize("preset", ["v2/fr_speaker_12", "../../etc/passwd", "fr_speaker_1.npz", "v2/xx_speaker_1"])
def test_unknown_bark_preset_is_refused_before_loading(bark_env, tts_params, tmp_path, preset):
    with pytest.raises(UserError, match="tts.answer_voice.bark = .* is not a Bark voice preset"):
        Speaker.from_params(with_voice(tts_params, "answer", "bark", preset).with_values(engine="bark"), tmp_path)


def test_only_the_bark_checkpoints_are_unpickled_fully(bark_env, tmp_path):
    import pickle

    import torch

    from dllab.speech.bark import _trusting

    trusted = checkpoint_paths(small=True)["fine"]
    other = tmp_path / "other.pt"
    other.write_bytes(trusted.read_bytes())
    with _trusting([trusted]):
        assert torch.load(str(trusted), map_location="cpu")["best_val_loss"] == 3.0
        with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
            torch.load(other, map_location="cpu")
    with pytest.raises(pickle.UnpicklingError):
        torch.load(trusted, map_location="cpu")  # the default is back once the models are loaded
