"""Say a text in the question or answer voice: ``python -m dllab.speech "Bonjour" --role answer --out x.wav``.

A question is said up to ``tts.question_chars`` characters, as the chatbot says it.

Reads the ``tts`` section of params.yaml (``--engine`` overrides ``tts.engine``); the clip is made in
(or taken from) the audio cache, then copied to ``--out``.
"""
import argparse
import shutil

from dllab.cli import run
from dllab.files import atomic_path
from dllab.params import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text", help="what to say ('-' reads it from stdin)")
    parser.add_argument("--role", choices=["question", "answer"], default="answer", help="which voice")
    parser.add_argument("--out", help="WAV file to write (default: just print where the cached clip is)")
    parser.add_argument("--engine", choices=["auto", "kokoro", "bark", "espeak"], help="override tts.engine")
    parser.add_argument("--cache", default="models/tts_cache", help="audio cache folder")
    parser.add_argument("--kokoro", default="models/kokoro", help="Kokoro's files (dvc repro kokoro_download)")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()

    import sys

    from dllab.speech.config import TtsParams
    from dllab.speech.tts import Speaker

    params = load(args.params, TtsParams)
    if args.engine:
        params = params.with_values(engine=args.engine)
    text = sys.stdin.read() if args.text == "-" else args.text
    clip = Speaker.from_params(params, args.cache, args.kokoro).speak(text, args.role)
    if args.out:
        with atomic_path(args.out) as tmp:
            shutil.copyfile(clip.path, tmp)
    factor = clip.synth_seconds / clip.seconds if clip.seconds else 0.0
    print(f"{args.out or clip.path}: {clip.seconds:.2f} s of audio, {clip.engine} voice {clip.voice}, "
          f"synthesised in {clip.synth_seconds:.2f} s (real-time factor {factor:.3f}; 0 = from the cache)")


if __name__ == "__main__":
    run(main)
