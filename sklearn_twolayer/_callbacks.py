"""scikit-learn's callback API (1.9 and later), and stand-ins before it.

With the API, ``fit`` reports one task per epoch (per iteration for
L-BFGS): ``ProgressBar`` shows them and ``ScoringMonitor`` scores the model
of each one, also inside a Pipeline or GridSearchCV, which propagate the
context themselves. Without it, the same code runs against a context that
does nothing.
"""

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9

    class CallbackSupportMixin:
        """Stand-in mixin: this scikit-learn version has no callbacks."""


class _NoCallbacks:
    """A callback context that calls nothing and never asks to stop."""

    def subcontext(self, **kwargs):
        return self

    def call_on_fit_task_begin(self, **kwargs):
        return self

    def call_on_fit_task_end(self, **kwargs):
        return False


def fit_context(estimator, max_subtasks):
    """The callback context of one ``fit``, with ``max_subtasks`` epochs."""
    if not hasattr(estimator, "_init_callback_context"):
        return _NoCallbacks()
    return estimator._init_callback_context(task_name="fit", max_subtasks=max_subtasks)


class EpochReporter:
    """Reports a fit and each of its epochs to the estimator's callbacks.

    Parameters
    ----------
    estimator : TwoLayerClassifier
        With ``classes_`` and the other state prediction needs already set.
    X, y : the training data, as the callbacks (e.g. a scorer) take them
    sample_weight : array-like or None
    max_epochs : int
    """

    def __init__(self, estimator, X, y, sample_weight, max_epochs):
        self.context = fit_context(estimator, max_epochs)
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.arguments = dict(estimator=estimator, X=X, y=y, metadata=metadata)
        self.context.call_on_fit_task_begin(**self.arguments)
        self.epoch = None

    def epoch_begins(self):
        self.epoch = self.context.subcontext(task_name="epoch")
        self.epoch.call_on_fit_task_begin(**self.arguments)

    def epoch_ends(self, fitted_attributes):
        """Close the epoch; ``fitted_attributes`` (called only if a callback
        needs the model) gives the attributes of the model at this epoch.
        Returns True when a callback asks to stop."""
        return bool(
            self.epoch.call_on_fit_task_end(
                **self.arguments, reconstruction_attributes=fitted_attributes
            )
        )

    def fit_ends(self):
        self.context.call_on_fit_task_end(
            **self.arguments, reconstruction_attributes={}
        )
