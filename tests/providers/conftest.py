"""Fixtures for the provider tests: the loopback provider server."""

from tests.fakes import provider_server

__all__ = ["provider_server"]
