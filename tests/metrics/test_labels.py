"""exllm_py.metrics.labels: the label rules the metric bridges share."""

from __future__ import annotations

import threading

import pytest

from exllm_py.metrics.labels import OTHER, CallLabels, Cap, LabelRules


class TestCap:
    """A cap lets the first values through and reads every later new one as other."""

    def test_the_first_values_pass_and_stay(self) -> None:
        """Two admitted values keep passing after the cap is reached; a third is other."""
        cap = Cap(2)
        assert [cap("a"), cap("b"), cap("c"), cap("a"), cap("b")] == ["a", "b", OTHER, "a", "b"]
        assert len(cap) == 2

    def test_threads_admit_no_more_than_the_limit(self) -> None:
        """Eight threads racing with distinct values: exactly the limit is admitted."""
        cap = Cap(5)
        start = threading.Barrier(8)
        passed: list[str] = []

        def offer(thread: int) -> None:
            start.wait()
            for value in range(20):
                if cap(f"{thread}-{value}") != OTHER:
                    passed.append(f"{thread}-{value}")

        threads = [threading.Thread(target=offer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(passed) == len(cap) == 5

    def test_a_cap_admits_at_least_one(self) -> None:
        """A limit below one is refused, naming the limit."""
        with pytest.raises(ValueError, match="limit=0"):
            Cap(0)


class TestCallLabels:
    """A call's labels: provider, model, tier, and the namespace only when asked."""

    def test_the_namespace_stays_out_of_the_key_unless_labelled(self) -> None:
        """Without namespace labels two tenants share a key; with them, they do not."""
        tenant_a = {"provider": "openai", "model": "m", "namespace": "a", "key": "k1"}
        tenant_b = {"provider": "openai", "model": "m", "namespace": "b", "key": "k2"}
        plain, labelled = LabelRules(), LabelRules(namespace=True)
        assert plain.call_key(tenant_a) == plain.call_key(tenant_b)
        assert labelled.call_key(tenant_a) != labelled.call_key(tenant_b)
        assert labelled.call(labelled.call_key(tenant_b)).namespace == "b"
        assert plain.call(plain.call_key(tenant_b)).namespace == ""

    def test_missing_values_read_empty(self) -> None:
        """A miss has no tier; a call with no namespace has none either."""
        rules = LabelRules(namespace=True)
        labels = rules.call(rules.call_key({"provider": "mock", "model": "m", "namespace": None}))
        assert labels == CallLabels(provider="mock", model="m", tier="", namespace="")
        assert not labels.capped

    def test_a_capped_model_is_marked(self) -> None:
        """Past max_models the model reads other, and the labels say a cap replaced it."""
        rules = LabelRules(max_models=1)
        first = rules.call(rules.call_key({"provider": "p", "model": "m1"}))
        second = rules.call(rules.call_key({"provider": "p", "model": "m2"}))
        assert (first.model, first.capped) == ("m1", False)
        assert (second.model, second.capped) == (OTHER, True)

    def test_a_capped_namespace_is_marked(self) -> None:
        """Past max_namespaces the namespace reads other, marked capped."""
        rules = LabelRules(namespace=True, max_namespaces=1)
        rules.call(rules.call_key({"provider": "p", "model": "m", "namespace": "a"}))
        later = rules.call(rules.call_key({"provider": "p", "model": "m", "namespace": "b"}))
        assert (later.namespace, later.capped) == (OTHER, True)


class TestStoreAndReason:
    """Stores are labelled by kind; reasons as said; a test cache error by its type."""

    @pytest.mark.parametrize(
        ("name", "kind"),
        [
            ("memory", "memory"),
            ("redis:exllm", "redis"),
            ("disk:/var/cache/exllm_py", "disk"),
            ("RedisStore", "redis"),
            ("TieredStore", "tiered"),
            ("Store", "store"),
            (None, ""),
        ],
    )
    def test_the_store_kind(self, name: str | None, kind: str) -> None:
        """A breaker's name and a store's class both read as the kind of store."""
        assert LabelRules().store(name) == kind

    def test_a_test_cache_error_reads_as_its_type(self) -> None:
        """The error's type name, without the message (which names files and requests)."""
        rules = LabelRules()
        assert rules.error_reason("RecordingCorrupt: cassette x.json is broken") == (
            "RecordingCorrupt"
        )
        assert rules.error_reason("RecordingNotFound") == "RecordingNotFound"
