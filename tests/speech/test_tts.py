"""The speaker with the real espeak-ng: voices, WAV files, the cache, bad input and missing engines."""
import subprocess
import sys
import threading
import wave

import numpy as np
import pytest

from dllab.errors import ParamError, UserError
from dllab.speech.config import TtsParams
from dllab.speech.tts import Speaker
from tests.speech.conftest import with_voice
from dllab.speech import espeak as espeak_module

QUESTION = "Bonjour, quelle est la capitale de la France ? Paris est la capitale de la France."


def read(path):
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float64)
        return samples, wav.getframerate()


def median_pitch_hz(path) -> float:
    """Median fundamental frequency of the voiced 40 ms frames (autocorrelation peak in 60-400 Hz)."""
    samples, rate = read(path)
    size, estimates = int(0.04 * rate), []
    for start in range(0, len(samples) - size, size):
        frame = samples[start:start + size]
        if np.sqrt(np.mean(frame ** 2)) < 1000:  # silence or a quiet consonant
            continue
        frame = frame - frame.mean()
        correlation = np.correlate(frame, frame, "full")[size - 1:]
        shortest, longest = int(rate / 400), int(rate / 60)
        estimates.append(rate / (shortest + np.argmax(correlation[shortest:longest])))
    return float(np.median(estimates))


@pytest.fixture
def count_runs(monkeypatch):
    """How many times espeak-ng was started."""
    calls = []
    real_run = subprocess.run

    def counting_run(command, *args, **kwargs):
        calls.append(command)
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(espeak_module.subprocess, "run", counting_run)
    return calls


def test_question_and_answer_are_valid_wavs_in_two_distinct_voices(speaker, tmp_path):
    question, answer = speaker.speak(QUESTION, "question"), speaker.speak(QUESTION, "answer")
    assert speaker.engine == "espeak" and (question.voice, answer.voice) == ("fr+m3", "fr+f3")
    assert question.id != answer.id
    for clip in (question, answer):
        samples, rate = read(clip.path)
        assert rate == 22050 and clip.path.parent == tmp_path / "audio"
        assert clip.seconds == pytest.approx(len(samples) / rate) and 3 < clip.seconds < 8
        assert clip.synth_seconds > 0 and np.abs(samples).max() > 5000  # real speech, not silence
    # the answer voice is a higher (female, raised pitch) voice than the question voice
    assert median_pitch_hz(answer.path) > 1.5 * median_pitch_hz(question.path)


def test_second_request_comes_from_the_cache_without_running_espeak(speaker, count_runs):
    first = speaker.speak(QUESTION, "answer")
    assert len(count_runs) == 1
    again = speaker.speak("  " + QUESTION.replace(" ", "   ") + "\n", "answer")  # same words, other spacing
    assert (again.id, again.path, again.synth_seconds) == (first.id, first.path, 0.0)
    assert again.seconds == pytest.approx(first.seconds) and len(count_runs) == 1


def test_long_text_is_said_in_several_pieces(speaker, count_runs):
    text = " ".join(f"Voici la phrase numéro {n}, qui parle de la Révolution française." for n in range(40))
    clip = speaker.speak(text, "answer")
    assert len(count_runs) >= 3 and all(len(command) == len(count_runs[0]) for command in count_runs)
    assert clip.seconds > 80 and clip.chars == len(text)  # ~40 sentences of ~2.5 s each


def test_a_long_question_is_said_up_to_question_chars_in_whole_sentences(speaker, tts_params):
    text = " ".join(f"Voici la phrase numéro {n}, qui parle de la Révolution française." for n in range(40))
    clip = speaker.speak(text, "question")
    said = text[:clip.chars]
    assert 100 < clip.chars <= tts_params.question_chars and said.endswith("française.")
    assert clip.seconds < 20 and clip.id == speaker.speak(said, "question").id  # the same clip as its opening
    one_long_sentence = "pomme " * 100
    assert speaker.speak(one_long_sentence, "question").chars <= tts_params.question_chars  # cut between words


