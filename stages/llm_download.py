"""Stage llm_download (and judge_download): one GGUF file from the source its params section names: the chat
model (models/llm/model.gguf, from llm.source; for an openai: server, a one-line marker in its place: nothing to
download) or the yes/no judge (models/judge/model.gguf, from judge.source)."""
import argparse

from dllab.chat.config import JudgeParams, LlmParams
from dllab.cli import run
from dllab.params import load

SECTIONS = {"llm": LlmParams, "judge": JudgeParams}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--section", choices=sorted(SECTIONS), default="llm", help="the params section to read")
    parser.add_argument("--out", default="models/llm/model.gguf")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per network request")
    args = parser.parse_args()
    model = SECTIONS[args.section]
    params = load(args.params, model, only=model.DOWNLOAD_KEYS)

    from dllab.chat.download import fetch_llm

    # A judge.source naming a server (openai:) is refused by JudgeParams: the judge reads a GGUF's logits.
    info = fetch_llm(params, args.out, timeout=args.timeout)
    if info.get("remote"):
        print(f"{info['file']}: a marker only: the model is served by {info['source']} (nothing downloaded)")
        return
    print(f"{info['file']}: {info['bytes'] / 1e6:.1f} MB from {info['source']}, GGUF header checked")


if __name__ == "__main__":
    run(main)
