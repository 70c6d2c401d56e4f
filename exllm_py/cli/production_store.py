"""The production store a management command works on: ``--store disk|redis`` and where it is.

``invalidate``, ``warm`` and ``stats --store`` act on a store that outlives the command: a
``DiskStore`` directory (``--path``, else ``$EXLLM_CACHE_DIR``, else the
user cache dir) or a ``RedisStore`` namespace (``--redis URL``, else
``$EXLLM_REDIS_URL``; ``--namespace``, else ``exllm``). Without
``--store``, ``$EXLLM_CACHE_BACKEND`` decides, as it does for
``EXLLM_CACHE_STRATEGY=production``. A memory store dies with the command,
so it is refused with a message that says so.

The disk store is opened without bounds of its own (``$EXLLM_CACHE_MAX_BYTES``
aside): a command's bounds would evict the application's entries to fit
them. The application's own bounds apply again on its next write. A
command that only reads or removes (``create=False``) refuses a directory
that does not exist, so that a mistyped ``--path`` says so instead of
creating an empty store and reporting nothing found.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.env import BACKEND_ENV, DIR_ENV, MAX_BYTES_ENV, REDIS_URL_ENV
from exllm_py.cli.context import CommandFailed

__all__ = ["STORES", "add_store_options", "opened_store", "store_label"]

#: The stores these commands can open, as ``--store`` names them.
STORES = ("disk", "redis")
_DEFAULT_REDIS_URL = "redis://localhost:6379/0"
# No bound a command could reach: it must never evict the application's entries.
_UNBOUNDED = 2**62


def add_store_options(parser: argparse.ArgumentParser, namespace_type: Any) -> None:
    """``--store``, ``--path``, ``--redis`` and ``--namespace``, as store commands take them."""
    parser.add_argument(
        "--store",
        choices=STORES,
        help=f"the production store to work on (default: ${BACKEND_ENV})",
    )
    parser.add_argument(
        "--path",
        metavar="DIR",
        help=f"--store disk: the store's directory (default: ${DIR_ENV}, else the user cache "
        "dir, ~/.cache/exllm_py on Linux)",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        help=f"--store redis: the server (default: ${REDIS_URL_ENV}, else {_DEFAULT_REDIS_URL})",
    )
    parser.add_argument(
        "--namespace",
        metavar="NS",
        type=namespace_type,
        help="--store redis: the RedisStore namespace (default: exllm)",
    )


def chosen_store(options: argparse.Namespace, env: Mapping[str, str]) -> str:
    """``disk`` or ``redis``: ``--store``, else what ``$EXLLM_CACHE_BACKEND`` names."""
    if options.store is not None:
        return str(options.store)
    backend = env.get(BACKEND_ENV, "").strip().lower()
    if backend in STORES:
        return backend
    if options.redis is not None or options.namespace is not None:
        return "redis"
    if options.path is not None:
        return "disk"
    named = f" ({BACKEND_ENV}={backend})" if backend else ""
    raise CommandFailed(
        f"which store? give --store disk (with --path DIR) or --store redis (with --redis URL)"
        f"{named}; a memory store lives only as long as its process"
    )


def store_label(options: argparse.Namespace, env: Mapping[str, str]) -> str:
    """The store as messages name it: ``disk store at DIR`` or ``Redis namespace NS at URL``."""
    from exllm_py.cache.stores.redis_connect import redact_url_password

    if chosen_store(options, env) == "disk":
        return f"disk store at {_disk_path(options, env) or 'the user cache dir'}"
    url = redact_url_password(_redis_url(options, env))
    return f"Redis namespace {options.namespace or 'exllm'!r} at {url}"


@contextmanager
def opened_store(
    options: argparse.Namespace, env: Mapping[str, str], *, create: bool = True
) -> Iterator[CacheStore]:
    """The store the options name, open for the command's duration; ``CommandFailed`` if not.

    ``create=False``: a disk store must exist already.
    """
    kind = chosen_store(options, env)
    with _logging_to_stderr():
        try:
            store = _open(kind, options, env, create)
        except ImportError as exc:  # the redis extra is not installed
            raise CommandFailed(str(exc)) from exc
        try:
            yield store
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                close()


@contextmanager
def _logging_to_stderr() -> Iterator[None]:
    """Store warnings (``exllm.cache.error`` lines) go to stderr while the store is open.

    structlog's defaults print to stdout, which is the command's output (and
    would break ``--json``). Unless something configured structlog already,
    it is configured for the command's duration (warnings and errors only,
    as the library logs until an application says otherwise), then reset.
    """
    import logging
    import sys

    import structlog

    from exllm_py import telemetry

    if structlog.is_configured():
        yield
        return
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    telemetry.refresh_logging()
    try:
        yield
    finally:
        structlog.reset_defaults()
        telemetry.refresh_logging()


def _open(
    kind: str, options: argparse.Namespace, env: Mapping[str, str], create: bool
) -> CacheStore:
    # Imported here: neither sqlite3 nor redis is loaded by commands that do not need them.
    if kind == "disk":
        if options.redis is not None or options.namespace is not None:
            raise CommandFailed("--redis and --namespace go with --store redis, not disk")
        from exllm_py.cache.stores.disk import DiskStore
        from exllm_py.cache.stores.disk_schema import default_directory
        from exllm_py.cache.stores.env import byte_count

        path = _disk_path(options, env)
        directory = Path(path) if path is not None else default_directory(env)
        if not create and not directory.is_dir():
            raise CommandFailed(
                f"no disk store at {directory} (no such directory): check --path or ${DIR_ENV}"
            )
        bound = env.get(MAX_BYTES_ENV, "").strip()
        max_bytes = byte_count(bound) if bound else _UNBOUNDED
        return DiskStore(directory, max_bytes=max_bytes, max_entries=_UNBOUNDED)
    if options.path is not None:
        raise CommandFailed("--path goes with --store disk, not redis")
    from exllm_py.cache.stores.redis import RedisStore

    # Management commands wait longer than a request's hit path would.
    return RedisStore(_redis_url(options, env), options.namespace or "exllm", timeout=5.0)


def _disk_path(options: argparse.Namespace, env: Mapping[str, str]) -> str | None:
    return options.path or env.get(DIR_ENV, "").strip() or None


def _redis_url(options: argparse.Namespace, env: Mapping[str, str]) -> str:
    return options.redis or env.get(REDIS_URL_ENV, "").strip() or _DEFAULT_REDIS_URL
