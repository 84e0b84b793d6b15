"""Faults a model must survive: calls that fail, Ctrl-C, forked children,
threads sharing one estimator, damaged files, diverging runs, stale optimizer
state, and arguments scikit-learn refuses. Both estimators, one shared core."""

import copy
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor, _base, _fitting
from sklearn_twolayer._fitting import Trainer

X_CLS, Y_CLS = make_classification(
    n_samples=150, n_features=6, n_informative=4, n_classes=3, random_state=0
)
X_REG, Y_REG = make_regression(n_samples=150, n_features=6, noise=0.1, random_state=0)
Y_REG = Y_REG / 100
KINDS = ["classifier", "regressor"]


def data(kind):
    return (X_CLS, Y_CLS) if kind == "classifier" else (X_REG, Y_REG)


def make(kind, **params):
    Estimator = TwoLayerClassifier if kind == "classifier" else TwoLayerRegressor
    return Estimator(**{"n_hidden": 8, "max_iter": 5, "random_state": 0, **params})


def quietly(method, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return method(*args, **kwargs)


def fitted(kind, **params):
    X, y = data(kind)
    return quietly(make(kind, **params).fit, X, y)


def prediction(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return estimator.predict(X)


def assert_same(a, b, where="model"):
    """Bit-for-bit equality of attribute values (arrays, lists, dicts,
    RandomState, NaN-aware floats)."""
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b)):
            assert_same(u, v, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, np.random.RandomState):
        assert_same(a.get_state(legacy=False), b.get_state(legacy=False), where)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


# ----------------------------------------------------------------------
# Atomic calls
# ----------------------------------------------------------------------


def _wider(X):
    return np.hstack([X, X[:, :2]])


FAILING_CALLS = {
    # A new width, then targets refused: the width was already taken.
    "fit-new-width-bad-targets": lambda est, X, y: (
        est.fit(_wider(X), np.linspace(0, 1, len(y)))
        if is_classifier(est)
        else est.set_params(loss="poisson").fit(_wider(X), -np.abs(y))
    ),
    # New labels (or targets), then divergence.
    "fit-then-divergence": lambda est, X, y: est.set_params(
        learning_rate_init=1e12, max_iter=10
    ).fit(X, y + 10 if is_classifier(est) else 1e3 * y),
    "partial_fit-divergence": lambda est, X, y: est.partial_fit(X * 1e200, y),
    # A fresh fit of new data whose validation split then fails.
    "set_params-then-fit": lambda est, X, y: est.set_params(
        early_stopping=True, validation_fraction=0.005
    ).fit(_wider(X), y + 10 if is_classifier(est) else 2 * y),
    "set_params-new-width-warm-start": lambda est, X, y: est.set_params(
        warm_start=True, n_hidden=3
    ).fit(X, y),
}


@pytest.mark.parametrize("case", sorted(FAILING_CALLS))
@pytest.mark.parametrize("kind", KINDS)
def test_a_failing_call_leaves_the_fitted_model_as_it_was(kind, case):
    X, y = data(kind)
    est = fitted(kind, solver="sgd")
    quietly(est.partial_fit, X, y)  # an optimizer state, too
    before, predicted = copy.deepcopy(vars(est)), prediction(est, X)
    parameters = est.get_params()
    with pytest.raises(ValueError), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        FAILING_CALLS[case](est, X, y)
    after = {k: v for k, v in vars(est).items() if k not in parameters}
    assert_same(after, {k: v for k, v in before.items() if k not in parameters})
    est.set_params(**parameters)
    np.testing.assert_array_equal(prediction(est, X), predicted)


