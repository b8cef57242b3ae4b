"""The lab's web server: `python web/serve.py` then open http://127.0.0.1:8000.

Loads the chat model, the index and the voices once, then serves the page and the API with waitress
(a production WSGI server). Whisper (speech input, POST /transcribe) loads in the background once the
server is up. The other sections (digits, language models, report) need only their own
files: torch and their models load in the background once the server is up (on first use at the
latest, or only then with --load-on-first-use), and a section whose files are missing answers 503
naming the `dvc repro` stage that builds them. Listens on 127.0.0.1 unless --host says otherwise;
--port 0 picks a free port. Prints one line `serving on http://HOST:PORT` when ready. The default files
are those of this repository, whatever the working folder; paths given on the command line are read
from the working folder. Ctrl-C or SIGTERM stops it cleanly: answers in progress end with an event,
nothing is left behind.
"""
import argparse
import ipaddress
import signal
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `python web/serve.py` from anywhere

from dllab.chat.config import ChatParams, JudgeParams, LlmParams  # noqa: E402
from dllab.cli import run  # noqa: E402
from dllab.params import load_all  # noqa: E402
from dllab.speech.config import SttParams, TtsParams  # noqa: E402

WARM_UP_WAIT_S = 60  # how long a stop waits for the background loading to end (it takes seconds)
GRACE_S = 10  # how long a stop waits for the answers in progress to end and reach their clients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 exposes it to the network)")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    parser.add_argument("--model", type=Path, default=REPO / "models/llm/model.gguf")
    parser.add_argument("--index", type=Path, default=REPO / "models/chromadb")
    parser.add_argument("--judge", type=Path, default=REPO / "models/judge/model.gguf",
                        help="the yes/no judge of ambiguous evidence (chat.judge_above); without it, not asked")
    parser.add_argument("--audio-cache", type=Path, default=REPO / "models/speech_cache",
                        help="folder of the spoken clips")
    parser.add_argument("--kokoro", type=Path, default=REPO / "models/kokoro",
                        help="Kokoro's files (the neural voices; tts.engine auto uses them when present)")
    parser.add_argument("--whisper", type=Path, default=REPO / "models/whisper",
                        help="Whisper base's files (speech input, POST /transcribe)")
    parser.add_argument("--mnist-model", type=Path, default=REPO / "models/mnist/model.pt")
    parser.add_argument("--lstm", type=Path, default=REPO / "models/lstm/model.pt")
    parser.add_argument("--transformer", type=Path, default=REPO / "models/transformer/model.pt")
    parser.add_argument("--tokenizer", type=Path, default=REPO / "models/tokenizer")
    parser.add_argument("--report", type=Path, default=REPO / "reports/index.html")
    parser.add_argument("--mnist-metrics", type=Path, default=REPO / "reports/mnist/metrics.json",
                        help="the digit model's test metrics (mnist_evaluate), shown on its tab")
    parser.add_argument("--lm-metrics", type=Path, default=REPO / "reports/lm/metrics.json",
                        help="the language models' test metrics (lm_evaluate), shown on their tab")
    parser.add_argument("--load-on-first-use", action="store_true",
                        help="load torch, the digit and language models and Whisper on their first request instead of "
                             "just after start-up (the server then holds ~475 MB less until someone uses them)")
    args = parser.parse_args()
    # Until the server runs, SIGTERM exits at once, through the same clean-up as an error.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    # Resolved once, here: nothing later reads a path against whatever folder it happens to be in.
    params_file, model, index, audio, kokoro, whisper, judge_file = (
        p.resolve() for p in (args.params, args.model, args.index, args.audio_cache, args.kokoro, args.whisper,
                              args.judge))
    # Every section the server uses, built once from the one file and passed down.
    llm, chat, tts, stt, judge = load_all(params_file, LlmParams, ChatParams, TtsParams, SttParams, JudgeParams)

    from dllab.chat.service import check_capacity
    from dllab.errors import UserError
    from web.connections import check_connections

    try:
        check_capacity(chat, tts)
        check_connections(chat, upload_bytes=int(stt.max_mb * 2**20))
    except UserError as exc:
        raise UserError(f"{params_file}: {exc}") from None
    loopback = is_loopback(args.host)
    if not loopback:
        print(f"warning: listening on {args.host}: anyone who can reach this machine can use the chatbot; "
              "it has no authentication", file=sys.stderr, flush=True)

    from dllab.lab import Lab, LabFiles
    from web.app import create_app
    from web.connections import create_server

    files = LabFiles(*(p.resolve() for p in (args.mnist_model, args.lstm, args.transformer, args.tokenizer,
                                             args.report)), index, args.mnist_metrics.resolve(),
                     args.lm_metrics.resolve())
    service, chat_down = start_chat(model, index, audio, kokoro, llm, chat, tts, judge_file, judge)
    transcriber = start_transcriber(whisper, stt)
    from dllab.experiments import Experiments

    # `dvc exp run` experiments of this repository whose models are in its DVC cache (GET /experiments)
    experiments = Experiments(REPO) if (REPO / ".dvc").is_dir() else None
    lab = Lab(files, retriever=service.retriever if service else None, experiments=experiments)
    if service:
        warn_if_the_llm_server_is_down(service)
    warming: list = []  # the background loads, each joined before the process exits
    try:
        for name, status in {"chat": chat_down.status() if chat_down else {"ready": True},
                             **lab.status()}.items():
            if not status["ready"]:
                print(f"warning: {name} is unavailable until `{status['build']}` makes "
                      f"{', '.join(status['missing'])}", file=sys.stderr, flush=True)
        sockets: dict = {}
        app = create_app(service, loopback_only=loopback, lab=lab, chat_down=chat_down, transcriber=transcriber)
        server = create_server(app, sockets, args.host, args.port, chat)
        print(f"serving on http://{server.effective_host}:{server.effective_port}", flush=True)
        if not args.load_on_first_use:
            warming.append(lab.warm_in_background())  # torch, the MNIST model and both LMs: about 4 s, +475 MB
            if transcriber:
                warming.append(transcriber.warm_in_background())  # Whisper base: about 2 s
        serve_until_stopped(server, sockets, service)
    finally:
        # A process that exits while a thread still imports torch or loads Whisper (CTranslate2) can crash
        # (SIGSEGV) on its way out: a stop waits for both.
        for thread in warming:
            thread.join(timeout=WARM_UP_WAIT_S)
        if service:
            service.close()  # removes the private copy of the index
        lab.close()
    print("stopped", flush=True)


