"""Whatever the input, a clear error or a correct model: bad input, memory
layouts, numeric extremes, concurrent use, leaks and persistence."""

import os
import pickle
import sys
import threading
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_twolayer import TwoLayerClassifier


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=200, n_features=5, n_informative=3, n_classes=3, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return TwoLayerClassifier(n_hidden=8, max_iter=20, random_state=0).fit(X, y)


def with_value(X, value):
    X = X.copy()
    X[3, 1] = value
    return X


BAD_X = {
    "nan": (lambda X: with_value(X, np.nan), ValueError, "Input X contains NaN"),
    "inf": (lambda X: with_value(X, np.inf), ValueError, "Input X contains infinity"),
    "sparse-nan": (
        lambda X: sp.csr_matrix(with_value(X, np.nan)),
        ValueError,
        "Input X contains NaN",
    ),
    "sparse-inf": (
        lambda X: sp.csr_matrix(with_value(X, -np.inf)),
        ValueError,
        "Input X contains infinity",
    ),
    "float32-nan": (
        lambda X: with_value(X, np.nan).astype(np.float32),
        ValueError,
        "Input X contains NaN",
    ),
    "float32-inf": (
        lambda X: with_value(X, np.inf).astype(np.float32),
        ValueError,
        "Input X contains infinity",
    ),
    "strings": (
        lambda X: np.full(X.shape, "a", dtype=object),
        ValueError,
        "could not convert string to float",
    ),
    "complex": (lambda X: X + 1j, ValueError, "Complex data not supported"),
    "one-dimensional": (lambda X: X[:, 0], ValueError, "Expected 2D array"),
}


@pytest.mark.parametrize("case", sorted(BAD_X))
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_x_is_refused_by_fit(data, case, method):
    X, y = data
    make, error, message = BAD_X[case]
    clf = TwoLayerClassifier(max_iter=2)
    kwargs = {"classes": np.unique(y)} if method == "partial_fit" else {}
    with pytest.raises(error, match=message):
        getattr(clf, method)(make(X), y, **kwargs)


@pytest.mark.parametrize("case", sorted(BAD_X))
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba"])
def test_bad_x_is_refused_by_prediction(fitted, data, case, method):
    X, _ = data
    make, error, message = BAD_X[case]
    with pytest.raises(error, match=message):
        getattr(fitted, method)(make(X))


def test_finite_x_whose_row_sums_overflow_is_not_called_infinite(data):
    # Each value is finite, but a row's sum of |x| overflows float64: the
    # finiteness check lets it through, and the fit ends in the error on
    # the weights it could not train.
    X, y = data
    X = X.copy()
    X[7, :2] = np.finfo(np.float64).max
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="non-finite parameter weights"):
            TwoLayerClassifier(max_iter=2).fit(X, y)


@pytest.mark.parametrize("case", ["nan", "inf", "strings"])
def test_bad_x_is_refused_by_score(fitted, data, case):
    X, y = data
    make, error, message = BAD_X[case]
    with pytest.raises(error, match=message):
        fitted.score(make(X), y)


@pytest.mark.parametrize(
    "X_shape, y, error, message",
    [
        ((0, 5), [], ValueError, "0 sample"),
        ((10, 0), np.arange(10) % 2, ValueError, "0 feature"),
        ((10, 5), np.linspace(0, 1, 10), ValueError, "Unknown label type: continuous"),
        ((10, 5), np.arange(20).reshape(10, 2), ValueError, "multiclass-multioutput"),
        ((10, 5), np.r_[np.nan, np.arange(9) % 2], ValueError, "Input y contains NaN"),
        ((10, 5), np.arange(9) % 2, ValueError, "inconsistent numbers of samples"),
    ],
    ids=[
        "empty",
        "no-features",
        "continuous-y",
        "multioutput-y",
        "nan-y",
        "length-mismatch",
    ],
)
def test_bad_shapes_and_targets_get_clear_errors(X_shape, y, error, message):
    X = np.random.RandomState(0).normal(size=X_shape)
    with pytest.raises(error, match=message):
        TwoLayerClassifier(max_iter=2).fit(X, np.asarray(y))


