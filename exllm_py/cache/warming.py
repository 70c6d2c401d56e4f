"""Cache warming: run a list of calls through a strategy, so that the same calls later are hits.

:meth:`ProductionStrategy.warm <exllm_py.cache.production.ProductionStrategy.warm>`
and ``awarm`` delegate here. Each call is a ``(provider, messages, options)``
tuple (a 3-item list too, as JSON lines give it), run as
``client.chat(provider, messages, **options)`` through a client whose cache
strategy is the one being warmed.

The logic is written once; the two shells only run calls:

- **Checked first.** Every call is checked before any is sent: its shape,
  then what the pipeline checks before any I/O (provider, option names
  and values, messages). A bad call raises
  :class:`~exllm_py.errors.ValidationError` naming its index (and the
  indexes of the other bad ones), and nothing is sent. ``cache=False`` is
  refused (it would store nothing); ``cache="refresh"`` re-warms.
- **Run**, at most ``concurrency`` at a time: ``warm`` on a thread pool,
  ``awarm`` on as many tasks, each taking the next call when it is done.
- **Judged** by what came back. ``skipped``: the answer came from the
  cache, no provider call paid (stored earlier, or an identical call of
  the same run was in flight: single-flight). ``warmed``: the provider
  answered and the answer went to the store. ``empty``: the provider
  answered with nothing (no text, no tool calls), which the cache never
  stores. ``failed``: the call raised (a provider error, a timeout, a
  missing key…); it is reported in :attr:`WarmReport.failures` and the
  others go on. Only what is not an ``Exception`` stops a run (Ctrl-C,
  cancellation): ``warm`` then starts no further call, and the calls
  already under way finish in the background.

``warmed`` counts what was handed to the store: a store that declines an
entry (larger than its ``max_bytes``) or fails to write reports that
through its own telemetry, which warming does not see.

``progress`` is called after each call, with a :class:`WarmProgress`:
always in the thread that called ``warm`` (or on the loop that awaits
``awarm``), one call at a time, ``done`` counting 1 to ``total``. A
progress callback that raises is not called again; warming goes on, the
error is reported once as ``("exllm", "cache", "error")`` with
``reason="warm_progress_failed"``, and kept in
:attr:`WarmReport.progress_error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs

from exllm_py.cache.arguments import check_callable, check_count, check_instance
from exllm_py.cache.entry import worth_storing
from exllm_py.cache.invalidation import holds_key
from exllm_py.cache.keys import cache_key
from exllm_py.cache.stores.breaker import report_cache_error
from exllm_py.errors import MIN_REDACTED_LENGTH, ExLLMError, ProviderError, ValidationError
from exllm_py.secret_patterns import REDACTED, redact_secrets
from exllm_py.types import LLMResponse

if TYPE_CHECKING:
    from exllm_py.cache.production import ProductionStrategy
    from exllm_py.client import Client

__all__ = [
    "ProgressCallback",
    "WarmCall",
    "WarmFailure",
    "WarmOutcome",
    "WarmProgress",
    "WarmReport",
    "awarm",
    "warm",
]

#: One call to warm: ``(provider, messages, options)``, as ``chat(provider, messages, **options)``.
WarmCall: TypeAlias = tuple[str, Any, Mapping[str, Any]]

#: What became of one call (see the module docstring).
WarmOutcome: TypeAlias = Literal["warmed", "skipped", "empty", "failed"]

#: A progress callback: called with a WarmProgress after each call.
ProgressCallback: TypeAlias = Callable[["WarmProgress"], object]

# How many other bad calls a validation error names before it only counts them.
_NAMED_BAD_CALLS = 5


@attrs.frozen
class WarmFailure:
    """A call that raised: its index in ``calls``, what it asked, and the error (no credentials).

    ``model`` is the model the call named, else its provider's default;
    ``status`` the HTTP status of a :class:`~exllm_py.errors.ProviderError`
    (``None`` for other errors, and when no answer came).
    """

    index: int
    provider: str
    model: str
    error_type: str
    message: str
    status: int | None = None

    def __str__(self) -> str:
        return (
            f"calls[{self.index}] {self.provider}/{self.model}: {self.error_type}: {self.message}"
        )


@attrs.frozen
class WarmProgress:
    """Where a run is: ``done`` of ``total`` calls finished; the last one's index and outcome.

    ``failure`` is set when that outcome is ``"failed"``.
    """

    done: int
    total: int
    index: int
    outcome: WarmOutcome
    failure: WarmFailure | None = None


@attrs.frozen
class WarmReport:
    """What a run did: ``total == warmed + skipped + empty + failed``.

    ``warmed``: answered by the provider and stored; ``skipped``: already
    cached, nothing paid; ``empty``: answered with nothing, so not stored;
    ``failed``: raised (each in ``failures``, by index). ``elapsed`` is in
    seconds. ``progress_error`` is the error of a progress callback that
    raised (it was not called again), else ``None``.
    """

    total: int
    warmed: int
    skipped: int
    empty: int
    failures: tuple[WarmFailure, ...]
    elapsed: float
    progress_error: str | None = None
    #: A dry run: nothing was sent; ``skipped`` are the calls already cached.
    dry_run: bool = False

    @property
    def failed(self) -> int:
        """How many calls raised."""
        return len(self.failures)

    def __str__(self) -> str:
        if self.dry_run:
            return (
                f"would send {self.total - self.skipped} of {self.total} calls "
                f"({self.skipped} already cached)"
            )
        return (
            f"warmed {self.warmed} of {self.total} calls ({self.skipped} already cached, "
            f"{self.empty} empty, {self.failed} failed) in {self.elapsed:.2f} s"
        )


# -- the one logic: checking, judging, tallying ----------------------------------------


@attrs.frozen
class _Planned:
    """A checked call: where it stands in ``calls``, and what it asks."""

    index: int
    provider: str
    messages: Any
    options: Mapping[str, Any]
    model: str


def _planned(strategy: ProductionStrategy, calls: Iterable[WarmCall]) -> tuple[_Planned, ...]:
    """Every call checked, before any is sent; the bad ones raise, named by index."""
    if isinstance(calls, (str, bytes, Mapping)) or not isinstance(calls, Iterable):
        raise ValidationError(
            "warm calls must be a list of (provider, messages, options) tuples, "
            f"got {type(calls).__name__}"
        )
    planned: list[_Planned] = []
    bad: list[tuple[int, ExLLMError]] = []
    for index, call in enumerate(calls):
        try:
            planned.append(_checked(strategy, index, call))
        except ExLLMError as exc:
            bad.append((index, exc))
    if bad:
        raise _bad_calls(bad, len(planned) + len(bad)) from bad[0][1]
    return tuple(planned)


def _checked(strategy: ProductionStrategy, index: int, call: object) -> _Planned:
    if not isinstance(call, (tuple, list)) or len(call) != 3:
        shape = f"{len(call)} items" if isinstance(call, (tuple, list)) else type(call).__name__
        raise ValidationError(
            f"calls[{index}] must be a (provider, messages, options) tuple, got {shape}"
        )
    provider, messages, options = call
    if not isinstance(provider, str):
        raise ValidationError(
            f"calls[{index}]: the provider must be a name such as 'openai', "
            f"got {type(provider).__name__}"
        )
    if not isinstance(options, Mapping):
        raise ValidationError(
            f"calls[{index}]: the options must be a dict of chat() options such as "
            f"{{'model': 'gpt-4o-mini'}}, got {type(options).__name__}"
        )
    if options.get("cache") is False:
        raise ValidationError(
            f"calls[{index}] has cache=False, which would store nothing: drop it "
            "(or use cache='refresh' to replace what is stored)"
        )
    try:
        model = _pipeline_checked(strategy, provider, messages, options)
    except ExLLMError as exc:
        raise ValidationError(f"calls[{index}]: {exc}") from exc
    return _Planned(index, provider, messages, options, model)


def _pipeline_checked(
    strategy: ProductionStrategy, provider: str, messages: Any, options: Mapping[str, Any]
) -> str:
    """What the pipeline checks before any I/O, on a throwaway call; returns the model.

    The pipeline imports the cache package, so the cache package imports the
    pipeline only here, when warming runs, never at module load (a cycle).
    """
    from exllm_py.pipeline.call import Call
    from exllm_py.pipeline.validate import (
        ValidateOptions,
        ValidateProvider,
        check_messages,
        check_option_values,
    )

    # No environment: these checks read none (keys are looked up when a request is built).
    call = Call(provider, messages, dict(options), strategy, {})
    ValidateProvider()(call)
    ValidateOptions()(call)
    check_messages(call)
    check_option_values(call)
    return call.model


def _bad_calls(bad: list[tuple[int, ExLLMError]], total: int) -> ValidationError:
    first = str(bad[0][1])
    others = [f"calls[{index}]" for index, _ in bad[1:]]
    if not others:
        return ValidationError(f"{first}; nothing was sent")
    named = ", ".join(others[:_NAMED_BAD_CALLS])
    more = len(others) - _NAMED_BAD_CALLS
    tail = f" and {more} more" if more > 0 else ""
    return ValidationError(
        f"{first}; also bad: {named}{tail} ({len(bad)} of {total} calls); nothing was sent"
    )


def _judged(
    call: _Planned, result: LLMResponse | Exception
) -> tuple[WarmOutcome, WarmFailure | None]:
    """What became of one call, and its failure if it raised."""
    if isinstance(result, Exception):
        return "failed", _failure(call, result)
    if result.metadata.get("from_cache"):
        return "skipped", None
    if not worth_storing(result):
        return "empty", None  # the strategy stores no empty answer
    return "warmed", None


def _failure(call: _Planned, error: Exception) -> WarmFailure:
    return WarmFailure(
        index=call.index,
        provider=call.provider,
        model=call.model,
        error_type=type(error).__name__,
        message=_without_credentials(str(error), call.options.get("api_key")),
        status=error.status if isinstance(error, ProviderError) else None,
    )


def _without_credentials(message: str, api_key: object) -> str:
    # The pipeline hides a call's credentials from its own errors; an error from
    # elsewhere may quote them, as sent or in a known shape.
    if isinstance(api_key, str) and len(api_key) >= MIN_REDACTED_LENGTH:
        message = message.replace(api_key, REDACTED)
    return redact_secrets(message)


class _Tally:
    """Counts outcomes and tells ``progress``; used by one thread at a time, the caller's."""

    def __init__(self, total: int, progress: ProgressCallback | None, store_name: str) -> None:
        self._total = total
        self._progress = progress
        self._store_name = store_name
        self._started = time.perf_counter()
        self._counts: dict[WarmOutcome, int] = dict.fromkeys(
            ("warmed", "skipped", "empty", "failed"), 0
        )
        self._failures: list[WarmFailure] = []
        self._done = 0
        self._progress_error: str | None = None

    def record(self, call: _Planned, result: LLMResponse | Exception) -> None:
        outcome, failure = _judged(call, result)
        self._counts[outcome] += 1
        if failure is not None:
            self._failures.append(failure)
        self._done += 1
        self._tell(WarmProgress(self._done, self._total, call.index, outcome, failure))

    def _tell(self, progress: WarmProgress) -> None:
        callback = self._progress
        if callback is None:
            return
        try:
            callback(progress)
        except Exception as exc:  # a broken progress display must not stop the warming
            self._progress = None
            self._progress_error = redact_secrets(f"{type(exc).__name__}: {exc}")
            report_cache_error(self._store_name, "warm_progress_failed", exc)

    def report(self) -> WarmReport:
        return WarmReport(
            total=self._total,
            warmed=self._counts["warmed"],
            skipped=self._counts["skipped"],
            empty=self._counts["empty"],
            failures=tuple(sorted(self._failures, key=lambda failure: failure.index)),
            elapsed=time.perf_counter() - self._started,
            progress_error=self._progress_error,
        )


