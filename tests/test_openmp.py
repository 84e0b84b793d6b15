"""The extension is built with OpenMP, obeys thread limits, and runs in parallel."""

import os
import time

import numpy as np
import pytest
from sklearn_twolayer._forward import transform_rows
from sklearn_twolayer._openmp_helpers import effective_n_threads, openmp_enabled
from threadpoolctl import threadpool_limits

from sklearn_twolayer._registry import ACTIVATION_CODES


def test_extension_is_built_with_openmp():
    assert openmp_enabled(), (
        "sklearn_twolayer was built without OpenMP: every kernel runs on a "
        "single thread. Rebuild with a compiler and OpenMP runtime that meson "
        "finds (e.g. gcc with libgomp)."
    )


def test_effective_n_threads_is_at_least_one():
    n_threads = effective_n_threads()
    assert isinstance(n_threads, int)
    assert n_threads >= 1


def test_effective_n_threads_follows_threadpoolctl_openmp_limit():
    before = effective_n_threads()
    with threadpool_limits(limits=1, user_api="openmp"):
        assert effective_n_threads() == 1
    assert effective_n_threads() == before


@pytest.mark.skipif(not openmp_enabled(), reason="built without OpenMP")
def test_effective_n_threads_can_be_raised_by_threadpoolctl():
    with threadpool_limits(limits=3, user_api="openmp"):
        assert effective_n_threads() == 3


def thread_cpu_ticks():
    """CPU time (clock ticks) of each thread of this process, by thread id.

    Linux only (reads /proc/self/task); empty elsewhere.
    """
    ticks = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return ticks
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        ticks[tid] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


def n_busy_threads(before, after, share=0.25):
    """Threads that did at least ``share`` of the CPU work between two reads."""
    spent = [after[tid] - before.get(tid, 0) for tid in after]
    total = sum(spent)
    return sum(ticks >= share * total for ticks in spent) if total else 0


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs at least 2 CPUs")
def test_the_hidden_layer_pass_runs_on_several_threads():
    # One call is about 1e10 flops plus 1e7 tanh: a few tenths of a second,
    # long enough for CPU time / wall time to show how many threads worked.
    # The machine may be shared, so a few attempts are allowed; when other
    # processes hold the CPUs (so that no attempt can show CPU time above
    # wall time), the per-thread CPU times still show the work was split
    # over two threads.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 500))
    W = rng.standard_normal((500, 500)) / np.sqrt(500)
    b = np.zeros(500)
    out = np.empty((20000, 500))
    tanh = ACTIVATION_CODES["tanh"]
    ratios, busy = [], []
    with threadpool_limits(limits=1, user_api="blas"):
        transform_rows(X[:256], W, b, out[:256], tanh, 2)  # start the thread pool
        deadline = time.perf_counter() + 4
        for _ in range(3):
            ticks_start = thread_cpu_ticks()
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            transform_rows(X, W, b, out, tanh, 2)
            cpu, wall = (
                time.process_time() - cpu_start,
                time.perf_counter() - wall_start,
            )
            ratios.append(cpu / wall)
            busy.append(n_busy_threads(ticks_start, thread_cpu_ticks()))
            if ratios[-1] > 1.3 or time.perf_counter() > deadline:
                break
    ran_in_parallel = max(ratios) > 1.3
    split_over_threads = max(busy) >= 2
    assert ran_in_parallel or split_over_threads, (
        "transform_rows with n_threads=2 ran on a single thread: CPU time / "
        f"wall time was {[round(r, 2) for r in ratios]} (expected > 1.3 on "
        "one attempt), and the threads that each did a quarter or more of the "
        f"work numbered {busy} (expected 2)"
    )


def test_the_policy_never_exceeds_the_available_cores():
    import joblib

    from sklearn_twolayer import _threads

    cores = joblib.cpu_count()
    with threadpool_limits(limits=cores + 6, user_api="openmp"):
        assert _threads.effective_n_threads() == cores
    with threadpool_limits(limits=1, user_api="openmp"):
        assert _threads.effective_n_threads() == 1


