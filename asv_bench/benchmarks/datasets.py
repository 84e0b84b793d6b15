"""Benchmark data sets, built once per process."""

from functools import cache

from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

DATASETS = ("digits", "synthetic")


def split(X, y, scale, stratify=True):
    """75/25 split with ``random_state=0``, stratified by y unless
    ``stratify=False`` (continuous targets); with ``scale``, standardized
    with statistics of the training part only."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y if stratify else None, random_state=0
    )
    if scale:
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return X_train, X_test, y_train, y_test


@cache
def load_data(name):
    """Return ``(X_train, X_test, y_train, y_test)`` of data set `name`.

    Parameters
    ----------
    name : {"digits", "synthetic"}
        ``"digits"``: scikit-learn's 8x8 digits scaled to [0, 1];
        ``"synthetic"``: a standardized 5-class ``make_classification``
        problem with 5000 samples and 50 features.  Both use a stratified
        25% test split with ``random_state=0``.

    Returns
    -------
    tuple of ndarray
        The train and test splits; cached, so treat them as read-only.
    """
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return split(X / 16.0, y, scale=False)  # intensities 0..16 -> [0, 1]
    if name == "synthetic":
        X, y = make_classification(
            n_samples=5000,
            n_features=50,
            n_informative=30,
            n_classes=5,
            random_state=0,
        )
        return split(X, y, scale=True)
    raise ValueError(f"unknown data set {name!r}; expected one of {DATASETS}")
