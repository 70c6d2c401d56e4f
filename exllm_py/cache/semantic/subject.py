"""What a semantic lookup compares, and within what: the question and its partition.

The question is the text of the last user message. Everything else about
the call stays exact: the partition key is the exact key's own digest
(:func:`exllm_py.cache.keys.digest`: provider, base URL, model, answer
options, namespace) over the messages with that one message's content
blanked. Two calls share a partition only when they differ in nothing but
that text, so a question is only ever compared with questions asked in the
very same context.

A call has no subject (and never goes semantic) when it names its own
``cache_key``, when its last message is not a user message with plain
text content, or when it did not come through the pipeline (``@cached``).

May import: :mod:`exllm_py.cache.keys`, :mod:`exllm_py.cache.strategy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from exllm_py.cache.keys import digest
from exllm_py.cache.strategy import CacheLookup

__all__ = ["Subject", "subject_of"]

# Where the question was: a marker no real message content can equal, so a
# partition key is never a key some call's exact key could collide with.
_BLANK = {"semantic": "question"}


@attrs.frozen
class Subject:
    """The question a call asks, and the partition of calls it may be compared with."""

    partition: str
    question: str


def subject_of(lookup: CacheLookup) -> Subject | None:
    """The call's :class:`Subject`, or ``None`` when it cannot go semantic."""
    call: Any = lookup.caller
    if lookup.control.key is not None or call is None:
        return None
    messages = getattr(call, "messages", None)
    config = getattr(call, "config", None)
    answer = getattr(call, "answer_options", None)
    if not messages or config is None or not isinstance(answer, Mapping):
        return None  # not a pipeline call: nothing to compare
    last = _as_dict(messages[-1])
    question = last.get("content") if last.get("role") == "user" else None
    if not isinstance(question, str) or not question.strip():
        return None
    blanked = [*messages[:-1], {**last, "content": _BLANK}]
    partition = digest(
        lookup.provider,
        getattr(config, "base_url", None),
        lookup.model,
        blanked,
        answer,
        lookup.control.namespace,
    )
    return Subject(partition, question)


def _as_dict(message: Any) -> Mapping[str, Any]:
    if isinstance(message, Mapping):
        return message
    to_dict = getattr(message, "to_dict", None)
    return to_dict() if to_dict is not None else {}
