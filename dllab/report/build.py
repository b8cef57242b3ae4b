"""Gathering every metrics file and figure of the pipeline into one report (see document.py)."""
from __future__ import annotations

import json
from pathlib import Path

from dllab.chat.config import ChatParams
from dllab.errors import DataError
from dllab.rag.config import RagParams
from dllab.report.document import Audio, Document, Figure, Heading, Paragraph, Preformatted, Table


def load_json(path: Path, stage: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} is missing: run `dvc repro {stage}` to make it") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); run `dvc repro {stage}` again") from None


def stage_record(reports: Path, stage: str) -> dict:
    """The stage's record of times and speeds (``--record`` in dvc.yaml); empty when it was not recorded."""
    path = reports / "pipeline" / f"{stage}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def figure(path: Path, stage: str, caption: str) -> Figure:
    if not path.is_file():
        raise DataError(f"{path} is missing: run `dvc repro {stage}` to make it")
    return Figure(path, caption)


def machine_line(machine: dict) -> Paragraph:
    gpu = f", GPU {machine['gpu']}" if machine.get("gpu") else ""
    return Paragraph(f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('memory_gib')} GiB, "
                     f"device {machine.get('device', 'cpu')}{gpu}, torch {machine.get('torch')}, "
                     f"Python {machine.get('python')}.")


def params_table(shown: dict, section: str) -> Table:
    """A section of the params file as written (its stage checked it)."""
    values = shown.get(section) or {}
    return Table(["param", "value"], [[f"{section}.{k}", json.dumps(v)] for k, v in values.items()],
                 caption=f"params.yaml: {section}")


def mnist_section(doc: Document, reports: Path, shown: dict, machine: dict) -> None:
    metrics = load_json(reports / "mnist/metrics.json", "mnist_evaluate")
    details = load_json(reports / "mnist/details.json", "mnist_evaluate")
    training, testing = stage_record(reports, "mnist_train"), stage_record(reports, "mnist_evaluate")
    figures = reports / "mnist/figures"
    doc.add(
        Heading("MNIST: a fully connected network"),
        Paragraph(f"A {'-'.join(str(w) for w in [784, *details['model']['hidden'], 10])} MLP "
                  f"({metrics['parameters']:,} parameters) trained with AdamW on CrossEntropyLoss, "
                  f"evaluated on the 10,000 test images. Anchor: Keras' 784-512-512 MLP reaches 98.40 % "
                  f"test accuracy in 20 epochs; the target here is at least 98.3 % in at most 90 s of training."),
        Table(["metric", "value"], [
            ["test accuracy", f"{100 * metrics['test_accuracy']:.2f} %"],
            ["test loss", metrics["test_loss"]],
            ["mistakes", metrics["test_errors"]],
            ["best epoch", metrics["best_epoch"]],
            ["training seconds", training.get("train_seconds")],
            ["seconds per epoch", training.get("seconds_per_epoch")],
            ["training images/s", training.get("train_images_per_second")],
            ["inference images/s", testing.get("inference_images_per_second")],
        ], caption="reports/mnist/metrics.json; times from reports/pipeline/mnist_train.json and mnist_evaluate.json"),
        Table(["digit", "precision", "recall", "test images"],
              [[d, s["precision"], s["recall"], s["support"]] for d, s in details["per_class"].items()],
              caption="Per class (reports/mnist/details.json)"),
        figure(figures / "training_curves.png", "mnist_evaluate", "Loss and accuracy per epoch, training and validation"),
        figure(figures / "confusion_matrix.png", "mnist_evaluate", "Confusion matrix on the test set"),
        figure(figures / "predictions.png", "mnist_evaluate", "Test digits with true and predicted labels"),
        figure(figures / "worst_mistakes.png", "mnist_evaluate", "The most confident mistakes"),
        params_table(shown, "mnist"),
        machine_line(details.get("machine", machine)),
    )


