"""The estimator core shared by TwoLayerClassifier and TwoLayerRegressor.

Parameter validation, the fit driver (first fit, warm start, partial_fit),
the epoch loop with its schedules, early stopping and callbacks, L-BFGS,
prediction and persistence. What differs between the estimators — how the
targets become the network's outputs, the output activation, the loss
parameter, the validation score — comes from a few hooks the subclasses
define.
"""

import copy
import functools
import types
import warnings
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import (
    ConvergenceWarning,
    InconsistentVersionWarning,
    NotFittedError,
)
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._callbacks import CallbackSupportMixin, EpochReporter
from ._dispatch import trainer as _compiled_trainer
from ._doc_links import DOC_LINK_MODULE, DOC_LINK_TEMPLATE
from ._initialization import initialize_parameters
from ._locks import one_fit_at_a_time
from ._messages import shown
from ._model_checks import FITTED_ATTRIBUTES, check_fitted_model
from ._network import HIDDEN_ACTIVATIONS, Network, forward_flops, predict_output
from ._schedules import (
    adaptive_learning_rate,
    count_stalled_epochs,
    invscaling_learning_rate,
)
from ._targets import refuse_missing_targets
from ._threads import effective_n_threads, single_threaded_blas, threads_for_work
from ._training import minimize_lbfgs
from ._version import __version__

# The trainer of the compiled build this CPU runs.
Trainer = _compiled_trainer.Trainer
_STATE_NAMES = _compiled_trainer._STATE_NAMES

# Up to this many rows, predict runs on the calling thread alone: waking an
# OpenMP team and limiting BLAS would cost more than the products.
_SERIAL_PREDICT_ROWS = 64

# An odd constant with well-mixed bits, to spread seeds apart.
_GOLDEN = 0x9E3779B97F4A7C15


