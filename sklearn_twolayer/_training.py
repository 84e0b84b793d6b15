"""Minibatch epochs and the optimizers' state.

An epoch visits the samples in the given order, batch by batch: forward,
backward, update. The arithmetic is in the kernels.
"""

import numpy as np

from ._network import BatchWorkspace, loss_and_gradients
from ._optimizers import adam_update, sgd_update


class SGD:
    """Gradient descent with momentum; ``momentum=0`` is the seeds' update."""

    def __init__(self, n_params, dtype, learning_rate, momentum, nesterov):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocity = np.zeros(n_params, dtype=dtype)

    def step(self, params, grads, n_threads):
        sgd_update(
            params,
            grads,
            self.velocity,
            self.learning_rate,
            self.momentum,
            self.nesterov,
            n_threads,
        )


class Adam:
    """Adam with MLPClassifier's bias correction folded into the step size."""

    def __init__(self, n_params, dtype, learning_rate, beta_1, beta_2, epsilon):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_steps = 0
        self.first_moment = np.zeros(n_params, dtype=dtype)
        self.second_moment = np.zeros(n_params, dtype=dtype)

    def step(self, params, grads, n_threads):
        self.n_steps += 1
        step_size = (
            self.learning_rate
            * np.sqrt(1 - self.beta_2**self.n_steps)
            / (1 - self.beta_1**self.n_steps)
        )
        adam_update(
            params,
            grads,
            self.first_moment,
            self.second_moment,
            step_size,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            n_threads,
        )


class EpochRunner:
    """Runs epochs of minibatch training on one data set.

    Parameters
    ----------
    network : Network
    optimizer : SGD or Adam
    X : C-contiguous ndarray of shape (n_samples, n_features)
    Y : C-contiguous ndarray of shape (n_samples, n_outputs)
    batch_size : int
    alpha : float
    activation, out_activation, loss : str
    n_threads : int
    """

    def __init__(
        self,
        network,
        optimizer,
        X,
        Y,
        batch_size,
        alpha,
        activation,
        out_activation,
        loss,
        n_threads,
    ):
        self.network = network
        self.optimizer = optimizer
        self.X = X
        self.Y = Y
        self.batch_size = batch_size
        self.alpha = alpha
        self.activation = activation
        self.out_activation = out_activation
        self.loss = loss
        self.n_threads = n_threads
        n_hidden = network.coefs[0].shape[1]
        self.workspace = BatchWorkspace(batch_size, n_hidden, Y.shape[1], X.dtype)
        # Gathered rows of a shuffled batch; a batch in data order is a view.
        self.X_batch = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
        self.Y_batch = np.empty((batch_size, Y.shape[1]), dtype=Y.dtype)

    def run(self, order=None):
        """One epoch; ``order`` permutes the samples (None: data order).

        Returns
        -------
        loss : float
            Mean over the epoch's samples of each batch's loss, as
            MLPClassifier's ``loss_curve_``.
        """
        n_samples = self.X.shape[0]
        total = 0.0
        for start in range(0, n_samples, self.batch_size):
            stop = min(start + self.batch_size, n_samples)
            if order is None:
                X_batch = self.X[start:stop]
                Y_batch = self.Y[start:stop]
            else:
                rows = order[start:stop]
                X_batch = np.take(
                    self.X, rows, axis=0, out=self.X_batch[: stop - start], mode="clip"
                )
                Y_batch = np.take(
                    self.Y, rows, axis=0, out=self.Y_batch[: stop - start], mode="clip"
                )
            batch_loss = loss_and_gradients(
                self.network,
                self.workspace,
                X_batch,
                Y_batch,
                self.alpha,
                self.activation,
                self.out_activation,
                self.loss,
                self.n_threads,
            )
            total += batch_loss * (stop - start)
            self.optimizer.step(self.network.params, self.network.grads, self.n_threads)
        return total / n_samples
