"""The test cache's settings for one pytest run, resolved from options, ini and environment.

Kept apart from the plugin so that the precedence rules are plain functions,
tested without starting pytest.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from exllm_py.errors import ConfigurationError
from exllm_py.testing.record_mode import RecordMode

if TYPE_CHECKING:
    from exllm_py.testing.matching import Matcher

__all__ = [
    "BLOCK_NETWORK_ENV",
    "CASSETTE_DIR_ENV",
    "CI_VARIABLES",
    "ENABLED_ENV",
    "MARKER_OPTIONS",
    "RECORD_MODE_ENV",
    "TestCacheSettings",
    "ci_variable",
    "is_ci",
    "is_enabled",
    "resolve_block_network",
    "resolve_cassette_dir",
    "resolve_record_mode",
    "settings_for_run",
]

RECORD_MODE_ENV = "EXLLM_RECORD_MODE"
CASSETTE_DIR_ENV = "EXLLM_TEST_CACHE_DIR"
ENABLED_ENV = "EXLLM_TEST_CACHE_ENABLED"
BLOCK_NETWORK_ENV = "EXLLM_BLOCK_NETWORK"
#: Variables CI services set on their runners; any of them makes the record mode
#: default to ``none``. Vendor-specific ones count too: not every service sets
#: ``CI``, and ``CI=false`` left over in a runner's environment must not turn a
#: replay-only run into one that calls the providers.
CI_VARIABLES = (
    "CI",
    "APPVEYOR",
    "BITBUCKET_BUILD_NUMBER",
    "BUILDKITE",
    "CIRCLECI",
    "CODEBUILD_BUILD_ID",
    "CONTINUOUS_INTEGRATION",
    "DRONE",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "HEROKU_TEST_RUN_ID",
    "JENKINS_URL",
    "SEMAPHORE",
    "TEAMCITY_VERSION",
    "TF_BUILD",
    "TRAVIS",
)
#: Keyword arguments ``@pytest.mark.live_api(...)`` accepts.
MARKER_OPTIONS = frozenset({"ignore_body_paths", "ignore_headers", "passthrough_hosts"})

_FALSE = frozenset({"0", "false", "no", "off"})
_TRUE = frozenset({"1", "true", "yes", "on"})


@attrs.frozen
class TestCacheSettings:
    """Everything a ``live_api`` test needs to open its cassette."""

    __test__ = False  # not a test class

    mode: RecordMode
    cassette_dir: Path
    enabled: bool = True
    ignore_headers: tuple[str, ...] = ()
    ignore_body_paths: tuple[str, ...] = ()
    #: API keys present when the run started (a fixture may unset them later).
    secrets: Mapping[str, str] = attrs.field(factory=dict, repr=False, hash=False)

    def matcher(self, marker_options: Mapping[str, Any] | None = None) -> Matcher:
        """The matcher for a test: the ini's ignores plus the marker's."""
        options = marker_options or {}
        return _matcher(
            frozenset((*self.ignore_headers, *_strings(options, "ignore_headers"))),
            (*self.ignore_body_paths, *_strings(options, "ignore_body_paths")),
        )


@functools.lru_cache(maxsize=64)
def _matcher(ignore_headers: frozenset[str], ignore_body_paths: tuple[str, ...]) -> Matcher:
    # Shared: a Matcher is immutable, and most tests of a run ask for the same one.
    # Imported here: the plugin resolves the settings in every run, and
    # only live_api tests need a matcher (matching imports httpx).
    from exllm_py.testing.matching import Matcher

    return Matcher(ignore_headers, ignore_body_paths)


def settings_for_run(
    *,
    rootdir: Path,
    option: str | None,
    recording_option: str | None,
    cassette_dir: str | None,
    ignore_headers: Iterable[str],
    ignore_body_paths: Iterable[str],
    env: Mapping[str, str],
) -> TestCacheSettings:
    """The settings of a pytest run from its options, ini values and environment."""
    return TestCacheSettings(
        mode=resolve_record_mode(option=option, recording_option=recording_option, env=env),
        cassette_dir=resolve_cassette_dir(rootdir, cassette_dir, env),
        enabled=is_enabled(env),
        ignore_headers=tuple(ignore_headers),
        ignore_body_paths=tuple(ignore_body_paths),
        secrets=_KeyValues(env),
    )


def resolve_record_mode(
    *,
    option: str | None,
    recording_option: str | None,
    env: Mapping[str, str],
) -> RecordMode:
    """The record mode, first found wins.

    ``--exllm-record-mode``, then ``--record-mode`` (pytest-recording's, or
    the plugin's own when that plugin is absent), then ``EXLLM_RECORD_MODE``,
    then ``none`` under CI (:func:`is_ci`) and ``once`` elsewhere.
    """
    for source, value in (
        ("--exllm-record-mode", option),
        ("--record-mode", recording_option),
        (RECORD_MODE_ENV, env.get(RECORD_MODE_ENV, "").strip() or None),
    ):
        if value is not None:
            try:
                return RecordMode(value.lower())
            except ValueError:
                modes = ", ".join(mode.value for mode in RecordMode)
                raise ConfigurationError(
                    f"{source}={value!r} is not a record mode; use one of {modes}"
                ) from None
    return RecordMode.NONE if is_ci(env) else RecordMode.ONCE


def resolve_cassette_dir(rootdir: Path, ini_value: str | None, env: Mapping[str, str]) -> Path:
    """``EXLLM_TEST_CACHE_DIR``, else the ini's ``exllm_cassette_dir``, else ``cassettes``.

    The environment wins so that one run can be pointed elsewhere (a demo, a
    scratch re-recording) without editing the project's configuration.
    Relative paths are taken from the rootdir.
    """
    value = env.get(CASSETTE_DIR_ENV, "").strip() or (ini_value or "").strip() or "cassettes"
    path = Path(value).expanduser()
    return path if path.is_absolute() else rootdir / path


def is_ci(env: Mapping[str, str]) -> bool:
    """Whether the run is on a CI service: see :func:`ci_variable`."""
    return ci_variable(env) is not None


def ci_variable(env: Mapping[str, str]) -> str | None:
    """The first of :data:`CI_VARIABLES` set to anything but empty or an explicit false.

    ``CI=false`` (or ``0``, ``no``, ``off``, empty) does not count by itself,
    but does not hide another service's variable either: to record on a CI
    runner, ask for it (``--record-mode=once``).
    """
    for name in CI_VARIABLES:
        value = env.get(name, "").strip().lower()
        if value and value not in _FALSE:
            return name
    return None


def resolve_block_network(*, option: bool, ini: bool, env: Mapping[str, str]) -> str | None:
    """What turned the network block on, or ``None`` when it is off.

    ``--exllm-block-network``, else ``EXLLM_BLOCK_NETWORK``, else the ini's
    ``exllm_block_network``. The variable takes ``1``/``true``/``yes``/``on``
    or ``0``/``false``/``no``/``off``, so one run can turn off what the ini
    turns on. The answer names the switch, for error messages.
    """
    if option:
        return "--exllm-block-network"
    value = env.get(BLOCK_NETWORK_ENV, "").strip().lower()
    if not value:
        return "ini exllm_block_network" if ini else None
    if value in _TRUE:
        return f"{BLOCK_NETWORK_ENV}={value}"
    if value in _FALSE:
        return None
    raise ConfigurationError(
        f"{BLOCK_NETWORK_ENV}={value!r} is not a switch; use 1 (block) or 0 (do not block)"
    )


def is_enabled(env: Mapping[str, str]) -> bool:
    """False when ``EXLLM_TEST_CACHE_ENABLED`` says so: ``live_api`` tests then call the API."""
    return env.get(ENABLED_ENV, "").strip().lower() not in _FALSE


class _KeyValues(Mapping[str, str]):
    """The API keys of ``env`` as it is now (:func:`~exllm_py.testing.redact.key_values`).

    Found on first use: the key variables' names come from the provider
    registry, which imports every provider adapter, and a run with no
    ``live_api`` test never needs them. The environment is copied now, so the
    keys are those present when the run started, as if found at once.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env: dict[str, str] | None = dict(env)
        self._keys: dict[str, str] = {}

    def _found(self) -> dict[str, str]:
        if self._env is not None:
            from exllm_py.testing.redact import key_values

            self._keys, self._env = key_values(self._env), None
        return self._keys

    def __getitem__(self, name: str) -> str:
        return self._found()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._found())

    def __len__(self) -> int:
        return len(self._found())

    def __repr__(self) -> str:
        return repr(self._found())


def _strings(options: Mapping[str, Any], name: str) -> Iterable[str]:
    value = options.get(name, ())
    if isinstance(value, str):
        return (value,)
    if not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f"live_api({name}=...) takes strings, got {value!r}")
    return tuple(value)
