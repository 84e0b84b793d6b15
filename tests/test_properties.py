"""Property-based tests (hypothesis) of the estimator's contract.

Over small random problems — shapes, dtypes, memory layouts, sparse formats,
awkward values, label kinds and training parameters — every fit must either
give a usable model (finite weights; predictions among ``classes_``;
probabilities finite, in [0, 1] and, unless multilabel, summing to 1 per
row) or raise a ValueError/TypeError with a message. Any other exception,
a non-finite output or a crash fails. Fits on differently laid out dense
copies of the same data must give identical weights, and fits on sparse
copies of float64 data the dense fit's weights to rtol 1e-6.

The examples are derandomized so that every run checks the same cases.
"""

import contextlib
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, Phase, event, example, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

from sklearn_twolayer import TwoLayerClassifier

SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    # The explain phase can take a minute after a failure; shrinking is kept.
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
}

ACCEPTED_ERRORS = (ValueError, TypeError)

LABEL_SETS = {
    "int": np.array([0, 1, 2, 3]),
    "int_odd": np.array([-7, 3, 42, 1000]),
    "str": np.array(["ant", "bee", "cat", "dog"]),
    "object": np.array(["x", "yy", "zzz", "w"], dtype=object),
    "float": np.array([-2.0, 0.0, 1.0, 3.0]),
    "bool": np.array([False, True]),
}

# Feature magnitudes, mixed per column: tiny, ordinary, large.
SCALES = [1.0, 1e-30, 1e-3, 1e3, 1e6]
CONSTANTS = [0.0, 1.0, -2.5, 1e6]


# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------


def rarely(p):
    """True with probability about p (hypothesis would draw the "simplest"
    value of st.integers far more often than uniformly); shrinks to False."""
    n = round(1 / p)
    return st.sampled_from([False] * (n - 1) + [True])


@st.composite
def feature_matrices(
    draw, scales=SCALES, constants=CONSTANTS, dtypes=None, nonfinite=False
):
    """A C-contiguous X of 1..60 rows and 1..8 columns, float32 or float64,
    with per-column scales, possibly constant columns and zero rows (and,
    with ``nonfinite``, sometimes a NaN or an infinity)."""
    n_samples = draw(st.integers(1, 60), label="n_samples")
    n_features = draw(st.integers(1, 8), label="n_features")
    dtype = draw(st.sampled_from(dtypes or [np.float64, np.float32]), label="dtype")
    X = draw(
        arrays(
            np.float64,
            (n_samples, n_features),
            elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False),
        )
    )
    column_scales = draw(
        st.lists(st.sampled_from(scales), min_size=n_features, max_size=n_features),
        label="column_scales",
    )
    X *= np.asarray(column_scales)
    for column in draw(st.sets(st.integers(0, n_features - 1)), label="const_cols"):
        X[:, column] = draw(st.sampled_from(constants))
    zero_rows = draw(st.sets(st.integers(0, n_samples - 1)), label="zero_rows")
    X[sorted(zero_rows)] = 0.0
    if nonfinite and draw(rarely(1 / 20), label="nonfinite"):
        X[draw(st.integers(0, n_samples - 1)), draw(st.integers(0, n_features - 1))] = (
            draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        )
    return np.ascontiguousarray(X, dtype=dtype)


@st.composite
def targets(draw, n_samples, kinds=("classes", "classes", "single", "multilabel")):
    """y of n_samples rows: 2..4 classes (ints, strings, floats, bools), a
    single class, or a multilabel indicator matrix (dense or CSR); class
    labels sometimes as a column vector."""
    kind = draw(st.sampled_from(kinds), label="target_kind")
    if kind == "multilabel":
        n_labels = draw(st.integers(2, 4))
        y = draw(arrays(np.int64, (n_samples, n_labels), elements=st.integers(0, 1)))
        if draw(st.booleans(), label="sparse_y"):
            y = sp.csr_matrix(y)
        return y
    labels = LABEL_SETS[draw(st.sampled_from(sorted(LABEL_SETS)), label="labels")]
    n_classes = 1 if kind == "single" else draw(st.integers(2, len(labels)))
    codes = np.asarray(
        draw(
            st.lists(
                st.integers(0, n_classes - 1), min_size=n_samples, max_size=n_samples
            )
        ),
        dtype=np.intp,
    )
    # Usually every class is present (hypothesis favours repeated values,
    # which would make most targets single-class).
    if n_samples >= n_classes and not draw(rarely(1 / 4), label="not_covered"):
        codes[:n_classes] = np.arange(n_classes)
    y = labels[codes]
    if draw(rarely(1 / 8), label="column_y"):
        y = y.reshape(-1, 1)
    return y


