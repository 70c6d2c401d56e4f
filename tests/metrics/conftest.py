"""Fixtures for the metrics tests: a real redis-server (see :mod:`tests.redis_server`)."""

from __future__ import annotations

from tests.redis_server import private_redis, redis_server, redis_url

__all__ = ["private_redis", "redis_server", "redis_url"]
