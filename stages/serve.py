"""Stage serve: start the real chat server on a free local port, ask the test questions over HTTP, check that
each answer has sources and two voices and that the first question's clip, sent back to /transcribe, gives
its text; write reports/serve/metrics.json, and stop the server."""
import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # web/ and tests/ are not installed packages

from dllab.chat.config import ChatParams, LlmParams
from dllab.cli import run
from dllab.params import load
from dllab.speech.config import SttParams, TtsParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="models/llm/model.gguf")
    parser.add_argument("--index", default="models/chromadb")
    parser.add_argument("--kokoro", default="models/kokoro")
    parser.add_argument("--whisper", default="models/whisper")
    parser.add_argument("--judge", default="models/judge/model.gguf")
    parser.add_argument("--questions", default="data/eval/questions.yaml")
    parser.add_argument("--first", type=int, default=3, help="how many questions of the file to ask")
    parser.add_argument("--out", default="reports/serve/metrics.json")
    args = parser.parse_args()
    # Checked here so that a bad value stops the stage before the server starts (the server reads them too).
    load(args.params, LlmParams)
    load(args.params, ChatParams)
    load(args.params, TtsParams)
    load(args.params, SttParams)

    from web.client import running_server
    from web.serve_check import ask_and_check, summarise, transcribe_check
    from dllab.files import write_json
    from dllab.rag.evaluate import load_questions

    questions = [q.text for q in load_questions(args.questions)[:args.first]]
    with tempfile.TemporaryDirectory(prefix="serve-audio-") as audio:  # fresh: synthesis is measured, not cached
        started = time.perf_counter()
        # --load-on-first-use: this stage checks the chat; torch and the lab's other models stay unloaded.
        with running_server("--params", args.params, "--model", args.model, "--index", args.index,
                            "--kokoro", args.kokoro, "--whisper", args.whisper, "--judge", args.judge,
                            "--audio-cache", audio,
                            "--load-on-first-use") as (url, _):
            startup = time.perf_counter() - started
            turns = ask_and_check(url, questions)
            metrics = {**summarise(turns, startup), "transcribed": transcribe_check(url, turns[0])}
    write_json(args.out, metrics)
    print(f"{metrics['questions']} questions answered with sources and audio: first token "
          f"{metrics['first_token_s']:.2f} s, latency {metrics['latency_s']:.2f} s, {metrics['tokens_per_s']} "
          f"tokens/s, speech real-time factor {metrics['synthesis_real_time_factor']} ({metrics['tts_engine']}); "
          f"the first question's clip heard as {metrics['transcribed']['text']!r}")


if __name__ == "__main__":
    run(main)