@pytest.mark.parametrize("kind", KINDS)
def test_a_failed_first_fit_leaves_an_unfitted_estimator(kind):
    X, y = data(kind)
    est = make(kind, loss="poisson") if kind == "regressor" else make(kind)
    with pytest.raises(ValueError):
        est.fit(X, np.linspace(0, 1, len(y)) if kind == "classifier" else -np.abs(y))
    for method in ("predict", "score"):
        with pytest.raises(NotFittedError):
            getattr(est, method)(X, y) if method == "score" else est.predict(X)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("missing", ["coefs_", "intercepts_", "n_outputs_"])
def test_a_half_fitted_model_is_not_fitted(kind, missing):
    X, _ = data(kind)
    est = fitted(kind)
    delattr(est, missing)
    with pytest.raises(NotFittedError):
        est.predict(X)


# ----------------------------------------------------------------------
# Ctrl-C
# ----------------------------------------------------------------------


def interrupting_trainer(method, at_call):
    """A Trainer whose ``method`` raises KeyboardInterrupt on its
    ``at_call``-th call (as Ctrl-C there would)."""
    calls = []

    class Interrupted(Trainer):
        pass

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == at_call:
            raise KeyboardInterrupt
        return getattr(Trainer, method)(self, *args, **kwargs)

    setattr(Interrupted, method, interrupted)
    return Interrupted


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("refit", [False, True])
def test_ctrl_c_in_the_first_epoch_raises_and_keeps_the_earlier_model(
    kind, refit, monkeypatch
):
    X, y = data(kind)
    est = fitted(kind) if refit else make(kind)
    before = copy.deepcopy(vars(est))
    monkeypatch.setattr(_fitting, "Trainer", interrupting_trainer("run_epoch", 1))
    with pytest.raises(KeyboardInterrupt):
        est.fit(X[::-1], y[::-1])
    assert_same(vars(est), before)
    if not refit:
        with pytest.raises(NotFittedError):
            est.predict(X)


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_in_partial_fit_raises_and_keeps_the_model(kind, monkeypatch):
    X, y = data(kind)
    est = fitted(kind, solver="adam")
    quietly(est.partial_fit, X, y)
    before = copy.deepcopy(vars(est))
    monkeypatch.setattr(_fitting, "Trainer", interrupting_trainer("run_epoch", 1))
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(X, y)
    assert_same(vars(est), before)


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_during_lbfgs_keeps_the_finished_iterations(
    assert_same_weights, kind, monkeypatch
):
    X, y = data(kind)
    reference = fitted(kind, solver="lbfgs", max_iter=3)
    # The first evaluation is the starting point; iterations need one or more.
    monkeypatch.setattr(
        _fitting, "Trainer", interrupting_trainer("loss_and_gradient", 8)
    )
    with pytest.warns(UserWarning, match="interrupted"):
        interrupted = quietly(make(kind, solver="lbfgs", max_iter=50).fit, X, y)
    monkeypatch.undo()
    n_iter = interrupted.n_iter_
    assert 1 <= n_iter == len(interrupted.loss_curve_)
    reference = fitted(kind, solver="lbfgs", max_iter=n_iter)
    assert_same_weights(interrupted, reference)
    assert interrupted.loss_ == reference.loss_curve_[-1]


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_during_lbfgs_first_iteration_raises(kind, monkeypatch):
    X, y = data(kind)
    monkeypatch.setattr(
        _fitting, "Trainer", interrupting_trainer("loss_and_gradient", 1)
    )
    est = make(kind, solver="lbfgs")
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.predict(X)


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_during_early_stopping_keeps_the_best_finished_epoch(
    assert_same_weights, kind, monkeypatch
):
    X, y = data(kind)
    params = dict(early_stopping=True, max_iter=4, n_hidden=8)
    # The validation loss is computed once per epoch: interrupt the fourth.
    monkeypatch.setattr(
        _fitting, "Trainer", interrupting_trainer("loss_and_gradient", 4)
    )
    with pytest.warns(UserWarning, match="interrupted"):
        interrupted = quietly(make(kind, **params).fit, X, y)
    monkeypatch.undo()
    reference = fitted(kind, **{**params, "max_iter": 3})
    assert interrupted.n_iter_ == 3
    assert_same_weights(interrupted, reference)
    assert interrupted.validation_scores_ == reference.validation_scores_


