"""Tests of the finish-reason table: every documented row, through each adapter."""

from __future__ import annotations

import pytest

from exllm_py.providers.finish import (
    ANTHROPIC_FINISH_REASONS,
    GEMINI_FINISH_REASONS,
    OPENAI_FINISH_REASONS,
)
from exllm_py.types import ToolCall
from tests.fakes import anthropic_message, gemini_response, openai_completion
from tests.providers.recorded_traffic import config_for

COMMON = {"stop", "length", "tool_calls", "content_filter"}


class TestTable:
    """Each row maps a documented value into the four common reasons."""

    @pytest.mark.parametrize(
        "table", [OPENAI_FINISH_REASONS, ANTHROPIC_FINISH_REASONS, GEMINI_FINISH_REASONS]
    )
    def test_rows_land_in_the_common_vocabulary(self, table: dict[str, str]) -> None:
        assert set(table.values()) <= COMMON

    def test_pause_turn_has_no_row(self) -> None:
        assert "pause_turn" not in ANTHROPIC_FINISH_REASONS


class TestOpenAIRows:
    """Chat-completions finish reasons, the provider's own kept in metadata."""

    @pytest.mark.parametrize(("native", "common"), sorted(OPENAI_FINISH_REASONS.items()))
    def test_row(self, native: str, common: str) -> None:
        body = openai_completion(finish_reason=native)
        response = config_for("openai").adapter.parse_response(body, config_for("openai"))
        assert response.finish_reason == common
        assert response.metadata["native_finish_reason"] == native

    @pytest.mark.parametrize("native", ["error", "insufficient_system_resource"])
    def test_unknown_value_passes_through(self, native: str) -> None:
        body = openai_completion(finish_reason=native)
        response = config_for("mistral").adapter.parse_response(body, config_for("mistral"))
        assert response.finish_reason == native


class TestAnthropicRows:
    """Messages stop reasons; pause_turn passes through so a caller's loop goes on."""

    @pytest.mark.parametrize(("native", "common"), sorted(ANTHROPIC_FINISH_REASONS.items()))
    def test_row(self, native: str, common: str) -> None:
        body = anthropic_message(stop_reason=native)
        response = config_for("anthropic").adapter.parse_response(body, config_for("anthropic"))
        assert response.finish_reason == common
        assert response.metadata["native_finish_reason"] == native

    def test_pause_turn_is_not_stop(self) -> None:
        body = anthropic_message(stop_reason="pause_turn")
        response = config_for("anthropic").adapter.parse_response(body, config_for("anthropic"))
        assert response.finish_reason == "pause_turn"
        assert response.metadata["native_finish_reason"] == "pause_turn"


class TestGeminiRows:
    """Gemini finish reasons; STOP after a function call is tool_calls."""

    @pytest.mark.parametrize(("native", "common"), sorted(GEMINI_FINISH_REASONS.items()))
    def test_row(self, native: str, common: str) -> None:
        body = gemini_response(finish_reason=native)
        response = config_for("gemini").adapter.parse_response(body, config_for("gemini"))
        assert response.finish_reason == common
        assert response.metadata["native_finish_reason"] == native

    def test_stop_with_a_function_call_is_tool_calls(self) -> None:
        call = ToolCall(id="call_0", name="f", arguments={})
        body = gemini_response(None, tool_calls=[call], finish_reason="STOP")
        response = config_for("gemini").adapter.parse_response(body, config_for("gemini"))
        assert response.finish_reason == "tool_calls"
        assert response.metadata["native_finish_reason"] == "STOP"

    @pytest.mark.parametrize("native", ["MALFORMED_FUNCTION_CALL", "OTHER", "LANGUAGE"])
    def test_unknown_value_passes_through_unchanged(self, native: str) -> None:
        body = gemini_response(finish_reason=native)
        response = config_for("gemini").adapter.parse_response(body, config_for("gemini"))
        assert response.finish_reason == native
