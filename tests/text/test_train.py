import math

import pytest
import torch

from dllab.errors import ParamError
from dllab.text.config import LstmParams, TransformerParams
from dllab.text.train import check_fits, fit, lr_at, random_windows, sequence_nll, Validator

PARAMS = TransformerParams(context=16, batch_size=16, lr=3e-3, weight_decay=0.01, warmup_steps=10, max_steps=100,
                           max_seconds=0, grad_clip=1.0, eval_interval=50, eval_batches=2, dropout=0.0, seed=0)


def test_windows_are_inputs_and_next_tokens():
    ids = torch.arange(100)
    inputs, targets = random_windows(ids, 8, 10, torch.Generator().manual_seed(0))
    assert inputs.shape == targets.shape == (8, 10)
    assert torch.equal(targets, inputs + 1)


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    params = PARAMS.with_values(lr=1.0, warmup_steps=10, max_steps=110)
    assert lr_at(0, params) == pytest.approx(0.1)
    assert lr_at(9, params) == pytest.approx(1.0)
    assert lr_at(60, params) == pytest.approx(0.55)
    assert lr_at(110, params) == pytest.approx(0.1)
    rates = [lr_at(s, params) for s in range(10, 111)]
    assert rates == sorted(rates, reverse=True)


class Uniform(torch.nn.Module):
    """Predicts every token with the same probability: its NLL per token is exactly log(vocab)."""

    recurrent, context = False, 8

    def forward(self, ids, state=None):
        return torch.zeros(*ids.shape, 50), None


@pytest.mark.parametrize("stride", [1, 3, 8])
def test_sequence_nll_scores_every_token_but_the_first_exactly_once(stride):
    ids = torch.randint(50, (37,))
    nll, count = sequence_nll(Uniform(), ids, 8, stride, 4, torch.device("cpu"))
    assert count == 36
    assert nll == pytest.approx(36 * math.log(50), rel=1e-5)


def test_sequence_nll_with_a_causal_model_does_not_depend_on_the_stride(tiny_transformer, tokenizer, text):
    ids = torch.tensor(tokenizer.encode(text)[:40])
    full, _ = sequence_nll(tiny_transformer, ids[:17], 16, 16, 4, torch.device("cpu"))
    # Windows one token apart: each token is scored with at least 15 tokens of history; for the first
    # window's tokens it is the same computation as the full pass.
    slid, count = sequence_nll(tiny_transformer, ids[:17], 16, 1, 4, torch.device("cpu"))
    assert count == 16 and slid == pytest.approx(full, rel=1e-5)


@pytest.mark.parametrize("name", ["tiny_transformer", "tiny_lstm"])
def test_loss_falls_on_a_tiny_corpus(name, request, tokenizer, text):
    model = request.getfixturevalue(name)
    ids = torch.tensor(tokenizer.encode(text))
    validate = Validator(ids[:400], tokenizer, PARAMS, torch.device("cpu"))
    history, best, stopped, timing = fit(model, ids, validate, PARAMS, torch.device("cpu"),
                                         torch.Generator().manual_seed(0), name)
    assert [row["step"] for row in history] == [0, 50, 100] and stopped is None
    assert len(timing.eval_seconds) == 3 and "seconds" not in history[0]  # times are kept apart
    first, last = history[0]["val_loss"], history[-1]["val_loss"]
    assert first > 0.9 * math.log(tokenizer.vocab_size)  # starts near uniform guessing
    assert last < 0.7 * first
    assert best["val_loss"] == min(row["val_loss"] for row in history) and "state_dict" in best
    assert history[-1]["val_loss_per_char"] < history[-1]["val_loss"]  # tokens hold more than one character


def test_a_time_cap_set_by_the_user_stops_training_and_says_so(tiny_transformer, tokenizer, text):
    ids = torch.tensor(tokenizer.encode(text))
    params = PARAMS.with_values(max_steps=10_000, max_seconds=0.5)
    validate = Validator(ids[:100], tokenizer, params, torch.device("cpu"))
    history, _, stopped, timing = fit(tiny_transformer, ids, validate, params, torch.device("cpu"),
                                      torch.Generator(), "capped")
    assert history[-1]["step"] < 10_000 and timing.eval_seconds[-1] >= 0.5 and stopped == "time cap"


def test_the_same_params_give_the_same_checkpoint_and_history_bytes(tmp_path, tokenizer, text):
    """Nothing that varies between identical runs (times) is in the artifacts: DVC sees the same hashes."""
    from dllab.text.train import train

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "train.txt").write_text(text[: len(text) // 2])
    (corpus / "val.txt").write_text(text[len(text) // 2:])
    params = PARAMS.with_values(max_steps=20, eval_interval=10, dim=32, layers=1, heads=2)
    outputs = []
    for run in ("a", "b"):
        summary, timing = train(params, corpus, tokenizer.path, tmp_path / run / "model.pt",
                                tmp_path / run / "history.csv", torch.device("cpu"))
        outputs.append([(tmp_path / run / name).read_bytes() for name in ("model.pt", "history.csv")])
        assert summary["steps"] == 20 and summary["stopped_early"] is None and timing["train_seconds"] > 0
    assert outputs[0] == outputs[1]


def test_context_longer_than_the_text_names_the_key():
    ids = torch.arange(20)
    with pytest.raises(ParamError, match="^params.yaml: transformer.context = 64 is longer than the validation text"):
        check_fits(PARAMS.with_values(context=64), torch.arange(1000), ids, 100, 32, 2)
    exp = TransformerParams.from_mapping({"context": 64}, source="exp.yaml")
    with pytest.raises(ParamError, match="^exp.yaml: transformer.context = 64 "):  # the file given with --params
        check_fits(exp, torch.arange(1000), ids, 100, 32, 2)


def test_batch_that_cannot_fit_in_memory_names_the_keys():
    ids = torch.arange(10_000)
    with pytest.raises(ParamError, match="lstm.batch_size = 4096 with lstm.context = 4096 needs about"):
        check_fits(LstmParams(batch_size=4096, context=4096), ids, ids, 30000, 4096, 8)
