"""The telemetry handlers of the OpenTelemetry bridge: each event, recorded on the instruments.

The hit handler runs on every cache hit (its presence sends the hit path
down its slower branch, which builds the event), so it does the least it
can: it reads the event's labels
(:meth:`~exllm_py.metrics.labels.LabelRules.call_key`), finds the tallies
it resolved the first time it saw them, and adds to them, without calling
the OpenTelemetry SDK (:mod:`exllm_py.metrics.otel_tallies`). The other
handlers run on the miss path, off the hot one, and record directly.

Attributes of a call's instruments: ``gen_ai.system``,
``gen_ai.provider.name`` and ``gen_ai.request.model`` (capped, see
:mod:`exllm_py.metrics.labels`), ``tier`` on hits of a ``TieredStore``, and
``namespace`` when the bridge labels namespaces. The histograms carry fewer
(each attribute set is a dozen buckets): a hit's lookup time is the
store's doing, so it is by provider and tier; a provider call's is by
provider and model. Evictions and errors are by ``store`` and ``reason``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import attrs

from exllm_py import telemetry
from exllm_py.metrics.bus import handlers_of
from exllm_py.metrics.labels import CallKey, CallLabels, LabelRules
from exllm_py.metrics.otel_instruments import Instruments
from exllm_py.metrics.otel_semconv import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_TOKEN_TYPE,
    OPERATION_CHAT,
    TOKEN_INPUT,
    TOKEN_OUTPUT,
    provider_attributes,
)
from exllm_py.metrics.otel_spans import CallSpans
from exllm_py.metrics.otel_tallies import CallTally, Tallies

__all__ = ["Handler", "Recorder"]

Handler: TypeAlias = telemetry.Handler
Attributes: TypeAlias = dict[str, str]


@attrs.frozen
class _Call:
    """What one call key resolved to: its tally and attribute sets.

    The attribute dicts are never changed once made: the SDK may keep them.
    """

    tally: CallTally
    by_model: Attributes
    input_tokens: Attributes
    output_tokens: Attributes


class Recorder:
    """Records the telemetry events on ``instruments``; ``spans`` (or None) makes call spans."""

    def __init__(
        self, instruments: Instruments, rules: LabelRules, spans: CallSpans | None
    ) -> None:
        self.instruments = instruments
        self.rules = rules
        self.spans = spans
        # Per call key, what it resolved to the first time (see the module's docstring).
        self._calls: dict[CallKey, _Call] = {}

    def __repr__(self) -> str:
        return f"<Recorder {self.rules!r} spans={self.spans is not None}>"

    def handlers(self) -> Mapping[telemetry.Event, Handler]:
        """The handler of each event the bridge listens to."""
        return handlers_of(self)

    # -- the production cache ----------------------------------------------------------

    def on_hit(self, _event: telemetry.Event, measured: dict[str, Any], md: dict[str, Any]) -> None:
        key = self.rules.call_key(md)
        found = self._calls.get(key) or self._resolve(key)
        duration_ns = measured["duration_ns"]
        found.tally.hit(duration_ns / 1e9, measured.get("saved_cost_usd"))
        if self.spans is not None:
            self.spans.hit(md, duration_ns)

    def on_miss(
        self, _event: telemetry.Event, _measured: dict[str, Any], md: dict[str, Any]
    ) -> None:
        key = self.rules.call_key(md)
        found = self._calls.get(key) or self._resolve(key)
        found.tally.miss()

    def on_put(self, _event: telemetry.Event, measured: dict[str, Any], md: dict[str, Any]) -> None:
        key = self.rules.call_key(md)
        found = self._calls.get(key) or self._resolve(key)
        found.tally.put()
        instruments = self.instruments
        # Only an answer the provider produced carries these (a stream's has no duration).
        compute_ns = measured.get("compute_ns")
        if compute_ns is not None:
            instruments.miss_duration.record(compute_ns / 1e9, found.by_model)
            if self.spans is not None:
                self.spans.provider_call(md, compute_ns)
        # Zero is "the provider reported none": no call stored an answer of no tokens.
        if measured.get("input_tokens"):
            instruments.token_usage.record(measured["input_tokens"], found.input_tokens)
        if measured.get("output_tokens"):
            instruments.token_usage.record(measured["output_tokens"], found.output_tokens)

    def on_evict(
        self, _event: telemetry.Event, _measured: dict[str, Any], md: dict[str, Any]
    ) -> None:
        self.instruments.evictions.add(1, self._store_reason(md))

    def on_error(
        self, _event: telemetry.Event, _measured: dict[str, Any], md: dict[str, Any]
    ) -> None:
        self.instruments.errors.add(1, self._store_reason(md))

    def on_retry(
        self, _event: telemetry.Event, _measured: dict[str, Any], md: dict[str, Any]
    ) -> None:
        key = self.rules.call_key(md)
        found = self._calls.get(key) or self._resolve(key)
        attributes = {**found.by_model, "reason": self.rules.reason(md.get("reason"))}
        self.instruments.retries.add(1, attributes)

    # -- the test cache ----------------------------------------------------------------

    def on_test_hit(self, _event: telemetry.Event, _m: dict[str, Any], _md: dict[str, Any]) -> None:
        self.instruments.test_hits.add(1)

    def on_test_miss(
        self, _event: telemetry.Event, _m: dict[str, Any], _md: dict[str, Any]
    ) -> None:
        self.instruments.test_misses.add(1)

    def on_test_save(
        self, _event: telemetry.Event, _m: dict[str, Any], _md: dict[str, Any]
    ) -> None:
        self.instruments.test_saves.add(1)

    def on_test_error(
        self, _event: telemetry.Event, _m: dict[str, Any], md: dict[str, Any]
    ) -> None:
        self.instruments.test_errors.add(1, {"reason": self.rules.error_reason(md.get("error"))})

    # -- attributes --------------------------------------------------------------------

    def _resolve(self, key: CallKey) -> _Call:
        labels = self.rules.call(key)
        found = _call(labels, self.instruments.tallies)
        if not labels.capped:  # the raw keys that read as "other" have no bound
            self._calls[key] = found
        return found

    def _store_reason(self, md: Mapping[str, Any]) -> Attributes:
        rules = self.rules
        return {"store": rules.store(md.get("store")), "reason": rules.reason(md.get("reason"))}


def _call(labels: CallLabels, tallies: Tallies) -> _Call:
    provider = provider_attributes(labels.provider)
    by_model = {**provider, GEN_AI_REQUEST_MODEL: labels.model}
    call = dict(by_model)
    hit_duration = dict(provider)
    if labels.tier:
        call["tier"] = hit_duration["tier"] = labels.tier
    if labels.namespace:
        call["namespace"] = labels.namespace
    tokens = {**by_model, GEN_AI_OPERATION_NAME: OPERATION_CHAT}
    return _Call(
        tally=tallies.call(call, hit_duration),
        by_model=by_model,
        input_tokens={**tokens, GEN_AI_TOKEN_TYPE: TOKEN_INPUT},
        output_tokens={**tokens, GEN_AI_TOKEN_TYPE: TOKEN_OUTPUT},
    )