def _prepared(
    strategy: ProductionStrategy,
    calls: Iterable[WarmCall],
    concurrency: int,
    client: Client | None,
    progress: ProgressCallback | None,
) -> tuple[tuple[_Planned, ...], _Tally]:
    """Every argument checked, before any I/O; the calls planned and a tally to count them."""
    check_count("warm concurrency", concurrency)
    if progress is not None:
        check_callable("warm progress", progress, "a function taking a WarmProgress")
    if client is not None:
        _check_client(strategy, client)
    plan = _planned(strategy, calls)
    return plan, _Tally(len(plan), progress, type(strategy.store).__name__)


def _check_client(strategy: ProductionStrategy, client: Client) -> None:
    from exllm_py.client import Client  # lazily: the client imports the cache package

    check_instance("warm client", client, Client, "an exllm_py.Client")
    if client.cache_strategy is not strategy:
        raise ValidationError(
            "warm client uses another cache strategy "
            f"({type(client.cache_strategy).__name__}), so the answers would not land in "
            "this one: pass Client(cache_strategy=strategy), or no client"
        )


# -- the shells: they only run calls ----------------------------------------------------


def warm(
    strategy: ProductionStrategy,
    calls: Iterable[WarmCall],
    concurrency: int = 4,
    *,
    client: Client | None = None,
    progress: ProgressCallback | None = None,
    dry_run: bool = False,
) -> WarmReport:
    """Run ``calls`` through ``strategy`` on at most ``concurrency`` threads; see the module.

    ``dry_run``: check the calls and count those already cached (``skipped``;
    a ``cache="refresh"`` call would be sent all the same); send nothing.
    """
    plan, tally = _prepared(strategy, calls, concurrency, client, progress)
    if dry_run:
        return _dry_run_report(strategy, plan)
    if plan:
        with _client_for(strategy, client) as using:

            def attempt(call: _Planned) -> LLMResponse | Exception:
                try:
                    return using.chat(call.provider, call.messages, **call.options)
                except Exception as exc:  # judged and reported; the other calls go on
                    return exc

            _run_threads(plan, concurrency, attempt, tally.record)
    return tally.report()


