"""A two-layer network as flat arrays, and its passes over a batch.

Every numeric step is a kernel call; this module only lays out the memory
and sequences the kernels (seed 000 sections I-II).
"""

import numpy as np

from ._backward import LOSSES, hidden_delta, layer_gradients, output_delta
from ._forward import ACTIVATIONS, forward_layer

# Rows per chunk when running the network on a whole data set, so that the
# hidden activations take O(chunk x n_hidden) memory whatever n_samples is.
PREDICT_CHUNK_ROWS = 4096


class Network:
    """Weights, biases and their gradients, each packed in one flat vector.

    ``coefs``/``intercepts`` (and ``grad_coefs``/``grad_intercepts``) are
    views into ``params`` (``grads``) in MLPClassifier's layout: ``coefs[0]``
    is W1.T of shape (n_features, n_hidden), ``coefs[1]`` is W2.T of shape
    (n_hidden, n_outputs). The flat vectors let one optimizer kernel update
    every parameter at once.
    """

    def __init__(self, n_features, n_hidden, n_outputs, dtype):
        self.shapes = [(n_features, n_hidden), (n_hidden, n_outputs)]
        self.dtype = np.dtype(dtype)
        size = sum(fan_in * fan_out + fan_out for fan_in, fan_out in self.shapes)
        self.params = np.zeros(size, dtype=self.dtype)
        self.grads = np.zeros(size, dtype=self.dtype)
        self.coefs, self.intercepts = self._views(self.params)
        self.grad_coefs, self.grad_intercepts = self._views(self.grads)

    def _views(self, flat):
        coefs, intercepts, start = [], [], 0
        for fan_in, fan_out in self.shapes:
            coefs.append(
                flat[start : start + fan_in * fan_out].reshape(fan_in, fan_out)
            )
            start += fan_in * fan_out
            intercepts.append(flat[start : start + fan_out])
            start += fan_out
        return coefs, intercepts

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


class BatchWorkspace:
    """Activation and delta buffers for batches of up to ``n_rows`` rows."""

    def __init__(self, n_rows, n_hidden, n_outputs, dtype):
        self.hidden = np.empty((n_rows, n_hidden), dtype=dtype)
        self.output = np.empty((n_rows, n_outputs), dtype=dtype)
        self.delta_output = np.empty((n_rows, n_outputs), dtype=dtype)
        self.delta_hidden = np.empty((n_rows, n_hidden), dtype=dtype)


def loss_and_gradients(
    network, workspace, X, Y, alpha, activation, out_activation, loss, n_threads
):
    """Forward and backward pass of one batch; gradients go to ``network.grads``.

    Parameters
    ----------
    network : Network
    workspace : BatchWorkspace
        With room for at least ``X.shape[0]`` rows.
    X : C-contiguous ndarray of shape (n_rows, n_features)
    Y : C-contiguous ndarray of shape (n_rows, n_outputs)
        Encoded targets.
    alpha : float
        L2 penalty; enters the loss as ``0.5 * alpha * ||W||^2 / n_rows``.
    activation, out_activation, loss : str
    n_threads : int

    Returns
    -------
    loss : float
        Mean loss over the batch plus the L2 term.
    """
    n_rows = X.shape[0]
    hidden_code = ACTIVATIONS[activation]
    output_code = ACTIVATIONS[out_activation]
    W1, W2 = network.coefs
    b1, b2 = network.intercepts
    A1 = workspace.hidden[:n_rows]
    A2 = workspace.output[:n_rows]
    D2 = workspace.delta_output[:n_rows]
    D1 = workspace.delta_hidden[:n_rows]

    forward_layer(X, W1, b1, A1, hidden_code, n_threads)
    forward_layer(A1, W2, b2, A2, output_code, n_threads)
    loss_sum = output_delta(A2, Y, D2, output_code, LOSSES[loss], n_threads)
    squares = layer_gradients(
        A1,
        D2,
        W2,
        network.grad_coefs[1],
        network.grad_intercepts[1],
        alpha,
        n_rows,
        n_threads,
    )
    hidden_delta(D2, W2, A1, D1, hidden_code, n_threads)
    squares += layer_gradients(
        X,
        D1,
        W1,
        network.grad_coefs[0],
        network.grad_intercepts[0],
        alpha,
        n_rows,
        n_threads,
    )
    return (loss_sum + 0.5 * alpha * squares) / n_rows


def predict_output(X, coefs, intercepts, activation, out_activation, n_threads):
    """Output activations for all rows of ``X``, computed chunk by chunk.

    Returns
    -------
    output : ndarray of shape (n_samples, n_outputs), dtype of ``X``
    """
    dtype = X.dtype
    W1, W2 = (np.ascontiguousarray(c, dtype=dtype) for c in coefs)
    b1, b2 = (np.ascontiguousarray(b, dtype=dtype) for b in intercepts)
    n_samples = X.shape[0]
    output = np.empty((n_samples, W2.shape[1]), dtype=dtype)
    hidden = np.empty((min(n_samples, PREDICT_CHUNK_ROWS), W1.shape[1]), dtype=dtype)
    hidden_code = ACTIVATIONS[activation]
    output_code = ACTIVATIONS[out_activation]
    for start in range(0, n_samples, PREDICT_CHUNK_ROWS):
        stop = min(start + PREDICT_CHUNK_ROWS, n_samples)
        chunk_hidden = hidden[: stop - start]
        forward_layer(X[start:stop], W1, b1, chunk_hidden, hidden_code, n_threads)
        forward_layer(chunk_hidden, W2, b2, output[start:stop], output_code, n_threads)
    return output
