"""Stage llm_download: the chat model as one GGUF file (models/llm/model.gguf) from llm.source (for an
openai: server, a one-line marker in its place: nothing to download)."""
import argparse

from dllab.chat.config import DOWNLOAD_KEYS, LLM_SPEC
from dllab.cli import run
from dllab.params import load_section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="models/llm/model.gguf")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per network request")
    args = parser.parse_args()
    params = load_section(args.params, "llm", LLM_SPEC, only=DOWNLOAD_KEYS)

    from dllab.chat.download import fetch_llm

    info = fetch_llm(params["source"], args.out, timeout=args.timeout)
    if info.get("remote"):
        print(f"{info['file']}: a marker only: the model is served by {info['source']} (nothing downloaded)")
        return
    print(f"{info['file']}: {info['bytes'] / 1e6:.1f} MB from {info['source']}, GGUF header checked")


if __name__ == "__main__":
    run(main)