async def awarm(
    strategy: ProductionStrategy,
    calls: Iterable[WarmCall],
    concurrency: int = 4,
    *,
    client: Client | None = None,
    progress: ProgressCallback | None = None,
) -> WarmReport:
    """Async twin of :func:`warm`: at most ``concurrency`` tasks."""
    plan, tally = _prepared(strategy, calls, concurrency, client, progress)
    if plan:
        async with _aclient_for(strategy, client) as using:

            async def attempt(call: _Planned) -> LLMResponse | Exception:
                try:
                    return await using.achat(call.provider, call.messages, **call.options)
                except Exception as exc:
                    return exc

            await _run_tasks(plan, concurrency, attempt, tally.record)
    return tally.report()


def _dry_run_report(strategy: ProductionStrategy, plan: tuple[_Planned, ...]) -> WarmReport:
    # The key as the public cache_key derives it for a call; presence asked without
    # counting a hit or a miss (a dry run must not move the store's statistics).
    skipped = sum(
        call.options.get("cache") != "refresh"
        and holds_key(strategy.store, cache_key(call.provider, call.messages, call.options))
        for call in plan
    )
    return WarmReport(len(plan), 0, skipped, 0, (), 0.0, dry_run=True)


@contextlib.contextmanager
def _client_for(strategy: ProductionStrategy, client: Client | None) -> Iterator[Client]:
    """The caller's client, left open; else one made for this run, closed after it."""
    if client is not None:
        yield client
        return
    from exllm_py.client import Client  # lazily: the client imports the cache package

    with Client(cache_strategy=strategy) as made:
        yield made


