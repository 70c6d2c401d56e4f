"""Harvesting cassettes: each recorded answer a live call would cache, under that call's key.

Every interaction of every cassette under a directory (read with the test
cache's own reader) goes through these steps; the first that fails skips
it, counted under its :class:`SkipReason`:

1. **Kept**: a 2xx answer (``error response``), not streamed: no SSE
   answer, no ``"stream": true``, no ``:streamGenerateContent`` (``streamed``),
   with JSON request and answer bodies (``body not JSON``).
2. **Provider**: the one recorded with the interaction (exllm_py's own
   pipeline names the provider it calls, whatever the URL), else the one
   :func:`~exllm_py.testing.provider_label.provider_label` reads from the
   request (a provider's default host, an SDK's headers, the path of the
   Anthropic and Gemini formats). It must be a registered provider: an
   OpenAI-format request to a host no provider uses, recorded before
   interactions named their provider, could be any OpenAI-compatible
   preset (``provider not identifiable``).
3. **Reading**: :mod:`exllm_py.providers.reading` reads the request back
   into the ``chat()`` calls that send it, ``base_url`` being the recorded
   URL without the format's endpoint path; a URL that is not the provider's
   chat endpoint is ``not a provider chat endpoint``, a body with fields or
   shapes the adapter never produces ``request this client would not send``.
4. **Verification**: each call read is rehearsed
   (:func:`~exllm_py.pipeline.rehearsal.rehearse`): validated as ``chat()``
   validates it, its request built by the adapter, its key derived by the
   cache step itself, with the harvest's namespace. A call counts only when
   the request it builds is the recorded one: method, URL, body as JSON (key
   order aside) and every header it sends that was recorded, credentials
   aside. Otherwise: ``key rules cannot reproduce the request``. So every
   key harvested is one a live call derives, for exactly the recorded
   request.
5. **Answer**: read and priced by the plugs after the exchange, as a live
   answer is (``answer the client cannot read`` when the adapter cannot);
   an empty answer is not cached (``empty answer``), as in production.

The answer becomes a :class:`~exllm_py.cache.entry.CacheEntry` under each
verified key, as the production strategy makes one: labelled with the
provider, the model the call asks for, the namespace and the tags given.
The same request recorded more than once (several tests make it) is
harvested from its newest recording; the others count as ``same request
recorded again later``. Nothing here writes anywhere.
"""

from __future__ import annotations

import collections
import enum
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx
import orjson

from exllm_py.cache.arguments import check_text, check_ttl
from exllm_py.cache.entry import CacheEntry, entry_labels, make_entry, worth_storing
from exllm_py.errors import ExLLMError, RecordingCorrupt, ValidationError
from exllm_py.pipeline.rehearsal import Rehearsal, rehearse
from exllm_py.providers.config import ProviderSpec
from exllm_py.providers.reading import ForeignEndpoint, ForeignRequest, read_request
from exllm_py.providers.registry import PROVIDERS
from exllm_py.testing.cassette_file import Interaction, RecordedRequest, read_cassette
from exllm_py.testing.files import parse_timestamp
from exllm_py.testing.paths import iter_cassettes
from exllm_py.testing.provider_label import provider_label
from exllm_py.testing.redact import is_secret_header
from exllm_py.types import LLMResponse

__all__ = [
    "Harvest",
    "HarvestProgress",
    "HarvestedEntry",
    "Skip",
    "SkipReason",
    "harvest_cassettes",
]

# The end of a chat endpoint's path in each wire format, to tell an unknown
# provider's chat call from a request to no provider at all.
_CHAT_PATHS = ("/chat/completions", "/v1/messages", ":generateContent")


class SkipReason(enum.StrEnum):
    """Why an interaction yields no entry (the module docstring says when each applies)."""

    ERROR_RESPONSE = "error response"
    STREAMED = "streamed"
    NOT_JSON = "body not JSON"
    PROVIDER_UNKNOWN = "provider not identifiable"
    NOT_CHAT_ENDPOINT = "not a provider chat endpoint"
    FOREIGN_REQUEST = "request this client would not send"
    UNREPRODUCIBLE = "key rules cannot reproduce the request"
    UNREADABLE_ANSWER = "answer the client cannot read"
    EMPTY_ANSWER = "empty answer"
    RECORDED_AGAIN = "same request recorded again later"


@attrs.frozen
class HarvestProgress:
    """Where a harvest is: ``done`` of ``total`` cassette files read, the last one ``cassette``."""

    done: int
    total: int
    cassette: Path


@attrs.frozen
class HarvestedEntry:
    """An entry to store under ``key``, from interaction ``index`` of the ``cassette`` file."""

    key: str
    entry: CacheEntry
    cassette: Path
    index: int


@attrs.frozen
class Skip:
    """An interaction that yields nothing: where it is, why (``reason``), and ``detail``."""

    cassette: Path
    index: int
    reason: SkipReason
    detail: str


