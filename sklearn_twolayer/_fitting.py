"""One fit, from checked data to trained weights.

The estimator validates its input, builds the network and commits the
result; a :class:`Fit`, made once per call of ``fit`` or ``partial_fit``,
runs the training in between, as scikit-learn's ``TreeGrower`` holds the
state of one tree being grown. It owns the compiled trainer, the data, the
learning-rate schedule, the stopping rules, early stopping's validation
scores, the divergence checks and the checkpoint that a Ctrl-C goes back
to, and runs either the epochs of sgd/adam or L-BFGS. What it learns about
the fit (``n_iter_``, ``loss_``, ``loss_curve_``, ...) it records on the
model it trains, a draft that the estimator commits when the fit succeeds.
"""

import math
import time
import weakref
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split

from ._dispatch import trainer as _compiled_trainer
from ._messages import shown
from ._network import forward_flops, predict_output
from ._progress import report_iteration, report_message, warn_user
from ._schedules import (
    adaptive_learning_rate,
    count_stalled_epochs,
    invscaling_learning_rate,
)
from ._threads import (
    EpochTeam,
    at_most_threads,
    effective_n_threads,
    single_threaded_blas,
    threads_for_work,
)

# The trainer of the compiled build this CPU runs.
Trainer = _compiled_trainer.Trainer
_STATE_NAMES = _compiled_trainer._STATE_NAMES

#: Rows on which the loss of a constant prediction is estimated.
_CONSTANT_MODEL_ROWS = 1000

#: A loss this many times its first epoch's (in one call) has diverged.
_DIVERGENCE_GROWTH = 1e4

#: Epochs a fit runs before its loss is compared with a constant prediction's.
_EPOCHS_BEFORE_CONSTANT_CHECK = 10

#: A loss this many times the best constant prediction's is warned of.
_CONSTANT_MARGIN = 2

#: MLPClassifier's words for weights that are no longer finite.
NON_FINITE_WEIGHTS = (
    "Solver produced non-finite parameter weights. The input data may contain "
    "large values and need to be preprocessed."
)

#: What to do about a fit that diverged or ran away.
DIVERGENCE_REMEDY = (
    "Lower learning_rate_init, or scale the features (e.g. with "
    "sklearn.preprocessing.StandardScaler)."
)

# An odd constant with well-mixed bits, to spread seeds apart.
_GOLDEN = 0x9E3779B97F4A7C15

# The epochs' team of each estimator's last call (see Fit._epoch_team).
_EPOCH_TEAMS = weakref.WeakKeyDictionary()


@dataclass
class TrainingData:
    """The checked data of one fit.

    X : ndarray or CSR matrix; Y : the network's targets (encoded y);
    y : the targets as given (validation scores read them);
    largest_row_sum : max_i sum_j |X[i, j]|, which bounds the outputs;
    sample_weight : ndarray or None;
    validation : ``(X_val, Y_val, y_val, sample_weight_val)`` given to fit,
    or None (early stopping then holds out part of X).
    """

    X: object
    Y: np.ndarray
    y: np.ndarray
    largest_row_sum: float
    sample_weight: object = None
    validation: object = None


