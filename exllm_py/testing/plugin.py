"""The pytest plugin (``pytest11`` entry point): hooks and fixtures only.

The work lives in the other modules of :mod:`exllm_py.testing` and is
imported inside the hooks, so a run that has no ``live_api`` test pays
almost nothing for the plugin.

What it does:

- registers the ``live_api`` marker, the ``--exllm-record-mode`` option and
  the ini options ``exllm_cassette_dir``, ``exllm_ignore_headers`` and
  ``exllm_ignore_body_paths``; and pytest-recording's ``--record-mode``
  when that plugin is absent, so the option works with or without it;
- with ``--exllm-block-network`` (ini ``exllm_block_network``, env
  ``EXLLM_BLOCK_NETWORK=1``), registers the hooks that fail every
  non-loopback connection a test makes outside the recorder
  (:mod:`exllm_py.testing.network_block_plugin`);
- restates a missing-key error in a test that records: a key is needed to
  record, and replay-only would fail too (:mod:`exllm_py.testing.missing_key`);
- sets ``EXLLM_CACHE_STRATEGY=test`` for the run when the user left it
  unset, so the default client and every ``Client`` created without an
  explicit strategy use the :class:`~exllm_py.testing.strategy.TestStrategy`
  (production caching outside ``live_api`` tests);
- gives each test a fresh production cache behind that strategy;
- opens each ``live_api`` test's cassette before the test and saves it
  after (an autouse fixture that only marked tests keep; the
  ``exllm_cassette`` fixture hands the cassette to the test), and routes
  the test's calls through the recorder whatever strategy the user chose;
- merges the cassettes the run used into the usage log at the end, kept in
  pytest's cache dir (:mod:`exllm_py.testing.usage`), never among the
  cassettes, with what each test played, for finding stale interactions
  (:mod:`exllm_py.testing.staleness`);
- ends the run with a summary of what its ``live_api`` tests replayed,
  recorded, sent live and missed (:mod:`exllm_py.testing.run_report`),
  for the whole run under ``pytest -n`` too;
- shows a ``RecordingNotFound`` failure from the test's own line, without
  the frames of exllm_py and the HTTP stack below it
  (:mod:`exllm_py.testing.failure_report`).

What the user configured is kept: an ``EXLLM_CACHE_STRATEGY`` they set,
and a strategy they gave ``exllm_py.configure()`` (in a conftest, say).
:mod:`exllm_py.testing.isolation` holds the rules.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from exllm_py.testing.cassette import Cassette
    from exllm_py.testing.run_report import RunReport, Written
    from exllm_py.testing.settings import TestCacheSettings
    from exllm_py.testing.staleness import CassetteUse

__all__ = [
    "exllm_cassette",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_load_initial_conftests",
    "pytest_recording_configure",
    "pytest_report_header",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_testnodedown",
    "pytest_unconfigure",
]

_MARKER = "live_api"
# The autouse fixture that opens a marked test's cassette.
_AUTOUSE = "_exllm_live_api_cassette"
_RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")

_settings_key: pytest.StashKey[TestCacheSettings] = pytest.StashKey()
_used_key: pytest.StashKey[set[Path]] = pytest.StashKey()
_uses_key: pytest.StashKey[dict[Path, CassetteUse]] = pytest.StashKey()
_report_key: pytest.StashKey[RunReport] = pytest.StashKey()
# On a live_api test's item: its cassette (None when the test cache is disabled).
_cassette_key: pytest.StashKey[Cassette | None] = pytest.StashKey()
# On a live_api test's item: whether its call phase passed (read when its cassette closes).
_passed_key: pytest.StashKey[bool] = pytest.StashKey()
# What an xdist worker sends its controller: the run report, as JSON.
_WORKER_OUTPUT = "exllm_py_run_report"
# Present only when the plugin set EXLLM_CACHE_STRATEGY: the value to restore (None: unset).
_strategy_env_key: pytest.StashKey[str | None] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("exllm_py", "exllm_py: record and replay LLM API calls")
    group.addoption(
        "--exllm-record-mode",
        action="store",
        default=None,
        choices=_RECORD_MODES,
        help="how live_api tests use their cassettes: none (replay only), once (record "
        "missing cassettes), new_episodes, all, rewrite. Default: none under CI, else once.",
    )
    group.addoption(
        "--exllm-block-network",
        action="store_true",
        default=False,
        help="fail any connection to a non-loopback host made outside the recorder "
        "(also: ini exllm_block_network, env EXLLM_BLOCK_NETWORK=1)",
    )
    parser.addini(
        "exllm_block_network",
        "block connections to non-loopback hosts made outside the recorder (default: false)",
        type="bool",
        default=False,
    )
    parser.addini(
        "exllm_cassette_dir",
        "directory of live_api cassettes, relative to the rootdir (default: cassettes)",
        default=None,
    )
    parser.addini(
        "exllm_ignore_headers",
        "request headers left out of matching and cassettes (a trailing * is a prefix)",
        type="args",
        default=[],
    )
    parser.addini(
        "exllm_ignore_body_paths",
        "JSON body paths left out of matching, e.g. metadata.user_id (* for any item)",
        type="args",
        default=[],
    )
    parser.addini(
        "exllm_passthrough_hosts",
        "hosts (or host:port) live_api tests reach unrecorded, e.g. the test's own servers",
        type="args",
        default=[],
    )


def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    # pytest-recording's --record-mode, registered here when that plugin is absent.
    # Not in pytest_addoption: plugins' options are added in the order pytest
    # loads them, and argparse refuses a second --record-mode. By now every
    # plugin named on the command line, in PYTEST_PLUGINS or by an entry point
    # is loaded, so the parser knows whether one already took it.
    if hasattr(parser.parse_known_args([]), "record_mode"):
        return
    parser.getgroup("exllm_py").addoption(
        "--record-mode",
        action="store",
        default=None,
        choices=_RECORD_MODES,
        help="pytest-recording's option, understood without it: the record mode of "
        "live_api tests, when --exllm-record-mode is not given.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(ignore_body_paths=(), ignore_headers=(), passthrough_hosts=()): the test "
        "calls a real LLM API; its calls are recorded to a cassette once and replayed afterwards.",
    )
    from exllm_py.errors import ConfigurationError
    from exllm_py.testing.settings import settings_for_run

    # The record mode, first found wins (see settings.resolve_record_mode):
    # --exllm-record-mode > --record-mode (pytest-recording's or ours, when given)
    # > EXLLM_RECORD_MODE > "none" on a CI service (settings.CI_VARIABLES), else "once".
    try:
        settings = settings_for_run(
            rootdir=config.rootpath,
            option=config.getoption("exllm_record_mode"),
            recording_option=_recording_mode(config),
            cassette_dir=config.getini("exllm_cassette_dir"),
            ignore_headers=config.getini("exllm_ignore_headers"),
            ignore_body_paths=config.getini("exllm_ignore_body_paths"),
            env=os.environ,
        )
    except ConfigurationError as exc:
        raise pytest.UsageError(str(exc)) from exc
    from exllm_py.testing.run_report import RunReport

    config.stash[_settings_key] = settings
    config.stash[_used_key] = set()
    config.stash[_uses_key] = {}
    config.stash[_report_key] = RunReport()
    _block_network(config, settings)
    from exllm_py.testing.isolation import STRATEGY_ENV, choose_strategy_env

    # Only when unset: a strategy the user named is theirs. The default client
    # is left alone too: one that exists now was configured before the run
    # (a conftest calling exllm_py.configure()), and one created later reads
    # the variable.
    previous = os.environ.get(STRATEGY_ENV)
    if choose_strategy_env(os.environ):
        config.stash[_strategy_env_key] = previous


def pytest_unconfigure(config: pytest.Config) -> None:
    if _strategy_env_key not in config.stash:
        return
    from exllm_py.testing.isolation import STRATEGY_ENV

    previous = config.stash[_strategy_env_key]
    if previous is None:
        os.environ.pop(STRATEGY_ENV, None)
    else:
        os.environ[STRATEGY_ENV] = previous
    # The run is over: a default client created from the variable set for it
    # is dropped, so the next one reads the restored environment. Only if the
    # client module was imported: otherwise no default client exists, and a
    # run that never used the client does not pay for importing it.
    client = sys.modules.get("exllm_py.client")
    if client is not None:
        client.reset_default_client()


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(_settings_key, None)
    if settings is None:
        return None
    if not settings.enabled:
        return "exllm_py: test cache disabled (live_api tests call the real APIs)"
    return f"exllm_py: record mode {settings.mode.value}, cassettes in {settings.cassette_dir}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    used = config.stash.get(_used_key, set())
    if used:
        from exllm_py.testing.usage import UsageLog

        cassette_dir = config.stash[_settings_key].cassette_dir
        log = UsageLog(_state_dir(config), cassette_dir, config.rootpath)
        log.record(used, uses=config.stash[_uses_key])
    worker_output = getattr(config, "workeroutput", None)
    if worker_output is not None and _report_key in config.stash:
        worker_output[_WORKER_OUTPUT] = config.stash[_report_key].to_json()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist's hook, on the controller: add a finished worker's report to the run's."""
    report = node.config.stash.get(_report_key, None)
    sent = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT)
    if report is not None and sent is not None:
        report.merge_json(sent)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(_report_key, None)
    if report is None:
        return
    detailed = config.get_verbosity() > 0 or "A" in (config.getoption("reportchars") or "")
    for number, line in enumerate(report.lines(detailed=detailed)):
        terminalreporter.write_line(f"exllm_py: {line}" if number == 0 else line)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    if call.when != "call" or item.get_closest_marker(_MARKER) is None:
        return (yield)
    if call.excinfo is not None and not _wants_every_frame(item.config):
        from exllm_py.testing.failure_report import trim_recording_not_found

        trim_recording_not_found(call.excinfo)
    report = yield
    item.stash[_passed_key] = report.passed
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    # The exllm_cassette fixture already routes the default client through the
    # recorder, but a fixture set up after it (a conftest's autouse fixture
    # calling exllm_py.configure()) may have replaced the strategy since: check
    # again once every fixture is in place, just before the test body runs.
    if item.get_closest_marker(_MARKER) is None:
        return (yield)
    from exllm_py.testing.isolation import recording_default_client
    from exllm_py.testing.missing_key import explaining_missing_keys

    with recording_default_client(), explaining_missing_keys():
        return (yield)


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording's hook: keep vcrpy off the requests exllm_py records."""
    from exllm_py.testing.vcr_interop import install

    install(vcr)


