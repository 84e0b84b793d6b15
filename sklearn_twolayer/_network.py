"""A two-layer network as flat arrays, and its forward pass over a data set.

Every numeric step is a kernel call; this module only lays out the memory
and sequences the kernels (eqs. (1)-(5) of the algorithm page).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import assert_all_finite

from ._dispatch import forward as _compiled_forward
from ._registry import ACTIVATION_CODES
from ._threads import effective_n_threads, threads_for_work

LEAKY_RELU_SLOPE = _compiled_forward.LEAKY_RELU_SLOPE

__all__ = [
    "LEAKY_RELU_SLOPE",
    "Network",
    "forward_flops",
    "hidden_output",
    "predict_output",
]


#: Bytes of a cache line: the parameters start on one, so that the matrix
#: products read W1's rows where they lie when their length allows.
CACHE_LINE = 64


def _aligned_zeros(size, dtype):
    """A zero vector of ``size`` elements whose data start on a cache line."""
    dtype = np.dtype(dtype)
    spare = CACHE_LINE // dtype.itemsize
    raw = np.zeros(size + spare, dtype=dtype)
    start = (-raw.ctypes.data % CACHE_LINE) // dtype.itemsize
    return raw[start : start + size]


class Network:
    """Weights and biases packed in one flat vector (the trainer keeps their
    gradient).

    ``coefs``/``intercepts`` are views into ``params`` in MLPClassifier's
    layout: ``coefs[0]`` is W1.T of shape (n_features, n_hidden), ``coefs[1]``
    is W2.T of shape (n_hidden, n_outputs), so the flat order is W1, b1, W2,
    b2, as the compiled training loop expects.
    """

    def __init__(self, n_features, n_hidden, n_outputs, dtype):
        self.shapes = [(n_features, n_hidden), (n_hidden, n_outputs)]
        self.dtype = np.dtype(dtype)
        size = sum(fan_in * fan_out + fan_out for fan_in, fan_out in self.shapes)
        self.params = _aligned_zeros(size, self.dtype)
        self.coefs, self.intercepts = self.unpack(self.params)

    def unpack(self, flat):
        """Views of a flat parameter vector as (coefs, intercepts)."""
        coefs, intercepts, start = [], [], 0
        for fan_in, fan_out in self.shapes:
            coefs.append(
                flat[start : start + fan_in * fan_out].reshape(fan_in, fan_out)
            )
            start += fan_in * fan_out
            intercepts.append(flat[start : start + fan_out])
            start += fan_out
        return coefs, intercepts

    def fitted_weights(self, params=None):
        """Copies of the weights (of ``params``, default: the current ones)
        as the ``coefs_`` and ``intercepts_`` of a model at this point."""
        if params is None:
            params = self.params
        coefs, intercepts = self.unpack(params.astype(self.dtype, copy=True))
        return {"coefs_": coefs, "intercepts_": intercepts}

    def outputs_may_overflow(self, largest_row_sum, activation):
        """Whether the weights are large enough that the output layer's
        inputs on the data could overflow the dtype (then inf - inf gives
        NaN): a bound from the largest row sum of |X| (``largest_row_sum``
        of the data, see :func:`checked_largest_row_sum`) and the largest
        weights."""
        (W1, W2), (b1, b2) = self.coefs, self.intercepts
        with np.errstate(over="ignore"):
            if activation in ("logistic", "tanh"):
                # Bounded hidden units: X does not matter.
                hidden = 1.0
            else:
                hidden = largest_row_sum * float(np.abs(W1).max()) + float(
                    np.abs(b1).max()
                )
            logits = hidden * W2.shape[0] * float(np.abs(W2).max()) + float(
                np.abs(b2).max()
            )
        return not logits < np.finfo(self.dtype).max

    @classmethod
    def from_arrays(cls, coefs, intercepts, dtype):
        """Pack copies of existing weights (cast to ``dtype``)."""
        network = cls(coefs[0].shape[0], coefs[0].shape[1], coefs[1].shape[1], dtype)
        for packed, given in zip(
            network.coefs + network.intercepts, list(coefs) + list(intercepts)
        ):
            if np.shape(given) != packed.shape:
                raise ValueError(
                    f"Weights of shape {np.shape(given)} do not fit a layer of "
                    f"shape {packed.shape}."
                )
            packed[...] = given
        return network


def checked_largest_row_sum(X, estimator_name):
    """max_i sum_j |X[i, j]|, from the same pass over X that checks that X
    holds no NaN or infinity (a ValueError, scikit-learn's, naming the
    estimator, if it does): one pass over X where a fit would make two.
    Infinite where a row's sum overflows float64."""
    largest = _largest_row_sum(X)
    if not np.isfinite(largest):
        # Tells a NaN from an infinity, in scikit-learn's words; passes
        # when only a sum overflowed.
        assert_all_finite(X, input_name="X", estimator_name=estimator_name)
    return largest


