"""The semantic cache: a question asked in other words, served from the first answer.

Hybrid and contextual: the exact key is tried first; only on a miss, and
only for calls with semantic matching on, the last user message is compared
by meaning with the questions of entries whose everything else is identical.
One concern per module:

- :mod:`~exllm_py.cache.semantic.subject`: the question and its partition key;
- :mod:`~exllm_py.cache.semantic.index`: vectors per partition, exact cosine (numpy);
- :mod:`~exllm_py.cache.semantic.signature`: what the lexical guard reads from one question;
- :mod:`~exllm_py.cache.semantic.guards`: thresholds and the lexical guard (two questions);
- :mod:`~exllm_py.cache.semantic.effects`: the I/O a lookup needs, sync or async;
- :mod:`~exllm_py.cache.semantic.lookup`: the lookup and indexing, once, as effects;
- :mod:`~exllm_py.cache.semantic.cache`: ``SemanticCache``, what a strategy holds.

Importing this package does not load numpy; building a ``SemanticCache`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exllm_py.lazy_exports import LazyExports

if TYPE_CHECKING:
    from exllm_py.cache.semantic.cache import SemanticCache
    from exllm_py.cache.semantic.guards import DEFAULT_THRESHOLD, lexical_match

__all__ = ["DEFAULT_THRESHOLD", "SemanticCache", "lexical_match"]

# Loaded on first use: the production strategy imports the lookup flow from
# here, and must not pay for the rest until a SemanticCache is built.
_ORIGINS = {
    "DEFAULT_THRESHOLD": "exllm_py.cache.semantic.guards",
    "SemanticCache": "exllm_py.cache.semantic.cache",
    "lexical_match": "exllm_py.cache.semantic.guards",
}


_EXPORTS = LazyExports(__name__, _ORIGINS, globals())


def __getattr__(name: str) -> Any:
    return _EXPORTS.attribute(name)


def __dir__() -> list[str]:
    return _EXPORTS.names()
