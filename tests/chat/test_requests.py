import pytest

from dllab.chat.requests import BadRequest, body_limit, parse_chat_request

LIMITS = {"max_question_chars": 50, "max_history_messages": 2, "max_message_chars": 20}


def test_a_good_request_is_cleaned():
    asked = parse_chat_request({"question": "  Comment faire ?  ", "history": [
        {"role": "user", "content": "Bonjour"}, {"role": "assistant", "content": "Salut"}]}, LIMITS)
    assert asked.question == "Comment faire ?"
    assert asked.history == [{"role": "user", "content": "Bonjour"}, {"role": "assistant", "content": "Salut"}]
    assert parse_chat_request({"question": "Q", "history": None}, LIMITS).history == []


@pytest.mark.parametrize("payload, fragment", [
    ([1, 2], "must be a JSON object"),
    ("question", "must be a JSON object"),
    ({}, "'question' is missing"),
    ({"question": None}, "'question' is missing"),
    ({"question": ""}, "'question' is empty"),
    ({"question": " \n\t "}, "'question' is empty"),
    ({"question": 42}, "'question' must be a string, not a number"),
    ({"question": ["a"]}, "'question' must be a string, not a list"),
    ({"question": "x" * 51}, "51 characters long; the limit is 50"),
    ({"question": "Q", "extra": 1}, "unknown field 'extra'"),
    ({"question": "Q", "history": "hello"}, "'history' must be a list of messages, not a string"),
    ({"question": "Q", "history": [{"role": "user", "content": "a"}] * 3}, "3 messages; the limit is 2"),
    ({"question": "Q", "history": ["hi"]}, "history[0] must be an object"),
    ({"question": "Q", "history": [{"role": "user"}]}, "history[0] must be an object"),
    ({"question": "Q", "history": [{"role": "system", "content": "a"}]}, "history[0].role must be 'user' or 'assistant'"),
    ({"question": "Q", "history": [{"role": "user", "content": 3}]}, "history[0].content must be a string"),
    ({"question": "Q", "history": [{"role": "user", "content": "y" * 21}]}, "history[0].content is 21 characters"),
])
def test_each_bad_request_names_the_field(payload, fragment):
    with pytest.raises(BadRequest) as err:
        parse_chat_request(payload, LIMITS)
    assert fragment in str(err.value)


def test_body_limit_holds_the_largest_valid_request():
    import json

    largest = {"question": "é" * 50, "history": [{"role": "user", "content": "\u2028" * 20}] * 2}
    assert len(json.dumps(largest).encode()) < body_limit(LIMITS)
