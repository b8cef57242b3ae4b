"""The generation thread that runs every llama.cpp call on one thread (see dllab/chat/llm.py)."""
import threading

import pytest

from dllab.chat.llm import GenerationThread


def test_every_generation_runs_on_the_same_thread_and_yields_in_order():
    generation = GenerationThread()
    seen = []

    def numbers():
        for n in range(5):
            seen.append(threading.get_ident())
            yield n

    first = list(generation.iterate(numbers))
    second = list(generation.iterate(numbers))
    assert first == second == [0, 1, 2, 3, 4]
    assert len(set(seen)) == 1 and seen[0] != threading.get_ident()


def test_errors_reach_the_caller_and_the_thread_keeps_working():
    generation = GenerationThread()

    def broken():
        yield 1
        raise ValueError("model failed")

    with pytest.raises(ValueError, match="model failed"):
        list(generation.iterate(broken))
    assert list(generation.iterate(lambda: iter([7]))) == [7]


def test_a_caller_leaving_early_stops_and_closes_the_generation():
    generation = GenerationThread()
    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.set()

    stream = generation.iterate(endless)
    assert next(stream) == 1
    stream.close()
    assert closed.wait(timeout=5)
    assert list(generation.iterate(lambda: iter("ok"))) == ["o", "k"]
