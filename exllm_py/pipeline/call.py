"""``Call``: the state of one call as it moves through the pipeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from exllm_py.pipeline.retry import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_POLICY, RetryPolicy
from exllm_py.request import DEFAULT_CACHE_CONTROL, CacheControl, ChatRequest
from exllm_py.types import LLMResponse

if TYPE_CHECKING:
    from exllm_py.cache.strategy import CacheStrategy
    from exllm_py.providers.config import ProviderConfig, ProviderSpec

__all__ = ["Call"]


# Mutable on purpose: each plug fills in its own part. Copying a frozen object
# per plug would cost the cache-hit path more than the cache lookup itself.
@attrs.define
class Call:
    """One call: the raw input, then what each plug derived from it."""

    provider: str
    messages: Sequence[Any]
    options: Mapping[str, Any]
    strategy: CacheStrategy
    env: Mapping[str, str]
    stream: bool = False
    default_timeout: float | None = None
    #: The client's memo of ``<PROVIDER>_BASE_URL`` values, read once per client.
    endpoint_env: dict[str, str | None] = attrs.Factory(dict)
    #: The client's retry budget (a call's ``max_retries`` option overrides it) and policy.
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY

    spec: ProviderSpec | None = None
    model: str = ""
    #: The answer-changing options the caller set (``model`` aside).
    answer_options: dict[str, Any] = attrs.Factory(dict)
    request: ChatRequest | None = None
    cache: CacheControl = DEFAULT_CACHE_CONTROL
    config: ProviderConfig | None = None
    http_request: httpx.Request | None = None
    http_response: httpx.Response | None = None
    response: LLMResponse | None = None

    def __repr__(self) -> str:
        # Short and safe: the generated repr would print the options (api_key)
        # and the whole environment, keys and all, into any traceback.
        return f"<Call {self.provider!r} model={self.model!r} stream={self.stream}>"

    def credential(self) -> str | None:
        """The API key this call sends: the ``api_key`` option, else the provider's env vars."""
        api_key: str | None = self.options.get("api_key")
        if api_key is None and self.spec is not None:
            # First set wins, as the providers' own SDKs read them.
            api_key = next(filter(None, map(self.env.get, self.spec.key_envs)), None)
        return api_key

    def retry_budget(self) -> int:
        """How many retries this call may make: its ``max_retries`` option, else the client's."""
        budget: int | None = self.options.get("max_retries")
        return self.max_retries if budget is None else budget
