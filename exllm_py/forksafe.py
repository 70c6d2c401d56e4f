"""Locks a forked child can use: re-created in the child after ``os.fork()``.

A thread of the parent may hold a lock at the moment another thread forks
(the sweeper holds a ``MemoryStore``'s lock during every sweep). The child
inherits the lock, held, but not the thread that would release it: its first
use of the lock would hang for good. An object whose locks may be held across
a fork names them with :func:`renew_after_fork`; in a forked child each named
attribute gets a new, unheld ``threading.Lock`` (``os.register_at_fork``).
Owners are held weakly (a lock cannot be), so registering keeps nothing alive.

A lock is only safe to renew if what it guards is consistent whenever it is
not held mid-update, or is thrown away in the child anyway; the guarded data
of a parent thread interrupted by the fork is as the thread left it.

May import: the standard library only, so that every layer can use it.
"""

from __future__ import annotations

import os
import threading
import weakref

__all__ = ["renew_after_fork"]

_OWNERS: weakref.WeakKeyDictionary[object, tuple[str, ...]] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def renew_after_fork(owner: object, *names: str) -> None:
    """In a forked child, replace ``owner``'s attributes ``names`` with new ``threading.Lock``s.

    ``owner`` is any weakly referenceable, hashable object (an instance, a module).
    """
    with _REGISTRY_LOCK:
        _OWNERS[owner] = (*_OWNERS.get(owner, ()), *names)


def _renew_in_child() -> None:
    global _REGISTRY_LOCK
    _REGISTRY_LOCK = threading.Lock()
    for owner, names in list(_OWNERS.items()):
        for name in names:
            setattr(owner, name, threading.Lock())


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_renew_in_child)
