"""Benchmark: the lab's sections through HTTP on the real server (`web/serve.py`, waitress), with the chat
model loaded, on the pipeline's artifacts (`dvc repro`).

Measures: start-up (until "serving on") and the background loading of torch and the models; the digit
round trip (POST /mnist/predict with a 280×280 PNG of an MNIST test digit, as the page sends it:
goal p95 <= 50 ms); each language model's first piece through POST /lm/generate (goal <= 300 ms) and its
pieces per second; the search round trip (GET /search?q=…&k=4 for each evaluation question, asked for
the first time so its embedding is computed: goal p95 <= 50 ms, and again, cached).
Writes reports/bench/lab_routes.json with the machine and its load. Run: `python bench/lab_routes.py` (about 1 minute).
"""
import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # web/ and tests/ are not installed packages

import numpy as np


def main() -> None:
    from web.client import get, post, post_events, running_server, wait_until_loaded
    from dllab.files import write_json
    from dllab.mnist.idx import read_idx
    from dllab.rag.evaluate import load_questions
    from dllab.runtime import machine_description

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default="data/mnist/MNIST/raw", help="folder of the MNIST IDX files")
    parser.add_argument("--questions", default="data/eval/questions.yaml")
    parser.add_argument("--digits", type=int, default=200, help="digit predictions timed")
    parser.add_argument("--races", type=int, default=10, help="generations timed")
    parser.add_argument("--tokens", type=int, default=40, help="tokens per model and generation")
    parser.add_argument("--out", default="reports/bench/lab_routes.json")
    args = parser.parse_args()
    images = read_idx(f"{args.mnist}/t10k-images-idx3-ubyte")[:args.digits]
    labels = read_idx(f"{args.mnist}/t10k-labels-idx1-ubyte")[:args.digits]
    pngs = [_canvas_png(image) for image in images]
    questions = [q.text for q in load_questions(args.questions)]
    load_average = {"at_start": os.getloadavg()}  # the machine may be shared: its load says how much

    with tempfile.TemporaryDirectory() as audio:
        started = time.perf_counter()
        with running_server("--audio-cache", audio) as (url, _):
            start_up_s = time.perf_counter() - started
            loaded_s = wait_until_loaded(url) + start_up_s

            digit_times, correct = [], 0
            for png, label in zip(pngs, labels):
                sent = time.perf_counter()
                status, _, body = post(url, "/mnist/predict", png, "image/png")
                digit_times.append(time.perf_counter() - sent)
                assert status == 200, body
                correct += json.loads(body)["prediction"] == label

            first = {"lstm": [], "transformer": []}
            speed = {"lstm": [], "transformer": []}
            for seed in range(args.races):
                seen: dict = {}
                for name, data, seconds in post_events(url, "/lm/generate", {
                        "prompt": "ROMEO:", "max_new_tokens": args.tokens, "seed": seed}):
                    if name == "piece":
                        seen.setdefault(data["model"], seconds)
                    elif name == "done":
                        first[data["model"]].append(seen[data["model"]])
                        speed[data["model"]].append(data["pieces"] / data["seconds"])

            search_times = {"first_time": [], "cached": []}
            for kind in search_times:
                for question in questions:
                    sent = time.perf_counter()
                    status, _, body = get(url, "/search?" + urllib.parse.urlencode({"q": question, "k": 4}))
                    search_times[kind].append(time.perf_counter() - sent)
                    assert status == 200, body
    load_average["at_end"] = os.getloadavg()

    report = {
        "start_up_s": round(start_up_s, 2),
        "sections_loaded_s": round(loaded_s, 2),
        "digit_round_trip_ms": _stats_ms(digit_times),
        "digit_accuracy_through_png": round(correct / len(labels), 4),
        "lm_first_piece_ms": {model: _stats_ms(times) for model, times in first.items()},
        "lm_pieces_per_s": {model: round(statistics.median(v), 1) for model, v in speed.items()},
        "search_round_trip_ms": {kind: _stats_ms(times) for kind, times in search_times.items()},
        "targets": {"digit_p95_ms": 50, "lm_first_piece_ms": 300, "search_p95_ms": 50},
        "settings": {"digits": len(pngs), "races": args.races, "tokens": args.tokens, "questions": len(questions)},
        "load_average": load_average,
        "machine": machine_description(),
    }
    write_json(args.out, report)
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=2))


def _canvas_png(image: np.ndarray) -> bytes:
    """The digit as the page's canvas sends it: 280×280, black ink on a transparent background."""
    from PIL import Image

    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = np.kron(image, np.ones((10, 10), np.uint8))
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, "PNG")
    return out.getvalue()


def _stats_ms(values: list[float]) -> dict:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {"p50": round(1000 * statistics.median(ordered), 1), "p95": round(1000 * pick(0.95), 1),
            "max": round(1000 * ordered[-1], 1), "n": len(ordered)}


if __name__ == "__main__":
    main()
