"""HTTP clients wired to the active cassette, for SDKs that take one (``OpenAI(http_client=...)``).

Inside a ``live_api`` test every httpx and httpx2 request is recorded
anyway (:mod:`~exllm_py.testing.interception`); these are for users who
prefer to inject the recorder explicitly, and for code that records
outside pytest under :func:`~exllm_py.testing.strategy.use_cassette`::

    from openai import OpenAI
    from exllm_py.testing import http_client

    client = OpenAI(http_client=http_client())

The client reads the cassette in use at each request, so one built at
import time or in a session fixture records each test into its own
cassette; outside a recording test it sends requests untouched.

``flavor`` picks the library: ``"httpx2"`` (openai 3.x, anthropic 2.x) or
``"httpx"`` (openai 1.x, anthropic 0.x); by default httpx2 when installed,
else httpx. Other keyword arguments go to the client's constructor
(``timeout=``, ``base_url=``, ...), except ``transport=``, which names the
transport the recorder wraps (default: the library's network transport).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

import httpx

from exllm_py.errors import ConfigurationError
from exllm_py.testing.strategy import active_cassette, active_passthrough
from exllm_py.testing.transport import AsyncRecordingTransport, RecordingTransport

if TYPE_CHECKING:
    import httpx2

__all__ = ["Flavor", "async_http_client", "default_flavor", "http_client", "httpx2_installed"]

#: The HTTP libraries the recorder has shells for.
Flavor = Literal["httpx", "httpx2"]

_FLAVORS = ("httpx", "httpx2")


def default_flavor() -> Flavor:
    """``"httpx2"`` when it is installed, else ``"httpx"``."""
    return "httpx2" if httpx2_installed() else "httpx"


def httpx2_installed() -> bool:
    """Whether httpx2 can be imported (it is, by this check: only ask when about to use it)."""
    try:
        import httpx2  # noqa: F401 (imported to know whether it can be)
    except ImportError:
        return False
    return True


@overload
def http_client(flavor: Literal["httpx"], **options: Any) -> httpx.Client: ...
@overload
def http_client(flavor: Literal["httpx2"], **options: Any) -> httpx2.Client: ...
@overload
def http_client(flavor: None = None, **options: Any) -> httpx.Client | httpx2.Client: ...
def http_client(flavor: Flavor | None = None, **options: Any) -> httpx.Client | httpx2.Client:
    """A sync client of ``flavor`` whose requests go through the active cassette."""
    if _checked(flavor) == "httpx2":
        import httpx2

        from exllm_py.testing.httpx2_transport import Httpx2RecordingTransport

        inner = options.pop("transport", None) or httpx2.HTTPTransport()
        wrapped = Httpx2RecordingTransport(inner, active_cassette, active_passthrough)
        return httpx2.Client(transport=wrapped, **options)
    inner = options.pop("transport", None) or httpx.HTTPTransport()
    return httpx.Client(
        transport=RecordingTransport(inner, active_cassette, active_passthrough), **options
    )


@overload
def async_http_client(flavor: Literal["httpx"], **options: Any) -> httpx.AsyncClient: ...
@overload
def async_http_client(flavor: Literal["httpx2"], **options: Any) -> httpx2.AsyncClient: ...
@overload
def async_http_client(
    flavor: None = None, **options: Any
) -> httpx.AsyncClient | httpx2.AsyncClient: ...
def async_http_client(
    flavor: Flavor | None = None, **options: Any
) -> httpx.AsyncClient | httpx2.AsyncClient:
    """An async client of ``flavor`` whose requests go through the active cassette."""
    if _checked(flavor) == "httpx2":
        import httpx2

        from exllm_py.testing.httpx2_transport import AsyncHttpx2RecordingTransport

        inner = options.pop("transport", None) or httpx2.AsyncHTTPTransport()
        wrapped = AsyncHttpx2RecordingTransport(inner, active_cassette, active_passthrough)
        return httpx2.AsyncClient(transport=wrapped, **options)
    inner = options.pop("transport", None) or httpx.AsyncHTTPTransport()
    return httpx.AsyncClient(
        transport=AsyncRecordingTransport(inner, active_cassette, active_passthrough), **options
    )


def _checked(flavor: str | None) -> Flavor:
    """``flavor``, or the default; an error naming what to do when it cannot be used."""
    if flavor is None:
        return default_flavor()
    if flavor == "httpx":
        return "httpx"
    if flavor != "httpx2":
        raise ConfigurationError(
            f"flavor={flavor!r} is not an HTTP library the recorder supports; "
            f"use one of {', '.join(map(repr, _FLAVORS))}, or leave it out for the default"
        )
    if not httpx2_installed():
        raise ImportError(
            "flavor='httpx2' needs the httpx2 package: pip install 'exllm_py[httpx2]' "
            "(or pass flavor='httpx' for an SDK built on httpx)"
        )
    return "httpx2"
