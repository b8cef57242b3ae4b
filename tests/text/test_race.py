"""Streaming generation piece by piece, and the two models taking turns."""
import pytest

from dllab.errors import UserError
from dllab.text import generate as generate_module
from dllab.text.generate import generate, stream_pieces
from dllab.text.race import MAX_NEW_TOKENS, race
from web.schemas import parse_race_request


@pytest.mark.parametrize("name", ["tiny_transformer", "tiny_lstm"])
def test_the_pieces_join_into_the_generated_text_with_their_probabilities(name, request, tokenizer):
    model = request.getfixturevalue(name)
    pieces = list(stream_pieces(model, tokenizer, "First Citizen:", 25, temperature=1.0, top_k=50, seed=4))
    assert "".join(p["text"] for p in pieces) == generate(model, tokenizer, "First Citizen:", 25, 1.0, 50, 4)
    assert all(0 < p["p"] <= 1 and p["tokens"] >= 1 for p in pieces) and sum(p["tokens"] for p in pieces) == 25


def test_bytes_of_one_character_come_as_one_piece(monkeypatch, tiny_lstm, tokenizer):
    sun = tokenizer.encode("🌞")
    assert len(sun) == 4  # four byte-fallback tokens
    drawn = [(t, 0.5) for t in sun] + [(tokenizer.encode("A")[0], 0.25)]
    monkeypatch.setattr(generate_module, "sample", lambda *args, **kwargs: iter(drawn))
    pieces = list(stream_pieces(tiny_lstm, tokenizer, "x", 5))
    assert pieces == [{"text": "🌞", "p": 0.0625, "tokens": 4}, {"text": "A", "p": 0.25, "tokens": 1}]


def test_top_k_one_gives_probability_one(tiny_transformer, tokenizer):
    assert {p["p"] for p in stream_pieces(tiny_transformer, tokenizer, "Speak", 5, 1.0, 1, 0)} == {1.0}


def test_the_models_take_turns_and_each_says_when_it_is_done(tiny_lstm, tiny_transformer, tokenizer):
    asked = parse_race_request({"prompt": "All:", "max_new_tokens": 4, "seed": 1})
    events = list(race({"lstm": (tiny_lstm, tokenizer), "transformer": (tiny_transformer, tokenizer)}, asked))
    names = [(name, data.get("model")) for name, data in events]
    assert names[:2] == [("piece", "lstm"), ("piece", "transformer")] and names[-1] == ("end", None)
    done = {data["model"]: data["pieces"] for name, data in events if name == "done"}
    assert set(done) == {"lstm", "transformer"} and all(n >= 1 for n in done.values())


def test_the_request_defaults_are_the_commands():
    asked = parse_race_request({})
    assert (asked.prompt, asked.max_new_tokens, asked.temperature, asked.top_k, asked.seed) == ("", 100, 0.8, 50, 0)
    assert asked.models == ["lstm", "transformer"]


@pytest.mark.parametrize("body, fragment", [
    ({"temperature": 0}, "temperature = 0.0 is not allowed"), ({"top_k": 0}, "top_k = 0 is not allowed"),
    ({"max_new_tokens": MAX_NEW_TOKENS + 1}, f"use at most {MAX_NEW_TOKENS}"),
    ({"seed": 1.0}, "seed must be an integer"),
    ({"temperature": None}, "temperature must be a number"), ({"models": "lstm"}, "models must be"),
])
def test_bad_requests_name_the_field(body, fragment):
    with pytest.raises(UserError, match=fragment.replace(".", r"\.")):
        parse_race_request(body)
