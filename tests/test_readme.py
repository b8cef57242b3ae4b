"""The README is a short guide whose results table is the pipeline's own metrics, and its links lead somewhere."""
import copy
import json
import re
from pathlib import Path

import pytest

from dllab import readme_results as rr
from dllab.errors import UserError
from tests.conftest import REPO

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))

# One run's metrics files, trimmed to what the table reads (the real files hold more).
FIXTURE = {
    "mnist": {"test_accuracy": 0.9898, "test_loss": 0.03079, "test_errors": 102, "parameters": 669706},
    "lm": {"lstm": {"test_bpc": 2.4696, "test_loss_per_char": 1.7118},
           "transformer": {"test_bpc": 2.0942, "test_loss_per_char": 1.4516},
           "unigram": {"test_bpc": 3.3504, "test_loss_per_char": 2.3223}},
    "rag": {"questions": 56, "k": 4, "hit_at_1": 0.6429, "hit_at_k": 0.9643, "mrr": 0.7768},
    "chat": {"answerable": 56, "out_of_scope": 10, "correct": 0.8929, "faithful": 1.0, "french_ok": 0.9966,
             "declined": 1.0, "wrongly_declined": 0.0179,
             "check": {"answerable": 30, "out_of_scope": 10, "correct": 0.7667, "declined": 0.6,
                       "wrongly_declined": 0.0333}},
    "speech": {"engine": "kokoro", "question_voice": {"wer": 0.1962}, "answer_voice": {"wer": 0.1915},
               "pitch_semitones_apart": 5.89},
}
MD5S = {path: f"{i:032x}" for i, path in enumerate(rr.FILES.values())}


def row(table: str, system: str, label: str) -> list[str]:
    for cells in rr.block_rows(table):
        if cells[0] == system and cells[1] == label:
            return cells
    raise AssertionError(f"no row {system} | {label} in\n{table}")


def test_the_table_shows_each_metric_with_its_target_and_whether_it_is_met():
    table = rr.render_table(FIXTURE)
    assert table.splitlines()[0] == "| system | measure | value | target |  |"
    assert row(table, "MNIST MLP", "test accuracy (10,000 images)")[2:] == ["98.98 %", "≥ 98.3 %", "met"]
    assert row(table, "MNIST MLP", "test images misread")[2:] == ["102", "", ""]
    assert row(table, "Transformer LM", "test loss per character (nats)")[2:] == ["1.452", "≤ 1.9", "met"]
    assert row(table, "retrieval", "hit@4 (56 questions)")[2:] == ["96.43 %", "≥ 95 %", "met"]
    assert row(table, "retrieval", "hit@1")[2:] == ["64.29 %", "≥ 80 %", "**missed**"]
    assert row(table, "chatbot", "correct (56 answerable questions)")[2:] == ["89.29 %", "≥ 90 %", "**missed**"]
    assert row(table, "chatbot, set B (untouched)", "declined (10 out-of-scope questions)")[2:] == \
        ["60.00 %", "≥ 70 %", "**missed**"]
    assert row(table, "voices", "kokoro's answer voice: word error rate (Whisper base)")[2:] == ["0.192", "≤ 0.2", "met"]
    assert len(rr.block_rows(table)) == len(rr.ROWS)


def test_a_changed_metric_changes_its_row_and_its_mark():
    changed = copy.deepcopy(FIXTURE)
    changed["rag"]["hit_at_1"] = 0.85
    changed["rag"]["k"] = 8
    changed["speech"]["answer_voice"]["wer"] = 0.25
    table = rr.render_table(changed)
    assert table != rr.render_table(FIXTURE)
    assert row(table, "retrieval", "hit@1")[2:] == ["85.00 %", "≥ 80 %", "met"]
    assert row(table, "retrieval", "hit@8 (56 questions)")[2] == "96.43 %"
    assert row(table, "voices", "kokoro's answer voice: word error rate (Whisper base)")[2:] == \
        ["0.250", "≤ 0.2", "**missed**"]


def test_a_metric_the_table_needs_and_the_file_lacks_is_named():
    broken = copy.deepcopy(FIXTURE)
    del broken["chat"]["check"]
    with pytest.raises(UserError, match=r"reports/chat/metrics.json: no 'check.correct'"):
        rr.render_table(broken)


