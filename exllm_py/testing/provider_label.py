"""Which provider a request is for, as recorded with each interaction and listed by the CLI.

The first rule that answers wins:

1. **Declared**: exllm_py's own pipeline names the provider it calls in a
   request extension (:data:`~exllm_py.extensions.PROVIDER`), whatever URL
   it sends to.
2. **Host**: a provider's default host (``api.openai.com`` is ``openai``,
   ``api.anthropic.com`` is ``anthropic``, ``generativelanguage.googleapis.com``
   is ``gemini``, ``api.groq.com`` is ``groq``, ``localhost:11434`` is
   ``ollama``, ...). A provider's default URL without a port matches any port.
3. **SDK**: the official SDKs say who they are in ``user-agent``
   (``OpenAI/Python 3.57.0``, ``AsyncAnthropic/Python 2.14.0``, ``Groq/Python
   ...``: a provider's name), so a call through ``OpenAI(base_url=...)`` to a
   proxy or a loopback server is still ``openai``.
4. **Wire format**: an ``anthropic-version`` header or a ``/v1/messages``
   path is ``anthropic``; ``/models/{model}:generateContent`` (and the other
   ``:method`` paths) is ``gemini``; ``/chat/completions``, ``/completions``,
   ``/embeddings`` or ``/responses`` is ``openai`` when the request carries
   the ``x-stainless-*`` headers of the SDKs (a framework such as pydantic-ai
   replaces the SDK's user-agent with its own, but not those), else
   ``openai-compatible``.

Anything else is ``""`` (unknown); the CLI then shows the host.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

__all__ = ["OPENAI_COMPATIBLE", "known_hosts", "provider_label"]

#: The label of an OpenAI-format request to a host no provider uses by default.
OPENAI_COMPATIBLE = "openai-compatible"

# "OpenAI/Python 3.57.0", "AsyncAnthropic/Python 2.14.0": the SDK's name, then the language.
_SDK_AGENT = re.compile(r"(?:Async)?([A-Za-z]+)/Python\b")
_GEMINI_PATH = re.compile(r"/models/[^/]+:\w+$")
_OPENAI_PATHS = ("/chat/completions", "/completions", "/embeddings", "/responses")


@functools.cache
def known_hosts() -> Mapping[str, str]:
    """``host[:port]`` of each provider's default base URL → the provider's name."""
    # Imported here: the registry loads every provider adapter, which only
    # a recording or a command that reads cassettes needs.
    from exllm_py.providers.registry import PROVIDERS

    hosts: dict[str, str] = {}
    for name, spec in PROVIDERS.items():
        netloc, _ = _netloc_and_path(spec.base_url)
        if netloc:
            hosts.setdefault(netloc, name)
    return hosts


def provider_label(url: str, headers: Iterable[tuple[str, str]], declared: object = None) -> str:
    """The provider of a request to ``url`` with ``headers`` (lowercase names); ``""`` if unknown.

    ``declared`` is what the request's :data:`~exllm_py.extensions.PROVIDER`
    extension holds (anything but a non-empty str is ignored).
    """
    if isinstance(declared, str) and declared:
        return declared
    netloc, path = _netloc_and_path(url)
    by_host = _by_host(netloc)
    if by_host:
        return by_host
    sent = dict(headers)
    agent = _SDK_AGENT.match(sent.get("user-agent", ""))
    if agent is not None and (name := agent.group(1).lower()) in known_hosts().values():
        return name
    return _by_wire_format(path, sent)


def _by_host(netloc: str) -> str:
    if not netloc:
        return ""
    hosts = known_hosts()
    if netloc in hosts:
        return hosts[netloc]
    host = netloc if netloc.endswith("]") else netloc.rsplit(":", 1)[0]
    return hosts.get(host, "")


def _by_wire_format(path: str, headers: Mapping[str, str]) -> str:
    if "anthropic-version" in headers or path.endswith("/v1/messages"):
        return "anthropic"
    if _GEMINI_PATH.search(path):
        return "gemini"
    if path.endswith(_OPENAI_PATHS):
        sdk = any(name.startswith("x-stainless-") for name in headers)
        return "openai" if sdk else OPENAI_COMPATIBLE
    return ""


def _netloc_and_path(url: str) -> tuple[str, str]:
    """Lowercase ``host[:port]`` (IPv6 bracketed) and the path; ``("", "")`` if not a URL."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "", ""
    if ":" in hostname:
        hostname = f"[{hostname}]"
    netloc = f"{hostname}:{port}" if port is not None else hostname
    return netloc, parts.path.rstrip("/")
