"""Fixtures for the embedder tests: the loopback provider server."""

from tests.fakes import provider_server

__all__ = ["provider_server"]