def lm_runs(reports: Path, models: list[str]) -> dict:
    """Each model's validation curve (its history) with the times of its evaluations (its stage record)."""
    from dllab.text.compare import run_from_files

    def history(model: str) -> str:
        path = reports / f"lm/{model}_history.csv"
        if not path.is_file():
            raise DataError(f"{path} is missing: run `dvc repro {model}_train` to make it")
        return path.read_text(encoding="utf-8")

    def record(model: str) -> str | None:
        path = reports / f"pipeline/{model}_train.json"
        return path.read_text(encoding="utf-8") if path.is_file() else None

    return {model: run_from_files(history(model), record(model)) for model in models}


def experiment_section(doc: Document, reports: Path, shown: dict, baseline) -> None:
    """This run's language models against those of a baseline commit (``report.lm_baseline``), for the models
    whose params differ: the changed params, test bits per character, and validation bits per character at
    equal steps and at equal training time (a wider model often wins the first and loses the second)."""
    import yaml

    from dllab.text.compare import comparison_rows, run_from_files

    metrics = load_json(reports / "lm/metrics.json", "lm_evaluate")
    runs = lm_runs(reports, [m for m in ("lstm", "transformer") if m in metrics])
    base_shown = yaml.safe_load(baseline.read("params.yaml")) or {}
    base_metrics = json.loads(baseline.read("reports/lm/metrics.json"))
    doc.add(Heading(f"Experiment: this run against {baseline.name}", level=3))
    changed_any = False
    for model, run in runs.items():
        # The two files as written, not through the models: the baseline's may predate them (a key renamed since).
        ours, theirs = shown.get(model) or {}, base_shown.get(model) or {}
        changed = [k for k in ours if theirs.get(k) != ours[k]]
        if not changed:
            continue
        changed_any = True
        base_run = run_from_files(baseline.read(f"reports/lm/{model}_history.csv"),
                                  baseline.read(f"reports/pipeline/{model}_train.json", missing_ok=True))
        ours_bpc, theirs_bpc = metrics[model]["test_bpc"], base_metrics[model]["test_bpc"]
        rows = [[f"{model}.{k}", json.dumps(theirs.get(k)), json.dumps(ours[k]), ""] for k in changed]
        rows.append(["test bits per character", theirs_bpc, ours_bpc,
                     "this run" if ours_bpc < theirs_bpc else "baseline"])
        rows += [[f"validation bpc at {basis}", *values]
                 for basis, *values in comparison_rows({"baseline": base_run, "this run": run})]
        doc.add(Table(["the " + model, f"baseline ({baseline.name})", "this run", "better"], rows,
                      caption=f"reports/lm of this run and of {baseline.name} (report.lm_baseline), read "
                              f"through DVC; times from both runs' stage records"))
    if not changed_any:
        doc.add(Paragraph(f"No language-model param differs from {baseline.name}: nothing to compare."))


