"""``LazyExports``: a package's public names, each imported from its module on first use (PEP 562).

A package whose ``__init__`` should not load its modules until a name is
asked for keeps a table of name → module and forwards its module-level
``__getattr__`` and ``__dir__`` here::

    _EXPORTS = LazyExports(__name__, {"MemoryStore": "exllm_py.cache.stores.memory"}, globals())

    def __getattr__(name: str) -> Any:
        return _EXPORTS.attribute(name)

A name once imported is stored in the package's namespace, so the next
access is a plain attribute read. May import: the standard library only.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = ["LazyExports"]


class LazyExports:
    """The lazily imported public names of the package ``package``."""

    def __init__(
        self, package: str, origins: Mapping[str, str], namespace: MutableMapping[str, Any]
    ) -> None:
        self.package = package
        self.origins = origins
        self.namespace = namespace

    def attribute(self, name: str) -> Any:
        """``name`` imported from its module (and kept); ``AttributeError`` if it is not one."""
        origin = self.origins.get(name)
        if origin is None:
            raise AttributeError(f"module {self.package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(origin), name)
        self.namespace[name] = value  # the next access is a plain attribute read
        return value

    def names(self) -> list[str]:
        """What ``dir()`` of the package lists: what it holds and what it exports."""
        return sorted({*self.namespace, *self.origins})
