"""The semantic cache's guards: the similarity threshold, and the lexical check.

A vector says two questions are *about* the same thing; it is poor at
telling "flights to Paris in 2023" from "flights to Rome in 2024", "can I"
from "can't I", or "is Apple better than Samsung" from "is Samsung better
than Apple". The lexical guard refuses a match whenever the two questions
differ in what vectors blur. Each rule below was kept because, on the
tuning split of ``make bench-semantic`` (QQP pairs nothing else was chosen
on), it refuses a larger share of different-question pairs than of
same-question ones near the threshold:

- **numbers**: the sets of numbers must be equal (``1,000`` and ``1000`` are
  one number; ``3.5`` is not ``35``);
- **named entities**, approximated cheaply: a capitalised word that does
  not start a sentence (and is not ``I``), or a word with a capital or a
  digit inside (``iPhone``, ``GPT4``), is taken for a name. Every name of
  one question must occur, in any case, among the words of the other:
  capitalisation alone ("python" / "Python") does not separate two
  questions, nor does a plural ("Railways" / "railway"), an accent
  ("Pokémon") or another form of a name of four letters or more
  ("Canadian" / "Canada"); a name only one of them mentions does. A
  sentence starts after ``.``, ``!``, ``?``, ``:`` or ``;``;
- **negations**: ``not`` (and any ``n't``, ``cannot``), ``never``, ``no``,
  ``without``, ``nothing``, ``none``, ``nobody``: the sets must be equal.
  "Or not" and "why or why not" ask for both sides and are no negation;
- **opposites**: a word of one question whose opposite only the other
  question has ("best" / "worst", "men" / "women", "buy" / "sell", from a
  short list; "biased" / "unbiased" by a negating prefix);
- **roles**: the same words on opposite sides of an ordering word
  ("than", "to", "of", "after", "is"...): "cats afraid of tigers" and
  "tigers afraid of cats";
- **pointing**: a question that points at something ("this circuit", "the
  following code", "the table below") matches nothing, because what it
  points at is not in the cached question's text ("this year" is a time,
  not a pointer);
- **how or whether**: a question that asks how ("How is Snapdeal better than
  Flipkart?") does not match one that asks whether ("Is Snapdeal better
  than Flipkart?").

Tried on the same split and left out: a required similarity that rises
with each content word only one question has, differing "why", "where",
"when" or "who", and numbers written as words, which cost as many
same-question pairs as they saved wrong answers; and "I" against "you",
which saved slightly more but refuses plain rewordings ("How can I join
the NCIS?" / "How can you join the NCIS?"). On held-out pairs, the rules
after the first three move the curve much less than they did on the
tuning split: they are kept for the failures they name, which QQP holds
few of near the threshold.

The word lists live in :mod:`~exllm_py.cache.semantic.signature`, which
reads each question once; this module compares. Imports only the standard
library, that module and :mod:`exllm_py.errors`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping

from exllm_py.cache.semantic.signature import Signature, lexical_signature, name_stem
from exllm_py.errors import ConfigurationError

__all__ = [
    "DEFAULT_THRESHOLD",
    "Thresholds",
    "lexical_match",
]

#: The similarity (cosine) a question must reach to be served another's answer.
#: Chosen from ``make bench-semantic`` (all-MiniLM-L6-v2, QQP pairs, with the
#: lexical guard): the lowest threshold whose wrong answers stay within 1% of
#: different-question pairs on the tuning split (0.89%, serving 17.4% of
#: same-question pairs); on the 41,808 held-out pairs it gives 0.82% and
#: 15.5%. Another embedder has another scale: measure it (see the README).
DEFAULT_THRESHOLD = 0.96

# The shortest name that its other forms are recognised by.
_SHORTEST_NAME_STEM = 4


def lexical_match(question: str, cached_question: str) -> bool:
    """Whether two questions may share an answer as far as their words go.

    ``False`` when their numbers, names, negations, opposites, roles,
    pointing or kind differ (see the module's docstring); ``True``
    otherwise, however different their wording: the vectors judge the rest.
    """
    one, other = lexical_signature(question), lexical_signature(cached_question)
    return all(agree(one, other) for agree in _RULES)


def _same_numbers(one: Signature, other: Signature) -> bool:
    return one.numbers == other.numbers


def _same_names(one: Signature, other: Signature) -> bool:
    return _named_in(one, other) and _named_in(other, one)


def _named_in(one: Signature, other: Signature) -> bool:
    if one.names <= other.words:
        return True  # the usual case, without looking at each word
    return all(_has_form(other, one.name_stems[name]) for name in one.names - other.words)


def _has_form(other: Signature, stem: str) -> bool:
    # "Canadian" is a form of Canada (stem "canad"); a short name such as
    # "US" must be there as itself, or "use" would name it.
    if len(stem) < _SHORTEST_NAME_STEM:
        return False
    # In sorted order, the words that start with the stem come together from
    # the first one not before it; one of them must be a form of the same name
    # ("Nigeria" starts with Niger's stem but is another name).
    words = other.sorted_words
    at = bisect.bisect_left(words, stem)
    while at < len(words) and words[at].startswith(stem):
        if name_stem(words[at]) == stem:
            return True
        at += 1
    return False


def _same_negations(one: Signature, other: Signature) -> bool:
    return one.negations == other.negations


def _no_opposites(one: Signature, other: Signature) -> bool:
    return _unopposed(one, other) and _unopposed(other, one)


def _unopposed(one: Signature, other: Signature) -> bool:
    if one.opposites.isdisjoint(other.words):
        return True  # the usual case
    # "Advantages and disadvantages" against "disadvantages" widens the
    # question, it does not turn it round: a word opposes only when the other
    # question lacks it and has its opposite, which this one lacks.
    return not any(
        word not in other.words and (opposites & other.words) - one.words
        for word, opposites in one.opposed.items()
    )


def _same_roles(one: Signature, other: Signature) -> bool:
    for word, (before, after) in one.sides.items():
        if word not in other.sides:
            continue
        other_before, other_after = other.sides[word]
        if before.isdisjoint(other_after) or after.isdisjoint(other_before):
            continue  # the usual case: nothing crossed over
        went_after = (before & other_after) - (after | other_before)
        came_before = (after & other_before) - (before | other_after)
        if went_after and came_before:
            return False
    return True


def _neither_points(one: Signature, other: Signature) -> bool:
    return not (one.points or other.points)


def _same_kind(one: Signature, other: Signature) -> bool:
    return {one.asks, other.asks} != {"how", "whether"}


_RULES: tuple[Callable[[Signature, Signature], bool], ...] = (
    _same_numbers,
    _same_names,
    _same_negations,
    _no_opposites,
    _same_roles,
    _neither_points,
    _same_kind,
)


class Thresholds:
    """The similarity threshold for each namespace.

    Built from ``threshold``: ``None`` (the library's
    :data:`DEFAULT_THRESHOLD` everywhere), a number (everywhere), or a
    mapping of namespace to number, where the key ``None`` sets the
    threshold for every namespace not listed (and for calls without one;
    without a ``None`` key, those get :data:`DEFAULT_THRESHOLD`).
    """

    __slots__ = ("_by_namespace", "_default")

    def __init__(self, threshold: float | Mapping[str | None, float] | None = None) -> None:
        if threshold is None or not isinstance(threshold, Mapping):
            self._default = _checked(None, DEFAULT_THRESHOLD if threshold is None else threshold)
            self._by_namespace: dict[str | None, float] = {}
            return
        self._by_namespace = {
            namespace: _checked(namespace, value) for namespace, value in threshold.items()
        }
        self._default = self._by_namespace.get(None, DEFAULT_THRESHOLD)

    def __call__(self, namespace: str | None) -> float:
        """The threshold for calls in ``namespace``."""
        return self._by_namespace.get(namespace, self._default)

    def __repr__(self) -> str:
        return f"Thresholds(default={self._default}, by_namespace={self._by_namespace!r})"


def _checked(namespace: str | None, value: object) -> float:
    where = "" if namespace is None else f" for namespace {namespace!r}"
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0.0 < value <= 1.0
    ):
        raise ConfigurationError(
            f"SemanticCache threshold{where} must be a number in (0, 1], such as 0.9, got {value!r}"
        )
    return float(value)