def test_the_work_cap_gives_each_thread_enough_work():
    from sklearn_twolayer._threads import MIN_FLOPS_PER_THREAD, threads_for_work

    assert threads_for_work(8, 0) == 1
    assert threads_for_work(8, MIN_FLOPS_PER_THREAD - 1) == 1
    assert threads_for_work(8, 3 * MIN_FLOPS_PER_THREAD) == 3
    assert threads_for_work(8, 100 * MIN_FLOPS_PER_THREAD) == 8


@pytest.mark.parametrize(
    "settings, scale",
    [
        # Features at 1e150: the fit ends far worse than a constant model,
        # whose loss is then measured too.
        (dict(solver="adam", max_iter=3), 1e150),
        (dict(solver="sgd", max_iter=3, early_stopping=True), 1),
        (dict(solver="lbfgs", max_iter=3), 1),
    ],
)
def test_every_pass_of_fit_holds_blas_to_one_thread(monkeypatch, settings, scale):
    # The kernels call BLAS from their OpenMP threads: a BLAS pool of its own
    # in each (here: four threads each, as a caller's limit may ask) would
    # oversubscribe the cores. Every pass must run with BLAS on one thread.
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_info

    from sklearn_twolayer import TwoLayerRegressor, _fitting

    calls = []

    def blas_threads():
        return {
            info["num_threads"]
            for info in threadpool_info()
            if info["user_api"] == "blas"
        }

    Trainer = _fitting.Trainer

    class Recording(Trainer):
        def run_epoch(self, *args, **kwargs):
            calls.append(("run_epoch", blas_threads()))
            return Trainer.run_epoch(self, *args, **kwargs)

        def loss_and_gradient(self, *args, **kwargs):
            calls.append(("loss_and_gradient", blas_threads()))
            return Trainer.loss_and_gradient(self, *args, **kwargs)

    monkeypatch.setattr(_fitting, "Trainer", Recording)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 5)) * scale
    y = X[:, 0] / scale + 0.1 * rng.normal(size=300)
    with threadpool_limits(limits=4, user_api="blas"):
        assert blas_threads() == {4}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            TwoLayerRegressor(n_hidden=8, random_state=0, **settings).fit(X, y)
    if scale > 1:
        assert any(
            issubclass(w.category, ConvergenceWarning)
            and "constant prediction" in str(w.message)
            for w in caught
        )
        assert calls[-1][0] == "loss_and_gradient"
    assert calls
    assert all(threads == {1} for _, threads in calls), calls


def test_a_team_that_gets_its_cores_keeps_them():
    from sklearn_twolayer._threads import LAST_PROBE, EpochTeam

    team = EpochTeam(4)
    for _ in range(2 * LAST_PROBE):
        assert team.epoch_ran(4, 1.0, np.full(4, 0.95)) == 4
    # A moment's shortfall, then the cores again: no epoch runs fewer.
    assert team.epoch_ran(4, 1.0, np.full(4, 0.3)) == 4
    assert team.epoch_ran(4, 1.0, np.full(4, 0.95)) == 4
    assert team.epoch_ran(4, 1.0, np.full(4, 0.3)) == 4
    # A platform without thread clocks, or one thread: nothing to go by.
    for _ in range(3):
        assert team.epoch_ran(4, 1.0, np.full(4, -1.0)) == 4
        assert team.epoch_ran(1, 1.0, np.zeros(4)) == 4


