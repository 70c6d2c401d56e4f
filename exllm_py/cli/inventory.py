"""What the cassette dir holds: one :class:`CassetteInfo` per cassette, plus their usage.

Reading the dir is the first step of most commands. Each cassette is read
once with the test cache's own reader; one that cannot be read is still
listed (with ``problem`` set) so that nothing in the dir goes unseen. A
JSON file that is not a cassette at all (no ``version`` and ``interactions``
at its top) is marked ``is_cassette=False``: no command ever removes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import attrs
import orjson

from exllm_py.cli.hosts import provider_for_url
from exllm_py.cli.locate import Location
from exllm_py.cli.progress import track
from exllm_py.errors import RecordingCorrupt
from exllm_py.testing.cassette_file import CassetteFile, Interaction, read_cassette
from exllm_py.testing.files import parse_timestamp
from exllm_py.testing.paths import iter_cassettes, nodeid_for
from exllm_py.testing.provider_label import provider_label

__all__ = ["CassetteInfo", "Inventory", "describe", "parse_time", "scan"]


@attrs.frozen
class CassetteInfo:
    """One cassette file: where it is, whose it is, what it holds and when it was used."""

    path: Path
    #: The path under the cassette dir, with ``/``: ``tests.test_x/test_y.json``.
    name: str
    #: The test module's directory name (``tests.test_x``); empty at the top of the dir.
    module: str
    #: The test's node id: the recorded one, else the one the file name encodes.
    test_id: str | None
    providers: tuple[str, ...]
    interactions: int
    size: int
    oldest: datetime | None
    newest: datetime | None
    last_played: datetime | None
    modified: datetime
    #: Why the file cannot be read as a cassette; ``None`` when it can.
    problem: str | None = None
    is_cassette: bool = True

    @property
    def provider(self) -> str:
        """The providers it calls, joined with ``+``; ``-`` for none."""
        return "+".join(self.providers) or "-"

    @property
    def last_used(self) -> datetime:
        """When a test last played or recorded it; the file's time when nothing says."""
        moments = [moment for moment in (self.last_played, self.newest) if moment is not None]
        return max(moments) if moments else self.modified


@attrs.frozen
class Inventory:
    """Every cassette of a dir, sorted by name, and the usage log's times."""

    cassette_dir: Path
    cassettes: tuple[CassetteInfo, ...]
    usage: Mapping[str, datetime] = attrs.field(factory=dict)
    has_usage_file: bool = False
    #: Where the usage log is (or would be).
    usage_file: Path | None = None

    @property
    def readable(self) -> tuple[CassetteInfo, ...]:
        """The cassettes that parse."""
        return tuple(info for info in self.cassettes if info.problem is None)

    @property
    def unreadable(self) -> tuple[CassetteInfo, ...]:
        """The files that do not parse as cassettes."""
        return tuple(info for info in self.cassettes if info.problem is not None)


def scan(where: Location, progress: TextIO) -> Inventory:
    """Read every cassette in ``where``'s cassette dir (absent: an empty inventory)."""
    cassette_dir = where.cassette_dir
    log = where.usage
    usage = log.read()
    paths = list(iter_cassettes(cassette_dir))
    described = (
        describe(cassette_dir, path, usage) for path in track(paths, progress, "reading cassettes")
    )
    infos = tuple(info for info in described if info is not None)
    return Inventory(cassette_dir, infos, usage, log.exists(), log.path)


def describe(cassette_dir: Path, path: Path, usage: Mapping[str, datetime]) -> CassetteInfo | None:
    """The :class:`CassetteInfo` of the cassette at ``path``; ``None`` if it is gone."""
    relative = path.relative_to(cassette_dir)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None  # removed since the dir was listed (or a dangling symlink)
    cassette: CassetteFile | None = None
    problem: str | None = None
    try:
        cassette = read_cassette(path)
    except (RecordingCorrupt, OSError) as exc:
        problem = str(exc)
    held = cassette.interactions if cassette is not None else ()
    times = sorted(filter(None, (parse_time(item.recorded_at) for item in held)))
    return CassetteInfo(
        path=path,
        name=relative.as_posix(),
        module=relative.parts[0] if len(relative.parts) > 1 else "",
        test_id=_test_id(cassette_dir, path, cassette.metadata if cassette is not None else {}),
        providers=_providers(cassette) if cassette is not None else (),
        interactions=len(held),
        size=stat.st_size,
        oldest=times[0] if times else None,
        newest=times[-1] if times else None,
        last_played=usage.get(relative.as_posix()),
        modified=datetime.fromtimestamp(stat.st_mtime, UTC),
        problem=problem,
        is_cassette=cassette is not None or _looks_like_cassette(path),
    )


def parse_time(text: str) -> datetime | None:
    """A recorded ``2025-01-31T12:00:00Z`` as an aware UTC datetime; ``None`` if it is not one.

    Whatever the test cache reads back as a time is one here, too.
    """
    try:
        return parse_timestamp(text)
    except ValueError:
        return None


def _providers(cassette: CassetteFile) -> tuple[str, ...]:
    recorded = cassette.metadata.get("provider")
    if recorded:
        return (recorded,)
    return tuple(sorted({_provider(item) for item in cassette.interactions}))


def _provider(interaction: Interaction) -> str:
    """The recorded provider; for older recordings, what the request shows, else its host."""
    if interaction.provider:
        return interaction.provider
    request = interaction.request
    return provider_label(request.url, request.headers) or provider_for_url(request.url)


def _test_id(cassette_dir: Path, path: Path, metadata: Mapping[str, str]) -> str | None:
    return metadata.get("test") or nodeid_for(cassette_dir, path)


def _looks_like_cassette(path: Path) -> bool:
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    return isinstance(document, dict) and {"version", "interactions"} <= document.keys()
