"""Stage speech_evaluate: the question set's questions and the reference answers said in both voices and
transcribed by Whisper base; word error rates, pitch and how far apart the voices are go to
reports/speech/metrics.json, speeds to the stage's record, a few clips to reports/speech/clips."""
import argparse
import tempfile
from pathlib import Path

from dllab.cli import record_timing, run
from dllab.params import load
from dllab.speech.config import SpeechEvaluateParams, SttParams, TtsParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--kokoro", default="models/kokoro")
    parser.add_argument("--whisper", default="models/whisper")
    parser.add_argument("--questions", default="data/eval/questions.yaml")
    parser.add_argument("--answers", default="data/eval/speech_answers.yaml")
    parser.add_argument("--out", default="reports/speech", help="folder for metrics.json, transcripts.json, clips/")
    args = parser.parse_args()
    tts = load(args.params, TtsParams)
    stt = load(args.params, SttParams, only=("language", "beam_size"))
    chosen = load(args.params, SpeechEvaluateParams)

    from tqdm import tqdm

    from dllab.files import atomic_dir, write_json
    from dllab.rag.evaluate import load_questions
    from dllab.speech.tts import Speaker
    from dllab.speech.evaluate import benchmark_texts, hear_all, keep_clips, load_answers, metrics, timings, \
        transcripts
    from dllab.speech.transcribe import Transcriber

    texts = benchmark_texts([q.text for q in load_questions(args.questions)], load_answers(args.answers),
                            chosen.questions, chosen.answers)
    # Its own clips: the upload limits of a server do not apply.
    transcriber = Transcriber(args.whisper, stt.with_values(max_seconds=600, max_mb=100))
    out = Path(args.out)
    with tempfile.TemporaryDirectory(prefix="speech-evaluate-audio-") as audio:  # fresh: synthesis is measured
        speaker = Speaker.from_params(tts, audio, kokoro_dir=args.kokoro)
        with tqdm(total=2 * len(texts), desc="texts said and heard", unit="text") as bar:
            heard = hear_all(speaker, transcriber, texts, progress=bar.update)
        summary = metrics(heard, speaker.engine, speaker.voices)
        with atomic_dir(out / "clips") as clips:
            keep_clips(speaker, heard, clips)
    write_json(out / "transcripts.json", transcripts(heard))
    write_json(out / "metrics.json", summary)
    speed = timings(heard)
    record_timing(**speed)
    print(f"{summary['engine']}: WER question voice {summary['question_voice']['wer']}, answer voice "
          f"{summary['answer_voice']['wer']}; voices {summary['pitch_semitones_apart']} semitones apart; "
          f"real-time factor {speed['answer_real_time_factor']}, first audio {speed['first_audio_s_p50']} s")


if __name__ == "__main__":
    run(main)
