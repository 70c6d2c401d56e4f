"""The credentials one call sends, and hiding them from the errors the call raises.

Known key shapes are hidden by every :class:`~exllm_py.errors.ExLLMError`
on its own; a key with no known shape (Mistral's, a gateway's) can only be
hidden by value, and only the call knows its values. The runner therefore
hands each error leaving a call to :func:`redact_error`, before the error
reaches the cache strategy (whose single-flight may share it) or the caller.
"""

from __future__ import annotations

from exllm_py.errors import ExLLMError
from exllm_py.pipeline.call import Call
from exllm_py.secret_patterns import url_credentials

__all__ = ["redact_error", "sent_credentials"]


def redact_error(error: ExLLMError, call: Call) -> None:
    """Hide from ``error``'s message every credential ``call`` sent or would send."""
    error.redact(sent_credentials(call))


def sent_credentials(call: Call) -> list[str]:
    """The API key (option, resolved, or from the env) and the base URL's credentials."""
    values: list[str] = []
    config = call.config
    if config is not None:
        values.append(config.api_key or "")
        values += url_credentials(config.base_url)
    options = call.options
    for option in ("api_key", "base_url"):
        value = options.get(option)
        if isinstance(value, str):
            values += url_credentials(value) if option == "base_url" else [value]
    spec = call.spec
    if spec is not None:
        # A key taken from the environment: the same lookup the request builder makes.
        values += [call.env.get(name) or "" for name in spec.key_envs]
        if spec.base_url_env is not None:
            values += url_credentials(call.env.get(spec.base_url_env) or "")
    return [value for value in values if value]
