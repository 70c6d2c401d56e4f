"""Reading a question's signature: what the lexical guard compares."""

from __future__ import annotations

import pytest

from exllm_py.cache.semantic.signature import lexical_signature


class TestNumbersNamesNegations:
    """Numbers are read as values, names as stems, negations without their "or not" tags."""

    def test_numbers_are_values(self) -> None:
        signature = lexical_signature("Is 1,000 more than 3.50 or 2.0.1?")
        assert signature.numbers == {"1000", "3.5", "2.0.1"}

    def test_names_are_stems_their_other_forms_start_with(self) -> None:
        signature = lexical_signature("Do Canadians visit China or Japan?")
        assert signature.name_stems == {"canadian": "canad", "china": "chin", "japan": "japan"}

    def test_a_capitalised_opening_word_is_no_name(self) -> None:
        assert lexical_signature("Where is Paris?").names == {"pari"}

    def test_a_word_with_capitals_inside_is_a_name_wherever_it_stands(self) -> None:
        assert lexical_signature("iPhone or eBay?").names == {"iphone", "ebay"}

    def test_contractions_and_cannot_count_as_not(self) -> None:
        assert lexical_signature("Why can't I? Why cannot I? Why not?").negations == {"not"}

    def test_a_typographic_apostrophe_is_an_apostrophe(self) -> None:
        signature = lexical_signature("Why can\u2019t I see Paris\u2019s sights?")
        assert signature.negations == {"not"}
        assert signature.names == {"pari"}

    def test_or_not_asks_for_both_sides(self) -> None:
        signature = lexical_signature("Is it safe or not? Why or why not?")
        assert signature.negations == frozenset()


class TestOpposed:
    """Words with opposites are read with them, from the list or a negating prefix."""

    def test_listed_and_prefixed_opposites(self) -> None:
        signature = lexical_signature("Are the best reviews unbiased?")
        assert signature.opposed == {"best": {"worst"}, "unbiased": {"biased"}}
        assert signature.opposites == {"worst", "biased"}

    def test_a_short_stem_is_no_opposite(self) -> None:
        # "inform" is not the negation of "form".
        assert lexical_signature("How do I inform the office?").opposed == {}


class TestSides:
    """Per ordering word: the content words before and after its first occurrence."""

    def test_the_words_on_each_side_of_than(self) -> None:
        sides = lexical_signature("Is Apple better than Samsung?").sides
        assert sides["than"] == ({"apple", "better"}, {"samsung"})

    def test_function_words_take_no_side(self) -> None:
        sides = lexical_signature("What is the capital of France?").sides
        assert sides["of"] == ({"capital"}, {"france"})


class TestPointsAndAsks:
    """Whether a question points at something, and whether it asks how or whether."""

    @pytest.mark.parametrize(
        "text",
        [
            "Solve this equation",
            "What do these results mean?",
            "Fix the following code",
            "See below",
        ],
    )
    def test_pointers(self, text: str) -> None:
        assert lexical_signature(text).points is True

    @pytest.mark.parametrize("text", ["Best films this year?", "What is a pointer?"])
    def test_no_pointer(self, text: str) -> None:
        assert lexical_signature(text).points is False

    @pytest.mark.parametrize(
        ("text", "asks"),
        [
            ("How do I sleep?", "how"),
            ("Can I sleep?", "whether"),
            ("Doesn't it hurt?", "whether"),
            ("Travel: How do I pack?", "how"),
            ("What is sleep?", ""),
            ("Is it possible? How?", ""),  # both: neither
        ],
    )
    def test_asks(self, text: str, asks: str) -> None:
        assert lexical_signature(text).asks == asks


class TestUnusualText:
    """Whatever a question holds, reading it never fails, and numbers stay numbers."""

    @pytest.mark.parametrize(
        ("text", "numbers"),
        [
            ("What does \u1369 mean?", frozenset()),  # a digit sign, not a decimal digit
            ("Is \u0663 odd?", {"3"}),  # an Arabic-Indic three is 3
            ("Is 007 cool?", {"7"}),
            ("Is " + "9" * 5000 + " big?", {"9" * 5000}),  # longer than int() reads
            ("What is 10\u00b2?", {"10"}),  # a superscript is not another digit
        ],
        ids=["digit-sign", "arabic-indic", "leading-zeros", "huge", "superscript"],
    )
    def test_numbers_of_any_script_and_size(self, text: str, numbers: frozenset[str]) -> None:
        assert lexical_signature(text).numbers == numbers

    def test_and_not_is_a_negation(self) -> None:
        assert lexical_signature("Healthy and not expensive?").negations == {"not"}


class TestNumberValues:
    """A number is its value: trailing zeros, leading zeros and a script change nothing."""

    @pytest.mark.parametrize(
        ("text", "numbers"),
        [
            ("Is 3.0 the same as 3?", {"3"}),
            ("Is 0 or 000 or 0.0 or 0.00 zero?", {"0"}),
            ("Is 0.50 half?", {"0.5"}),
            ("Is \u0661\u0662 or \u0663.\u0665\u0660 big?", {"12", "3.5"}),  # Arabic-Indic
        ],
        ids=["trailing-zeros", "zero", "a-fraction-of-one", "arabic-indic-digits-and-point"],
    )
    def test_one_value_one_number(self, text: str, numbers: frozenset[str]) -> None:
        assert lexical_signature(text).numbers == numbers

    def test_a_version_is_kept_as_written(self) -> None:
        # Zeros and points mean something in a version: 1.2.0 is not 1.2, nor 0.1.5 ".1.5".
        signature = lexical_signature("Is 0.1.5 newer than 1.2.0 or 1.2?")
        assert signature.numbers == {"0.1.5", "1.2.0", "1.2"}
