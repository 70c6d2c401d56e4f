"""Provider specs (what a provider name means) and resolved per-call configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from exllm_py.secret_patterns import hide_url_credentials

if TYPE_CHECKING:
    from exllm_py.providers.adapter import ProviderAdapter

__all__ = ["ProviderConfig", "ProviderSpec"]


@attrs.frozen
class ProviderSpec:
    """A provider name's wire format, default endpoint and environment variables.

    ``key_envs`` lists the variables read for the API key, first found wins;
    an empty tuple means the provider needs no key (local servers).
    ``key_required`` is False for local servers that accept any key.
    """

    name: str
    adapter: ProviderAdapter = attrs.field(eq=False, repr=False)
    base_url: str
    key_envs: tuple[str, ...]
    base_url_env: str | None
    default_model: str | None = None
    key_required: bool = True


@attrs.frozen
class ProviderConfig:
    """A provider's settings for one call: endpoint, key (or why it is missing), timeout."""

    name: str
    adapter: ProviderAdapter = attrs.field(eq=False, repr=False)
    # A password in the URL stays unseen.
    base_url: str = attrs.field(repr=lambda url: repr(hide_url_credentials(url)))
    api_key: str | None = attrs.field(repr=False)
    #: The env var the user should set when ``api_key`` is missing and required.
    missing_key_env: str | None = None
    timeout: float | None = None
