"""The hooks of ``--exllm-block-network``: the network blocked from setup to teardown of each test.

:mod:`exllm_py.testing.plugin` registers :class:`BlockNetworkPlugin` only
when the block is on, so a run without it pays nothing. The socket patches
go in once for the session (see :class:`~exllm_py.testing.network_block.NetworkBlock`);
each test switches them on as its setup starts and off once its teardown
is over, so fixtures are blocked too, and so are threads the test starts.
Reporting between a test's phases is not blocked: a plugin that uploads
results as they come is no test's traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from exllm_py.testing.network_block import NetworkBlock, network_allowed

__all__ = ["BlockNetworkPlugin"]


class BlockNetworkPlugin:
    """Blocks non-loopback traffic around every test, except where ``exempt(item)`` says."""

    def __init__(self, block: NetworkBlock, exempt: Callable[[pytest.Item], bool]) -> None:
        self._block = block
        self._exempt = exempt

    def pytest_configure(self, config: pytest.Config) -> None:
        self._block.install()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._block.uninstall()

    # tryfirst: outermost, so the block is on before any fixture runs and off after the last.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        if not self._exempt(item):
            self._block.start()
        return (yield)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        try:
            return (yield)
        finally:
            self._block.stop()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Iterator[None]:
        with network_allowed():
            return (yield)
