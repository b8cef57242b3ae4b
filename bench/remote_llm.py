"""Benchmark: the chat model through an OpenAI-compatible server against in-process llama.cpp, same GGUF.

Starts llama-cpp-python's server (`python -m llama_cpp.server`) on the pipeline's model
(`models/llm/model.gguf`) with llm.threads threads and llm.n_ctx, loads the same file in this process with
the same settings, and generates the answers to the same RAG prompts (the first --questions questions of
the question set, their passages from the index) both ways, one question at a time, alternating which side
goes first. Greedy decoding (temperature 0) so both sides write the same tokens. Measures decoding tokens/s
(tokens after the first over the time since the first, as the chat service counts them) and time to first
token; writes medians, the remote/in-process ratios and the machine to reports/bench/remote_llm.json.
OpenMP wait policies: the server's ``--server-policy`` (PASSIVE by default: that server needs it, see
``web.client.running_llama_server``), in process ``--in-process-policy`` (default: none set, as the chat
server runs; PASSIVE on both sides measures the HTTP and SSE path alone).
Run: `python bench/remote_llm.py` (about 2 minutes on 2 quiet cores).
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # web/ and tests/ are not installed packages


def main() -> None:
    policy = _option("--in-process-policy", "default")
    if policy != "default":
        os.environ["OMP_WAIT_POLICY"] = policy  # before llama.cpp's OpenMP runtime starts
    from web.client import running_llama_server
    from dllab.chat.config import LlmParams
    from dllab.chat.llm import ChatModel
    from dllab.chat.prompt import build_prompt
    from dllab.chat.remote import RemoteChatModel
    from dllab.files import write_json
    from dllab.params import load
    from dllab.rag.evaluate import load_questions
    from dllab.rag.search import Retriever
    from dllab.runtime import machine_description

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="models/llm/model.gguf")
    parser.add_argument("--index", default="models/chromadb")
    parser.add_argument("--questions", default="data/eval/questions.yaml")
    parser.add_argument("--count", type=int, default=8, help="questions answered both ways")
    parser.add_argument("--in-process-policy", choices=["default", "PASSIVE", "ACTIVE"], default="default")
    parser.add_argument("--server-policy", choices=["PASSIVE", "ACTIVE"], default="PASSIVE")
    parser.add_argument("--out", default="reports/bench/remote_llm.json")
    args = parser.parse_args()
    llm = load(args.params, LlmParams).with_values(temperature=0.0)
    local = ChatModel.load(args.model, llm.with_values(source=args.model))
    retriever = Retriever.open(args.index)
    questions = [q.text for q in load_questions(args.questions) if not q.out_of_scope][:args.count]
    prompts = [build_prompt(q, retriever.search(q, k=4), [], local.count_tokens, local.n_ctx, local.max_tokens)
               for q in questions]
    retriever.close()

    load_before = os.getloadavg()
    with running_llama_server(args.model, threads=llm.threads, n_ctx=llm.n_ctx,
                              omp_wait_policy=args.server_policy) as (url, _):
        remote = RemoteChatModel.from_params(llm.with_values(source=f"openai:{url}", remote_model="bench"))
        sides = {"in_process": local, "remote": remote}
        for model in sides.values():  # warm-up: first calls pay for allocations
            timed(model, prompts[0].messages)
        runs = []
        for n, (question, prompt) in enumerate(zip(questions, prompts)):
            order = list(sides) if n % 2 == 0 else list(reversed(sides))
            result = {name: timed(sides[name], prompt.messages) for name in order}
            result["question"], result["prompt_tokens"] = question, prompt.tokens
            result["same_text"] = result["in_process"].pop("text") == result["remote"].pop("text")
            runs.append(result)
            print(f"{question[:50]:50s} in-process {result['in_process']['tokens_per_s']:6.1f} tok/s, "
                  f"remote {result['remote']['tokens_per_s']:6.1f} tok/s", flush=True)
        remote.close()

    summary = {side: {key: round(statistics.median(r[side][key] for r in runs), 3)
                      for key in ("tokens_per_s", "first_token_s")} for side in sides}
    report = {
        "what": "decoding tokens/s and first token, same GGUF, same prompts and threads: python -m llama_cpp.server "
                "over loopback HTTP (SSE) against llama-cpp-python in process",
        "model": args.model, "omp_wait_policy": {"in_process": policy, "server": args.server_policy}, "threads": llm.threads, "n_ctx": llm.n_ctx, "max_tokens": llm.max_tokens,
        "questions": len(runs), **summary,
        "tokens_per_s_ratio": round(summary["remote"]["tokens_per_s"] / summary["in_process"]["tokens_per_s"], 3),
        "first_token_ratio": round(summary["remote"]["first_token_s"] / summary["in_process"]["first_token_s"], 3),
        "same_text": sum(r["same_text"] for r in runs),
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
        "machine": machine_description(),
        "runs": runs,
    }
    write_json(args.out, report)
    print(f"remote/in-process tokens/s: {report['tokens_per_s_ratio']} ({summary['remote']['tokens_per_s']} vs "
          f"{summary['in_process']['tokens_per_s']}); first token {summary['remote']['first_token_s']} s vs "
          f"{summary['in_process']['first_token_s']} s; load average {report['load_average']} → {args.out}")


def _option(name: str, default: str) -> str:
    """An option's value read before argparse runs (the OpenMP policy must be set before any import)."""
    import sys

    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv[:-1] else default


def timed(model, messages: list[dict]) -> dict:
    started = time.perf_counter()
    pieces, times = [], []
    for piece in model.stream(messages):
        times.append(time.perf_counter())
        pieces.append(piece)
    decode = times[-1] - times[0] if len(times) > 1 else 0.0
    return {"tokens": len(times), "first_token_s": round(times[0] - started, 4) if times else None,
            "tokens_per_s": round((len(times) - 1) / decode, 2) if decode > 0 else None, "text": "".join(pieces)}


if __name__ == "__main__":
    main()