def lm_section(doc: Document, reports: Path, shown: dict, machine: dict) -> None:
    from dllab.text.compare import comparison_rows

    metrics = load_json(reports / "lm/metrics.json", "lm_evaluate")
    samples = load_json(reports / "lm/samples.json", "lm_evaluate")
    trained = [m for m in ("lstm", "transformer") if m in metrics]
    models = trained + [m for m in ("unigram",) if m in metrics]  # the baseline, for scale
    keys = list(dict.fromkeys(k for m in models for k, v in metrics[m].items() if not isinstance(v, (dict, list))))
    better = min(trained, key=lambda m: metrics[m]["test_bpc"])
    cut = [f"the {m} stopped at step {metrics[m]['train_steps']} on its time cap ({m}.max_seconds)"
           for m in trained if metrics[m].get("stopped_early", "no") != "no"]
    records = {m: stage_record(reports, f"{m}_train") for m in trained}
    speeds = stage_record(reports, "lm_evaluate").get("generation_tokens_per_second", {})
    doc.add(
        Heading("Language models: LSTM and Transformer on BPE tokens"),
        Paragraph(f"Both models read the same SentencePiece BPE tokens. The corpus is split three ways: the "
                  f"training text, a validation text that chooses each model's checkpoint and draws the curves, "
                  f"and a test text, used for nothing else, that gives every number in the first table "
                  f"(test_*; selection_val_bpc is the validation score that chose the checkpoint). Loss per "
                  f"character (total NLL divided by the characters) and bits per character compare across "
                  f"tokenizers; the {better} is better here. Anchor: nanoGPT's CPU 'baby' GPT reaches "
                  f"1.88 nats per character on tiny-shakespeare in about 3 minutes (its GPU recipe 1.47); the "
                  f"target is at most 1.9 nats per character, each model trained in at most 5 minutes."),
        Paragraph("Training length is a number of steps (max_steps); no model was cut by a time cap."
                  if not cut else "Warning: " + "; ".join(cut) + ": its numbers are those of a partly trained model."),
        Table(["metric", *models], [[k, *(metrics[m].get(k) for m in models)] for k in keys],
              caption="reports/lm/metrics.json (test text)"),
        Table(["measure", *trained], [
            ["training seconds", *(records[m].get("train_seconds") for m in trained)],
            ["training tokens/s", *(records[m].get("train_tokens_per_second") for m in trained)],
            ["generation tokens/s", *(speeds.get(m) for m in trained)],
        ], caption="Times of the last runs (reports/pipeline/*_train.json, lm_evaluate.json): they vary between runs"),
        Table(["validation bits per character at", *trained, "better"], comparison_rows(lm_runs(reports, trained)),
              caption="The same models at equal training steps and at equal training time (validation curves "
                      "from reports/lm/*_history.csv, times from the stage records); `python bench/lm_compare.py` "
                      "compares an experiment's model with the baseline's the same way"),
        figure(reports / "lm/val_loss.png", "lm_evaluate", "Validation bits per character against training step"),
        Table(["prompt", *trained], [[s["prompt"], *(s[m] for m in trained)] for s in samples],
              caption="The same prompts completed by both models"),
    )
    for section in ("tokenizer", "lstm", "transformer"):
        doc.add(params_table(shown, section))
    machine_file = reports / "lm/machine.json"
    doc.add(machine_line(json.loads(machine_file.read_text()) if machine_file.is_file() else machine))


def rag_section(doc: Document, reports: Path, shown: dict, machine: dict) -> None:
    metrics = load_json(reports / "rag/metrics.json", "rag_evaluate")
    index = load_json(reports / "rag/index.json", "rag_index")
    questions = load_json(reports / "rag/questions.json", "rag_evaluate")
    k = metrics["k"]
    ranking = [["hybrid (dense + BM25, used)", metrics["hit_at_1"], metrics["hit_at_k"], metrics["mrr"]]]
    for name, label in [("dense_only", "dense only (embeddings)"), ("lexical_only", "lexical only (BM25)")]:
        if name in metrics:
            ranking.append([label, metrics[name]["hit_at_1"], metrics[name]["hit_at_k"], metrics[name]["mrr"]])
    doc.add(
        Heading("Knowledge base: retrieval"),
        Paragraph(f"{index['files']} French documents ({index['pages']} pages) cut into {index['chunks']} chunks, "
                  f"embedded with {index['embedding_model']} (dimension {index['dimension']}) into a persistent "
                  f"ChromaDB index. {metrics['questions']} answerable questions of data/eval/questions.yaml, each "
                  f"with the passages that answer it (file, page and text); a hit is a chunk that contains one, "
                  f"among the top {k}. Targets: hit@{k} at least 0.95, hit@1 at least 0.80. "
                  f"Anchor: early privateGPT shows 4 sources per answer; a Chroma query takes a few milliseconds."),
        Table(["ranking", "hit@1", f"hit@{k}", "MRR"], ranking, caption="reports/rag/metrics.json"),
        Table(["measure", "value"], [
            ["query latency p50 (ms)", metrics["latency_ms_p50"]],
            ["query latency p95 (ms)", metrics["latency_ms_p95"]],
            ["files without text", index["files_without_text"]],
            ["files skipped", index["files_skipped"]],
            ["last index run (s)", stage_record(reports, "rag_index").get("index_seconds")],
        ], caption="reports/rag/index.json; time from reports/pipeline/rag_index.json"),
        Table(["question", "answer rank", "top sources (file:page score)"],
              [[q["question"], q["rank"] or "miss",
                "; ".join(f"{'✓ ' if h['answers'] else ''}{h['file']}:{h['page'] or '-'} {h['score']:.3f}"
                          for h in q["hits"])] for q in questions],
              caption="What each question retrieved (✓ marks a chunk that answers it)"),
        params_table(shown, "rag"),
        machine_line(machine),
    )


