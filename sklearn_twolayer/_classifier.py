"""TwoLayerClassifier: the scikit-learn estimator."""

import warnings
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._callbacks import CallbackSupportMixin, EpochReporter
from ._initialization import initialize_parameters
from ._network import Network, forward_flops, predict_output
from ._threads import effective_n_threads, single_threaded_blas, threads_for_work
from ._trainer import Trainer
from ._training import minimize_lbfgs
from ._version import __version__

_SUPPORTED_TARGETS = ("binary", "multiclass", "multilabel-indicator")

# Up to this many rows, predict runs on the calling thread alone: waking an
# OpenMP team and limiting BLAS would cost more than the products.
_SERIAL_PREDICT_ROWS = 64


def _encode_targets(y, y_type, classes, dtype):
    """Targets as the network's outputs: one logistic unit for binary y
    (seed 001), one-hot rows for multiclass y (seed 000), the indicator matrix
    itself for multilabel y."""
    if y_type == "multilabel-indicator":
        y = y.toarray() if hasattr(y, "toarray") else y
        return np.ascontiguousarray(y, dtype=dtype)
    if y_type == "binary":
        return (y == classes[1]).astype(dtype).reshape(-1, 1)
    Y = np.zeros((y.shape[0], classes.shape[0]), dtype=dtype)
    Y[np.arange(y.shape[0]), np.searchsorted(classes, y)] = 1
    return Y


def _fitted_weights(network, params=None):
    """Copies of the weights (of ``params``, default: the network's current
    ones) as the fitted attributes of a model at this point of training."""
    if params is None:
        params = network.params
    coefs, intercepts = network.unpack(params.astype(network.dtype, copy=True))
    return {"coefs_": coefs, "intercepts_": intercepts}


def _outputs_may_overflow(network, X, activation):
    """Whether the weights are large enough that the training data's logits
    could overflow the dtype (then inf - inf gives NaN probabilities): a
    bound from the largest row sum of |X| and the largest weights."""
    (W1, W2), (b1, b2) = network.coefs, network.intercepts
    with np.errstate(over="ignore"):
        if activation in ("logistic", "tanh"):
            # Bounded hidden units: X does not matter, and is not read.
            hidden = 1.0
        else:
            hidden = _largest_row_sum(X) * float(np.abs(W1).max()) + float(
                np.abs(b1).max()
            )
        logits = hidden * W2.shape[0] * float(np.abs(W2).max()) + float(
            np.abs(b2).max()
        )
    return not logits < np.finfo(network.dtype).max


def _largest_row_sum(X):
    """max_i sum_j |X[i, j]|, a small copy of X at a time."""
    largest = 0.0
    for start in range(0, X.shape[0], 512):
        rows = abs(X[start : start + 512])
        largest = max(largest, float(rows.sum(axis=1).max()))
    return largest


def _labels_from_output(output, y_type, classes):
    """Predicted labels from the output layer's activations."""
    if y_type == "multilabel-indicator":
        return (output > 0.5).astype(int)
    if y_type == "binary":
        return classes[(output[:, 0] > 0.5).astype(int)]
    return classes[np.argmax(output, axis=1)]


class TwoLayerClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """Two-layer neural network classifier (one hidden layer).

    The network of the seed documents: ``A1 = g(X @ W1 + b1)`` and
    ``A2 = softmax(A1 @ W2 + b2)`` for multiclass targets, or a logistic
    output unit for binary (and each label of multilabel) targets, trained by
    backpropagation and (minibatch) gradient descent. The numeric work runs
    in compiled OpenMP kernels that use every core OpenMP allows; limit them
    with ``threadpoolctl.threadpool_limits(n, user_api="openmp")`` or
    ``OMP_NUM_THREADS``.

    With ``solver="sgd", momentum=0, batch_size="full", alpha=0,
    shuffle=False, init="uniform"`` it is exactly the seeds' batch gradient
    descent.

    Parameters
    ----------
    n_hidden : int, default=100
        Number of hidden units.

    activation : {"relu", "logistic", "tanh", "identity"}, default="relu"
        Hidden-layer activation ``g``.

    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        ``"sgd"`` is gradient descent with optional (Nesterov) momentum;
        ``"adam"`` is Kingma and Ba's Adam; ``"lbfgs"`` is scipy's L-BFGS-B
        on the loss of all samples (computed in chunks, in the dtype of X).

    loss : {"log_loss", "squared_error"}, default="log_loss"
        ``"log_loss"``: cross-entropy, whose output delta is ``A2 - Y``.
        ``"squared_error"``: ``0.5 * ||A2 - Y||^2`` averaged over samples
        (seed 000 eq. 11), back-propagated through the exact softmax
        Jacobian (eq. 14) or the logistic derivative.

    alpha : float, default=1e-4
        Strength of the L2 penalty ``0.5 * alpha * ||W||^2 / batch_size``.

    batch_size : int, "auto" or "full", default="auto"
        Minibatch size; ``"auto"`` is ``min(200, n_samples)`` and ``"full"``
        all samples (batch gradient descent).

    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Step-size schedule of ``solver="sgd"``: constant; ``learning_rate_init
        / (t + 1) ** power_t`` after each epoch, ``t`` the samples seen so
        far; or divided by 5 each time ``n_iter_no_change`` epochs bring no
        improvement of ``tol`` (training stops once it is at most 1e-6).

    learning_rate_init : float, default=1e-3
        Step size (the initial one, with a schedule).

    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.

    max_iter : int, default=200
        Maximum number of epochs (iterations for ``solver="lbfgs"``).

    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the shuffling. For a given value the
        fitted weights do not depend on the number of threads.

    tol : float, default=1e-4
        Training stops when the loss has not improved by at least ``tol``
        for ``n_iter_no_change`` consecutive epochs; for ``solver="lbfgs"``,
        when the largest gradient entry falls below ``tol``.

    verbose : bool, default=False
        Print the loss after each epoch.

    warm_start : bool, default=False
        Continue from the current ``coefs_`` and ``intercepts_`` instead of
        initialising new weights.

    momentum : float, default=0.9
        Momentum of ``solver="sgd"``, in [0, 1].

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum (``solver="sgd"`` with ``momentum > 0``).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the samples (stratified unless
        the target is multilabel), stop when their accuracy has not improved
        by ``tol`` for ``n_iter_no_change`` epochs, and keep the weights of
        the best epoch. sgd and adam only.

    validation_fraction : float, default=0.1
        Share of the samples held out for early stopping, in (0, 1).

    beta_1 : float, default=0.9
        Adam's decay rate of the first-moment estimate, in [0, 1).

    beta_2 : float, default=0.999
        Adam's decay rate of the second-moment estimate, in [0, 1).

    epsilon : float, default=1e-8
        Adam's numerical stability constant.

    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` before stopping.

    max_fun : int, default=15000
        ``solver="lbfgs"`` only: maximum number of loss evaluations.

    init : {"glorot_uniform", "uniform"}, default="glorot_uniform"
        Initial weights: MLPClassifier's Glorot-uniform scheme (the same
        ``random_state`` gives MLPClassifier's starting weights), or the
        seeds' ``U(-0.5, 0.5)``.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, ``{label: weight}``, multiplying the sample
        weights; ``"balanced"`` is ``n_samples / (n_classes *
        np.bincount(y))``. Not for multilabel targets.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    coefs_ : list of two ndarrays
        ``coefs_[0]`` is W1.T of shape (n_features, n_hidden), ``coefs_[1]``
        is W2.T of shape (n_hidden, n_outputs).

    intercepts_ : list of two ndarrays
        ``b1`` of shape (n_hidden,) and ``b2`` of shape (n_outputs,).

    n_outputs_ : int
        Number of output units: 1 for binary targets.

    out_activation_ : str
        ``"softmax"`` (multiclass) or ``"logistic"`` (binary, multilabel).

    n_iter_ : int
        Epochs run by the last call to ``fit``.

    t_ : int
        Training samples seen, over all calls to ``fit``.

    loss_ : float
        Loss of the last epoch.

    best_loss_ : float or None
        Lowest epoch loss reached (None with early stopping).

    loss_curve_ : list of float
        Loss of each epoch (of each iteration for ``solver="lbfgs"``).

    validation_scores_ : list of float or None
        With early stopping: the validation accuracy after each epoch;
        None otherwise.

    validation_loss_curve_ : list of float or None
        With early stopping: the loss (as in ``loss_curve_``) of the
        validation samples after each epoch; None otherwise.

    best_validation_score_ : float or None
        With early stopping: the best validation accuracy, whose weights are
        kept; None otherwise.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : Multi-layer perceptron classifier.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_twolayer import TwoLayerClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = TwoLayerClassifier(random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16)
    array([0, 1, 2])
    """

    _parameter_constraints: dict = {
        "n_hidden": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"relu", "logistic", "tanh", "identity"})],
        "solver": [StrOptions({"sgd", "adam", "lbfgs"})],
        "loss": [StrOptions({"log_loss", "squared_error"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto", "full"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"glorot_uniform", "uniform"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        n_hidden=100,
        *,
        activation="relu",
        solver="adam",
        loss="log_loss",
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
        class_weight=None,
    ):
        self.n_hidden = n_hidden
        self.activation = activation
        self.solver = solver
        self.loss = loss
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
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data X and targets y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 data is trained in float32.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: each batch's loss is ``sum(w * loss) /
            sum(w)`` and its L2 term ``alpha * ||W||^2 / (2 * sum(w))``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est.solver in ("sgd", "adam"))
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over X and y, continuing from the current state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        y : array-like of shape (n_samples,) or (n_samples, n_labels)

        classes : array-like of shape (n_classes,), default=None
            Every class of the problem; required on the first call (unless y
            is a multilabel indicator matrix), ignored afterwards.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, as in ``fit``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if isinstance(self.class_weight, str):
            raise ValueError(
                f"class_weight={self.class_weight!r} is not supported by "
                "partial_fit: pass the weights as a dict, e.g. from "
                "sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y) on a large enough sample of the targets."
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            dtype=(np.float64, np.float32),
            order="C",
            multi_output=True,
            reset=first_pass,
        )
        if sp.issparse(X):
            # Rows are what batches take: CSC is converted once, to CSR.
            X = X.tocsr()
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = self._encode_y(y, X.dtype, first_pass, incremental, classes)
        sample_weight = self._sample_weight(sample_weight, X, y)

        if first_pass:
            network = Network(X.shape[1], self.n_hidden, Y.shape[1], X.dtype)
        else:
            network = Network.from_arrays(self.coefs_, self.intercepts_, X.dtype)
        if network.coefs[0].shape[1] != self.n_hidden:
            raise ValueError(
                f"Training continues from coefs_ with "
                f"{network.coefs[0].shape[1]} hidden units, but n_hidden="
                f"{self.n_hidden}; fit with warm_start=False to start anew."
            )
        random_state = check_random_state(self.random_state)
        if first_pass:
            initialize_parameters(
                network.coefs,
                network.intercepts,
                self.init,
                self.activation,
                random_state,
            )
            self.t_ = 0
            self.loss_curve_ = []
        # A warm start may switch early stopping on or off. (Models pickled
        # before fits without it recorded None have no validation_scores_.)
        validation_history = getattr(self, "validation_scores_", None)
        if first_pass or (validation_history is None) == self._uses_early_stopping():
            self._start_stopping_records()

        reporter = EpochReporter(
            self, X, y, sample_weight, 1 if incremental else self.max_iter
        )
        self._train(
            network, X, Y, y, sample_weight, random_state, incremental, reporter
        )

        if (
            not np.isfinite(network.params).all()
            or not np.isfinite(self.loss_)
            or _outputs_may_overflow(network, X, self.activation)
        ):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data "
                "may contain large values and need to be preprocessed."
            )
        self.coefs_ = network.coefs
        self.intercepts_ = network.intercepts
        reporter.fit_ends()
        return self

    def _start_stopping_records(self):
        """Fresh records for the stopping rule of this fit: the validation
        history with early stopping, the best training loss without."""
        self._no_improvement_count = 0
        if self._uses_early_stopping():
            self.best_loss_ = None
            self.validation_scores_ = []
            self.validation_loss_curve_ = []
            self.best_validation_score_ = -np.inf
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.validation_loss_curve_ = None
            self.best_validation_score_ = None

    def _uses_early_stopping(self):
        return self.early_stopping and self.solver != "lbfgs"

    def _encode_y(self, y, dtype, first_pass, incremental, classes):
        """Check the targets against the known classes (or set them) and
        encode them as the network's outputs."""
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y")
        if y_type not in _SUPPORTED_TARGETS:
            raise ValueError(
                f"TwoLayerClassifier supports binary, multiclass and "
                f"multilabel-indicator targets; got a {y_type} target."
            )
        if y_type == "multilabel-indicator":
            labels = np.arange(y.shape[1])
        else:
            labels = np.unique(y)

        if not first_pass:
            if (y_type == "multilabel-indicator") != (
                self._y_type == "multilabel-indicator"
            ) or (
                y_type == "multilabel-indicator" and labels.shape != self.classes_.shape
            ):
                raise ValueError(
                    f"y is a {y_type} target, but the model was trained on a "
                    f"{self._y_type} target."
                )
            if incremental and not np.isin(labels, self.classes_).all():
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` "
                    f"has {self.classes_}. 'y' has {labels}."
                )
            if not incremental and (
                labels.shape != self.classes_.shape or np.any(labels != self.classes_)
            ):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes "
                    f"as in the previous call to fit. Previously got "
                    f"{self.classes_}, `y` has {labels}."
                )
        else:
            if incremental and y_type != "multilabel-indicator":
                if classes is None:
                    raise ValueError(
                        "classes must be passed on the first call to partial_fit."
                    )
                given = np.unique(classes)
                if not np.isin(labels, given).all():
                    raise ValueError(
                        f"`y` has classes not in `classes`. `classes` has "
                        f"{given}. 'y' has {labels}."
                    )
                labels = given
                y_type = "binary" if given.shape[0] <= 2 else "multiclass"
            if y_type != "multilabel-indicator" and labels.shape[0] < 2:
                raise ValueError(
                    "TwoLayerClassifier needs samples of at least 2 classes in "
                    f"the data, but the data contains only one class: {labels[0]!r}."
                )
            self.classes_ = labels
            self._y_type = y_type
            self.out_activation_ = "softmax" if y_type == "multiclass" else "logistic"
        Y = _encode_targets(y, self._y_type, self.classes_, dtype)
        self.n_outputs_ = Y.shape[1]
        return Y

    def _sample_weight(self, sample_weight, X, y):
        """Per-sample weights, ``sample_weight`` times the weights of
        ``class_weight``, in the dtype of X; None when both are None."""
        if sample_weight is None and self.class_weight is None:
            return None
        weights = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        if self.class_weight is not None:
            if self._y_type == "multilabel-indicator":
                raise ValueError(
                    "class_weight is not supported for multilabel targets; "
                    "pass sample_weight instead."
                )
            weights = weights * compute_sample_weight(self.class_weight, y).astype(
                X.dtype
            )
        return np.ascontiguousarray(weights)

    def _batch_size(self, n_samples):
        if self.batch_size == "full":
            return n_samples
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the number of "
                f"samples ({n_samples}); it is clipped to {n_samples}.",
                stacklevel=4,
            )
        return min(self.batch_size, n_samples)

    def _train(
        self, network, X, Y, y, sample_weight, random_state, incremental, reporter
    ):
        """Run the solver, with BLAS single-threaded around the kernels."""
        solver = "sgd" if self.solver == "lbfgs" else self.solver
        state = getattr(self, "_optimizer_state", None) if incremental else None
        if not isinstance(state, dict) or state.get("solver") != solver:
            # Older models, or another solver since: the optimizer starts anew.
            state = None
        trainer = Trainer(
            network.params,
            *network.shapes[0],
            network.shapes[1][1],
            activation=self.activation,
            out_activation=self.out_activation_,
            loss=self.loss,
            solver=solver,
            alpha=self.alpha,
            learning_rate=self.learning_rate_init,
            momentum=self.momentum,
            nesterov=self.nesterovs_momentum,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            state=state,
        )
        n_threads = effective_n_threads()
        self.n_iter_ = 0
        with single_threaded_blas():
            try:
                if self.solver == "lbfgs":
                    self._run_lbfgs(
                        trainer, network, X, Y, sample_weight, n_threads, reporter
                    )
                else:
                    self._run_epochs(
                        trainer,
                        network,
                        X,
                        Y,
                        y,
                        sample_weight,
                        n_threads,
                        random_state,
                        incremental,
                        reporter,
                    )
            except KeyboardInterrupt:
                warnings.warn("Training interrupted by user.", stacklevel=4)

    def _run_epochs(
        self,
        trainer,
        network,
        X,
        Y,
        y,
        sample_weight,
        n_threads,
        random_state,
        incremental,
        reporter,
    ):
        """The epoch loop: shuffling, schedules, early stopping, loss curve,
        one callback task per epoch."""
        rows = np.arange(X.shape[0])
        validation = None
        if self._uses_early_stopping():
            rows, held_out = self._validation_split(X, y, random_state)
            X_val, Y_val = X[held_out], Y[held_out]
            w_val = None if sample_weight is None else sample_weight[held_out]
            y_val = Y_val.astype(int) if y.ndim > 1 else y[held_out]
            validation = (X_val, Y_val, y_val, w_val)
        batch_size = self._batch_size(rows.shape[0])
        epoch_threads = threads_for_work(
            n_threads, trainer.flops_per_row * batch_size
        )
        best_params = network.params.copy() if validation is not None else None
        # All rows in data order need no gathering: pass no order then.
        order = None if validation is None else rows
        try:
            for _ in range(1 if incremental else self.max_iter):
                if self.shuffle:
                    # What sklearn.utils.shuffle does to an index array,
                    # drawing the same numbers as MLPClassifier does.
                    permutation = np.arange(rows.shape[0])
                    random_state.shuffle(permutation)
                    rows = rows[permutation]
                    order = rows
                reporter.epoch_begins()
                self.loss_ = trainer.run_epoch(
                    X,
                    Y,
                    batch_size=batch_size,
                    n_threads=epoch_threads,
                    sample_weight=sample_weight,
                    order=order,
                )
                self.n_iter_ += 1
                self.t_ += rows.shape[0]
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                if validation is not None and self._score_validation(
                    trainer, network, validation, n_threads
                ):
                    best_params[:] = network.params
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    trainer.learning_rate = (
                        self.learning_rate_init / (self.t_ + 1) ** self.power_t
                    )
                stop = self._stop_for_no_improvement(
                    trainer, validation is not None
                ) or not np.isfinite(self.loss_)
                if reporter.epoch_ends(lambda: _fitted_weights(network)) or stop:
                    break
                if not incremental and self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                        "reached and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=5,
                    )
        finally:
            self._optimizer_state = trainer.optimizer_state()
            if best_params is not None:
                network.params[:] = best_params

    def _validation_split(self, X, y, random_state):
        """Training and validation rows, split as MLPClassifier does
        (stratified unless multilabel); X itself is not copied."""
        if np.ceil(self.validation_fraction * X.shape[0]) < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        stratify = None if self._y_type == "multilabel-indicator" else y
        train, held_out = train_test_split(
            np.arange(X.shape[0]),
            random_state=random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        return train, held_out

    def _score_validation(self, trainer, network, validation, n_threads):
        """Append the validation accuracy and loss; True when the accuracy is
        the best so far (the weights to keep)."""
        X_val, Y_val, y_val, w_val = validation
        self.validation_loss_curve_.append(
            trainer.loss_and_gradient(
                X_val,
                Y_val,
                n_threads=threads_for_work(
                    n_threads, trainer.flops_per_row * X_val.shape[0]
                ),
                sample_weight=w_val,
                gradient=False,
            )
        )
        output = predict_output(
            X_val,
            network.coefs,
            network.intercepts,
            self.activation,
            self.out_activation_,
            threads_for_work(n_threads, forward_flops(X_val.shape[0], network.coefs)),
        )
        score = accuracy_score(
            y_val,
            _labels_from_output(output, self._y_type, self.classes_),
            sample_weight=w_val,
        )
        self.validation_scores_.append(score)
        if self.verbose:
            print(f"Validation score: {score:f}")
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            return True
        return False

    def _run_lbfgs(
        self, trainer, network, X, Y, sample_weight, n_threads, reporter
    ):
        """L-BFGS-B on all the data; ``loss_curve_`` gets each iteration's
        loss (MLPClassifier keeps none for this solver), and each iteration
        is reported to the callbacks as an epoch."""
        stopped_by_callback = False

        def record(intermediate_result):
            nonlocal stopped_by_callback
            reporter.epoch_begins()
            self.n_iter_ += 1
            self.loss_curve_.append(float(intermediate_result.fun))
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_curve_[-1]:.8f}")
            if reporter.epoch_ends(
                lambda: _fitted_weights(network, intermediate_result.x)
            ):
                stopped_by_callback = True
                raise StopIteration

        result = minimize_lbfgs(
            trainer,
            X,
            Y,
            threads_for_work(n_threads, trainer.flops_per_row * X.shape[0]),
            self.max_iter,
            self.max_fun,
            self.tol,
            callback=record,
            sample_weight=sample_weight,
        )
        self.n_iter_ = min(result.nit, self.max_iter)
        self.loss_ = float(result.fun)
        self.best_loss_ = min(self.best_loss_, self.loss_)
        if result.status != 0 and not stopped_by_callback:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"(status={result.status}): {result.message}. Increase the "
                "number of iterations (max_iter) or scale the data.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _stop_for_no_improvement(self, trainer, early_stopping):
        """Count epochs without improvement (of the training loss, or of the
        validation score counted in ``_score_validation``); past
        ``n_iter_no_change`` stop, or with ``learning_rate="adaptive"``
        divide sgd's step by 5 while it is above 1e-6."""
        if not early_stopping:
            if self.loss_ > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_)
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score" if early_stopping else "Training loss"
        message = (
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )
        if self.solver == "sgd" and self.learning_rate == "adaptive":
            if trainer.learning_rate > 1e-6:
                trainer.learning_rate /= 5.0
                self._no_improvement_count = 0
                if self.verbose:
                    print(
                        f"{message} Setting learning rate to {trainer.learning_rate:f}"
                    )
                return False
            if self.verbose:
                print(f"{message} Learning rate too small. Stopping.")
            return True
        if self.verbose:
            print(f"{message} Stopping.")
        return True

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities in the order of ``classes_`` (for multilabel
            targets, each label's probability).
        """
        output = self._output(self._predict_input(X))
        if self._y_type == "binary":
            return np.hstack([1 - output, output])
        if self._y_type == "multilabel-indicator":
            # A saturated logistic rounds to exactly 0 or 1; each label's
            # probability is kept strictly inside (0, 1), as for one class of
            # a multiclass model.
            eps = np.finfo(output.dtype).eps
            np.clip(output, eps, 1 - eps, out=output)
        return output

    def _output(self, X):
        """Output-layer activations for validated X."""
        serial = X.shape[0] <= _SERIAL_PREDICT_ROWS
        n_threads = 1
        if not serial:
            n_threads = threads_for_work(
                effective_n_threads(), forward_flops(X.shape[0], self.coefs_)
            )
        with nullcontext() if serial else single_threaded_blas():
            return predict_output(
                X,
                self.coefs_,
                self.intercepts_,
                self.activation,
                self.out_activation_,
                n_threads,
            )

    def _predict_input(self, X):
        """Validate X for prediction.

        A C-contiguous ndarray of the model's dtype and width, without
        feature names on either side, only needs its values checked; the
        full validation costs more than predicting a few rows.
        """
        coefs = getattr(self, "coefs_", None)
        if (
            type(X) is np.ndarray
            and coefs is not None
            and X.ndim == 2
            and X.dtype == coefs[0].dtype
            and X.flags.c_contiguous
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
            and np.isfinite(X).all()
        ):
            return X
        check_is_fitted(self)
        dtype = self.coefs_[0].dtype
        if dtype not in (np.float32, np.float64):
            dtype = np.float64
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=dtype, order="C", reset=False
        )
        return X.tocsr() if sp.issparse(X) else X

    def predict_log_proba(self, X):
        """Logarithm of the probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict class labels (label indicators for multilabel targets).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
        """
        X = self._predict_input(X)
        return _labels_from_output(self._output(X), self._y_type, self.classes_)

    def __getstate__(self):
        # scikit-learn hands out the instance's own __dict__ for estimators
        # outside its package: copy it before adding to it.
        return {**super().__getstate__(), "_sklearn_twolayer_version": __version__}

    def __setstate__(self, state):
        # scikit-learn warns only for its own estimators; this package's
        # models warn likewise when unpickled by another version of it.
        version = state.pop("_sklearn_twolayer_version", "unknown")
        if version != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_sklearn_version=__version__,
                    original_sklearn_version=version,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags
