"""Fixtures for the CLI tests: cassette dirs written with the test cache's own writer, and runs.

``cassettes`` writes real cassette files (``write_cassette``) under a
temporary dir; ``cli`` runs ``exllm-cache`` in-process through ``main`` and
returns its exit status and output. The Redis fixtures are the shared ones
of :mod:`tests.redis_server`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import orjson
import pytest

from exllm_py.cli import main
from exllm_py.testing.cassette_file import (
    Body,
    CassetteFile,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    write_cassette,
)
from exllm_py.testing.files import utc_timestamp
from exllm_py.testing.paths import cassette_path_for
from exllm_py.testing.usage import UsageLog, state_dir_for
from tests.redis_server import redis_server, redis_url

__all__ = [
    "CassetteDir",
    "Result",
    "cassettes",
    "cli",
    "days_ago",
    "interaction",
    "redis_server",
    "redis_url",
]

OPENAI = "https://api.openai.com/v1/chat/completions"


# One "now" for the whole run: two calls of days_ago(1) in one test must give
# the same second, or a test comparing them fails when a second ticks between.
_NOW = datetime.now(UTC).replace(microsecond=0)


def days_ago(days: float) -> datetime:
    """A moment ``days`` before the run started, in UTC, to the second (as cassettes record it)."""
    return _NOW - timedelta(days=days)


def interaction(
    url: str = OPENAI,
    *,
    recorded: datetime | None = None,
    message: str = "Hi",
    model: str | None = "gpt-4o-mini",
    streamed: bool = False,
) -> Interaction:
    """One recorded exchange, as the transport would record it."""
    request: dict[str, object] = {"messages": [{"role": "user", "content": message}]}
    if model is not None:
        request["model"] = model
    body = (
        Body.from_events(['data: {"choices": []}', "data: [DONE]"])
        if streamed
        else Body.from_bytes(orjson.dumps({"id": "chatcmpl-1", "choices": []}))
    )
    return Interaction(
        request=RecordedRequest(
            "POST",
            url,
            (("authorization", "REDACTED"), ("content-type", "application/json")),
            Body.from_bytes(orjson.dumps(request)),
        ),
        response=RecordedResponse(200, (("content-type", "application/json"),), body),
        recorded_at=utc_timestamp(recorded or days_ago(1)),
        source="loopback",
    )


@attrs.define
class CassetteDir:
    """A cassette dir under a test's temporary directory, filled through the real writer."""

    path: Path

    def add(
        self,
        nodeid: str,
        *interactions: Interaction,
        metadata: dict[str, str] | None = None,
    ) -> Path:
        """Write the cassette of test ``nodeid`` (one default interaction if none given)."""
        target = cassette_path_for(self.path, nodeid)
        items = interactions or (interaction(),)
        meta = {"test": nodeid, "source": "loopback"} if metadata is None else metadata
        write_cassette(target, CassetteFile(tuple(items), meta), secrets={})
        return target

    def played(self, paths: Iterable[Path], when: datetime) -> None:
        """Record, as the plugin does when a run ends, that ``paths`` were played at ``when``."""
        self.usage.record(list(paths), when)

    @property
    def usage(self) -> UsageLog:
        """The usage log the CLI reads for this dir, under the root's pytest cache dir."""
        root = self.path.parent
        return UsageLog(state_dir_for(root), self.path, root)

    def files(self) -> list[str]:
        """Every file under the dir (hidden ones too), relative, sorted."""
        return sorted(
            p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()
        )


@pytest.fixture(autouse=True)
def _plain_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """No colour switch from the developer's shell: output in these tests is plain text."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)


@pytest.fixture
def cassettes(tmp_path: Path) -> CassetteDir:
    """An empty cassette dir, ``<tmp>/cassettes``."""
    return CassetteDir(tmp_path / "cassettes")


@attrs.frozen
class Result:
    """What a run of the CLI did: exit status, stdout, stderr."""

    code: int
    out: str
    err: str

    def json(self) -> object:
        return orjson.loads(self.out)


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], cassettes: CassetteDir, tmp_path: Path
) -> Callable[..., Result]:
    """Run ``exllm-cache ARGS`` in-process on the test's cassette dir (and root ``tmp_path``)."""

    def run(*args: str, located: bool = True) -> Result:
        capsys.readouterr()
        location = ["--dir", str(cassettes.path), "--root", str(tmp_path)] if located else []
        code = main([*args, *location])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
