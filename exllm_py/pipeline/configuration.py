"""``FetchConfiguration``: the endpoint and timeout for the call's provider."""

from __future__ import annotations

from typing import Any

from exllm_py.pipeline.call import Call
from exllm_py.pipeline.plug import Halt
from exllm_py.providers.config import ProviderConfig

__all__ = ["FetchConfiguration"]

_MAX_CONFIGS = 256
_UNREAD: Any = object()  # an env var this client has not looked up yet


class FetchConfiguration:
    """Resolves the base URL (call option, then ``<PROVIDER>_BASE_URL``, then the default).

    A client reads each ``<PROVIDER>_BASE_URL`` once, on its first call to
    that provider, as the providers' own SDKs read theirs when a client is
    made: looking up an unset variable costs more than the rest of a cache
    hit's configuration.

    The API key is resolved later, when the request is built: a cached or
    recorded answer needs no credentials, and a missing key must only fail a
    call that has to reach the network. Configurations are kept per
    (provider, base URL, timeout): this plug runs on every cache hit.
    """

    __slots__ = ("_configs",)

    def __init__(self) -> None:
        self._configs: dict[tuple[str, str, float | None], ProviderConfig] = {}

    def __call__(self, call: Call) -> Halt | None:
        spec = call.spec
        assert spec is not None, "ValidateProvider runs first"
        options = call.options
        base_url = options.get("base_url")
        if not base_url and spec.base_url_env is not None:
            memo = call.endpoint_env
            base_url = memo.get(spec.base_url_env, _UNREAD)
            if base_url is _UNREAD:
                base_url = memo[spec.base_url_env] = call.env.get(spec.base_url_env) or None
        timeout = options.get("timeout")
        if timeout is None:
            timeout = call.default_timeout
        identity = (spec.name, base_url or spec.base_url, timeout)
        config = self._configs.get(identity)
        if config is None:
            config = ProviderConfig(
                name=spec.name,
                adapter=spec.adapter,
                base_url=identity[1].rstrip("/"),
                api_key=None,
                missing_key_env=spec.key_envs[0] if spec.key_required and spec.key_envs else None,
                timeout=timeout,
            )
            if len(self._configs) >= _MAX_CONFIGS:
                self._configs.clear()
            self._configs[identity] = config
        call.config = config
        return None