def test_wrong_width_or_names_at_prediction(fit_quietly, data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=list("abcde"))
    clf = fit_quietly(TwoLayerClassifier(n_hidden=4, max_iter=2), frame, y)
    with pytest.raises(ValueError, match="X has 4 features"):
        clf.predict(X[:, :4])
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(frame.rename(columns={"e": "z"}))


def test_weights_too_large_to_allocate_fail_before_any_kernel(data):
    X, y = data
    with pytest.raises(MemoryError, match="Unable to allocate"):
        TwoLayerClassifier(n_hidden=2**40).fit(X, y)


@pytest.mark.parametrize(
    "params",
    [
        {"n_hidden": 0},
        {"n_hidden": 2.5},
        {"activation": "softmax"},
        {"solver": "newton"},
        {"loss": "hinge"},
        {"alpha": -1.0},
        {"batch_size": 0},
        {"batch_size": "half"},
        {"learning_rate": "cyclic"},
        {"learning_rate_init": 0.0},
        {"power_t": -1.0},
        {"max_iter": 0},
        {"tol": -1.0},
        {"momentum": 1.5},
        {"beta_1": 1.0},
        {"beta_2": -0.1},
        {"epsilon": 0.0},
        {"validation_fraction": 1.0},
        {"n_iter_no_change": 0},
        {"max_fun": 0},
        {"init": "zeros"},
        {"class_weight": "uniform"},
        {"shuffle": "yes"},
        {"random_state": "seed"},
    ],
    ids=str,
)
def test_every_invalid_parameter_is_named(data, params):
    X, y = data
    (name,) = params
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter"):
        TwoLayerClassifier(**params).fit(X, y)


@pytest.mark.parametrize(
    "layout",
    ["fortran", "non-contiguous", "read-only", "memmap"],
)
def test_every_memory_layout_gives_the_c_contiguous_model(
    fit_quietly, data, layout, tmp_path
):
    X, y = data
    if layout == "fortran":
        X_other = np.asfortranarray(X)
    elif layout == "non-contiguous":
        wide = np.zeros((X.shape[0], 2 * X.shape[1]))
        wide[:, ::2] = X
        X_other = wide[:, ::2]
    elif layout == "read-only":
        X_other = X.copy()
        X_other.flags.writeable = False
    else:
        path = tmp_path / "X.npy"
        np.save(path, X)
        X_other = np.load(path, mmap_mode="r")
    params = dict(n_hidden=6, max_iter=5, random_state=0)
    reference = fit_quietly(TwoLayerClassifier(**params), np.ascontiguousarray(X), y)
    other = fit_quietly(TwoLayerClassifier(**params), X_other, y)
    for a, b in zip(
        reference.coefs_ + reference.intercepts_, other.coefs_ + other.intercepts_
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        reference.predict_proba(X), other.predict_proba(X_other)
    )


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize(
    "case", ["inputs-1e6", "constant-features", "learning-rate-1e3"]
)
def test_numeric_extremes_keep_probabilities_valid(fit_quietly, data, solver, case):
    X, y = data
    params = dict(n_hidden=8, max_iter=20, random_state=0, solver=solver)
    if case == "inputs-1e6":
        X = X * 1e6
    elif case == "constant-features":
        X = np.ones_like(X)
    else:
        params["learning_rate_init"] = 1e3
    if solver == "sgd" and case != "constant-features":
        # Plain gradient steps this large diverge (the loss grows past 1e60):
        # the fit says so, with the remedy, instead of returning garbage.
        with pytest.raises(ValueError, match="diverged.*scale the features"):
            fit_quietly(TwoLayerClassifier(**params), X, y)
        return
    clf = fit_quietly(TwoLayerClassifier(**params), X, y)
    proba = clf.predict_proba(X)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_logits_give_finite_probabilities(fitted, data, dtype):
    X, _ = data
    clf = pickle.loads(pickle.dumps(fitted))
    # Output logits of about +-1e4.
    clf.coefs_ = [c.astype(dtype) for c in clf.coefs_]
    clf.intercepts_ = [b.astype(dtype) for b in clf.intercepts_]
    clf.coefs_[1] = clf.coefs_[1] * dtype(1e4) / np.abs(clf.coefs_[1]).max()
    proba = clf.predict_proba(X.astype(dtype) * 10)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_a_diverging_run_stops_with_mlpclassifiers_error(fit_quietly, data):
    X, y = data
    # Whether the loss overflows or first grows by orders of magnitude, the
    # error names the divergence and the remedy.
    with pytest.raises(
        ValueError, match="(diverged|non-finite parameter weights).*learning_rate_init"
    ):
        fit_quietly(
            TwoLayerClassifier(
                solver="sgd", learning_rate_init=10.0, max_iter=50, random_state=0
            ),
            X * 1e150,
            y,
        )


