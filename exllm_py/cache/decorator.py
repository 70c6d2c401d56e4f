"""``@cached``: any function's results through the response cache's stores, flights and telemetry.

A decorated function (sync or async, a method too) is called through a
cache strategy's ``fetch``/``afetch``, so it gets what a model call gets:
the store's TTLs and bounds, namespaces, single-flight (concurrent
identical calls run the function once; an error reaches every waiting
caller and nothing is stored) and the ``("exllm", "cache", ...)`` events.

Keys. The SHA-256 of the canonical JSON (sorted keys, compact) of the
function's module and qualified name, ``version``, the namespace and its
arguments, bound to its signature with defaults applied: ``f(1, b=2)``,
``f(b=2, a=1)`` and, when ``b`` defaults to 2, ``f(1)`` share an entry. A
first parameter named ``self`` or ``cls`` is left out, so every instance of
a class shares its method's entries; when the answer depends on the
instance, say how with ``key=``. ``key=`` takes the function's arguments and
returns a JSON value that stands for them (the name, version and namespace
still go in). An argument without a JSON form raises
:class:`~exllm_py.errors.ValidationError` naming it, before the function runs.

Values. A return value is stored as its JSON text, in the ``content`` of an
:class:`~exllm_py.types.LLMResponse` whose ``provider`` is ``"function"`` and
whose ``model`` is the function's qualified name: every store, its codec and
the strategy take it as they take a model's answer, and telemetry labels say
which function it was. It must be a JSON value that comes back equal (a
tuple, which would come back a list, is refused). Every caller, the one
whose call ran the function included, gets the value decoded from that
text: the same on a hit as on a miss, and its own to change.

Strategy. ``store=`` gives the decorated functions a
``ProductionStrategy(store)`` of their own; ``strategy=`` any strategy;
neither: :func:`default_strategy`, one ``ProductionStrategy(MemoryStore())``
shared by every such function. Not the default client's strategy: that may
be the HTTP-level ``TestStrategy`` or ``NoCache``, and a decorated function's
caching should not change with ``EXLLM_CACHE_STRATEGY``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeVar, cast

import attrs
import orjson

from exllm_py.cache.arguments import (
    check_callable,
    check_store,
    check_strategy,
    check_text,
    check_ttl,
)
from exllm_py.cache.keys import KEY_FORMAT_VERSION
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.strategy import CacheLookup, CacheStrategy
from exllm_py.errors import ValidationError
from exllm_py.request import DEFAULT_TTL, CacheControl, UseDefault
from exllm_py.types import LLMResponse

__all__ = ["FUNCTION_PROVIDER", "cached", "default_strategy"]

F = TypeVar("F", bound=Callable[..., Any])

#: The ``provider`` of a decorated function's entries and telemetry events.
FUNCTION_PROVIDER: Final = "function"

_JSON_VALUES = "JSON values (str, int, float, bool, None, lists, dicts with string keys)"

_default: ProductionStrategy | None = None
_default_lock = threading.Lock()


def default_strategy() -> ProductionStrategy:
    """The strategy of functions decorated with neither ``store=`` nor ``strategy=``."""
    global _default  # made on first use: importing this module costs no store
    if _default is not None:  # every call asks: no lock once it is made
        return _default
    with _default_lock:
        if _default is None:
            _default = ProductionStrategy(MemoryStore())
        return _default


def cached(
    ttl: float | UseDefault | None = DEFAULT_TTL,
    namespace: str | None = None,
    key: Callable[..., Any] | None = None,
    version: str = "1",
    strategy: CacheStrategy | None = None,
    store: CacheStore | None = None,
) -> Callable[[F], F]:
    """Cache the decorated function's results (see the module docstring).

    ``ttl`` is seconds, ``None`` for never; left out, the store's default
    applies. Bump ``version`` when the function's answers change.
    """
    if callable(ttl):
        raise ValidationError(
            "cached takes settings, not the function: write @cached() with parentheses, "
            "or @cached(ttl=600)"
        )
    control = CacheControl(ttl=_ttl(ttl), namespace=_optional_text("namespace", namespace))
    check_text("cached version", version)
    if key is not None:
        check_callable("cached key", key, "a function of the arguments returning a JSON value")
    strategy_of = _strategy_of(strategy, store)

    def decorate(fn: F) -> F:
        keying = _Keying.of(fn, version, control.namespace, key)
        return cast("F", _wrap(fn, keying, control, strategy_of))  # its signature, its twin

    return decorate


def _ttl(ttl: float | UseDefault | None) -> float | UseDefault | None:
    return ttl if isinstance(ttl, UseDefault) else check_ttl("cached ttl", ttl)


def _optional_text(name: str, value: str | None) -> str | None:
    return None if value is None else check_text(f"cached {name}", value)


def _strategy_of(
    strategy: CacheStrategy | None, store: CacheStore | None
) -> Callable[[], CacheStrategy]:
    if strategy is not None and store is not None:
        raise ValidationError(
            "cached takes strategy= or store=, not both: a store goes inside the strategy"
        )
    if strategy is not None:
        check_strategy("cached strategy", strategy)
        return lambda: strategy
    if store is not None:
        check_store("cached store", store)
        own = ProductionStrategy(store)
        return lambda: own
    return default_strategy


@attrs.frozen
class _Keying:
    """How one decorated function's calls become cache keys."""

    name: str
    version: str
    namespace: str | None
    signature: inspect.Signature | None
    #: The first parameter (``self``, ``cls``), left out of the key; ``None`` if none is.
    skipped: str | None
    key: Callable[..., Any] | None = attrs.field(eq=False)

    @classmethod
    def of(
        cls, fn: Any, version: str, namespace: str | None, key: Callable[..., Any] | None
    ) -> _Keying:
        _check_function(fn)
        name = f"{fn.__module__}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"
        signature = None if key is not None else _signature(fn, name)
        return cls(name, version, namespace, signature, _skipped(signature), key)

    def lookup(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], control: CacheControl
    ) -> CacheLookup:
        return CacheLookup(self.key_for(args, kwargs), control, FUNCTION_PROVIDER, self.name)

    def key_for(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The store key of a call with ``args`` and ``kwargs``."""
        if self.key is not None:
            kind, value = "key", self.key(*args, **kwargs)
        else:
            kind, value = "arguments", self._arguments(args, kwargs)
        # Tagged, and so never a model call's document (that starts with a number).
        document = (
            "cached",
            KEY_FORMAT_VERSION,
            self.namespace,
            self.name,
            self.version,
            kind,
            value,
        )
        try:
            canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError as exc:
            raise self._unkeyable(kind, value, exc) from exc
        return hashlib.sha256(canonical).hexdigest()

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        assert self.signature is not None  # made whenever there is no key=
        bound = self.signature.bind(*args, **kwargs)  # a TypeError, as the call would raise
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        if self.skipped is not None:
            del arguments[self.skipped]
        return arguments

    def _unkeyable(self, kind: str, value: Any, exc: Exception) -> ValidationError:
        if kind == "key":
            return ValidationError(
                f"the key= function of @cached {self.name} returned {_a(value)}, which has no "
                f"JSON form ({exc}); return {_JSON_VALUES}"
            )
        where, culprit = _culprit(value)
        return ValidationError(
            f"argument {where} of @cached {self.name} is {_a(culprit)}, which has no JSON form "
            f"and so cannot be part of the cache key ({exc}); pass {_JSON_VALUES}, or give "
            "@cached a key= function that maps the arguments to one"
        )


def _check_function(fn: Any) -> None:
    if isinstance(fn, (classmethod, staticmethod)):
        raise ValidationError(
            f"@cached must be applied before @{type(fn).__name__}: put @cached below it"
        )
    check_callable("the function @cached decorates", fn, "a function or method")
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        raise ValidationError(
            f"@cached cannot cache the generator {fn.__qualname__}: its values are made as "
            "they are read; cache a function that returns them as a list instead"
        )


def _signature(fn: Any, name: str) -> inspect.Signature:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"@cached cannot read the parameters of {name} ({exc}): give it a key= function "
            "that maps the arguments to a JSON value"
        ) from exc


def _skipped(signature: inspect.Signature | None) -> str | None:
    if signature is None or not signature.parameters:
        return None
    first = next(iter(signature.parameters.values()))
    positional = (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD)
    return first.name if first.name in ("self", "cls") and first.kind in positional else None


def _culprit(arguments: Mapping[str, Any]) -> tuple[str, Any]:
    """Which argument (or element of ``*args``, ``**kwargs``) has no JSON form, and its value."""
    for name, value in arguments.items():
        if _has_json_form(value):
            continue
        for part, part_value in _parts(name, value):
            if not _has_json_form(part_value):
                return part, part_value
        return repr(name), value
    return "(unknown)", None  # not reached: the whole failed, so one part does


def _parts(name: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, tuple):  # *args
        yield from ((f"{name}[{index}]", item) for index, item in enumerate(value))
    elif isinstance(value, dict):  # **kwargs
        yield from ((f"{name}[{part!r}]", item) for part, item in value.items())


def _has_json_form(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    return True


def _a(value: Any) -> str:
    return f"a {type(value).__name__}"


# Values: a return value as the entry's content, and back.


def _encoded(name: str, value: Any) -> LLMResponse:
    try:
        text = orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise ValidationError(
            f"@cached {name} returned {_a(value)}, which has no JSON form ({exc}); "
            f"return {_JSON_VALUES}"
        ) from exc
    back = orjson.loads(text)
    if back != value:
        raise ValidationError(
            f"@cached {name} returned {_a(value)} that would not come back equal from its JSON "
            f"form (a tuple comes back a list, a datetime a str, NaN None, in it or inside it); "
            f"return {_JSON_VALUES}"
        )
    return LLMResponse(content=text.decode(), model=name, provider=FUNCTION_PROVIDER)


def _decoded(response: LLMResponse) -> Any:
    return orjson.loads(response.content)


# The shells: everything above is shared; they differ only in fetch or afetch.


def _wrap(
    fn: Callable[..., Any],
    keying: _Keying,
    control: CacheControl,
    strategy_of: Callable[[], CacheStrategy],
) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def acall(*args: Any, **kwargs: Any) -> Any:
            lookup = keying.lookup(args, kwargs, control)

            async def compute() -> LLMResponse:
                return _encoded(keying.name, await fn(*args, **kwargs))

            return _decoded(await strategy_of().afetch(lookup, compute))

        return acall

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        lookup = keying.lookup(args, kwargs, control)
        return _decoded(
            strategy_of().fetch(lookup, lambda: _encoded(keying.name, fn(*args, **kwargs)))
        )

    return call
