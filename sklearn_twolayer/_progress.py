"""What a fit tells its user while it runs: progress and warnings.

Progress goes through :func:`report_iteration` and :func:`report_message`:
printed when the estimator is ``verbose``, as MLPClassifier prints it, or,
inside :func:`listening`, handed as data to a listener (the command line
shows every tenth epoch that way) and not printed.

Warnings go through :func:`warn_user`, which points them at the caller's
line, however deep in this package (or in scikit-learn's wrappers of
``fit``) they are raised.
"""

import contextlib
import contextvars
import os
import sys
import warnings
from dataclasses import dataclass

import sklearn


@dataclass(frozen=True)
class Progress:
    """One report of a running fit: an iteration's loss, or a message."""

    n_iter: int = None
    loss: float = None
    message: str = None

    def __str__(self):
        if self.message is not None:
            return self.message
        return f"Iteration {self.n_iter}, loss = {self.loss:.8f}"


_listener = contextvars.ContextVar("progress_listener", default=None)


@contextlib.contextmanager
def listening(listener):
    """Within the block, fits in this thread hand each :class:`Progress` to
    ``listener`` instead of printing it (whatever their ``verbose``)."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def _report(model, progress):
    listener = _listener.get()
    if listener is not None:
        listener(progress)
    elif model.verbose:
        print(progress)


def report_iteration(model, n_iter, loss):
    """Report the loss of iteration (epoch) ``n_iter``: made only when
    something takes it, since it is made at every epoch."""
    if model.verbose or _listener.get() is not None:
        _report(model, Progress(n_iter=n_iter, loss=loss))


def report_message(model, message):
    """Report a verbose message (early stopping, learning-rate changes)."""
    _report(model, Progress(message=message))


# Frames in these files are skipped when a warning looks for its caller.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_SKLEARN_BASE = os.path.join(os.path.dirname(sklearn.__file__), "base.py")


def _is_internal(filename):
    return filename.startswith(_PACKAGE_DIR) or filename == _SKLEARN_BASE


def warn_user(message, category=UserWarning):
    """``warnings.warn`` attributed to the first caller outside this package
    and scikit-learn's ``fit`` wrappers: the user's line."""
    # stacklevel 2 is warn_user's caller, frame 1 below this one.
    frame, level = sys._getframe(1), 2
    while frame is not None and _is_internal(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
