"""L-BFGS on the compiled trainer's loss and gradient.

Everything else about training (the state, whole epochs) lives in the
compiled :class:`~sklearn_twolayer._trainer.Trainer`.
"""

import numpy as np
from scipy.optimize import minimize


def minimize_lbfgs(
    trainer, X, Y, n_threads, max_iter, max_fun, tol, callback=None, sample_weight=None
):
    """Fit ``trainer.params`` by scipy's L-BFGS-B on the whole of X.

    The loss and gradient are computed in the dtype of X, by the trainer, in
    chunks (only the optimizer's own vectors are float64); the result is
    written back into ``trainer.params``.

    Returns
    -------
    result : scipy.optimize.OptimizeResult
    """
    params = trainer.params

    def loss_and_grad(x):
        params[:] = x
        loss = trainer.loss_and_gradient(
            X, Y, n_threads=n_threads, sample_weight=sample_weight
        )
        return loss, trainer.grads.astype(np.float64)

    result = minimize(
        loss_and_grad,
        params.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=callback,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
    )
    params[:] = result.x
    return result
