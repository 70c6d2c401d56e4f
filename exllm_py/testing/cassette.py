"""``Cassette``: one test's recordings while the test runs, indexed by match key.

Opening a cassette loads its file and builds the index (match key → the
interactions recorded under it, in order), so each lookup is one dict access.
The record mode decides, once, whether the cassette replays, records or
both:

========================  ===========================  ==============================
mode                      replays                      records
========================  ===========================  ==============================
``none``                  yes                          never (a miss is an error)
``once``                  if the file existed          if the file did not exist
``new_episodes``          yes                          what has no recording
``all``                   never                        everything; replaces the file
``rewrite``               never (the file is not read) everything; replaces the file
========================  ===========================  ==============================

``all`` and ``rewrite`` differ only in that ``rewrite`` never reads the old
file (a corrupt one included). Neither removes it before the new recording
is saved: a test that fails before it records, or whose recording is
refused (it holds a key), leaves the old cassette as it was.

Identical requests replay their recordings in recorded order, then the last
one repeats. Interactions recorded during the test are saved when the test
ends (:meth:`Cassette.save`); nothing is written when nothing was recorded.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

from exllm_py import telemetry
from exllm_py.errors import RecordingCorrupt
from exllm_py.testing.cassette_file import CassetteFile, Interaction, read_cassette, write_cassette
from exllm_py.testing.files import utc_timestamp
from exllm_py.testing.matching import (
    Matcher,
    MatchKey,
    canonical_url_text,
    closest_diff,
)
from exllm_py.testing.record_mode import RecordMode
from exllm_py.testing.redact import RecordingRefused, add_secrets, key_values

__all__ = ["Cassette", "RecordMode"]

T = TypeVar("T")


class Cassette:
    """A test's cassette: what it replays, what it recorded, what it played.

    Build one with :meth:`open` (which reads the file, except in
    ``rewrite`` mode); the constructor itself does no I/O. Safe to use from
    several threads: a test may make concurrent calls.
    """

    def __init__(
        self,
        path: Path,
        loaded: CassetteFile | None,
        *,
        mode: RecordMode = RecordMode.ONCE,
        matcher: Matcher | None = None,
        test_id: str = "",
        secrets: Mapping[str, str] | None = None,
        clock: Callable[[], str] = utc_timestamp,
    ) -> None:
        self.path = path
        self.mode = RecordMode(mode)
        self.matcher = Matcher() if matcher is None else matcher
        self.test_id = test_id
        #: Whether the cassette file existed when the test started.
        self.existed = loaded is not None
        self.metadata: Mapping[str, str] = loaded.metadata if loaded is not None else {}
        self._loaded = loaded.interactions if loaded is not None else ()
        self._secrets = dict(secrets or {})
        # Credentials the recorded requests carried (what → value): a key passed
        # as api_key= on the call is in no environment variable.
        self._sent_secrets: dict[str, str] = {}
        self._clock = clock
        self.replays = self.mode in (RecordMode.NONE, RecordMode.NEW_EPISODES) or (
            self.mode is RecordMode.ONCE and self.existed
        )
        self.records = self.mode in (
            RecordMode.NEW_EPISODES,
            RecordMode.ALL,
            RecordMode.REWRITE,
        ) or (self.mode is RecordMode.ONCE and not self.existed)
        self._index: dict[MatchKey, list[Interaction]] = {}
        for interaction in self._loaded:
            self._index.setdefault(self.key_of(interaction), []).append(interaction)
        self._plays: dict[MatchKey, int] = {}
        self._prepared: dict[int, Any] = {}
        self._lock = threading.Lock()
        #: Interactions replayed during the test, in order.
        self.played: list[Interaction] = []
        #: Interactions recorded during the test, in order.
        self.recorded: list[Interaction] = []
        #: Requests sent live unrecorded (passthrough hosts): counted for the run's summary.
        self.live = 0
        # The distinct requests refused with RecordingNotFound: an SDK that
        # retries the refusal asks again for the same one.
        self._missing: set[MatchKey] = set()

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        mode: RecordMode | str = RecordMode.ONCE,
        matcher: Matcher | None = None,
        test_id: str = "",
        secrets: Mapping[str, str] | None = None,
    ) -> Cassette:
        """Load the cassette at ``path`` (absent is fine); ``rewrite`` does not read it.

        A corrupt file raises ``RecordingCorrupt`` in every mode but
        ``rewrite``: it is never overwritten unless the user asked to drop it.
        No mode removes the file: a new recording replaces it when saved.
        """
        mode = RecordMode(mode)
        loaded: CassetteFile | None = None
        if mode is RecordMode.REWRITE:
            return cls(path, None, mode=mode, matcher=matcher, test_id=test_id, secrets=secrets)
        with _without_gc_pauses():
            try:
                loaded = read_cassette(path)
            except FileNotFoundError:
                loaded = None
            except RecordingCorrupt as exc:
                _report_error(path, test_id, exc)
                raise
            return cls(path, loaded, mode=mode, matcher=matcher, test_id=test_id, secrets=secrets)

    # -- lookups -------------------------------------------------------------------------

    def key_of(self, interaction: Interaction) -> MatchKey:
        """The match key a recorded interaction is found under."""
        request = interaction.request
        body = request.body
        if body.kind == "json":
            canonical = self.matcher.canonical_document(body.value)
        else:
            canonical = self.matcher.canonical_body(body.to_bytes())
        url = canonical_url_text(request.url)
        return self.matcher.key(request.method, url, request.headers, canonical)

    def play(self, key: MatchKey) -> Interaction | None:
        """The next recording for ``key`` (the last one again once all played), or ``None``."""
        with self._lock:
            recorded = self._index.get(key)
            if not recorded:
                return None
            plays = self._plays.get(key, 0)
            self._plays[key] = plays + 1
            interaction = recorded[min(plays, len(recorded) - 1)]
            self.played.append(interaction)
            return interaction

    def add(self, interaction: Interaction) -> None:
        """Keep a newly recorded interaction (replayable from the next run on)."""
        with self._lock:
            self.recorded.append(interaction)

    def note_live(self) -> None:
        """Count a request sent to a passthrough host, live and unrecorded."""
        with self._lock:
            self.live += 1

    def note_missing(self, key: MatchKey) -> None:
        """Count a request refused because nothing recorded matches it (each one once)."""
        with self._lock:
            self._missing.add(key)

    @property
    def missing(self) -> int:
        """How many distinct requests found no recording."""
        return len(self._missing)

    def add_secrets(self, secrets: Mapping[str, str]) -> None:
        """Also refuse to save the values of ``secrets`` (what they are → value).

        The recorder hands over the credentials of each request it forwards
        (:func:`~exllm_py.testing.redact.request_secrets`), before redacting it.
        """
        with self._lock:
            add_secrets(self._sent_secrets, secrets.items())

    def prepared(self, interaction: Interaction, build: Callable[[Interaction], T]) -> T:
        """``build(interaction)``, computed once per interaction (replays reuse it)."""
        ready = self._prepared.get(id(interaction))
        if ready is None:
            ready = self._prepared[id(interaction)] = build(interaction)
        return cast(T, ready)

    def now(self) -> str:
        """The timestamp new recordings get."""
        return self._clock()

    @property
    def interactions(self) -> tuple[Interaction, ...]:
        """What the cassette holds now: what it keeps from its file, then the new recordings."""
        with self._lock:
            kept = () if self.mode in (RecordMode.ALL, RecordMode.REWRITE) else self._loaded
            return (*kept, *self.recorded)

    def explain_miss(self, key: MatchKey) -> str:
        """Why ``key`` cannot be answered, with a diff against the closest recorded request."""
        request_line = self.matcher.describe(key)[0]
        where = f"cassette {self.path}" + (f" (test {self.test_id})" if self.test_id else "")
        lines = [
            f"no recording matches {request_line} in {where}, record mode {self.mode.value!r}."
        ]
        if not self.existed:
            lines.append("The cassette does not exist yet.")
        elif self.mode is RecordMode.ONCE:
            lines.append("The cassette exists, and mode 'once' only records missing cassettes.")
        found = closest_diff(
            self.matcher.describe(key), (self.matcher.describe(k) for k in self._index)
        )
        if found is not None:
            lines.append("The closest recorded request (- recorded, + this request):")
            lines.append(found[1])
        elif self.existed:
            lines.append("The cassette holds no interactions.")
        lines.append(_how_to_record(self.existed))
        return "\n".join(lines)

    # -- saving --------------------------------------------------------------------------

    def save(self) -> int | None:
        """Write the cassette if anything was recorded; returns the bytes written.

        Raises :class:`~exllm_py.testing.redact.RecordingRefused` (and writes
        nothing) when the value of a configured API key, or of a credential a
        recorded request carried, would reach the file.
        """
        interactions = self.interactions
        with self._lock:
            if not self.recorded:
                return None
            sources = sorted({item.source for item in interactions if item.source})
            sent = dict(self._sent_secrets)
        metadata = {"test": self.test_id} if self.test_id else {}
        metadata["source"] = "; ".join(sources)
        secrets = add_secrets({**self._secrets, **key_values(os.environ)}, sent.items())
        started = time.perf_counter_ns()
        try:
            size = write_cassette(self.path, CassetteFile(interactions, metadata), secrets=secrets)
        except (RecordingRefused, OSError) as exc:
            _report_error(self.path, self.test_id, exc)
            raise
        if telemetry.wanted(telemetry.TEST_CACHE_SAVE):
            telemetry.emit(
                telemetry.TEST_CACHE_SAVE,
                {"size_bytes": size, "duration_ns": time.perf_counter_ns() - started},
                {"cassette": str(self.path), "test_id": self.test_id},
            )
        return size

    def __repr__(self) -> str:
        return (
            f"<Cassette {self.path} mode={self.mode.value} "
            f"loaded={len(self._loaded)} played={len(self.played)} recorded={len(self.recorded)}>"
        )


def _how_to_record(existed: bool) -> str:
    if not existed:
        return (
            "To record it: set the provider's API key and run this test with "
            "--record-mode=once (records cassettes that do not exist yet)."
        )
    return (
        "To record it: set the provider's API key and run this test with "
        "--record-mode=new_episodes (adds what is missing) or --record-mode=rewrite "
        "(records the test afresh)."
    )


@contextlib.contextmanager
def _without_gc_pauses() -> Iterator[None]:
    # Loading a large cassette creates tens of thousands of containers at
    # once, none of them garbage: collections triggered midway would only
    # scan them again and again. Collection resumes, as it was, right after.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _report_error(path: Path, test_id: str, exc: BaseException) -> None:
    telemetry.emit(
        telemetry.TEST_CACHE_ERROR,
        {},
        {"cassette": str(path), "test_id": test_id, "error": f"{type(exc).__name__}: {exc}"},
    )