def test_cache_keeps_only_the_most_recently_used_files(tts_params, tmp_path):
    speaker = Speaker.from_params(tts_params.with_values(engine="espeak", cache_max_files=3), tmp_path)
    clips = [speaker.speak(f"Phrase numéro {n}.", "answer") for n in range(3)]
    speaker.speak("Phrase numéro 0.", "answer")  # used again: now the most recent
    clips += [speaker.speak(f"Phrase numéro {n}.", "answer") for n in (3, 4)]
    kept = {p.name for p in tmp_path.glob("*.wav")}
    assert kept == {f"{clips[n].id}.wav" for n in (0, 3, 4)}
    assert speaker.clip_path(clips[1].id) is None and speaker.clip_path(clips[4].id) == clips[4].path


def test_byte_limit_never_evicts_the_clip_just_made(tts_params, tmp_path):
    speaker = Speaker.from_params(tts_params.with_values(engine="espeak", cache_max_mb=0.01), tmp_path)
    first, second = speaker.speak("Un.", "answer"), speaker.speak("Deux.", "answer")
    assert [p.name for p in tmp_path.glob("*.wav")] == [f"{second.id}.wav"]
    assert speaker.clip_path(first.id) is None and second.path.is_file()


@pytest.mark.parametrize("clip_id", [
    "../params.yaml", "../../etc/passwd", "/etc/passwd", "", "a" * 63, "a" * 65, "A" * 64, "g" * 64,
    "a" * 64 + ".wav", "a" * 63 + "/", "..%2F" + "a" * 59, None, 12,
])
def test_clip_path_refuses_anything_but_a_known_id(speaker, clip_id, tmp_path):
    (tmp_path / "params.yaml").write_text("a file beside the cache folder")
    speaker.speak("Bonjour.", "question")  # the cache is not empty
    assert speaker.clip_path(clip_id) is None


def test_clip_path_of_unknown_and_known_ids(speaker):
    assert speaker.clip_path("0" * 64) is None
    clip = speaker.speak("Bonjour.", "question")
    assert speaker.clip_path(clip.id) == clip.path


@pytest.mark.parametrize("text", [
    "-v en --help",
    "-- bonjour",
    "-w /tmp/x.wav",
    "<script>alert('x')</script> & <b>gras</b> &amp;",
    "Il a dit « bonjour » et \"salut\", puis 'au revoir'.",
    "Ça coûte 5 € — d’accord ? Naïve, œuvre, 中文, 🙂.",
    "$(touch /tmp/pwned) ; `id` | cat",
])
def test_any_text_is_spoken_as_text(speaker, text):
    clip = speaker.speak(text, "answer")
    samples, _ = read(clip.path)
    assert clip.seconds > 0.2 and np.abs(samples).max() > 1000


def test_leading_dash_is_not_an_option(speaker):
    # '-v en --help' read as options would print help (no audio) or switch voice; as text it is ~1 s of speech
    clip = speaker.speak("-v en --help", "answer")
    assert 0.5 < clip.seconds < 4


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x01"])
def test_empty_text_is_a_user_error(speaker, text):
    with pytest.raises(UserError, match="no text to speak"):
        speaker.speak(text, "question")


def test_too_long_text_and_unknown_role(tts_params, tmp_path):
    speaker = Speaker.from_params(tts_params.with_values(engine="espeak", max_chars=20), tmp_path)
    with pytest.raises(UserError, match="tts.max_chars"):
        speaker.speak("x" * 21, "answer")
    with pytest.raises(ValueError, match="role"):
        speaker.speak("Bonjour", "narrator")


def test_threads_asking_at_once_get_their_clips_and_each_is_made_once(speaker, count_runs):
    texts = [f"Question numéro {n % 4}." for n in range(12)]
    clips = [None] * len(texts)

    def ask(index):
        clips[index] = speaker.speak(texts[index], "question")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(count_runs) == 4 and len({c.id for c in clips}) == 4
    for text, clip in zip(texts, clips):
        assert clip.id == speaker.speak(text, "question").id and clip.path.is_file()


