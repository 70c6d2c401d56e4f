"""A real ``redis-server`` for tests, on a free loopback port, that tests may kill and restart.

:class:`RedisServer` runs the binary with no persistence (``--save ''
--appendonly no``) in a temporary directory and waits until it answers
``PING``. The fixtures:

- ``redis_server`` (session): one server per test process, shared;
- ``redis_url`` (function): that server's URL, emptied before the test;
- ``private_redis`` (function): a server of the test's own, to kill, restart
  on the same port or pause without disturbing the others.

When no ``redis-server`` binary is on ``PATH`` they fail under CI (the
``CI`` variable set, where ``.ci/run`` installs it) and are skipped
elsewhere; either way the run's summary says, in one loud line, how many
Redis tests did not run (see the root ``conftest.py``).

To use them in a test package, import them into its ``conftest.py``::

    from tests.redis_server import private_redis, redis_server, redis_url

    __all__ = ["private_redis", "redis_server", "redis_url"]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

__all__ = ["MISSING_REASON", "RedisServer", "private_redis", "redis_server", "redis_url"]

REDIS_SERVER_BINARY = shutil.which("redis-server")
MISSING_REASON = (
    "redis-server is not installed (not on PATH): install it, e.g. "
    "`apt-get install -y redis-server`, to run the Redis tests"
)
_STARTUP_S = 10.0


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1; the port stays the same across restarts."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        if REDIS_SERVER_BINARY is None:
            raise RuntimeError(MISSING_REASON)
        self.binary = REDIS_SERVER_BINARY
        self.directory = directory
        self.port = _free_port() if port is None else port
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"<RedisServer {self.url} {'running' if self.running else 'stopped'}>"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> RedisServer:
        """Start the server (empty) and return once it answers ``PING``."""
        if self.running:
            return self
        log = self.directory / "redis.log"
        settings = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "save": "",
            "appendonly": "no",
            "dir": str(self.directory),
            "logfile": str(log),
        }
        arguments = [part for name, value in settings.items() for part in (f"--{name}", value)]
        self._process = subprocess.Popen(
            [self.binary, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + _STARTUP_S
        while not _answers_ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
                raise RuntimeError(f"redis-server on port {self.port} did not start:\n{tail}")
            time.sleep(0.01)
        return self

    def kill(self) -> None:
        """Kill the server at once (``SIGKILL``, like a crash); its data is gone."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
        self._process.wait(timeout=10)
        self._process = None

    def restart(self) -> RedisServer:
        """Kill the server if it runs, and start an empty one on the same port."""
        self.kill()
        return self.start()

    def client(self) -> redis.Redis:
        """A plain client for the test to look at (or tamper with) what is stored."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)

    def flush(self) -> None:
        """Empty the test server (tests only: the library itself never flushes)."""
        with self.client() as client:
            client.flushall()

    def pause(self, seconds: float) -> None:
        """Make the server answer nothing for ``seconds`` (``CLIENT PAUSE``): a slow Redis."""
        with self.client() as client:
            client.execute_command("CLIENT", "PAUSE", max(1, round(seconds * 1000)))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def _running_server() -> Iterator[RedisServer]:
    if REDIS_SERVER_BINARY is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING_REASON, pytrace=False)
        pytest.skip(MISSING_REASON)
    with tempfile.TemporaryDirectory(prefix="exllm-redis-") as directory:
        server = RedisServer(Path(directory)).start()
        try:
            yield server
        finally:
            server.kill()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server shared by this test process's tests."""
    with _running_server() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared server's URL, emptied for this test."""
    if not redis_server.running:
        redis_server.start()
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, free to kill, restart or pause."""
    with _running_server() as server:
        yield server