ANSWER_TARGETS = {"correct": ">= 0.90", "faithful": ">= 0.95", "french_ok": ">= 0.98", "declined": ">= 0.85",
                  "wrongly_declined": "<= 0.05", "first_word_s_p50": "<= 1.0 (HTTP, bench/chat_server.py)",
                  "first_word_s_p95": "<= 3.0 (HTTP, bench/chat_server.py)"}
# The untouched set's own targets: questions written by others, measured after every choice was made.
CHECK_TARGETS = {"correct": ">= 0.85", "declined": ">= 0.70", "wrongly_declined": "<= 0.05"}


def answers_section(doc: Document, reports: Path, rag: RagParams, chat: ChatParams) -> None:
    metrics = load_json(reports / "chat/metrics.json", "chat_evaluate")
    answers = load_json(reports / "chat/answers.json", "chat_evaluate")
    strategy = ("quote: the answer is shaped by the question's kind (its form, in French or English): a procedure "
                "is answered with the steps of the best-matching section in order, a list with its items; other "
                f"questions with at most {chat.answer_sentences} sentences of the retrieved passages: those "
                f"closest to the question ({rag.embedding_model} embeddings), each with the sentence "
                "after it in its passage, in reading order, each followed by its passage number; no word is written "
                "that is not in a document" if metrics["answer_mode"] == "quote" else
                f"generate: {metrics['model']} writes the answer from the passages through llama.cpp")
    worst = [a for a in answers if (a["declined"] != a["out_of_scope"]) or not (a["correct"] or a["out_of_scope"])]
    notebook = metrics.get("notebook", [])
    kinds = metrics.get("per_kind", {})
    doc.add(
        Heading("Chatbot answers"),
        *([Table(["question", "answer (verbatim)", "correct"],
                 [[n["question"], n["answer"], "yes" if n["correct"] else "no"] for n in notebook],
                 caption="The original notebook's three questions and the chatbot's answers, word for word")]
          if notebook else []),
        *([Table(["kind", "answerable", "correct", "wrongly declined", "out of scope", "declined"],
                 [[kind, row["answerable"], row["correct"], row["wrongly_declined"], row["out_of_scope"],
                   row["declined"]] for kind, row in kinds.items()],
                 caption="Correct per kind of question (the question set's `kind`): procedures and lists are "
                         "what a recipe book is asked first")] if kinds else []),
        *_check_table(metrics),
        Paragraph(f"Every question of data/eval/questions.yaml ({metrics['answerable']} answerable, "
                  f"{metrics['out_of_scope']} out of scope) is asked through the same ChatService as the web "
                  f"server. Strategy: {strategy}. A question is declined with the fixed « not in the documents » "
                  f"sentence when no sentence of its passages reaches a cosine of chat.decline_below = "
                  f"{metrics['decline_below']} with it, when a number is asked for and the chosen sentences hold "
                  "none, or when its subject words are absent from the documents; when the evidence stays under "
                  f"chat.judge_above = {metrics.get('judge_above')}, the yes/no judge (an instruct LLM reading the "
                  "chosen sentences and the question) is asked whether they answer it, and the question is "
                  f"declined when its P(oui) is under chat.judge_below = {metrics.get('judge_below')} "
                  f"({metrics.get('judged', 0)} questions judged here; the highest judge_below declining at most "
                  f"5 % of answerable ones would be {metrics.get('judge_below_suggested')}). Definitions: correct = the answer states the question's "
                  "expected facts (case, accents, spacing, units and number words normalised); faithful = share "
                  "of answer sentences found verbatim in a retrieved passage, or with at least 80 % of their "
                  "content words there (generated text); french_ok = share of answer words accepted by hunspell's "
                  "fr_FR dictionary (Debian hunspell-fr); declined / wrongly_declined = share of out-of-scope / "
                  "answerable questions declined; times through the service in this stage (the HTTP numbers "
                  "come from bench/chat_server.py)."),
        Table(["measure", "value", "target"],
              [[key, metrics[key], ANSWER_TARGETS.get(key, "")] for key in
               ("correct", "faithful", "french_ok", "declined", "wrongly_declined", "first_word_s_p50",
                "first_word_s_p95", "latency_s_p50", "latency_s_p95")], caption="reports/chat/metrics.json"),
        figure(reports / "chat/calibration.png", "chat_evaluate",
               f"Declining by threshold on this question set. The highest threshold declining at most 5 % of "
               f"answerable questions is {metrics['decline_below_suggested']}; params.yaml uses "
               f"{metrics['decline_below']}."),
        Table(["question", "verdict", "evidence", "answer"],
              [[a["question"], _verdict(a), a["evidence"], a["answer"]] for a in worst[:12]],
              caption=f"The answers that miss ({len(worst)}; all answers in reports/chat/answers.md)"),
        Paragraph("Words the French dictionary did not accept: " + (", ".join(metrics["unknown_words"]) or "none")),
    )


