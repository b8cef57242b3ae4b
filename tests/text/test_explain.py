"""What the page shows of the language models: next-piece candidates and the Transformer's attention, checked
against the models' own forward passes (tiny untrained models here; the pipeline's in test_explain_pipeline)."""
import math

import pytest
import torch

from dllab.errors import UserError
from dllab.text.explain import CANDIDATES, InspectRequest, captured_attention, inspect, next_piece_logits, prompt_ids
from web.schemas import parse_inspect_request


def test_attention_rows_sum_to_one_and_nothing_is_above_the_diagonal(tiny_transformer, tokenizer):
    ids = tokenizer.encode("First Citizen:\nBefore we proceed")
    _, weights = next_piece_logits(tiny_transformer, ids, attention=True)
    layers, heads = len(tiny_transformer.blocks), tiny_transformer.blocks[0].attention.heads
    t = min(len(ids), tiny_transformer.context)
    assert weights.shape == (layers, heads, t, t)
    assert torch.allclose(weights.sum(-1), torch.ones(layers, heads, t), atol=1e-5)
    assert torch.all(weights.triu(1) == 0)
    assert torch.all(weights[..., 0, 0] == 1)  # the first token can only look at itself


def test_the_recomputed_weights_are_the_ones_the_block_used(tiny_transformer, tokenizer):
    # weights · v, through the block's output projection, must give the attention module's own output.
    attention = tiny_transformer.blocks[1].attention
    seen = {}
    handle = attention.register_forward_hook(lambda m, i, o: seen.update(x=i[0], out=o))
    ids = torch.tensor([tokenizer.encode("Speak, speak. You are all resolved")[:16]])
    with torch.no_grad(), captured_attention(tiny_transformer) as maps:
        tiny_transformer(ids)
    handle.remove()
    b, t, d = seen["x"].shape
    _, _, v = attention.qkv(seen["x"]).view(b, t, 3, attention.heads, d // attention.heads).permute(2, 0, 3, 1, 4)
    mixed = (maps[1] @ v).transpose(1, 2).reshape(b, t, d)
    assert torch.allclose(attention.proj(mixed), seen["out"], atol=1e-5)
    assert not any(block.attention._forward_hooks for block in tiny_transformer.blocks)  # hooks removed


@pytest.mark.parametrize("model_name", ["tiny_lstm", "tiny_transformer"])
def test_candidates_are_the_direct_forward_pass_probabilities(request, tokenizer, model_name):
    model = request.getfixturevalue(model_name)
    prompt, drawn = "All:\nSpeak", tokenizer.encode(", speak")
    answer = inspect({"m": (model, tokenizer)}, InspectRequest(prompt, drawn, ["m"]))["models"]["m"]
    ids = tokenizer.encode(prompt) + drawn
    with torch.no_grad():
        logits, _ = model(torch.tensor([ids[-model.context:] if not model.recurrent else ids]))
    direct = torch.softmax(logits[0, -1], 0)
    candidates = answer["candidates"]
    assert len(candidates) == CANDIDATES
    assert [c["id"] for c in candidates] == torch.topk(direct, CANDIDATES).indices.tolist()
    for c in candidates:
        assert math.isclose(c["p"], direct[c["id"]].item(), rel_tol=1e-3)
        assert math.isclose(c["logit"], logits[0, -1, c["id"]].item(), abs_tol=1e-4)
        assert c["text"] == tokenizer.decode([c["id"]])
    assert answer["parameters"] == sum(p.numel() for p in model.parameters())
    assert "".join(tokenizer.decode([t["id"]]) for t in answer["tokens"]).endswith("speak")


def test_the_transformer_reads_its_last_context_tokens_and_says_how_many_it_dropped(tiny_transformer, tokenizer):
    prompt = "First Citizen:\nYou are all resolved rather to die than to famish?\n" * 2
    answer = inspect({"transformer": (tiny_transformer, tokenizer)}, InspectRequest(prompt, [], ["transformer"]))
    ids = tokenizer.encode(prompt)
    model = answer["models"]["transformer"]
    assert len(model["tokens"]) == tiny_transformer.context == len(answer["attention"]["weights"][0][0])
    assert model["cropped"] == len(ids) - tiny_transformer.context > 0
    assert [t["id"] for t in model["tokens"]] == ids[-tiny_transformer.context:]


def test_an_empty_prompt_starts_after_a_line_break(tokenizer):
    assert prompt_ids(tokenizer, "", []) == tokenizer.newline_ids
    assert prompt_ids(tokenizer, "", [5]) == tokenizer.newline_ids + [5]


def test_an_id_outside_the_vocabulary_is_refused(tokenizer):
    with pytest.raises(UserError, match="outside the vocabulary"):
        prompt_ids(tokenizer, "a", [tokenizer.vocab_size])


@pytest.mark.parametrize("body, fragment", [
    ([], "send a JSON object"),
    ({}, '"prompt" is missing'),
    ({"prompt": 3}, "prompt must be text"),
    ({"prompt": "x" * 1001}, "the limit is 1000"),
    ({"prompt": "", "temperature": 1}, "unknown field(s) 'temperature'"),
    ({"prompt": "", "continuation": [1, -2]}, "continuation must be a list of token ids"),
    ({"prompt": "", "continuation": [True]}, "continuation must be a list of token ids"),
    ({"prompt": "", "continuation": "12"}, "continuation must be a list of token ids"),
    ({"prompt": "", "continuation": [1] * 401}, "the limit is 400"),
    ({"prompt": "", "models": ["gpt"]}, "models must be a non-empty list"),
    ({"prompt": "", "models": []}, "models must be a non-empty list"),
    ({"prompt": "", "models": ["lstm", "lstm"]}, "models must be a non-empty list"),
])
def test_bad_requests_name_the_field(body, fragment):
    with pytest.raises(UserError) as error:
        parse_inspect_request(body)
    assert fragment in str(error.value)


def test_a_good_request_keeps_what_was_sent():
    asked = parse_inspect_request({"prompt": "ROMEO:", "continuation": [3, 4], "models": ["transformer"]})
    assert asked == InspectRequest("ROMEO:", [3, 4], ["transformer"])
    assert parse_inspect_request({"prompt": ""}).models == ["lstm", "transformer"]


def test_another_threads_forward_pass_is_not_recorded(tiny_transformer, tokenizer):
    # The server generates with the same model in other threads while one request captures its attention.
    import threading

    ids = torch.tensor([tokenizer.encode("Speak, speak.")])
    with torch.no_grad(), captured_attention(tiny_transformer) as maps:
        other = threading.Thread(target=lambda: tiny_transformer(torch.tensor([tokenizer.encode("All:")])))
        other.start()
        other.join()
        assert maps == []
        tiny_transformer(ids)
    assert len(maps) == len(tiny_transformer.blocks)
