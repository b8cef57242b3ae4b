"""Stage lm_evaluate: the LSTM and the Transformer on the same test text, never used in training or checkpoint
selection (loss per token and per character, bits per character, perplexity), a unigram baseline, the
validation-curve figure and samples; generation speed goes to the stage record."""
import argparse
import json
from pathlib import Path

from dllab.cli import record_timing, run
from dllab.params import load
from dllab.text.config import LmEvaluateParams

MODELS = ("lstm", "transformer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="data/corpus")
    parser.add_argument("--tokenizer", default="models/tokenizer")
    parser.add_argument("--models", default="models", help="folder holding lstm/model.pt and transformer/model.pt")
    parser.add_argument("--out", default="reports/lm", help="folder for metrics.json, samples.md/.json, the figure")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = parser.parse_args()
    params = load(args.params, LmEvaluateParams)

    from dllab.files import write_json, write_text
    from dllab.runtime import machine_description, pick_device
    from dllab.text.evaluate import evaluate_models, samples_markdown
    from dllab.text.figures import validation_curves

    device = pick_device(args.device)
    out = Path(args.out)
    metrics, samples, speeds = evaluate_models({m: Path(args.models) / m / "model.pt" for m in MODELS}, args.tokenizer,
                                       args.corpus, params, device)
    validation_curves({m: out / f"{m}_history.csv" for m in MODELS}, out / "val_loss.png",
                      metrics["unigram"]["test_bpc"])
    write_text(out / "samples.md", samples_markdown(params.prompts, samples, params))
    write_json(out / "samples.json", [{"prompt": prompt, **{m: samples[m][i] for m in samples}}
                                      for i, prompt in enumerate(params.prompts)])
    write_json(out / "machine.json", machine_description(device))
    write_json(out / "metrics.json", metrics)
    record_timing(generation_tokens_per_second=speeds)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    run(main)