def _check_table(metrics: dict) -> list:
    """Calibrated on the pipeline's set, checked on the untouched one: both side by side with their targets."""
    check = metrics.get("check")
    if not check:
        return []
    keys = ("correct", "declined", "wrongly_declined", "judged")
    rows = [["data/eval/questions.yaml (calibrated on)", metrics["answerable"], metrics["out_of_scope"],
             *(metrics.get(key) for key in keys)],
            [f"{check['questions_file']} (untouched check)", check["answerable"], check["out_of_scope"],
             *(check.get(key) for key in keys)],
            ["target on the check", "", "", *(CHECK_TARGETS.get(key, "") for key in keys)]]
    return [Table(["question set", "answerable", "out of scope", *keys], rows,
                  caption="The thresholds are chosen on the pipeline's set; the other authors' set, never tuned "
                          "on, shows whether they hold (its answers: reports/chat/check_answers.md)")]


def _verdict(answer: dict) -> str:
    if answer["out_of_scope"]:
        return "declined" if answer["declined"] else "answered, out of scope"
    return "wrongly declined" if answer["declined"] else "right" if answer["correct"] else "wrong"


def chat_section(doc: Document, reports: Path, shown: dict, chat: ChatParams, machine: dict) -> None:
    serve = load_json(reports / "serve/metrics.json", "serve")
    doc.add(
        Heading("Voice chatbot"),
        Paragraph("The `serve` stage starts the real server (Flask on waitress), asks the three test questions "
                  "over HTTP and measures them: retrieval, the answer, and speech for the question and the "
                  "answer. " + ("In quote mode (chat.answer_mode) the answer is the documents' own sentences, "
                                "cited; the LLM is loaded but writes nothing. "
                                if chat.answer_mode == "quote" else
                                "In generate mode the LLM writes the answer from the passages. ") +
                  "Anchors: llama.cpp on CPU runs 1B Q4 models at 25-40 tokens/s on a few cores; SmolLM2-135M "
                  "generates about 90 tokens/s alone on 2 threads here, in English: its French answers are weak."),
        Table(["measure", "value"], [
            ["server start-up (s)", serve.get("startup_s")],
            ["time to first token, mean (s)", serve["first_token_s"]],
            ["latency, mean (s)", serve["latency_s"]],
            ["tokens per second", serve["tokens_per_s"]],
            ["audio seconds (questions + answers)", serve["audio_seconds"]],
            ["speech synthesis real-time factor", serve["synthesis_real_time_factor"]],
            ["voices", serve.get("tts_engine")],
            ["the first question's clip sent back to /transcribe", (serve.get("transcribed") or {}).get("text")],
        ], caption="reports/serve/metrics.json"),
    )
    for n, turn in enumerate(serve["turns"], start=1):
        doc.add(Heading(f"Q{n}: {turn['question']}", level=3),
                Preformatted(turn["answer"]),
                Table(["source", "page", "score"], [[s["file"], s["page"], s["score"]] for s in turn["sources"]]))
    for section in ("llm", "chat"):
        doc.add(params_table(shown, section))
    doc.add(machine_line(machine))