def test_a_contended_team_shrinks_to_the_cores_it_got_and_tries_again():
    from sklearn_twolayer._threads import (
        CONTENDED_EPOCHS,
        FIRST_PROBE,
        LAST_PROBE,
        EpochTeam,
    )

    def smaller_epochs(team, threads):
        """Epochs of ``threads`` threads with their cores until the whole
        team is tried again."""
        n = 0
        while team.epoch_ran(threads, 1.0, np.full(threads, 1.0)) == threads:
            n += 1
        return n + 1

    team = EpochTeam(8)
    # Each thread of 8 had its core 40% of the time: 3.2 cores in all.
    for _ in range(CONTENDED_EPOCHS - 1):
        assert team.epoch_ran(8, 2.0, np.full(8, 0.8)) == 8
    assert team.epoch_ran(8, 2.0, np.full(8, 0.8)) == 3
    # Three threads run until the whole team is tried again...
    assert smaller_epochs(team, 3) == FIRST_PROBE
    # ...which shrinks at once while contended (6 of 8 cores), and waits
    # twice as long each time before it tries again, up to LAST_PROBE.
    waits = []
    for _ in range(8):
        assert team.epoch_ran(8, 1.0, np.full(8, 0.74)) == 6
        waits.append(smaller_epochs(team, 6))
    expected = [min(FIRST_PROBE * 2**k, LAST_PROBE) for k in range(1, 9)]
    assert waits == expected and waits[-1] == LAST_PROBE
    # A try that finds the cores back keeps the whole team...
    for _ in range(2 * LAST_PROBE):
        assert team.epoch_ran(8, 1.0, np.full(8, 0.99)) == 8
    # ...and the next contention waits FIRST_PROBE epochs again.
    for _ in range(CONTENDED_EPOCHS):
        threads = team.epoch_ran(8, 1.0, np.full(8, 0.5))
    assert threads == 4
    assert smaller_epochs(team, 4) == FIRST_PROBE
    # A team never shrinks below one thread, nor stays as large.
    team = EpochTeam(2)
    for _ in range(CONTENDED_EPOCHS):
        threads = team.epoch_ran(2, 1.0, np.array([0.9, 0.0]))
    assert threads == 1
    team = EpochTeam(2)
    for _ in range(CONTENDED_EPOCHS):
        threads = team.epoch_ran(2, 1.0, np.array([0.74, 0.74]))
    assert threads == 1


@pytest.fixture
def contended_teams(monkeypatch):
    """Every pass of two threads counts as contended: the team shrinks to
    one thread after two of them and tries two again after 3, then 6
    passes of one. Returns the list of the passes' teams, as they run."""
    from sklearn_twolayer import _threads

    monkeypatch.setattr(_threads, "CONTENDED", 2.0)
    monkeypatch.setattr(_threads, "FIRST_PROBE", 3)
    teams = []
    epoch_ran = _threads.EpochTeam.epoch_ran

    def noting(self, team, seconds, core_seconds):
        teams.append(team)
        return epoch_ran(self, team, seconds, core_seconds)

    monkeypatch.setattr(_threads.EpochTeam, "epoch_ran", noting)
    return teams


def assert_same_training(model, other):
    """Bitwise the same weights and loss curve."""
    for ours, theirs in zip(
        model.coefs_ + model.intercepts_, other.coefs_ + other.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(ours, theirs)
    assert model.loss_curve_ == other.loss_curve_


needs_two_threads = pytest.mark.skipif(
    not openmp_enabled() or effective_n_threads() < 2, reason="needs two threads"
)


def five_classes(n_samples):
    """A classification problem of 100 features whose batches of 256 rows
    take two threads."""
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=n_samples,
        n_features=100,
        n_informative=20,
        n_classes=5,
        random_state=0,
    )


# Eight epochs of two-thread batches (of five_classes(4096)), each scored
# on half of the samples; never stopped early.
EIGHT_EPOCHS_EARLY_STOPPING = dict(
    n_hidden=128,
    batch_size=256,
    max_iter=8,
    tol=0,
    n_iter_no_change=9,
    early_stopping=True,
    validation_fraction=0.5,
    random_state=0,
)


def fit_on_threads(n_threads, X, y, **params):
    """A TwoLayerClassifier fitted with OpenMP held to ``n_threads``."""
    from sklearn_twolayer import TwoLayerClassifier

    with threadpool_limits(limits=n_threads, user_api="openmp"):
        return TwoLayerClassifier(**params).fit(X, y)


@needs_two_threads
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_fit_whose_team_shrinks_and_grows_keeps_its_weights(
    contended_teams, solver
):
    # adam's epochs, and L-BFGS's passes over all the data.
    X, y = five_classes(2048)
    params = dict(
        n_hidden=128, batch_size=256, max_iter=12, random_state=0, tol=0, solver=solver
    )
    # One thread's passes are not noted, as no team of one is contended.
    alone = fit_on_threads(1, X, y, **params)
    assert contended_teams == []
    shrinking = fit_on_threads(2, X, y, **params)
    teams = contended_teams
    # (L-BFGS's line searches may evaluate more often than once an
    # iteration: its passes go on past the twelfth.)
    assert teams[:12] == [2, 2, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1]
    assert len(teams) == 12 or solver == "lbfgs"
    assert_same_training(alone, shrinking)