def _interrupt_at_line(k, call):
    """Run ``call`` with Ctrl-C raised at the ``k``-th line the shared core
    and the fit object execute; returns the exception or None. (Not in
    ``with lock:`` lines elsewhere: an exception raised as a ``with``
    block's exit begins skips ``__exit__`` in any Python code.)"""
    core = {_base.__file__, _fitting.__file__}
    count = [0]

    def tracer(frame, event, arg):
        if frame.f_code.co_filename not in core:
            return None
        if event == "line":
            count[0] += 1
            if count[0] == k:
                raise KeyboardInterrupt
        return tracer

    sys.settrace(tracer)
    try:
        call()
    except KeyboardInterrupt as error:
        return error
    finally:
        sys.settrace(None)
    return None


@pytest.mark.parametrize(
    "kind, params",
    [
        ("classifier", dict(solver="sgd")),
        ("regressor", dict(solver="adam", early_stopping=True)),
    ],
)
def test_ctrl_c_at_any_line_keeps_a_consistent_model(assert_same_weights, kind, params):
    X, y = data(kind)
    params = dict(params, max_iter=3, n_iter_no_change=100)
    old = fitted(kind, **params, warm_start=False)
    old_state, old_prediction = copy.deepcopy(vars(old)), prediction(old, X)
    references = {n: fitted(kind, **{**params, "max_iter": n}) for n in range(1, 4)}
    seen = set()
    for k in range(1, 1200, 3):
        est = copy.deepcopy(old)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            error = _interrupt_at_line(k, lambda est=est: est.fit(X, y))
        if error is not None:
            assert_same(vars(est), old_state)
            np.testing.assert_array_equal(prediction(est, X), old_prediction)
            seen.add("raised")
            continue
        # A model of the finished epochs: exactly a fit with that many.
        reference = references[est.n_iter_]
        assert len(est.loss_curve_) == est.n_iter_
        assert_same_weights(est, reference)
        np.testing.assert_array_equal(prediction(est, X), prediction(reference, X))
        seen.add(est.n_iter_)
    assert seen >= {"raised", 1, 2, 3}


# ----------------------------------------------------------------------
# Optimizer state
# ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_optimizer_state_follows_the_dtype_and_is_never_shared(kind):
    X, y = data(kind)
    est = fitted(kind, solver="adam")
    quietly(est.partial_fit, X.astype(np.float32), y)
    state = est._optimizer_state
    moments = [state["first_moment"], state["second_moment"]]
    assert all(m.dtype == np.float32 for m in moments)
    arrays = moments + est.coefs_ + est.intercepts_
    for i, a in enumerate(arrays):
        for b in arrays[i + 1 :]:
            assert not np.shares_memory(a, b)
    copied = copy.deepcopy(est)
    quietly(est.partial_fit, X, y)
    assert copied._optimizer_state["steps"] < est._optimizer_state["steps"]


def _without_state(est):
    fresh = copy.deepcopy(est)
    del fresh._optimizer_state
    return fresh


