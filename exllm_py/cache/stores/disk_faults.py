"""``SqliteGuard``: run SQLite work so that a disk problem never breaks a call.

The disk store's twin of :class:`~exllm_py.cache.stores.redis_faults.FaultGuard`.
:meth:`SqliteGuard.run` runs one unit of work and returns :data:`FAULT`
instead of raising when SQLite could not do it; the store then behaves as
on a miss or a no-op. :meth:`SqliteGuard.call` is for the work whose
caller must know it did not happen (an invalidation): it raises
:class:`DiskStoreUnavailable`, naming the file, what went wrong and what to
do, instead. Each fault is a failure for the store's
:class:`~exllm_py.cache.stores.breaker.CircuitBreaker`, which reports it as
``("exllm", "cache", "error")`` with one of these reasons:

- ``locked``: another process held the write lock for longer than the
  store's ``timeout`` (``SQLITE_BUSY``, ``SQLITE_LOCKED``);
- ``disk_full`` (``SQLITE_FULL``);
- ``corrupt``: the file is damaged or is not a database
  (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``);
- ``io``: the file cannot be opened, read or written (``SQLITE_IOERR``,
  ``SQLITE_CANTOPEN``, ``SQLITE_READONLY``, ``SQLITE_PERM``);
- ``sqlite_error``: anything else SQLite reports as a database error.

Errors that mean a bug in the caller (``ProgrammingError``,
``IntegrityError``, ``InterfaceError``, ``NotSupportedError``) propagate: a
cache that hid them would hide them from the tests too.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Callable
from typing import Final, Literal, ParamSpec, TypeVar

from exllm_py.cache.stores.breaker import CircuitBreaker

__all__ = ["FAULT", "DiskFault", "DiskStoreUnavailable", "SqliteGuard", "fault_reason"]

P = ParamSpec("P")
T = TypeVar("T")


class DiskFault(enum.Enum):
    """The type of :data:`FAULT` (an enum, so that ``Literal[DiskFault.FAULT]`` narrows)."""

    FAULT = "fault"


#: What :meth:`SqliteGuard.run` returns when SQLite could not do the work.
FAULT: Final = DiskFault.FAULT

_BUGS: Final = (
    sqlite3.ProgrammingError,
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    sqlite3.NotSupportedError,
)

# Result code names (``sqlite_errorname``) by their prefix; extended codes such as
# SQLITE_IOERR_SHORT_READ or SQLITE_BUSY_SNAPSHOT share their primary code's prefix.
_REASONS: Final = (
    ("SQLITE_BUSY", "locked"),
    ("SQLITE_LOCKED", "locked"),
    ("SQLITE_FULL", "disk_full"),
    ("SQLITE_CORRUPT", "corrupt"),
    ("SQLITE_NOTADB", "corrupt"),
    ("SQLITE_IOERR", "io"),
    ("SQLITE_CANTOPEN", "io"),
    ("SQLITE_READONLY", "io"),
    ("SQLITE_PERM", "io"),
)


# What to do about each reason, for DiskStoreUnavailable's message.
_REMEDIES: Final = {
    "locked": "another process held the write lock for longer than the store's timeout: "
    "retry, or give the DiskStore a longer timeout=",
    "disk_full": "free space on its disk, then retry",
    "corrupt": "the file is damaged: delete it (the store starts empty) or give the "
    "DiskStore another directory",
    "io": "check that this process can read and write the file and its directory",
    "breaker_open": "it failed repeatedly just before; retry once its breaker's cooldown "
    "has passed",
}


class DiskStoreUnavailable(sqlite3.Error):
    """The disk store's database could not be used for work that must not fail silently.

    A ``sqlite3.Error``, raised ``from`` SQLite's own error (none when the
    breaker refused to try). ``database`` is the file, ``reason`` one of the
    module docstring's reasons or ``breaker_open``. The work's transaction
    did not commit: nothing of it happened.
    """

    def __init__(self, database: str, reason: str, detail: str) -> None:
        remedy = _REMEDIES.get(reason, "see the error it was raised from")
        super().__init__(
            f"DiskStore database {database} could not be used ({reason}: {detail}); {remedy}"
        )
        self.database = database
        self.reason = reason


def fault_reason(error: sqlite3.Error) -> str:
    """The telemetry ``reason`` for a SQLite error (see the module docstring)."""
    name = getattr(error, "sqlite_errorname", None) or ""
    for prefix, reason in _REASONS:
        if name.startswith(prefix):
            return reason
    return "sqlite_error"


class SqliteGuard:
    """Runs work against one database file, turning its faults into :data:`FAULT`.

    While ``breaker`` is open nothing runs: a corrupt file or a full disk
    then costs a call nothing until the breaker's cooldown has passed.
    Thread-safe (the breaker is). ``database`` names the file in errors.
    """

    def __init__(self, breaker: CircuitBreaker, database: str = "(unnamed)") -> None:
        self.breaker = breaker
        self.database = database

    def __repr__(self) -> str:
        return f"<SqliteGuard {self.breaker!r}>"

    def run(
        self, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T | Literal[DiskFault.FAULT]:
        """``work(*args, **kwargs)``, or :data:`FAULT` if SQLite failed or the breaker is open."""
        try:
            return self.call(work, *args, **kwargs)
        except DiskStoreUnavailable:
            return FAULT

    def call(self, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``work(*args, **kwargs)``, or :class:`DiskStoreUnavailable` where :meth:`run` has FAULT.

        A failure still counts for the breaker (and is reported) as in
        :meth:`run`; an open breaker refuses without trying.
        """
        if not self.breaker.allow():
            raise DiskStoreUnavailable(
                self.database,
                "breaker_open",
                f"not tried after {self.breaker.consecutive_failures} consecutive failures",
            )
        try:
            result = work(*args, **kwargs)
        except sqlite3.Error as exc:
            if isinstance(exc, _BUGS):
                raise
            reason = fault_reason(exc)
            self.breaker.failure(reason, exc)
            raise DiskStoreUnavailable(self.database, reason, str(exc)) from exc
        self.breaker.success()
        return result
