"""Building blocks the wire-format adapters share: JSON requests, message text, tool arguments.

Each adapter (:mod:`~exllm_py.providers.openai`, :mod:`~exllm_py.providers.anthropic`,
:mod:`~exllm_py.providers.gemini`) translates OpenAI-shaped messages into its
provider's format. What they all need the same way lives here: encoding a
JSON POST, flattening message content to text, decoding tool-call arguments
and SSE payloads, and reading the human message out of an error body.
Everything here is pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from exllm_py.errors import ProviderError, ValidationError
from exllm_py.providers.sse import ServerSentEvent
from exllm_py.request import ChatRequest

__all__ = [
    "RAW_ARGUMENTS_KEY",
    "clip",
    "decode_arguments",
    "decode_body",
    "decode_event",
    "error_detail",
    "image_url_of",
    "json_request",
    "split_data_url",
    "system_prompt",
    "text_of",
    "unexpected_body",
]

#: Tool arguments that are not a JSON object are kept, as text, under this key.
RAW_ARGUMENTS_KEY = "_raw"

# Longest error detail kept in a message: an HTML error page is no message.
_MAX_DETAIL = 500
# The characters keys and tokens are made of: a clipped text never ends in a
# run of them, which could be the first half of a key no redaction can recognise.
_TOKEN_TAIL = re.compile(r"[A-Za-z0-9_*.~+/=-]+$")


def json_request(
    url: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    *,
    stream: bool = False,
    params: Mapping[str, str] | None = None,
) -> httpx.Request:
    """A POST carrying ``body`` as compact JSON, asking for SSE when ``stream`` is set."""
    all_headers = {
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
        **headers,
    }
    endpoint = _endpoint(url, tuple(params.items()) if params else ())
    return httpx.Request("POST", endpoint, headers=all_headers, content=orjson.dumps(body))


# Parsing a URL costs a request more than its headers and JSON body together,
# and a client calls the same few endpoints: an httpx.URL is immutable, and a
# request made from one takes it as it is.
@functools.lru_cache(maxsize=256)
def _endpoint(url: str, params: tuple[tuple[str, str], ...]) -> httpx.URL:
    parsed = httpx.URL(url)
    return parsed.copy_merge_params(dict(params)) if params else parsed


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a part list joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type", "text") == "text"
        )
    return str(content)


def system_prompt(request: ChatRequest) -> str | None:
    """The ``system`` option and every system-role message, joined by blank lines.

    For formats (Anthropic, Gemini) where the system prompt is a top-level
    field rather than a message; the option comes first.
    """
    texts = []
    option = request.options.get("system")
    if option:
        texts.append(text_of(option))
    texts.extend(
        text_of(message.get("content"))
        for message in request.messages
        if message.get("role") in ("system", "developer")
    )
    texts = [text for text in texts if text]
    return "\n\n".join(texts) if texts else None


def image_url_of(part: Mapping[str, Any]) -> str:
    """The URL of an OpenAI ``image_url`` part (``{"url": ...}`` or the bare string)."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    if not isinstance(url, str) or not url:
        raise ValidationError(f"an image_url part needs a URL string, got {image!r}")
    return url


def split_data_url(url: str) -> tuple[str, str] | None:
    """``(media_type, base64_data)`` of a ``data:<type>;base64,<data>`` URL, else ``None``."""
    if not url.startswith("data:"):
        return None
    header, comma, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not comma or encoding != "base64":
        raise ValidationError(
            f"an inline image must be a base64 data URL (data:<type>;base64,...), got {url[:40]!r}"
        )
    return media_type or "application/octet-stream", data


def decode_arguments(arguments: Any) -> dict[str, Any]:
    """Tool-call arguments as a dict, from a JSON string or an already decoded object.

    Models sometimes produce arguments that are not a JSON object; rather
    than lose the answer, the text is kept under :data:`RAW_ARGUMENTS_KEY`.
    """
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if arguments is None or arguments == "":
        return {}
    text = str(arguments)
    try:
        decoded = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {RAW_ARGUMENTS_KEY: text}
    return decoded if isinstance(decoded, dict) else {RAW_ARGUMENTS_KEY: text}


def decode_body(body: bytes) -> Any:
    """A response body as JSON when it is JSON, else as text (``""`` when empty)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", errors="replace")


def decode_event(event: ServerSentEvent, provider: str) -> Any:
    """The JSON payload of a server-sent event; a payload that is not JSON is a provider error."""
    try:
        return orjson.loads(event.data)
    except orjson.JSONDecodeError as exc:
        raise ProviderError(
            f"{provider} sent a stream event whose data is not JSON: {clip(event.data, 200)!r}",
            provider=provider,
            body=event.data,
        ) from exc


def error_detail(body: Any) -> str:
    """The human message in an error body, in the shapes the providers use.

    ``{"error": {"message": ...}}`` (OpenAI, Anthropic, Gemini),
    ``{"error": "..."}`` (Ollama and some compatible servers),
    ``{"message": ...}`` / ``{"detail": ...}`` (proxies), a list of those
    (Gemini's streamed errors), or plain text.
    """
    if isinstance(body, list) and body:
        return error_detail(body[0])
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return clip(str(error["message"]))
        if isinstance(error, str) and error:
            return clip(error)
        for key in ("message", "detail"):
            if body.get(key):
                return clip(str(body[key]))
        return clip(orjson.dumps(body).decode())
    text = str(body).strip() if body is not None else ""
    return clip(text) if text else "the response body was empty"


def unexpected_body(provider: str, body: Any, expected: str) -> ProviderError:
    """The error for a 2xx body that lacks what the format promises."""
    return ProviderError(
        f"{provider} answered with a body this client cannot read: expected {expected}, "
        f"got {clip(repr(body), 200)}",
        provider=provider,
        body=body,
    )


def clip(text: str, limit: int = _MAX_DETAIL) -> str:
    """``text`` cut to ``limit`` characters for a message, never in the middle of a token.

    A key cut in half is no longer a whole value nor a known shape, so
    redaction would miss it: the cut drops the whole token instead.
    """
    if len(text) <= limit:
        return text
    return _TOKEN_TAIL.sub("", text[: limit - 1]) + "…"
