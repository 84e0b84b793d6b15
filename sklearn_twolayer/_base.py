"""The estimator core shared by TwoLayerClassifier and TwoLayerRegressor.

Parameter validation, the fit driver (first fit, warm start, partial_fit),
the epoch loop with its schedules, early stopping and callbacks, L-BFGS,
prediction and persistence. What differs between the estimators — how the
targets become the network's outputs, the output activation, the loss
parameter, the validation score — comes from a few hooks the subclasses
define.
"""

import copy
import warnings
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._callbacks import CallbackSupportMixin, EpochReporter
from ._doc_links import DOC_LINK_MODULE, DOC_LINK_TEMPLATE
from ._initialization import initialize_parameters
from ._network import HIDDEN_ACTIVATIONS, Network, forward_flops, predict_output
from ._schedules import (
    adaptive_learning_rate,
    count_stalled_epochs,
    invscaling_learning_rate,
)
from ._threads import effective_n_threads, single_threaded_blas, threads_for_work
from ._trainer import Trainer
from ._training import minimize_lbfgs
from ._version import __version__

# Up to this many rows, predict runs on the calling thread alone: waking an
# OpenMP team and limiting BLAS would cost more than the products.
_SERIAL_PREDICT_ROWS = 64

# An odd constant with well-mixed bits, to spread seeds apart.
_GOLDEN = 0x9E3779B97F4A7C15