def start_chat(model: Path, index: Path, audio: Path, kokoro: Path, llm: LlmParams, chat: ChatParams,
               tts: TtsParams, judge_file: Path, judge: JudgeParams):
    """(the chat service, None), or (None, why it is down) when only its model or index is missing: the
    other sections still work. Any other problem (a bad voice, a corrupt model) stops the server as before.
    Without the judge's file, the chat runs without a judge (a warning says so)."""
    from dllab.chat.service import CHAT_BUILD, ChatService, missing_chat_files
    from dllab.errors import UserError
    from dllab.lazy import Unavailable
    from dllab.speech.tts import Speaker

    from dllab.chat.judge import MISSING

    if chat.judge_above > 0 and not judge_file.is_file():
        print(f"warning: {judge_file} is missing: ambiguous questions are answered without the yes/no judge; "
              f"{MISSING}", file=sys.stderr, flush=True)
    use_judge = judge_file if judge_file.is_file() else None
    try:
        return ChatService.start(model, index, audio, llm, chat, tts, kokoro_dir=kokoro, judge_path=use_judge,
                                 judge_params=judge), None
    except UserError as exc:
        missing = missing_chat_files(model, index)
        if not missing:
            raise
        Speaker.from_params(tts, audio, kokoro)  # a bad voice is still an error at start-up, files or not
        return None, Unavailable(f"the chatbot is unavailable: {exc}", CHAT_BUILD, missing)


def start_transcriber(whisper: Path, stt: SttParams):
    """Speech input over Whisper base (loaded later), or None with a warning when its files are missing."""
    from dllab.speech.transcribe import BUILD, Transcriber, missing_files

    missing = missing_files(whisper)
    if missing:
        print(f"warning: speech input is unavailable until `{BUILD}` makes {', '.join(missing)}",
              file=sys.stderr, flush=True)
        return None
    return Transcriber(whisper, stt)


def warn_if_the_llm_server_is_down(service) -> None:
    """A remote LLM server may start after the chat server: say so, then answer 503 until it does."""
    from dllab.chat.remote import LLMServerDown

    if service.params.answer_mode != "generate":
        return
    try:
        service.model.check_available()
    except LLMServerDown as exc:
        print(f"warning: {exc}; questions get 503 until it answers", file=sys.stderr, flush=True)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_until_stopped(server, sockets: dict, service) -> None:
    """Run waitress's loop until SIGTERM or Ctrl-C, then let the answers in progress end before closing.

    The loop runs here rather than in ``server.run()``: waitress sends the bytes its threads write from
    this loop, so it must keep turning while the streams in progress say that the server stops.
    """
    from waitress import wasyncore

    stop = threading.Event()

    def request_stop(signum, frame):
        if stop.is_set():  # a second Ctrl-C: do not wait any longer
            raise KeyboardInterrupt
        print(f"stopping ({signal.Signals(signum).name}); answers in progress end now", flush=True)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    turn = lambda: wasyncore.loop(timeout=0.2, map=sockets, use_poll=True, count=1)  # noqa: E731
    try:
        while not stop.is_set():
            turn()
        server.accepting = False  # no new connections
        if service:
            service.stop()
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline and ((service and service.in_flight) or _sending(sockets, server)):
            turn()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.task_dispatcher.shutdown(timeout=1)
        wasyncore.close_all(sockets)


def _sending(sockets: dict, server) -> bool:
    """Whether a connection still has bytes to send (waitress channels are writable until then)."""
    return any(channel.writable() for channel in list(sockets.values()) if channel is not server)


if __name__ == "__main__":
    run(main)