SPEECH_TARGETS = {"wer": 0.20, "pitch_semitones_apart": 3.0, "real_time_factor": 0.5, "first_audio_s": 1.0}


def _met(value, target: float, higher_is_better: bool = False) -> str:
    if value is None:
        return "not measured"
    return "met" if (value >= target if higher_is_better else value <= target) else "missed"


def speech_section(doc: Document, reports: Path, shown: dict, machine: dict) -> None:
    metrics = load_json(reports / "speech/metrics.json", "speech_evaluate")
    heard = load_json(reports / "speech/transcripts.json", "speech_evaluate")
    speed = stage_record(reports, "speech_evaluate")
    question, answer = metrics["question_voice"], metrics["answer_voice"]
    rows = []
    for role, voice in (("question", question), ("answer", answer)):
        rows.append([f"{role} voice ({voice['voice']}): word error rate", voice["wer"], f"<= {SPEECH_TARGETS['wer']}",
                     _met(voice["wer"], SPEECH_TARGETS["wer"])])
        rows.append([f"{role} voice: on the questions / on the answers",
                     f"{voice['wer_questions']} / {voice['wer_answers']}", "", ""])
        factor = speed.get(f"{role}_real_time_factor")
        rows.append([f"{role} voice: real-time factor (synthesis / audio)", factor,
                     f"<= {SPEECH_TARGETS['real_time_factor']}", _met(factor, SPEECH_TARGETS["real_time_factor"])])
    rows += [
        ["a spoken question heard by Whisper (question voice, questions)", metrics["question_round_trip_wer"], "", ""],
        ["the voices' median pitch, question / answer (Hz)", f"{question['pitch_hz']} / {answer['pitch_hz']}", "", ""],
        ["how far apart they are (semitones)", metrics["pitch_semitones_apart"],
         f">= {SPEECH_TARGETS['pitch_semitones_apart']}",
         _met(metrics["pitch_semitones_apart"], SPEECH_TARGETS["pitch_semitones_apart"], higher_is_better=True)],
        ["first audio of an answer after its first piece is written, p50 / max (s)",
         f"{speed.get('first_audio_s_p50')} / {speed.get('first_audio_s_max')}", f"<= {SPEECH_TARGETS['first_audio_s']}",
         _met(speed.get("first_audio_s_p50"), SPEECH_TARGETS["first_audio_s"])],
        ["Whisper base's real-time factor", speed.get("whisper_real_time_factor"), "", ""],
    ]
    worst = sorted(heard, key=lambda h: -h["wer"])[:8]
    clips = reports / "speech/clips"
    doc.add(
        Heading("Voices: intelligibility"),
        Paragraph(f"The `speech_evaluate` stage says {metrics['texts']['questions']} questions of "
                  f"data/eval/questions.yaml and {metrics['texts']['answers']} reference answers written from the "
                  f"documents (data/eval/speech_answers.yaml) in both voices of the {metrics['engine']} engine, each "
                  "voice in the pieces the chatbot says its texts in (the answer voice's first piece short, as "
                  "while an answer streams; the question voice's sentences whole, as a question is said), and "
                  "Whisper base (French) transcribes each text. Word error rate: substitutions, deletions and "
                  "insertions over the reference words, after case, accents, punctuation and numbers written in digits are "
                  "normalised; Whisper itself errs on clean speech, and homophones such as « aux pommes » heard "
                  "as « au pomme » count as errors. The two voices are told apart by their median pitch "
                  "(autocorrelation tracker). Speeds come from this stage's record, measured on the machine "
                  "below while it ran, whatever else ran; `python bench/speech.py` measures them on their own. "
                  "Compare engines with `dvc exp run -S tts.engine=espeak` then `dvc exp show`."),
        Table(["measure", "value", "target", ""], rows,
              caption="reports/speech/metrics.json; speeds from reports/pipeline/speech_evaluate.json"),
        *[Audio(clips / f"{role}_voice-{kind}.wav", f"The {role} voice says the first {kind} of the benchmark")
          for role in ("question", "answer") for kind in ("question", "answer") if (clips / f"{role}_voice-{kind}.wav").is_file()],
        Table(["voice", "text", "heard by Whisper", "WER"],
              [[h["voice"], h["text"], h["heard"], h["wer"]] for h in worst],
              caption="The texts heard worst (all of them in reports/speech/transcripts.json)"),
        params_table(shown, "tts"),
        params_table(shown, "stt"),
        machine_line(machine),
    )


