import math

import pytest

from dllab.text.checkpoint import save_checkpoint
from dllab.text.config import LmEvaluateParams
from dllab.text.evaluate import evaluate_models, samples_markdown, scored_text, unigram_nll

PARAMS = LmEvaluateParams(test_chars=600, prompts=("All:", ""), max_new_tokens=6, temperature=0.8, top_k=10, seed=0)


def test_unigram_nll_uses_smoothed_training_frequencies():
    nll = unigram_nll([0, 0, 1], [0, 2], vocab_size=3)
    assert nll == pytest.approx(-math.log(3 / 6) - math.log(1 / 6))


def test_the_test_text_is_cut_at_a_line_end(tmp_path):
    (tmp_path / "test.txt").write_text("abc\n" * 100)
    assert scored_text(tmp_path, 30) == "abc\n" * 7
    assert scored_text(tmp_path, 0) == "abc\n" * 100


def test_both_models_are_scored_on_the_same_test_text(tmp_path, tiny_lstm, tiny_transformer, tokenizer, text):
    half = len(text) // 2
    (tmp_path / "train.txt").write_text(text[:half])
    (tmp_path / "val.txt").write_text("never read by the evaluation\n")
    (tmp_path / "test.txt").write_text(text[half:])
    summary = {"summary": {"parameters": 1, "steps": 2, "best_step": 2, "best_val_bpc": 5.0, "stopped_early": None}}
    save_checkpoint(tiny_lstm, "lstm", tmp_path / "lstm.pt", extra=summary)
    save_checkpoint(tiny_transformer, "transformer", tmp_path / "transformer.pt", extra=summary)
    metrics, samples, speeds = evaluate_models({"lstm": tmp_path / "lstm.pt", "transformer": tmp_path / "transformer.pt"},
                                       tokenizer.path, tmp_path, PARAMS, "cpu")
    for name in ("lstm", "transformer"):
        m = metrics[name]
        assert m["test_bpc"] == pytest.approx(m["test_loss_per_char"] / math.log(2), abs=1e-3)
        assert m["test_ppl"] == pytest.approx(math.exp(m["test_loss_per_token"]), rel=1e-2)
        assert speeds[name] > 0 and m["selection_val_bpc"] == 5.0 and m["stopped_early"] == "no"
        # untrained models: about as bad as guessing uniformly among the vocabulary
        assert m["test_loss_per_token"] == pytest.approx(math.log(tokenizer.vocab_size), rel=0.1)
        assert len(samples[name]) == 2
    assert metrics["unigram"]["test_bpc"] < metrics["lstm"]["test_bpc"]
    assert metrics["test_characters"] < 600

    page = samples_markdown(PARAMS.prompts, samples, PARAMS)
    assert "| lstm | transformer |" in page and "**All:**" in page
