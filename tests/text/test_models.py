import pytest
import torch

from dllab.text.checkpoint import load_checkpoint, parameter_count, save_checkpoint
from dllab.text.lstm import LSTMLM


@pytest.mark.parametrize("name", ["tiny_transformer", "tiny_lstm"])
def test_logits_have_one_row_per_position_and_token(name, request, tokenizer):
    model = request.getfixturevalue(name)
    ids = torch.randint(tokenizer.vocab_size, (3, 16))
    logits, _ = model(ids)
    assert logits.shape == (3, 16, tokenizer.vocab_size)


@pytest.mark.parametrize("name", ["tiny_transformer", "tiny_lstm"])
def test_changing_a_later_token_never_changes_earlier_outputs(name, request, tokenizer):
    model = request.getfixturevalue(name).eval()
    ids = torch.randint(tokenizer.vocab_size, (2, 16))
    changed = ids.clone()
    changed[:, 9] = (changed[:, 9] + 1) % tokenizer.vocab_size
    before, _ = model(ids)
    after, _ = model(changed)
    torch.testing.assert_close(before[:, :9], after[:, :9])
    assert not torch.allclose(before[:, 9:], after[:, 9:])  # the change is seen from its own position on


def test_transformer_refuses_more_tokens_than_its_context(tiny_transformer):
    with pytest.raises(ValueError, match="longer than the context"):
        tiny_transformer(torch.zeros(1, 17, dtype=torch.long))


def test_lstm_state_carries_the_text_read_so_far(tiny_lstm, tokenizer):
    model = tiny_lstm.eval()
    ids = torch.randint(tokenizer.vocab_size, (1, 12))
    whole, _ = model(ids)
    _, state = model(ids[:, :7])
    rest, _ = model(ids[:, 7:], state)
    torch.testing.assert_close(whole[:, 7:], rest)


def test_tied_weights_share_one_matrix(tiny_transformer, tokenizer):
    assert tiny_transformer.head.weight is tiny_transformer.token_embedding.weight
    lstm = LSTMLM(tokenizer.vocab_size, 16, embed=24, hidden=40, layers=1, tie_weights=True)
    untied = LSTMLM(tokenizer.vocab_size, 16, embed=24, hidden=40, layers=1, tie_weights=False)
    assert lstm.head.weight is lstm.embedding.weight
    assert parameter_count(lstm) < parameter_count(untied)


@pytest.mark.parametrize("name", ["tiny_transformer", "tiny_lstm"])
def test_checkpoint_rebuilds_the_same_model(name, request, tmp_path, tokenizer):
    model = request.getfixturevalue(name).eval()
    save_checkpoint(model, name.removeprefix("tiny_"), tmp_path / "model.pt", extra={"summary": {"steps": 3}})
    loaded, checkpoint = load_checkpoint(tmp_path / "model.pt")
    ids = torch.randint(tokenizer.vocab_size, (1, 10))
    torch.testing.assert_close(model(ids)[0], loaded(ids)[0])
    assert checkpoint["summary"] == {"steps": 3} and not loaded.training
