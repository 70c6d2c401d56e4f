"""The production store a management command works on: ``--store disk|redis`` and where it is.

``invalidate``, ``warm`` and ``stats --store`` act on a store that outlives the command: a
``DiskStore`` directory (``--path``, else ``$EXLLM_CACHE_DIR``, else the
user cache dir) or a ``RedisStore`` namespace (``--redis URL``, else
``$EXLLM_REDIS_URL``; ``--namespace``, else ``exllm``). Without
``--store``, ``$EXLLM_CACHE_BACKEND`` decides, as it does for
``EXLLM_CACHE_STRATEGY=production``. A memory store dies with the command,
so it is refused with a message that says so.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.env import BACKEND_ENV, DIR_ENV, REDIS_URL_ENV
from exllm_py.cli.context import CommandFailed

__all__ = ["STORES", "add_store_options", "opened_store", "store_label"]

#: The stores these commands can open, as ``--store`` names them.
STORES = ("disk", "redis")
_DEFAULT_REDIS_URL = "redis://localhost:6379/0"


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
def opened_store(options: argparse.Namespace, env: Mapping[str, str]) -> Iterator[CacheStore]:
    """The store the options name, open for the command's duration; ``CommandFailed`` if not."""
    kind = chosen_store(options, env)
    try:
        store = _open(kind, options, env)
    except ImportError as exc:  # the redis extra is not installed
        raise CommandFailed(str(exc)) from exc
    try:
        yield store
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()


def _open(kind: str, options: argparse.Namespace, env: Mapping[str, str]) -> CacheStore:
    # Imported here: neither sqlite3 nor redis is loaded by commands that do not need them.
    if kind == "disk":
        if options.redis is not None or options.namespace is not None:
            raise CommandFailed("--redis and --namespace go with --store redis, not disk")
        from exllm_py.cache.stores.disk import DiskStore

        return DiskStore(_disk_path(options, env))
    if options.path is not None:
        raise CommandFailed("--path goes with --store disk, not redis")
    from exllm_py.cache.stores.redis import RedisStore

    # Management commands wait longer than a request's hit path would.
    return RedisStore(_redis_url(options, env), options.namespace or "exllm", timeout=5.0)


def _disk_path(options: argparse.Namespace, env: Mapping[str, str]) -> str | None:
    return options.path or env.get(DIR_ENV, "").strip() or None


def _redis_url(options: argparse.Namespace, env: Mapping[str, str]) -> str:
    return options.redis or env.get(REDIS_URL_ENV, "").strip() or _DEFAULT_REDIS_URL
