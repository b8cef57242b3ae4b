"""The README's results table, rendered from the pipeline's own metrics files so that it cannot drift.

The table sits in README.md between ``<!-- results:start -->`` and ``<!-- results:end -->``. It is rendered from
the metrics files the committed ``dvc.lock`` names (each found in the workspace when its md5 matches, else in the
DVC cache), and the block records each file's md5, so a test can tell, even on a clone without the pipeline's
outputs, whether the README was rendered from the run ``dvc.lock`` records.

    python -m dllab.readme_results            # rewrite the block (after `dvc repro`, before committing dvc.lock)
    python -m dllab.readme_results --check    # exit 1 when the block is not what the metrics give
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from dllab.errors import UserError
from dllab.report import targets
from dllab.report.targets import Target

START, END = "<!-- results:start -->", "<!-- results:end -->"
FILES = {"mnist": "reports/mnist/metrics.json", "lm": "reports/lm/metrics.json", "rag": "reports/rag/metrics.json",
         "chat": "reports/chat/metrics.json", "speech": "reports/speech/metrics.json"}
HEADER = ["system", "measure", "value", "target", ""]
SOURCE = re.compile(r"<!-- (?P<path>reports/\S+) md5 (?P<md5>[0-9a-f]{32}) -->")


def percent(value: float) -> str:
    return f"{100 * value:.2f} %"


def decimals(places: int) -> Callable[[float], str]:
    return lambda value: f"{value:.{places}f}"


def parse_value(text: str) -> float:
    """A rendered value back to the number it shows (``98.98 %`` is 0.9898)."""
    text = text.strip()
    return float(text[:-1].strip()) / 100 if text.endswith("%") else float(text.replace(",", ""))


@dataclass(frozen=True)
class Row:
    """One line of the table: ``key`` is the path of the value in ``FILES[file]`` (dots between levels); a
    ``label`` may name other values of the same file in braces (``{questions}``); ``goal`` is the report's
    target for it (dllab/report/targets.py), None for a row without one."""
    system: str
    label: str
    file: str
    key: str
    show: Callable[[float], str]
    goal: Target | None = None

    def value(self, metrics: dict) -> float:
        found = metrics[self.file]
        for part in self.key.split("."):
            if not isinstance(found, dict) or part not in found:
                raise UserError(f"{FILES[self.file]}: no {self.key!r} (the README's results table reads it)")
            found = found[part]
        return found

    def target_shown(self) -> str:
        if self.goal is None:
            return ""
        threshold = f"{100 * self.goal.threshold:g} %" if self.goal.percent else f"{self.goal.threshold:g}"
        return f"{'≥' if self.goal.at_least else '≤'} {threshold}"

    def mark(self, value: float) -> str:
        if self.goal is None:
            return ""
        return "met" if self.goal.mark(value).met else "**missed**"

    def label_pattern(self) -> re.Pattern:
        """The label with each ``{field}`` matching any text: what a rendered label must look like."""
        parts = re.split(r"\{[a-z_.]+\}", self.label)
        return re.compile(".+?".join(re.escape(part) for part in parts) + r"\Z")


# The targets are the report's (dllab/report/targets.py): the README and the report judge alike.
ROWS = [
    Row("MNIST MLP", "test accuracy (10,000 images)", "mnist", "test_accuracy", percent, targets.MNIST["test_accuracy"]),
    Row("MNIST MLP", "test images misread", "mnist", "test_errors", decimals(0)),
    Row("Transformer LM", "test loss per character (nats)", "lm", "transformer.test_loss_per_char", decimals(3),
        targets.LM["test_loss_per_char"]),
    Row("Transformer LM", "test bits per character", "lm", "transformer.test_bpc", decimals(3)),
    Row("LSTM LM", "test loss per character (nats)", "lm", "lstm.test_loss_per_char", decimals(3),
        targets.LM["test_loss_per_char"]),
    Row("LSTM LM", "test bits per character", "lm", "lstm.test_bpc", decimals(3)),
    Row("unigram baseline", "test bits per character", "lm", "unigram.test_bpc", decimals(3)),
    Row("retrieval", "hit@{k} ({questions} questions)", "rag", "hit_at_k", percent, targets.RAG["hit_at_k"]),
    Row("retrieval", "hit@1", "rag", "hit_at_1", percent, targets.RAG["hit_at_1"]),
    Row("retrieval", "MRR", "rag", "mrr", decimals(3)),
    Row("chatbot", "correct ({answerable} answerable questions)", "chat", "correct", percent,
        targets.ANSWERS["correct"]),
    Row("chatbot", "faithful (answer sentences found in a passage)", "chat", "faithful", percent,
        targets.ANSWERS["faithful"]),
    Row("chatbot", "French words hunspell accepts", "chat", "french_ok", percent, targets.ANSWERS["french_ok"]),
    Row("chatbot", "declined ({out_of_scope} out-of-scope questions)", "chat", "declined", percent,
        targets.ANSWERS["declined"]),
    Row("chatbot", "wrongly declined", "chat", "wrongly_declined", percent, targets.ANSWERS["wrongly_declined"]),
    Row("chatbot, set B (untouched)", "correct ({check.answerable} answerable questions)", "chat", "check.correct",
        percent, targets.CHECK["correct"]),
    Row("chatbot, set B (untouched)", "declined ({check.out_of_scope} out-of-scope questions)", "chat",
        "check.declined", percent, targets.CHECK["declined"]),
    Row("chatbot, set B (untouched)", "wrongly declined", "chat", "check.wrongly_declined", percent,
        targets.CHECK["wrongly_declined"]),
    Row("voices", "{engine}'s question voice: word error rate (Whisper base)", "speech", "question_voice.wer",
        decimals(3), targets.SPEECH["wer"]),
    Row("voices", "{engine}'s answer voice: word error rate (Whisper base)", "speech", "answer_voice.wer",
        decimals(3), targets.SPEECH["wer"]),
    Row("voices", "question and answer voices' pitch apart (semitones)", "speech", "pitch_semitones_apart",
        decimals(2), targets.SPEECH["pitch_semitones_apart"]),
]


def _label(row: Row, metrics: dict) -> str:
    return re.sub(r"\{([a-z_.]+)\}",
                  lambda m: str(Row(row.system, "", row.file, m.group(1), str).value(metrics)), row.label)


def render_table(metrics: dict[str, dict]) -> str:
    """The Markdown table of ``ROWS`` for ``metrics`` (``{"mnist": {...}, "lm": {...}, ...}``, each file's JSON)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in ROWS:
        value = row.value(metrics)
        lines.append(f"| {row.system} | {_label(row, metrics)} | {row.show(value)} | {row.target_shown()} | "
                     f"{row.mark(value)} |")
    return "\n".join(lines)


def render_block(metrics: dict[str, dict], md5s: dict[str, str]) -> str:
    """The README's whole block: markers, one comment per metrics file naming its md5, the table, its source."""
    sources = [f"<!-- {FILES[name]} md5 {md5s[FILES[name]]} -->" for name in FILES]
    return "\n".join([START, "<!-- generated by `python -m dllab.readme_results` from the metrics files dvc.lock "
                             "records: do not edit by hand -->", *sources, "", render_table(metrics), "",
                      "From `reports/{mnist,lm,rag,chat,speech}/metrics.json`, the run `dvc.lock` records "
                      "(`dvc metrics show` prints them all).", END])


def read_block(readme: str) -> str:
    """The block between the markers, markers included; a README without exactly one block is an error."""
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise UserError(f"README.md: expected one {START} … {END} block")
    return readme[readme.index(START):readme.index(END) + len(END)]


def replace_block(readme: str, block: str) -> str:
    return readme.replace(read_block(readme), block)


def block_sources(block: str) -> dict[str, str]:
    """The md5 each metrics file had when the block was rendered, from its comments."""
    return {m["path"]: m["md5"] for m in SOURCE.finditer(block)}


def block_rows(block: str) -> list[list[str]]:
    """The table's rows as cells, header and separator left out."""
    rows = [line.strip().strip("|").split("|") for line in block.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]


def check_rows(block: str) -> list[str]:
    """What is wrong with the block's table without its metrics: the rows ``ROWS`` makes, in order, each with
    its target, and a mark that agrees with the value shown. Empty when nothing is."""
    rows, problems = block_rows(block), []
    if len(rows) != len(ROWS):
        return [f"{len(rows)} rows where the renderer makes {len(ROWS)}"]
    for spec, (system, label, value, target, mark) in zip(ROWS, rows):
        if system != spec.system or not spec.label_pattern().match(label):
            problems.append(f"row {system} | {label}: expected {spec.system} | {spec.label}")
        elif target != spec.target_shown():
            problems.append(f"{system} | {label}: target {target!r}, the renderer's is {spec.target_shown()!r}")
        elif mark != spec.mark(parse_value(value)):
            problems.append(f"{system} | {label}: {value} marked {mark!r}, its target gives {spec.mark(parse_value(value))!r}")
    return problems


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def locked_md5s(lock: Path) -> dict[str, str]:
    """The md5 ``dvc.lock`` records for each metrics file of ``FILES`` (as an output of the stage that makes it)."""
    stages = yaml.safe_load(lock.read_text(encoding="utf-8"))["stages"]
    found = {out["path"]: out["md5"] for stage in stages.values() for out in stage.get("outs", [])
             if out["path"] in FILES.values()}
    missing = sorted(set(FILES.values()) - set(found))
    if missing:
        raise UserError(f"{lock}: no output {', '.join(missing)}")
    return found


def cache_dirs(repo: Path) -> list[Path]:
    """Where DVC keeps this repository's cache: ``cache.dir`` of .dvc/config.local or .dvc/config, else .dvc/cache."""
    dirs = []
    for name in ("config.local", "config"):
        config = repo / ".dvc" / name
        if config.is_file():
            section = None
            for line in config.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line.startswith("["):
                    section = line.strip("[]'\" ")
                elif section == "cache" and line.split("=")[0].strip() == "dir":
                    dirs.append((repo / ".dvc" / line.split("=", 1)[1].strip()).resolve())
    return dirs + [repo / ".dvc/cache"]


def find_locked(repo: Path, path: str, md5: str, caches: list[Path]) -> Path | None:
    """The file ``dvc.lock`` names: the workspace's when it has that md5, else the cache's copy, else None."""
    workspace = repo / path
    if workspace.is_file() and md5_of(workspace) == md5:
        return workspace
    for cache in caches:
        for candidate in (cache / "files/md5" / md5[:2] / md5[2:], cache / md5[:2] / md5[2:]):
            if candidate.is_file():
                return candidate
    return None


def locked_metrics(repo: Path, caches: list[Path] | None = None) -> tuple[dict[str, dict] | None, dict[str, str]]:
    """The metrics of the run ``dvc.lock`` records, by name (None when a file is in neither the workspace nor a
    cache, as on a fresh clone), and the md5s dvc.lock gives them."""
    md5s = locked_md5s(repo / "dvc.lock")
    caches = cache_dirs(repo) if caches is None else caches
    metrics = {}
    for name, path in FILES.items():
        found = find_locked(repo, path, md5s[path], caches)
        if found is None:
            return None, md5s
        metrics[name] = json.loads(found.read_text(encoding="utf-8"))
    return metrics, md5s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--readme", type=Path, help="default: REPO/README.md")
    parser.add_argument("--cache", type=Path, action="append", help="a DVC cache to read (default: the repo's)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the block differs")
    args = parser.parse_args(argv)
    readme_path = args.readme or args.repo / "README.md"
    try:
        metrics, md5s = locked_metrics(args.repo, args.cache)
        if metrics is None:
            raise UserError("the metrics files dvc.lock records are neither in the workspace nor in the DVC cache; "
                            "run `dvc repro` (or `dvc pull`) first")
        readme = readme_path.read_text(encoding="utf-8")
        block = render_block(metrics, md5s)
        if read_block(readme) == block:
            print(f"{readme_path}: the results table is up to date")
            return 0
        if args.check:
            print(f"{readme_path}: the results table differs from the metrics; run `python -m dllab.readme_results`")
            return 1
        readme_path.write_text(replace_block(readme, block), encoding="utf-8")
        print(f"{readme_path}: results table rewritten")
        return 0
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