@pytest.fixture
def exllm_cassette(
    request: pytest.FixtureRequest, _exllm_live_api_cassette: None
) -> Cassette | None:
    """The cassette of the running ``live_api`` test (``None`` when the cache is disabled).

    It exposes ``path``, ``mode``, ``interactions`` (what the cassette holds),
    ``played`` and ``recorded`` (what this test replayed and recorded).
    """
    node = request.node
    if node.get_closest_marker(_MARKER) is None:
        pytest.fail(
            f"{node.nodeid}: the exllm_cassette fixture is for tests marked @pytest.mark.{_MARKER}",
            pytrace=False,
        )
    cassette: Cassette | None = node.stash[_cassette_key]
    return cassette


@pytest.fixture(autouse=True)
def _exllm_live_api_cassette(request: pytest.FixtureRequest) -> Iterator[None]:
    # Autouse so that marking a test is enough; pytest_collection_modifyitems
    # takes it off unmarked tests. The cassette is opened here, not through
    # getfixturevalue("exllm_cassette"): that lookup cost each test about as
    # much as the rest of the plugin's setup (250 of 1,600 Python calls).
    if request.node.get_closest_marker(_MARKER) is None:
        yield
        return
    with _test_cassette(request) as cassette:
        request.node.stash[_cassette_key] = cassette
        yield


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Generator[None, None, None]:
    # Setting up a fixture, even one that does nothing, costs a plain test a
    # fifth of its run (about 300 of 1,700 Python calls): only marked tests
    # keep the one that opens their cassette. After every other plugin's
    # hook, so a mark added there counts. Each item gets its own list
    # (parametrized items share theirs, and their marks may differ).
    yield
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and _AUTOUSE in item.fixturenames
            and item.get_closest_marker(_MARKER) is None
        ):
            item.fixturenames = [name for name in item.fixturenames if name != _AUTOUSE]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # The module-level functions' default client lives for the session: start
    # its test cache afresh, so no test is answered from another's cache. Only
    # the cache a TestStrategy made for itself; never the user's strategy.
    # Nothing to do until something imported the client module (no default
    # client can exist before): plain tests import none of the client stack.
    if "exllm_py.client" in sys.modules:
        from exllm_py.testing.isolation import start_test

        start_test()


