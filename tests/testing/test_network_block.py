"""Tests for exllm_py.testing.network_block: real sockets, refused before any packet leaves.

Every refused address is TEST-NET-1 (192.0.2.0/24, for documentation, never
routed) or a name under example.com, and every socket has a short timeout:
if the block failed, a test fails fast instead of hanging.
"""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import exllm_py
from exllm_py.errors import NetworkBlocked
from exllm_py.testing.core import forwarding
from exllm_py.testing.network_block import NetworkBlock, is_loopback, network_allowed

TEST_NET = "192.0.2.1"
GUARD_TIMEOUT = 2.0


@pytest.fixture
def block() -> Iterator[NetworkBlock]:
    """A block installed and on for the test, removed after it."""
    block = NetworkBlock("--exllm-block-network")
    block.install()
    block.start()
    try:
        yield block
    finally:
        block.uninstall()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP server socket on 127.0.0.1 (connections wait in its backlog)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


class TestIsLoopback:
    """Loopback: 127.0.0.0/8, ::1 (also IPv4-mapped), localhost, and the unspecified address."""

    @pytest.mark.parametrize(
        "host",
        ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "localhost", "LOCALHOST", "0.0.0.0"],
    )
    def test_local(self, host: str) -> None:
        assert is_loopback(host)

    @pytest.mark.parametrize(
        "host", [TEST_NET, "10.0.0.1", "2001:db8::1", "::ffff:192.0.2.1", "api.example.com"]
    )
    def test_not_local(self, host: str) -> None:
        assert not is_loopback(host)


class TestConnections:
    """A connection off the machine fails with NetworkBlocked naming it; loopback works."""

    @pytest.mark.parametrize("method", ["connect", "connect_ex"])
    def test_raw_socket(self, block: NetworkBlock, method: str) -> None:
        with socket.socket() as sock:
            sock.settimeout(GUARD_TIMEOUT)
            with pytest.raises(NetworkBlocked, match=r"connection to 192\.0\.2\.1:443") as caught:
                getattr(sock, method)((TEST_NET, 443))
            assert sock.fileno() == -1  # closed: nobody else would close it
        assert (caught.value.host, caught.value.port) == (TEST_NET, 443)
        assert "--exllm-block-network" in str(caught.value)

    def test_create_connection_leaves_no_open_socket(self, block: NetworkBlock) -> None:
        # An unclosed socket would warn when collected; warnings are errors here.
        with pytest.raises(NetworkBlocked, match=r"192\.0\.2\.1:80"):
            socket.create_connection((TEST_NET, 80), timeout=GUARD_TIMEOUT)

    def test_ipv6_address_is_named_in_brackets(self, block: NetworkBlock) -> None:
        if not socket.has_ipv6:
            pytest.skip("no IPv6 in this Python")
        with socket.socket(socket.AF_INET6) as sock, pytest.raises(NetworkBlocked) as caught:
            sock.connect(("2001:db8::1", 443))
        assert "[2001:db8::1]:443" in str(caught.value)

    def test_a_thread_the_test_starts_is_blocked_too(self, block: NetworkBlock) -> None:
        errors: list[BaseException] = []

        def connect() -> None:
            try:
                socket.create_connection((TEST_NET, 80), timeout=GUARD_TIMEOUT)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=connect)
        thread.start()
        thread.join()
        assert [type(error) for error in errors] == [NetworkBlocked]

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
    def test_loopback_is_allowed(
        self, block: NetworkBlock, listener: socket.socket, host: str
    ) -> None:
        port = listener.getsockname()[1]
        with socket.create_connection((host, port), timeout=GUARD_TIMEOUT) as sock:
            assert sock.getpeername()[1] == port

    def test_unix_sockets_are_allowed(self, block: NetworkBlock) -> None:
        # A short directory: Unix socket paths are limited to about 100 bytes.
        with tempfile.TemporaryDirectory() as directory:
            path = str(Path(directory) / "s")
            with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
                server.bind(path)
                server.listen()
                client.settimeout(GUARD_TIMEOUT)
                client.connect(path)

    def test_udp_datagrams_off_the_machine_are_refused(self, block: NetworkBlock) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            with pytest.raises(NetworkBlocked, match=r"192\.0\.2\.1:53"):
                sock.sendto(b"query", (TEST_NET, 53))
            with pytest.raises(NetworkBlocked, match=r"192\.0\.2\.1:53"):
                sock.sendmsg([b"query"], [], 0, (TEST_NET, 53))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
                receiver.bind(("127.0.0.1", 0))
                assert sock.sendto(b"ping", receiver.getsockname()) == 4
                assert receiver.recv(16) == b"ping"

    def test_a_datagram_to_the_peer_of_a_connected_socket_passes(self, block: NetworkBlock) -> None:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        ):
            receiver.bind(("127.0.0.1", 0))
            sock.connect(receiver.getsockname())
            assert sock.sendmsg([b"pi", b"ng"], [], 0) == 4  # no address: the peer's
            assert sock.sendmsg([b"pong"], [], 0, receiver.getsockname()) == 4
            assert [receiver.recv(16), receiver.recv(16)] == [b"ping", b"pong"]

    def test_an_address_given_by_keyword_is_checked_too(self, block: NetworkBlock) -> None:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
            pytest.raises(NetworkBlocked, match=r"192\.0\.2\.1:53"),
        ):
            sock.sendmsg([b"query"], address=(TEST_NET, 53))  # type: ignore[call-arg]

    def test_a_keyword_the_socket_refuses_is_still_refused_by_it(self, block: NetworkBlock) -> None:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
            pytest.raises(TypeError, match="keyword"),
        ):
            sock.sendmsg([b"ping"], address=("127.0.0.1", 9))  # type: ignore[call-arg]

    @pytest.mark.parametrize(
        "address",
        [(443, 80), (TEST_NET,), f"{TEST_NET}:80"],
        ids=["host-not-text", "no-port", "not-a-pair"],
    )
    def test_a_malformed_address_gets_the_sockets_own_error(
        self, block: NetworkBlock, address: object
    ) -> None:
        with socket.socket() as sock, pytest.raises(TypeError):
            sock.connect(address)

    def test_a_port_that_is_not_a_number_is_not_named_as_one(self, block: NetworkBlock) -> None:
        with socket.socket() as sock, pytest.raises(NetworkBlocked) as caught:
            sock.connect((TEST_NET, "https"))
        assert (caught.value.host, caught.value.port) == (TEST_NET, None)


