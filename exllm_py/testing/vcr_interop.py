"""Working beside vcrpy / pytest-recording: an LLM call is recorded once, by exllm_py.

vcrpy records by patching httpx's network transports, which sit *inside*
exllm_py's recording transport. So when a test is both ``@pytest.mark.vcr``
and ``@pytest.mark.live_api``, a call exllm_py records would reach vcrpy's
patch too and land in both cassettes; and in vcrpy's replay-only mode,
vcrpy would refuse it. :func:`skip_exllm_requests` is a vcrpy
``before_record_request`` filter that hides from vcrpy the requests
exllm_py is recording, so vcrpy neither records nor refuses them. The
plugin installs it through pytest-recording's ``pytest_recording_configure``
hook; a ``vcr_config`` that sets its own ``before_record_request`` replaces
it, so add this filter to your list then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exllm_py.testing.transport import is_forwarding

__all__ = ["install", "skip_exllm_requests"]


def skip_exllm_requests(request: Any) -> Any:
    """vcrpy filter: ``None`` (ignore) for requests exllm_py records, else ``request``."""
    return None if is_forwarding() else request


def install(vcr: Any) -> None:
    """Put :func:`skip_exllm_requests` in front of ``vcr``'s ``before_record_request``."""
    previous: Callable[[Any], Any] | None = getattr(vcr, "before_record_request", None)
    if previous is None:
        vcr.before_record_request = skip_exllm_requests
        return

    def before_record_request(request: Any) -> Any:
        return None if is_forwarding() else previous(request)

    vcr.before_record_request = before_record_request
