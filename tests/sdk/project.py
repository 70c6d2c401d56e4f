"""A pytest project that calls an SDK: recorded against the loopback server, then replayed.

:class:`SDKProject` copies a module of :mod:`tests.sdk.projects` into a
``pytester`` project, runs it once in record mode ``once`` with a fake key
in the SDK's variable, then again with the server stopped, ``CI=true`` and
no key, and hands back the cassettes for the checks on what reached disk.
:func:`sdk_responder` is how the loopback server answers those tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import attrs
import orjson
import pytest

from exllm_py.types import ToolCall
from tests.fakes import (
    ProviderServer,
    RecordedRequest,
    anthropic_error,
    anthropic_message,
    default_reply,
    json_reply,
    openai_completion,
    openai_error,
)
from tests.fakes.provider_server import Reply

__all__ = ["PROJECTS", "Cassettes", "SDKProject", "sdk_responder"]

#: Where the test modules copied into the projects live.
PROJECTS = Path(__file__).parent / "projects"

_WEATHER = ToolCall("call_weather_1", "get_weather", {"city": "Paris"})


def sdk_responder() -> Callable[[RecordedRequest], Reply]:
    """Default answers, a tool call when tools are offered, a 500 on a ``flaky`` ask's first try.

    The 500 carries ``retry-after-ms: 1``, which the SDKs honour: their retry
    waits a millisecond instead of half a second, recorded and replayed.
    """
    failed: set[bytes] = set()
    lock = threading.Lock()

    def respond(request: RecordedRequest) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        anthropic = request.path.endswith("/messages")
        if "flaky" in str(body.get("messages")):
            with lock:
                first = request.content not in failed
                failed.add(request.content)
            if first:
                error = (
                    anthropic_error("Overloaded", type="api_error")
                    if anthropic
                    else (openai_error("The server had an error", type="server_error"))
                )
                return json_reply(error, status=500, headers={"retry-after-ms": "1"})
        if body.get("tools"):
            if anthropic:
                return json_reply(anthropic_message(None, tool_calls=[_WEATHER]))
            return json_reply(openai_completion(None, tool_calls=[_WEATHER]))
        return default_reply(request)

    return respond


@attrs.frozen
class Cassettes:
    """The cassette files a project recorded: paths and their text."""

    root: Path

    @property
    def paths(self) -> list[Path]:
        return sorted(self.root.rglob("*.json"))

    def text(self) -> str:
        """Every cassette's text, joined."""
        return "\n".join(path.read_text() for path in self.paths)

    def interactions(self) -> list[dict[str, object]]:
        """Every recorded interaction, as the JSON on disk has it."""
        return [
            item for path in self.paths for item in orjson.loads(path.read_bytes())["interactions"]
        ]


@attrs.define
class SDKProject:
    """A pytester project over a loopback server; see the module docstring."""

    pytester: pytest.Pytester
    server: ProviderServer
    monkeypatch: pytest.MonkeyPatch

    def add(self, module: str) -> None:
        """Copy ``tests/sdk/projects/<module>.py`` into the project as ``test_<module>.py``."""
        source = (PROJECTS / f"{module}.py").read_text()
        self.pytester.makepyfile(**{f"test_{module}": source})

    def record(self, key_env: str, key: str, *args: str) -> pytest.RunResult:
        """Run the project in record mode ``once``, with ``key`` in ``key_env``."""
        self.monkeypatch.setenv(key_env, key)
        try:
            return self.pytester.runpytest("--exllm-record-mode=once", *args)
        finally:
            self.monkeypatch.delenv(key_env)

    def replay(self, *args: str) -> pytest.RunResult:
        """Run it again offline: the server stopped, ``CI=true``, no key set."""
        self.server.stop()
        self.monkeypatch.setenv("CI", "true")
        return self.pytester.runpytest(*args)

    @property
    def cassettes(self) -> Cassettes:
        return Cassettes(self.pytester.path / "cassettes")