class TestNameLookups:
    """A lookup that could send a DNS query fails; numeric and local names need none and pass."""

    @pytest.mark.parametrize(
        "lookup",
        [
            lambda: socket.getaddrinfo("api.example.com", 443),
            lambda: socket.gethostbyname("api.example.com"),
            lambda: socket.gethostbyname_ex("api.example.com"),
            lambda: socket.gethostbyaddr("api.example.com"),
        ],
    )
    def test_a_name_is_refused(self, block: NetworkBlock, lookup: Callable[[], object]) -> None:
        with pytest.raises(NetworkBlocked, match=r"looking up the name api\.example\.com") as error:
            lookup()
        assert error.value.host == "api.example.com"
        assert error.value.port is None

    def test_a_reverse_lookup_of_a_remote_address_is_refused(self, block: NetworkBlock) -> None:
        with pytest.raises(NetworkBlocked, match=r"reverse lookup of 192\.0\.2\.1"):
            socket.gethostbyaddr(TEST_NET)
        with pytest.raises(NetworkBlocked, match=r"reverse lookup of 192\.0\.2\.1"):
            socket.getnameinfo((TEST_NET, 80), 0)

    def test_a_name_given_as_bytes_is_refused_even_when_not_ascii(
        self, block: NetworkBlock
    ) -> None:
        with pytest.raises(NetworkBlocked, match=r"looking up the name api\.example\.com"):
            socket.getaddrinfo(b"api.example.com", 443)
        with pytest.raises(NetworkBlocked) as caught:
            socket.getaddrinfo("bücher.example.com".encode(), 443)
        assert isinstance(caught.value.host, str)
        assert caught.value.host.endswith("cher.example.com")

    def test_a_host_of_the_wrong_type_gets_the_socket_modules_own_error(
        self, block: NetworkBlock
    ) -> None:
        with pytest.raises(TypeError, match="getaddrinfo"):
            socket.getaddrinfo(443, 443)  # type: ignore[arg-type]  # the mistake under test

    def test_lookups_that_stay_local_pass(self, block: NetworkBlock) -> None:
        assert socket.getaddrinfo(TEST_NET, 443)[0][4][0] == TEST_NET  # numeric: no query
        assert socket.getaddrinfo(None, 0, flags=socket.AI_PASSIVE)
        assert socket.gethostbyname("localhost").startswith("127.")
        assert socket.getnameinfo((TEST_NET, 80), socket.NI_NUMERICHOST)[0] == TEST_NET
        assert socket.getfqdn()  # the machine's own name

    def test_a_lookup_that_passes_keeps_its_keyword_arguments(self, block: NetworkBlock) -> None:
        found = socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_DGRAM)
        assert found
        assert {entry[1] for entry in found} == {socket.SOCK_DGRAM}