@attrs.frozen
class Harvest:
    """What the cassettes under a directory yield: entries, skipped interactions, unreadable files.

    An interaction that more than one call spells alike (a ``system``
    option or a leading system message) yields an entry per call's key,
    so ``entries`` may outnumber the interactions harvested.
    """

    entries: tuple[HarvestedEntry, ...]
    skips: tuple[Skip, ...]
    #: Cassette files read (the unreadable ones included).
    cassettes: int
    #: Interactions read, in the cassettes that could be read.
    interactions: int
    #: Cassette files that could not be read → why.
    unreadable: Mapping[Path, str] = attrs.field(factory=dict)

    @property
    def skipped(self) -> Mapping[str, int]:
        """How many interactions were skipped, per reason (only reasons that occurred)."""
        counts = collections.Counter(skip.reason.value for skip in self.skips)
        return dict(sorted(counts.items()))

    @property
    def harvested(self) -> int:
        """How many interactions yielded entries."""
        return len({(entry.cassette, entry.index) for entry in self.entries})


def harvest_cassettes(
    directory: Path,
    *,
    namespace: str | None = None,
    tags: Iterable[str] = (),
    ttl: float | None = None,
    now: float | None = None,
    progress: Callable[[HarvestProgress], object] | None = None,
) -> Harvest:
    """The entries the cassettes under ``directory`` yield, for ``namespace``.

    Entries are stored at ``now`` (epoch seconds; the current time by
    default) for ``ttl`` seconds (``None``: never expire), labelled with
    ``tags`` (for ``invalidate(tag=...)``). A directory that does not exist
    holds no cassettes. ``progress`` is called after each cassette file.
    """
    harvester = _Harvester(_cache_options(namespace, tags, ttl))
    paths = list(iter_cassettes(directory))
    for done, path in enumerate(paths, 1):
        harvester.read(path)
        if progress is not None:
            progress(HarvestProgress(done, len(paths), path))
    return harvester.harvest(time.time() if now is None else now, ttl, len(paths))


class _Harvester:
    """Reads cassettes one by one, keeping the newest recording of each request."""

    def __init__(self, controls: Mapping[str, Any]) -> None:
        self._controls = controls
        self._newest: dict[str, _Found] = {}  # by the first key of the request
        self._skips: list[Skip] = []
        self._unreadable: dict[Path, str] = {}
        self._interactions = 0

    def read(self, path: Path) -> None:
        try:
            cassette = read_cassette(path)
        except (RecordingCorrupt, OSError) as exc:
            self._unreadable[path] = str(exc)
            return
        self._interactions += len(cassette.interactions)
        for index, interaction in enumerate(cassette.interactions):
            found = _harvest_one(path, index, interaction, self._controls)
            if isinstance(found, Skip):
                self._skips.append(found)
            else:
                self._keep_newest(found)

    def _keep_newest(self, found: _Found) -> None:
        """Keep the newest recording of a request (the first read, of equally new ones)."""
        kept = self._newest.get(found.key)
        if kept is None:
            self._newest[found.key] = found
            return
        if _moment(found.recorded_at) > _moment(kept.recorded_at):
            self._newest[found.key] = found
            kept, found = found, kept
        where = f"recorded again in {kept.cassette}, interaction {kept.index}"
        self._skips.append(Skip(found.cassette, found.index, SkipReason.RECORDED_AGAIN, where))

    def harvest(self, now: float, ttl: float | None, cassettes: int) -> Harvest:
        entries = tuple(entry for kept in self._newest.values() for entry in kept.entries(now, ttl))
        skips = tuple(self._skips)
        return Harvest(entries, skips, cassettes, self._interactions, dict(self._unreadable))


def _cache_options(namespace: str | None, tags: Iterable[str], ttl: float | None) -> dict[str, Any]:
    """The cache controls every rehearsed call gets; refused here, not per interaction."""
    if namespace is not None:
        check_text("namespace", namespace)
    if isinstance(tags, str):
        raise ValidationError(f"tags must be a list of strings, got the string {tags!r}")
    tag_list = list(tags)
    for tag in tag_list:
        check_text("each tag", tag)
    check_ttl("ttl", ttl)
    return {"cache_namespace": namespace, "cache_tags": tag_list, "cache_ttl": ttl}


@attrs.frozen
class _Found:
    """An interaction that yields entries: its verified calls and their answer."""

    cassette: Path
    index: int
    recorded_at: str
    rehearsals: tuple[Rehearsal, ...]
    response: LLMResponse

    @property
    def key(self) -> str:
        # Equal keys mean equal requests (a key fixes the request built), so
        # the first key names the request.
        return self.rehearsals[0].lookup.key

    def entries(self, now: float, ttl: float | None) -> list[HarvestedEntry]:
        """An entry per verified call, as the production strategy stores its answer."""
        harvested = []
        for rehearsal in self.rehearsals:
            lookup = rehearsal.lookup
            control = lookup.control
            labels = entry_labels(lookup.provider, lookup.model, control.namespace, control.tags)
            entry = make_entry(self.response, lookup.key, now, ttl, labels)
            harvested.append(HarvestedEntry(lookup.key, entry, self.cassette, self.index))
        return harvested


