"""``BuildRequest``: credentials, then the provider adapter turns the call into HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import httpx

from exllm_py.extensions import MISSING_KEY, PROVIDER
from exllm_py.pipeline.call import Call
from exllm_py.pipeline.plug import Halt
from exllm_py.request import ChatRequest

if TYPE_CHECKING:
    from exllm_py.providers.config import ProviderConfig

__all__ = ["BuildRequest", "labelled"]


class BuildRequest:
    """Resolves the API key, builds the ``httpx.Request`` and sets its timeout.

    The key comes from the ``api_key`` option, else the provider's env vars
    (first set wins). A missing key marks the request rather than failing
    here; see :mod:`exllm_py.pipeline.credentials`.
    """

    __slots__ = ()

    def __call__(self, call: Call) -> Halt | None:
        spec, config = call.spec, call.config
        assert spec is not None, "ValidateProvider runs first"
        assert config is not None, "FetchConfiguration runs first"
        api_key = call.credential()
        config = attrs.evolve(config, api_key=api_key)
        call.config = config
        call.request = request = ChatRequest(
            spec.name, call.model, call.messages, call.answer_options, call.stream
        )
        call.http_request = labelled(config.adapter.build_request(request, config), config, api_key)
        return None


def labelled(
    http_request: httpx.Request, config: ProviderConfig, api_key: str | None
) -> httpx.Request:
    """``http_request`` marked with the call's timeout, provider and (keyless) missing env var.

    What the transports below read: httpx the timeout, the recorder the
    provider's name, and the credential guard which variable was missing.
    """
    if config.timeout is not None:
        http_request.extensions["timeout"] = dict.fromkeys(
            ("connect", "read", "write", "pool"), config.timeout
        )
    http_request.extensions[PROVIDER] = config.name
    if api_key is None and config.missing_key_env is not None:
        http_request.extensions[MISSING_KEY] = (config.name, config.missing_key_env)
    return http_request
