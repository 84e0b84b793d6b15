"""Driving the compiled training loop: settings, buffers, optimizer state.

Each epoch is one call into compiled code (``_epoch.run_epoch``), which runs
every minibatch — forward, backward, update — without the GIL. L-BFGS calls
the same compiled passes for the loss and gradient of all the data.
"""

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from ._backward import LOSSES
from ._epoch import SOLVERS, Workspace, loss_and_gradient, run_epoch
from ._forward import ACTIVATIONS


def make_settings(
    activation,
    out_activation,
    loss,
    solver="sgd",
    loss_parameter=0.0,
    alpha=0.0,
    learning_rate=0.0,
    momentum=0.0,
    nesterov=False,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-8,
):
    """The compiled loop's settings, with names turned into kernel codes."""
    return {
        "activation": ACTIVATIONS[activation],
        "out_activation": ACTIVATIONS[out_activation],
        "loss": LOSSES[loss],
        "loss_parameter": loss_parameter,
        "solver": SOLVERS[solver],
        "alpha": alpha,
        "learning_rate": learning_rate,
        "momentum": momentum,
        "nesterov": nesterov,
        "beta_1": beta_1,
        "beta_2": beta_2,
        "epsilon": epsilon,
    }


def data_arguments(X):
    """X as the compiled code takes it: ``(X, csr)`` with X dense and csr an
    empty dict, or, for a CSR matrix, an empty array of its dtype (which
    picks the compiled variant) and its arrays (indices made intp, once)."""
    if not sp.issparse(X):
        return X, {}
    return np.empty((0, X.shape[1]), dtype=X.dtype), {
        "X_data": X.data,
        "X_indices": X.indices.astype(np.intp, copy=False),
        "X_indptr": X.indptr.astype(np.intp, copy=False),
    }


class EpochRunner:
    """Runs epochs of minibatch training of ``network`` on one data set.

    Buffers are made once, here; each ``run`` is one compiled call.

    Parameters
    ----------
    network : Network
    X : C-contiguous ndarray or CSR matrix of shape (n_samples, n_features)
    Y : C-contiguous ndarray of shape (n_samples, n_outputs), dtype of X
    batch_size : int
    settings : dict
        From :func:`make_settings`.
    n_threads : int
    state : tuple or None
        ``(state_1, state_2, adam_steps)`` of an earlier runner on the same
        network (its ``state``), to continue its optimizer; None starts anew.
    sample_weight : ndarray of shape (n_samples,), dtype of X, or None
    """

    def __init__(
        self,
        network,
        X,
        Y,
        batch_size,
        settings,
        n_threads,
        state=None,
        sample_weight=None,
    ):
        self.network = network
        self.X, self.csr = data_arguments(X)
        self.Y = Y
        self.sample_weight = sample_weight
        self.batch_size = batch_size
        self.n_threads = n_threads
        n_features, n_hidden = network.shapes[0]
        self.workspace = Workspace(
            n_features, n_hidden, Y.shape[1], batch_size, network.dtype, settings
        )
        if state is None:
            n_params = network.params.shape[0]
            # Velocity (sgd), or first and second moments (adam).
            state_1 = np.zeros(n_params, dtype=network.dtype)
            if settings["solver"] == SOLVERS["adam"]:
                state_2 = np.zeros(n_params, dtype=network.dtype)
            else:
                state_2 = state_1
            state = (state_1, state_2, 0)
        self.state_1, self.state_2, self.adam_steps = state

    @property
    def state(self):
        """The optimizer's state, to continue it in a later runner."""
        return self.state_1, self.state_2, self.adam_steps

    @property
    def learning_rate(self):
        return self.workspace.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.workspace.learning_rate = value

    def run(self, order=None):
        """One epoch over the rows ``order`` of X, in that order (None: all
        rows in data order).

        Returns
        -------
        loss : float
            Mean over the epoch's samples of each batch's loss, as
            MLPClassifier's ``loss_curve_``.
        """
        loss, self.adam_steps = run_epoch(
            self.X,
            self.Y,
            order,
            self.network.params,
            self.network.grads,
            self.state_1,
            self.state_2,
            self.workspace,
            self.batch_size,
            self.adam_steps,
            self.n_threads,
            self.sample_weight,
            **self.csr,
        )
        return loss


class FullBatch:
    """Loss and gradient of a fixed data set under the network's current
    weights, computed by the compiled passes in fixed-size chunks of rows.

    Parameters
    ----------
    network : Network
    X : C-contiguous ndarray or CSR matrix of shape (n_samples, n_features)
    Y : C-contiguous ndarray of shape (n_samples, n_outputs), dtype of X
    settings : dict
        From :func:`make_settings`.
    n_threads : int
    sample_weight : ndarray of shape (n_samples,), dtype of X, or None
    """

    def __init__(self, network, X, Y, settings, n_threads, sample_weight=None):
        self.network = network
        self.X, self.csr = data_arguments(X)
        self.Y = Y
        self.sample_weight = sample_weight
        self.n_threads = n_threads
        n_features, n_hidden = network.shapes[0]
        self.workspace = Workspace(
            n_features, n_hidden, Y.shape[1], X.shape[0], network.dtype, settings
        )

    def loss_and_gradient(self, grads=None):
        """Mean loss plus the L2 term; the gradient goes to ``grads``
        (default: ``network.grads``)."""
        grads = self.network.grads if grads is None else grads
        return loss_and_gradient(
            self.X,
            self.Y,
            self.network.params,
            grads,
            self.workspace,
            self.n_threads,
            self.sample_weight,
            **self.csr,
        )


def minimize_lbfgs(
    network,
    X,
    Y,
    settings,
    n_threads,
    max_iter,
    max_fun,
    tol,
    callback=None,
    sample_weight=None,
):
    """Fit ``network`` by scipy's L-BFGS-B on the whole of X.

    The loss and gradient are computed in the dtype of X (only the
    optimizer's own vectors are float64); the result is written back into
    ``network.params``.

    Returns
    -------
    result : scipy.optimize.OptimizeResult
    """
    full_batch = FullBatch(network, X, Y, settings, n_threads, sample_weight)

    def loss_and_grad(x):
        network.params[:] = x
        loss = full_batch.loss_and_gradient()
        return loss, network.grads.astype(np.float64)

    result = minimize(
        loss_and_grad,
        network.params.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=callback,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
    )
    network.params[:] = result.x
    return result