def pipeline_section(doc: Document, reports: Path) -> None:
    """Each stage's last recorded wall time and peak memory (``--record``, written by dllab.cli.run), in the
    order the stages finished. The stage list comes from the records, not from dvc.yaml: DVC cannot declare
    dvc.yaml as a dependency, and a stage must read nothing it does not declare."""
    records = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((reports / "pipeline").glob("*.json"))]
    records.sort(key=lambda r: r.get("finished_at", ""))
    rows = [[r["stage"], r["seconds"], r["peak_memory_mb"], r["finished_at"]] for r in records]
    total = sum(r["seconds"] for r in records)
    doc.add(
        Heading("Pipeline"),
        Paragraph(f"The stages recorded under reports/pipeline/, in the order they last finished, with the wall "
                  f"time and peak resident memory of that run (sum: {total:,.0f} s; this report's own stage is "
                  f"recorded after it is written). The goal is a full `dvc repro` in at most 20 minutes on a "
                  f"2-core CPU, with no stage above 4 GB."),
        Table(["stage", "seconds", "peak memory (MB)", "finished at (UTC)"], rows),
    )


def build(reports: Path, shown: dict, machine: dict, baseline=None, source: str = "params.yaml") -> Document:
    """The whole report; ``shown`` is the whole params file (read from ``source``), each section shown as
    written; ``baseline`` (dllab.report.baseline.Baseline) adds the experiment comparison."""
    # The values the text quotes, with their defaults, checked before any metrics file is read.
    rag = RagParams.from_mapping(shown.get("rag"), source=source)
    chat = ChatParams.from_mapping(shown.get("chat"), source=source)
    doc = Document("dllab: what the pipeline learned, how fast, at what cost")
    doc.add(Paragraph("Built by the `report` stage from the metrics, figures and records of every stage. "
                      "Compare experiments with `dvc exp show`, `dvc metrics diff` and `dvc plots diff`."))
    mnist_section(doc, reports, shown, machine)
    lm_section(doc, reports, shown, machine)
    if baseline is not None:
        experiment_section(doc, reports, shown, baseline)
    rag_section(doc, reports, shown, machine)
    answers_section(doc, reports, rag, chat)
    chat_section(doc, reports, shown, chat, machine)
    speech_section(doc, reports, shown, machine)
    pipeline_section(doc, reports)
    return doc
