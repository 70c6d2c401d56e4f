"""The validating plugs: provider, messages, options. They run before any I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from exllm_py.cache.arguments import (
    MAX_TIMEOUT,
    check_seconds,
    check_text,
    check_ttl,
    is_number,
    shown,
)
from exllm_py.errors import ConfigurationError, ValidationError
from exllm_py.pipeline.call import Call
from exllm_py.pipeline.plug import Halt
from exllm_py.pipeline.retry import check_max_retries
from exllm_py.providers.registry import PROVIDERS, known_providers
from exllm_py.request import (
    ANSWER_OPTIONS,
    CACHE_OPTIONS,
    DEFAULT_TTL,
    KNOWN_OPTIONS,
    CacheControl,
)

__all__ = [
    "ValidateMessages",
    "ValidateOptionValues",
    "ValidateOptions",
    "ValidateProvider",
    "check_messages",
    "check_option_values",
]

_ANSWER_WITHOUT_MODEL = ANSWER_OPTIONS - {"model"}
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
# Roles whose content must be plain text; user and assistant may send parts (images).
_TEXT_ONLY_ROLES = frozenset({"system", "developer", "tool"})


class ValidateProvider:
    """Looks the provider name up; an unknown name lists the known ones."""

    __slots__ = ()

    def __call__(self, call: Call) -> Halt | None:
        try:
            spec = PROVIDERS.get(call.provider)
        except TypeError:  # unhashable: not a name at all
            spec = None
        if spec is None:
            raise ConfigurationError(
                f"unknown provider {call.provider!r}; known providers: {known_providers()}"
            )
        call.spec = spec
        return None


class ValidateMessages:
    """Checks the messages: a non-empty list, known roles, text where text is needed.

    Message objects are replaced by their dict form, which adapters expect.
    """

    __slots__ = ()

    def __call__(self, call: Call) -> Halt | None:
        check_messages(call)
        return None


def check_messages(call: Call) -> None:
    """Validate ``call.messages`` (see :class:`ValidateMessages`)."""
    messages = call.messages
    # list and tuple first: the ABC check is slow.
    if type(messages) is not list and (
        isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence)
    ):
        raise ValidationError(
            "messages must be a list of messages such as "
            f"[{{'role': 'user', 'content': 'Hi'}}], got {type(messages).__name__}"
        )
    if not messages:
        raise ValidationError("messages is empty: pass at least one message")
    normalized: list[Any] | None = None
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            to_dict = getattr(message, "to_dict", None)
            if to_dict is None:
                raise ValidationError(
                    f"messages[{index}] must be a dict or exllm_py.Message, "
                    f"got {type(message).__name__}"
                )
            if normalized is None:
                normalized = list(messages[:index])
            message = to_dict()
        _check_message(index, message)
        if normalized is not None:
            normalized.append(message)
    if normalized is not None:
        call.messages = normalized


def _check_message(index: int, message: Mapping[str, Any]) -> None:
    role = message.get("role")
    if role not in ROLES:
        raise ValidationError(
            f"messages[{index}] has unknown role {role!r}; "
            f"expected one of {', '.join(sorted(ROLES))}"
        )
    # What the cache key treats as equal must validate alike (a hit skips these
    # checks): str subclasses are strings, tuples are lists, as orjson writes them.
    content = message.get("content")
    if isinstance(content, str):
        return
    if content is None:
        if role == "assistant" and message.get("tool_calls"):
            return
        raise ValidationError(f"messages[{index}] ({role}) has no content")
    if isinstance(content, (list, tuple)) and role not in _TEXT_ONLY_ROLES:
        for part_index, part in enumerate(content):
            if not isinstance(part, dict) or "type" not in part:
                raise ValidationError(
                    f"messages[{index}].content[{part_index}] must be a dict with a 'type', "
                    "e.g. {'type': 'text', 'text': '...'}"
                )
        return
    expected = "a string" if role in _TEXT_ONLY_ROLES else "a string or a list of content parts"
    raise ValidationError(
        f"messages[{index}] ({role}) content must be {expected}, got {type(content).__name__}"
    )


class ValidateOptions:
    """Checks option names, the model and the call controls; sets the cache controls.

    The values of the options sent to the provider (temperature, max_tokens,
    ...) are checked by :class:`ValidateOptionValues`, after the cache step,
    for the reason given in :mod:`exllm_py.pipeline`.
    """

    __slots__ = ()

    def __call__(self, call: Call) -> Halt | None:
        options = call.options
        answer: dict[str, Any] = {}
        model = None
        controls = False
        for name, value in options.items():
            if name in _ANSWER_WITHOUT_MODEL:
                if value is not None:
                    answer[name] = value  # values checked by ValidateOptionValues
                continue
            if name not in KNOWN_OPTIONS:
                raise ValidationError(_unknown_option_message(name))
            if name in CACHE_OPTIONS:
                controls = True  # even when None: cache_ttl=None means "never expires"
            if value is None:
                continue
            _CONTROL_CHECKS[name](name, value)
            if name == "model":
                model = value
        if model is None:
            spec = call.spec
            assert spec is not None, "ValidateProvider runs first"
            model = spec.default_model
            if model is None:
                raise ValidationError(
                    f"model is required for provider {spec.name!r}: pass model='...'"
                )
        call.model = model
        call.answer_options = answer
        if controls:
            call.cache = _cache_control(options)
        return None


class ValidateOptionValues:
    """Checks the values of the options sent to the provider: ranges and types."""

    __slots__ = ()

    def __call__(self, call: Call) -> Halt | None:
        check_option_values(call)
        return None


def check_option_values(call: Call) -> None:
    """Validate ``call.answer_options`` (see :class:`ValidateOptionValues`)."""
    for name, value in call.answer_options.items():
        check = _ANSWER_CHECKS.get(name)
        if check is not None:
            check(name, value)


def _unknown_option_message(name: str) -> str:
    import difflib  # only for a mistyped option: not worth loading with every import

    close = difflib.get_close_matches(name, KNOWN_OPTIONS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown option {name!r}{hint} Known options: {', '.join(sorted(KNOWN_OPTIONS))}"


def _cache_control(options: Mapping[str, Any]) -> CacheControl:
    ttl = options.get("cache_ttl", DEFAULT_TTL)
    mode = options.get("cache")
    return CacheControl(
        mode=True if mode is None or mode == "semantic" else mode,
        semantic=mode == "semantic",
        ttl=ttl,
        key=options.get("cache_key"),
        namespace=options.get("cache_namespace"),
        # Plain str (a StrEnum tag is its value), each once, in the order given.
        tags=tuple(dict.fromkeys(str(tag) for tag in options.get("cache_tags") or ())),
    )


def _number(name: str, value: Any, low: float, high: float) -> None:
    if not is_number(value):
        raise ValidationError(f"{name} must be a number, got {shown(value)}")
    if not low <= value <= high:
        raise ValidationError(f"{name} must be between {low:g} and {high:g}, got {shown(value)}")


def _temperature(name: str, value: Any) -> None:
    # The most common option gets a fast path: a plain in-range number.
    if (type(value) is float or type(value) is int) and 0.0 <= value <= 2.0:
        return
    _number(name, value, 0.0, 2.0)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer, got {value!r}")
    if value <= 0:
        raise ValidationError(f"{name} must be a positive integer, got {shown(value)}")


def _check_model(name: str, value: Any) -> None:
    if type(value) is not str or not value:
        raise ValidationError(f"model must be a non-empty string, got {value!r}")


def _check_stop(name: str, value: Any) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, (list, tuple)) or not all(isinstance(s, str) for s in value):
        raise ValidationError(f"stop must be a string or a list of strings, got {value!r}")


def _check_seed(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"seed must be an integer, got {value!r}")


def _check_tools(name: str, value: Any) -> None:
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, dict) for t in value):
        raise ValidationError(
            "tools must be a list of tool dicts such as "
            "{'type': 'function', 'function': {'name': ..., 'parameters': {...}}}"
        )


def _check_string(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}")


def _check_cache(name: str, value: Any) -> None:
    if value is not True and value is not False and value not in ("refresh", "semantic"):
        raise ValidationError(f"cache must be True, False, 'refresh' or 'semantic', got {value!r}")


def _check_cache_ttl(name: str, value: Any) -> None:
    # Capped: a TTL too large for a store would otherwise fail after the paid call.
    check_ttl(name, value)


def _check_cache_tags(name: str, value: Any) -> None:
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(tag, str) and tag for tag in value
    ):
        raise ValidationError(
            f"cache_tags must be a list of non-empty strings such as ['docs-v3', 'tenant-a'], "
            f"got {shown(value)}"
        )


def _check_timeout(name: str, value: Any) -> None:
    # Capped: sockets and locks refuse timeouts much beyond ~1e9 seconds
    # (OverflowError); waiting without end is what Client(timeout=None) is for.
    check_seconds(name, value, maximum=MAX_TIMEOUT)


_ANSWER_CHECKS: dict[str, Callable[[str, Any], None]] = {
    "temperature": _temperature,
    "top_p": lambda name, value: _number(name, value, 0.0, 1.0),
    "frequency_penalty": lambda name, value: _number(name, value, -2.0, 2.0),
    "presence_penalty": lambda name, value: _number(name, value, -2.0, 2.0),
    "max_tokens": _positive_int,
    "n": _positive_int,
    "stop": _check_stop,
    "seed": _check_seed,
    "tools": _check_tools,
    "system": _check_string,
}
_CONTROL_CHECKS: dict[str, Callable[[str, Any], object]] = {
    "model": _check_model,
    "api_key": check_text,
    "base_url": check_text,
    "timeout": _check_timeout,
    "max_retries": check_max_retries,
    "cache": _check_cache,
    "cache_ttl": _check_cache_ttl,
    "cache_key": check_text,
    "cache_namespace": check_text,
    "cache_tags": _check_cache_tags,
}