def learning_rates(high=10.0):
    return st.one_of(
        st.sampled_from([x for x in (1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0) if x <= high]),
        st.floats(1e-4, high),
    )


@st.composite
def estimator_params(draw, high_learning_rate=10.0):
    """Small networks and short trainings, every solver, loss, activation."""
    solver = draw(st.sampled_from(["adam", "sgd", "lbfgs"]))
    return {
        "n_hidden": draw(st.integers(1, 6)),
        "activation": draw(
            st.sampled_from(
                ["relu", "logistic", "tanh", "identity", "leaky_relu", "gelu", "silu"]
            )
        ),
        "solver": solver,
        "loss": draw(st.sampled_from(["log_loss", "squared_error"])),
        "alpha": draw(
            st.one_of(st.sampled_from([0.0, 1e-4, 1.0, 10.0]), st.floats(0, 100))
        ),
        "batch_size": draw(
            st.one_of(st.sampled_from(["auto", "full"]), st.integers(1, 70))
        ),
        "learning_rate": draw(st.sampled_from(["constant", "invscaling", "adaptive"])),
        "learning_rate_init": draw(learning_rates(high_learning_rate)),
        "max_iter": draw(st.integers(1, 5)),
        "shuffle": draw(st.booleans()),
        "random_state": draw(st.integers(0, 2**16)),
        "tol": draw(st.sampled_from([0.0, 1e-4, 1.0])),
        "momentum": draw(st.sampled_from([0.0, 0.5, 0.9, 1.0])),
        "nesterovs_momentum": draw(st.booleans()),
        "early_stopping": draw(st.booleans()),
        "validation_fraction": draw(st.sampled_from([0.1, 0.3, 0.5, 0.9])),
        "n_iter_no_change": draw(st.integers(1, 3)),
        "max_fun": draw(st.integers(1, 30)),
        "init": draw(st.sampled_from(["glorot_uniform", "uniform"])),
        # "dict" is replaced by {label: weight} once y is known.
        "class_weight": draw(st.sampled_from([None, None, "balanced", "dict"])),
    }


@st.composite
def sample_weights(draw, n_samples):
    kind = draw(
        st.sampled_from(
            ["none", "none", "ones", "positive", "some_zero", "all_zero", "large"]
        ),
        label="sample_weight",
    )
    if kind == "none":
        return None
    if kind == "ones":
        return np.ones(n_samples)
    if kind == "all_zero":
        return np.zeros(n_samples)
    low, high = {"some_zero": (0, 10), "positive": (0.1, 10), "large": (1e6, 1e20)}[
        kind
    ]
    weights = draw(arrays(np.float64, n_samples, elements=st.floats(low, high)))
    if kind == "some_zero":
        weights[:: draw(st.integers(1, 3))] = 0.0
    return weights


# --------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------


def read_only(A):
    if sp.issparse(A):
        A = A.copy()
        for name in ("data", "indices", "indptr"):
            getattr(A, name).flags.writeable = False
        return A
    A = np.array(A, order="K")
    A.flags.writeable = False
    return A


def read_only_view(view):
    view.flags.writeable = False
    return view


def strided(X):
    """A view of X strided along both axes (neither C nor F contiguous)."""
    n_samples, n_features = X.shape
    big = np.full((2 * n_samples, 3 * n_features), np.nan, dtype=X.dtype)
    big[::2, 1::3] = X
    view = big[::2, 1::3]
    assert view.base is not None and np.array_equal(view, X, equal_nan=True)
    return view


