"""The regression losses of the output-delta kernel against numpy.

For an identity output (squared, absolute, Huber and quantile losses) and an
exp output (Poisson, log link), the kernel returns the summed loss and
writes dL/dZ2. Both are checked against a plain numpy computation, and the
delta against central finite differences of that numpy loss in Z2.
"""

import numpy as np
import pytest

from sklearn_twolayer._registry import ACTIVATION_CODES, LOSS_CODES, LOSSES

# Built for the tests only (see test_installed_distribution.py).
output_delta = pytest.importorskip("sklearn_twolayer._kernel_probes").output_delta

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-5, np.float64: 1e-12}

# The loss parameters to try (Huber's threshold, the quantile).
PARAMETERS = {"huber": [0.3, 1.0], "quantile": [0.1, 0.5, 0.9]}
CASES = [
    (name, parameter)
    for name, loss in LOSSES.items()
    if loss.regressor
    for parameter in PARAMETERS.get(name, [0.0])
]


def prediction_of(Z, loss):
    """The output activation: exp for the Poisson loss, else the identity."""
    return np.exp(Z) if loss == "poisson" else Z


def regression_data(loss, dtype, n_rows=150, n_out=3, seed=0):
    """Pre-activations Z and targets Y, residuals away from any kink."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_rows, n_out))
    if loss == "poisson":
        Y = rng.poisson(np.exp(Z)).astype(np.float64)
    else:
        Y = Z + rng.choice([-1, 1], size=Z.shape) * rng.uniform(0.05, 2, Z.shape)
    return Z.astype(dtype), Y.astype(dtype)


def run_kernel(Z, Y, loss, parameter, n_threads=2, weights=None):
    out_activation = LOSSES[loss].output_activation
    A = np.exp(Z) if out_activation == "exp" else Z.copy()
    delta = np.full_like(A, np.nan)
    total = output_delta(
        A,
        Y,
        delta,
        ACTIVATION_CODES[out_activation],
        LOSS_CODES[loss],
        n_threads,
        loss_parameter=parameter,
    )
    return delta, total


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("loss", "parameter"), CASES)
def test_regression_loss_and_delta_match_numpy(
    loss, parameter, dtype, regression_loss
):
    Z, Y = regression_data(loss, dtype)
    delta, total = run_kernel(Z, Y, loss, parameter)
    Z64, Y64 = Z.astype(np.float64), Y.astype(np.float64)
    expected_total = regression_loss(
        prediction_of(Z64, loss), Y64, loss, parameter
    ).sum()
    np.testing.assert_allclose(total, expected_total, rtol=RTOL[dtype] * 10)
    residual = (np.exp(Z64) if loss == "poisson" else Z64) - Y64
    expected_delta = {
        "squared_error": residual,
        "poisson": residual,
        "absolute_error": np.sign(residual),
        "huber": np.clip(residual, -parameter, parameter),
        "quantile": np.where(residual > 0, 1 - parameter, -parameter),
    }[loss]
    np.testing.assert_allclose(
        delta, expected_delta, rtol=RTOL[dtype], atol=RTOL[dtype]
    )


@pytest.mark.parametrize(("loss", "parameter"), CASES)
def test_regression_delta_is_the_derivative_of_the_loss(
    loss, parameter, regression_loss
):
    # Central differences of the numpy loss in each pre-activation.
    Z, Y = regression_data(loss, np.float64, n_rows=20)
    delta, _ = run_kernel(Z, Y, loss, parameter)
    step = 1e-6
    numeric = (
        regression_loss(prediction_of(Z + step, loss), Y, loss, parameter)
        - regression_loss(prediction_of(Z - step, loss), Y, loss, parameter)
    ) / (2 * step)
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("loss", ["absolute_error", "quantile"])
def test_subgradient_at_a_zero_residual_is_zero(loss):
    Z = np.array([[0.5, -1.0]])
    delta, total = run_kernel(Z, Z.copy(), loss, 0.3)
    assert total == 0
    assert np.array_equal(delta, np.zeros_like(Z))


@pytest.mark.parametrize(("loss", "parameter"), CASES)
def test_regression_delta_is_bitwise_equal_across_thread_counts(loss, parameter):
    # 1000 rows = 16 row blocks, whose partial losses are summed in order.
    Z, Y = regression_data(loss, np.float64, n_rows=1000)
    runs = [run_kernel(Z, Y, loss, parameter, n_threads=n) for n in (1, 2, 3)]
    for delta, total in runs[1:]:
        assert np.array_equal(delta, runs[0][0])
        assert total == runs[0][1]
