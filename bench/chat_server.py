"""Benchmark: the chat server as users get it, against llama-cpp-python called directly.

Measures, with the default params and the pipeline's model and index (`dvc repro llm_download rag_index`):
time to first token; decoding tokens/s of served answers vs the same prompts generated with the same model
file and threads in a separate process that loads nothing else (goal: served >= 95 % of direct); end-to-end
latency p50/p95 with 1 and 4 concurrent clients; how long after the first answer sentence is complete its
audio is announced (goal: p50 <= 1.5 s); the speech real-time factor; the server's resident memory after
start-up, after the first answers and after 50 questions (goal: <= 1.5 GB, flat); the bad-request battery
(goal: no 5xx); then 24 clients asking again and again for 30 s with 16 queue places: latency of the 503s
(goal: <= 100 ms) and of /health, the page and a clip meanwhile (goal: /health p95 <= 0.5 s).
Writes reports/bench/chat_server.json. Run: `python bench/chat_server.py` (about 7 minutes on 2 quiet cores).
In the default quote mode no model token is generated: the served/direct speed comparison needs
`python bench/chat_server.py --answer-mode generate --out reports/bench/chat_server-generate.json`.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # web/ and tests/ are not installed packages

from dllab.chat.config import ChatParams, LlmParams
from dllab.chat.llm import ChatModel
from dllab.params import load


def main() -> None:
    if sys.argv[1:2] == ["--direct-worker"]:
        return direct_worker(*sys.argv[2:])
    import psutil

    from web.client import running_server, stream_chat, wait_until_loaded
    from dllab.files import write_json
    from dllab.rag.evaluate import load_questions
    from dllab.runtime import machine_description

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="models/llm/model.gguf")
    parser.add_argument("--index", default="models/chromadb")
    parser.add_argument("--questions", default="data/eval/questions.yaml")
    parser.add_argument("--compare", type=int, default=6, help="questions timed served and direct")
    parser.add_argument("--concurrent", type=int, default=8, help="requests sent by 4 clients at once")
    parser.add_argument("--total", type=int, default=50, help="questions asked in all before the last memory reading")
    parser.add_argument("--load-clients", type=int, default=24, help="clients asking at once beyond the queue")
    parser.add_argument("--load-seconds", type=float, default=30)
    parser.add_argument("--answer-mode", choices=["quote", "generate"], help="instead of params.yaml's chat.answer_mode")
    parser.add_argument("--out", default="reports/bench/chat_server.json")
    args = parser.parse_args()
    if args.answer_mode:
        args.params = _with_answer_mode(args.params, args.answer_mode)
    llm = load(args.params, LlmParams)
    chat = load(args.params, ChatParams)
    questions = [q.text for q in load_questions(args.questions)]
    pick = lambda n, start=0: [questions[(start + i) % len(questions)] for i in range(n)]  # noqa: E731
    generating = chat.answer_mode == "generate"  # quote mode generates no token: nothing to compare
    direct = Direct(args.model, args.index, args.params, chat) if generating else None
    load_average = {"at_start": os.getloadavg()}  # the machine may be shared: its load says how much

    load_pool = ThreadPoolExecutor(args.load_clients + 1)  # outlives the server: its stop ends the answers waited for
    with tempfile.TemporaryDirectory() as audio, running_server(
            "--params", args.params, "--model", args.model, "--index", args.index, "--audio-cache", audio) as (url, proc):
        server = psutil.Process(proc.pid)
        wait_until_loaded(url)  # torch and the lab's models load in the background: measure after, not beside
        memory = {"after_start_mb": _rss_mb(server)}
        # Served and direct alternate question by question, so that a change in the machine's load
        # (it may be shared) weighs on both sides alike.
        served, direct_runs = [], []
        for question in pick(args.compare):
            served.append(stream_chat(url, question))  # one client
            if direct:
                direct_runs.append(direct.ask(question))
        if direct:
            direct.close()
        memory["after_first_answers_mb"] = _rss_mb(server)
        with ThreadPoolExecutor(4) as pool:
            started = time.perf_counter()
            concurrent = list(pool.map(lambda q: stream_chat(url, q), pick(args.concurrent, args.compare)))
            concurrent_wall = time.perf_counter() - started
        asked = args.compare + args.concurrent
        rest = [stream_chat(url, q) for q in pick(max(0, args.total - asked), asked)]
        memory[f"after_{max(args.total, asked)}_questions_mb"] = _rss_mb(server)
        mistakes = bad_request_battery(url)
        crowd = under_load(url, load_pool, questions, args.load_clients, args.load_seconds,
                          served[0]["audio"]["answer"]["url"])
        memory["after_load_mb"] = _rss_mb(server)
    load_pool.shutdown(wait=True)
    load_average["at_end"] = os.getloadavg()
    memory["growth_after_first_answers_mb"] = round(
        memory[f"after_{max(args.total, asked)}_questions_mb"] - memory["after_first_answers_mb"], 1)

    speed = {}
    if generating:
        served_rate = statistics.mean(r["timings"]["tokens_per_s"] for r in served)
        direct_rate = statistics.mean(r["tokens_per_s"] for r in direct_runs)
        speed = {"direct_first_token_s": _stats([r["first_token_s"] for r in direct_runs]),
                 "served_tokens_per_s": round(served_rate, 2), "direct_tokens_per_s": round(direct_rate, 2),
                 "served_vs_direct": round(served_rate / direct_rate, 3)}
    everything = served + concurrent + rest
    report = {
        "benchmark": "serve",
        "model": args.model,
        "answer_mode": chat.answer_mode,
        "params": {"llm": llm.model_dump(), "chat": chat.model_dump()},
        # The first streamed piece: a model token (generate) or the first quoted sentence (quote).
        "first_token_s": _stats([r["client"]["first_token_s"] for r in served + rest]),
        **speed,
        "latency_1_client_s": _stats([r["client"]["total_s"] for r in served + rest]),
        "latency_4_clients_s": _stats([r["client"]["total_s"] for r in concurrent]),
        "throughput_4_clients_answers_per_min": round(60 * len(concurrent) / concurrent_wall, 2) if concurrent else None,
        "first_answer_audio_after_first_sentence_s": _stats(
            [r["client"]["first_answer_audio_s"] - r["client"]["first_sentence_s"] for r in served + rest]),
        "tts_real_time_factor": _tts_rtf(everything),
        "bad_requests": mistakes,
        "beyond_capacity": crowd,
        "server_rss": memory,
        "questions_asked": len(everything),
        "targets": {"served_vs_direct_min": 0.95, "server_rss_mb_max": 1536, "responses_5xx": 0,
                    "first_token_p50_s_quote_mode": 1.0,
                    "refusal_503_s_max": 0.1, "health_p95_s_max": 0.5, "first_answer_audio_after_sentence_p50_s": 1.5},
        "machine": machine_description(),
        "load_average_1_5_15_min": load_average,
    }
    write_json(args.out, report)
    print(json.dumps({k: v for k, v in report.items() if k not in ("params", "machine")}, indent=2))


def _with_answer_mode(params_path: str, mode: str) -> str:
    """A copy of the params file with chat.answer_mode set (kept for the run in the temporary folder)."""
    import yaml

    raw = yaml.safe_load(open(params_path, encoding="utf-8"))
    raw["chat"]["answer_mode"] = mode
    handle, path = tempfile.mkstemp(prefix="bench-params-", suffix=".yaml")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        yaml.safe_dump(raw, out, allow_unicode=True)
    return path


class Direct:
    """llama-cpp-python called directly, on the prompts the server builds: the speed to match.

    It runs in a child process that imports llama_cpp and nothing heavy (no torch), kept warm between
    questions, reading one prompt per line on stdin and answering one JSON result per line.
    """

    def __init__(self, model_path, index_dir, params_path, chat: ChatParams):
        from dllab.rag.search import Retriever

        self.retriever, self.top_k = Retriever.open(index_dir), chat.top_k
        self.worker = subprocess.Popen([sys.executable, __file__, "--direct-worker", str(model_path), params_path],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.n_ctx, self.max_tokens = self._call({"limits": True})["limits"]

    def count_tokens(self, text: str) -> int:
        return self._call({"count": text})["tokens"]

    def ask(self, question: str) -> dict:
        from dllab.chat.prompt import build_prompt

        hits = self.retriever.search(question, k=self.top_k)
        prompt = build_prompt(question, hits, [], self.count_tokens, self.n_ctx, self.max_tokens)
        return self._call({"messages": prompt.messages})

    def close(self) -> None:
        self.worker.stdin.close()
        self.worker.wait(timeout=30)

    def _call(self, request: dict) -> dict:
        self.worker.stdin.write(json.dumps(request) + "\n")
        self.worker.stdin.flush()
        return json.loads(self.worker.stdout.readline())


def direct_worker(model_path: str, params_path: str) -> None:
    model = ChatModel.load(model_path, load(params_path, LlmParams))
    for line in sys.stdin:
        request = json.loads(line)
        if "count" in request:
            answer = {"tokens": model.count_tokens(request["count"])}
        elif "limits" in request:
            answer = {"limits": [model.n_ctx, model.max_tokens]}
        else:
            started = time.perf_counter()
            times = [time.perf_counter() for _ in model.stream(request["messages"])]
            # Counted as the server counts: tokens after the first over the time since the first.
            answer = {"first_token_s": times[0] - started if times else None,
                      "tokens_per_s": (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else None}
        print(json.dumps(answer), flush=True)


def bad_request_battery(url: str) -> dict:
    """Every client mistake of the battery, to both chat routes of the real server: how many got a 5xx."""
    from web.client import post
    from tests.support.mistakes import BAD_REQUESTS

    statuses = []
    for body, content_type, status, _ in BAD_REQUESTS:
        for path in ("/chat", "/chat/stream"):
            data = body if isinstance(body, bytes) else body.encode("utf-8")
            statuses.append((post(url, path, data, content_type, timeout=60)[0], status))
    return {"requests": len(statuses), "responses_5xx": sum(got >= 500 for got, _ in statuses),
            "as_expected": sum(got == expected for got, expected in statuses)}


def under_load(url: str, pool, questions: list[str], clients: int, seconds: float, clip_url: str) -> dict:
    """``clients`` clients ask again and again for ``seconds`` (a refused one asks again 0.5 s later), more
    than the queue holds; one more client meanwhile reads /health, the page, a script and a clip in turn."""
    from web.client import get, post_json

    stop_at = time.monotonic() + seconds
    refusals, light = [], {path: [] for path in ("/health", "/", "/static/app.js", clip_url)}

    def client(number: int) -> None:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            status, headers, _ = post_json(url, "/chat", {"question": questions[number % len(questions)]})
            if status == 503 and time.monotonic() < stop_at:  # later 503s are the server's stop
                refusals.append((time.perf_counter() - started, "Retry-After" in headers))
                time.sleep(0.5)

    def reader() -> None:
        time.sleep(2)  # the queue fills first
        while time.monotonic() < stop_at:
            for path, latencies in light.items():
                started = time.perf_counter()
                status = get(url, path, timeout=60)[0]
                latencies.append(time.perf_counter() - started if status == 200 else float("inf"))
            time.sleep(0.1)

    reading = pool.submit(reader)
    for number in range(clients):
        pool.submit(client, number)
    reading.result()
    return {"clients": clients, "seconds": seconds,
            "refused_503": _stats([t for t, _ in refusals]) if refusals else None,
            "refusals_with_retry_after": sum(ok for _, ok in refusals),
            "light_routes_s": {("/audio/<id>" if path == clip_url else path): _stats(latencies)
                               for path, latencies in light.items()}}


def _tts_rtf(results: list[dict]) -> float | None:
    """Synthesis seconds per second of audio, over the clips that were synthesised (not cache hits)."""
    synth = audio = 0.0
    for r in results:
        t = r["timings"]
        for role in ("question", "answer"):
            if t[f"{role}_tts_s"] > 0:
                synth, audio = synth + t[f"{role}_tts_s"], audio + t[f"{role}_audio_s"]
    return round(synth / audio, 4) if audio else None


def _stats(values: list[float]) -> dict | None:
    if not values:  # e.g. --concurrent 0
        return None
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {"p50": round(statistics.median(ordered), 3), "p95": round(pick(0.95), 3),
            "mean": round(statistics.mean(ordered), 3), "n": len(ordered)}


def _rss_mb(process) -> float:
    return round(process.memory_info().rss / 2**20, 1)


if __name__ == "__main__":
    main()