def predicts(method):
    """Decorate a prediction method: it runs on a checked copy of the fitted
    model taken when it is called (see ``BaseTwoLayer._fitted_view``)."""

    @functools.wraps(method)
    def on_fitted_model(estimator, *args, **kwargs):
        return method(estimator._fitted_view(), *args, **kwargs)

    return on_fitted_model


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
        "n_hidden": [Interval(Integral, 1, None, closed="left"), None],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
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
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"glorot_uniform", "uniform"})],
        "scoring": [str, callable, None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    # ------------------------------------------------------------------
    # Parameters
    # ------------------------------------------------------------------

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Every name is checked before any is set: a call that raises changes
        nothing. ``n_hidden`` and ``hidden_layer_sizes`` are two spellings
        of one setting: setting one of them alone resets the other to None,
        so that the value set last is the one fit uses (as in a grid search
        over either).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : object
            This estimator.
        """
        valid = self._get_param_names()
        unknown = [key for key in params if key.partition("__")[0] not in valid]
        if unknown:
            raise ValueError(
                f"Invalid parameter {unknown[0]!r} for estimator {self}. Valid "
                f"parameters are: {valid!r}. Nothing was changed."
            )
        for given, other in _SPELLINGS_OF_N_HIDDEN:
            if given in params and other not in params:
                params[other] = None
        return super().set_params(**params)

    @property
    def _optimizer(self):
        """The optimizer of the last fit as MLPClassifier's ``_optimizer``
        shows it: its ``learning_rate`` (the step size it ended with, after
        the schedule). Only after an sgd or adam fit that ran to its end."""
        state = vars(self).get("_optimizer_state")
        if state is None:
            raise AttributeError(
                f"{type(self).__name__} has no optimizer state: it was not "
                "fitted, or last fitted by lbfgs or interrupted."
            )
        return types.SimpleNamespace(learning_rate=state["learning_rate"])

    def _hidden_units(self):
        """The number of hidden units that ``n_hidden`` and
        ``hidden_layer_sizes`` ask for (100 when both are None), or a
        ValueError when they ask for something this network cannot be."""
        sizes = self.hidden_layer_sizes
        if sizes is None:
            return 100 if self.n_hidden is None else int(self.n_hidden)
        if isinstance(sizes, (Integral, np.integer)):
            layers = [sizes]
        else:
            layers = list(sizes)
        given = shown(sizes)
        if len(layers) != 1:
            example = shown(layers[0]) if layers else 100
            raise ValueError(
                f"{type(self).__name__} has one hidden layer, but "
                f"hidden_layer_sizes={given} asks for {len(layers)}. Give "
                f"the number of hidden units as n_hidden (e.g. n_hidden="
                f"{example}) or as hidden_layer_sizes=({example},)."
            )
        units = layers[0]
        if (
            isinstance(units, (bool, np.bool_))
            or not isinstance(units, (Integral, np.integer))
            or units < 1
        ):
            raise ValueError(
                f"hidden_layer_sizes must be > 0, got {given}. It is the "
                "number of hidden units, a positive int (or a tuple of one)."
            )
        units = int(units)
        if self.n_hidden is not None and int(self.n_hidden) != units:
            raise ValueError(
                f"n_hidden={shown(self.n_hidden)} and hidden_layer_sizes="
                f"{given} ask for different numbers of hidden units; give one "
                "of them (hidden_layer_sizes is MLPClassifier's name for "
                "n_hidden)."
            )
        return units

    # ------------------------------------------------------------------
    # The fit driver
    # ------------------------------------------------------------------

    def _validate_params(self):
        super()._validate_params()
        # bool is an Integral to Python, never a count or a size here.
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) and any(
                isinstance(c, Interval) and c.type is Integral for c in constraints
            ):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be "
                    f"an int, not a bool. Got {shown(value)} instead."
                )

    @one_fit_at_a_time
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
        """Fit a draft, a copy of this estimator, and commit its fitted
        attributes all at once, only when it succeeds: a call that raises
        (or is interrupted before an epoch finished) leaves this estimator
        as it was, and a concurrent ``predict`` sees the old model or the
        new one, never a mix."""
        draft, before = self._draft()
        reporter = draft._fit_draft(
            X, y, sample_weight, incremental, classes, validation, callbacks_of=self
        )
        self._commit(draft, before)
        reporter.fit_ends()
        return self

    def _draft(self):
        """A copy of this estimator to fit: the same parameters and fitted
        attributes, with copies of what fitting changes in place (the lists
        of the records, a RandomState). Returns the draft and the attributes
        this estimator has now."""
        before = dict(vars(self))
        draft = object.__new__(type(self))
        vars(draft).update(before)
        for key, value in before.items():
            if key.endswith("_") and isinstance(value, list):
                setattr(draft, key, list(value))
        if isinstance(self.random_state, np.random.RandomState):
            draft.random_state = copy.deepcopy(self.random_state)
        return draft, before

    def _commit(self, draft, before):
        """Move what the draft's fit set into this estimator in one step."""
        parameters = self._get_param_names()
        fitted = {
            key: value
            for key, value in vars(draft).items()
            if key not in parameters and before.get(key, _MISSING) is not value
        }
        # The replaced values stay referenced until the update is done, so
        # freeing them runs no code in the middle of it.
        replaced = dict(vars(self))
        vars(self).update(fitted)
        del replaced
        if isinstance(self.random_state, np.random.RandomState):
            # The caller's RandomState advances as with any scikit-learn fit,
            # but only by a fit that succeeded.
            self.random_state.set_state(draft.random_state.get_state())

    def _fit_draft(
        self, X, y, sample_weight, incremental, classes, validation, callbacks_of
    ):
        """Fit this draft; ``validation`` is ``(X_val, y_val,
        sample_weight_val)`` as given to ``fit``, or None to split the
        validation set off X for early stopping; ``callbacks_of`` is the live
        estimator, which the callbacks see. Returns the epoch reporter, to
        close after commit."""
        if self.dropout > 0 and self.solver == "lbfgs":
            raise ValueError(
                "dropout is not supported by solver='lbfgs': its line search "
                "needs a deterministic loss. Use solver='adam' or 'sgd', or "
                "dropout=0."
            )
        n_hidden = self._hidden_units()
        # A model fitted before (by this package: it records the fitted
        # activation) keeps its targets on warm start and partial_fit;
        # weights set by hand on an unfitted estimator are trained from,
        # with targets read anew, as MLPClassifier does.
        fitted_before = hasattr(self, "hidden_activation_")
        restart = not self.warm_start and not incremental
        first_pass = not fitted_before or restart
        new_weights = not hasattr(self, "coefs_") or restart
        refuse_missing_targets(y)
        with np.errstate(over="ignore"):
            # Values too large for float32 are refused by the finiteness
            # check that follows the cast; the cast's own warning is noise.
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

        # Prediction reads the fitted activation, never the parameter, so
        # that set_params after fit changes nothing until the next fit.
        self.hidden_activation_ = self.activation
        self.n_layers_ = 3
        if new_weights:
            network = Network(X.shape[1], n_hidden, Y.shape[1], X.dtype)
        else:
            network = self._continued_network(X.dtype)
        if network.coefs[0].shape[1] != n_hidden:
            raise ValueError(
                f"Training continues from coefs_ with "
                f"{network.coefs[0].shape[1]} hidden units, but n_hidden="
                f"{n_hidden}; fit with warm_start=False to start anew."
            )
        random_state = check_random_state(self.random_state)
        if new_weights:
            initialize_parameters(
                network.coefs,
                network.intercepts,
                self.init,
                self.activation,
                random_state,
            )
        if first_pass:
            self.t_ = 0
            self.loss_curve_ = []
        # A warm start may switch early stopping on or off. (Models pickled
        # before fits without it recorded None have no validation_scores_.)
        validation_history = getattr(self, "validation_scores_", None)
        if first_pass or (validation_history is None) == self._uses_early_stopping():
            self._start_stopping_records()

        reporter = EpochReporter(
            callbacks_of, X, y, sample_weight, 1 if incremental else self.max_iter
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

        if not incremental:
            self._warn_if_worse_than_constant(Y, sample_weight)
        if (
            not np.isfinite(network.params).all()
            or not np.isfinite(self.loss_)
            or network.outputs_may_overflow(X, self.activation)
        ):
            raise ValueError(f"{_NON_FINITE_WEIGHTS} {_DIVERGENCE_REMEDY}")
        self.coefs_ = network.coefs
        self.intercepts_ = network.intercepts
        return reporter

    def _constant_loss(self, Y, sample_weight):
        """The loss of the best constant prediction of Y, or None where it is
        not worked out (the subclasses know their losses)."""
        return None

    def _warn_if_worse_than_constant(self, Y, sample_weight):
        """Warn when a fit of some length ends with a training loss well
        above that of the best constant prediction (the class frequencies,
        the mean): the model learned nothing, as when the features are
        unscaled by many orders of magnitude and the steps of adam jump
        over everything."""
        if self.n_iter_ < _EPOCHS_BEFORE_CONSTANT_CHECK or not np.isfinite(
            self.loss_
        ):
            return
        constant = self._constant_loss(Y, sample_weight)
        # A constant target (loss 0) is fitted by any model; far above the
        # divergence check has warned already.
        if (
            constant is None
            or constant <= 0
            or not _CONSTANT_MARGIN * constant
            < self.loss_
            <= _DIVERGENCE_GROWTH * max(constant, 1.0)
        ):
            return
        warnings.warn(
            f"Training ended with a loss of {self.loss_:.4g}, more than "
            f"{_CONSTANT_MARGIN} times the {constant:.4g} of the best constant "
            f"prediction: the model is worse than one. {_DIVERGENCE_REMEDY}",
            ConvergenceWarning,
            stacklevel=7,
        )

    def _continued_network(self, dtype):
        """The current weights, checked and packed in ``dtype``, to train on."""
        check_fitted_model(self)
        try:
            with np.errstate(over="raise"):
                return Network.from_arrays(self.coefs_, self.intercepts_, dtype)
        except FloatingPointError:
            raise ValueError(
                f"The model's weights exceed the range of {np.dtype(dtype)}, "
                "the dtype of X: fit on float64 data, or with "
                "warm_start=False to start anew."
            ) from None

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
                stacklevel=9,
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
        """Run the solver, then measure the result against a constant
        model, with BLAS single-threaded around the kernels.

        Ctrl-C keeps what the finished epochs (iterations) made, as
        MLPClassifier does; before the first one finished it propagates.
        """
        solver = "sgd" if self.solver == "lbfgs" else self.solver
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
            state=self._state_to_continue(solver, network) if incremental else None,
        )
        # Only an epoch loop that ran to its end leaves an optimizer state
        # for partial_fit to continue; after lbfgs or Ctrl-C it starts anew.
        self._optimizer_state = None
        n_threads = effective_n_threads()
        self.n_iter_ = 0
        finished = [None]  # the _Checkpoint of the last finished epoch
        with single_threaded_blas():
            try:
                if self.solver == "lbfgs":
                    self._run_lbfgs(
                        trainer,
                        network,
                        X,
                        Y,
                        sample_weight,
                        n_threads,
                        reporter,
                        finished,
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
                        finished,
                        validation,
                    )
            except KeyboardInterrupt:
                if finished[0] is None:
                    raise
                finished[0].restore(self, network)
                self._optimizer_state = None
                warnings.warn("Training interrupted by user.", stacklevel=7)
            self._warn_if_no_better_than_constant(
                trainer, X, Y, sample_weight, n_threads
            )

    def _warn_if_no_better_than_constant(self, trainer, X, Y, sample_weight, n_threads):
        """Warn when the model ends far worse than one with all weights
        zero (a constant prediction, as the loss of the first rows shows):
        training ran away without diverging, e.g. on unscaled features.
        Runs, as training does, with BLAS on one thread."""
        if not np.isfinite(self.loss_) or self.loss_ <= 1.0:
            # The warning needs a loss above 1 (see below): an ordinary fit
            # or partial_fit call pays for no extra pass over the data.
            return
        n_rows = min(X.shape[0], _CONSTANT_MODEL_ROWS)
        rows = slice(0, n_rows)
        weights = trainer.params.copy()
        try:
            trainer.params[:] = 0
            constant_loss = trainer.loss_and_gradient(
                X[rows],
                Y[rows],
                n_threads=threads_for_work(n_threads, trainer.flops_per_row * n_rows),
                sample_weight=None if sample_weight is None else sample_weight[rows],
                gradient=False,
            )
        finally:
            trainer.params[:] = weights
        if self.loss_ > max(_DIVERGENCE_GROWTH * constant_loss, 1.0):
            warnings.warn(
                f"Training ended with a loss of {self.loss_:.4g}, orders of "
                f"magnitude above that of a constant prediction "
                f"({constant_loss:.4g}): the model is of no use. "
                f"{_DIVERGENCE_REMEDY}",
                ConvergenceWarning,
                stacklevel=8,
            )

    def _state_to_continue(self, solver, network):
        """The optimizer state of the last fit if it fits this one (solver,
        number of parameters, finite values), else None: the optimizer then
        starts anew. The arrays are copied (and cast) by the trainer."""
        state = getattr(self, "_optimizer_state", None)
        if not _is_optimizer_state(state, solver, network.params.shape[0]):
            return None
        if state.get("learning_rate_init") != self.learning_rate_init:
            # learning_rate_init was changed since: its schedule starts anew.
            state = {**state, "learning_rate": self.learning_rate_init}
        return state

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
        finished,
        validation=None,
    ):
        """The epoch loop: shuffling, schedules, early stopping, loss curve,
        divergence, one callback task per epoch; ``finished[0]`` gets a
        checkpoint after each epoch. ``validation``: a checked validation set
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
        # With early stopping: the weights of the best validation score (a
        # new array each time, so that checkpoints may share it) and their
        # epoch's loss.
        best_params = network.params.copy() if validation is not None else None
        best_params_loss = getattr(self, "loss_", np.nan)
        first_loss = None
        for _ in range(1 if incremental else self.max_iter):
            if self.shuffle:
                # What sklearn.utils.shuffle does to an index array,
                # drawing the same numbers as MLPClassifier does.
                permutation = np.arange(rows.shape[0])
                random_state.shuffle(permutation)
                rows = rows[permutation]
                order = rows
            reporter.epoch_begins()
            loss = trainer.run_epoch(
                X,
                Y,
                batch_size=batch_size,
                n_threads=epoch_threads,
                sample_weight=sample_weight,
                order=order,
            )
            self.loss_ = loss
            self.n_iter_ += 1
            self.t_ += rows.shape[0]
            self.loss_curve_.append(loss)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
            if first_loss is None:
                first_loss = loss
            if _diverged(loss, first_loss):
                # Raises unless early stopping has finite weights to keep.
                self._report_divergence(loss, first_loss, validation is not None)
                self.loss_ = best_params_loss
                break
            if validation is not None and self._score_validation(
                trainer, network, validation, n_threads, scorer
            ):
                best_params = network.params.copy()
                best_params_loss = loss
            if self.solver == "sgd" and self.learning_rate == "invscaling":
                trainer.learning_rate = invscaling_learning_rate(
                    self.learning_rate_init, self.t_, self.power_t
                )
            stop = self._stop_for_no_improvement(trainer, validation is not None)
            finished[0] = _Checkpoint(
                self, network.params.copy() if best_params is None else best_params
            )
            if reporter.epoch_ends(lambda: self._model_at(network)) or stop:
                break
            if not incremental and self.n_iter_ == self.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                    "reached and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=8,
                )
        if best_params is not None:
            network.params[:] = best_params
        state = trainer.optimizer_state()
        state["learning_rate_init"] = self.learning_rate_init
        self._optimizer_state = state

    def _model_at(self, network, params=None):
        """The fitted attributes of the model with weights ``params``
        (default: the network's current ones) at
        this point of the fit: the callbacks build it on the live estimator,
        which has none of them yet, or older ones."""
        parameters = self._get_param_names()
        attributes = {
            key: value for key, value in vars(self).items() if key not in parameters
        }
        return {**attributes, **network.fitted_weights(params)}

    def _report_divergence(self, loss, first_loss, early_stopping):
        """Raise a ValueError naming the cause and the remedy, or, with early
        stopping and a validation score to go back to, warn."""
        if np.isfinite(loss):
            cause = (
                f"Training diverged: the loss grew from {first_loss:.4g} to "
                f"{loss:.4g} by epoch {self.n_iter_}."
            )
        else:
            cause = (
                f"{_NON_FINITE_WEIGHTS} The loss became {loss} at epoch "
                f"{self.n_iter_}; training diverged."
            )
        if early_stopping and np.isfinite(self.best_validation_score_):
            warnings.warn(
                f"{cause} The weights of the best validation score are kept. "
                f"{_DIVERGENCE_REMEDY}",
                ConvergenceWarning,
                stacklevel=9,
            )
            return
        raise ValueError(f"{cause} {_DIVERGENCE_REMEDY}")

    def _validation_split(self, X, y, random_state):
        """Training and validation rows, split as MLPClassifier and
        MLPRegressor do; X itself is not copied."""
        stratify = self._stratify(y)
        # As MLPClassifier: a class too rare to stratify by is named first.
        if np.ceil(self.validation_fraction * X.shape[0]) < 2 and (
            stratify is None or _smallest_class_size(stratify) >= 2
        ):
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        try:
            train, held_out = train_test_split(
                np.arange(X.shape[0]),
                random_state=random_state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
        except ValueError as error:
            if stratify is None:
                raise
            raise ValueError(
                f"{str(error).rstrip('.')}. early_stopping=True holds out "
                f"validation_fraction={self.validation_fraction} of the "
                "samples, stratified by class, which these targets do not "
                f"allow{_rare_classes(y)}. "
                "Provide more samples of the rare classes, change "
                "validation_fraction, or set early_stopping=False."
            ) from error
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
        """``scorer`` of the model as it stands after this epoch: a copy of
        the estimator holding the current weights (the estimator itself
        keeps its attributes until the fit ends)."""
        snapshot = object.__new__(type(self))
        vars(snapshot).update(vars(self))
        vars(snapshot).update(self._model_at(network))
        if w_val is None:
            return float(scorer(snapshot, X_val, y_val))
        return float(scorer(snapshot, X_val, y_val, sample_weight=w_val))

    def _run_lbfgs(
        self, trainer, network, X, Y, sample_weight, n_threads, reporter, finished
    ):
        """L-BFGS-B on all the data; ``loss_curve_`` gets each iteration's
        loss (MLPClassifier keeps none for this solver), each iteration is
        reported to the callbacks as an epoch, and ``finished[0]`` gets a
        checkpoint after each."""
        stopped_by_callback = False

        def record(intermediate_result):
            nonlocal stopped_by_callback
            reporter.epoch_begins()
            self.n_iter_ += 1
            self.loss_ = float(intermediate_result.fun)
            self.loss_curve_.append(self.loss_)
            self.best_loss_ = min(self.best_loss_, self.loss_)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
            with np.errstate(over="ignore"):
                params = intermediate_result.x.astype(network.dtype)
            finished[0] = _Checkpoint(self, params)
            if reporter.epoch_ends(lambda: self._model_at(network, params)):
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
                stacklevel=8,
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

    def _fitted_view(self):
        """This estimator's fitted model, checked, as a copy taken in one
        step: a fit committing meanwhile does not change it."""
        view = object.__new__(type(self))
        vars(view).update(vars(self))
        check_fitted_model(view, owner=self)
        return view

    def _outputs_of_targets(self):
        """The number of output units the fitted targets need, when more
        than ``n_outputs_`` says it (checked against the weights)."""
        return None

    def _output(self, X, check_finite=False):
        """Output-layer activations for X: validated, or with
        ``check_finite`` of the right dtype, layout and width with its values
        checked in the same pass (see ``predict_output``)."""
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
                self.hidden_activation_,
                self.out_activation_,
                n_threads,
                check_finite,
            )

    def _predict_output(self, X):
        """Output-layer activations for X as given to a predict method.

        A C-contiguous ndarray of the model's dtype and width, without
        feature names on either side, goes straight to the compiled pass,
        which checks its values for NaN and infinity block by block while
        they are in cache: the full validation costs more than predicting a
        few rows, and a pass over X of its own a tenth of predicting many.
        Anything else, and an X with a value that is not finite, is
        validated in full (which raises the error).
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
        ):
            output = self._output(X, check_finite=True)
            if output is not None:
                return output
        return self._output(self._validated_input(X))

    def _validated_input(self, X):
        """X validated for prediction, as scikit-learn validates it."""
        check_is_fitted(self)
        dtype = self.coefs_[0].dtype
        if dtype not in (np.float32, np.float64):
            dtype = np.float64
        with np.errstate(over="ignore"):
            # Values beyond float32 are refused after the cast, by name.
            X = validate_data(
                self,
                X,
                accept_sparse=["csr", "csc"],
                dtype=dtype,
                order="C",
                reset=False,
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
        if "coefs_" in state and "hidden_activation_" not in state:
            # Models saved before the fitted activation was recorded were
            # fitted with the activation parameter they carry.
            self.hidden_activation_ = state.get("activation")
        if "hidden_layer_sizes" not in state:
            # Saved before MLPClassifier's spelling of n_hidden was a
            # parameter (n_layers_ came with it).
            self.hidden_layer_sizes = None
            if "coefs_" in state:
                self.n_layers_ = 3
        if any(name in state for name in FITTED_ATTRIBUTES):
            # A damaged or edited file is refused here, by name, rather than
            # predicting garbage later.
            try:
                check_fitted_model(self)
            except NotFittedError as error:
                raise ValueError(
                    f"Invalid {type(self).__name__} model: {error}"
                ) from None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_MISSING = object()

#: The two names of the number of hidden units, each with the other.
_SPELLINGS_OF_N_HIDDEN = (
    ("n_hidden", "hidden_layer_sizes"),
    ("hidden_layer_sizes", "n_hidden"),
)

#: Rows on which the loss of a constant prediction is estimated.
_CONSTANT_MODEL_ROWS = 1000

#: Epochs a fit runs before its loss is compared with a constant prediction's.
_EPOCHS_BEFORE_CONSTANT_CHECK = 10

#: A loss this many times the best constant prediction's is warned of.
_CONSTANT_MARGIN = 2

#: A loss this many times its first epoch's (in one call) has diverged.
_DIVERGENCE_GROWTH = 1e4

#: MLPClassifier's words for weights that are no longer finite.
_NON_FINITE_WEIGHTS = (
    "Solver produced non-finite parameter weights. The input data may contain "
    "large values and need to be preprocessed."
)

_DIVERGENCE_REMEDY = (
    "Lower learning_rate_init, or scale the features (e.g. with "
    "sklearn.preprocessing.StandardScaler)."
)


def _smallest_class_size(stratify):
    """The number of samples of the rarest class (or row of a 2-d
    ``stratify``)."""
    if stratify.ndim == 1:
        return np.unique(stratify, return_counts=True)[1].min()
    return np.unique(stratify, axis=0, return_counts=True)[1].min()


def _rare_classes(y):
    """`` (y has a single sample of the class ...)``, naming the classes of
    a 1-d ``y`` that have one sample as they were given; empty otherwise."""
    if y.ndim != 1:
        return ""
    labels, counts = np.unique(y, return_counts=True)
    rare = labels[counts < 2]
    if rare.shape[0] == 0:
        return ""
    what = "class" if rare.shape[0] == 1 else "classes"
    return f" (y has a single sample of the {what} {', '.join(map(shown, rare))})"


def _diverged(loss, first_loss):
    """Whether an epoch's loss shows divergence: non-finite, or grown by
    orders of magnitude over the first epoch of the call (and above 1, so
    that the noise of a loss near zero is not taken for it)."""
    return not np.isfinite(loss) or loss > max(_DIVERGENCE_GROWTH * first_loss, 1.0)


def _is_optimizer_state(state, solver, n_params):
    """Whether ``state`` is an optimizer state of ``solver`` for
    ``n_params`` parameters, with finite values."""
    if not isinstance(state, dict) or state.get("solver") != solver:
        return False
    steps, learning_rate = state.get("steps"), state.get("learning_rate")
    if (
        isinstance(steps, (bool, np.bool_))
        or not isinstance(steps, (Integral, np.integer))
        or steps < 0
        or isinstance(learning_rate, (bool, np.bool_))
        or not isinstance(learning_rate, Real)
        or not 0 < learning_rate < np.inf
    ):
        return False
    for name in _STATE_NAMES[solver]:
        array = state.get(name)
        if not (
            isinstance(array, np.ndarray)
            and array.shape == (n_params,)
            and array.dtype in (np.float32, np.float64)
            and np.isfinite(array).all()
        ):
            return False
    return True


class _Checkpoint:
    """A fit's records after a finished epoch, and the weights to keep,
    to go back to when it is interrupted."""

    _SCALARS = (
        "n_iter_",
        "t_",
        "loss_",
        "best_loss_",
        "best_validation_score_",
        "_no_improvement_count",
    )
    _CURVES = ("loss_curve_", "validation_scores_", "validation_loss_curve_")

    def __init__(self, estimator, params):
        self.params = params
        self.scalars = {
            name: getattr(estimator, name)
            for name in self._SCALARS
            if hasattr(estimator, name)
        }
        self.lengths = {
            name: len(getattr(estimator, name))
            for name in self._CURVES
            if getattr(estimator, name, None) is not None
        }

    def restore(self, estimator, network):
        for name, value in self.scalars.items():
            setattr(estimator, name, value)
        for name, length in self.lengths.items():
            del getattr(estimator, name)[length:]
        network.params[:] = self.params