@needs_two_threads
def test_partial_fit_calls_go_on_with_the_team_of_the_call_before(contended_teams):
    import pickle
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from sklearn_twolayer import TwoLayerClassifier

    X, y = five_classes(1024)
    classes = np.unique(y)

    def calls(n_threads, n_calls=9):
        clf = TwoLayerClassifier(n_hidden=128, batch_size=256, random_state=0)
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            for _ in range(n_calls):
                clf.partial_fit(X, y, classes=classes)
        return clf

    alone = calls(1)
    # As in a fit, the calls' one epoch each shrink the team after two.
    shrinking = calls(2)
    teams = contended_teams
    assert teams == [2, 2, 1, 1, 1, 2, 1, 1, 1]
    assert_same_training(alone, shrinking)
    # A fit starts with its whole team.
    teams.clear()
    with threadpool_limits(limits=2, user_api="openmp"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        shrinking.set_params(max_iter=1, warm_start=True).fit(X, y)
    assert teams == [2]
    # The team is the estimator's, not a copy's, nor part of its state.
    teams.clear()
    with threadpool_limits(limits=2, user_api="openmp"):
        copied = pickle.loads(pickle.dumps(shrinking))
        copied.partial_fit(X, y)
    assert teams == [2]
    assert vars(copied).keys() == vars(shrinking).keys()


@needs_two_threads
def test_validation_passes_take_no_more_threads_than_the_epochs(
    contended_teams, monkeypatch
):
    from sklearn_twolayer import _fitting

    X, y = five_classes(4096)
    params = EIGHT_EPOCHS_EARLY_STOPPING
    alone = fit_on_threads(1, X, y, **params)
    # The threads each validation pass may use: the loss's, and the
    # prediction's for the accuracy.
    loss_threads, predict_threads = [], []
    make_trainer = _fitting.Fit._make_trainer

    def noting_trainer(fit):
        trainer = make_trainer(fit)

        class Noting:
            def __getattr__(self, name):
                return getattr(trainer, name)

            def loss_and_gradient(self, *args, **kwargs):
                loss_threads.append(kwargs["n_threads"])
                return trainer.loss_and_gradient(*args, **kwargs)

        return Noting()

    predict_output = _fitting.predict_output

    def noting_predict(*args):
        predict_threads.append(args[5])
        return predict_output(*args)

    monkeypatch.setattr(_fitting.Fit, "_make_trainer", noting_trainer)
    monkeypatch.setattr(_fitting, "predict_output", noting_predict)
    shrinking = fit_on_threads(2, X, y, **params)
    assert contended_teams == [2, 2, 1, 1, 1, 2, 1, 1]
    # After each epoch, its validation takes the next epoch's team.
    assert loss_threads == [2, 1, 1, 1, 2, 1, 1, 1]
    assert predict_threads == loss_threads
    assert_same_training(alone, shrinking)
    assert alone.validation_scores_ == shrinking.validation_scores_


@needs_two_threads
def test_a_scorer_predicts_on_no_more_threads_than_the_epochs(
    contended_teams, monkeypatch
):
    from sklearn_twolayer import _base

    X, y = five_classes(4096)
    params = dict(EIGHT_EPOCHS_EARLY_STOPPING, scoring="balanced_accuracy")
    alone = fit_on_threads(1, X, y, **params)
    # The threads of the predictions the scorer asks the model for.
    predict_threads = []
    predict_output = _base.predict_output

    def noting_predict(*args):
        predict_threads.append(args[5])
        return predict_output(*args)

    monkeypatch.setattr(_base, "predict_output", noting_predict)
    shrinking = fit_on_threads(2, X, y, **params)
    assert contended_teams == [2, 2, 1, 1, 1, 2, 1, 1]
    # After each epoch, the scorer's prediction takes the next epoch's
    # team; the model fitted predicts on the whole budget again.
    assert predict_threads == [2, 1, 1, 1, 2, 1, 1, 1]
    with threadpool_limits(limits=2, user_api="openmp"):
        shrinking.predict(X)
    assert predict_threads[-1] == 2
    assert_same_training(alone, shrinking)
    assert alone.validation_scores_ == shrinking.validation_scores_