class BaseTwoLayer(CallbackSupportMixin, BaseEstimator):
    """Two-layer network estimator core. Do not use directly.

    Subclasses set ``out_activation_`` and encode the targets in
    ``_encode_targets``, and define ``_loss_parameter``,
    ``_validation_targets``, ``_validation_score`` and ``_stratify``.
    """

    #: Whether fit asks for numeric targets (validate_data's y_numeric).
    _numeric_targets = False

    # The "?" link of the HTML representation: the estimator's API page.
    _doc_link_module = DOC_LINK_MODULE
    _doc_link_template = DOC_LINK_TEMPLATE

    _parameter_constraints: dict = {
        "n_hidden": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"sgd", "adam", "lbfgs"})],
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
        "scoring": [str, callable, None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    # ------------------------------------------------------------------
    # The fit driver
    # ------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Fit the network to data X and targets y.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data. float32 data is trained in float32.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels or a multilabel indicator matrix (classifier);
            target values (regressor).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights: each batch's loss is ``sum(w * loss) /
            sum(w)`` and its L2 term ``alpha * ||W||^2 / (2 * sum(w))``.

        X_val : array-like or sparse matrix of shape (n_val, n_features), \
                default=None
            A validation set for early stopping, used instead of holding out
            ``validation_fraction`` of X (all of X is then trained on).
            Needs ``early_stopping=True`` and ``y_val``. In a ``Pipeline``,
            have it transformed like X with ``Pipeline(...,
            transform_input=["X_val"])`` and request it with
            ``set_fit_request(X_val=True, y_val=True)`` (metadata routing).

        y_val : array-like of shape (n_val,) or (n_val, n_outputs), \
                default=None
            Targets of ``X_val``.

        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation samples, in the validation loss and
            score.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        validation = None
        if X_val is not None or y_val is not None:
            validation = (X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight, incremental=False, validation=validation)

    def _fit(self, X, y, sample_weight, incremental, classes=None, validation=None):
        """Fit (or continue fitting) on X and y.

        ``validation`` is ``(X_val, y_val, sample_weight_val)`` as given to
        ``fit``, or None to split the validation set off X for early
        stopping.
        """
        if self.dropout > 0 and self.solver == "lbfgs":
            raise ValueError(
                "dropout is not supported by solver='lbfgs': its line search "
                "needs a deterministic loss. Use solver='adam' or 'sgd', or "
                "dropout=0."
            )
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
            y_numeric=self._numeric_targets,
            reset=first_pass,
        )
        if sp.issparse(X):
            # Rows are what batches take: CSC is converted once, to CSR.
            X = X.tocsr()
        y, Y = self._encode_targets(y, X.dtype, first_pass, incremental, classes)
        sample_weight = self._sample_weight(sample_weight, X, y)
        if validation is not None:
            validation = self._check_validation_set(*validation, dtype=X.dtype)

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
            network,
            X,
            Y,
            y,
            sample_weight,
            random_state,
            incremental,
            reporter,
            validation,
        )

        if (
            not np.isfinite(network.params).all()
            or not np.isfinite(self.loss_)
            or network.outputs_may_overflow(X, self.activation)
        ):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data "
                "may contain large values and need to be preprocessed."
            )
        self.coefs_ = network.coefs
        self.intercepts_ = network.intercepts
        reporter.fit_ends()
        return self

    def _check_validation_set(self, X_val, y_val, sample_weight_val, dtype):
        """Validate a validation set given to fit, as the training data;
        returns ``(X_val, Y_val, y_val, sample_weight_val)``."""
        if X_val is None or y_val is None:
            given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
            raise ValueError(f"{given} is provided, but {missing} was not provided.")
        if not self.early_stopping:
            raise ValueError(
                "X_val and y_val are passed to fit, but early_stopping=False: "
                "the validation set is only used for early stopping. Set "
                "early_stopping=True."
            )
        if self.solver == "lbfgs":
            raise ValueError(
                "X_val and y_val are passed to fit, but solver='lbfgs' does not "
                "use a validation set; use solver='sgd' or 'adam'."
            )
        X_val = validate_data(
            self,
            X_val,
            accept_sparse=["csr", "csc"],
            dtype=dtype,
            order="C",
            reset=False,
        )
        if sp.issparse(X_val):
            X_val = X_val.tocsr()
        check_consistent_length(X_val, y_val)
        y_val, Y_val = self._encode_validation_targets(np.asarray(y_val), dtype)
        if sample_weight_val is not None:
            sample_weight_val = np.ascontiguousarray(
                _check_sample_weight(
                    sample_weight_val, X_val, dtype=dtype, ensure_non_negative=True
                )
            )
        return X_val, Y_val, y_val, sample_weight_val

    def _dropout_seed(self, random_state):
        """Seed of this call's dropout masks, drawn from ``random_state``
        (only with dropout, so that fits without it draw as before); the
        samples seen so far are mixed in, so that a warm start draws new
        masks."""
        if self.dropout == 0:
            return 0
        return (int(random_state.randint(2**63)) + self.t_ * _GOLDEN) % 2**64

    def _partial_fit_checks(self):
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")

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

    def _sample_weight(self, sample_weight, X, y):
        """Per-sample weights in the dtype of X, or None."""
        if sample_weight is None:
            return None
        weights = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
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

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------

    def _train(
        self,
        network,
        X,
        Y,
        y,
        sample_weight,
        random_state,
        incremental,
        reporter,
        validation=None,
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
            loss_parameter=self._loss_parameter(),
            solver=solver,
            alpha=self.alpha,
            learning_rate=self.learning_rate_init,
            momentum=self.momentum,
            nesterov=self.nesterovs_momentum,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            dropout=self.dropout,
            dropout_seed=self._dropout_seed(random_state),
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
                        validation,
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
        validation=None,
    ):
        """The epoch loop: shuffling, schedules, early stopping, loss curve,
        one callback task per epoch. ``validation``: a checked validation set
        given to fit (``_check_validation_set``), or None."""
        rows = np.arange(X.shape[0])
        # All rows in data order need no gathering: pass no order then.
        order = None
        if validation is None and self._uses_early_stopping():
            rows, held_out = self._validation_split(X, y, random_state)
            order = rows
            X_val, Y_val = X[held_out], Y[held_out]
            w_val = None if sample_weight is None else sample_weight[held_out]
            validation = (X_val, Y_val, self._validation_targets(y, Y, held_out), w_val)
        batch_size = self._batch_size(rows.shape[0])
        epoch_threads = threads_for_work(n_threads, trainer.flops_per_row * batch_size)
        scorer = None
        if validation is not None and self.scoring not in (None, "loss"):
            scorer = check_scoring(self, scoring=self.scoring)
        best_params = network.params.copy() if validation is not None else None
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
                    trainer, network, validation, n_threads, scorer
                ):
                    best_params[:] = network.params
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    trainer.learning_rate = invscaling_learning_rate(
                        self.learning_rate_init, self.t_, self.power_t
                    )
                stop = self._stop_for_no_improvement(
                    trainer, validation is not None
                ) or not np.isfinite(self.loss_)
                if reporter.epoch_ends(lambda: network.fitted_weights()) or stop:
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
        """Training and validation rows, split as MLPClassifier and
        MLPRegressor do; X itself is not copied."""
        if np.ceil(self.validation_fraction * X.shape[0]) < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        train, held_out = train_test_split(
            np.arange(X.shape[0]),
            random_state=random_state,
            test_size=self.validation_fraction,
            stratify=self._stratify(y),
        )
        return train, held_out

    def _score_validation(self, trainer, network, validation, n_threads, scorer):
        """Append the validation score and loss; True when the score is the
        best so far (the weights to keep).

        The score is ``scorer``'s, the negated validation loss with
        ``scoring="loss"``, or by default the estimator's own
        (``_validation_score``: accuracy, R²).
        """
        X_val, Y_val, y_val, w_val = validation
        loss = trainer.loss_and_gradient(
            X_val,
            Y_val,
            n_threads=threads_for_work(
                n_threads, trainer.flops_per_row * X_val.shape[0]
            ),
            sample_weight=w_val,
            gradient=False,
        )
        self.validation_loss_curve_.append(loss)
        if self.scoring == "loss":
            score = -loss
        elif scorer is not None:
            score = self._score_snapshot(scorer, network, X_val, y_val, w_val)
        else:
            output = predict_output(
                X_val,
                network.coefs,
                network.intercepts,
                self.activation,
                self.out_activation_,
                threads_for_work(
                    n_threads, forward_flops(X_val.shape[0], network.coefs)
                ),
            )
            score = self._validation_score(y_val, output, w_val)
        self.validation_scores_.append(score)
        if self.verbose:
            print(f"Validation score: {score:f}")
        self._no_improvement_count = count_stalled_epochs(
            self._no_improvement_count, score - self.best_validation_score_, self.tol
        )
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            return True
        return False

    def _score_snapshot(self, scorer, network, X_val, y_val, w_val):
        """``scorer`` of the model as it stands after this epoch: a shallow
        copy of the estimator holding the current weights (the estimator
        itself keeps its attributes until the fit ends)."""
        snapshot = copy.copy(self)
        vars(snapshot).update(network.fitted_weights())
        if w_val is None:
            return float(scorer(snapshot, X_val, y_val))
        return float(scorer(snapshot, X_val, y_val, sample_weight=w_val))

    def _run_lbfgs(self, trainer, network, X, Y, sample_weight, n_threads, reporter):
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
                lambda: network.fitted_weights(intermediate_result.x)
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
            self._no_improvement_count = count_stalled_epochs(
                self._no_improvement_count, self.best_loss_ - self.loss_, self.tol
            )
            self.best_loss_ = min(self.best_loss_, self.loss_)
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score" if early_stopping else "Training loss"
        message = (
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )
        if self.solver == "sgd" and self.learning_rate == "adaptive":
            learning_rate = adaptive_learning_rate(trainer.learning_rate)
            if learning_rate is not None:
                trainer.learning_rate = learning_rate
                self._no_improvement_count = 0
                if self.verbose:
                    print(f"{message} Setting learning rate to {learning_rate:f}")
                return False
            if self.verbose:
                print(f"{message} Learning rate too small. Stopping.")
            return True
        if self.verbose:
            print(f"{message} Stopping.")
        return True

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

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

    # ------------------------------------------------------------------
    # Persistence and tags
    # ------------------------------------------------------------------

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
        return tags