@pytest.mark.parametrize("kind", KINDS)
def test_after_lbfgs_partial_fit_starts_its_optimizer_anew(assert_same_weights, kind):
    X, y = data(kind)
    est = fitted(kind, solver="sgd")
    quietly(est.partial_fit, X, y)
    quietly(est.set_params(solver="lbfgs", warm_start=True, max_iter=3).fit, X, y)
    est.set_params(solver="sgd")
    reference = _without_state(est)
    quietly(est.partial_fit, X, y)
    quietly(reference.partial_fit, X, y)
    assert_same_weights(est, reference)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "damage",
    ["nan-moment", "wrong-length", "negative-steps", "not-a-dict", "zero-rate"],
)
def test_a_damaged_optimizer_state_is_rebuilt(assert_same_weights, kind, damage):
    X, y = data(kind)
    est = fitted(kind, solver="adam")
    state = est._optimizer_state
    if damage == "nan-moment":
        state["first_moment"][0] = np.nan
    elif damage == "wrong-length":
        state["second_moment"] = state["second_moment"][:-1]
    elif damage == "negative-steps":
        state["steps"] = -3
    elif damage == "zero-rate":
        state["learning_rate"] = 0.0
    else:
        est._optimizer_state = "adam"
    reference = _without_state(est)
    quietly(est.partial_fit, X, y)
    quietly(reference.partial_fit, X, y)
    assert_same_weights(est, reference)


@pytest.mark.parametrize("kind", KINDS)
def test_partial_fit_continues_a_memory_mapped_model(
    assert_same_weights, kind, tmp_path
):
    X, y = data(kind)
    est = fitted(kind, solver="adam")
    quietly(est.partial_fit, X, y)
    joblib.dump(est, tmp_path / "model.joblib")
    mapped = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    assert not mapped._optimizer_state["first_moment"].flags.writeable
    quietly(mapped.partial_fit, X, y)
    quietly(est.partial_fit, X, y)
    assert_same_weights(mapped, est)


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_learning_rate_init_applies_to_the_next_partial_fit(
    assert_same_weights, kind
):
    # Plain sgd: the state carries nothing but the step size.
    X, y = data(kind)
    est = fitted(kind, solver="sgd", momentum=0.0, learning_rate_init=1e-3)
    quietly(est.partial_fit, X, y)
    est.set_params(learning_rate_init=1e-2)
    reference = _without_state(est)
    quietly(est.partial_fit, X, y)
    quietly(reference.partial_fit, X, y)
    assert_same_weights(est, reference)


# ----------------------------------------------------------------------
# Forked children
# ----------------------------------------------------------------------

