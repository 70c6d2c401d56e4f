"""What the lexical guard reads in a question: its :class:`Signature`.

A signature holds the few things about a question's wording that sentence
vectors blur and that change the answer: its numbers, its names, its
negations, the opposites its words stand against, which way round its
comparisons go, whether it points at something it does not contain, and
whether it asks *how* or *whether*. :mod:`~exllm_py.cache.semantic.guards`
compares two signatures; this module only reads one.

Everything is read with regular expressions and short word lists, written
for English questions; a word the lists do not know is simply not taken
into account. :func:`lexical_signature` is cached, since a cached question
is compared with every question asked near it.

Imports only the standard library and attrs.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping

import attrs

__all__ = ["Signature", "lexical_signature", "name_stem"]


def _listed(words: str) -> frozenset[str]:
    """The words of a list written as text, for lists too long to quote word by word."""
    return frozenset(words.split())


# Words, numbers (with their thousands separators and decimals) and contractions.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_](?:[\w]|['\u2019][^\W\d_])*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Where a new sentence (or a heading's question, "Travel: where to go?") begins.
_SENTENCE_END = re.compile(r"[.!?:;]\s+|\n")

# Each negation word, and the negation it counts as ("cannot" and any "n't" are "not").
_NEGATIONS = {
    word: word for word in ("not", "never", "no", "without", "nothing", "none", "nobody")
} | {"cannot": "not"}
# "Is it safe, or not?" and "why or why not" ask for both sides: no negation.
_BOTH_SIDES = re.compile(r"\bor\s+(?:why\s+)?not\b", re.IGNORECASE)

# A name is kept as the stem its other forms share, so that they name it
# too (the guard looks for a word that starts with the stem): "Canada" and
# "Canadian" are both "canad", "China" and "Chinese" both "chin". The stem
# drops one of these endings, when four letters are left.
_NAME_ENDING = re.compile(r"(?<=[a-z]{4})(?:ian|ese|an|ic|[aeiouy])$")

# Pairs of words that ask opposite things, in the singular forms the words
# of a signature take. A pair is here when the two words are each other's
# opposite in most questions that use them, not merely different.
_OPPOSITE_PAIRS = (
    ("advantage", "disadvantage"),
    ("after", "before"),
    ("benefit", "disadvantage"),
    ("best", "worst"),
    ("better", "worse"),
    ("biggest", "smallest"),
    ("boy", "girl"),
    ("boyfriend", "girlfriend"),
    ("buy", "sell"),
    ("cheap", "expensive"),
    ("cheapest", "costliest"),
    ("decrease", "increase"),
    ("easiest", "hardest"),
    ("export", "import"),
    ("extrovert", "introvert"),
    ("female", "male"),
    ("gain", "lose"),
    ("husband", "wife"),
    ("largest", "smallest"),
    ("least", "most"),
    ("less", "more"),
    ("maximize", "minimize"),
    ("maximum", "minimum"),
    ("men", "women"),
    ("man", "woman"),
    ("negative", "positive"),
    ("pro", "con"),
    ("rich", "poor"),
    ("rural", "urban"),
    ("strength", "weakness"),
    ("success", "failure"),
)
# Each word of a pair, with every word it is paired against ("disadvantage"
# has two).
_OPPOSITES = {
    word: frozenset(
        opposite
        for pair in _OPPOSITE_PAIRS
        if word in pair
        for opposite in pair
        if opposite != word
    )
    for pair in _OPPOSITE_PAIRS
    for word in pair
}

# "unbiased" stands against "biased", "dishonest" against "honest". Only
# stems of five letters or more: "inform" is not the opposite of "form".
_NEGATED = re.compile(r"(?:un|non|dis|in|im|il|ir)([a-z]{5,})")

# Words around which order carries meaning: "cats afraid of tigers",
# "Apple better than Samsung", "convert A to B", "life after death".
_ORDERING_WORDS = frozenset(
    {"than", "to", "into", "after", "before", "over", "of", "is", "are", "vs", "versus"}
)
# Words too common to say which side of a comparison something is on.
_FUNCTION_WORDS = _listed(
    """a an the this that these those there here and or but if so as at by for from in on
    with about into over under than to of is are was were be been being am do does did
    can could will would shall should may might must have has had i me my we our us you
    your he she it its they them their his her what which who whom whose when where why
    how some any all more most much many very really just one get make way thing"""
)
# Capitalised for grammar's sake, never a name.
_NOT_NAMES = frozenset({"i", "i'm", "i've", "i'd", "i'll"})

# A question that points at something ("this circuit", "the following
# code") is about that thing, which the cache never sees: two of them may
# share every word and still ask about different circuits. "This year" or
# "this time" point at a time, which the words themselves carry.
_POINTING = re.compile(
    r"\b(?:this|these|the following|below)\b"
    r"(?!\s+(?:year|month|week|weekend|time|season|summer|winter|spring|autumn|fall|morning|"
    r"evening|night|day|century|decade)s?\b)",
    re.IGNORECASE,
)

# A sentence that opens with "how" asks how; one that opens with a verb
# ("is", "can", "doesn't") asks whether. Other openers are left unread.
_WHETHER = """is are was were am do does did can could should would will shall has have had
may might must isn't aren't wasn't weren't don't doesn't didn't can't couldn't shouldn't
wouldn't won't hasn't haven't"""
_OPENERS = {"how": "how"} | dict.fromkeys(_listed(_WHETHER), "whether")


@attrs.frozen
class Signature:
    """The answer-changing parts of one question's wording, all lower case."""

    #: Numbers as values: ``1,000`` and ``1000`` are one number.
    numbers: frozenset[str]
    #: Words taken for names (see :func:`_looks_like_name`), singular.
    names: frozenset[str]
    #: Each name with the stem that its other forms start with ("canada": "canad").
    name_stems: Mapping[str, str]
    #: ``not`` (for any ``n't`` and ``cannot``), ``never``, ``no``, ``without``...
    negations: frozenset[str]
    #: Every word, singular.
    words: frozenset[str]
    #: The same words in sorted order, where those starting with a stem sit together.
    sorted_words: tuple[str, ...]
    #: Its words that have opposites, each with them ("best": "worst";
    #: "unbiased": "biased").
    opposed: Mapping[str, frozenset[str]]
    #: All those opposites together: most questions meet none of them.
    opposites: frozenset[str]
    #: Per ordering word: the content words before it and after it (first
    #: occurrence), singular.
    sides: Mapping[str, tuple[frozenset[str], frozenset[str]]]
    #: Whether it points at something it does not contain.
    points: bool
    #: ``"how"``, ``"whether"`` or ``""`` (another question, or more than one kind).
    asks: str


