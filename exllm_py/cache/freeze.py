"""Read-only JSON values: what a cached response holds, so that no caller can change it.

Every hit of an entry returns the same response object (copying it per hit
would cost the hit path more than its whole budget), so the entry's
mutable parts are frozen once, when it is stored: ``raw``, the arguments of
its tool calls, its metadata. A store that decodes entries (Redis) serves a
fresh object per hit and freezes only its metadata; a ``TieredStore`` that
keeps a decoded entry in memory to serve again freezes it then, once, as it
promotes it. :func:`deep_freeze` copies dicts into
:class:`FrozenDict` and lists into :class:`FrozenList`, all the way down.

They are ``dict`` and ``list`` subclasses on purpose: they compare equal to
the plain values they were made from, and ``json`` and ``orjson`` serialize
them as they are (a ``MappingProxyType`` would be refused by both). Every
method that would change one raises ``TypeError``. ``copy.copy`` and
``.copy()`` give a plain shallow copy, ``copy.deepcopy`` a plain deep copy
(what a caller who wants to edit asks for); ``pickle`` keeps them frozen.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["FrozenDict", "FrozenList", "deep_freeze", "thaw"]


def _refuse(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        f"this {type(self).__name__} belongs to a cached response and is shared by every "
        "cache hit, so it is read-only; edit a copy (copy.deepcopy(value))"
    )


class FrozenDict(dict[str, Any]):
    """A ``dict`` that cannot be changed after it is made (see the module docstring)."""

    __slots__ = ()

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return FrozenDict, (dict(self),)

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return thaw(self)  # type: ignore[no-any-return]  # a FrozenDict thaws to a dict


class FrozenList(list[Any]):
    """A ``list`` that cannot be changed after it is made (see the module docstring)."""

    __slots__ = ()

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = clear = extend = insert = pop = remove = reverse = sort = _refuse

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return FrozenList, (list(self),)

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return thaw(self)  # type: ignore[no-any-return]  # a FrozenList thaws to a list


def deep_freeze(value: Any) -> Any:
    """``value`` with every dict and list in it, at any depth, frozen; the rest as it is.

    Already frozen values come back as they are, without a walk, so freezing
    a response twice costs next to nothing. Tuples are rebuilt only when
    something inside them changed.
    """
    kind = type(value)
    if kind is FrozenDict or kind is FrozenList:
        return value
    if isinstance(value, dict):
        return FrozenDict({key: deep_freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return FrozenList([deep_freeze(item) for item in value])
    if isinstance(value, tuple) and kind is tuple:
        frozen = tuple(deep_freeze(item) for item in value)
        return value if all(a is b for a, b in zip(frozen, value, strict=True)) else frozen
    return value


def thaw(value: Any) -> Any:
    """A plain, editable deep copy of a frozen value (dicts and lists all the way down)."""
    if isinstance(value, dict):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [thaw(item) for item in value]
    if type(value) is tuple:
        return tuple(thaw(item) for item in value)
    return value
