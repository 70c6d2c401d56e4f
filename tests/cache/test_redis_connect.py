"""Reaching Redis: one async client per event loop, described without the URL's password."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
import redis.asyncio
import redis.exceptions

from exllm_py.cache.stores.redis_connect import LoopClients, connect
from exllm_py.errors import ConfigurationError
from tests.redis_server import RedisServer


class TestLoopClients:
    """Each event loop gets its own client, kept for that loop, and the repr hides the password."""

    def test_the_repr_hides_the_password_and_counts_the_loops(self) -> None:
        """Before any loop used it: the redacted URL and loops=0; after one loop: loops=1."""
        clients = LoopClients("redis://:hunter2@127.0.0.1:6379/0", 1.0)
        assert repr(clients) == "<LoopClients redis://:***@127.0.0.1:6379/0 loops=0>"

        async def use() -> None:
            clients.current()

        asyncio.run(use())
        assert repr(clients) == "<LoopClients redis://:***@127.0.0.1:6379/0 loops=1>"

    def test_one_loop_keeps_its_client_and_another_loop_gets_its_own(
        self, redis_server: RedisServer
    ) -> None:
        """Within a loop current() is the same client; the next loop gets a new one."""
        clients = LoopClients(redis_server.url, 2.0)

        async def twice() -> redis.asyncio.Redis:
            first, second = clients.current(), clients.current()
            assert first is second
            assert await first.ping() is True
            await first.aclose()  # closed, but still the loop's client until aclose()
            return first

        first = asyncio.run(twice())
        other = asyncio.run(twice())
        assert other is not first
        assert repr(clients).endswith("loops=1>")  # the ended loop's client was dropped


def accepted_connections(server: socket.socket) -> int:
    """How many connections wait in ``server``'s accept queue (accepting and closing them)."""
    server.setblocking(False)
    count = 0
    while True:
        try:
            connection, _ = server.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


class TestTimeouts:
    """A client's command ends within its timeout, once, against a server that never answers."""

    def test_a_silent_server_times_out_the_command_without_a_retry(self) -> None:
        """The kernel accepts the connection, nothing replies: TimeoutError, one connection."""
        with socket.create_server(("127.0.0.1", 0)) as silent:
            client = connect(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", 0.3)
            outcome: list[BaseException] = []
            done = threading.Event()

            def ping() -> None:
                try:
                    client.ping()
                except BaseException as exc:
                    outcome.append(exc)
                finally:
                    done.set()

            threading.Thread(target=ping, daemon=True).start()
            # Bounded only to fail rather than hang: closing the server ends a waiting ping.
            finished = done.wait(10)
            connections = accepted_connections(silent)
        assert finished, "the command waited on past the client's timeout"
        assert [type(error) for error in outcome] == [redis.exceptions.TimeoutError]
        assert connections == 1


class TestUrls:
    """A URL of another scheme is refused, its password hidden, with the forms Redis takes."""

    def test_the_refusal_shows_every_redis_form_intact(self) -> None:
        """The example of a URL with credentials reads as one: it is no secret to hide."""
        with pytest.raises(ConfigurationError) as raised:
            connect("http://:hunter2@cache.internal:6379/0", 1.0)
        message = str(raised.value)
        assert message.startswith("'http://:***@cache.internal:6379/0' is not a Redis URL (")
        assert message.endswith(
            "); expected redis://host:port/db (user:password@host when the server wants "
            "credentials), rediss://… for TLS or unix:///path/to/socket"
        )
        assert "hunter2" not in message