def _moment(recorded_at: str) -> float:
    try:
        return parse_timestamp(recorded_at).timestamp()
    except ValueError:
        return float("-inf")  # an unreadable time loses to any readable one


class _Skipped(Exception):
    """Raised while harvesting one interaction; becomes its :class:`Skip`."""

    def __init__(self, reason: SkipReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _harvest_one(
    path: Path, index: int, interaction: Interaction, controls: Mapping[str, Any]
) -> _Found | Skip:
    try:
        _check_kept(interaction)
        spec = _provider(interaction)
        rehearsals = _verified_calls(spec, interaction.request, controls)
        response = _answer(rehearsals[0], interaction)
    except _Skipped as skipped:
        return Skip(path, index, skipped.reason, skipped.detail)
    return _Found(path, index, interaction.recorded_at, rehearsals, response)


def _check_kept(interaction: Interaction) -> None:
    request, response = interaction.request, interaction.response
    if not 200 <= response.status < 300:
        raise _Skipped(SkipReason.ERROR_RESPONSE, f"answered {response.status}")
    content_type = response.header("content-type") or ""
    body = request.body.value if request.body.kind == "json" else None
    if (
        response.body.kind == "sse"
        or content_type.startswith("text/event-stream")
        or (isinstance(body, Mapping) and body.get("stream") is True)
        or ":streamGenerateContent" in request.url
    ):
        raise _Skipped(SkipReason.STREAMED, "a streamed answer")
    for name, kind in (("request", request.body.kind), ("answer", response.body.kind)):
        if kind != "json":
            raise _Skipped(SkipReason.NOT_JSON, f"the {name} body is {kind}")


def _provider(interaction: Interaction) -> ProviderSpec:
    request = interaction.request
    label = interaction.provider or provider_label(request.url, request.headers)
    spec = PROVIDERS.get(label)
    if spec is not None:
        return spec
    path = urlsplit(request.url).path
    if path.endswith(_CHAT_PATHS):
        raise _Skipped(
            SkipReason.PROVIDER_UNKNOWN,
            f"{request.url} is labelled {label or 'nothing'!r}, not a provider name",
        )
    raise _Skipped(SkipReason.NOT_CHAT_ENDPOINT, f"{request.method} {request.url}")


def _verified_calls(
    spec: ProviderSpec, request: RecordedRequest, controls: Mapping[str, Any]
) -> tuple[Rehearsal, ...]:
    """The rehearsed calls that build exactly ``request``; at least one, else a skip."""
    try:
        if request.method != "POST":
            raise ForeignEndpoint(f"{request.method} is not how a chat call is sent")
        readings = read_request(spec.adapter, request.url, request.body.value)
    except ForeignEndpoint as exc:
        raise _Skipped(SkipReason.NOT_CHAT_ENDPOINT, str(exc)) from exc
    except ForeignRequest as exc:
        raise _Skipped(SkipReason.FOREIGN_REQUEST, str(exc)) from exc
    verified: list[Rehearsal] = []
    refused: ExLLMError | None = None
    differs: str | None = None
    for reading in readings:
        try:
            rehearsal = rehearse(spec.name, reading.messages, {**reading.options, **controls})
        except ExLLMError as exc:  # the call would be refused before sending anything
            refused = exc
            continue
        difference = _difference(rehearsal.request, request)
        if difference is None:
            verified.append(rehearsal)
        else:
            differs = difference
    if verified:
        return tuple(verified)
    if differs is not None:
        raise _Skipped(SkipReason.UNREPRODUCIBLE, differs)
    raise _Skipped(SkipReason.FOREIGN_REQUEST, f"the call read back is refused: {refused}")


def _difference(built: httpx.Request, recorded: RecordedRequest) -> str | None:
    """How the request a call builds differs from the recorded one; ``None`` if it does not."""
    if built.method != recorded.method or str(built.url) != recorded.url:
        return f"the call sends {built.method} {built.url}, not {recorded.method} {recorded.url}"
    if _canonical(orjson.loads(built.content)) != _canonical(recorded.body.value):
        return "the call sends another body"
    sent = dict(recorded.headers)
    for name, value in built.headers.multi_items():
        name = name.lower()
        if name in sent and not is_secret_header(name) and sent[name] != value:
            return f"the call sends {name}: {value}, not {sent[name]}"
    return None


def _canonical(document: Any) -> bytes:
    # Bytes, not ==: JSON's true is not 1, nor 1.0 the integer 1.
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def _answer(rehearsal: Rehearsal, interaction: Interaction) -> LLMResponse:
    recorded = interaction.response
    response = httpx.Response(
        recorded.status, headers=list(recorded.headers), content=recorded.body.to_bytes()
    )
    try:
        answer = rehearsal.answer(response)
    except ExLLMError as exc:
        raise _Skipped(SkipReason.UNREADABLE_ANSWER, str(exc)) from exc
    if not worth_storing(answer):
        raise _Skipped(SkipReason.EMPTY_ANSWER, "no content and no tool calls")
    return answer
