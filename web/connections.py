"""What the server holds: waitress's connections, its own refusals, and noticing a client that left.

- Idle or slow clients each hold a connection (waitress reads requests on its one event loop and hands only
  complete ones to a thread), so ``chat.connection_limit`` is set well above the threads and
  ``chat.channel_timeout`` closes connections that stay idle; a request's body larger than
  ``chat.max_request_body_size`` is refused with 413 as soon as its headers are read.
- Waitress answers some requests itself (a malformed request line, headers or body too large, a chunked body
  it cannot read): those answers get the app's JSON ``{"error": ...}`` shape and security headers too.
- ``channel_request_lookahead``: waitress keeps reading a connection while its request runs, so a client
  that closes it while queued is seen at once (``environ["waitress.client_disconnected"]``), not only when
  its turn first writes. A client that only half-closes it (shuts down its writing side, ``nc -N``) looks
  the same and gets no answer, as with nginx.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask

from web.schemas import body_limit
from dllab.errors import UserError
from web.mnist_routes import MAX_BODY_BYTES as DIGIT_BODY_BYTES
from web.responses import SECURITY_HEADERS

if TYPE_CHECKING:
    from dllab.chat.config import ChatParams

CLEANUP_S = 5           # how often idle connections are looked for (waitress's default is 30 s)
SPARE_FILES = 128       # open files beyond the connections: model, index, clips, bodies spooled to disk, logs


def create_server(app, sockets: dict, host: str, port: int, chat: ChatParams):
    """A waitress server for ``app`` with the ``chat`` params' limits, whose own refusals are JSON."""
    import waitress

    server = waitress.create_server(
        app, map=sockets, host=host, port=port, threads=chat.server_threads,
        connection_limit=chat.connection_limit, channel_timeout=chat.channel_timeout,
        max_request_body_size=chat.max_request_body_size, cleanup_interval=min(CLEANUP_S, chat.channel_timeout),
        channel_request_lookahead=1)
    for dispatcher in sockets.values():  # one listening socket per address (localhost may be two)
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = Channel
    return server


def check_connections(chat: ChatParams, upload_bytes: int = 0) -> None:
    """UserError unless the connection params can hold what they promise (checked at start-up); raises the
    process's soft limit on open files to what ``chat.connection_limit`` needs when the hard limit allows.
    ``upload_bytes``: the largest recording POST /transcribe takes (``stt.max_mb``)."""
    problems = []
    largest = max(body_limit(chat), DIGIT_BODY_BYTES, upload_bytes)
    if chat.max_request_body_size <= largest:
        problems.append(
            f"chat.max_request_body_size = {chat.max_request_body_size} would refuse valid requests: the largest "
            f"one a route takes is {largest} bytes (a question of chat.max_question_chars with "
            "chat.max_history_messages messages of chat.max_message_chars, a drawn digit, or a recording of "
            "stt.max_mb); "
            f"set it above {largest}")
    if chat.connection_limit <= chat.server_threads:
        problems.append(
            f"chat.connection_limit = {chat.connection_limit} leaves no connection beyond the "
            f"chat.server_threads = {chat.server_threads} busy threads, so /health and 503s could not reach the "
            f"server; set it well above (e.g. {max(500, 4 * chat.server_threads)})")
    problems += _open_files(chat.connection_limit)
    if problems:
        raise UserError("; ".join(problems))


def _open_files(connections: int) -> list[str]:
    """Raise this process's soft limit on open files to what ``connections`` need, if the hard limit allows."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return []
    needed = connections + SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return []
    if hard != resource.RLIM_INFINITY and hard < needed:
        return [f"chat.connection_limit = {connections} needs {needed} open files but this process may open at "
                f"most {hard} (ulimit -Hn); lower chat.connection_limit or raise the limit"]
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return []


class JsonErrorTask(ErrorTask):
    """Waitress's own refusals in the app's shape: ``{"error": ...}`` with the security headers."""

    def execute(self):
        error, adj = self.request.error, self.channel.adj
        messages = {
            413: f"the request body is larger than {adj.max_request_body_size} bytes",
            431: f"the request line and headers are larger than {adj.max_request_header_size} bytes",
            500: "internal error; the server log has the details",
        }
        body = json.dumps({"error": messages.get(error.code, f"malformed HTTP request: {error.body:.200}")}).encode()
        # A transfer coding waitress cannot read (501 for RFC 9112) is the client's choice: no 5xx for it here.
        self.status = "400 Bad Request" if error.code == 501 else f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"), *SECURITY_HEADERS.items()])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class Channel(HTTPChannel):
    error_task_class = JsonErrorTask
