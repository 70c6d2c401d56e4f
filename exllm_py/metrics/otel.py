"""The telemetry bus bridged to OpenTelemetry (``pip install 'exllm_py[otel]'``).

::

    from exllm_py.metrics import otel

    metrics = otel.install()                 # the global MeterProvider
    metrics.watch(strategy.store, name="responses")
    ...
    metrics.uninstall()

:func:`install` attaches a handler per telemetry event and records through
a ``Meter`` named ``exllm_py`` of the provider given (else the global one,
as the application's SDK set it up). The instruments and their units are
listed in :mod:`exllm_py.metrics.otel_instruments`; they follow the
OpenTelemetry GenAI semantic conventions where those apply
(:mod:`exllm_py.metrics.otel_semconv`): calls are attributed by
``gen_ai.system``, ``gen_ai.provider.name`` and ``gen_ai.request.model``,
and the tokens of each provider call whose answer is stored go to the
``gen_ai.client.token.usage`` histogram. A hit records no tokens: it used
none.

A cache hit never calls the SDK, whose every measurement costs about as
much as the hit itself: it adds to the bridge's own tallies, which the
SDK reads when a metric reader collects (:mod:`exllm_py.metrics.otel_tallies`).

With ``spans=True``, each call the cache answers, and each provider call
whose answer it stores, is a span with a ``cache.hit`` attribute, made
through ``tracer_provider`` (else the global one): see
:mod:`exllm_py.metrics.otel_spans`.

Attributes are bounded as the Prometheus bridge's labels are
(:mod:`exllm_py.metrics.labels`): the first 100 models, then ``"other"``
(``max_models=``); ``namespace`` only with ``namespace_label=True``, since
namespaces are often one per tenant or user, and an attribute of them is a
series per tenant in every instrument.

Only the API is needed at run time. Without an SDK, the global provider
hands out instruments that do nothing until an SDK is set up (and then
record), so an application may install the bridge before it configures
OpenTelemetry. A ``NoOpMeterProvider`` (and no spans) attaches no handler
at all: the hit path stays as fast as with no bridge.

A meter provider takes one bridge at a time: installing a second raises,
naming the fix. :meth:`OTelMetrics.uninstall` detaches the handlers and
stops the store gauges (OpenTelemetry keeps instruments for the provider's
life: a later install records through the same ones).
"""

from __future__ import annotations

import sys
import threading
import weakref
from types import TracebackType

try:
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace as otel_trace
except ImportError as exc:
    raise ImportError(
        "exllm_py.metrics.otel needs opentelemetry-api: pip install 'exllm_py[otel]'"
    ) from exc

from exllm_py import __version__, telemetry
from exllm_py.cache.stores.base import CacheStore
from exllm_py.errors import ConfigurationError
from exllm_py.forksafe import renew_after_fork
from exllm_py.metrics.labels import MAX_MODELS, LabelRules
from exllm_py.metrics.otel_instruments import METER_NAME, Instruments, instruments_for
from exllm_py.metrics.otel_recorder import Recorder
from exllm_py.metrics.otel_spans import CallSpans

__all__ = ["OTelMetrics", "install"]

# Meter providers with a bridge on them; weakly, so that a dropped provider is forgotten.
_installed: weakref.WeakKeyDictionary[otel_metrics.MeterProvider, OTelMetrics] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()
renew_after_fork(sys.modules[__name__], "_lock")


def install(
    meter_provider: otel_metrics.MeterProvider | None = None,
    *,
    tracer_provider: otel_trace.TracerProvider | None = None,
    namespace_label: bool = False,
    spans: bool = False,
    max_models: int = MAX_MODELS,
) -> OTelMetrics:
    """Record the cache's telemetry through ``meter_provider`` (default: the global one).

    ``spans``: a span per call answered from the cache or by the provider,
    through ``tracer_provider`` (default: the global one);
    ``namespace_label``: attribute calls by ``cache_namespace`` too (off:
    see the module's docstring); ``max_models``: distinct model values kept
    before the rest read ``"other"``.
    """
    provider = otel_metrics.get_meter_provider() if meter_provider is None else meter_provider
    instruments = instruments_for(provider)
    rules = LabelRules(namespace=namespace_label, max_models=max_models)
    call_spans = None
    if spans:
        call_spans = CallSpans(otel_trace.get_tracer(METER_NAME, __version__, tracer_provider))
    bridge = OTelMetrics(provider, instruments, Recorder(instruments, rules, call_spans))
    with _lock:
        if provider in _installed:
            raise ConfigurationError(
                "exllm_py's OpenTelemetry bridge is installed on this meter provider "
                "already: call uninstall() on the handle the first install() returned, "
                "or pass another provider (install(meter_provider=...))"
            )
        _installed[provider] = bridge
    if not _records_nothing(provider, spans, tracer_provider):
        bridge._attach()
    return bridge


class OTelMetrics:
    """What :func:`install` set up on one meter provider; :meth:`uninstall` takes it down."""

    def __init__(
        self, provider: otel_metrics.MeterProvider, instruments: Instruments, recorder: Recorder
    ) -> None:
        self.meter_provider = provider
        self.instruments = instruments
        self.recorder = recorder
        self._handler_prefix = f"exllm_py.metrics.otel:{id(self)}"

    def __repr__(self) -> str:
        state = "installed" if self.installed else "uninstalled"
        return f"<OTelMetrics {state} {self.recorder!r}>"

    @property
    def installed(self) -> bool:
        """Whether the bridge records (until :meth:`uninstall`)."""
        return _installed.get(self.meter_provider) is self

    def __enter__(self) -> OTelMetrics:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.uninstall()

    def watch(self, store: CacheStore, *, name: str) -> None:
        """Report ``store``'s entries and bytes at each collection, attributed ``name``."""
        if not self.installed:
            raise ConfigurationError(
                "watch() on an uninstalled OpenTelemetry bridge reports nothing: "
                "watch the store through the handle of a new install()"
            )
        kind = self.recorder.rules.store(type(store).__name__)
        self.instruments.stores.watch(store, name, kind)

    def unwatch(self, name: str) -> bool:
        """Stop reporting the store watched as ``name``; False if there was none."""
        return self.instruments.stores.unwatch(name)

    def uninstall(self) -> None:
        """Detach the handlers and stop the store gauges; a second call does nothing."""
        with _lock:
            if _installed.get(self.meter_provider) is not self:
                return
            del _installed[self.meter_provider]
        for event in self.recorder.handlers():
            telemetry.detach(self._handler_id(event))
        self.instruments.stores.clear()

    def _attach(self) -> None:
        for event, handler in self.recorder.handlers().items():
            telemetry.attach(self._handler_id(event), [event], handler)

    def _handler_id(self, event: telemetry.Event) -> str:
        return f"{self._handler_prefix}:{'.'.join(event[1:])}"


def _records_nothing(
    provider: otel_metrics.MeterProvider,
    spans: bool,
    tracer_provider: otel_trace.TracerProvider | None,
) -> bool:
    """Whether every instrument and span would be dropped for good, whatever comes later.

    Only an explicit no-op provider says so: the global provider, before an
    SDK is set up, hands out proxies that start recording once it is.
    """
    if not isinstance(provider, otel_metrics.NoOpMeterProvider):
        return False
    return not spans or isinstance(tracer_provider, otel_trace.NoOpTracerProvider)
