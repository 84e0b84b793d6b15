"""Checks of a fitted model's own attributes, before it predicts and when it
is unpickled: a model that was edited, tampered with or half-written gets a
clear error instead of predicting garbage or reading past its arrays."""

import weakref

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._messages import shown
from ._registry import ACTIVATIONS

#: What prediction reads, besides the constructor's parameters.
FITTED_ATTRIBUTES = (
    "coefs_",
    "intercepts_",
    "n_features_in_",
    "n_outputs_",
    "hidden_activation_",
    "out_activation_",
)

# The model last found valid, per live estimator: reading every weight
# costs as much as predicting one row, so the checks run once per model
# (replacing ``coefs_``, one of its arrays or another checked attribute is
# seen; writing into an array in place is not).
_checked = weakref.WeakKeyDictionary()
_CHECKED_VALUES = (
    "n_features_in_",
    "n_outputs_",
    "out_activation_",
    "hidden_activation_",
    "_y_type",
)


def check_fitted_model(estimator, owner=None):
    """Raise NotFittedError if ``estimator`` lacks any fitted attribute that
    prediction needs, ValueError if its weights do not fit together, with
    its inputs and outputs, or are not finite float32/float64 numbers.

    ``owner``: the live estimator whose record of checked models to use and
    update (None: check everything every time).
    """
    attributes = vars(estimator)
    if not all(name in attributes for name in FITTED_ATTRIBUTES):
        check_is_fitted(estimator, FITTED_ATTRIBUTES)  # raises, by name
    if owner is not None:
        known = _checked.get(owner)
        try:
            if known is not None and _same_model(known, estimator):
                return
        except TypeError:  # coefs_ or intercepts_ replaced by a non-list
            pass
    arrays = _weight_arrays(estimator)
    for array in arrays:
        if not np.isfinite(array).all():
            raise ValueError(
                f"The model's weights hold NaN or infinite values; it cannot "
                f"predict. Fit {type(estimator).__name__} again."
            )
    if owner is not None:
        try:
            _checked[owner] = _model_key(estimator)
        except TypeError:  # something that cannot be weakly referenced
            pass


def _model_key(estimator):
    """What the checks read: weak references to the arrays, the values of
    the rest."""
    arrays = [*estimator.coefs_, *estimator.intercepts_]
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        arrays.append(classes)
    return (
        tuple(weakref.ref(a) for a in arrays),
        tuple(getattr(estimator, name, None) for name in _CHECKED_VALUES),
    )


def _same_model(key, estimator):
    references, values = key
    arrays = [*estimator.coefs_, *estimator.intercepts_]
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        arrays.append(classes)
    return (
        len(arrays) == len(references)
        and all(r() is a for r, a in zip(references, arrays))
        and values == tuple(getattr(estimator, name, None) for name in _CHECKED_VALUES)
    )


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
    for what in ("hidden_activation_", "out_activation_"):
        if getattr(estimator, what) not in ACTIVATIONS:
            raise invalid(f"{what}={shown(getattr(estimator, what))} is not known")
    return arrays


def _integer(value, what, invalid):
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, np.integer)
    ):
        raise invalid(f"{what} must be an integer, not {shown(value)}")
    return int(value)
