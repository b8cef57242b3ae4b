"""The files the lab's sections need, for the web tests: the pipeline's own when it has made them (a
developer's checkout), otherwise small real ones made once per session (a fresh clone, CI):
- the MNIST MLP: trained here for 3 epochs on the real MNIST (one hidden layer of 256, ~98 %);
- the tokenizer and both language models: the text tests' tiny ones, untrained (they stream text all the same);
- the report: built by dllab.report from the report tests' made-up metrics and figures.
And MNIST test digits turned into pen strokes, as a person would draw them on the page's canvas.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dllab.lab import LabFiles
from tests.conftest import REPO

CANVAS = 280  # the page's drawing canvas, in pixels; a 28×28 pixel is 10 of them


def lab_files(base: Path, mnist_raw: Path) -> LabFiles:
    pipeline = LabFiles.under(REPO)
    made = base / "lab"
    return LabFiles(
        pipeline.mnist_model if pipeline.mnist_model.is_file() else _mnist_model(made, mnist_raw),
        *(_language_models(pipeline, made)),
        pipeline.report if pipeline.report.is_file() else _report(made),
    )


def _mnist_model(made: Path, mnist_raw: Path) -> Path:
    import torch

    from dllab.mnist.config import MnistParams
    from dllab.mnist.train import train
    from dllab.params import load

    path = made / "mnist/model.pt"
    if not path.is_file():
        params = load(REPO / "params.yaml", MnistParams).with_values(hidden=(256,), epochs=3)
        train(params, mnist_raw.parents[1], path, made / "mnist/history.csv", torch.device("cpu"))
    return path


def _language_models(pipeline: LabFiles, made: Path) -> tuple[Path, Path, Path]:
    if all(p.exists() for p in (pipeline.lstm, pipeline.transformer, pipeline.tokenizer)):
        return pipeline.lstm, pipeline.transformer, pipeline.tokenizer
    import torch

    from dllab.text.checkpoint import save_checkpoint
    from dllab.text.config import TokenizerParams
    from dllab.text.lstm import LSTMLM
    from dllab.text.tokenizer import Tokenizer, train_tokenizer
    from dllab.text.transformer import TransformerLM
    from tests.text.conftest import TEXT

    folder = made / "lm"
    if not (folder / "transformer.pt").is_file():
        tokenizer = Tokenizer(train_tokenizer(TEXT * 20, TokenizerParams(vocab_size=320, max_lines=10_000),
                                              folder / "tokenizer"))
        torch.manual_seed(0)
        save_checkpoint(LSTMLM(tokenizer.vocab_size, context=16, embed=24, hidden=32, layers=2), "lstm",
                        folder / "lstm.pt", extra={"summary": {}})
        transformer = TransformerLM(tokenizer.vocab_size, context=16, dim=32, layers=2, heads=4)
        with torch.no_grad():  # untrained attention is uniform everywhere: larger q, k tell layers and heads apart
            for block in transformer.blocks:
                block.attention.qkv.weight.normal_(std=0.5)
        save_checkpoint(transformer, "transformer", folder / "transformer.pt", extra={"summary": {}})
    return folder / "lstm.pt", folder / "transformer.pt", folder / "tokenizer"


def _report(made: Path) -> Path:
    from dllab.report.build import build
    from dllab.report.document import to_html
    from tests.report.fixtures import MACHINE, make_reports

    path = made / "report/index.html"
    if not path.is_file():
        reports = make_reports(made / "report-inputs")
        path.parent.mkdir(parents=True, exist_ok=True)
        shown = {"mnist": {"hidden": [512, 512]}, "rag": {}, "chat": {}}  # the report quotes rag and chat values
        path.write_text(to_html(build(reports, shown, MACHINE)), encoding="utf-8")
    return path


def mnist_test_digits(mnist_raw: Path, digits=(0, 2, 3, 7)) -> list[tuple[int, np.ndarray]]:
    """The first image of each of ``digits`` in the MNIST test set: (label, (28, 28) ink in 0..1)."""
    from dllab.mnist.idx import read_idx

    images = read_idx(mnist_raw / "t10k-images-idx3-ubyte")
    labels = read_idx(mnist_raw / "t10k-labels-idx1-ubyte")
    return [(d, images[int(np.flatnonzero(labels == d)[0])] / 255.0) for d in digits]


def strokes(image: np.ndarray, ink: float = 0.5) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The image's ink traced as pen strokes on the canvas: each run of inked pixels in a row is one
    stroke from its first pixel's centre to its last's (a 20-pixel-wide digit takes ~25 strokes)."""
    scale = CANVAS // image.shape[1]
    traced = []
    for row, inked in enumerate(image >= ink):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], inked.astype(int), [0]])))  # run starts and ends
        for start, end in zip(edges[::2], edges[1::2]):
            y = row * scale + scale // 2
            traced.append(((start * scale + scale // 2, y), ((end - 1) * scale + scale // 2, y)))
    return traced
