"""Blocking the network at the socket level: what ``--exllm-block-network`` does.

A :class:`NetworkBlock` patches :mod:`socket` for a test session, and is
switched on around each test. While on, it refuses, with
:class:`~exllm_py.errors.NetworkBlocked` naming the host, before any packet
leaves:

- ``socket.socket.connect`` / ``connect_ex`` to an address that is not
  loopback (``127.0.0.0/8``, ``::1``, ``localhost``; also ``0.0.0.0`` and
  ``::``, which connect to this machine), and ``sendto`` / ``sendmsg`` of
  UDP datagrams to such an address;
- name lookups that could send a DNS query: ``getaddrinfo``,
  ``gethostbyname``, ``gethostbyname_ex``, ``gethostbyaddr`` and
  ``getnameinfo`` of a name other than ``localhost`` and this machine's own
  hostname (which ``socket.getfqdn()`` asks for), or a reverse lookup of a
  non-loopback address. A numeric address needs no query: its connection
  is checked instead.

Unix sockets and other local families are never refused. Everything in
Python that reaches the network goes through these (``http.client`` and
``urllib``, ``requests``, httpx and httpcore, asyncio and ``aiohttp``), so
they are all caught; C code that opens its own sockets (``pycurl``, gRPC's
core, ``uvloop``) is not.

:func:`network_allowed` lets the recorder's own live sends through: what a
test records in a record mode is the one network traffic the block allows.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from exllm_py.errors import NetworkBlocked

__all__ = ["NetworkBlock", "is_loopback", "network_allowed"]

# Set in the task or thread that sends a recorded request: its connections pass.
_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "exllm_network_allowed", default=False
)
# How many network_allowed() blocks run, in any thread. Name lookups consult it
# too: asyncio resolves names on its executor threads, which do not carry the
# sending task's context. A lookup that slips through this way still cannot
# connect: connections are checked against the context alone.
_lookups_allowed = 0
_lookups_lock = threading.Lock()

_LOCAL_NAMES = frozenset({"localhost", "localhost."})
_INET = frozenset({socket.AF_INET, socket.AF_INET6})


@contextmanager
def network_allowed() -> Iterator[None]:
    """Let connections made in this block through any :class:`NetworkBlock`.

    For the recorder: wrap the live send of a request it records in it. The
    allowance follows the context (the thread, or the asyncio task and the
    tasks it starts), so other tests' threads stay blocked meanwhile.
    """
    global _lookups_allowed
    token = _allowed.set(True)
    with _lookups_lock:
        _lookups_allowed += 1
    try:
        yield
    finally:
        with _lookups_lock:
            _lookups_allowed -= 1
        _allowed.reset(token)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or a numeric address) stays on this machine."""
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name other than localhost
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _local_address(address.ipv4_mapped)
    return _local_address(address)


def _local_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # Connecting to the unspecified address (0.0.0.0, ::) reaches this machine.
    return address.is_loopback or address.is_unspecified


