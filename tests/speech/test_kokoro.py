"""Kokoro-82M: voice blends on tiny stand-in voice files, then the real int8 ONNX model with espeak-ng's
phonemes, heard back by the real Whisper base."""
import wave

import numpy as np
import pytest

from dllab.errors import UserError
from dllab.speech import measure
from dllab.speech.tts import Speaker
from dllab.speech.kokoro import MAX_TOKENS, STYLE_DIM, load_style, missing_files, parse_voice
from tests.speech.conftest import with_voice


def test_a_voice_is_a_name_or_a_weighted_blend_of_names():
    assert parse_voice("ff_siwis") == [(1.0, "ff_siwis")]
    assert parse_voice(" 0.6*ff_siwis + 0.2*am_echo+0.2 * bm_daniel ") == \
        [(0.6, "ff_siwis"), (0.2, "am_echo"), (0.2, "bm_daniel")]
    assert parse_voice("3*ff_siwis+1*am_echo") == [(0.75, "ff_siwis"), (0.25, "am_echo")]  # weights sum to 1
    for bad in ("", "ff siwis", "0.5*ff_siwis+0.5*ff_siwis", "-1*ff_siwis", "0*ff_siwis", "ff_siwis*0.5"):
        with pytest.raises(ValueError):
            parse_voice(bad)


def test_a_blend_mixes_the_style_vectors_of_its_voices(tmp_path):
    (tmp_path / "voices").mkdir()
    for name, value in (("ff_one", 1.0), ("am_two", 3.0)):
        np.full((MAX_TOKENS, 1, STYLE_DIM), value, dtype="<f4").tofile(tmp_path / "voices" / f"{name}.bin")
    style = load_style(tmp_path, "0.75*ff_one+0.25*am_two")
    assert style.shape == (MAX_TOKENS, STYLE_DIM) and np.allclose(style, 1.5)
    np.zeros(10, dtype="<f4").tofile(tmp_path / "voices" / "xx_short.bin")
    with pytest.raises(ValueError, match="not 510 x 256"):
        load_style(tmp_path, "xx_short")
    with pytest.raises(FileNotFoundError):
        load_style(tmp_path, "ff_missing")


def test_without_its_files_kokoro_says_which_stage_makes_them_and_auto_falls_back_to_espeak(tts_params, tmp_path):
    assert missing_files(None) and missing_files(tmp_path) == [str(tmp_path / n) for n in ("model.onnx", "vocab.json", "voices")]
    with pytest.raises(UserError, match="dvc repro kokoro_download"):
        Speaker.from_params(tts_params.with_values(engine="kokoro"), tmp_path / "audio", tmp_path)
    assert Speaker.from_params(tts_params.with_values(engine="auto"), tmp_path / "audio", tmp_path).engine == "espeak"


@pytest.mark.slow
def test_auto_picks_kokoro_and_its_two_voices_are_24_khz_speech_apart_in_pitch(tts_params, kokoro_files, tmp_path):
    speaker = Speaker.from_params(tts_params.with_values(engine="auto"), tmp_path / "audio", kokoro_files)
    assert speaker.engine == "kokoro" and speaker.voices == {
        role: tts_params.voice(role, "kokoro") for role in ("question", "answer")}
    text = "Préchauffez le four à 190 °C, puis enfournez la tarte pour quarante minutes."
    pitch = {}
    for role in ("question", "answer"):
        clip = speaker.speak(text, role)
        with wave.open(str(clip.path)) as audio:
            assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (24_000, 1, 2)
            samples = np.frombuffer(audio.readframes(audio.getnframes()), "<i2")
        assert 2.5 < clip.seconds < 9 and clip.synth_seconds > 0 and np.abs(samples).max() > 3000
        pitch[role] = measure.median_pitch_hz(samples, 24_000)
    # the default voices are the chosen ones: the question voice is the lower one, clearly apart
    assert measure.semitones(pitch["answer"], pitch["question"]) >= 3, pitch


@pytest.mark.slow
def test_a_bad_kokoro_voice_is_refused_naming_the_voices_there(tts_params, kokoro_files, tmp_path):
    kokoro = tts_params.with_values(engine="kokoro")
    with pytest.raises(UserError, match=r"tts.answer_voice.kokoro = 'ff_nobody': no voice 'ff_nobody'.*ff_siwis"):
        Speaker.from_params(with_voice(kokoro, "answer", "kokoro", "ff_nobody"), tmp_path / "audio", kokoro_files)
    with pytest.raises(UserError, match="a blend such as"):
        Speaker.from_params(with_voice(kokoro, "answer", "kokoro", "ff_siwis+"), tmp_path / "audio", kokoro_files)


@pytest.mark.slow
def test_whisper_hears_what_kokoro_says(kokoro_speaker, transcriber):
    from dllab.speech.transcribe import decode

    text = "La tarte Tatin est une tarte renversée, née en Sologne. Servez-la tiède avec de la crème fraîche."
    clip = kokoro_speaker.speak(text, "answer")
    heard = transcriber.transcribe_samples(decode(clip.path.read_bytes(), 60))
    assert heard.language == "fr" and heard.seconds == pytest.approx(clip.seconds, abs=0.05)
    assert measure.word_error_rate([text], [heard.text]) <= 0.25, heard.text


@pytest.mark.slow
def test_long_text_is_said_in_pieces_and_symbols_are_read_as_words(kokoro_speaker):
    phonemes = kokoro_speaker._engine.phonemize("Cuire à 180 °C ; servir !")
    assert phonemes.count(";") == 1 and phonemes.endswith("!") and "sˈe" not in phonemes  # « degrés », not « C »
    long = " ".join(f"Voici la phrase numéro {n}, qui parle de pommes et de pâte." for n in range(12))
    clip = kokoro_speaker.speak(long, "answer")
    assert clip.seconds > 30 and clip.chars == len(long)


def test_one_espeak_run_phonemizes_a_text_as_one_run_per_clause_would(kokoro_speaker):
    phonemize = kokoro_speaker._engine.phonemize
    text = "Préparez la pâte avec 250 g de farine, puis laissez-la reposer ; enfin, étalez-la (finement) !"
    clauses = ["Préparez la pâte avec 250 g de farine", "puis laissez-la reposer", "enfin", "étalez-la (finement)"]
    one_each = [" ".join(phonemize._ipa(clause).split()) for clause in clauses]
    assert phonemize(text) == f"{one_each[0]} , {one_each[1]} ; {one_each[2]} , {one_each[3]} !"