class TestNetworkAllowed:
    """Inside network_allowed() (the recorder's live send) nothing is refused."""

    def test_a_connection_in_the_block_passes(self, block: NetworkBlock) -> None:
        # The check itself, not a real connect: no packet may go to TEST-NET.
        with socket.socket() as sock:
            with network_allowed():
                block.check_connection(sock, (TEST_NET, 9), close=False)
            with pytest.raises(NetworkBlocked):
                block.check_connection(sock, (TEST_NET, 9), close=False)

    def test_the_recorders_live_send_is_allowed(self, block: NetworkBlock) -> None:
        """A request the recorder forwards (to record it) may connect; nothing else may."""
        with socket.socket() as sock:
            with forwarding():
                block.check_connection(sock, (TEST_NET, 443), close=False)
                block.check_lookup("api.openai.com")
            with pytest.raises(NetworkBlocked, match=TEST_NET):
                block.check_connection(sock, (TEST_NET, 443), close=False)

    def test_connections_of_other_threads_stay_blocked(self, block: NetworkBlock) -> None:
        # The allowance follows the sender's context, not the whole process.
        started, errors = threading.Event(), []

        def connect() -> None:
            started.wait()
            try:
                socket.create_connection((TEST_NET, 80), timeout=GUARD_TIMEOUT)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=connect)
        thread.start()
        with network_allowed():
            started.set()
            thread.join()
        assert [type(error) for error in errors] == [NetworkBlocked]

    def test_lookups_on_executor_threads_pass(self, block: NetworkBlock) -> None:
        # asyncio resolves names on executor threads, which do not carry the
        # sender's context: while a recorder sends, lookups pass anywhere.
        outcomes: list[str] = []

        def lookup() -> None:
            try:
                block.check_lookup("api.example.com")
                outcomes.append("passed")
            except NetworkBlocked:
                outcomes.append("refused")

        with network_allowed():
            thread = threading.Thread(target=lookup)
            thread.start()
            thread.join()
        thread = threading.Thread(target=lookup)
        thread.start()
        thread.join()
        assert outcomes == ["passed", "refused"]

    def test_reverse_lookups_on_executor_threads_pass(self, block: NetworkBlock) -> None:
        # As names are: asyncio's getnameinfo() runs on an executor thread too.
        outcomes: list[str] = []

        def reverse_lookup() -> None:
            try:
                block.check_reverse_lookup(TEST_NET)
                outcomes.append("passed")
            except NetworkBlocked:
                outcomes.append("refused")

        with network_allowed():
            reverse_lookup()
            thread = threading.Thread(target=reverse_lookup)
            thread.start()
            thread.join()
        thread = threading.Thread(target=reverse_lookup)
        thread.start()
        thread.join()
        assert outcomes == ["passed", "passed", "refused"]


