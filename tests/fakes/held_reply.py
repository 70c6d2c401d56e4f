"""``HeldReply``: a provider server responder that keeps a call in flight until the test says.

Enqueue it on a :class:`~tests.fakes.provider_server.ProviderServer`; the
request it answers sets ``arrived`` and waits for ``release`` (at most ten
seconds, so a failing test cannot hang the server) before the reply goes out.
Tests synchronise on these events, never on sleeps.
"""

from __future__ import annotations

import threading

from tests.fakes.payloads import openai_completion
from tests.fakes.provider_server import DEFAULT_TEXT, RecordedRequest, Reply, json_reply

__all__ = ["HeldReply"]


class HeldReply:
    """Holds its request at the server until ``release`` is set; then answers ``reply``."""

    def __init__(self, reply: Reply | None = None) -> None:
        self.reply = reply or json_reply(openai_completion(DEFAULT_TEXT))
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: RecordedRequest) -> Reply:
        self.arrived.set()
        self.release.wait(10)
        return self.reply
