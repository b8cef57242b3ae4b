"""The chatbot's web server: `python web/serve.py` then open http://127.0.0.1:8000.

Loads the model, the index and the voices once, then serves the page and the API with waitress
(a production WSGI server). Listens on 127.0.0.1 unless --host says otherwise; --port 0 picks a free
port. Prints one line `serving on http://HOST:PORT` when ready.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python web/serve.py` from anywhere

from dllab.chat.config import CHAT_SPEC, LLM_SPEC, MODEL_KEYS, SERVE_KEYS  # noqa: E402
from dllab.cli import run  # noqa: E402
from dllab.params import read_yaml, check_section  # noqa: E402
from dllab.speech.config import KEYS as TTS_KEYS, SPEC as TTS_SPEC  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 exposes it to the network)")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="models/llm/model.gguf")
    parser.add_argument("--index", default="models/chromadb")
    parser.add_argument("--audio-cache", default="models/speech_cache", help="folder of the spoken clips")
    args = parser.parse_args()
    raw = read_yaml(args.params)
    llm = check_section("llm", raw.get("llm"), LLM_SPEC, only=MODEL_KEYS, source=args.params)
    chat = check_section("chat", raw.get("chat"), CHAT_SPEC, only=SERVE_KEYS, source=args.params)
    tts = check_section("tts", raw.get("tts"), TTS_SPEC, only=TTS_KEYS, source=args.params)

    import waitress

    from dllab.chat.service import ChatService
    from web.app import create_app

    service = ChatService.start(args.model, args.index, args.audio_cache, llm, chat, tts)
    server = waitress.create_server(create_app(service), host=args.host, port=args.port,
                                    threads=chat["server_threads"], channel_timeout=300)
    print(f"serving on http://{server.effective_host}:{server.effective_port}", flush=True)
    try:
        server.run()
    finally:
        server.close()


if __name__ == "__main__":
    run(main)