def test_missing_espeak_names_the_install_step(tts_params, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without espeak-ng
    with pytest.raises(UserError, match="espeak-ng is not installed.*apt-get install espeak-ng"):
        Speaker.from_params(tts_params.with_values(engine="auto"), tmp_path / "audio")


@pytest.mark.parametrize("voice, message", [
    ("xx", "tts.answer_voice.espeak = 'xx': espeak-ng cannot speak"),
    ("fr+zz9", "no variant 'zz9'"),
    ("fr -w /tmp/x", "not an espeak-ng voice name"),
])
def test_unknown_voice_is_refused_at_start(tts_params, tmp_path, voice, message):
    with pytest.raises(UserError, match=message):
        Speaker.from_params(with_voice(tts_params, "answer", "espeak", voice).with_values(engine="espeak"), tmp_path)


@pytest.mark.parametrize("key, value, message", [
    ("engine", "festival", "tts.engine = 'festival' is not allowed"),
    ("question_voice", "fr+m3", "tts.question_voice = 'fr\\+m3' is not allowed; expected a mapping"),
    ("answer_voice", {"espeak": "fr"}, "tts.answer_voice"),
    ("espeak_pitch", {"question": 40, "answer": 120}, "tts.espeak_pitch"),
])
def test_bad_params_name_the_key(tts_params, key, value, message):
    with pytest.raises(ParamError, match=message):
        TtsParams.from_mapping({**tts_params.model_dump(), key: value})


def test_auto_uses_espeak_when_bark_weights_are_absent(tts_params, tmp_path):
    speaker = Speaker.from_params(tts_params.with_values(engine="auto"), tmp_path)
    assert speaker.engine == "espeak" and speaker.voices == {"question": "fr+m3", "answer": "fr+f3"}


def test_command_line_writes_a_wav(tmp_path, tts_params):
    from tests.conftest import REPO, run_in

    out = tmp_path / "x.wav"
    done = run_in(REPO, sys.executable, "-m", "dllab.speech", "Bonjour", "--role", "answer", "--out", str(out),
                  "--engine", "espeak", "--cache", str(tmp_path / "cache"))
    assert "espeak voice fr+f3" in done.stdout and read(out)[1] == 22050
    failed = run_in(REPO, sys.executable, "-m", "dllab.speech", " ", "--cache", str(tmp_path / "cache"), check=False)
    assert failed.returncode == 2 and failed.stderr.strip().endswith("error: there is no text to speak (empty or only spaces)")


def test_sentences_are_joined_into_one_cached_clip(speaker, count_runs):
    sentences = [speaker.speak(text, "answer") for text in ("Première phrase.", "Deuxième phrase, plus longue.")]
    runs = len(count_runs)
    joined = speaker.concatenate(sentences, "answer")
    samples, rate = read(joined.path)
    parts = [read(clip.path)[0] for clip in sentences]
    assert len(samples) == len(parts[0]) + int(0.2 * rate) + len(parts[1])
    assert np.array_equal(samples[:len(parts[0])], parts[0]) and np.array_equal(samples[-len(parts[1]):], parts[1])
    assert joined.id not in {clip.id for clip in sentences} and speaker.clip_path(joined.id) == joined.path
    assert speaker.concatenate(sentences, "answer").id == joined.id and len(count_runs) == runs  # no synthesis
    assert speaker.concatenate(sentences[:1], "answer") == sentences[0]


def test_a_relative_cache_folder_is_made_absolute_at_once(tts_params, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    speaker = Speaker.from_params(tts_params.with_values(engine="espeak"), "models/speech_cache")
    monkeypatch.chdir("/")  # a server reading the clip later from another folder still finds it
    clip = speaker.speak("Bonjour.", "question")
    assert clip.path == tmp_path / "models/speech_cache" / f"{clip.id}.wav" and clip.path.is_file()
    assert speaker.clip_path(clip.id) == clip.path