def _largest_row_sum(X):
    """max_i sum_j |X[i, j]| (NaN if X holds a NaN): for a dense, C-ordered
    X of the trainer's dtypes, in one compiled pass on the fit's threads;
    otherwise a small copy of X at a time."""
    if (
        isinstance(X, np.ndarray)
        and X.ndim == 2
        and X.dtype in (np.float32, np.float64)
        and X.flags.c_contiguous
    ):
        n_threads = threads_for_work(effective_n_threads(), X.size)
        return _compiled_forward.largest_row_sum(X, n_threads)
    largest = 0.0
    with np.errstate(over="ignore"):
        for start in range(0, X.shape[0], 512):
            rows = abs(X[start : start + 512])
            # np.maximum keeps a NaN, where max() could drop it.
            largest = np.maximum(
                largest, float(np.asarray(rows.sum(axis=1)).max(initial=0.0))
            )
    return float(largest)


def predict_output(
    X, coefs, intercepts, activation, out_activation, n_threads, check_finite=False
):
    """Output activations for all rows of ``X`` (dense, or CSR), computed in
    one compiled call, block by block of rows (memory O(block x n_hidden)
    per thread, whatever n_samples is).

    With ``check_finite``, a dense X's values are checked for NaN and
    infinity in the same call.

    Returns
    -------
    output : ndarray of shape (n_samples, n_outputs), dtype of ``X``
        None when ``check_finite`` found a value that is not finite.
    """
    dtype = X.dtype
    W1, W2 = (np.ascontiguousarray(c, dtype=dtype) for c in coefs)
    b1, b2 = (np.ascontiguousarray(b, dtype=dtype) for b in intercepts)
    output = np.empty((X.shape[0], W2.shape[1]), dtype=dtype)
    X, sparse = _kernel_input(X)
    finite = _compiled_forward.predict_rows(
        X,
        W1,
        b1,
        W2,
        b2,
        output,
        ACTIVATION_CODES[activation],
        ACTIVATION_CODES[out_activation],
        n_threads,
        check_finite=check_finite,
        **sparse,
    )
    return output if finite else None


def hidden_output(X, coefs, intercepts, activation, n_threads, check_finite=False):
    """Hidden activations ``g(X @ coefs[0] + intercepts[0])`` for all rows
    of ``X`` (dense, or CSR), computed in one compiled call over the row
    blocks of ``predict_output``; the output layer is not computed.

    With ``check_finite``, a dense X's values are checked for NaN and
    infinity in the same call.

    Returns
    -------
    hidden : ndarray of shape (n_samples, n_hidden), dtype of ``X``
        None when ``check_finite`` found a value that is not finite.
    """
    dtype = X.dtype
    W1 = np.ascontiguousarray(coefs[0], dtype=dtype)
    b1 = np.ascontiguousarray(intercepts[0], dtype=dtype)
    hidden = np.empty((X.shape[0], W1.shape[1]), dtype=dtype)
    X, sparse = _kernel_input(X)
    finite = _compiled_forward.transform_rows(
        X,
        W1,
        b1,
        hidden,
        ACTIVATION_CODES[activation],
        n_threads,
        check_finite=check_finite,
        **sparse,
    )
    return hidden if finite else None


def _kernel_input(X):
    """``(X, sparse)`` as the compiled passes take them: a dense X as it
    is; a CSR X as an empty placeholder of its dtype and width, with its
    arrays (indices of dtype intp) in ``sparse``."""
    if not sp.issparse(X):
        return X, {}
    sparse = {
        "X_data": X.data,
        "X_indices": X.indices.astype(np.intp, copy=False),
        "X_indptr": X.indptr.astype(np.intp, copy=False),
    }
    return np.empty((0, X.shape[1]), dtype=X.dtype), sparse


def forward_flops(n_rows, coefs):
    """Floating-point operations of the products of a forward pass."""
    return 2 * n_rows * sum(c.shape[0] * c.shape[1] for c in coefs)
