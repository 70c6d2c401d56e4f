"""Hosts whose requests pass through a ``live_api`` test unrecorded.

Inside a ``live_api`` test every httpx and httpx2 request is recorded and
replayed, loopback included: the project's own live tests record against a
loopback provider server, and a provider emulator on localhost is as much a
dependency as the real API. Servers the test starts for itself (a web app
under test, a fake the test inspects) are named here instead, and their
requests go to the network as if no recorder were there, in every record
mode:

- the marker: ``@pytest.mark.live_api(passthrough_hosts=["127.0.0.1"])``;
- the ini option ``exllm_passthrough_hosts`` (one per line or space-separated);
- the variable ``EXLLM_PASSTHROUGH_HOSTS`` (comma- or space-separated).

The three add up. An entry is a host (``localhost``, ``127.0.0.1``, ``::1``),
which matches any port, or ``host:port`` (``[::1]:8080`` for IPv6), which
matches that port only. Names match case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import httpx

__all__ = ["PASSTHROUGH_ENV", "parse_hosts", "passes_through"]

PASSTHROUGH_ENV = "EXLLM_PASSTHROUGH_HOSTS"

_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_hosts(*sources: Iterable[str], env: Mapping[str, str] | None = None) -> frozenset[str]:
    """The normalized entries of ``sources`` and of ``EXLLM_PASSTHROUGH_HOSTS`` in ``env``."""
    values = [value for source in sources for value in source]
    if env is not None:
        values.append(env.get(PASSTHROUGH_ENV, ""))
    return frozenset(
        _normalized(entry) for value in values for entry in value.replace(",", " ").split()
    )


def passes_through(hosts: frozenset[str], url: httpx.URL) -> bool:
    """Whether a request to ``url`` passes through, given the entries ``hosts``."""
    host = url.host.lower()
    if host in hosts:
        return True
    port = url.port or _DEFAULT_PORTS.get(url.scheme)
    return f"{_bracketed(host)}:{port}" in hosts


def _normalized(entry: str) -> str:
    entry = entry.strip().lower()
    # "[::1]" alone is the bare host; "[::1]:8080" keeps its brackets, as
    # passes_through() writes an IPv6 host with a port.
    if entry.startswith("[") and entry.endswith("]"):
        return entry[1:-1]
    return entry


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
