"""Targets as the network's outputs: class labels (the classifier) and
continuous values (the regressor), and back."""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._messages import shown

#: Classification targets the classifier takes.
SUPPORTED_TARGETS = ("binary", "multiclass", "multilabel-indicator")


def classification_target_type(y):
    """The type of a classification target, or a ValueError naming it."""
    check_classification_targets(y)
    y_type = type_of_target(y, input_name="y")
    if y_type not in SUPPORTED_TARGETS:
        raise ValueError(
            f"TwoLayerClassifier supports binary, multiclass and "
            f"multilabel-indicator targets; got a {y_type} target."
        )
    return y_type


def refuse_missing_targets(y):
    """A ValueError naming the missing targets of a pandas ``y`` (NaN, None,
    ``pd.NA``), whose masked dtypes would otherwise fail inside the checks."""
    isna = getattr(y, "isna", None)
    if isna is None:
        return
    missing = np.asarray(isna()).reshape(len(y), -1).any(axis=1)
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ValueError(
            f"Input y contains NaN: {rows.shape[0]} target(s) are missing "
            f"(NaN, None or pd.NA), the first at position {int(rows[0])}. "
            "Drop those samples, or fill in their targets."
        )


def outputs_of_targets(classes, y_type):
    """The number of output units a classifier of these targets has, or a
    ValueError if they cannot be a fitted classifier's."""
    if y_type not in SUPPORTED_TARGETS or not (
        isinstance(classes, np.ndarray) and classes.ndim == 1
    ):
        raise ValueError(
            "Invalid TwoLayerClassifier model: classes_ must be a 1-d array of "
            f"a {', '.join(SUPPORTED_TARGETS)} target."
        )
    n_classes = classes.shape[0]
    if y_type == "binary" and n_classes in (1, 2):
        return 1
    if (y_type == "multiclass" and n_classes > 2) or (
        y_type == "multilabel-indicator" and n_classes > 0
    ):
        return n_classes
    raise ValueError(
        f"Invalid TwoLayerClassifier model: a {y_type} target cannot have "
        f"{n_classes} classes."
    )


def checked_classes(classes):
    """The sorted distinct labels of ``classes`` (partial_fit's argument),
    or a ValueError if they cannot be class labels."""
    labels = np.asarray(classes)
    if labels.ndim != 1 or labels.shape[0] == 0:
        raise ValueError(
            f"classes must be a non-empty 1-d array of labels; got {shown(classes)}."
        )
    for label in labels.tolist():
        if label is None or (isinstance(label, float) and not np.isfinite(label)):
            raise ValueError(
                "classes must not hold None, NaN or infinite labels; got "
                f"{shown(classes)}."
            )
    try:
        return np.unique(labels)
    except TypeError:
        raise ValueError(
            f"classes must be labels of one comparable type; got {shown(classes)}."
        ) from None


def output_activation_of(y_type):
    """Softmax for multiclass targets, one logistic unit per label else."""
    return "softmax" if y_type == "multiclass" else "logistic"


def encode_labels(y, y_type, classes, dtype):
    """Labels as the network's outputs: one logistic unit for binary y, one-hot
    rows for multiclass y, the indicator matrix itself for multilabel y."""
    if y_type == "multilabel-indicator":
        y = y.toarray() if hasattr(y, "toarray") else y
        return np.ascontiguousarray(y, dtype=dtype)
    if y_type == "binary":
        # With a single class every sample is of it (the unit learns 1).
        positive = classes[-1]
        return (y == positive).astype(dtype).reshape(-1, 1)
    Y = np.zeros((y.shape[0], classes.shape[0]), dtype=dtype)
    Y[np.arange(y.shape[0]), np.searchsorted(classes, y)] = 1
    return Y


def labels_from_output(output, y_type, classes):
    """Predicted labels from the output layer's activations."""
    if y_type == "multilabel-indicator":
        return (output > 0.5).astype(int)
    if y_type == "binary":
        if classes.shape[0] == 1:
            return np.repeat(classes, output.shape[0])
        return classes[(output[:, 0] > 0.5).astype(int)]
    return classes[np.argmax(output, axis=1)]


def encode_values(y, loss, dtype):
    """Continuous targets as a C-contiguous (n_samples, n_outputs) array of
    ``dtype``, checked against the loss's domain."""
    with np.errstate(over="ignore"):
        # What does not fit the dtype becomes inf and is refused by name.
        Y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=dtype)
    if not np.isfinite(Y).all():
        raise ValueError(
            f"y holds values that do not fit the training dtype {np.dtype(dtype)}."
        )
    if loss == "poisson" and (Y < 0).any():
        raise ValueError(
            "loss='poisson' requires non-negative y; "
            f"the smallest value of y is {shown(Y.min())}."
        )
    return Y