def reversed_strides(X):
    """A view of X with negative strides along both axes."""
    view = np.ascontiguousarray(X[::-1, ::-1])[::-1, ::-1]
    # (numpy may report a positive stride along an axis of length 1)
    assert X.shape[0] == 1 or view.strides[0] < 0
    assert X.shape[1] == 1 or view.strides[1] < 0
    return view


DENSE_LAYOUTS = {
    "C": np.ascontiguousarray,
    "F": np.asfortranarray,
    "strided": strided,
    "reversed": reversed_strides,
    "read_only_C": read_only,
    "read_only_F": lambda X: read_only(np.asfortranarray(X)),
    "read_only_strided": lambda X: read_only_view(strided(X)),
}


def unsorted_csr(X):
    """CSR with the indices of each row in decreasing order."""
    A = sp.csr_matrix(X)
    data, indices = A.data.copy(), A.indices.copy()
    for row in range(A.shape[0]):
        start, stop = A.indptr[row], A.indptr[row + 1]
        data[start:stop] = data[start:stop][::-1]
        indices[start:stop] = indices[start:stop][::-1]
    B = sp.csr_matrix((data, indices, A.indptr.copy()), shape=A.shape)
    B.has_sorted_indices = False
    return B


def explicit_zeros_csr(X):
    """CSR storing every entry, zeros included."""
    rows, cols = np.indices(X.shape)
    return sp.csr_matrix((X.ravel(), (rows.ravel(), cols.ravel())), shape=X.shape)


def duplicates_csr(X):
    """CSR in non-canonical form: each stored value followed by an explicit
    zero at the same position (scipy sums duplicates)."""
    A = sp.csr_matrix(X)
    data = np.stack([A.data, np.zeros_like(A.data)], axis=1).ravel()
    indices = np.repeat(A.indices, 2)
    B = sp.csr_matrix((data, indices, A.indptr * 2), shape=A.shape)
    assert A.nnz == 0 or not B.has_canonical_format
    return B


SPARSE_LAYOUTS = {
    "csr": sp.csr_matrix,
    "csc": sp.csc_matrix,
    "csr_array": sp.csr_array,
    "csc_array": sp.csc_array,
    "csr_int64_indices": lambda X: _int64_indices(sp.csr_matrix(X)),
    "csr_unsorted": unsorted_csr,
    "csr_explicit_zeros": explicit_zeros_csr,
    "csr_duplicates": duplicates_csr,
    "csr_read_only": lambda X: read_only(sp.csr_matrix(X)),
    "csc_read_only": lambda X: read_only(sp.csc_matrix(X)),
}


def _int64_indices(A):
    A.indices = A.indices.astype(np.int64)
    A.indptr = A.indptr.astype(np.int64)
    return A


ALL_LAYOUTS = {**DENSE_LAYOUTS, **SPARSE_LAYOUTS}


# --------------------------------------------------------------------------
# The contract
# --------------------------------------------------------------------------


