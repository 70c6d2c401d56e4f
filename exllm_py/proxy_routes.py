"""Which proxy a provider request goes through, as the environment says.

``HTTP_PROXY``, ``HTTPS_PROXY`` and ``ALL_PROXY`` (or their lower-case
forms) name a proxy for a URL scheme, and ``NO_PROXY`` the hosts that go
direct: the variables httpx and the providers' own SDKs honour, read with
the standard library's :func:`urllib.request.getproxies` as httpx reads
them. A ``NO_PROXY`` entry names a host (``localhost``, ``10.0.0.7``) or a
domain with every host under it (``example.com``, ``.example.com``),
optionally with a ``scheme://`` before it or a ``:port`` after it; ``*``
sends every request direct.

Sans-I/O: :class:`ProxyRoutes` only answers "through which proxy?"; the
network transports in :mod:`exllm_py.transport` keep one httpx transport per
answer. Imports httpx (for its URL type), attrs, :mod:`exllm_py.errors` and
:mod:`exllm_py.secret_patterns`.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping

import attrs
import httpx

from exllm_py.errors import ConfigurationError
from exllm_py.secret_patterns import hide_url_credentials

__all__ = ["ProxyRoutes", "checked_proxy"]

# The schemes httpx can reach a proxy by (SOCKS needs httpx's socks extra).
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@attrs.frozen
class ProxyRoutes:
    """The proxies an environment names by URL scheme (``"all"``: any), and its NO_PROXY entries."""

    proxies: Mapping[str, str]
    direct: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls) -> ProxyRoutes:
        found = urllib.request.getproxies()
        direct = (entry.strip().lower() for entry in found.pop("no", "").split(","))
        return cls(found, tuple(entry for entry in direct if entry))

    def proxy_for(self, url: httpx.URL) -> str | None:
        """The proxy URL a request to ``url`` goes through, or ``None`` to go direct."""
        scheme = url.scheme if self.proxies.get(url.scheme) else "all"
        proxy = self.proxies.get(scheme)
        if not proxy or any(_names(entry, url) for entry in self.direct):
            return None
        return checked_proxy(proxy, variable=f"{scheme.upper()}_PROXY")


def _names(entry: str, url: httpx.URL) -> bool:
    """Whether one ``NO_PROXY`` entry covers ``url``."""
    if entry == "*":
        return True
    scheme, _, entry = entry.rpartition("://")
    if scheme and scheme != url.scheme:
        return False
    host, port = _host_and_port(entry)
    if port is not None and port != (url.port or _DEFAULT_PORTS.get(url.scheme)):
        return False
    domain = host.lstrip("*").lstrip(".")
    requested = url.host.lower()
    return requested == domain or requested.endswith("." + domain)


def _host_and_port(entry: str) -> tuple[str, int | None]:
    """``host:port``, ``[v6]:port`` or a bare host (an IPv6 address among them) split."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:]
    else:
        host, colon, port = entry.rpartition(":")
        if not colon or ":" in host:  # no port, or a bare IPv6 address
            return entry, None
    return host, int(port) if port.isdigit() else None


def checked_proxy(proxy: str, *, variable: str) -> str:
    """``proxy`` as httpx takes it (a bare ``host:port`` is an HTTP proxy), or a clear error."""
    url = proxy if "://" in proxy else f"http://{proxy}"
    scheme = url.partition("://")[0].lower()
    if scheme not in _PROXY_SCHEMES:
        raise ConfigurationError(
            f"{variable} is {hide_url_credentials(proxy)!r}: a proxy URL must start with "
            f"{', '.join(s + '://' for s in _PROXY_SCHEMES)}; fix or unset {variable}"
        )
    return url
