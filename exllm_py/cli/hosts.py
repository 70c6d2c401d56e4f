"""Which provider a recorded URL belongs to, from the providers' default base URLs.

``api.openai.com`` is ``openai``, ``generativelanguage.googleapis.com`` is
``gemini``, ``localhost:11434`` is ``ollama``, and so on. A host no provider
uses by default (a proxy, a loopback test server) is shown as itself,
without its port, so one test server's random ports stay one "provider".
"""

from __future__ import annotations

from urllib.parse import urlsplit

from exllm_py.testing.provider_label import known_hosts

__all__ = ["known_hosts", "provider_for_url"]


def provider_for_url(url: str) -> str:
    """The provider ``url`` was recorded from, or its host when no provider uses that host."""
    netloc = _netloc(url)
    if not netloc:
        return "unknown"
    hosts = known_hosts()
    if netloc in hosts:
        return hosts[netloc]
    host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
    # A provider whose default URL has no port is recognised on any port of its host.
    return hosts.get(host, host)


def _netloc(url: str) -> str:
    try:
        parts = urlsplit(url)
        hostname = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    if ":" in hostname:
        hostname = f"[{hostname}]"  # IPv6
    return f"{hostname}:{port}" if port is not None else hostname
