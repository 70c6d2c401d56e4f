"""The demo runs offline and shows what it says; a live run that fails says so in one line."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
import structlog

import exllm_py
from exllm_py.demo.run import main

# Every variable that would make the demo call a real provider.
_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")


@pytest.fixture(autouse=True)
def _demo_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No provider key from outside; the logging the demo configures is undone after it."""
    for name in _KEYS:
        monkeypatch.delenv(name, raising=False)
    try:
        yield
    finally:
        structlog.reset_defaults()
        exllm_py.telemetry.refresh_logging()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: a connection to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])


class TestDemo:
    """With no API key set, the demo runs against its simulated endpoint."""

    def test_the_demo_runs_offline_and_shows_each_step(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main() == 0
        out = capsys.readouterr().out
        assert "SIMULATED OpenAI-compatible endpoint" in out
        assert "from_cache=False" in out
        assert "from_cache=True" in out
        assert "exllm.cache.hit" in out
        assert "upstream calls made: 1" in out
        assert re.search(r"first stream: .*stream_from_cache=False", out)
        assert re.search(r"same stream: .*stream_from_cache=True", out)
        assert "replayed stream:" in out
        assert "the same as recorded" in out

    def test_money_is_printed_as_a_rounded_dollar_amount(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main() == 0
        out = capsys.readouterr().out
        saved = re.findall(r"saved_cost_usd=(\S+)", out)
        assert saved, out
        for amount in saved:
            # Two significant digits at most, never an exponent.
            assert re.fullmatch(r"\$0\.0*[1-9][0-9]?", amount), amount


class TestDemoUnreachable:
    """A key set with no way to the provider ends in one line that says how to run offline."""

    def test_one_line_names_the_provider_and_the_key_to_unset(
        self,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        closed_port: int,
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-demo-unreachable")
        base_url = f"http://127.0.0.1:{closed_port}/v1"
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        assert main() == 1
        captured = capsys.readouterr()
        [line] = captured.err.splitlines()
        assert line.startswith(f"exllm_py demo: could not reach openai at {base_url}")
        assert line.endswith("Unset OPENAI_API_KEY to run the offline demo instead.")
        assert "Traceback" not in captured.out + captured.err
        assert "calling openai for real (OPENAI_API_KEY is set)" in captured.out
