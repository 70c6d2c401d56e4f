"""Tests for exllm_py.testing.vcr_interop: vcrpy does not record what exllm_py records.

A real vcrpy configuration records real httpx requests to the loopback
provider server; the requests exllm_py's recorder sends (inside
:func:`~exllm_py.testing.core.forwarding`) must stay out of vcrpy's cassette.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import vcr  # type: ignore[import-untyped]  # vcrpy ships no type information

from exllm_py.testing.core import forwarding
from exllm_py.testing.vcr_interop import install, skip_exllm_requests
from tests.fakes import ProviderServer


def _recorded_by_vcrpy(configuration: Any, path: Path, server: ProviderServer) -> list[str]:
    """Send one request as the test's own and one as exllm_py's recorder; what vcrpy kept."""
    with configuration.use_cassette(str(path)) as cassette, httpx.Client() as http:
        http.post(f"{server.url}/v1/chat/completions", json={"sent": "by the test"})
        with forwarding():
            http.post(f"{server.url}/v1/chat/completions", json={"sent": "by exllm_py"})
    return [request.body.decode() for request in cassette.requests]


class TestInstall:
    """install() hides exllm_py's own sends from vcrpy, and keeps a filter vcrpy already had."""

    def test_vcrpy_records_the_tests_own_requests_only(
        self, tmp_path: Path, provider_server: ProviderServer
    ) -> None:
        configuration = vcr.VCR(record_mode="all")
        install(configuration)
        assert configuration.before_record_request is skip_exllm_requests
        kept = _recorded_by_vcrpy(configuration, tmp_path / "c.yaml", provider_server)
        assert kept == ['{"sent":"by the test"}']

    def test_a_filter_vcrpy_already_had_still_sees_the_tests_requests(
        self, tmp_path: Path, provider_server: ProviderServer
    ) -> None:
        seen: list[str] = []

        def their_filter(request: Any) -> Any:
            seen.append(request.body.decode())
            request.body = b"scrubbed"
            return request

        configuration = vcr.VCR(record_mode="all", before_record_request=their_filter)
        install(configuration)
        kept = _recorded_by_vcrpy(configuration, tmp_path / "c.yaml", provider_server)
        assert kept == ["scrubbed"]
        assert "by exllm_py" not in "".join(seen)


class TestSkipExllmRequests:
    """The filter itself: the request unchanged outside exllm_py's sends, ``None`` inside."""

    def test_outside_and_inside_the_recorder(self) -> None:
        request = vcr.request.Request("POST", "https://api.example.com/v1/x", b"{}", {})
        assert skip_exllm_requests(request) is request
        with forwarding():
            assert skip_exllm_requests(request) is None
