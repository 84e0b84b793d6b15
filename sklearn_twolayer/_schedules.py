"""Learning-rate schedules and stopping rules of the epoch loop.

The same rules as MLPClassifier and MLPRegressor: an epoch counts as no
improvement when the training loss fell (or, with early stopping, the
validation score rose) by less than ``tol`` over the best so far; after
more than ``n_iter_no_change`` such epochs in a row, training stops, or,
with ``learning_rate="adaptive"``, sgd's step is divided by 5 instead while
it is above 1e-6.
"""

#: sgd's adaptive schedule divides the step by this after a stall...
ADAPTIVE_DIVISOR = 5.0
#: ...and stops once the step is at most this.
ADAPTIVE_SMALLEST_STEP = 1e-6


def invscaling_learning_rate(learning_rate_init, samples_seen, power_t):
    """Step of the ``"invscaling"`` schedule after ``samples_seen`` samples."""
    return learning_rate_init / (samples_seen + 1) ** power_t


def count_stalled_epochs(count, improvement, tol):
    """Epochs in a row without an improvement of at least ``tol``, after one
    more epoch whose improvement over the best so far is ``improvement``."""
    return count + 1 if improvement < tol else 0


def adaptive_learning_rate(learning_rate):
    """The step after a stall under the adaptive schedule, or None when it
    is already too small and training should stop."""
    if learning_rate > ADAPTIVE_SMALLEST_STEP:
        return learning_rate / ADAPTIVE_DIVISOR
    return None
