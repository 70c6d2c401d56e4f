"""The semantic cache's guards: the similarity threshold, and the lexical check.

A vector says two questions are *about* the same thing; it is poor at
telling "flights to Paris in 2023" from "flights to Rome in 2024", or "can
I" from "can't I". The lexical guard refuses a match whenever the two
questions differ in what vectors blur:

- **numbers**: the sets of numbers must be equal (``1,000`` and ``1000`` are
  one number; ``3.5`` is not ``35``);
- **named entities**, approximated cheaply: a capitalised word that does
  not start a sentence (and is not ``I``), or a word with a capital or a
  digit inside (``iPhone``, ``GPT4``), is taken for a name. Every name of
  one question must occur, in any case, among the words of the other:
  capitalisation alone ("python" / "Python") does not separate two
  questions, nor does a plural ("Railways" / "railway"), a name only one
  of them mentions does. A sentence starts after ``.``, ``!``, ``?``, ``:``
  or ``;``;
- **negations**: ``not`` (and any ``n't``, ``cannot``), ``never``, ``no``,
  ``without``, ``nothing``, ``none``, ``nobody``: the sets must be equal.

Imports only the standard library and :mod:`exllm_py.errors`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping

from exllm_py.errors import ConfigurationError

__all__ = [
    "DEFAULT_THRESHOLD",
    "Thresholds",
    "lexical_match",
    "lexical_signature",
]

#: The similarity (cosine) a question must reach to be served another's answer.
#: Chosen from ``make bench-semantic`` (all-MiniLM-L6-v2, 8,192 QQP pairs, with
#: the lexical guard): the lowest threshold whose wrong answers stay under 1%
#: of different-question pairs (0.80%), serving 13.2% of same-question pairs.
#: Another embedder has another scale: measure it (see the README).
DEFAULT_THRESHOLD = 0.97

# Words, numbers (with their thousands separators and decimals) and contractions.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_](?:[\w]|['\u2019][^\W\d_])*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Where a new sentence (or a heading's question, "Travel: where to go?") begins.
_SENTENCE_END = re.compile(r"[.!?:;]\s+|\n")
_NEGATIONS = frozenset({"not", "never", "no", "without", "nothing", "none", "nobody", "cannot"})
# Capitalised for grammar's sake, never a name.
_NOT_NAMES = frozenset({"i", "i'm", "i've", "i'd", "i'll"})


def lexical_match(question: str, cached_question: str) -> bool:
    """Whether two questions may share an answer as far as their words go.

    ``False`` when their numbers, named entities or negations differ (see
    the module's docstring); ``True`` otherwise, however different their
    wording: the vectors judge the rest.
    """
    numbers, names, negations, words = lexical_signature(question)
    other_numbers, other_names, other_negations, other_words = lexical_signature(cached_question)
    return (
        numbers == other_numbers
        and negations == other_negations
        and names <= other_words
        and other_names <= words
    )


@functools.lru_cache(maxsize=4096)
def lexical_signature(
    text: str,
) -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """``(numbers, names, negations, words)`` of ``text``, all lower case, as sets.

    Names and words without a plural ``s``, so that number does not make two names.

    Cached: a cached question is compared with every question asked near it.
    """
    numbers: set[str] = set()
    names: set[str] = set()
    negations: set[str] = set()
    words: set[str] = set()
    for sentence in _SENTENCE_END.split(text):
        for position, match in enumerate(_TOKEN.finditer(sentence)):
            token = match.group()
            if _NUMBER.fullmatch(token):
                numbers.add(_number(token))
                continue
            word = _word(token)
            words.add(_singular(word))
            if word in _NEGATIONS or word.endswith("n't"):
                negations.add("not" if word.endswith("n't") or word == "cannot" else word)
            if _looks_like_name(token, position) and word not in _NOT_NAMES:
                names.add(_singular(word))
    return frozenset(numbers), frozenset(names), frozenset(negations), frozenset(words)


def _word(token: str) -> str:
    word = token.lower().replace("\u2019", "'")  # typographic apostrophe
    return word[:-2] if word.endswith("'s") else word  # "Paris's" names Paris


def _singular(word: str) -> str:
    # Crude on purpose: "Railways" and "railway" name one thing; "Paris" and
    # "Pari" never meet as words, so the stripped "s" costs nothing there.
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _number(token: str) -> str:
    # "1,000" and "1000" are one number; a lone comma-group like "3,5" is read
    # the same way (as 35) rather than guessing a locale's decimal comma.
    digits = token.replace(",", "")
    if "." in digits:
        whole, _, fraction = digits.partition(".")
        if "." in fraction:
            return digits  # a version such as 1.2.3, compared as written
        fraction = fraction.rstrip("0")
        return f"{int(whole)}.{fraction}" if fraction else str(int(whole))
    return str(int(digits))


def _looks_like_name(token: str, position: int) -> bool:
    inner = token[1:]
    if any(char.isupper() or char.isdigit() for char in inner):
        return True  # iPhone, GPT4, NASA: a name wherever it stands
    return position > 0 and token[0].isupper()


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
