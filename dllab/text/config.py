"""The language-model sections of params.yaml: ``corpus``, ``tokenizer``, ``lstm``, ``transformer`` and
``lm_evaluate``. Each stage reads one section, so changing ``lstm.hidden`` reruns only ``lstm_train`` and
what depends on it."""
from typing import ClassVar

from pydantic import model_validator

from dllab.params import Section, boolean, integer, list_of, number, source_in, text
from dllab.sources import SourceSyntax

CORPUS_SOURCES = SourceSyntax("'shakespeare', an http(s):// URL of a UTF-8 text file, or 'file:/path/to/text.txt'",
                              names=("shakespeare",), schemes=("file",), urls=True, paths=True)


class CorpusParams(Section):
    section: ClassVar[str] = "corpus"

    sources: list_of(source_in(CORPUS_SOURCES)) = ("shakespeare",)  # tried in order, the texts joined
    val_fraction: number(above=0, max=0.4) = 0.05   # checkpoint selection and curves
    test_fraction: number(above=0, max=0.4) = 0.05  # the reported numbers (lm_evaluate)
    max_chars: integer(min=0) = 0  # 0 = the whole text; small values make smoke runs


class TokenizerParams(Section):
    section: ClassVar[str] = "tokenizer"

    vocab_size: integer(min=260, max=65536) = 2048
    max_lines: integer(min=1) = 200000  # lines sampled from the training text to learn the merges
    seed: integer(min=0) = 0


class TrainingParams(Section):
    """Training keys both language models share (the training loop in dllab/text/train.py reads them)."""

    context: integer(min=2, max=4096) = 64
    batch_size: integer(min=1, max=4096) = 32
    lr: number(above=0) = 0.003
    weight_decay: number(min=0) = 0.01
    warmup_steps: integer(min=0) = 50
    max_steps: integer(min=1) = 1400
    max_seconds: number(min=0) = 0.0  # 0 = no time cap (the default); otherwise stop early, recorded as such
    grad_clip: number(above=0) = 1.0
    eval_interval: integer(min=1) = 50
    eval_batches: integer(min=1) = 4
    dropout: number(min=0, max=0.9) = 0.0
    seed: integer(min=0) = 1
    # Training processes on this machine (torchrun, DDP); batch_size stays the global batch (dllab/distributed.py).
    nproc: integer(min=1, max=1024) = 1

    MODEL_KEYS: ClassVar[tuple[str, ...]] = ()  # the keys that shape the model (the rest drive training)

    def model_kwargs(self) -> dict:
        """The keyword arguments of the model's constructor."""
        return {key: getattr(self, key) for key in self.MODEL_KEYS}


class LstmParams(TrainingParams):
    section: ClassVar[str] = "lstm"
    MODEL_KEYS: ClassVar[tuple[str, ...]] = ("embed", "hidden", "layers", "tie_weights")

    embed: integer(min=1, max=8192) = 256
    hidden: integer(min=1, max=8192) = 256
    layers: integer(min=1, max=16) = 2
    tie_weights: boolean() = True


class TransformerParams(TrainingParams):
    section: ClassVar[str] = "transformer"
    MODEL_KEYS: ClassVar[tuple[str, ...]] = ("dim", "layers", "heads")

    dim: integer(min=8, max=8192) = 128
    layers: integer(min=1, max=64) = 4
    heads: integer(min=1, max=128) = 4
    lr: number(above=0) = 0.002
    weight_decay: number(min=0) = 0.1
    max_steps: integer(min=1) = 1500

    @model_validator(mode="after")
    def _heads_divide_dim(self):
        if self.dim % self.heads:
            raise ValueError(f"transformer.dim = {self.dim} is not a multiple of transformer.heads = {self.heads}; "
                             "each head gets dim / heads channels")
        return self


class LmEvaluateParams(Section):
    section: ClassVar[str] = "lm_evaluate"

    test_chars: integer(min=0) = 100000  # test characters scored (the same for both models); 0 = all
    prompts: list_of(text(nonempty=False)) = ("ROMEO:\n", "To be, or not to be", "The king is dead; long live",
                                              "Quelle belle journée 🌞", "")
    max_new_tokens: integer(min=1, max=4096) = 60
    temperature: number(above=0) = 0.8
    top_k: integer(min=1) = 50
    seed: integer(min=0) = 0


MODEL_PARAMS = {"lstm": LstmParams, "transformer": TransformerParams}
