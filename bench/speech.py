"""Benchmark text to speech: synthesis real-time factor (synthesis time / audio time, lower is faster)
of both voices for a question, a typical answer and a long answer, and the time of a cache hit.

Measures espeak-ng, and Bark too when its weights are in the local caches (otherwise says so).
Writes reports/bench/speech.json with the machine description. Run: `python bench/speech.py` (seconds
with espeak-ng; Bark on CPU takes about ten times the audio length).
"""
import argparse
import json
import tempfile
import time

import numpy as np

from dllab.files import write_json
from dllab.params import load_section
from dllab.runtime import machine_description
from dllab.speech import Speaker
from dllab.speech.bark import missing_weights
from dllab.speech.config import SPEC

SENTENCE = "La tarte aux pommes se cuit environ quarante minutes à cent quatre-vingts degrés, jusqu'à ce que la pâte soit dorée."
TEXTS = {
    "question": "Combien de temps faut-il cuire la tarte aux pommes ?",
    "answer": " ".join([SENTENCE] * 3),
    "long_answer": " ".join([SENTENCE] * 15),
}


def measure(params: dict, engine: str, repeats: int) -> dict:
    results = {}
    for name, text in TEXTS.items():
        for role in ("question", "answer"):
            factors, clip = [], None
            for _ in range(repeats):
                with tempfile.TemporaryDirectory() as cache:  # an empty cache: every call synthesises
                    clip = Speaker.from_params({**params, "engine": engine}, cache).speak(text, role)
                factors.append(clip.synth_seconds / clip.seconds)
            results[f"{name}/{role}"] = {"chars": len(text), "audio_seconds": round(clip.seconds, 2),
                                         "real_time_factor_median": round(float(np.median(factors)), 4)}
    with tempfile.TemporaryDirectory() as cache:
        speaker = Speaker.from_params({**params, "engine": engine}, cache)
        speaker.speak(TEXTS["answer"], "answer")
        started = time.perf_counter()
        for _ in range(100):
            speaker.speak(TEXTS["answer"], "answer")
        results["cache_hit_ms"] = round((time.perf_counter() - started) * 10, 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="reports/bench/speech.json")
    args = parser.parse_args()
    params = load_section(args.params, "tts", SPEC)
    missing = missing_weights(params["bark_small"])
    report = {
        "benchmark": "speech",
        "espeak": measure(params, "espeak", args.repeats),
        "bark": measure(params, "bark", 1) if not missing else {"skipped": "weights not in the local caches"},
        "targets": {"espeak_real_time_factor_max": 0.05},
        "machine": machine_description(),
    }
    write_json(args.out, report)
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