@contextlib.contextmanager
def _test_cassette(request: pytest.FixtureRequest) -> Iterator[Cassette | None]:
    """Record or replay a marked test's calls; save and account for them after it."""
    from exllm_py.testing.cassette import Cassette
    from exllm_py.testing.isolation import recording_default_client
    from exllm_py.testing.migration import adopt_legacy_cassette
    from exllm_py.testing.strategy import recording

    node = request.node
    settings = request.config.stash[_settings_key]
    if not settings.enabled:
        request.config.stash[_report_key].uncached_tests += 1
        with recording_default_client(), recording(None):
            yield None
        return
    options = _marker_options(node.nodeid, list(node.iter_markers(_MARKER)))
    cassette = Cassette.open(
        adopt_legacy_cassette(settings.cassette_dir, node.nodeid),
        mode=settings.mode,
        matcher=settings.matcher(options),
        test_id=node.nodeid,
        secrets=settings.secrets,
    )
    from exllm_py.testing.isolation import sealed
    from exllm_py.testing.passthrough import parse_hosts

    # Every httpx/httpx2 request of the test is recorded, but these hosts'.
    hosts = parse_hosts(
        request.config.getini("exllm_passthrough_hosts"),
        options.get("passthrough_hosts", ()),
        env=os.environ,
    )
    from exllm_py.testing.staleness import watching_cache_hits

    with recording_default_client(), sealed(cassette, hosts), watching_cache_hits() as hits:
        yield cassette
    # pytest.fail outside the except blocks: raised inside one, the refusal
    # would print twice, once as the Failed and once as its context.
    failure, written = _save(cassette)
    _account(request, cassette, written, saved=not failure, cache_hits=hits.count)
    if failure:
        pytest.fail(f"{node.nodeid}: {failure}", pytrace=False)


