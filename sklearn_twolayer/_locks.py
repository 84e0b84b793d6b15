"""One fit at a time per estimator object.

``fit`` and ``partial_fit`` build the new model aside and commit it at the
end (see ``BaseTwoLayer._fit``), so a prediction running meanwhile sees the
old model or the new one. Two fits of the same object from two threads would
each start from the same old model, and the second commit would silently drop
the first one's work (two ``partial_fit`` calls count once): they take turns
instead, on a lock of their own object.

The locks live in a registry beside the estimators, not in them, so that
pickling, ``clone``, ``copy.deepcopy`` and skops see no lock; a forked child
starts with an empty registry (a lock held by a parent's thread when it
forked would never be released in the child).
"""

import functools
import os
import threading
import weakref

_registry_lock = threading.Lock()
_locks = weakref.WeakKeyDictionary()


def _reset_after_fork():
    global _registry_lock, _locks
    _registry_lock = threading.Lock()
    _locks = weakref.WeakKeyDictionary()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def fit_lock(estimator):
    """The re-entrant lock of ``estimator``'s fits (created on first use)."""
    with _registry_lock:
        lock = _locks.get(estimator)
        if lock is None:
            lock = _locks[estimator] = threading.RLock()
        return lock


def one_fit_at_a_time(method):
    """Decorate ``fit``/``partial_fit``: calls on the same object from
    several threads run one after the other, callbacks' set-up and
    tear-down included. Re-entrant, so a callback may fit its estimator."""

    @functools.wraps(method)
    def serialised(estimator, *args, **kwargs):
        with fit_lock(estimator):
            return method(estimator, *args, **kwargs)

    return serialised