@contextlib.asynccontextmanager
async def _aclient_for(
    strategy: ProductionStrategy, client: Client | None
) -> AsyncIterator[Client]:
    if client is not None:
        yield client
        return
    from exllm_py.client import Client

    async with Client(cache_strategy=strategy) as made:
        yield made


def _run_threads(
    plan: tuple[_Planned, ...],
    concurrency: int,
    attempt: Callable[[_Planned], LLMResponse | Exception],
    record: Callable[[_Planned, LLMResponse | Exception], None],
) -> None:
    """``attempt`` each call on at most ``concurrency`` threads; ``record`` each here, as it ends.

    A call is submitted only when another finishes, so nothing waits in the
    pool's queue: an interrupt leaves no backlog to cancel.
    """
    waiting = iter(plan)
    running: dict[Future[LLMResponse | Exception], _Planned] = {}
    pool = ThreadPoolExecutor(
        max_workers=min(concurrency, len(plan)), thread_name_prefix="exllm-warm"
    )
    try:
        for call in itertools.islice(waiting, concurrency):
            running[pool.submit(attempt, call)] = call
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                record(running.pop(future), future.result())
                following = next(waiting, None)
                if following is not None:
                    running[pool.submit(attempt, following)] = following
    finally:
        # Interrupted (Ctrl-C), the caller gets control back at once: the calls
        # under way finish in the background and no new one starts.
        pool.shutdown(wait=not running, cancel_futures=True)


async def _run_tasks(
    plan: tuple[_Planned, ...],
    concurrency: int,
    attempt: Callable[[_Planned], Awaitable[LLMResponse | Exception]],
    record: Callable[[_Planned, LLMResponse | Exception], None],
) -> None:
    """``attempt`` each call on at most ``concurrency`` tasks, each taking the next when done."""
    waiting = iter(plan)  # shared: on one loop, each next() hands a call to one task only

    async def worker() -> None:
        for call in waiting:
            record(call, await attempt(call))

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(plan))):
            group.create_task(worker())