def test_predict_proba_from_eight_threads_equals_serial(fitted, data):
    X, _ = data
    X_big = np.tile(X, (10, 1))  # more rows than the serial path takes
    expected = fitted.predict_proba(X_big)
    results = [None] * 8
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        for _ in range(5):
            results[i] = fitted.predict_proba(X_big)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_four_fits_in_four_threads_equal_their_serial_fits(fit_quietly, data):
    X, y = data
    seeds = [0, 1, 2, 3]
    serial = [
        fit_quietly(TwoLayerClassifier(n_hidden=8, max_iter=10, random_state=s), X, y)
        for s in seeds
    ]
    parallel = [
        TwoLayerClassifier(n_hidden=8, max_iter=10, random_state=s) for s in seeds
    ]
    barrier = threading.Barrier(4)

    def work(clf):
        barrier.wait()
        fit_quietly(clf, X, y)

    threads = [threading.Thread(target=work, args=(clf,)) for clf in parallel]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for a, b in zip(serial, parallel):
        for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
            np.testing.assert_array_equal(u, v)


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_five_hundred_fit_predict_cycles_do_not_grow_memory(fit_quietly, data):
    X, y = data
    X_small, y_small = X[:60], y[:60]

    def cycle():
        clf = fit_quietly(TwoLayerClassifier(n_hidden=8, max_iter=2), X_small, y_small)
        clf.predict_proba(X_small)

    for _ in range(50):  # warm up allocator pools and caches
        cycle()
    before = resident_bytes()
    for _ in range(500):
        cycle()
    assert resident_bytes() - before < 5 * 2**20


@pytest.mark.parametrize("kind", ["unfitted", "float64", "float32", "sparse"])
@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_round_trips_keep_predictions(fit_quietly, data, kind, dump, tmp_path):
    X, y = data
    clf = TwoLayerClassifier(n_hidden=6, max_iter=5, random_state=0)
    X_fit = {"float32": X.astype(np.float32), "sparse": sp.csr_matrix(X)}.get(kind, X)
    if kind != "unfitted":
        fit_quietly(clf, X_fit, y)
    if dump == "pickle":
        restored = pickle.loads(pickle.dumps(clf))
    else:
        joblib.dump(clf, tmp_path / "model.joblib")
        restored = joblib.load(tmp_path / "model.joblib")
    assert restored.get_params() == clf.get_params()
    # Pickling leaves the live model's attributes as they were.
    assert vars(restored).keys() == vars(clf).keys()
    if kind == "unfitted":
        assert not hasattr(restored, "coefs_")
        return
    np.testing.assert_array_equal(
        restored.predict_proba(X_fit), clf.predict_proba(X_fit)
    )
    assert restored.coefs_[0].dtype == clf.coefs_[0].dtype


def test_a_model_pickled_by_another_version_warns(fitted):
    state = fitted.__getstate__()
    state["_sklearn_twolayer_version"] = "0.0.1"
    restored = TwoLayerClassifier.__new__(TwoLayerClassifier)
    with pytest.warns(InconsistentVersionWarning):
        restored.__setstate__(state)