FORK_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn_twolayer import TwoLayerClassifier

    X, y = make_classification(n_samples=3000, n_features=40, random_state=0)
    params = dict(n_hidden=64, max_iter=2, random_state=0, tol=0)
    # The parent runs its kernels on a team of threads first.
    expected = TwoLayerClassifier(**params).fit(X, y).predict_proba(X)

    def work(_=None):
        proba = TwoLayerClassifier(**params).fit(X, y).predict_proba(X)
        return bool(np.allclose(proba, expected, rtol=1e-10, atol=0))

    mode = sys.argv[1]
    if mode == "os.fork":
        pid = os.fork()
        if pid == 0:
            os._exit(0 if work() else 3)
        ok = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    elif mode == "multiprocessing":
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(2) as pool:
            ok = all(pool.map(work, range(2)))
    else:
        from joblib import Parallel, delayed
        ok = all(Parallel(n_jobs=2, backend="multiprocessing")(
            delayed(work)() for _ in range(2)))
    sys.exit(0 if ok else 3)
    """
)


def run_isolated(script, *args, timeout=240, env=None):
    """Run a Python script in its own session; a hang (of it or of any
    child it forked) fails the test instead of the suite. ``-P``: the
    installed package is imported, never the clone's source folder."""
    process = subprocess.Popen(
        [sys.executable, "-P", "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"hung for {timeout} s")
    return process.returncode, err.decode()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("mode", ["os.fork", "multiprocessing", "joblib"])
def test_fit_and_predict_complete_in_a_forked_child(mode):
    code, err = run_isolated(FORK_SCRIPT, mode, env={"OMP_NUM_THREADS": "4"})
    assert code == 0, err[-2000:]


# ----------------------------------------------------------------------
# One estimator, several threads
# ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_fits_of_one_estimator_take_turns(assert_same_weights, kind):
    X, y = data(kind)
    X_wide, y_wide = np.hstack([X, X[:, ::-1]]), y
    est = make(kind, max_iter=6)
    serial = {
        X.shape[1]: fitted(kind, max_iter=6),
        X_wide.shape[1]: quietly(make(kind, max_iter=6).fit, X_wide, y_wide),
    }
    barrier = threading.Barrier(4)
    errors = []

    def work(i):
        barrier.wait()
        try:
            for _ in range(3):
                quietly(est.fit, *((X, y) if i % 2 else (X_wide, y_wide)))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    reference = serial[est.n_features_in_]
    assert est.n_iter_ == reference.n_iter_ and est.t_ == reference.t_
    assert_same_weights(est, reference)


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_partial_fits_all_count(kind):
    X, y = data(kind)
    est = fitted(kind, solver="sgd")
    t_before = est.t_
    barrier = threading.Barrier(4)

    def work():
        barrier.wait()
        for _ in range(5):
            quietly(est.partial_fit, X, y)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert est.t_ - t_before == 20 * X.shape[0]
    assert len(est.loss_curve_) == len(fitted(kind).loss_curve_) + 20


def test_predict_during_fits_sees_one_whole_model():
    # Two models of the same width: labels 0-2 from one, 10-14 from the other.
    X, y3 = make_classification(
        n_samples=200, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    _, y5 = make_classification(
        n_samples=200, n_features=6, n_informative=4, n_classes=5, random_state=1
    )
    y5 = y5 + 10
    models = [quietly(make("classifier", max_iter=4).fit, X, y) for y in (y3, y5)]
    expected = [m.predict(X) for m in models]
    est = copy.deepcopy(models[0])
    stop = threading.Event()

    def fit_back_and_forth():
        i = 0
        while not stop.is_set():
            quietly(est.fit, X, (y3, y5)[i % 2])
            i += 1

    fitter = threading.Thread(target=fit_back_and_forth)
    fitter.start()
    try:
        for _ in range(300):
            labels = est.predict(X)
            assert any(np.array_equal(labels, e) for e in expected), (
                "a prediction mixed two models"
            )
    finally:
        stop.set()
        fitter.join()


@pytest.mark.parametrize("kind", KINDS)
def test_the_fit_lock_is_invisible_to_copies_and_files(kind, tmp_path):
    X, y = data(kind)
    est = fitted(kind)
    assert all(not isinstance(v, type(threading.RLock())) for v in vars(est).values())
    for copied in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
        np.testing.assert_array_equal(prediction(copied, X), prediction(est, X))
        quietly(copied.fit, X, y)
    quietly(clone(est).fit, X, y)
    skops_io = pytest.importorskip("skops.io")
    loaded = skops_io.loads(skops_io.dumps(est), trusted=[type(est)])
    np.testing.assert_array_equal(prediction(loaded, X), prediction(est, X))


# ----------------------------------------------------------------------
# Validated models
# ----------------------------------------------------------------------

DAMAGE = {
    "nan-weight": lambda m: m.coefs_[0].__setitem__((0, 0), np.nan),
    "inf-intercept": lambda m: m.intercepts_[1].__setitem__(0, np.inf),
    "wider-output-layer": lambda m: (
        setattr(m, "coefs_", [m.coefs_[0], np.hstack([m.coefs_[1]] * 2)]),
        setattr(
            m, "intercepts_", [m.intercepts_[0], np.hstack([m.intercepts_[1]] * 2)]
        ),
    ),
    "float16-weights": lambda m: setattr(
        m, "coefs_", [c.astype(np.float16) for c in m.coefs_]
    ),
    "wrong-n_features_in_": lambda m: setattr(m, "n_features_in_", 60),
    "short-hidden-bias": lambda m: m.intercepts_.__setitem__(0, m.intercepts_[0][:-1]),
    "one-layer": lambda m: setattr(m, "coefs_", m.coefs_[:1]),
    "n_outputs_-not-an-int": lambda m: setattr(m, "n_outputs_", "3"),
    "unknown-out_activation_": lambda m: setattr(m, "out_activation_", "softplus"),
}


def damaged(kind, damage):
    est = fitted(kind)
    DAMAGE[damage](est)
    return est


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_model_is_refused_when_loaded_and_before_predicting(kind, damage):
    X, _ = data(kind)
    est = damaged(kind, damage)
    with pytest.raises(ValueError, match="Invalid Two|NaN or infinite"):
        est.predict(X)
    with pytest.raises(ValueError, match="Invalid Two|NaN or infinite"):
        pickle.loads(pickle.dumps(est))


@pytest.mark.parametrize("damage", ["nan-weight", "wider-output-layer"])
def test_a_damaged_skops_file_is_refused(damage):
    skops_io = pytest.importorskip("skops.io")
    est = damaged("classifier", damage)
    with pytest.raises(ValueError, match="Invalid Two|NaN or infinite"):
        skops_io.loads(skops_io.dumps(est), trusted=[type(est)])


def test_classes_that_do_not_fit_the_output_layer_are_refused():
    X, _ = data("classifier")
    est = fitted("classifier")
    est.classes_ = est.classes_[:2]  # binary labels over three outputs
    with pytest.raises(ValueError, match="Invalid TwoLayerClassifier"):
        est.predict_proba(X)


# ----------------------------------------------------------------------
# Divergence
# ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_divergence_is_an_error_with_cause_and_remedy(kind, solver):
    X, y = data(kind)
    est = make(kind, solver=solver, learning_rate_init=1e12, max_iter=20)
    with pytest.raises(ValueError, match="diverged") as error:
        quietly(est.fit, X, y)
    assert "learning_rate_init" in str(error.value)
    assert "scale the features" in str(error.value)


def test_a_model_far_worse_than_a_constant_warns():
    X, y = data("regressor")
    with pytest.warns(ConvergenceWarning, match="constant prediction.*scale"):
        make("regressor", max_iter=3).fit(X * 1e150, y)


def corrupting_trainer(at_epoch):
    """A Trainer whose ``at_epoch``-th epoch ends in NaN weights, as a
    diverging step leaves them."""
    calls = []

    class Diverging(Trainer):
        def run_epoch(self, *args, **kwargs):
            calls.append(1)
            loss = Trainer.run_epoch(self, *args, **kwargs)
            if len(calls) >= at_epoch:
                self.params[:] = np.nan
                return np.nan
            return loss

    return Diverging


@pytest.mark.parametrize("kind", KINDS)
def test_early_stopping_keeps_the_best_weights_of_a_run_that_diverged(
    assert_same_weights, kind, monkeypatch
):
    X, y = data(kind)
    params = dict(early_stopping=True, max_iter=6, n_iter_no_change=100)
    monkeypatch.setattr(_fitting, "Trainer", corrupting_trainer(4))
    with pytest.warns(ConvergenceWarning, match="diverged.*best validation"):
        est = make(kind, **params).fit(X, y)
    monkeypatch.undo()
    reference = fitted(kind, **{**params, "max_iter": 3})
    assert_same_weights(est, reference)
    assert np.isfinite(est.loss_)
    np.testing.assert_array_equal(prediction(est, X), prediction(reference, X))


# ----------------------------------------------------------------------
# Arguments, as scikit-learn checks them
# ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "classes", [[0, 1, np.nan], [0, 1, None], [0, 1, np.inf], [], [[0, 1], [2, 3]]]
)
def test_partial_fit_refuses_classes_that_are_not_labels(classes):
    X, y = data("classifier")
    with pytest.raises(ValueError, match="classes"):
        make("classifier").partial_fit(X, y % 2, classes=classes)


def test_partial_fit_refuses_classes_other_than_the_first_calls():
    X, y = data("classifier")
    est = make("classifier").partial_fit(X, y, classes=[0, 1, 2, 3])
    est.partial_fit(X, y, classes=[3, 2, 1, 0])  # the same set is fine
    with pytest.raises(ValueError, match="not the same as on the first call"):
        est.partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["n_hidden", "max_iter", "batch_size"])
def test_a_bool_is_not_a_count(kind, name):
    X, y = data(kind)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        make(kind, **{name: True}).fit(X, y)
    assert make(kind, **{name: np.int64(3)}).fit(X, y).coefs_ is not None


@pytest.mark.parametrize("kind", KINDS)
def test_n_iter_no_change_may_be_infinite(kind):
    X, y = data(kind)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        est = make(kind, n_iter_no_change=np.inf, tol=1e3, max_iter=7).fit(X, y)
    assert est.n_iter_ == 7


def test_early_stopping_names_itself_when_a_class_is_too_rare():
    X, y = data("classifier")
    y = y.copy()
    y[0] = 7
    with pytest.raises(ValueError, match="1 member.*early_stopping=True"):
        make("classifier", early_stopping=True).fit(X, y)


@pytest.mark.parametrize("case", ["predict", "warm-start", "targets"])
def test_values_beyond_float32_get_an_error_and_no_internal_warning(case):
    X, y = data("regressor")
    X32 = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="too large|range of float32|dtype"):
            if case == "predict":
                big = X.copy()
                big[0, 0] = 1e39
                quietly(make("regressor").fit, X32, y).predict(big)
            elif case == "warm-start":
                model = fitted("regressor", warm_start=True)
                model.coefs_[1] = model.coefs_[1] * 1e300
                model.fit(X32, y)
            else:
                y_big = y.copy()
                y_big[0] = 1e39
                make("regressor").fit(X32, y_big)


