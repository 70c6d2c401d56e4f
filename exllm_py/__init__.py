"""exllm_py: an LLM client whose calls run through one cache decision point.

>>> import exllm_py
>>> resp = exllm_py.chat("mock", [{"role": "user", "content": "Hi"}])
>>> resp.content
'mock response to: Hi'
"""

from exllm_py import errors, telemetry
from exllm_py.client import Client, achat, astream, chat, configure, stream
from exllm_py.providers.mock import MockProvider
from exllm_py.types import LLMResponse, Message, StreamChunk, ToolCall, Usage

__all__ = [
    "Client",
    "LLMResponse",
    "Message",
    "MockProvider",
    "StreamChunk",
    "ToolCall",
    "Usage",
    "achat",
    "astream",
    "chat",
    "configure",
    "errors",
    "stream",
    "telemetry",
]
__version__ = "0.1.0"