def test_the_block_records_its_sources_and_replaces_only_itself():
    block = rr.render_block(FIXTURE, MD5S)
    assert rr.block_sources(block) == MD5S
    assert rr.check_rows(block) == []
    readme = f"# title\n\nbefore\n\n{rr.START}\nold\n{rr.END}\n\nafter\n"
    rewritten = rr.replace_block(readme, block)
    assert rewritten.startswith("# title\n\nbefore\n\n") and rewritten.endswith("\n\nafter\n")
    assert rr.read_block(rewritten) == block
    with pytest.raises(UserError, match="expected one"):
        rr.read_block("no block")


def test_the_structural_check_catches_a_hand_edited_table():
    block = rr.render_block(FIXTURE, MD5S)
    assert rr.check_rows(block.replace("| 64.29 % | ≥ 80 % | **missed** |", "| 64.29 % | ≥ 80 % | met |")) != []
    assert rr.check_rows(block.replace("| ≥ 98.3 % |", "| ≥ 90 % |")) != []
    assert rr.check_rows(block.replace("| retrieval | MRR |", "| retrieval | NDCG |")) != []
    lines = block.splitlines()
    assert rr.check_rows("\n".join(line for line in lines if "| MRR |" not in line)) != []


def test_the_locked_metrics_come_from_the_workspace_or_else_the_cache(tmp_path):
    """A workspace file whose md5 is not dvc.lock's (an experiment) is not used; the cache's copy is."""
    locked = json.dumps(FIXTURE["mnist"]).encode()
    md5 = rr.hashlib.md5(locked).hexdigest()
    (tmp_path / "reports/mnist").mkdir(parents=True)
    (tmp_path / "reports/mnist/metrics.json").write_text('{"test_accuracy": 0.5}')
    assert rr.find_locked(tmp_path, "reports/mnist/metrics.json", md5, [tmp_path / "cache"]) is None
    cached = tmp_path / "cache/files/md5" / md5[:2] / md5[2:]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(locked)
    assert rr.find_locked(tmp_path, "reports/mnist/metrics.json", md5, [tmp_path / "cache"]) == cached
    (tmp_path / "reports/mnist/metrics.json").write_bytes(locked)
    assert rr.find_locked(tmp_path, "reports/mnist/metrics.json", md5, []) == tmp_path / "reports/mnist/metrics.json"


def test_the_command_rewrites_the_block_from_the_locked_run(tmp_path):
    stages = {}
    for name, path in rr.FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(json.dumps(FIXTURE[name]))
        stages[f"{name}_evaluate"] = {"outs": [{"path": path, "md5": rr.md5_of(tmp_path / path)}]}
    (tmp_path / "dvc.lock").write_text(json.dumps({"schema": "2.0", "stages": stages}))
    (tmp_path / "README.md").write_text(f"# x\n{rr.START}\n{rr.END}\n")
    assert rr.main(["--repo", str(tmp_path), "--check"]) == 1
    assert rr.main(["--repo", str(tmp_path)]) == 0
    assert rr.main(["--repo", str(tmp_path), "--check"]) == 0
    assert "| 98.98 % |" in (tmp_path / "README.md").read_text()


def test_the_readme_results_are_those_of_the_run_dvc_lock_records():
    """README vs dvc.lock: its md5s always (a fresh clone has no reports); its values too wherever that run's files exist."""
    block = rr.read_block(README.read_text(encoding="utf-8"))
    metrics, md5s = rr.locked_metrics(REPO)
    assert rr.block_sources(block) == md5s, "dvc.lock's metrics changed: run `python -m dllab.readme_results`"
    assert rr.check_rows(block) == []
    if metrics is not None:
        assert block == rr.render_block(metrics, md5s), "run `python -m dllab.readme_results`"


def test_the_readme_is_a_short_guide_with_the_commands_ci_runs():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 300
    assert "make test" in (REPO / ".ci/run").read_text()
    for command in ("make test", "make repro", "python web/serve.py", "dvc exp run -S", "dvc exp show", "dvc plots"):
        assert command in text, command
    for doc in DOCS:
        assert f"docs/{doc.name}" in text, f"README.md does not link docs/{doc.name}"


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings (lower case, punctuation dropped, spaces to hyphens)."""
    found, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        fenced ^= line.startswith("```")
        if not fenced and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_and_image_leads_to_a_file_and_heading_that_exist(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: {target} leads nowhere"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{page.name}: {target}: no such heading"