@contextlib.contextmanager
def quiet():
    """Silence ConvergenceWarning (max_iter is tiny on purpose), the warning
    that an int batch_size is clipped to n_samples, and the one that a
    column-vector y is raveled."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "batch_size=.* is larger than the number")
        warnings.simplefilter("ignore", DataConversionWarning)
        yield


def fit_or_reject(clf, X, y, sample_weight=None):
    """Fit; return the estimator, or None when fit raised an accepted error
    with a message. Any other exception propagates (and fails the test)."""
    with quiet():
        try:
            clf.fit(X, y, sample_weight=sample_weight)
        except ACCEPTED_ERRORS as exc:
            message = str(exc).strip()
            note(f"fit raised {type(exc).__name__}: {message}")
            event(f"rejected: {type(exc).__name__}: {message[:50]}")
            assert message, f"{type(exc).__name__} without a message"
            return None
    event("fitted")
    return clf


def is_multilabel(y):
    return sp.issparse(y) or (np.ndim(y) == 2 and y.shape[1] > 1)


def expected_classes(y):
    if is_multilabel(y):
        return np.arange(y.shape[1])
    return np.unique(np.ravel(y))


def resolve_class_weight(params, y, data):
    """Replace class_weight="dict" by weights (zeros included) of y's
    labels."""
    if params["class_weight"] == "dict" and is_multilabel(y):
        params["class_weight"] = None
    elif params["class_weight"] == "dict":
        params["class_weight"] = {
            label: data.draw(st.sampled_from([0.0, 0.5, 1.0, 10.0]), label="cw")
            for label in expected_classes(y).tolist()
        }
    return params


def assert_usable_model(clf, X, y):
    """The fitted model's weights, predictions and probabilities."""
    n_samples, n_features = X.shape
    multilabel = is_multilabel(y)
    classes = expected_classes(y)
    np.testing.assert_array_equal(clf.classes_, classes)
    n_outputs = 1 if len(classes) == 2 and not multilabel else len(classes)

    dtype = X.dtype
    expected_shapes = [
        ((n_features, clf.n_hidden), (clf.n_hidden,)),
        ((clf.n_hidden, n_outputs), (n_outputs,)),
    ]
    assert len(clf.coefs_) == len(clf.intercepts_) == 2
    for coef, intercept, (coef_shape, intercept_shape) in zip(
        clf.coefs_, clf.intercepts_, expected_shapes
    ):
        assert coef.shape == coef_shape and intercept.shape == intercept_shape
        assert coef.dtype == dtype and intercept.dtype == dtype
        assert np.isfinite(coef).all(), "non-finite coefs_"
        assert np.isfinite(intercept).all(), "non-finite intercepts_"

    predicted = clf.predict(X)
    proba = clf.predict_proba(X)
    note(f"predict_proba:\n{proba!r}")

    if multilabel:
        assert predicted.shape == (n_samples, len(classes))
        assert np.isin(predicted, [0, 1]).all()
    else:
        assert predicted.shape == (n_samples,)
        assert np.isin(predicted, clf.classes_).all(), "label not in classes_"

    assert proba.shape == (n_samples, len(classes))
    assert np.isfinite(proba).all(), "non-finite predict_proba"
    assert (proba >= 0).all() and (proba <= 1).all(), "predict_proba outside [0, 1]"
    if not multilabel:
        atol = 1e-5 if proba.dtype == np.float32 else 1e-10
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=atol)
        # predict is the most probable class.
        np.testing.assert_array_equal(predicted, clf.classes_[np.argmax(proba, axis=1)])


@settings(max_examples=800, **SETTINGS)
@given(
    X_c=feature_matrices(nonfinite=True),
    layout=st.sampled_from(sorted(ALL_LAYOUTS)),
    data=st.data(),
    params=estimator_params(),
)
def test_fit_gives_usable_model_or_clean_error(X_c, layout, data, params):
    """Any X (layout, sparsity, dtype, values), y and parameters: a usable
    model, or a ValueError/TypeError with a message."""
    X = ALL_LAYOUTS[layout](X_c)
    y = data.draw(targets(X_c.shape[0]))
    sample_weight = data.draw(sample_weights(X_c.shape[0]))
    clf = TwoLayerClassifier(**resolve_class_weight(params, y, data))
    if fit_or_reject(clf, X, y, sample_weight) is not None:
        assert_usable_model(clf, X, y)


@st.composite
def large_problems(draw):
    """(X, y) with features of magnitude 1e6..1e13."""
    X = draw(feature_matrices(scales=[1e6, 1e9, 1e12], constants=[0.0, 1e6, -1e12]))
    return X, draw(targets(X.shape[0], kinds=("classes", "multilabel")))


def _params(**changes):
    """Full estimator_params-style parameters: the defaults, changed."""
    params = TwoLayerClassifier().get_params()
    params.update(changes)
    return params