class Fit:
    """Training of ``model``'s ``network`` on ``data``.

    Parameters
    ----------
    model : BaseTwoLayer
        The draft being fitted: its parameters say how to train, and its
        records (``n_iter_``, ``loss_curve_``, ...) are written as training
        goes.
    network : Network
        The weights, trained in place.
    data : TrainingData
    random_state : numpy.random.RandomState
    incremental : bool
        One epoch of ``partial_fit`` instead of a whole fit.
    reporter : EpochReporter
        The callbacks of the fit.
    owner : BaseTwoLayer or None, default=None
        The estimator whose call this is (``model`` is its draft): its
        calls of ``partial_fit`` go on with the threads of the call before.
    """

    def __init__(
        self, model, network, data, random_state, incremental, reporter, owner=None
    ):
        self.model = model
        self.owner = owner
        self.network = network
        self.data = data
        self.random_state = random_state
        self.incremental = incremental
        self.reporter = reporter
        self.n_threads = effective_n_threads()
        # The checkpoint of the last finished epoch (iteration), if any.
        self.finished = None
        self.trainer = self._make_trainer()

    def _make_trainer(self):
        model, network = self.model, self.network
        solver = "sgd" if model.solver == "lbfgs" else model.solver
        state = None
        if self.incremental:
            state = self._state_to_continue(solver)
        return Trainer(
            network.params,
            *network.shapes[0],
            network.shapes[1][1],
            activation=model.activation,
            out_activation=model.out_activation_,
            loss=model.loss,
            loss_parameter=model._loss_parameter(),
            solver=solver,
            alpha=model.alpha,
            learning_rate=model.learning_rate_init,
            momentum=model.momentum,
            nesterov=model.nesterovs_momentum,
            beta_1=model.beta_1,
            beta_2=model.beta_2,
            epsilon=model.epsilon,
            dropout=model.dropout,
            dropout_seed=self._dropout_seed(),
            state=state,
        )

    def _state_to_continue(self, solver):
        """The optimizer state of the last fit if it fits this one (solver,
        number of parameters, finite values), else None: the optimizer then
        starts anew. The arrays are copied (and cast) by the trainer."""
        model = self.model
        state = getattr(model, "_optimizer_state", None)
        if not _is_optimizer_state(state, solver, self.network.params.shape[0]):
            return None
        if state.get("learning_rate_init") != model.learning_rate_init:
            # learning_rate_init was changed since: its schedule starts anew.
            state = {**state, "learning_rate": model.learning_rate_init}
        return state

    def _dropout_seed(self):
        """Seed of this call's dropout masks, drawn from the random state
        (only with dropout, so that fits without it draw as before); the
        samples seen so far are mixed in, so that a warm start draws new
        masks."""
        if self.model.dropout == 0:
            return 0
        seed = int(self.random_state.randint(2**63))
        return (seed + self.model.t_ * _GOLDEN) % 2**64

    def _threads_for_rows(self, n_rows):
        """Threads for a pass of the trainer over ``n_rows`` rows."""
        return threads_for_work(self.n_threads, self.trainer.flops_per_row * n_rows)

    # ------------------------------------------------------------------
    # The run
    # ------------------------------------------------------------------

    def run(self):
        """Run the solver, then measure the result against a constant
        model, with BLAS single-threaded around the kernels.

        Ctrl-C keeps what the finished epochs (iterations) made, as
        MLPClassifier does; before the first one finished it propagates.
        """
        model = self.model
        # Only an epoch loop that ran to its end leaves an optimizer state
        # for partial_fit to continue; after lbfgs or Ctrl-C it starts anew.
        model._optimizer_state = None
        model.n_iter_ = 0
        with single_threaded_blas():
            try:
                if model.solver == "lbfgs":
                    self._run_lbfgs()
                else:
                    self._run_epochs()
            except KeyboardInterrupt:
                if self.finished is None:
                    raise
                self.finished.restore(model, self.network)
                model._optimizer_state = None
                warn_user("Training interrupted by user.")
            self._warn_if_no_better_than_constant()
        if not self.incremental:
            self._warn_if_worse_than_constant()

    def _run_epochs(self):
        """The epoch loop: shuffling, schedules, early stopping, loss curve,
        divergence, one callback task per epoch, a checkpoint after each."""
        model, network, trainer, data = (
            self.model, self.network, self.trainer, self.data
        )
        X, Y = data.X, data.Y
        rows = np.arange(X.shape[0])
        # All rows in data order need no gathering: pass no order then.
        order = None
        validation = data.validation
        if validation is None and model._uses_early_stopping():
            rows, held_out = self._validation_split()
            order = rows
            w_val = None if data.sample_weight is None else data.sample_weight[held_out]
            validation = (
                X[held_out],
                Y[held_out],
                model._validation_targets(data.y, Y, held_out),
                w_val,
            )
        batch_size = _batch_size(model.batch_size, rows.shape[0])
        team = self._epoch_team(self._threads_for_rows(batch_size))
        scorer = None
        if validation is not None and model.scoring not in (None, "loss"):
            scorer = check_scoring(model, scoring=model.scoring)
        # With early stopping: the weights of the best validation score (a
        # new array each time, so that checkpoints may share it) and their
        # epoch's loss.
        best_params = network.params.copy() if validation is not None else None
        best_params_loss = getattr(model, "loss_", np.nan)
        first_loss = None
        for _ in range(1 if self.incremental else model.max_iter):
            if model.shuffle:
                # The draws of sklearn.utils.shuffle, as MLPClassifier makes
                # them each epoch; shuffling the rows (this fit's own array)
                # in place permutes them as its index array would.
                self.random_state.shuffle(rows)
                order = rows
            self.reporter.epoch_begins()
            loss = self._on_team(
                team,
                trainer.run_epoch,
                X=X,
                Y=Y,
                batch_size=batch_size,
                sample_weight=data.sample_weight,
                order=order,
            )
            model.loss_ = loss
            model.n_iter_ += 1
            model.t_ += rows.shape[0]
            model.loss_curve_.append(loss)
            report_iteration(model, model.n_iter_, loss)
            if first_loss is None:
                first_loss = loss
            if _diverged(loss, first_loss):
                # Raises unless early stopping has finite weights to keep.
                self._report_divergence(loss, first_loss, validation is not None)
                model.loss_ = best_params_loss
                break
            if validation is not None and self._score_validation(
                validation, scorer, team.threads
            ):
                best_params = network.params.copy()
                best_params_loss = loss
            if model.solver == "sgd" and model.learning_rate == "invscaling":
                trainer.learning_rate = invscaling_learning_rate(
                    model.learning_rate_init, model.t_, model.power_t
                )
            stop = self._stop_for_no_improvement(validation is not None)
            self.finished = _Checkpoint(
                model, network.params.copy() if best_params is None else best_params
            )
            if self.reporter.epoch_ends(self._model_at) or stop:
                break
            if not self.incremental and model.n_iter_ == model.max_iter:
                warn_user(
                    f"Stochastic Optimizer: Maximum iterations ({model.max_iter}) "
                    "reached and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                )
        if best_params is not None:
            network.params[:] = best_params
        state = trainer.optimizer_state()
        state["learning_rate_init"] = model.learning_rate_init
        model._optimizer_state = state

    def _on_team(self, team, run, **arguments):
        """``run(n_threads=..., **arguments)``, the trainer's ``run_epoch``
        or ``loss_and_gradient``, on the threads ``team`` has now; the team
        takes note of the cores they got (the seconds each thread had its
        core, over the pass's wall time)."""
        threads = team.threads
        if team.full == 1:
            return run(n_threads=threads, **arguments)
        core_seconds = np.zeros(threads)
        started = time.perf_counter()
        result = run(n_threads=threads, core_seconds=core_seconds, **arguments)
        team.epoch_ran(
            self.trainer.last_team, time.perf_counter() - started, core_seconds
        )
        return result

    def _epoch_team(self, n_threads):
        """The team of this call's epochs. A call of ``partial_fit`` runs
        one epoch, too few to see contention twice in a row, so it goes on
        with the team of the estimator's call before (when that chose as
        many threads); a fit starts its own. The teams are kept beside the
        estimators, not in them: they tell how busy this machine's cores
        were, which a saved model should not carry."""
        team = _EPOCH_TEAMS.get(self.owner) if self.incremental else None
        if team is None or team.full != n_threads:
            team = EpochTeam(n_threads)
        if self.owner is not None:
            _EPOCH_TEAMS[self.owner] = team
        return team

    def _run_lbfgs(self):
        """L-BFGS-B on all the data, by scipy, on the trainer's loss and
        gradient (computed in the dtype of X, in chunks; only the
        optimizer's own vectors are float64). ``loss_curve_`` gets each
        iteration's loss (MLPClassifier keeps none for this solver), each
        iteration is reported to the callbacks as an epoch and leaves a
        checkpoint."""
        model, network, trainer, data = (
            self.model, self.network, self.trainer, self.data
        )
        # Each evaluation is a pass over all the data: its team follows the
        # cores it gets, as the epochs of sgd and adam do.
        team = EpochTeam(self._threads_for_rows(data.X.shape[0]))
        params = trainer.params
        stopped_by_callback = False

        def loss_and_gradient(x):
            params[:] = x
            loss = self._on_team(
                team,
                trainer.loss_and_gradient,
                X=data.X,
                Y=data.Y,
                sample_weight=data.sample_weight,
            )
            return loss, trainer.grads.astype(np.float64)

        def record(intermediate_result):
            nonlocal stopped_by_callback
            self.reporter.epoch_begins()
            model.n_iter_ += 1
            model.loss_ = float(intermediate_result.fun)
            model.loss_curve_.append(model.loss_)
            model.best_loss_ = min(model.best_loss_, model.loss_)
            report_iteration(model, model.n_iter_, model.loss_)
            with np.errstate(over="ignore"):
                iterate = intermediate_result.x.astype(network.dtype)
            self.finished = _Checkpoint(model, iterate)
            if self.reporter.epoch_ends(lambda: self._model_at(iterate)):
                stopped_by_callback = True
                raise StopIteration

        result = minimize(
            loss_and_gradient,
            params.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            callback=record,
            options={
                "maxfun": model.max_fun,
                "maxiter": model.max_iter,
                "gtol": model.tol,
            },
        )
        params[:] = result.x
        model.n_iter_ = min(result.nit, model.max_iter)
        model.loss_ = float(result.fun)
        model.best_loss_ = min(model.best_loss_, model.loss_)
        if result.status != 0 and not stopped_by_callback:
            warn_user(
                f"lbfgs failed to converge after {model.n_iter_} iteration(s) "
                f"(status={result.status}): {result.message}. Increase the "
                "number of iterations (max_iter) or scale the data.",
                ConvergenceWarning,
            )

    # ------------------------------------------------------------------
    # Stopping, validation and divergence
    # ------------------------------------------------------------------

    def _validation_split(self):
        """Training and validation rows, split as MLPClassifier and
        MLPRegressor do; X itself is not copied."""
        model, n_samples = self.model, self.data.X.shape[0]
        stratify = model._stratify(self.data.y)
        # As MLPClassifier: a class too rare to stratify by is named first.
        if np.ceil(model.validation_fraction * n_samples) < 2 and (
            stratify is None or _smallest_class_size(stratify) >= 2
        ):
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        try:
            train, held_out = train_test_split(
                np.arange(n_samples),
                random_state=self.random_state,
                test_size=model.validation_fraction,
                stratify=stratify,
            )
        except ValueError as error:
            if stratify is None:
                raise
            raise ValueError(
                f"{str(error).rstrip('.')}. early_stopping=True holds out "
                f"validation_fraction={model.validation_fraction} of the "
                "samples, stratified by class, which these targets do not "
                f"allow{_rare_classes(self.data.y)}. "
                "Provide more samples of the rare classes, change "
                "validation_fraction, or set early_stopping=False."
            ) from error
        return train, held_out

    def _score_validation(self, validation, scorer, max_threads):
        """Append the validation score and loss; True when the score is the
        best so far (the weights to keep).

        The score is ``scorer``'s, the negated validation loss with
        ``scoring="loss"``, or by default the estimator's own
        (``_validation_score``: accuracy, R²). Its passes take at most
        ``max_threads``, the epochs' team: no more than get their cores;
        so do the model's predictions that a scorer asks for.
        """
        model, network = self.model, self.network
        X_val, Y_val, y_val, w_val = validation
        loss = self.trainer.loss_and_gradient(
            X_val,
            Y_val,
            n_threads=min(self._threads_for_rows(X_val.shape[0]), max_threads),
            sample_weight=w_val,
            gradient=False,
        )
        model.validation_loss_curve_.append(loss)
        if model.scoring == "loss":
            score = -loss
        elif scorer is not None:
            with at_most_threads(max_threads):
                score = self._score_snapshot(scorer, X_val, y_val, w_val)
        else:
            output = predict_output(
                X_val,
                network.coefs,
                network.intercepts,
                model.activation,
                model.out_activation_,
                threads_for_work(
                    min(self.n_threads, max_threads),
                    forward_flops(X_val.shape[0], network.coefs),
                ),
            )
            score = model._validation_score(y_val, output, w_val)
        model.validation_scores_.append(score)
        report_message(model, f"Validation score: {score:f}")
        model._no_improvement_count = count_stalled_epochs(
            model._no_improvement_count, score - model.best_validation_score_, model.tol
        )
        if score > model.best_validation_score_:
            model.best_validation_score_ = score
            return True
        return False

    def _score_snapshot(self, scorer, X_val, y_val, w_val):
        """``scorer`` of the model as it stands after this epoch: a copy of
        the estimator holding the current weights (the estimator itself
        keeps its attributes until the fit ends)."""
        snapshot = object.__new__(type(self.model))
        vars(snapshot).update(vars(self.model))
        vars(snapshot).update(self._model_at())
        if w_val is None:
            return float(scorer(snapshot, X_val, y_val))
        return float(scorer(snapshot, X_val, y_val, sample_weight=w_val))

    def _stop_for_no_improvement(self, early_stopping):
        """Count epochs without improvement (of the training loss, or of the
        validation score counted in ``_score_validation``); past
        ``n_iter_no_change`` stop, or with ``learning_rate="adaptive"``
        divide sgd's step by 5 while it is above 1e-6."""
        model = self.model
        if not early_stopping:
            model._no_improvement_count = count_stalled_epochs(
                model._no_improvement_count, model.best_loss_ - model.loss_, model.tol
            )
            model.best_loss_ = min(model.best_loss_, model.loss_)
        if model._no_improvement_count <= model.n_iter_no_change:
            return False
        what = "Validation score" if early_stopping else "Training loss"
        message = (
            f"{what} did not improve more than tol={model.tol:f} for "
            f"{model.n_iter_no_change} consecutive epochs."
        )
        if model.solver == "sgd" and model.learning_rate == "adaptive":
            learning_rate = adaptive_learning_rate(self.trainer.learning_rate)
            if learning_rate is not None:
                self.trainer.learning_rate = learning_rate
                model._no_improvement_count = 0
                report_message(
                    model, f"{message} Setting learning rate to {learning_rate:f}"
                )
                return False
            report_message(model, f"{message} Learning rate too small. Stopping.")
            return True
        report_message(model, f"{message} Stopping.")
        return True

    def _report_divergence(self, loss, first_loss, early_stopping):
        """Raise a ValueError naming the cause and the remedy, or, with early
        stopping and a validation score to go back to, warn."""
        model = self.model
        if np.isfinite(loss):
            cause = (
                f"Training diverged: the loss grew from {first_loss:.4g} to "
                f"{loss:.4g} by epoch {model.n_iter_}."
            )
        else:
            cause = (
                f"{NON_FINITE_WEIGHTS} The loss became {loss} at epoch "
                f"{model.n_iter_}; training diverged."
            )
        if early_stopping and np.isfinite(model.best_validation_score_):
            warn_user(
                f"{cause} The weights of the best validation score are kept. "
                f"{DIVERGENCE_REMEDY}",
                ConvergenceWarning,
            )
            return
        raise ValueError(f"{cause} {DIVERGENCE_REMEDY}")

    def _warn_if_no_better_than_constant(self):
        """Warn when the model ends far worse than one with all weights
        zero (a constant prediction, as the loss of the first rows shows):
        training ran away without diverging, e.g. on unscaled features.
        Runs, as training does, with BLAS on one thread."""
        model, trainer, data = self.model, self.trainer, self.data
        if not np.isfinite(model.loss_) or model.loss_ <= 1.0:
            # The warning needs a loss above 1 (see below): an ordinary fit
            # or partial_fit call pays for no extra pass over the data.
            return
        n_rows = min(data.X.shape[0], _CONSTANT_MODEL_ROWS)
        rows = slice(0, n_rows)
        weights = trainer.params.copy()
        try:
            trainer.params[:] = 0
            constant_loss = trainer.loss_and_gradient(
                data.X[rows],
                data.Y[rows],
                n_threads=self._threads_for_rows(n_rows),
                sample_weight=(
                    None if data.sample_weight is None else data.sample_weight[rows]
                ),
                gradient=False,
            )
        finally:
            trainer.params[:] = weights
        if model.loss_ > max(_DIVERGENCE_GROWTH * constant_loss, 1.0):
            warn_user(
                f"Training ended with a loss of {model.loss_:.4g}, orders of "
                f"magnitude above that of a constant prediction "
                f"({constant_loss:.4g}): the model is of no use. "
                f"{DIVERGENCE_REMEDY}",
                ConvergenceWarning,
            )

    def _warn_if_worse_than_constant(self):
        """Warn when a fit of some length ends with a training loss well
        above that of the best constant prediction (the class frequencies,
        the mean): the model learned nothing, as when the features are
        unscaled by many orders of magnitude and the steps of adam jump
        over everything."""
        model = self.model
        if model.n_iter_ < _EPOCHS_BEFORE_CONSTANT_CHECK or not np.isfinite(
            model.loss_
        ):
            return
        constant = model._constant_loss(self.data.Y, self.data.sample_weight)
        # A constant target (loss 0) is fitted by any model; far above the
        # divergence check has warned already.
        if (
            constant is None
            or constant <= 0
            or not _CONSTANT_MARGIN * constant
            < model.loss_
            <= _DIVERGENCE_GROWTH * max(constant, 1.0)
        ):
            return
        warn_user(
            f"Training ended with a loss of {model.loss_:.4g}, more than "
            f"{_CONSTANT_MARGIN} times the {constant:.4g} of the best constant "
            f"prediction: the model is worse than one. {DIVERGENCE_REMEDY}",
            ConvergenceWarning,
        )

    def _model_at(self, params=None):
        """The fitted attributes of the model with weights ``params``
        (default: the network's current ones) at this point of the fit: the
        callbacks build it on the live estimator, which has none of them
        yet, or older ones."""
        model = self.model
        parameters = model._get_param_names()
        attributes = {
            key: value for key, value in vars(model).items() if key not in parameters
        }
        return {**attributes, **self.network.fitted_weights(params)}


def start_stopping_records(model):
    """Fresh records for the stopping rule of a fit: the validation history
    with early stopping, the best training loss without."""
    model._no_improvement_count = 0
    if model._uses_early_stopping():
        model.best_loss_ = None
        model.validation_scores_ = []
        model.validation_loss_curve_ = []
        model.best_validation_score_ = -np.inf
    else:
        model.best_loss_ = np.inf
        model.validation_scores_ = None
        model.validation_loss_curve_ = None
        model.best_validation_score_ = None


def _batch_size(batch_size, n_samples):
    """The rows of a minibatch, from the ``batch_size`` parameter."""
    if batch_size == "full":
        return n_samples
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warn_user(
            f"batch_size={batch_size} is larger than the number of "
            f"samples ({n_samples}); it is clipped to {n_samples}."
        )
    return min(batch_size, n_samples)


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
    # math, not numpy: a call of numpy's ufunc on one float costs a
    # microsecond, at every epoch.
    return not math.isfinite(loss) or loss > max(
        _DIVERGENCE_GROWTH * first_loss, 1.0
    )


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

    def __init__(self, model, params):
        self.params = params
        self.scalars = {
            name: getattr(model, name) for name in self._SCALARS if hasattr(model, name)
        }
        self.lengths = {
            name: len(getattr(model, name))
            for name in self._CURVES
            if getattr(model, name, None) is not None
        }

    def restore(self, model, network):
        for name, value in self.scalars.items():
            setattr(model, name, value)
        for name, length in self.lengths.items():
            del getattr(model, name)[length:]
        network.params[:] = self.params
