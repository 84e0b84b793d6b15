"""The estimator core shared by TwoLayerClassifier and TwoLayerRegressor.

Parameter validation, the fit driver (first fit, warm start, partial_fit:
the data checked, the network set up, the result committed in one step;
the training itself is a ``_fitting.Fit``), prediction, transform and
persistence. What differs between the estimators — how the
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
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import (
    InconsistentVersionWarning,
    NotFittedError,
)
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
from ._doc_links import DOC_LINK_MODULE, DOC_LINK_TEMPLATE
from ._fitting import (
    DIVERGENCE_REMEDY,
    NON_FINITE_WEIGHTS,
    Fit,
    TrainingData,
    start_stopping_records,
)
from ._initialization import initialize_parameters
from ._locks import one_fit_at_a_time
from ._messages import shown
from ._model_checks import FITTED_ATTRIBUTES, check_fitted_model
from ._network import (
    Network,
    checked_largest_row_sum,
    forward_flops,
    hidden_output,
    predict_output,
)
from ._registry import HIDDEN_ACTIVATIONS
from ._targets import refuse_missing_targets
from ._threads import effective_n_threads, single_threaded_blas, threads_for_work
from ._version import __version__

# Up to this many rows, predict runs on the calling thread alone: waking an
# OpenMP team and limiting BLAS would cost more than the products.
_SERIAL_PREDICT_ROWS = 64


def predicts(method):
    """Decorate a prediction method: it runs on a checked copy of the fitted
    model taken when it is called (see ``BaseTwoLayer._fitted_view``)."""

    @functools.wraps(method)
    def on_fitted_model(estimator, *args, **kwargs):
        return method(estimator._fitted_view(), *args, **kwargs)

    return on_fitted_model


class BaseTwoLayer(
    CallbackSupportMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Two-layer network estimator core. Do not use directly.

    Besides predicting, a fitted network transforms: ``transform`` gives the
    hidden layer's activations, as new features (``TransformerMixin`` adds
    ``fit_transform`` and ``set_output``, ``ClassNamePrefixFeaturesOutMixin``
    their names).

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
        network, data, random_state = draft._prepare_fit(
            X, y, sample_weight, incremental, classes, validation
        )
        # The callbacks see the live estimator, not the draft.
        reporter = EpochReporter(
            self,
            data.X,
            data.y,
            data.sample_weight,
            1 if incremental else self.max_iter,
        )
        Fit(
            draft, network, data, random_state, incremental, reporter, owner=self
        ).run()
        draft._keep_weights(network, data)
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

    def _prepare_fit(self, X, y, sample_weight, incremental, classes, validation):
        """Check the data and set this draft up for training: its network
        (new, initialised, or the weights to continue from), the fit's
        records and random state. ``validation`` is ``(X_val, y_val,
        sample_weight_val)`` as given to ``fit``, or None to split the
        validation set off X for early stopping.

        Returns
        -------
        network : Network
        data : TrainingData
        random_state : numpy.random.RandomState
        """
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
                ensure_all_finite=False,
                multi_output=True,
                y_numeric=self._numeric_targets,
                reset=first_pass,
            )
        if sp.issparse(X):
            # Rows are what batches take: CSC is converted once, to CSR.
            X = X.tocsr()
        # The finiteness check, in the pass that also gives the bound on the
        # outputs checked after training.
        largest_row_sum = checked_largest_row_sum(X, type(self).__name__)
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
            start_stopping_records(self)
        data = TrainingData(X, Y, y, largest_row_sum, sample_weight, validation)
        return network, data, random_state

    def _keep_weights(self, network, data):
        """Take the trained weights as the model's, once they are checked
        to be finite and to keep the outputs on the training data finite."""
        if (
            not np.isfinite(network.params).all()
            or not np.isfinite(self.loss_)
            or network.outputs_may_overflow(data.largest_row_sum, self.activation)
        ):
            raise ValueError(f"{NON_FINITE_WEIGHTS} {DIVERGENCE_REMEDY}")
        self.coefs_ = network.coefs
        self.intercepts_ = network.intercepts

    def _constant_loss(self, Y, sample_weight):
        """The loss of the best constant prediction of Y, or None where it is
        not worked out (the subclasses know their losses)."""
        return None

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

    def _partial_fit_checks(self):
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")

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

    def _forward_pass(self, X, hidden_only, check_finite=False):
        """The compiled forward pass of the fitted model over X: the output
        layer's activations, or with ``hidden_only`` the hidden layer's.
        X is validated, or with ``check_finite`` of the right dtype, layout
        and width with its values checked in the same pass (None then says
        a value is not finite; see ``predict_output``). The thread count
        follows the work of the layers computed."""
        layers = self.coefs_[:1] if hidden_only else self.coefs_
        serial = X.shape[0] <= _SERIAL_PREDICT_ROWS
        n_threads = 1
        if not serial:
            n_threads = threads_for_work(
                effective_n_threads(), forward_flops(X.shape[0], layers)
            )
        with nullcontext() if serial else single_threaded_blas():
            if hidden_only:
                return hidden_output(
                    X,
                    self.coefs_,
                    self.intercepts_,
                    self.hidden_activation_,
                    n_threads,
                    check_finite,
                )
            return predict_output(
                X,
                self.coefs_,
                self.intercepts_,
                self.hidden_activation_,
                self.out_activation_,
                n_threads,
                check_finite,
            )

    def _predict_output(self, X, hidden_only=False):
        """Output-layer activations (with ``hidden_only``, the hidden
        layer's) for X as given to a predict or transform method.

        A C-contiguous ndarray of the model's dtype and width, without
        feature names on either side, goes straight to the compiled pass,
        which checks its values for NaN and infinity block by block while
        they are in cache: the full validation costs more than predicting a
        few rows, and a pass over X of its own a tenth of predicting many.
        Anything else, and an X with a value that is not finite, is
        validated in full (which raises the error).
        """
        if self._needs_no_validation(X):
            output = self._forward_pass(X, hidden_only, check_finite=True)
            if output is not None:
                return output
        return self._forward_pass(self._validated_input(X), hidden_only)

    def _needs_no_validation(self, X):
        """Whether X is a C-contiguous ndarray of the model's dtype and
        width, without feature names on either side: what the compiled
        passes take as it is, once its values are checked."""
        coefs = getattr(self, "coefs_", None)
        return (
            type(X) is np.ndarray
            and coefs is not None
            and X.ndim == 2
            and X.dtype == coefs[0].dtype
            and X.flags.c_contiguous
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        )

    @predicts
    def transform(self, X):
        """Hidden-layer activations: the features the network learned.

        ``g(X @ coefs_[0] + intercepts_[0])``, with ``g`` the activation of
        the fitted model (``hidden_activation_``), computed by the compiled
        forward pass without dropout (which acts only while training). A
        ``TwoLayerRegressor`` fitted on ``(X, X)`` is an autoencoder, and
        this gives the codes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Dense, or sparse CSR or CSC.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_hidden)
            The hidden activations, in the dtype of the weights (float32
            stays float32).
        """
        return self._predict_output(X, hidden_only=True)

    @property
    def _n_features_out(self):
        """Features ``transform`` outputs: the hidden units of the fitted
        model (read by ``get_feature_names_out``)."""
        return self.coefs_[0].shape[1]

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
        # transform computes in the dtype of the weights, which is X's.
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


_MISSING = object()

#: The two names of the number of hidden units, each with the other.
_SPELLINGS_OF_N_HIDDEN = (
    ("n_hidden", "hidden_layer_sizes"),
    ("hidden_layer_sizes", "n_hidden"),
)
