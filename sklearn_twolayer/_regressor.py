"""TwoLayerRegressor: what regression adds to the shared core — continuous
targets, their losses and output activations, and the R² of early
stopping."""

from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from ._base import BaseTwoLayer, predicts
from ._docstrings import shared_docstring
from ._locks import one_fit_at_a_time
from ._registry import LOSSES, REGRESSOR_LOSSES
from ._targets import encode_values


@shared_docstring("MLPRegressor")
class TwoLayerRegressor(RegressorMixin, BaseTwoLayer):
    """Two-layer neural network regressor (one hidden layer).

    ``A1 = g(X @ W1 + b1)`` and ``prediction = A1 @ W2 + b2`` (or its
    exponential for ``loss="poisson"``), trained by backpropagation and
    (minibatch) gradient descent, Adam or L-BFGS. The numeric work runs in
    compiled OpenMP kernels that use every core OpenMP allows; limit them
    with ``threadpoolctl.threadpool_limits(n, user_api="openmp")`` or
    ``OMP_NUM_THREADS``. A drop-in for
    ``MLPRegressor(hidden_layer_sizes=(n_hidden,))``, with robust and
    quantile losses besides.

    ``transform`` gives the hidden activations ``A1`` as features; fitted
    on ``(X, X)``, the network is an autoencoder and ``A1`` its codes.

    Parameters
    ----------
    {n_hidden}

    {hidden_layer_sizes}

    {activation}

    {solver}

    loss : {{regressor_losses}}, default="squared_error"
        Per sample and output, with residual ``r = prediction - y``:
        ``"squared_error"``: ``r ** 2 / 2`` (MLPRegressor's half squared
        error); ``"poisson"``: the half Poisson deviance ``y log(y /
        prediction) - y + prediction`` of an exponential output (log link;
        ``y >= 0``); ``"absolute_error"``: ``|r|``; ``"huber"``: ``r ** 2 /
        2`` up to ``|r| = huber_delta``, linear beyond; ``"quantile"``: the
        pinball loss of the ``quantile``-quantile. The loss of a sample sums
        over the outputs.

    huber_delta : float, default=1.0
        Where the Huber loss turns from quadratic to linear (in units of y).

    quantile : float, default=0.5
        The quantile that ``loss="quantile"`` estimates, in (0, 1); 0.5 is
        the median (half the absolute error).

    {alpha}

    {batch_size}

    {learning_rate}

    {learning_rate_init}

    {power_t}

    {max_iter}

    {shuffle}

    {random_state}

    {tol}

    {verbose}

    {warm_start}

    {momentum}

    {nesterovs_momentum}

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the samples, or use the
        ``X_val``, ``y_val`` given to ``fit``; stop when their score (see
        ``scoring``) has not improved by ``tol`` for ``n_iter_no_change``
        epochs, and keep the weights of the best epoch. sgd and adam only.

    {validation_fraction}

    {beta_1}

    {beta_2}

    {epsilon}

    {n_iter_no_change}

    {max_fun}

    {init}

    scoring : str, callable or None, default=None
        The validation score early stopping follows (higher is better): None
        for R², ``"loss"`` for the negated validation loss (as in
        ``validation_loss_curve_``), or a scorer name (e.g.
        ``"neg_mean_absolute_error"``) or callable ``scorer(estimator, X,
        y)``, as in ``GridSearchCV``.

    {dropout}

    Attributes
    ----------
    {n_features_in_}

    {feature_names_in_}

    {coefs_}

    {intercepts_}

    {n_layers_}

    n_outputs_ : int
        Number of outputs (columns of y).

    {hidden_activation_}

    out_activation_ : str
        ``"identity"``, or ``"exp"`` for ``loss="poisson"``.

    {n_iter_}

    {t_}

    {loss_}

    {best_loss_}

    {loss_curve_}

    {validation_scores_}

    {validation_loss_curve_}

    {best_validation_score_}

    See Also
    --------
    sklearn.neural_network.MLPRegressor : Multi-layer perceptron regressor.
    TwoLayerClassifier : The same network for classification.

    Notes
    -----
    For a single output the losses equal MLPRegressor's. With several
    outputs MLPRegressor reports the squared error averaged over the
    outputs while following the gradient of their sum; ``loss_`` here is
    the sum, the objective the gradient belongs to.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn_twolayer import TwoLayerRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0,
    ...                        random_state=0)
    >>> reg = TwoLayerRegressor(solver="lbfgs", random_state=0).fit(X, y)
    >>> round(reg.score(X, y), 2)
    1.0
    """

    _parameter_constraints: dict = {
        **BaseTwoLayer._parameter_constraints,
        "loss": [StrOptions(set(REGRESSOR_LOSSES))],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
    }

    _numeric_targets = True

    def __init__(
        self,
        n_hidden=None,
        *,
        hidden_layer_sizes=None,
        activation="relu",
        solver="adam",
        loss="squared_error",
        huber_delta=1.0,
        quantile=0.5,
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        init="glorot_uniform",
        scoring=None,
        dropout=0.0,
    ):
        self.n_hidden = n_hidden
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.loss = loss
        self.huber_delta = huber_delta
        self.quantile = quantile
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.init = init
        self.scoring = scoring
        self.dropout = dropout

    @available_if(lambda est: est.solver in ("sgd", "adam"))
    @one_fit_at_a_time
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over X and y, continuing from the current state.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, as in ``fit``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._partial_fit_checks()
        return self._fit(X, y, sample_weight, incremental=True)

    def _encode_targets(self, y, dtype, first_pass, incremental, classes):
        """Targets as (n_samples, n_outputs) values of the dtype of X;
        returns (y, Y)."""
        y = np.asarray(y)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if not first_pass and n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} output(s), but the model was trained on "
                f"{self.n_outputs_}; fit with warm_start=False to start anew."
            )
        Y = encode_values(y, self.loss, dtype)
        if first_pass:
            self.n_outputs_ = n_outputs
            self._y_is_1d = y.ndim == 1
        # The identity, or for "poisson" the exponential (log link) that
        # keeps the predicted means positive.
        self.out_activation_ = LOSSES[self.loss].output_activation
        return y, Y

    def _encode_validation_targets(self, y_val, dtype):
        """Check the targets of a validation set against the model's outputs;
        returns (y_val as scored, y_val as the network's outputs)."""
        n_outputs = 1 if y_val.ndim == 1 else y_val.shape[1]
        if n_outputs != self.n_outputs_:
            raise ValueError(
                f"y_val has {n_outputs} output(s), but y has {self.n_outputs_}."
            )
        return y_val, encode_values(y_val, self.loss, dtype)

    def _loss_parameter(self):
        # Huber's threshold or the quantile, for the losses that take one.
        parameter = LOSSES[self.loss].parameter
        return 0.0 if parameter is None else float(getattr(self, parameter))

    def _stratify(self, y):
        return None

    def _constant_loss(self, Y, sample_weight):
        # Half the squared error of predicting the mean, summed over outputs.
        if self.loss != "squared_error":
            return None
        mean = np.average(Y, axis=0, weights=sample_weight)
        return float(
            0.5 * np.average((Y - mean) ** 2, axis=0, weights=sample_weight).sum()
        )

    def _validation_targets(self, y, Y, held_out):
        return y[held_out]

    def _validation_score(self, y_val, output, w_val):
        return r2_score(y_val, self._shaped(output), sample_weight=w_val)

    def _shaped(self, output):
        """Predictions in the shape of the training targets."""
        return output[:, 0] if self._y_is_1d else output

    @predicts
    def predict(self, X):
        """Predict with the network.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, in the shape of the training targets and the
            dtype of the weights (float32 stays float32).
        """
        return self._shaped(self._predict_output(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
