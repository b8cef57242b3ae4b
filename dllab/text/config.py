"""The language-model sections of params.yaml: ``corpus``, ``tokenizer``, ``lstm``, ``transformer`` and
``lm_evaluate``. Each stage reads one section, so changing ``lstm.hidden`` reruns only ``lstm_train`` and
what depends on it."""
from dllab.params import boolean, integer, list_of, number, text

CORPUS_SPEC = {
    "sources": list_of(text()),
    "val_fraction": number(above=0, max=0.4),   # checkpoint selection and curves
    "test_fraction": number(above=0, max=0.4),  # the reported numbers (lm_evaluate)
    "max_chars": integer(min=0),  # 0 = the whole text; small values make smoke runs
}
TOKENIZER_SPEC = {
    "vocab_size": integer(min=260, max=65536),
    "max_lines": integer(min=1),  # lines sampled from the training text to learn the merges
    "seed": integer(min=0),
}
# Training keys both models share (the training loop in dllab/text/train.py reads them).
TRAINING_SPEC = {
    "context": integer(min=2, max=4096),
    "batch_size": integer(min=1, max=4096),
    "lr": number(above=0),
    "weight_decay": number(min=0),
    "warmup_steps": integer(min=0),
    "max_steps": integer(min=1),
    "max_seconds": number(min=0),  # 0 = no time cap (the default); otherwise stop early, recorded as such
    "grad_clip": number(above=0),
    "eval_interval": integer(min=1),
    "eval_batches": integer(min=1),
    "dropout": number(min=0, max=0.9),
    "seed": integer(min=0),
    # Training processes on this machine (torchrun, DDP); batch_size stays the global batch (dllab/distributed.py).
    "nproc": integer(min=1, max=1024),
}
LSTM_MODEL_SPEC = {
    "embed": integer(min=1, max=8192),
    "hidden": integer(min=1, max=8192),
    "layers": integer(min=1, max=16),
    "tie_weights": boolean(),
}
TRANSFORMER_MODEL_SPEC = {
    "dim": integer(min=8, max=8192),
    "layers": integer(min=1, max=64),
    "heads": integer(min=1, max=128),
}
LSTM_SPEC = {**LSTM_MODEL_SPEC, **TRAINING_SPEC}
TRANSFORMER_SPEC = {**TRANSFORMER_MODEL_SPEC, **TRAINING_SPEC}
EVALUATE_SPEC = {
    "test_chars": integer(min=0),  # test characters scored (the same for both models); 0 = all
    "prompts": list_of(text(nonempty=False)),
    "max_new_tokens": integer(min=1, max=4096),
    "temperature": number(above=0),
    "top_k": integer(min=1),
    "seed": integer(min=0),
}
# For each model: its section's spec and the keys that shape the model (the rest drive training).
MODEL_SPECS = {
    "lstm": (LSTM_SPEC, list(LSTM_MODEL_SPEC)),
    "transformer": (TRANSFORMER_SPEC, list(TRANSFORMER_MODEL_SPEC)),
}


def check_model_config(kind: str, config: dict) -> None:
    """Checks that involve more than one key (each key alone is checked by its rule)."""
    from dllab.errors import ParamError

    if kind == "transformer" and config["dim"] % config["heads"]:
        raise ParamError(f"params.yaml: transformer.dim = {config['dim']} is not a multiple of transformer.heads = "
                         f"{config['heads']}; each head gets dim / heads channels")