def _save(cassette: Cassette) -> tuple[str, Written]:
    """Save what the test recorded: (why it could not be saved, or "", what was written)."""
    from exllm_py.testing.redact import RecordingRefused

    # rewrite mode never reads the file, so ask the disk whether one was there.
    existed = cassette.existed or cassette.path.exists()
    try:
        size = cassette.save()
    except RecordingRefused as exc:
        return str(exc), ""
    except OSError as exc:
        return (
            f"cassette {cassette.path} could not be saved ({exc.strerror or exc}); "
            "the old file, if any, is unchanged"
        ), ""
    if size is None:
        return "", ""
    if not existed:
        return "", "created"
    return "", "extended" if cassette.replays else "rewritten"


def _account(
    request: pytest.FixtureRequest,
    cassette: Cassette,
    written: Written,
    *,
    saved: bool,
    cache_hits: int,
) -> None:
    """Count the test's cassette use into the run report and the usage log."""
    from exllm_py.testing.run_report import CassetteOutcome
    from exllm_py.testing.staleness import CassetteUse, interaction_id

    config = request.config
    config.stash[_report_key].add(
        CassetteOutcome(
            cassette=_shown(config, cassette.path),
            test_id=cassette.test_id,
            replayed=len(cassette.played),
            recorded=len(cassette.recorded),
            live=cassette.live,
            missing=cassette.missing,
            written=written,
        )
    )
    if not cassette.path.exists():
        return
    config.stash[_used_key].add(cassette.path)
    played = {id(item): item for item in (*cassette.played, *cassette.recorded)}
    # Complete (see staleness): the test passed, the file holds what the
    # cassette does, and every call it made reached the recorder.
    passed = request.node.stash.get(_passed_key, False)
    complete = saved and passed and bool(played) and not cache_hits
    config.stash[_uses_key][cassette.path] = CassetteUse(
        held=frozenset(map(interaction_id, cassette.interactions)) if complete else frozenset(),
        played=frozenset(map(interaction_id, played.values())),
        complete=complete,
    )


