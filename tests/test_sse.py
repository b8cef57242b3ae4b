"""The one Server-Sent Events reader (the chat server's streams, OpenAI-compatible servers' answers)."""
from dllab.sse import events


def test_events_are_named_joined_and_given_even_without_a_final_blank_line():
    lines = [": a comment", "event: token", "data: {\"text\": \"Bon\"}", "", "data: first", "data:second", "",
             "event: empty", "", b"event: done\r\n", b"data: {}\r\n"]
    assert list(events(lines)) == [("token", '{"text": "Bon"}'), ("message", "first\nsecond"), ("done", "{}")]
