"""What fit allocates, and the short validation path of predict_proba."""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sklearn_twolayer import TwoLayerClassifier


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [256, "full"])
def test_fit_does_not_copy_c_contiguous_float_x(dtype, batch_size):
    # numpy reports its allocations to tracemalloc: a copy of X, or activations
    # for all samples at once, would show as a peak of the size of X.
    X, y = make_classification(
        n_samples=20000, n_features=200, n_informative=20, random_state=0
    )
    X = np.ascontiguousarray(X, dtype=dtype)
    clf = TwoLayerClassifier(n_hidden=64, max_iter=1, batch_size=batch_size)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.25 * X.nbytes, (peak, X.nbytes)
    assert clf.coefs_[0].dtype == dtype


@pytest.fixture(scope="module")
def fitted():
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return TwoLayerClassifier(n_hidden=10, max_iter=20, random_state=0).fit(X, y), X


def test_short_path_gives_the_full_validation_path_result(fitted):
    clf, X = fitted
    short = clf.predict_proba(X[:1])
    # A list, and a Fortran-ordered array, take the full validation path.
    np.testing.assert_array_equal(short, clf.predict_proba(X[:1].tolist()))
    np.testing.assert_array_equal(
        clf.predict_proba(X[:100]), clf.predict_proba(np.asfortranarray(X[:100]))
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_short_path_still_rejects_non_finite_values(fitted, bad):
    clf, X = fitted
    row = X[:1].copy()
    row[0, 2] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        clf.predict_proba(row)


def test_short_path_still_rejects_a_wrong_width(fitted):
    clf, X = fitted
    with pytest.raises(ValueError, match="X has 5 features"):
        clf.predict_proba(np.ascontiguousarray(X[:1, :5]))


def test_predict_on_an_unfitted_model_raises_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TwoLayerClassifier().predict_proba(np.zeros((1, 3)))
