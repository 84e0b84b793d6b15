"""Checks of a fitted model's own attributes, before it predicts and when it
is unpickled: a model that was edited, tampered with or half-written gets a
clear error instead of predicting garbage or reading past its arrays."""

import weakref

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._forward import ACTIVATIONS

#: What prediction reads, besides the constructor's parameters.
FITTED_ATTRIBUTES = (
    "coefs_",
    "intercepts_",
    "n_features_in_",
    "n_outputs_",
    "out_activation_",
)

# Weight arrays already found finite, per live estimator: reading every
# weight costs as much as predicting one row, so it is done once per set of
# arrays (replacing ``coefs_`` or one of its arrays is seen; writing into an
# array in place is not).
_finite_weights = weakref.WeakKeyDictionary()


def check_fitted_model(estimator, owner=None):
    """Raise NotFittedError if ``estimator`` lacks any fitted attribute that
    prediction needs, ValueError if its weights do not fit together, with
    its inputs and outputs, or are not finite float32/float64 numbers.

    ``owner``: the live estimator whose record of finite weights to use and
    update (None: check the values every time).
    """
    check_is_fitted(estimator, FITTED_ATTRIBUTES)
    arrays = _weight_arrays(estimator)
    if owner is not None:
        known = _finite_weights.get(owner)
        if known is not None and all(r() is a for r, a in zip(known, arrays)):
            return
    for array in arrays:
        if not np.isfinite(array).all():
            raise ValueError(
                f"The model's weights hold NaN or infinite values; it cannot "
                f"predict. Fit {type(estimator).__name__} again."
            )
    if owner is not None:
        try:
            _finite_weights[owner] = tuple(weakref.ref(a) for a in arrays)
        except TypeError:  # an estimator that cannot be weakly referenced
            pass


def _weight_arrays(estimator):
    """(W1, b1, W2, b2) after checking their types, shapes and dtypes
    against each other and the model's other attributes."""
    name = type(estimator).__name__

    def invalid(what):
        return ValueError(f"Invalid {name} model: {what}.")

    coefs, intercepts = estimator.coefs_, estimator.intercepts_
    if not (
        isinstance(coefs, (list, tuple))
        and isinstance(intercepts, (list, tuple))
        and len(coefs) == 2
        and len(intercepts) == 2
    ):
        raise invalid("coefs_ and intercepts_ must be lists of two arrays")
    arrays = (coefs[0], intercepts[0], coefs[1], intercepts[1])
    if not all(isinstance(a, np.ndarray) for a in arrays):
        raise invalid("coefs_ and intercepts_ must hold numpy arrays")
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) != 1 or dtypes.pop() not in (np.float32, np.float64):
        raise invalid(
            "the weights must all be float32 or all float64, not "
            f"{', '.join(str(a.dtype) for a in arrays)}"
        )
    W1, b1, W2, b2 = arrays
    if W1.ndim != 2 or W2.ndim != 2 or b1.ndim != 1 or b2.ndim != 1:
        raise invalid("coefs_ must be 2-d arrays and intercepts_ 1-d arrays")
    n_hidden = W1.shape[1]
    n_outputs = _integer(estimator.n_outputs_, "n_outputs_", invalid)
    expected_outputs = estimator._outputs_of_targets()
    if expected_outputs is not None and expected_outputs != n_outputs:
        raise invalid(
            f"its targets need {expected_outputs} output unit(s), but "
            f"n_outputs_ is {n_outputs}"
        )
    expected = {
        "coefs_[0]": (_integer(estimator.n_features_in_, "n_features_in_", invalid),
                      n_hidden),
        "intercepts_[0]": (n_hidden,),
        "coefs_[1]": (n_hidden, n_outputs),
        "intercepts_[1]": (n_outputs,),
    }
    for (what, shape), array in zip(expected.items(), (W1, b1, W2, b2)):
        if array.shape != shape or 0 in shape:
            raise invalid(
                f"{what} has shape {array.shape}; n_features_in_="
                f"{estimator.n_features_in_}, {n_hidden} hidden units and "
                f"n_outputs_={n_outputs} need {shape}"
            )
    for what in ("activation", "out_activation_"):
        if getattr(estimator, what) not in ACTIVATIONS:
            raise invalid(f"{what}={getattr(estimator, what)!r} is not known")
    return arrays


def _integer(value, what, invalid):
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, np.integer)
    ):
        raise invalid(f"{what} must be an integer, not {value!r}")
    return int(value)