class TestLifecycle:
    """The block refuses only while on, and uninstall puts socket back as it was."""

    def test_stopped_block_refuses_nothing(self, block: NetworkBlock) -> None:
        block.stop()
        with socket.socket() as sock:
            block.check_connection(sock, (TEST_NET, 80), close=True)
            assert sock.fileno() != -1
        block.check_lookup("api.example.com")
        block.check_reverse_lookup(TEST_NET)

    def test_uninstall_restores_socket(self) -> None:
        originals = (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)
        block = NetworkBlock()
        block.install()
        assert socket.socket.connect is not originals[0]
        block.uninstall()
        assert (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo) == originals

    def test_a_patch_stacked_later_is_kept(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # Noted first, so that the real function is back after the test.
        monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)
        block = NetworkBlock()
        block.install()
        ours = socket.getaddrinfo

        def theirs(*args: object, **kwargs: object) -> object:
            return ours(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(socket, "getaddrinfo", theirs)
        block.uninstall()
        assert socket.getaddrinfo is theirs


class TestMessages:
    """Each refusal says what was blocked, by which switch, and what to do instead."""

    def test_a_connection_refusal_in_full(self, block: NetworkBlock) -> None:
        with socket.socket() as sock, pytest.raises(NetworkBlocked) as caught:
            sock.connect((TEST_NET, 443))
        assert str(caught.value) == (
            f"exllm_py blocked a connection to {TEST_NET}:443 (--exllm-block-network): outside "
            "the recorder, tests may reach loopback addresses only. Record the call in a "
            "live_api test, or point it at a loopback server."
        )
        assert (caught.value.host, caught.value.port) == (TEST_NET, 443)

    def test_a_lookup_refusal_in_full(self, block: NetworkBlock) -> None:
        with pytest.raises(NetworkBlocked) as caught:
            socket.getaddrinfo("api.example.com", 443)
        assert str(caught.value) == (
            "exllm_py blocked looking up the name api.example.com (--exllm-block-network): the "
            "DNS query would leave the machine. Record the call in a live_api test, or point it "
            "at a loopback server."
        )
        assert caught.value.host == "api.example.com"

    def test_a_reverse_lookup_refusal_in_full(self, block: NetworkBlock) -> None:
        with pytest.raises(NetworkBlocked) as caught:
            socket.gethostbyaddr(TEST_NET)
        assert str(caught.value) == (
            f"exllm_py blocked a reverse lookup of {TEST_NET} (--exllm-block-network): the DNS "
            "query would leave the machine."
        )
        assert (caught.value.host, caught.value.port) == (TEST_NET, None)

    @pytest.mark.parametrize(
        "refused",
        [
            lambda udp: socket.socket().connect((TEST_NET, 443)),  # the block closes it
            lambda udp: socket.getaddrinfo("api.example.com", 443),
            lambda udp: socket.gethostbyaddr(TEST_NET),
            lambda udp: socket.getnameinfo((TEST_NET, 80), 0),
            lambda udp: udp.sendto(b"q", (TEST_NET, 53)),
            lambda udp: udp.sendmsg([b"q"], [], 0, (TEST_NET, 53)),
        ],
        ids=["connect", "getaddrinfo", "gethostbyaddr", "getnameinfo", "sendto", "sendmsg"],
    )
    def test_pytest_shows_the_refused_call_not_the_block(
        self, block: NetworkBlock, refused: Callable[[socket.socket], object]
    ) -> None:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
            pytest.raises(NetworkBlocked) as caught,
        ):
            refused(udp)
        shown = {Path(str(entry.path)) for entry in caught.traceback.filter(caught)}
        # The test's own line, and nothing of the package's (a mutation tool's
        # trampoline may sit in between).
        assert Path(__file__) in shown
        assert not any(Path(exllm_py.__file__).parent in path.parents for path in shown)


class TestOnAndOff:
    """A block refuses only between start() and stop(), and never once uninstalled."""

    def test_the_default_switch_is_the_command_line_option(self) -> None:
        assert NetworkBlock().switch == "--exllm-block-network"

    def test_active_says_whether_it_refuses(self) -> None:
        block = NetworkBlock()
        assert block.active is False
        block.install()
        try:
            block.start()
            assert block.active is True
            block.stop()
            assert block.active is False
            block.start()
        finally:
            block.uninstall()
        assert block.active is False

    def test_installed_but_not_started_refuses_nothing(self) -> None:
        block = NetworkBlock()
        block.install()
        try:
            block.check_lookup("api.example.com")  # would raise if it were on
            block.start()
            with pytest.raises(NetworkBlocked):
                block.check_lookup("api.example.com")
        finally:
            block.uninstall()
        block.check_lookup("api.example.com")
