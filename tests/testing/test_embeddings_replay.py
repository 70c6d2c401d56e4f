"""embed() in ``live_api`` tests: recorded once over HTTP, then replayed with the provider gone."""

from __future__ import annotations

import pytest

from exllm_py.testing.cassette_file import read_cassette
from tests.fakes import ProviderServer
from tests.testing.pytester_project import plain_project

LIVE_EMBEDDINGS = """
import os

import pytest

import exllm_py

TEXTS = ["Who wrote Hamlet?", "Who painted the Mona Lisa?"]


@pytest.mark.live_api
def test_embed(exllm_cassette):
    vectors = exllm_py.embed(
        "openai", TEXTS, base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback"
    )
    assert [len(vector) for vector in vectors] == [8, 8]
    assert vectors[0] != vectors[1]
    assert len(exllm_cassette.played) == (1 if exllm_cassette.replays else 0)


@pytest.mark.asyncio
@pytest.mark.live_api
async def test_aembed(exllm_cassette):
    vectors = await exllm_py.aembed(
        "gemini", TEXTS, base_url=os.environ["LOOPBACK_URL"], api_key="sk-loopback"
    )
    assert len(vectors) == 2
"""


@pytest.fixture(autouse=True)
def _plain_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    plain_project(pytester, monkeypatch)


class TestRecordAndReplay:
    """Embedding requests are cassette interactions like chat's: recorded, then replayed."""

    def test_record_then_replay_offline(
        self, pytester: pytest.Pytester, loopback_server: ProviderServer
    ) -> None:
        pytester.makepyfile(test_live=LIVE_EMBEDDINGS)
        pytester.runpytest("--exllm-record-mode=once").assert_outcomes(passed=2)
        assert [request.path for request in loopback_server.requests] == [
            "/embeddings",
            "/models/gemini-embedding-001:batchEmbedContents",
        ]
        cassette = pytester.path / "cassettes/test_live/test_embed.json"
        assert len(read_cassette(cassette).interactions) == 1
        assert "sk-loopback" not in cassette.read_text()

        loopback_server.stop()
        pytester.runpytest("--exllm-record-mode=none").assert_outcomes(passed=2)
