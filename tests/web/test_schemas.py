import pytest

from dllab.chat.config import ChatParams
from web.schemas import BadRequest, body_limit, decode_json, parse_chat_request

LIMITS = ChatParams().with_values(max_question_chars=50, max_history_messages=2, max_message_chars=20)


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
    # Passed the old checks, then failed in speech or in the model with a 500:
    ({"question": "**"}, "'question' has no letter or digit"),
    ({"question": "\u200b"}, "'question' has no letter or digit"),
    ({"question": "\u0000\u0001"}, "'question' has no letter or digit"),
    ({"question": "?! … -- ## ``"}, "'question' has no letter or digit"),
])
def test_each_bad_request_names_the_field(payload, fragment):
    with pytest.raises(BadRequest) as err:
        parse_chat_request(payload, LIMITS)
    assert fragment in str(err.value)


def test_body_limit_holds_the_largest_valid_request():
    import json

    largest = {"question": "é" * 50, "history": [{"role": "user", "content": "\u2028" * 20}] * 2}
    assert len(json.dumps(largest).encode()) < body_limit(LIMITS)


def test_questions_in_any_script_or_with_marks_around_words_pass():
    for question in ["Quoi ?", "2 ?", "**Tatin** ?", "\u200bpommes", "Что это?", "苹果派", "Ⅷ"]:
        assert parse_chat_request({"question": question}, LIMITS).question == question.strip()


@pytest.mark.parametrize("body, fragment", [
    (b"[" * 100_000, "nested too deeply"),
    (b'{"question": "\xff\xfe\xfa"}', "not valid UTF-8"),
    (b"{'question': 'Q'}", "not valid JSON"),
    (b"", "not valid JSON"),
    (b'{"question": 1' + b"0" * 5000 + b"}", "not valid JSON"),
    # Numbers that are not finite: Python's parser takes them, no field can use them.
    (b'{"temperature": NaN}', r"not valid JSON \(NaN is not a number JSON allows\)"),
    (b'{"temperature": -Infinity}', "-Infinity is not a number JSON allows"),
    (b'{"temperature": 1e999}', "1e999 is too large for a number"),
    # Strings that are not text: "\ud800" escapes decode to a lone surrogate, which has no UTF-8 (the model,
    # the voices and the tokenizers fail on it), in any field of any route.
    (rb'{"question": "Pourquoi \ud800 ?"}', r"'question' holds an unpaired surrogate \(\\ud800\) at character 9"),
    (rb'{"question": "Q", "history": [{"role": "assistant", "content": "ok \udfff"}]}',
     r"history\[0\]\.content holds an unpaired surrogate"),
    (rb'{"prompt": "\ud800"}', "'prompt' holds an unpaired surrogate"),
    (rb'{"models": [["\udc00"]]}', r"models\[0\]\[0\] holds"),
    (rb'{"\ud800": 1}', "a field name in the body holds an unpaired surrogate"),
    (rb'"\ud800"', "the body holds an unpaired surrogate"),
])
def test_bodies_the_parser_cannot_take_are_bad_requests(body, fragment):
    with pytest.raises(BadRequest, match=fragment):
        decode_json(body)


def test_json_in_utf16_or_with_a_bom_is_read():
    assert decode_json('{"question": "Pourquoi ?"}'.encode("utf-16")) == {"question": "Pourquoi ?"}
    assert decode_json(b'\xef\xbb\xbf{"question": "Q"}') == {"question": "Q"}