# Failures hypothesis found, kept as explicit examples. In float32 the
# weights stay finite (~1e16) but the logits overflow to +-inf and softmax
# gives inf - inf = NaN: every predict_proba row is NaN and predict silently
# returns classes_[0]. MLPClassifier does the same with these parameters
# (the default learning rate; only solver, activation, max_iter changed).
OVERFLOWING_DENSE = (
    (np.full((3, 1), 2e6, dtype=np.float32), np.array([0, 1, 2])),
    "C",
    1e-3,
    _params(
        n_hidden=1, activation="identity", solver="sgd", max_iter=5, random_state=0
    ),
)
# Fitted dense, these data raise "Solver produced non-finite parameter
# weights"; fitted as CSR, they give finite weights (~3e35) whose sparse
# forward pass computes -inf + inf = NaN for rows 0 and 1 (the dense
# forward pass on the same weights gives finite probabilities).
OVERFLOWING_SPARSE = (
    (
        np.array(
            [[-1e12, 1e12], [1e12, -1e12], [1e12, 1e12], [1e12, 1e12]],
            dtype=np.float32,
        ),
        np.array([0, 1, 0, 1]),
    ),
    "csr",
    1.0,
    _params(
        n_hidden=1,
        activation="identity",
        solver="sgd",
        alpha=0.0,
        batch_size=1,
        max_iter=1,
        shuffle=False,
        momentum=0.0,
        random_state=0,
    ),
)


@settings(max_examples=200, **SETTINGS)
@given(
    problem=large_problems(),
    layout=st.sampled_from(sorted(ALL_LAYOUTS)),
    learning_rate_init=st.sampled_from([1.0, 10.0]) | st.floats(1e-3, 10.0),
    params=estimator_params(),
)
@example(*OVERFLOWING_DENSE).via("hypothesis: float32 logits overflow")
@example(*OVERFLOWING_SPARSE).via("hypothesis: sparse float32 product overflows")
def test_large_values_and_steps_give_usable_model_or_clean_error(
    problem, layout, learning_rate_init, params
):
    """Huge features, learning rates up to 10: training may diverge, but
    then fit says so (ValueError) instead of returning a broken model."""
    X_c, y = problem
    X = ALL_LAYOUTS[layout](X_c)
    params["learning_rate_init"] = learning_rate_init
    if params["class_weight"] == "dict":
        params["class_weight"] = None
    clf = TwoLayerClassifier(**params)
    if fit_or_reject(clf, X, y) is not None:
        assert_usable_model(clf, X, y)


@settings(max_examples=250, **SETTINGS)
@given(
    X_c=feature_matrices(),
    data=st.data(),
    params=estimator_params(),
)
def test_partial_fit_gives_usable_model_or_clean_error(X_c, data, params):
    """One to three partial_fit calls (sgd, adam): the same contract."""
    params["solver"] = data.draw(st.sampled_from(["adam", "sgd"]))
    params["early_stopping"] = False
    layout = data.draw(st.sampled_from(sorted(ALL_LAYOUTS)), label="layout")
    X = ALL_LAYOUTS[layout](X_c)
    y = data.draw(targets(X_c.shape[0]))
    classes = None if is_multilabel(y) else expected_classes(y)
    clf = TwoLayerClassifier(**resolve_class_weight(params, y, data))
    n_calls = data.draw(st.integers(1, 3), label="n_calls")
    with quiet():
        try:
            for _ in range(n_calls):
                clf.partial_fit(X, y, classes=classes)
        except ACCEPTED_ERRORS as exc:
            note(f"partial_fit raised {type(exc).__name__}: {exc}")
            assert str(exc).strip()
            return
    assert_usable_model(clf, X, y)


def _fit_outcome(params, X, y, sample_weight=None):
    """``(fitted estimator, None)``, or ``(None, (type, message))`` of the
    accepted error fit raised."""
    clf = TwoLayerClassifier(**params)
    with quiet():
        try:
            clf.fit(X, y, sample_weight=sample_weight)
        except ACCEPTED_ERRORS as exc:
            return None, (type(exc), str(exc))
    return clf, None


