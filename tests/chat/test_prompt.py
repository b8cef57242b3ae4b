from dataclasses import dataclass

import pytest

from dllab.chat.prompt import (MESSAGE_OVERHEAD, NO_ANSWER, NOT_FOUND, build_prompt, format_passages, no_answer,
                               question_language)


@dataclass
class FakeHit:
    text: str
    file: str
    page: int | None
    score: float = 1.0
    chunk_id: str = "c"


def words(text: str) -> int:
    """A stand-in tokenizer: one token per word."""
    return len(text.split())


HITS = [FakeHit("La tarte Tatin est cuite à l'envers.", "doc.pdf", 2),
        FakeHit("Le secret : des pommes <b>acidulées</b>.", "notes.txt", None),
        FakeHit("Four à 200 °C pendant 35 minutes. " * 5, "recette.md", None)]


@pytest.mark.parametrize("question, language", [
    ("Quelles sont les différentes variantes de la tarte aux pommes ?", "French"),
    ("Comment faire une tarte aux pommes ?", "French"),
    ("What is the secret of a good apple pie?", "English"),
])
def test_answer_language_follows_the_question(question, language):
    assert question_language(question) == language
    prompt = build_prompt(question, HITS, [], words, n_ctx=4096, max_tokens=100)
    assert f"Answer in {language}" in prompt.messages[0]["content"]
    assert NOT_FOUND[language] in prompt.messages[0]["content"]
    assert no_answer(question) == NO_ANSWER[language]


def test_passages_are_numbered_with_file_and_page_and_kept_verbatim():
    text = format_passages(HITS[:2])
    assert text.startswith("[1] (doc.pdf, page 2)\nLa tarte Tatin")
    assert "[2] (notes.txt)\nLe secret : des pommes <b>acidulées</b>." in text
    prompt = build_prompt("Le secret ?", HITS[:2], [], words, n_ctx=4096, max_tokens=100)
    assert prompt.messages[-1] == {"role": "user", "content": f"Passages:\n{text}\n\nQuestion: Le secret ?"}
    assert prompt.hits == HITS[:2]


def conversation(turns: int) -> list[dict]:
    history = []
    for i in range(turns):
        history += [{"role": "user", "content": f"question {i} " + "mot " * 20},
                    {"role": "assistant", "content": f"answer {i} " + "mot " * 20}]
    return history


def test_history_is_trimmed_oldest_first_to_fit_the_context():
    full = build_prompt("Et la Tatin ?", HITS, conversation(3), words, n_ctx=4096, max_tokens=100)
    assert full.history_kept == 6
    small = build_prompt("Et la Tatin ?", HITS, conversation(30), words, n_ctx=400, max_tokens=100)
    kept = small.messages[1:-1]
    assert 0 < small.history_kept == len(kept) < 60
    assert kept[0]["role"] == "user" and kept[-1]["content"].startswith("answer 29")
    assert small.tokens + 100 <= 400


def test_lowest_ranked_passages_go_when_even_the_passages_overflow():
    prompt = build_prompt("Q ?", HITS, conversation(2), words, n_ctx=170, max_tokens=60)
    assert prompt.hits == HITS[:2] and prompt.history_kept == 0
    assert prompt.tokens + 60 <= 170


def test_real_template_and_tokenizer_fit_n_ctx(chat_service):
    """Rendered with the GGUF's own chat template, the prompt plus the answer budget fits n_ctx."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    model = chat_service.model
    llama = model.llama
    template = llama.metadata["tokenizer.chat_template"]
    formatter = Jinja2ChatFormatter(template, eos_token="<|im_end|>", bos_token="<|im_start|>",
                                    add_generation_prompt=True)
    hits = chat_service.retriever.search("Comment faire une tarte aux pommes ?", k=4)
    history = [{"role": r, "content": "La tarte aux pommes normande est délicieuse. " * 8}
               for _ in range(20) for r in ("user", "assistant")]
    prompt = build_prompt("Comment faire une tarte aux pommes ?", hits, history, model.count_tokens,
                          model.n_ctx, model.max_tokens)
    rendered = formatter(messages=prompt.messages).prompt
    assert 0 < prompt.history_kept < len(history)
    assert len(llama.tokenize(rendered.encode(), add_bos=False, special=True)) + model.max_tokens <= model.n_ctx
    assert MESSAGE_OVERHEAD > 0
