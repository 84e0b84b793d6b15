"""The same fit gives bitwise the same weights (and loss curve) on any
x86-64 CPU with AVX2.

Every matrix product is the project's own, with each sum in an order set by
the shapes alone (``src/_gemm.h``); the AVX2 and AVX-512 builds then agree
to the last bit, whatever the number of threads and whatever BLAS kernel
the CPU would get. (Thread counts are covered kernel by kernel and epoch by
epoch in test_kernels.py and test_trainer.py.) L-BFGS is left out: its
line search runs in scipy, on BLAS.
"""

import hashlib
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor, _fitting, _network
from sklearn_twolayer._dispatch import BUILDS, modules_of, runnable_builds

# The builds with fused multiply-add (for an x86-64 level: v3 and up).
FUSED = [name for name in runnable_builds() if BUILDS[name][1] is not None]

# name -> (estimator, parameters, dtype, sparse X): both ways of splitting a
# batch (partial gradients per thread for small networks; rows x units
# tiles for a 64-600-10 network), every solver that trains in the compiled
# code, float32, CSR, dropout, a derivative kept from the forward pass,
# sample weights and a regression loss.
FITS = {
    "adam": (TwoLayerClassifier, dict(solver="adam"), np.float64, False),
    "sgd-momentum-float32": (
        TwoLayerClassifier,
        dict(solver="sgd", momentum=0.9, nesterovs_momentum=True),
        np.float32,
        False,
    ),
    "full-batch": (
        TwoLayerClassifier,
        dict(solver="sgd", batch_size=2000, learning_rate_init=0.1),
        np.float64,
        False,
    ),
    "tiled-float32": (
        TwoLayerClassifier,
        dict(solver="adam", n_hidden=600, batch_size=300),
        np.float32,
        False,
    ),
    "dropout-gelu": (
        TwoLayerClassifier,
        dict(solver="adam", dropout=0.2, activation="gelu"),
        np.float64,
        False,
    ),
    "sparse-weighted": (TwoLayerClassifier, dict(solver="adam"), np.float64, True),
    "huber-float32": (
        TwoLayerRegressor,
        dict(solver="adam", loss="huber"),
        np.float32,
        False,
    ),
}


def fit_digest(name):
    """A digest of the weights and biases of the fit ``name`` of FITS, and
    of its loss curve."""
    estimator, params, dtype, sparse = FITS[name]
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(dtype)
    if estimator is TwoLayerRegressor:
        y = X[:, 20:30].sum(axis=1) + y
    params = {"n_hidden": 40, "max_iter": 3, "random_state": 0, **params}
    fit_params = {}
    if sparse:
        X = sp.csr_matrix(X)
        fit_params["sample_weight"] = np.linspace(0.5, 2, X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = estimator(**params).fit(X, y, **fit_params)
    digest = hashlib.sha256()
    for array in model.coefs_ + model.intercepts_:
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(np.array(model.loss_curve_).tobytes())
    return digest.hexdigest()


def use_build(monkeypatch, build):
    forward, trainer = modules_of(build)
    monkeypatch.setattr(_fitting, "Trainer", trainer.Trainer)
    monkeypatch.setattr(_network, "_compiled_forward", forward)


@pytest.mark.skipif(len(FUSED) < 2, reason="this CPU runs one build from AVX2 up")
@pytest.mark.parametrize("name", FITS)
def test_avx2_and_avx512_builds_fit_the_same_weights(monkeypatch, name):
    digests = []
    for build in FUSED:
        with monkeypatch.context() as patch:
            use_build(patch, build)
            digests.append(fit_digest(name))
    assert len(set(digests)) == 1


@pytest.mark.skipif(not FUSED, reason="this CPU has no AVX2")
def test_an_avx2_machine_with_another_blas_kernel_fits_the_same_weights():
    # A new process that runs the AVX2 build with OpenBLAS's Haswell
    # kernels, on three threads, as an AVX2-only machine would; here, the
    # widest build this CPU runs, with the BLAS kernels OpenBLAS picks.
    here = {name: fit_digest(name) for name in FITS}
    env = {
        **os.environ,
        "SKLEARN_TWOLAYER_CPU": "avx2",
        "OPENBLAS_CORETYPE": "Haswell",
        "OMP_NUM_THREADS": "3",
    }
    script = (
        "import runpy, sys; ns = runpy.run_path(sys.argv[1]); "
        "print(*(ns['fit_digest'](name) for name in ns['FITS']))"
    )
    result = subprocess.run(
        # -P: the package as installed, not the source folder of a checkout.
        [sys.executable, "-P", "-c", script, __file__],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == list(here.values())
