"""Sparse X: the CSR kernels against dense products, and sparse fits
against dense fits; X is never densified."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, ndtr
from sklearn.exceptions import ConvergenceWarning

from sklearn_twolayer import TwoLayerClassifier
from sklearn_twolayer._registry import ACTIVATION_CODES

# Built for the tests only (see test_installed_distribution.py).
probes = pytest.importorskip("sklearn_twolayer._kernel_probes")


def random_csr(n_rows, n_cols, density, dtype, seed=0):
    return sp.random(
        n_rows, n_cols, density=density, format="csr", dtype=dtype, random_state=seed
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize(
    "activation", ["identity", "relu", "tanh", "leaky_relu", "gelu", "silu"]
)
def test_forward_layer_sparse_matches_dense_product(dtype, n_threads, activation):
    X = random_csr(150, 70, 0.1, dtype)
    rng = np.random.RandomState(1)
    W = rng.normal(size=(70, 30)).astype(dtype)
    b = rng.normal(size=30).astype(dtype)
    out = np.empty((150, 30), dtype=dtype)
    derivative = np.empty_like(out)
    probes.forward_layer_sparse(
        X.data,
        X.indices.astype(np.intp),
        X.indptr.astype(np.intp),
        W,
        b,
        out,
        ACTIVATION_CODES[activation],
        n_threads,
        derivative,
    )
    Z = X.toarray().astype(np.float64) @ W + b
    expected, expected_derivative = {
        "identity": (Z, np.ones_like(Z)),
        "relu": (np.maximum(Z, 0), (Z > 0).astype(float)),
        "tanh": (np.tanh(Z), 1 - np.tanh(Z) ** 2),
        "leaky_relu": (np.where(Z > 0, Z, 0.01 * Z), np.where(Z > 0, 1, 0.01)),
        "gelu": (Z * ndtr(Z), ndtr(Z) + Z * np.exp(-(Z**2) / 2) / np.sqrt(2 * np.pi)),
        "silu": (Z * expit(Z), expit(Z) * (1 + Z * expit(-Z))),
    }[activation]
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(derivative, expected_derivative, rtol=rtol, atol=rtol)


def test_forward_layer_sparse_rejects_out_of_range_indices():
    X = random_csr(5, 4, 0.5, np.float64)
    indices = X.indices.astype(np.intp)
    indices[0] = 4
    with pytest.raises(ValueError, match="indices"):
        probes.forward_layer_sparse(
            X.data,
            indices,
            X.indptr.astype(np.intp),
            np.ones((4, 3)),
            np.zeros(3),
            np.empty((5, 3)),
            0,
            1,
        )


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam", batch_size=100),
        dict(solver="sgd", batch_size="full", shuffle=False, alpha=1e-2),
        dict(solver="lbfgs"),
        dict(solver="adam", early_stopping=True),
        dict(solver="adam", batch_size=100, activation="gelu"),
        dict(solver="lbfgs", activation="silu"),
    ],
    ids=[
        "adam",
        "full-batch-sgd",
        "lbfgs",
        "early-stopping",
        "adam-gelu",
        "lbfgs-silu",
    ],
)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
# 45 hidden units: the hidden delta's rows are padded to whole cache lines.
@pytest.mark.parametrize("n_hidden", [16, 45])
def test_sparse_fit_equals_dense_fit(digits, params, fmt, n_hidden):
    X, y = digits
    weights = np.random.RandomState(0).uniform(0.5, 2, size=y.shape)
    common = dict(n_hidden=n_hidden, max_iter=8, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = TwoLayerClassifier(**common).fit(X, y, sample_weight=weights)
        sparse = TwoLayerClassifier(**common).fit(
            sp.csr_matrix(X).asformat(fmt), y, sample_weight=weights
        )
    for a, b in zip(
        dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_
    ):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), atol=1e-12
    )


def test_sparse_float32_stays_float32(digits):
    X, y = digits
    clf = TwoLayerClassifier(n_hidden=8, max_iter=3).fit(
        sp.csr_matrix(X.astype(np.float32)), y
    )
    assert clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(sp.csr_matrix(X[:5].astype(np.float32))).dtype == (
        np.float32
    )


def test_sparse_fit_and_predict_never_densify_x():
    # 20000 x 5000 at 0.1 % density: dense it would take 800 MB.
    X = random_csr(20000, 5000, 0.001, np.float64)
    y = np.random.RandomState(0).randint(0, 3, size=20000)
    clf = TwoLayerClassifier(n_hidden=16, max_iter=1, batch_size=500)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        clf.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, peak
