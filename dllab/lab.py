"""The lab's systems as a server holds them: each section loads its own artifacts on first use (or in the
background just after start-up), and a section whose files are missing says which stage builds them
while the others keep working.

What is slow is loaded lazily: torch (about 2 s to import), the MNIST MLP and the two language models
with their tokenizer. The knowledge-base index is the chat service's own, already open.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from dllab.lazy import Lazy


@dataclass(frozen=True)
class LabFiles:
    mnist_model: Path
    lstm: Path
    transformer: Path
    tokenizer: Path
    report: Path
    index: Path = Path("models/chromadb")  # searched only when the chat service (and its index) is not there
    # The evaluate stages' test metrics, shown beside each model (None or a missing file: not evaluated yet).
    mnist_metrics: Path | None = None
    lm_metrics: Path | None = None

    @classmethod
    def under(cls, root: Path) -> "LabFiles":
        """The pipeline's outputs in a repository ``root`` (the paths in dvc.yaml)."""
        return cls(root / "models/mnist/model.pt", root / "models/lstm/model.pt",
                   root / "models/transformer/model.pt", root / "models/tokenizer", root / "reports/index.html",
                   root / "models/chromadb", root / "reports/mnist/metrics.json", root / "reports/lm/metrics.json")


class Lab:
    def __init__(self, files: LabFiles, retriever=None, experiments=None, build: str | None = None):
        """``retriever``: the chat service's, shared by the search; without it the search opens ``files.index``.
        ``experiments``: a ``dllab.experiments.Experiments`` whose models ``at(rev)`` serves (None: none).
        ``build``: the command that makes missing models when it is not their stage's `dvc repro` (an
        experiment's `dvc exp run`)."""
        from dllab.text.tokenizer import MODEL_FILE

        self.files, self.experiments = files, experiments
        self.digits = Lazy("the digit reader", [files.mnist_model], "mnist_train", self._load_digits, build)
        self.models = {
            "lstm": Lazy("the LSTM", [files.lstm, files.tokenizer / MODEL_FILE], "lstm_train",
                         lambda: self._load_lm(files.lstm), build),
            "transformer": Lazy("the Transformer", [files.transformer, files.tokenizer / MODEL_FILE],
                                "transformer_train", lambda: self._load_lm(files.transformer), build),
        }
        self._owns_index = retriever is None  # a Retriever opened here is closed here (its private copy)
        index_files = [] if retriever is not None else [files.index / "chroma.sqlite3"]
        self.search = Lazy("the knowledge-base search", index_files, "rag_index",
                           lambda: retriever if retriever is not None else self._open_index(files.index))
        self.report = Lazy("the report", [files.report], "report", lambda: files.report)

    def _load_digits(self):
        from dllab.mnist.predict import DigitReader

        return DigitReader.load(self.files.mnist_model)

    def _load_lm(self, path: Path):
        from dllab.text.generate import load_model

        return load_model(str(path), str(self.files.tokenizer))

    @staticmethod
    def _open_index(index_dir: Path):
        from dllab.rag.search import Retriever

        return Retriever.open(index_dir)

    def at(self, experiment: str | None) -> "Lab":
        """This lab (``experiment`` None or empty) or the one over that experiment's models (UserError when it is
        not one of the repository's experiments)."""
        if not experiment:
            return self
        if self.experiments is None:
            from dllab.errors import UserError

            raise UserError("this server lists no experiments (it was not started in a DVC repository)")
        return self.experiments.lab(experiment)

    def test_metrics(self, section: str) -> dict | None:
        """``section`` ("mnist" or "lm")'s metrics.json as its evaluate stage wrote it, read at each call (the
        pipeline may write it while the server runs); None when it is not there or not readable."""
        import json

        path = {"mnist": self.files.mnist_metrics, "lm": self.files.lm_metrics}[section]
        try:
            return json.loads(path.read_text(encoding="utf-8")) if path is not None else None
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        if self._owns_index and self.search.loaded is not None:
            self.search.loaded.close()

    def sections(self) -> dict[str, Lazy]:
        return {"digits": self.digits, **{f"lm_{name}": lazy for name, lazy in self.models.items()},
                "search": self.search, "report": self.report}

    def status(self) -> dict:
        return {name: lazy.status() for name, lazy in self.sections().items()}

    def warm_in_background(self) -> threading.Thread:
        """Load the slow artifacts on a daemon thread so that the first request finds them ready."""
        def warm():
            for lazy in (self.digits, *self.models.values(), self.search, self.report):
                lazy.warm()

        thread = threading.Thread(target=warm, name="warm-up", daemon=True)
        thread.start()
        return thread
