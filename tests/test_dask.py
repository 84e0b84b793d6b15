"""Training on a real Dask cluster: dask-ml's Incremental, GridSearchCV through
joblib's dask backend, and the OpenMP thread budget inside workers.

Each cluster is a LocalCluster on loopback with real scheduler and worker
processes, started by the fixture.
"""

import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")

import joblib  # noqa: E402
from sklearn.datasets import make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor  # noqa: E402
from sklearn_twolayer._threads import (  # noqa: E402
    effective_n_threads,
    openmp_n_threads,
)


def _local_cluster(n_workers, threads_per_worker):
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )


@pytest.fixture(scope="module")
def two_worker_client():
    with _local_cluster(2, 1) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def two_thread_client():
    with _local_cluster(1, 2) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def regression_split():
    X, y = make_regression(
        n_samples=1200, n_features=20, n_informative=10, noise=5.0, random_state=0
    )
    X = StandardScaler().fit_transform(X)
    return train_test_split(X, y / y.std(), test_size=0.25, random_state=0)


def _worker_addresses(client):
    return set(client.scheduler_info()["workers"])


def test_incremental_partial_fit_matches_in_memory_accuracy(
    two_worker_client, digits_split
):
    X_train, X_test, y_train, y_test = digits_split
    n_epochs = 40
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        in_memory = TwoLayerClassifier(
            n_hidden=32, max_iter=n_epochs, random_state=0
        ).fit(X_train, y_train)
    in_memory_accuracy = in_memory.score(X_test, y_test)

    # Five row chunks: each partial_fit call is one epoch over one chunk, run
    # on a worker; one pass over the blocks is one epoch over the data.
    X_chunks = da.from_array(X_train, chunks=(X_train.shape[0] // 5 + 1, 64))
    y_chunks = da.from_array(y_train, chunks=X_train.shape[0] // 5 + 1)
    assert X_chunks.numblocks[0] == 5
    incremental = dask_ml_wrappers.Incremental(
        TwoLayerClassifier(n_hidden=32, random_state=0),
        scoring="accuracy",
        random_state=0,
    )
    with distributed.get_task_stream(two_worker_client) as tasks:
        for _ in range(n_epochs):
            incremental.partial_fit(X_chunks, y_chunks, classes=np.arange(10))
    assert {task["worker"] for task in tasks.data} <= _worker_addresses(
        two_worker_client
    )
    assert len(tasks.data) >= n_epochs * X_chunks.numblocks[0]

    fitted = incremental.estimator_
    assert isinstance(fitted, TwoLayerClassifier)
    assert len(fitted.loss_curve_) == n_epochs * X_chunks.numblocks[0]
    X_test_chunks = da.from_array(X_test, chunks=(100, 64))
    distributed_predictions = incremental.predict(X_test_chunks).compute()
    np.testing.assert_array_equal(distributed_predictions, fitted.predict(X_test))
    incremental_accuracy = np.mean(distributed_predictions == y_test)
    assert incremental_accuracy >= in_memory_accuracy - 0.02
    assert incremental_accuracy > 0.9


def test_incremental_regressor_matches_in_memory_r2(
    two_worker_client, regression_split
):
    X_train, X_test, y_train, y_test = regression_split
    n_epochs = 30
    params = dict(n_hidden=32, learning_rate_init=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        in_memory = TwoLayerRegressor(max_iter=n_epochs, **params).fit(X_train, y_train)
    in_memory_r2 = in_memory.score(X_test, y_test)

    X_chunks = da.from_array(X_train, chunks=(X_train.shape[0] // 5, 20))
    y_chunks = da.from_array(y_train, chunks=X_train.shape[0] // 5)
    assert X_chunks.numblocks[0] == 5
    incremental = dask_ml_wrappers.Incremental(
        TwoLayerRegressor(**params), scoring="r2", random_state=0
    )
    with distributed.get_task_stream(two_worker_client) as tasks:
        for _ in range(n_epochs):
            incremental.partial_fit(X_chunks, y_chunks)
    assert {task["worker"] for task in tasks.data} <= _worker_addresses(
        two_worker_client
    )
    assert len(tasks.data) >= n_epochs * X_chunks.numblocks[0]

    fitted = incremental.estimator_
    assert isinstance(fitted, TwoLayerRegressor)
    assert len(fitted.loss_curve_) == n_epochs * X_chunks.numblocks[0]
    assert fitted.t_ == n_epochs * X_train.shape[0]
    X_test_chunks = da.from_array(X_test, chunks=(100, 20))
    distributed_predictions = incremental.predict(X_test_chunks).compute()
    np.testing.assert_array_equal(distributed_predictions, fitted.predict(X_test))
    incremental_r2 = r2_score(y_test, distributed_predictions)
    assert incremental_r2 >= in_memory_r2 - 0.02
    assert incremental_r2 > 0.9


@pytest.mark.parametrize("estimator", ["classifier", "regressor"])
def test_grid_search_runs_candidates_on_the_cluster(
    two_worker_client, digits_split, regression_split, estimator
):
    if estimator == "classifier":
        X_train, _, y_train, _ = digits_split
        model = TwoLayerClassifier(max_iter=15, random_state=0)
        grid = {"n_hidden": [8, 16], "alpha": [1e-4, 1e-2]}
    else:
        X_train, _, y_train, _ = regression_split
        model = TwoLayerRegressor(
            n_hidden=16, max_iter=15, learning_rate_init=0.01, random_state=0
        )
        grid = {"loss": ["squared_error", "huber"], "alpha": [1e-4, 1e-2]}

    def search():
        return GridSearchCV(model, grid, cv=3).fit(X_train, y_train)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with (
            distributed.get_task_stream(two_worker_client) as tasks,
            joblib.parallel_config(backend="dask"),
        ):
            on_cluster = search()
        local = search()

    ran_on = {task["worker"] for task in tasks.data}
    assert ran_on == _worker_addresses(two_worker_client)
    np.testing.assert_array_equal(
        on_cluster.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
    )
    assert on_cluster.best_params_ == local.best_params_


# The workers cannot import the test modules, so the functions they run are
# made locally: Dask then ships them by value.


def _fit_recording_threads():
    def task(X, y):
        # What fit hands to the kernels: the fit object's own call, recorded.
        from sklearn_twolayer import _fitting

        handed_to_kernels = []

        def recording():
            n_threads = effective_n_threads()
            handed_to_kernels.append(n_threads)
            return n_threads

        _fitting.effective_n_threads = recording
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                TwoLayerClassifier(n_hidden=8, max_iter=2, random_state=0).fit(X, y)
        finally:
            _fitting.effective_n_threads = effective_n_threads
        return handed_to_kernels, openmp_n_threads()

    return task


@pytest.mark.parametrize(
    "client_name, worker_threads",
    [("two_thread_client", 2), ("two_worker_client", 1)],
)
def test_a_lone_fit_takes_its_workers_threads(
    request, client_name, worker_threads, digits_split
):
    client = request.getfixturevalue(client_name)
    X_train, _, y_train, _ = digits_split
    handed_to_kernels, openmp_default = client.submit(
        _fit_recording_threads(), X_train, y_train, pure=False
    ).result()
    # The nanny starts workers with OMP_NUM_THREADS=1; the worker's threads
    # are the budget.
    assert openmp_default == 1
    assert handed_to_kernels == [worker_threads]


def _threads_while_running_beside():
    def task(mine, other):
        # Both tasks read their share while the other is surely executing.
        distributed.Event(f"{mine}-started").set()
        assert distributed.Event(f"{other}-started").wait(timeout=60)
        n_threads = effective_n_threads()
        distributed.Event(f"{mine}-counted").set()
        assert distributed.Event(f"{other}-counted").wait(timeout=60)
        return n_threads

    return task


def test_concurrent_tasks_share_their_workers_threads(two_thread_client):
    futures = [
        two_thread_client.submit(
            _threads_while_running_beside(), mine, other, pure=False
        )
        for mine, other in (("left", "right"), ("right", "left"))
    ]
    assert two_thread_client.gather(futures) == [1, 1]


def test_outside_a_worker_openmp_decides_within_the_available_cores():
    assert effective_n_threads() == min(openmp_n_threads(), joblib.cpu_count())
