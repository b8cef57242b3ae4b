"""Benchmark: looking inside the lab's models through HTTP on the real server (`web/serve.py`, waitress), on
the pipeline's artifacts (`dvc repro`), with the chat model loaded when its files are there (the report says).

Measures: POST /lm/inspect for a 64-token prompt from the test text (both models' 100 candidates and the
Transformer's attention, 4 layers × 4 heads × 64 × 64 by default: goal p95 <= 150 ms) and the answer's size;
POST /mnist/inspect with a 280×280 PNG of an MNIST test digit as the page sends it (saliency by integrated
gradients, the top units: goal p95 <= 50 ms). Writes reports/bench/look_inside.json with the machine and its load.
Run: `python bench/look_inside.py` (about a minute).
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # web/ and tests/ are not installed packages


def main() -> None:
    from lab_routes import _canvas_png, _stats_ms  # bench/lab_routes.py
    from web.client import get, post, post_json, running_server, wait_until_loaded
    from dllab.files import write_json
    from dllab.mnist.idx import read_idx
    from dllab.runtime import machine_description
    from dllab.text.tokenizer import Tokenizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default="data/mnist/MNIST/raw", help="folder of the MNIST IDX files")
    parser.add_argument("--corpus", default="data/corpus", help="the corpus folder (its test.txt gives prompts)")
    parser.add_argument("--tokenizer", default="models/tokenizer")
    parser.add_argument("--tokens", type=int, default=64, help="tokens per prompt")
    parser.add_argument("--prompts", type=int, default=60, help="LM inspections timed")
    parser.add_argument("--digits", type=int, default=200, help="digit inspections timed")
    parser.add_argument("--out", default="reports/bench/look_inside.json")
    args = parser.parse_args()
    tokenizer = Tokenizer(args.tokenizer)
    ids = tokenizer.encode(Path(args.corpus, "test.txt").read_text(encoding="utf-8")[:200_000])
    stride = max(1, (len(ids) - args.tokens) // args.prompts)
    prompts = [tokenizer.decode(ids[i * stride:i * stride + args.tokens]) for i in range(args.prompts)]
    pngs = [_canvas_png(image) for image in read_idx(f"{args.mnist}/t10k-images-idx3-ubyte")[:args.digits]]
    load_average = {"at_start": os.getloadavg()}  # the machine may be shared: its load says how much

    with tempfile.TemporaryDirectory() as audio:
        with running_server("--audio-cache", audio) as (url, _):
            wait_until_loaded(url)
            chat_loaded = json.loads(get(url, "/health")[2])["sections"]["chat"]["loaded"]
            lm_times, sizes, read = [], [], []
            for prompt in prompts:
                sent = time.perf_counter()
                status, _, body = post_json(url, "/lm/inspect", {"prompt": prompt})
                lm_times.append(time.perf_counter() - sent)
                assert status == 200, body[:300]
                sizes.append(len(body))
                read.append(len(json.loads(body)["attention"]["tokens"]))
            digit_times = []
            for png in pngs:
                sent = time.perf_counter()
                status, _, body = post(url, "/mnist/inspect", png, "image/png")
                digit_times.append(time.perf_counter() - sent)
                assert status == 200, body[:300]
    load_average["at_end"] = os.getloadavg()

    report = {
        "lm_inspect_ms": _stats_ms(lm_times),
        "lm_inspect_answer_kb": round(sum(sizes) / len(sizes) / 1024, 1),
        "lm_tokens_read_by_the_transformer": {"min": min(read), "max": max(read)},
        "mnist_inspect_ms": _stats_ms(digit_times),
        "chat_model_loaded": chat_loaded,
        "targets": {"lm_inspect_p95_ms": 150, "mnist_inspect_p95_ms": 50},
        "settings": {"tokens": args.tokens, "prompts": len(prompts), "digits": len(pngs)},
        "load_average": load_average,
        "machine": machine_description(),
    }
    write_json(args.out, report)
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