@functools.lru_cache(maxsize=4096)
def lexical_signature(text: str) -> Signature:
    """The :class:`Signature` of ``text``, read once per text (cached)."""
    numbers: set[str] = set()
    names: dict[str, str] = {}
    negations: set[str] = set()
    words: list[str] = []  # lower case, as written: the function words are known that way
    openers: set[str] = set()
    for sentence in _SENTENCE_END.split(_plain(text)):
        for position, match in enumerate(_TOKEN.finditer(sentence)):
            token = match.group()
            if token[0].isdecimal():  # a token starts with a decimal digit only as a number
                numbers.add(_number(token))
                continue
            word = token.lower()
            word = word[:-2] if word.endswith("'s") else word  # "Paris's" names Paris
            words.append(word)
            if position == 0 and word in _OPENERS:
                openers.add(_OPENERS[word])
            if word in _NEGATIONS or word.endswith("n't"):
                negations.add(_NEGATIONS.get(word, "not"))
            if _looks_like_name(token, position) and word not in _NOT_NAMES:
                name = _singular(word)
                names[name] = name_stem(name)
    singular = [_singular(word) for word in words]
    opposed = _opposed(frozenset(singular))
    return Signature(
        numbers=frozenset(numbers),
        names=frozenset(names),
        name_stems=names,
        negations=frozenset(negations),
        words=frozenset(singular),
        sorted_words=tuple(sorted(set(singular))),
        opposed=opposed,
        opposites=frozenset().union(*opposed.values()),
        sides=_sides(words, singular),
        points=_POINTING.search(text) is not None,
        asks=openers.pop() if len(openers) == 1 else "",
    )


def _plain(text: str) -> str:
    """``text`` without what only its typing changes, and without "or not" tags."""
    text = _BOTH_SIDES.sub(" ", text.replace("\u2019", "'"))  # typographic apostrophe
    if text.isascii():
        return text
    # "Pokémon" is "pokemon" typed on another keyboard. Canonical decomposition
    # only: the compatibility one would turn "10²" into "102".
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _singular(word: str) -> str:
    # Crude on purpose: "Railways" and "railway" name one thing; "Paris" and
    # "Pari" never meet as words, so the stripped "s" costs nothing there.
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _number(token: str) -> str:
    # "1,000" and "1000" are one number; a lone comma-group like "3,5" is read
    # the same way (as 35) rather than guessing a locale's decimal comma.
    digits = _ascii_digits(token.replace(",", ""))
    if "." in digits:
        whole, _, fraction = digits.partition(".")
        if "." in fraction:
            return digits  # a version such as 1.2.3, compared as written
        fraction = fraction.rstrip("0")
        return f"{_whole(whole)}.{fraction}" if fraction else _whole(whole)
    return _whole(digits)


def _whole(digits: str) -> str:
    # As text, not int(): a question may hold a number longer than int() reads.
    return digits.lstrip("0") or "0"


def _ascii_digits(text: str) -> str:
    """``text`` with every decimal digit of any script written 0-9 ("٣" is 3)."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)


def _looks_like_name(token: str, position: int) -> bool:
    inner = token[1:]
    if not (inner.isalpha() and inner.islower()) and any(
        char.isupper() or char.isdigit() for char in inner
    ):
        return True  # iPhone, GPT4, NASA: a name wherever it stands
    return position > 0 and token[0].isupper()


def name_stem(name: str) -> str:
    """The stem a name's other forms share: "canad" for "canada" and "canadian"."""
    return _NAME_ENDING.sub("", name, count=1)


def _opposed(words: Iterable[str]) -> dict[str, frozenset[str]]:
    found: dict[str, frozenset[str]] = {}
    for word in words:
        opposites = _OPPOSITES.get(word, frozenset())
        negated = _NEGATED.fullmatch(word)
        if negated:
            opposites |= {negated.group(1)}
        if opposites:
            found[word] = opposites
    return found


def _sides(
    words: list[str], singular: list[str]
) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    ordering = _ORDERING_WORDS.intersection(words)
    if not ordering:
        return {}
    content = [
        "" if word in _FUNCTION_WORDS else form for word, form in zip(words, singular, strict=True)
    ]
    sides = {}
    for word in ordering:
        at = words.index(word)
        sides[word] = (frozenset(content[:at]) - {""}, frozenset(content[at + 1 :]) - {""})
    return sides