def _is_numeric(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class NetworkBlock:
    """The socket patches of one session, refusing traffic only while :attr:`active`.

    :meth:`install` once, :meth:`start` and :meth:`stop` around each test,
    :meth:`uninstall` at the end. Patching once keeps the patches of other
    tools (pytest-recording's ``--block-network``, a test's own) stacked in
    the order they came, whatever each test does.
    """

    __slots__ = ("_originals", "active", "switch")

    def __init__(self, switch: str = "--exllm-block-network") -> None:
        #: How the block was turned on, for the error message.
        self.switch = switch
        self.active = False
        self._originals: dict[tuple[object, str], Any] = {}

    def install(self) -> None:
        if self._originals:
            return
        for owner, name, guard in self._patches():
            original = getattr(owner, name)
            self._originals[owner, name] = (original, guard(original))
            setattr(owner, name, self._originals[owner, name][1])

    def uninstall(self) -> None:
        self.active = False
        for (owner, name), (original, patched) in self._originals.items():
            # Put back only our own patch: one stacked on it later stays (inert).
            if getattr(owner, name) is patched:
                setattr(owner, name, original)
        self._originals.clear()

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    # -- the checks ------------------------------------------------------------------------

    def check_connection(self, sock: socket.socket, address: object, *, close: bool) -> None:
        """Raise ``NetworkBlocked`` for traffic to ``address`` off this machine.

        ``close``: close ``sock`` first (a refused ``connect``).
        """
        __tracebackhide__ = True
        if not self.active or _allowed.get() or sock.family not in _INET:
            return
        if not isinstance(address, tuple) or len(address) < 2 or not isinstance(address[0], str):
            return  # malformed: the socket call itself says so
        host, port = address[0], address[1]
        if is_loopback(host):
            return
        if close:
            # Nobody else may close it: socket.create_connection closes its
            # socket only on OSError, and an unclosed socket warns when collected.
            sock.close()
        raise NetworkBlocked(
            f"exllm_py blocked a connection to {_host_port(host, port)} ({self.switch}): outside "
            "the recorder, tests may reach loopback addresses only. Record the call in a "
            "live_api test, or point it at a loopback server.",
            host=host,
            port=port if isinstance(port, int) else None,
        )

    def check_lookup(self, host: object) -> None:
        """Raise ``NetworkBlocked`` for a name lookup that could send a DNS query."""
        __tracebackhide__ = True
        if not self.active or _allowed.get() or _lookups_allowed:
            return
        if isinstance(host, bytes | bytearray):
            host = bytes(host).decode("ascii", "replace")
        if not isinstance(host, str) or not host or is_loopback(host) or _is_numeric(host):
            return
        if host.lower() == socket.gethostname().lower():
            return  # the machine's own name, which socket.getfqdn() looks up
        raise NetworkBlocked(
            f"exllm_py blocked looking up the name {host} ({self.switch}): the DNS query would "
            "leave the machine. Record the call in a live_api test, or point it at a loopback "
            "server.",
            host=host,
        )

    def check_reverse_lookup(self, address: object) -> None:
        """A reverse lookup of a non-loopback address sends a DNS query too."""
        __tracebackhide__ = True
        if isinstance(address, str) and _is_numeric(address) and not is_loopback(address):
            if self.active and not (_allowed.get() or _lookups_allowed):
                raise NetworkBlocked(
                    f"exllm_py blocked a reverse lookup of {address} ({self.switch}): the DNS "
                    "query would leave the machine.",
                    host=address,
                )
            return
        self.check_lookup(address)

    # -- the patches -----------------------------------------------------------------------

    def _patches(self) -> list[tuple[object, str, Callable[[Any], Any]]]:
        connect = self._connect_guard
        return [
            (socket.socket, "connect", connect),
            (socket.socket, "connect_ex", connect),
            (socket.socket, "sendto", self._sendto_guard),
            (socket.socket, "sendmsg", self._sendmsg_guard),
            (socket, "getaddrinfo", self._lookup_guard),
            (socket, "gethostbyname", self._lookup_guard),
            (socket, "gethostbyname_ex", self._lookup_guard),
            (socket, "gethostbyaddr", self._reverse_guard),
            (socket, "getnameinfo", self._nameinfo_guard),
        ]

    def _connect_guard(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def connect(sock: socket.socket, address: Any, /) -> Any:
            __tracebackhide__ = True  # pytest: show the caller, not this guard
            self.check_connection(sock, address, close=True)
            return original(sock, address)

        return connect

    def _sendto_guard(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def sendto(sock: socket.socket, data: Any, *args: Any) -> Any:
            __tracebackhide__ = True  # pytest: show the caller, not this guard
            # sendto(data, address) or sendto(data, flags, address)
            if args:
                self.check_connection(sock, args[-1], close=False)
            return original(sock, data, *args)

        return sendto

    def _sendmsg_guard(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def sendmsg(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True  # pytest: show the caller, not this guard
            # sendmsg(buffers, ancdata, flags, address): the address is the fourth.
            address = kwargs.get("address", args[3] if len(args) > 3 else None)
            if address is not None:
                self.check_connection(sock, address, close=False)
            return original(sock, *args, **kwargs)

        return sendmsg

    def _lookup_guard(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True  # pytest: show the caller, not this guard
            self.check_lookup(host)
            return original(host, *args, **kwargs)

        return lookup

    def _reverse_guard(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def reverse(address: Any, /) -> Any:
            __tracebackhide__ = True  # pytest: show the caller, not this guard
            self.check_reverse_lookup(address)
            return original(address)

        return reverse

    def _nameinfo_guard(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def nameinfo(sockaddr: Any, flags: int, /) -> Any:
            __tracebackhide__ = True  # pytest: show the caller, not this guard
            if not flags & socket.NI_NUMERICHOST and isinstance(sockaddr, tuple) and sockaddr:
                self.check_reverse_lookup(sockaddr[0])
            return original(sockaddr, flags)

        return nameinfo


def _host_port(host: str, port: object) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
