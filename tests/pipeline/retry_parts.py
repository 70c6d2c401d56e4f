"""What the retry tests share: sleepers that note the delays, a telemetry tap, and breakers.

:class:`NotedSleeps` stands in for ``time.sleep`` and ``asyncio.sleep`` in a
:class:`~exllm_py.pipeline.retry.RetryPolicy`, so no test waits real
seconds; :class:`RetryTap` collects the retry events; :class:`BreakingTransport`
(and :class:`AsyncBreakingTransport`, its async twin) wraps a real network
transport and breaks a response's body off after its first chunk, as a
dropped connection would, with no timing involved.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from exllm_py import telemetry
from exllm_py.pipeline.retry import RetryPolicy

__all__ = [
    "JITTER",
    "AsyncBreakingTransport",
    "BreakingTransport",
    "NotedSleeps",
    "RetryTap",
    "backoff",
]

#: The jitter source the tests fix: each backoff is shortened by 0.25 * JITTER of itself.
JITTER = 0.5


def backoff(retry: int) -> float:
    """The backoff before retry number ``retry`` (1 first) under the default policy and JITTER."""
    return min(0.5 * 2.0 ** (retry - 1), 8.0) * (1 - 0.25 * JITTER)


class NotedSleeps:
    """Sync and async sleepers that note each delay instead of waiting it."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def policy(self, **settings: Any) -> RetryPolicy:
        """A policy that sleeps through this object, with the fixed jitter."""
        return RetryPolicy(jitter=lambda: JITTER, sleep=self.sleep, asleep=self.asleep, **settings)


class RetryTap:
    """Collects every ``("exllm", "request", "retry")`` event while attached."""

    def __init__(self) -> None:
        self.events: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def __call__(self, event: Any, measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
        self.events.append((measurements, metadata))

    def __enter__(self) -> RetryTap:
        telemetry.attach("retry-tap", [telemetry.REQUEST_RETRY], self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        telemetry.detach("retry-tap")

    @property
    def attempts(self) -> list[int]:
        return [measurements["attempt"] for measurements, _ in self.events]

    @property
    def reasons(self) -> list[tuple[str, int | None]]:
        return [(metadata["reason"], metadata["status"]) for _, metadata in self.events]


class BreakingTransport(httpx.BaseTransport):
    """Real HTTP through ``inner``; every response body breaks off after its first chunk."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_FirstChunkOnly(response),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


class _FirstChunkOnly(httpx.SyncByteStream):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.response.stream:  # type: ignore[union-attr]  # a sync stream
            yield chunk
            raise httpx.ReadError("the connection dropped mid-body")

    def close(self) -> None:
        self.response.close()


class AsyncBreakingTransport(httpx.AsyncBaseTransport):
    """Async twin of :class:`BreakingTransport`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_AsyncFirstChunkOnly(response),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


class _AsyncFirstChunkOnly(httpx.AsyncByteStream):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.response.stream:  # type: ignore[union-attr]  # an async stream
            yield chunk
            raise httpx.ReadError("the connection dropped mid-body")

    async def aclose(self) -> None:
        await self.response.aclose()
