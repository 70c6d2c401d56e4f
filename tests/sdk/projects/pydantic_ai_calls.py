"""A chat through pydantic-ai's ``Agent`` on its OpenAI model, itself on the ``openai`` SDK."""

from __future__ import annotations

import asyncio
import os

import openai
import pytest
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

BASE_URL = os.environ["LOOPBACK_URL"] + "/v1"
# The SDK refuses to start without some key; replays send none anywhere.
API_KEY = os.environ.get("OPENAI_API_KEY", "unused-on-replay")


@pytest.mark.live_api
def test_agent_chat() -> None:
    async def ask() -> str:
        # The SDK client is the test's, so it is closed in the loop that used it.
        async with openai.AsyncOpenAI(base_url=BASE_URL, api_key=API_KEY) as client:
            model = OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(openai_client=client))
            result = await Agent(model).run("What is the capital of France?")
        return result.output

    assert asyncio.run(ask()) == "Hello from the provider server!"
