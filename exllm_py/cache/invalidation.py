"""``Invalidation``: which entries ``invalidate(...)`` removes, checked before any store is touched.

Every filter given must match (they combine with AND); at least one must
be given, so that a slip never empties a store (``clear()`` is for that).
Stores select by the labels each entry carries
(:class:`~exllm_py.cache.entry.EntryLabels`) and by when it was stored.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import attrs

from exllm_py.cache.arguments import shown
from exllm_py.cache.entry import EntryLabels
from exllm_py.errors import ValidationError

if TYPE_CHECKING:
    from exllm_py.cache.stores.base import CacheStore

__all__ = ["Invalidation", "holds_key"]

_TEXT_FILTERS = ("tag", "provider", "model", "namespace", "key")


def _seconds(value: Any) -> Any:
    # A timedelta is what a reader of ``older_than=`` most likely reaches for.
    return value.total_seconds() if isinstance(value, datetime.timedelta) else value


def _text(value: Any) -> Any:
    # A str subclass (a StrEnum tag, as calls may pass in cache_tags) as the plain
    # str entries are labelled with; anything else is left for the check to name.
    return str(value) if isinstance(value, str) else value


@attrs.frozen
class Invalidation:
    """Entries with this tag, provider, model, namespace and key, stored over ``older_than`` s ago.

    ``key`` is a cache key as ``LLMResponse.metadata["cache_key"]`` or
    :func:`~exllm_py.cache.keys.cache_key` gives it. ``older_than`` is
    seconds (or a ``timedelta``) before now, by the store's clock.
    """

    tag: str | None = attrs.field(default=None, converter=_text)
    provider: str | None = attrs.field(default=None, converter=_text)
    model: str | None = attrs.field(default=None, converter=_text)
    namespace: str | None = attrs.field(default=None, converter=_text)
    older_than: float | None = attrs.field(default=None, converter=_seconds)
    key: str | None = attrs.field(default=None, converter=_text)

    def __attrs_post_init__(self) -> None:
        for name in _TEXT_FILTERS:
            value = getattr(self, name)
            if value is not None and (type(value) is not str or not value):
                raise ValidationError(
                    f"invalidate {name} must be a non-empty string, got {shown(value)}"
                )
        older_than = self.older_than
        if older_than is not None and (
            type(older_than) not in (int, float) or not 0 <= older_than < float("inf")
        ):
            raise ValidationError(
                "invalidate older_than must be seconds >= 0 or a timedelta, "
                f"got {shown(older_than)}"
            )
        if self.is_empty():
            raise ValidationError(
                "invalidate needs at least one filter: tag, provider, model, namespace, "
                "older_than or key (to remove every entry, use the store's clear())"
            )

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in (*_TEXT_FILTERS, "older_than"))

    def matches(self, key: str, labels: EntryLabels, stored_at: float, now: float) -> bool:
        """Whether the entry under ``key``, with these labels, stored at ``stored_at``, goes."""
        if self.key is not None and key != self.key:
            return False
        if self.tag is not None and self.tag not in labels.tags:
            return False
        if self.provider is not None and labels.provider != self.provider:
            return False
        if self.model is not None and labels.model != self.model:
            return False
        if self.namespace is not None and labels.namespace != self.namespace:
            return False
        return self.older_than is None or stored_at < now - self.older_than

    def describe(self) -> str:
        """The filters given, as a reader would write them: ``tag='docs-v3', model='gpt-4o'``."""
        given = ((name, getattr(self, name)) for name in (*_TEXT_FILTERS, "older_than"))
        return ", ".join(f"{name}={value!r}" for name, value in given if value is not None)


def holds_key(store: CacheStore, key: str) -> bool:
    """Whether ``store`` holds a live entry under ``key``, asked without reading it.

    A dry-run invalidation of that one key: unlike ``get``, it counts no hit
    or miss in the store's statistics (and in the counts disk and Redis
    stores keep for every process), which a check made for housekeeping must
    not move.
    """
    return store.invalidate(Invalidation(key=key), dry_run=True) > 0
