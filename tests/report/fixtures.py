"""Small, made-up metrics and figures laid out like the pipeline's, for building the report in tests."""
import json
from pathlib import Path

import matplotlib
import numpy as np

from dllab.speech import wav

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MACHINE = {"cpu": "Test CPU", "cores": 2, "memory_gib": 24.0, "python": "3.11", "torch": "2.x", "device": "cpu"}


def png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [1, 0])
    fig.savefig(path)
    plt.close(fig)


def write(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")


def record(reports: Path, stage: str, seconds: float, **timings) -> None:
    """A stage record as dllab.cli writes it with --record."""
    write(reports / f"pipeline/{stage}.json", {"stage": stage, "seconds": seconds, "peak_memory_mb": 900.0,
                                               "finished_at": "2026-11-26T06:00:00+00:00", **timings})


def history(model: str, reports: Path, val_bpc: list[float]) -> None:
    path = reports / f"lm/{model}_history.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("step,val_bpc\n" + "".join(f"{50 * i},{b}\n" for i, b in enumerate(val_bpc)))


def make_reports(root: Path) -> Path:
    reports = root / "reports"
    write(reports / "mnist/metrics.json", {
        "test_accuracy": 0.9876, "test_loss": 0.04, "test_errors": 124, "best_epoch": 19, "parameters": 669706})
    write(reports / "mnist/details.json", {
        "per_class": {str(d): {"precision": 0.99, "recall": 0.98, "support": 1000} for d in range(10)},
        "confusion_matrix": [[0] * 10] * 10, "model": {"hidden": [512, 512], "activation": "relu", "dropout": 0.2},
        "test_images": 10000, "machine": MACHINE})
    for name in ["training_curves", "confusion_matrix", "predictions", "worst_mistakes"]:
        png(reports / f"mnist/figures/{name}.png")
    lm = {"test_bpc": 2.5, "test_loss_per_char": 1.73, "test_ppl": 80.0, "params": 1_000_000, "train_steps": 100,
          "selection_val_bpc": 2.45, "stopped_early": "no"}
    write(reports / "lm/metrics.json", {"lstm": lm, "transformer": {**lm, "test_bpc": 2.4, "test_loss_per_char": 1.66}})
    # The LSTM learns faster per step, the Transformer per second: the comparison must show both.
    history("lstm", reports, [3.0, 2.6, 2.4])
    history("transformer", reports, [3.0, 2.7, 2.5])
    record(reports, "lstm_train", 310.0, train_seconds=300.0, train_tokens_per_second=9000,
           eval_seconds=[0.0, 90.0, 300.0])
    record(reports, "transformer_train", 110.0, train_seconds=100.0, train_tokens_per_second=27000,
           eval_seconds=[0.0, 50.0, 100.0])
    record(reports, "lm_evaluate", 20.0, generation_tokens_per_second={"lstm": 800.0, "transformer": 400.0})
    write(reports / "lm/samples.json", [{"prompt": "ROMEO:", "lstm": "lstm says <b>hi</b>", "transformer": "tf says hi"}])
    png(reports / "lm/val_loss.png")
    write(reports / "rag/metrics.json", {"questions": 2, "k": 4, "hit_at_1": 0.5, "hit_at_k": 1.0, "mrr": 0.75,
                                         "latency_ms_p50": 3.0, "latency_ms_p95": 4.0,
                                         "dense_only": {"hit_at_1": 0.0, "hit_at_k": 0.5, "mrr": 0.25}})
    write(reports / "rag/index.json", {"files": 2, "pages": 7, "chunks": 65, "files_without_text": 0,
                                       "files_skipped": 0, "embedding_model": "default",
                                       "dimension": 384})
    hit = {"file": "document.pdf", "page": 3, "score": 0.7, "answers": True, "excerpt": "La tarte Tatin"}
    write(reports / "rag/questions.json", [
        {"question": "Quelles sont les variantes ?", "rank": 1, "latency_ms": 3.0, "hits": [hit]},
        {"question": "Comment faire ?", "rank": None, "latency_ms": 3.0, "hits": [{**hit, "answers": False}]}])
    write(reports / "serve/metrics.json", {
        "questions": 1, "startup_s": 7.0, "first_token_s": 5.0, "latency_s": 11.0, "tokens_per_s": 30.0,
        "audio_seconds": 20.0, "synthesis_real_time_factor": 0.003,
        "turns": [{"question": "Quel est le secret ?", "answer": "Une pâte <script>alert(1)</script> reposée.",
                   "sources": [{"file": "connaissances.txt", "page": None, "score": 0.8}]}]})
    write(reports / "chat/metrics.json", {
        "questions": 3, "answerable": 2, "out_of_scope": 1, "correct": 0.5, "faithful": 1.0, "french_ok": 0.99,
        "declined": 1.0, "wrongly_declined": 0.0, "first_word_s_p50": 0.2, "first_word_s_p95": 0.4,
        "latency_s_p50": 0.3, "latency_s_p95": 0.5, "unknown_words": ["Cury"], "answer_mode": "quote",
        "decline_below": 0.84, "decline_below_suggested": 0.85, "model": "model.gguf",
        "judge_above": 0.88, "judge_below": 0.15, "judge_below_suggested": 0.2, "judged": 1,
        "check": {"questions_file": "data/eval/other_authors/set_b.yaml", "questions": 5, "answerable": 3,
                  "out_of_scope": 2, "correct": 0.6667, "declined": 0.5, "wrongly_declined": 0.0, "judged": 2},
        "per_kind": {"procedure": {"answerable": 1, "correct": 0.0, "wrongly_declined": 0.0, "out_of_scope": 1,
                                   "declined": 1.0}},
        "notebook": [{"question": "Comment faire ?", "answer": "Étalez la <b>pâte</b>. [1]", "correct": False}]})
    write(reports / "chat/answers.json", [
        {"question": "Comment faire ?", "out_of_scope": False, "answer": "Étalez la <b>pâte</b>. [1]",
         "expect": ["pâte brisée"], "need": 1, "correct": False, "declined": False, "evidence": 0.86, "sources": []},
        {"question": "Une pizza ?", "out_of_scope": True, "answer": "Les documents ne contiennent pas cette information.",
         "expect": [], "need": 1, "correct": False, "declined": True, "evidence": 0.8, "sources": []}])
    png(reports / "chat/calibration.png")
    voice = {"voice": "ff_siwis", "wer": 0.15, "wer_questions": 0.2, "wer_answers": 0.1, "words": 40, "pitch_hz": 210.0}
    write(reports / "speech/metrics.json", {
        "engine": "kokoro", "question_voice": {**voice, "voice": "0.5*ff_siwis+0.5*am_echo", "wer": 0.25,
                                               "pitch_hz": 150.0},
        "answer_voice": voice, "question_round_trip_wer": 0.2, "pitch_semitones_apart": 5.8,
        "texts": {"questions": 2, "answers": 1}})
    write(reports / "speech/transcripts.json", [
        {"voice": "answer", "kind": "question", "text": "Une <i>tarte</i> ?", "heard": "Une tarte ?", "wer": 0.0}])
    (reports / "speech/clips").mkdir(parents=True, exist_ok=True)
    wav.write(reports / "speech/clips/answer_voice-answer.wav", (np.sin(np.arange(4800) / 5) * 8000).astype("<i2"),
              24_000)
    record(reports, "speech_evaluate", 100.0, question_real_time_factor=0.4, answer_real_time_factor=0.6,
           first_audio_s_p50=0.8, first_audio_s_max=1.4, whisper_real_time_factor=0.2)
    record(reports, "mnist_train", 70.1, train_seconds=61.5, seconds_per_epoch=3.1, train_images_per_second=17000)
    record(reports, "rag_index", 20.0, index_seconds=11.0)
    return reports