def _wants_every_frame(config: pytest.Config) -> bool:
    """``--full-trace``, ``--tb=long``/``native`` or ``--pdb``: the user asked for every frame."""
    style = config.getoption("tbstyle", "auto")
    return bool(
        config.getoption("fulltrace", False)
        or config.getoption("usepdb", False)
        or style in ("long", "native")
    )


def _shown(config: pytest.Config, path: Path) -> str:
    """``path`` relative to the rootdir when it is inside it."""
    try:
        return path.relative_to(config.rootpath).as_posix()
    except ValueError:
        return str(path)


def _marker_options(nodeid: str, markers: list[pytest.Mark]) -> dict[str, list[str]]:
    """The markers' keyword arguments, the closest marker's values first."""
    from exllm_py.testing.settings import MARKER_OPTIONS

    merged: dict[str, list[str]] = {}
    for marker in markers:
        unknown = set(marker.kwargs) - MARKER_OPTIONS
        if marker.args or unknown:
            pytest.fail(
                f"{nodeid}: @pytest.mark.{_MARKER} takes only the keyword arguments "
                f"{', '.join(sorted(MARKER_OPTIONS))}; got "
                f"{', '.join(map(repr, marker.args)) or ', '.join(sorted(unknown))}",
                pytrace=False,
            )
        for name, value in marker.kwargs.items():
            merged.setdefault(name, []).extend([value] if isinstance(value, str) else value)
    return merged


def _state_dir(config: pytest.Config) -> Path:
    """Where per-machine state goes: pytest's own cache dir, ``d/exllm``."""
    cache: pytest.Cache | None = getattr(config, "cache", None)
    if cache is not None:
        return cache.mkdir("exllm")
    # The cacheprovider plugin is disabled (-p no:cacheprovider): the same
    # place, found as pytest would, so that exllm-cache finds it either way.
    from exllm_py.testing.usage import state_dir_for

    try:
        cache_dir = config.getini("cache_dir")
    except ValueError:
        cache_dir = None  # the option is the disabled plugin's
    return state_dir_for(config.rootpath, cache_dir if isinstance(cache_dir, str) else None)


def _block_network(config: pytest.Config, settings: TestCacheSettings) -> None:
    """Register the network block's hooks, when the option, env or ini turns it on."""
    from exllm_py.errors import ConfigurationError
    from exllm_py.testing.settings import resolve_block_network

    try:
        switch = resolve_block_network(
            option=config.getoption("exllm_block_network"),
            ini=config.getini("exllm_block_network"),
            env=os.environ,
        )
    except ConfigurationError as exc:
        raise pytest.UsageError(str(exc)) from exc
    if switch is None:
        return
    from exllm_py.testing.network_block import NetworkBlock
    from exllm_py.testing.network_block_plugin import BlockNetworkPlugin

    def exempt(item: pytest.Item) -> bool:
        # With the test cache off, live_api tests are meant to call the real APIs.
        return not settings.enabled and item.get_closest_marker(_MARKER) is not None

    plugin = BlockNetworkPlugin(NetworkBlock(switch), exempt)
    config.pluginmanager.register(plugin, "exllm_block_network")


def _recording_mode(config: pytest.Config) -> str | None:
    """``--record-mode``: pytest-recording's, or this plugin's own when that one is absent."""
    try:
        value = config.getoption("record_mode")
    except ValueError:
        return None  # neither registered it (this plugin was loaded from a conftest)
    return value if isinstance(value, str) else None