@settings(max_examples=250, **SETTINGS)
@given(
    X_c=feature_matrices(),
    data=st.data(),
    params=estimator_params(),
)
def test_layout_does_not_change_the_fit(X_c, data, params):
    """Fortran-ordered, strided, negatively strided and read-only copies of X
    give exactly the weights (and predictions) of the C-contiguous copy."""
    y = data.draw(targets(X_c.shape[0], kinds=("classes", "classes", "multilabel")))
    sample_weight = data.draw(sample_weights(X_c.shape[0]))
    params = resolve_class_weight(params, y, data)
    reference, error = _fit_outcome(params, X_c, y, sample_weight)
    for name, layout in DENSE_LAYOUTS.items():
        if name == "C":
            continue
        X = layout(X_c)
        np.testing.assert_array_equal(X, X_c)
        clf, other_error = _fit_outcome(params, X, y, sample_weight)
        if error is not None:
            assert other_error is not None, f"{name}: fit did not raise {error}"
            assert other_error == error, f"{name}: {other_error} vs {error}"
            continue
        assert other_error is None, f"{name}: {other_error}, C-ordered fit passed"
        for got, expected in zip(
            clf.coefs_ + clf.intercepts_, reference.coefs_ + reference.intercepts_
        ):
            assert np.array_equal(got, expected), f"{name}: weights differ"
        # (NaN probabilities are test_*_usable_model's business)
        assert np.array_equal(
            clf.predict_proba(X), reference.predict_proba(X_c), equal_nan=True
        ), f"{name}: predict_proba differs"


@settings(max_examples=250, **SETTINGS)
@given(
    X_c=feature_matrices(scales=[1.0, 1e-3, 10.0], dtypes=[np.float64]),
    data=st.data(),
    params=estimator_params(high_learning_rate=1.0),
)
def test_sparse_fit_matches_dense_fit(X_c, data, params):
    """CSR and CSC copies of float64 X (and two more sparse variants: sparse
    arrays, int64 indices, unsorted indices, explicit zeros, duplicates,
    read-only) give the weights of the dense fit to rtol 1e-6."""
    y = data.draw(targets(X_c.shape[0], kinds=("classes", "classes", "multilabel")))
    sample_weight = data.draw(sample_weights(X_c.shape[0]))
    params = resolve_class_weight(params, y, data)
    reference, error = _fit_outcome(params, X_c, y, sample_weight)
    others = sorted(set(SPARSE_LAYOUTS) - {"csr", "csc"})
    names = ["csr", "csc"] + data.draw(
        st.lists(st.sampled_from(others), min_size=2, max_size=2, unique=True),
        label="sparse_layouts",
    )
    for name in names:
        X = SPARSE_LAYOUTS[name](X_c)
        np.testing.assert_array_equal(X.toarray(), X_c)
        clf, other_error = _fit_outcome(params, X, y, sample_weight)
        if error is not None:
            assert other_error is not None, f"{name}: fit did not raise {error}"
            assert other_error == error, f"{name}: {other_error} vs {error}"
            continue
        assert other_error is None, f"{name}: {other_error}, dense fit passed"
        for got, expected in zip(
            clf.coefs_ + clf.intercepts_, reference.coefs_ + reference.intercepts_
        ):
            np.testing.assert_allclose(
                got, expected, rtol=1e-6, atol=1e-12, err_msg=name
            )
        np.testing.assert_allclose(
            clf.predict_proba(X),
            reference.predict_proba(X_c),
            rtol=1e-6,
            atol=1e-12,
            err_msg=name,
        )


@pytest.mark.parametrize("layout", sorted(ALL_LAYOUTS))
def test_layouts_keep_values(layout):
    """The layout helpers change the memory, never the values."""
    X = np.arange(12.0).reshape(4, 3) - 5
    converted = ALL_LAYOUTS[layout](X)
    dense = converted.toarray() if sp.issparse(converted) else converted
    np.testing.assert_array_equal(dense, X)
