"""The guards: thresholds per namespace, the lexical check, the verifier."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from exllm_py import Client
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import DEFAULT_THRESHOLD, SemanticCache, lexical_match
from exllm_py.cache.semantic.guards import Thresholds
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ConfigurationError
from exllm_py.types import LLMResponse
from tests.cache.semantic.conftest import Events, answer_to
from tests.cache.semantic.test_contextual import ask, user
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.fakes.provider_server import ProviderServer


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.hypot(*a) * math.hypot(*b))


CURVE = Path(__file__).resolve().parents[3] / "bench" / "results" / "semantic_curve.json"


class TestLexicalMatch:
    """Questions whose numbers, names or negations differ never match."""

    @pytest.mark.parametrize(
        ("question", "cached"),
        [
            ("Best laptops of 2023?", "Best laptops of 2024?"),
            ("How far is 5 km in miles?", "How far is 50 km in miles?"),
            ("Is a 3.5 GPA good?", "Is a 35 GPA good?"),
            ("How do I get a visa for France?", "How do I get a visa for Spain?"),
            ("Why did Obama win?", "Why did Trump win?"),
            ("Should I learn Java?", "Should I learn Python?"),
            ("Is coffee bad for you?", "Is coffee not bad for you?"),
            ("Why is the sky blue?", "Why isn't the sky blue?"),
            ("Can I cook rice without a pot?", "Can I cook rice with a pot?"),
            ("Have you ever been to Rome?", "Have you never been to Rome?"),
        ],
    )
    def test_a_difference_in_numbers_names_or_negations_refuses(
        self, question: str, cached: str
    ) -> None:
        assert lexical_match(question, cached) is False
        assert lexical_match(cached, question) is False

    @pytest.mark.parametrize(
        ("question", "cached"),
        [
            ("How do I learn python?", "What is the best way to learn Python?"),
            ("What costs 1,000 dollars?", "What costs 1000 dollars?"),
            ("Is 3.50 the price?", "Is 3.5 the price?"),
            ("Paris: what to see?", "What should I see in Paris?"),
            ("Why can't I sleep?", "Why cannot I sleep?"),
            ("What is the capital of France?", "Tell me the capital of France"),
            ("Known facts about Indian Railways?", "Known facts about the Indian railway?"),
            ("Interviews: What helps?", "What helps in interviews?"),
        ],
    )
    def test_wording_case_and_notation_alone_do_not_refuse(
        self, question: str, cached: str
    ) -> None:
        assert lexical_match(question, cached) is True

    def test_a_capitalised_first_word_is_not_taken_for_a_name(self) -> None:
        assert lexical_match("Cheap flights to Paris?", "Where to find flights to Paris?")

    @pytest.mark.parametrize(
        ("question", "cached"),
        [
            ("Is Aryan invasion theory correct or not?", "Is Aryan invasion theory correct?"),
            (
                "Can a helicopter fly upside down? Why or why not?",
                "Can a helicopter fly upside down?",
            ),
        ],
    )
    def test_asking_for_both_sides_is_no_negation(self, question: str, cached: str) -> None:
        assert lexical_match(question, cached) is True

    def test_a_name_is_named_by_its_other_forms(self) -> None:
        assert lexical_match(
            "Where can I get a database of Canadian family offices?",
            "Where can I get a database of family offices in Canada?",
        )

    def test_a_four_letter_stem_is_long_enough(self) -> None:
        # "China" and "Chinese" share the stem "chin", the shortest that counts.
        assert lexical_match("What do people in China eat?", "What do Chinese people eat?")

    def test_any_form_among_words_sharing_the_stem(self) -> None:
        # Of "nigeria" and "nigerian", both starting with Niger's stem, only the
        # second is a form of Niger: it is found after the first is passed over.
        assert lexical_match(
            "Which languages do people speak in Niger and Nigeria?",
            "Which languages do Nigerian people speak in Nigeria?",
        )

    def test_a_lookalike_that_is_the_last_word_is_another_name(self) -> None:
        # "nigeria" sorts last among the words: nothing follows it to look at.
        assert lexical_match("Is Niger big?", "Is Nigeria big?") is False
        assert lexical_match("Is Nigeria big?", "Is Niger big?") is False

    def test_a_longer_name_is_another_name(self) -> None:
        assert not lexical_match("Should I learn Java first?", "Should I learn JavaScript first?")

    def test_a_short_name_must_appear_as_itself(self) -> None:
        # "use" starts with "us", and names nothing.
        assert not lexical_match(
            "What visa do I need to work in the US?", "What visa do I need to use for work?"
        )

    def test_accents_are_typing_not_wording(self) -> None:
        assert lexical_match(
            "What is your favorite legendary Pokémon?", "What is your favorite legendary pokemon?"
        )


class TestLookalikes:
    """What a looser reading would take for the same question is kept apart."""

    @pytest.mark.parametrize(
        ("question", "cached"),
        [
            ("What is 10\u00b2?", "What is 102?"),
            ("Are apples healthy and not expensive?", "Are apples healthy and expensive?"),
            ("Is Java hard to learn?", "Is javascript hard to learn?"),
            ("What is the capital of Niger?", "what is the capital of nigeria?"),
        ],
        ids=["superscript", "and-not", "java-javascript", "niger-nigeria"],
    )
    def test_they_refuse(self, question: str, cached: str) -> None:
        assert lexical_match(question, cached) is False
        assert lexical_match(cached, question) is False


class TestOpposites:
    """A word of one question whose opposite only the other has refuses the match."""

    @pytest.mark.parametrize(
        ("question", "cached"),
        [
            ("What attracts introverted men?", "What attracts introverted women?"),
            (
                "What are the advantages of solar power?",
                "What are the disadvantages of solar power?",
            ),
            ("Where can I buy gold coins?", "Where can I sell gold coins?"),
            ("What is the best movie of 2016?", "What is the worst movie of 2016?"),
            ("What are biased facts about smoking?", "What are unbiased facts about smoking?"),
        ],
    )
    def test_opposite_words_refuse(self, question: str, cached: str) -> None:
        assert lexical_match(question, cached) is False
        assert lexical_match(cached, question) is False

    def test_asking_both_sides_still_matches_one_side(self) -> None:
        # A widening, not a turn-round: the vectors judge it.
        assert lexical_match(
            "What are the disadvantages of clay brick?",
            "What are the advantages and disadvantages of clay brick?",
        )


class TestRoles:
    """The same words traded across an ordering word ("than", "to", "of"...) refuse the match."""

    @pytest.mark.parametrize(
        ("question", "cached"),
        [
            ("Are cats afraid of tigers?", "Are tigers afraid of cats?"),
            ("How is Apple better than Samsung?", "How is Samsung better than Apple?"),
            ("How do I convert PDF to Word?", "How do I convert Word to PDF?"),
            ("Is there life after death?", "Is there death after life?"),
            ("What percentage of doctors are smokers?", "What percentage of smokers are doctors?"),
        ],
    )
    def test_swapped_roles_refuse(self, question: str, cached: str) -> None:
        assert lexical_match(question, cached) is False
        assert lexical_match(cached, question) is False

    @pytest.mark.parametrize(
        ("question", "cached"),
        [
            (
                "Is Apple better than Samsung for photos after the update, or over time?",
                "Is Samsung better than Apple for photos?",
            ),
            (
                "How do I convert Celsius to Fahrenheit before baking is over?",
                "How do I convert Fahrenheit to Celsius?",
            ),
            (
                "Are cats afraid of tigers after dark, or is it over by then?",
                "Are tigers afraid of cats?",
            ),
        ],
        ids=["than", "to", "of"],
    )
    def test_ordering_words_only_one_question_has_hide_no_swap(
        self, question: str, cached: str
    ) -> None:
        # The question has ordering words the cached one lacks ("after", "over"...):
        # whichever of its ordering words is read first, the shared one is compared.
        assert lexical_match(question, cached) is False

    def test_a_word_on_both_sides_has_changed_no_side(self) -> None:
        # "dogs" stands on both sides of "than" in the question: it moved nowhere, and
        # without a word that went the other way, nothing was traded.
        assert lexical_match(
            "Are big dogs smarter than cats and dogs?", "Are cats smarter than dogs?"
        )

    def test_a_reordered_sentence_with_the_same_roles_matches(self) -> None:
        assert lexical_match(
            "How do I move from Delhi to Mumbai?", "How can I move to Mumbai from Delhi?"
        )


class TestPointing:
    """A question that points at something it does not contain matches nothing."""

    @pytest.mark.parametrize(
        ("question", "cached"),
        [
            (
                "What is the resistance of this circuit?",
                "What is the total resistance of this circuit?",
            ),
            ("How do I fix the following code?", "How do I fix my code?"),
            ("What breed are these dogs?", "What breed are the dogs?"),
        ],
    )
    def test_a_pointer_refuses(self, question: str, cached: str) -> None:
        assert lexical_match(question, cached) is False
        assert lexical_match(cached, question) is False

    def test_this_year_is_a_time_not_a_pointer(self) -> None:
        assert lexical_match(
            "What are the best films this year?", "Which films are best this year?"
        )


class TestHowOrWhether:
    """A question that asks how never matches one that asks whether."""

    @pytest.mark.parametrize(
        ("question", "cached"),
        [
            ("How is Snapdeal better than Flipkart?", "Is Snapdeal better than Flipkart?"),
            ("How does Hipmunk make money?", "Does Hipmunk make money?"),
        ],
    )
    def test_how_against_whether_refuses(self, question: str, cached: str) -> None:
        assert lexical_match(question, cached) is False
        assert lexical_match(cached, question) is False

    @pytest.mark.parametrize(
        ("question", "cached"),
        [
            ("How do I learn Python?", "What is the best way to learn Python?"),
            ("Is it safe to eat raw eggs? Why or why not?", "Is it safe to eat raw eggs?"),
        ],
    )
    def test_other_openings_are_left_to_the_vectors(self, question: str, cached: str) -> None:
        assert lexical_match(question, cached) is True


class TestThresholds:
    """One number everywhere, or per namespace with a default."""

    def test_none_is_the_library_default(self) -> None:
        assert Thresholds(None)("any") == DEFAULT_THRESHOLD

    def test_the_default_is_the_threshold_the_quality_bench_chose(self) -> None:
        # bench/semantic_quality.py reads it off the tuning split's guarded
        # curve; a new default without a new curve (or the reverse) fails here.
        curve = json.loads(CURVE.read_text())
        assert curve["default_guarded"]["threshold"] == DEFAULT_THRESHOLD

    def test_the_readme_states_the_default_and_its_held_out_rates(self) -> None:
        readme = (CURVE.parents[2] / "README.md").read_text()
        guarded = json.loads(CURVE.read_text())["default_guarded"]["held_out"]
        assert f"Default: {DEFAULT_THRESHOLD} (see the curve below)." in readme
        row = f"| **{DEFAULT_THRESHOLD} (default)** |"
        assert row in readme
        assert f"**{guarded['wrong_rate']:.2%}** | **{guarded['right_rate']:.1%}** |" in readme

    def test_a_mapping_sets_namespaces_and_none_the_rest(self) -> None:
        thresholds = Thresholds({"strict": 0.99, None: 0.85})
        assert (thresholds("strict"), thresholds("other"), thresholds(None)) == (0.99, 0.85, 0.85)

    def test_a_mapping_without_none_leaves_the_rest_at_the_default(self) -> None:
        thresholds = Thresholds({"strict": 0.99})
        assert (thresholds("strict"), thresholds("other"), thresholds(None)) == (
            0.99,
            DEFAULT_THRESHOLD,
            DEFAULT_THRESHOLD,
        )

    @pytest.mark.parametrize("bad", [0, 1.5, -0.2, float("nan"), "0.9", True])
    def test_a_threshold_outside_zero_to_one_is_refused_by_name(self, bad: Any) -> None:
        with pytest.raises(ConfigurationError, match="threshold for namespace 'a'"):
            Thresholds({"a": bad})

    def test_a_namespace_threshold_decides_its_calls(
        self, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        # The two wordings are about 0.93 similar: served where the bar is 0.8, not at 0.95.
        semantic = SemanticCache(embedder, threshold={"strict": 0.95, None: 0.8})
        asked, reworded = "What is the capital of France?", "what is the capital city of France"
        with Client(cache_strategy=ProductionStrategy(MemoryStore(), semantic=semantic)) as client:
            for namespace in ("strict", "lenient"):
                ask(client, provider, user(asked), cache_namespace=namespace)
            strict = ask(client, provider, user(reworded), cache_namespace="strict")
            lenient = ask(client, provider, user(reworded), cache_namespace="lenient")
        assert strict.metadata["from_cache"] is False
        assert lenient.metadata["cache_match"] == "semantic"


class TestGuardsInTheCache:
    """However close the vectors, a guarded difference goes to the provider."""

    # Same words but one: the vectors are about 0.93 similar.
    ASKED = "What were the best selling cars in 2023 in the US?"
    OTHER_YEAR = "What were the best selling cars in 2024 in the US?"

    def test_the_lexical_guard_refuses_close_vectors(
        self, client: Client, provider: ProviderServer
    ) -> None:
        ask(client, provider, user(self.ASKED))
        other = ask(client, provider, user(self.OTHER_YEAR))
        assert other.content == answer_to(self.OTHER_YEAR)

    def test_past_a_refused_candidate_the_next_closest_is_served(
        self, client: Client, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        question = "What is the capital of France?"
        other_year = "What is the capital of France 2020?"  # the closer one, refused
        reworded = "what is the capital of france, please tell"
        for cached in (other_year, reworded):
            ask(client, provider, user(cached))
        similarity = [
            cosine(embedder.vector(question), embedder.vector(cached))
            for cached in (other_year, reworded)
        ]
        assert similarity[0] > similarity[1] >= 0.8  # both are candidates, in this order
        assert ask(client, provider, user(question)).content == answer_to(reworded)

    def test_guards_false_serves_them(
        self, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        semantic = SemanticCache(embedder, threshold=0.8, guards=False)
        with Client(cache_strategy=ProductionStrategy(MemoryStore(), semantic=semantic)) as client:
            ask(client, provider, user(self.ASKED))
            other = ask(client, provider, user(self.OTHER_YEAR))
        assert other.content == answer_to(self.ASKED)


class TestVerifier:
    """A verifier confirms each match before it is served."""

    ASKED, REWORDED = "What is the capital of France?", "what is the capital of france"

    def strategy(self, embedder: WordsEmbedder, verifier: Any) -> ProductionStrategy:
        semantic = SemanticCache(embedder, threshold=0.8, verifier=verifier)
        return ProductionStrategy(MemoryStore(), semantic=semantic)

    def test_the_verifier_sees_both_questions_and_the_cached_answer(
        self, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        seen: list[tuple[str, str, str]] = []

        def verifier(question: str, cached_question: str, cached: LLMResponse) -> bool:
            seen.append((question, cached_question, cached.content))
            return True

        with Client(cache_strategy=self.strategy(embedder, verifier)) as client:
            ask(client, provider, user(self.ASKED))
            hit = ask(client, provider, user(self.REWORDED))
        assert seen == [(self.REWORDED, self.ASKED, answer_to(self.ASKED))]
        assert hit.metadata["cache_match"] == "semantic"

    def test_a_refusing_verifier_sends_the_call_to_the_provider(
        self, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        strategy = self.strategy(embedder, lambda *_: False)
        with Client(cache_strategy=strategy) as client:
            ask(client, provider, user(self.ASKED))
            other = ask(client, provider, user(self.REWORDED))
        assert other.content == answer_to(self.REWORDED)
        stats = strategy.stats()
        assert (stats.hits, stats.misses, stats.semantic_hits) == (0, 2, 0)

    def test_a_failing_verifier_is_reported_and_serves_nothing(
        self, provider: ProviderServer, embedder: WordsEmbedder, events: Events
    ) -> None:
        def broken(*_: Any) -> bool:
            raise RuntimeError("verifier down")

        with Client(cache_strategy=self.strategy(embedder, broken)) as client:
            ask(client, provider, user(self.ASKED))
            other = ask(client, provider, user(self.REWORDED))
        assert other.metadata["from_cache"] is False
        errors = [meta for name, _, meta in events if name[-1] == "error"]
        assert [(meta["store"], meta["reason"], meta["error"]) for meta in errors] == [
            ("semantic", "verifier_failed", "RuntimeError: verifier down")
        ]

    async def test_an_async_verifier_confirms_async_calls(
        self, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        async def verifier(question: str, cached_question: str, cached: LLMResponse) -> bool:
            return cached_question == self.ASKED

        strategy = self.strategy(embedder, verifier)
        with Client(cache_strategy=strategy) as client:
            options: dict[str, Any] = {
                "base_url": provider.url,
                "api_key": "k",
                "model": "m",
                "cache": "semantic",
            }
            await client.achat("openai", user(self.ASKED), **options)
            hit = await client.achat("openai", user(self.REWORDED), **options)
            sync = client.chat("openai", user("What is the capital of FRANCE"), **options)
        assert hit.metadata["cache_match"] == "semantic"
        assert sync.metadata["from_cache"] is False  # a sync call cannot await it

    def test_a_verifier_that_is_not_callable_is_refused(self, embedder: WordsEmbedder) -> None:
        with pytest.raises(ConfigurationError, match="verifier must be a callable"):
            SemanticCache(embedder, verifier="yes")  # type: ignore[arg-type]
