"""The label rules every metric bridge follows: which labels an event gives, and how many values.

A metrics backend keeps one time series per distinct set of label values,
so each label here takes a bounded number of values:

- ``provider``: as the call named it (``"openai"``, ``"mock"``, ``"function"``
  for ``@cached`` functions): the adapters registered in code, a handful;
- ``model``: the first :data:`MAX_MODELS` distinct names a bridge sees, then
  :data:`OTHER`. Model names come from callers (and ``@cached`` functions'
  qualified names), so there is no bound on them but this one;
- ``tier``: ``"l1"`` or ``"l2"`` for a ``TieredStore``'s hits, else ``""``;
- ``namespace``: only when the bridge asks for it (``LabelRules(namespace=True)``,
  which Prometheus's ``install(namespace_label=True)`` passes on).
  Namespaces are often one per tenant or per user: a label of them
  multiplies every series by the number of tenants. Opted in, it is capped
  at :data:`MAX_NAMESPACES` values, then :data:`OTHER`;
- ``store``: the kind of store (``"memory"``, ``"redis"``, ``"disk"``,
  ``"tiered"``), not its name: a breaker's name holds a Redis namespace or a
  directory, and a strategy's store error names the store's class;
- ``reason``: as the emitter says it (a short word from the code), capped
  all the same, so that a store of the caller's own cannot flood it.

The cache key is never a label: it would be one series per entry.

A bridge keeps one :class:`LabelRules` (the caps count per bridge, per
process) and remembers, per :meth:`LabelRules.call_key`, what
:meth:`LabelRules.call` made of it, except when a value was capped
(:attr:`CallLabels.capped`): the raw keys that map to :data:`OTHER` have
no bound, so they are resolved again each time instead of remembered.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import attrs

from exllm_py.forksafe import renew_after_fork

__all__ = [
    "MAX_MODELS",
    "MAX_NAMESPACES",
    "MAX_REASONS",
    "MAX_STORES",
    "OTHER",
    "CallKey",
    "CallLabels",
    "Cap",
    "LabelRules",
]

#: What a capped label reads once its cap is reached.
OTHER: Final = "other"
MAX_MODELS: Final = 100
MAX_NAMESPACES: Final = 100
MAX_STORES: Final = 20
MAX_REASONS: Final = 50

#: What :meth:`LabelRules.call_key` reads from a call's event, as given.
CallKey: TypeAlias = tuple[object, ...]


class Cap:
    """The first ``limit`` distinct values pass as they are; any new one after them is ``OTHER``."""

    __slots__ = ("__weakref__", "_lock", "_seen", "limit")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a label cap must admit at least 1 value, got limit={limit!r}")
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")  # a forked worker must not inherit it held

    def __repr__(self) -> str:
        return f"<Cap {len(self._seen)}/{self.limit}>"

    def __len__(self) -> int:
        return len(self._seen)

    def __call__(self, value: str) -> str:
        if value in self._seen:  # a set read needs no lock; admitting one does
            return value
        with self._lock:
            if value not in self._seen and len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(value)
        return value


@attrs.frozen
class CallLabels:
    """The labels of a hit, miss or put; ``namespace`` is ``""`` unless the bridge labels it.

    ``capped``: a value was replaced by :data:`OTHER` (do not remember the raw key).
    """

    provider: str
    model: str
    tier: str
    namespace: str
    capped: bool = attrs.field(default=False, eq=False)


class LabelRules:
    """One bridge's label rules, with the state of its caps.

    ``namespace``: label calls by their ``cache_namespace`` (off by default,
    see the module's docstring for why); ``max_models`` and
    ``max_namespaces``: the caps.
    """

    def __init__(
        self,
        *,
        namespace: bool = False,
        max_models: int = MAX_MODELS,
        max_namespaces: int = MAX_NAMESPACES,
    ) -> None:
        self.namespace = namespace
        self.models = Cap(max_models)
        self.namespaces = Cap(max_namespaces)
        self._stores = Cap(MAX_STORES)
        self._reasons = Cap(MAX_REASONS)

    def __repr__(self) -> str:
        return f"<LabelRules namespace={self.namespace} models={self.models!r}>"

    def call_key(self, metadata: Mapping[str, Any]) -> CallKey:
        """What the labels of a hit, miss or put depend on, read from its event's metadata.

        Cheap (three or four reads): bridges call it on every event and look
        the result up; the namespace is left out unless it is labelled, so
        that a namespace per user does not grow a bridge's lookup table.
        """
        get = metadata.get
        if self.namespace:
            return (get("provider"), get("model"), get("tier"), get("namespace"))
        return (get("provider"), get("model"), get("tier"))

    def call(self, key: CallKey) -> CallLabels:
        """The labels for a :meth:`call_key`: text, capped (once per distinct key, ideally)."""
        model = _text(key[1])
        namespace = _text(key[3]) if self.namespace else ""
        labels = CallLabels(
            provider=_text(key[0]),
            model=self.models(model),
            tier=_text(key[2]),
            namespace=self.namespaces(namespace) if self.namespace else "",
        )
        if (labels.model, labels.namespace) == (model, namespace):
            return labels
        return attrs.evolve(labels, capped=True)

    def store(self, name: object) -> str:
        """The kind of store an event names: ``"redis:ns"`` and ``"RedisStore"`` are ``"redis"``."""
        text = _text(name).partition(":")[0]
        if text.endswith("Store") and len(text) > len("Store"):
            text = text[: -len("Store")]
        return self._stores(text.lower())

    def reason(self, value: object) -> str:
        """An eviction, error or retry reason, capped."""
        return self._reasons(_text(value))

    def error_reason(self, error: object) -> str:
        """A test cache error's reason: the error's type name (``"RecordingNotFound"``)."""
        return self.reason(_text(error).partition(":")[0].strip())


def _text(value: object) -> str:
    """A label value: ``None`` (the event did not say) is ``""``."""
    return "" if value is None else str(value)