# ----------------------------------------------------------------------
# Sparse memory
# ----------------------------------------------------------------------

SPARSE_SCRIPT = textwrap.dedent(
    """
    import resource
    import numpy as np
    import scipy.sparse as sp
    from sklearn_twolayer import TwoLayerClassifier

    # 2**23 hashed features, 2 hidden units: the weights take 0.4 GiB with
    # the optimizer's state; a dense chunk buffer would take 32 GiB.
    rng = np.random.RandomState(0)
    n_rows, per_row = 2000, 10
    X = sp.csr_matrix(
        (
            rng.normal(size=n_rows * per_row),
            rng.randint(0, 2**23, n_rows * per_row),
            np.arange(0, n_rows * per_row + 1, per_row),
        ),
        shape=(n_rows, 2**23),
    )
    X.sum_duplicates()
    y = rng.randint(0, 2, 2000)
    limit = 3 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    clf = TwoLayerClassifier(n_hidden=2, max_iter=1, batch_size=500).fit(X, y)
    clf.predict_proba(X)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS")
def test_sparse_training_memory_does_not_grow_with_the_width():
    code, err = run_isolated(SPARSE_SCRIPT, env={"OMP_NUM_THREADS": "2"})
    assert code == 0, err[-2000:]


@pytest.mark.parametrize(
    "damage", [("first_moment", np.nan), ("learning_rate", 0.0)], ids=str
)
def test_the_trainer_refuses_a_state_with_bad_values(damage):
    X, y = data("classifier")
    est = fitted("classifier", solver="adam")
    state = copy.deepcopy(est._optimizer_state)
    name, value = damage
    if name == "first_moment":
        state[name][3] = value
    else:
        state[name] = value
    params = np.concatenate(
        [a.ravel() for a in (est.coefs_[0], est.intercepts_[0])]
        + [a.ravel() for a in (est.coefs_[1], est.intercepts_[1])]
    )
    with pytest.raises(ValueError, match=name):
        Trainer(
            params,
            X.shape[1],
            8,
            est.n_outputs_,
            activation="relu",
            out_activation=est.out_activation_,
            loss="log_loss",
            solver="adam",
            state=state,
        )
