"""Stage chat_evaluate: ask every question of the question set through the chat service the server uses, and
measure the answers (correct, faithful, French, declined) and their speed."""
import argparse
import tempfile
from pathlib import Path

from dllab.chat.config import ChatParams, JudgeParams, LlmParams
from dllab.cli import run
from dllab.params import load
from dllab.speech.config import TtsParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="models/llm/model.gguf")
    parser.add_argument("--index", default="models/chromadb")
    parser.add_argument("--judge", default="models/judge/model.gguf", help="the yes/no judge (chat.judge_above)")
    parser.add_argument("--questions", default="data/eval/questions.yaml")
    parser.add_argument("--check", help="an untouched question set (other authors'), asked after --questions with the "
                                        "same service; its measures go to metrics.json's 'check', its answers to "
                                        "check_answers.md; nothing is calibrated on it")
    parser.add_argument("--out", default="reports/chat", help="folder for metrics.json, answers.md, answers.json, "
                                                              "calibration.json and calibration.png")
    args = parser.parse_args()
    llm = load(args.params, LlmParams)
    chat = load(args.params, ChatParams)
    judge = load(args.params, JudgeParams, only=("threads",))
    # The answers are measured as text and said with espeak-ng, the cheapest engine: speech_evaluate measures
    # the voices, and Kokoro would add minutes here (tts.engine is not read: this stage does not depend on it).
    tts = load(args.params, TtsParams, only=TtsParams.VOICE_KEYS["espeak"]).with_values(engine="espeak")

    from tqdm import tqdm

    from dllab.chat.evaluate import (answers_markdown, ask_all, calibration, calibration_figure, check_metrics,
                                     judge_calibration, metrics, per_question, suggested_threshold)
    from dllab.chat.download import is_remote
    from dllab.chat.service import ChatService
    from dllab.files import write_json, write_text
    from dllab.rag.evaluate import load_questions

    questions = load_questions(args.questions)
    checks = load_questions(args.check) if args.check else []  # both read before the models load
    with tempfile.TemporaryDirectory(prefix="chat-evaluate-audio-") as audio:  # spoken, not kept
        service = ChatService.start(args.model, args.index, audio, llm, chat, tts, judge_path=args.judge,
                                    judge_params=judge)
        with tqdm(total=len(questions) + len(checks), desc="questions", unit="q") as bar:
            results = ask_all(service, questions, progress=lambda _: bar.update())
            check_results = ask_all(service, checks, progress=lambda _: bar.update())
        service.close()
    curve = calibration(results)
    summary = {**metrics(results), "answer_mode": chat.answer_mode, "decline_below": chat.decline_below,
               "decline_below_suggested": suggested_threshold(curve),
               "judge_above": chat.judge_above, "judge_below": chat.judge_below,
               "judge_below_suggested": suggested_threshold(judge_calibration(results)),
               "judged": sum(r.judged is not None for r in results),
               "model": llm.source if is_remote(llm.source) else Path(args.model).name}
    if args.check:
        summary["check"] = check_metrics(check_results, args.check)
    out = Path(args.out)
    write_json(out / "answers.json", per_question(results))
    write_json(out / "calibration.json", curve)
    calibration_figure(curve, chat.decline_below, out / "calibration.png")
    write_text(out / "answers.md", answers_markdown(per_question(results), summary))
    if args.check:
        write_text(out / "check_answers.md", answers_markdown(per_question(check_results),
                                                             {**summary, **summary["check"]}))
    write_json(out / "metrics.json", summary)
    print(" ".join(f"{key} {summary[key]}" for key in ("correct", "faithful", "french_ok", "declined",
                                                       "wrongly_declined", "first_word_s_p50", "first_word_s_p95",
                                                       "judged", "judge_below_suggested")))
    for kind, row in summary["per_kind"].items():
        print(f"  {kind}: correct {row['correct']} of {row['answerable']} answerable, "
              f"declined {row['declined']} of {row['out_of_scope']} out of scope")
    if args.check:
        print(f"check ({args.check}): " + " ".join(f"{key} {summary['check'][key]}" for key in
                                                   ("correct", "declined", "wrongly_declined", "judged")))


if __name__ == "__main__":
    run(main)
