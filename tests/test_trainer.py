"""The compiled trainer against a plain numpy computation of the same
equations: loss and gradient of a whole data set, whole epochs of sgd and
adam, the optimizer state carried from one trainer to the next, the memory
its buffers take, and bitwise equal results for any number of threads."""

import time

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn_twolayer._forward import BLOCK_ROWS, predict_rows

from sklearn_twolayer import _network
from sklearn_twolayer._fitting import Trainer
from sklearn_twolayer._network import Network
from sklearn_twolayer._registry import ACTIVATION_CODES
from sklearn_twolayer._threads import MIN_FLOPS_PER_THREAD, threads_for_work

THREADS = (1, 2, 3, 8)


def make_problem(n_samples, n_features, n_hidden, n_outputs, dtype, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features)).astype(dtype)
    X[rng.rand(*X.shape) < 0.5] = 0
    Y = np.eye(n_outputs, dtype=dtype)[rng.randint(n_outputs, size=n_samples)]
    network = Network(n_features, n_hidden, n_outputs, dtype)
    network.params[:] = rng.uniform(-0.3, 0.3, size=network.params.shape)
    weights = rng.uniform(0, 2, size=n_samples).astype(dtype)
    return X, Y, weights, network


def make_trainer(network, **settings):
    (n_features, n_hidden), (_, n_outputs) = network.shapes
    settings = {
        "activation": "relu",
        "out_activation": "softmax",
        "loss": "log_loss",
        **settings,
    }
    return Trainer(network.params, n_features, n_hidden, n_outputs, **settings)


def numpy_loss_and_gradient(params, network, X, Y, alpha, weights=None):
    """relu hidden layer, softmax output, cross-entropy, L2 penalty."""
    (W1, W2), (b1, b2) = network.unpack(params.astype(np.float64))
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    w = np.ones(X.shape[0]) if weights is None else weights.astype(np.float64)
    total = w.sum()
    A1 = np.maximum(X @ W1 + b1, 0)
    Z2 = A1 @ W2 + b2
    A2 = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    A2 /= A2.sum(axis=1, keepdims=True)
    loss = -(w[:, None] * Y * np.log(A2)).sum() / total
    loss += 0.5 * alpha * ((W1**2).sum() + (W2**2).sum()) / total
    D2 = (A2 - Y) * w[:, None]
    D1 = (D2 @ W2.T) * (A1 > 0)
    parts = [
        (X.T @ D1 + alpha * W1) / total,
        D1.sum(axis=0) / total,
        (A1.T @ D2 + alpha * W2) / total,
        D2.sum(axis=0) / total,
    ]
    return loss, np.concatenate([part.ravel() for part in parts])


# Shapes that exercise each decomposition. Small networks split batches of
# a few chunks over partial-gradient slots; larger ones (a gradient of more
# than 256 kB) tile them into rows x units: tiles over features, tiles over
# hidden units too (few features), several chunks. Enough chunks take the
# slots whatever the network.
SHAPES = [
    (300, 7, 9, 3),
    (1300, 40, 300, 4),
    (1300, 100, 400, 4),
    (700, 2, 9000, 2),
    (60, 20000, 3, 2),
    (5000, 30, 20, 3),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_and_gradient_match_numpy_for_any_thread_count(shape, sparse, weighted):
    X, Y, weights, network = make_problem(*shape, np.float64)
    trainer = make_trainer(network, alpha=0.1)
    weights = weights if weighted else None
    data = sp.csr_matrix(X) if sparse else X
    expected_loss, expected = numpy_loss_and_gradient(
        network.params, network, X, Y, 0.1, weights
    )
    results = []
    for n_threads in THREADS:
        loss = trainer.loss_and_gradient(
            data, Y, n_threads=n_threads, sample_weight=weights
        )
        results.append((loss, trainer.grads.copy()))
    np.testing.assert_allclose(results[0][0], expected_loss, rtol=1e-12)
    np.testing.assert_allclose(results[0][1], expected, rtol=1e-9, atol=1e-13)
    for loss, grads in results[1:]:
        assert loss == results[0][0]
        np.testing.assert_array_equal(grads, results[0][1])


@pytest.mark.parametrize("n_samples", [300, 5000])
def test_loss_without_gradient_still_has_the_penalty(n_samples):
    X, Y, _, network = make_problem(n_samples, 30, 20, 3, np.float64)
    trainer = make_trainer(network, alpha=0.1)
    expected, _ = numpy_loss_and_gradient(network.params, network, X, Y, 0.1)
    loss = trainer.loss_and_gradient(X, Y, n_threads=2, gradient=False)
    np.testing.assert_allclose(loss, expected, rtol=1e-12)


def numpy_epoch(network, X, Y, order, batch_size, solver, lr, state, steps):
    """One epoch of minibatch sgd (Nesterov momentum) or adam in numpy."""
    params = network.params.astype(np.float64)
    losses = []
    for start in range(0, order.shape[0], batch_size):
        rows = order[start : start + batch_size]
        loss, grad = numpy_loss_and_gradient(params, network, X[rows], Y[rows], 0.01)
        losses.append(loss * rows.shape[0])
        if solver == "sgd":
            velocity = state[0]
            velocity[:] = 0.9 * velocity - lr * grad
            params += 0.9 * velocity - lr * grad
        else:
            first, second = state
            steps += 1
            first[:] = 0.9 * first + 0.1 * grad
            second[:] = 0.999 * second + 0.001 * grad**2
            step = lr * np.sqrt(1 - 0.999**steps) / (1 - 0.9**steps)
            params -= step * first / (np.sqrt(second) + 1e-8)
    return params, sum(losses) / order.shape[0]


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize(
    "n_samples, batch_size", [(900, 128), (1300, 700), (12000, 5000)]
)
def test_epochs_match_numpy_minibatch_training(solver, n_samples, batch_size):
    # 12000 rows in batches of 5000: two batches with partial-gradient slots,
    # then a smaller one without.
    X, Y, _, network = make_problem(n_samples, 12, 16, 3, np.float64)
    start = network.params.copy()
    order = np.random.RandomState(1).permutation(n_samples)
    settings = dict(solver=solver, alpha=0.01, learning_rate=0.01, momentum=0.9)
    trainer = make_trainer(network, nesterov=True, **settings)
    loss = trainer.run_epoch(X, Y, batch_size=batch_size, n_threads=2, order=order)

    reference = Network(12, 16, 3, np.float64)
    reference.params[:] = start
    state = [np.zeros_like(start) for _ in range(1 if solver == "sgd" else 2)]
    expected, expected_loss = numpy_epoch(
        reference, X, Y, order, batch_size, solver, 0.01, state, 0
    )
    np.testing.assert_allclose(network.params, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10)
    # Every solver counts its steps (dropout masks follow them).
    assert trainer.steps == -(-n_samples // batch_size)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize(
    "n_features, batch_size, slots",
    [
        (40, 100, False),
        (40, 200, True),
        (40, 700, True),
        (40, 5000, True),
        (250, 200, False),
        (250, 700, False),
    ],
)
def test_epochs_are_bitwise_equal_for_any_thread_count(
    dtype, sparse, n_features, batch_size, slots
):
    X, Y, weights, network = make_problem(6000, n_features, 300, 4, dtype)
    data = sp.csr_matrix(X) if sparse else X
    start = network.params.copy()
    order = np.random.RandomState(2).permutation(X.shape[0])
    fits = []
    for n_threads in THREADS:
        network.params[:] = start
        trainer = make_trainer(network, solver="adam", alpha=1e-3, learning_rate=1e-3)
        # Both ways of splitting a batch are covered.
        assert (trainer.batch_slots(batch_size) > 0) == slots
        losses = [
            trainer.run_epoch(
                data,
                Y,
                batch_size=batch_size,
                n_threads=n_threads,
                sample_weight=weights,
                order=order,
            )
            for _ in range(2)
        ]
        fits.append((losses, network.params.copy()))
    for losses, params in fits[1:]:
        assert losses == fits[0][0]
        np.testing.assert_array_equal(params, fits[0][1])


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_optimizer_state_continues_in_a_new_trainer(solver):
    X, Y, _, network = make_problem(900, 12, 16, 3, np.float64)
    start = network.params.copy()
    settings = dict(solver=solver, learning_rate=0.01, momentum=0.9)
    straight = make_trainer(network, **settings)
    for _ in range(2):
        straight.run_epoch(X, Y, batch_size=100)
    two_epochs = network.params.copy()

    network.params[:] = start
    first = make_trainer(network, **settings)
    first.run_epoch(X, Y, batch_size=100)
    state = first.optimizer_state()
    first.learning_rate = 123.0  # the exported state is a copy
    second = make_trainer(network, state=state, **settings)
    for array in state.values():
        if isinstance(array, np.ndarray):
            array[:] = np.nan  # the trainer holds its own copy
    second.run_epoch(X, Y, batch_size=100)
    np.testing.assert_array_equal(network.params, two_epochs)
    assert second.steps == straight.steps
    assert second.learning_rate == 0.01


def test_adam_moments_are_separate_arrays():
    _, _, _, network = make_problem(10, 3, 4, 2, np.float64)
    state = make_trainer(network, solver="adam").optimizer_state()
    assert not np.shares_memory(state["first_moment"], state["second_moment"])
    assert set(state) == {
        "solver",
        "steps",
        "learning_rate",
        "first_moment",
        "second_moment",
    }
    assert set(make_trainer(network).optimizer_state()) == {
        "solver",
        "steps",
        "learning_rate",
        "velocity",
    }


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: {**s, "solver": "sgd"}, "not one of solver"),
        (lambda s: {**s, "first_moment": s["first_moment"][:-1]}, "does not fit"),
        (lambda s: {**s, "second_moment": None}, "does not fit"),
        (lambda s: {**s, "steps": -1}, "non-negative"),
        (lambda s: [1, 2], "not one of solver"),
    ],
)
def test_a_state_that_does_not_fit_is_rejected(change, message):
    _, _, _, network = make_problem(10, 3, 4, 2, np.float64)
    state = make_trainer(network, solver="adam").optimizer_state()
    with pytest.raises(ValueError, match=message):
        make_trainer(network, solver="adam", state=change(state))


def test_data_that_does_not_fit_is_rejected():
    X, Y, _, network = make_problem(50, 3, 4, 2, np.float64)
    trainer = make_trainer(network)
    with pytest.raises(ValueError, match="dtype"):
        trainer.run_epoch(X.astype(np.float32), Y, batch_size=10)
    with pytest.raises(ValueError, match="C-contiguous"):
        trainer.run_epoch(np.asfortranarray(X), Y, batch_size=10)
    with pytest.raises(ValueError, match="Y must"):
        trainer.run_epoch(X, Y[:-1], batch_size=10)
    with pytest.raises(ValueError, match="order must index"):
        trainer.run_epoch(X, Y, batch_size=10, order=np.array([0, 50]))
    with pytest.raises(ValueError, match="CSR"):
        trainer.run_epoch(sp.csc_matrix(X), Y, batch_size=10)
    with pytest.raises(TypeError, match="not picklable"):
        import pickle

        pickle.dumps(trainer)


@pytest.mark.parametrize("sparse", [False, True])
def test_training_keeps_no_row_of_n_features(sparse):
    # Buffers grow with the hidden and output layers, not with the features:
    # the rows of X, dense or CSR, are read where they lie, in any order.
    sizes = []
    n_rows = 300
    Y = np.eye(2)[np.arange(n_rows) % 2]
    for n_features in (10, 20_000):
        X = sp.random(n_rows, n_features, density=5 / n_features, random_state=0)
        X = X.tocsr() if sparse else X.toarray()
        network = Network(n_features, 8, 2, np.float64)
        trainer = make_trainer(network, learning_rate=0.1)
        order = np.random.default_rng(0).permutation(n_rows)
        trainer.run_epoch(X, Y, batch_size=128, order=order)
        sizes.append(trainer.buffer_nbytes)
    # Not even one row of the wide X (the narrow network's buffers include
    # partial gradients, which the wide one's size rules out).
    assert sizes[1] < 20_000 * 8
    assert sizes[1] <= sizes[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_predict_rows_matches_numpy_for_any_thread_count(dtype, sparse):
    X, _, _, network = make_problem(1000, 13, 17, 4, dtype)
    (W1, W2), (b1, b2) = network.coefs, network.intercepts
    weights = (W1, b1, W2, b2)
    A1 = np.tanh(X.astype(np.float64) @ W1 + b1)
    Z2 = A1 @ W2 + b2
    expected = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    arrays = {}
    data = X
    if sparse:
        csr = sp.csr_matrix(X)
        arrays = {
            "X_data": csr.data,
            "X_indices": csr.indices.astype(np.intp),
            "X_indptr": csr.indptr.astype(np.intp),
        }
        data = np.empty((0, 13), dtype=dtype)
    outputs = []
    for n_threads in THREADS:
        out = np.empty((1000, 4), dtype=dtype)
        tanh, softmax = ACTIVATION_CODES["tanh"], ACTIVATION_CODES["softmax"]
        predict_rows(data, *weights, out, tanh, softmax, n_threads, **arrays)
        outputs.append(out)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(outputs[0], expected, rtol=rtol, atol=rtol * 1e-2)
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])


@pytest.mark.parametrize("n_threads", [1, 3])
def test_predict_rows_times_each_block_inside_the_call(n_threads):
    # 1000 rows: three full blocks and a short one. The timings change
    # nothing; on one thread the blocks run one after the other inside the
    # call, so their sum is at most the call's time.
    X, _, _, network = make_problem(1000, 13, 17, 4, np.float64)
    (W1, W2), (b1, b2) = network.coefs, network.intercepts
    codes = ACTIVATION_CODES["relu"], ACTIVATION_CODES["softmax"]
    n_blocks = -(-1000 // BLOCK_ROWS)
    plain, timed = np.empty((1000, 4)), np.empty((1000, 4))
    predict_rows(X, W1, b1, W2, b2, plain, *codes, n_threads)
    seconds = np.full(n_blocks, -1.0)
    started = time.perf_counter()
    predict_rows(X, W1, b1, W2, b2, timed, *codes, n_threads, block_seconds=seconds)
    elapsed = time.perf_counter() - started
    np.testing.assert_array_equal(timed, plain)
    assert (seconds > 0).all()
    if n_threads == 1:
        assert seconds.sum() <= elapsed
    with pytest.raises(ValueError, match="one entry per block"):
        predict_rows(
            X, W1, b1, W2, b2, timed, *codes, 1, block_seconds=np.zeros(n_blocks - 1)
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(2500, 13), (3, 8), (1, 1), (0, 5), (4, 0)])
def test_largest_row_sum_is_numpys_for_any_thread_count(
    compiled_forward, dtype, shape
):
    # 2500 rows: two full tasks of rows and a short one; 13 columns: one
    # vector of partial sums and 5 more. The row sums are in float64.
    rng = np.random.default_rng(0)
    X = (rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 4, shape)).astype(dtype)
    if shape[0] > 1000:
        X[1717] *= 50  # the largest row, in the second task
    expected = np.abs(X.astype(np.float64)).sum(axis=1).max(initial=0.0)
    sums = [compiled_forward.largest_row_sum(X, n_threads) for n_threads in THREADS]
    assert sums[0] == pytest.approx(expected, rel=1e-14, abs=0)
    assert sums[1:] == sums[:-1]
    # The fallback for other layouts (a copy at a time) agrees.
    assert _network._largest_row_sum(np.asfortranarray(X)) == pytest.approx(
        expected, rel=1e-6 if dtype == np.float32 else 1e-14, abs=0
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("row", [0, 1023, 1024, 2499])
def test_largest_row_sum_is_nan_or_inf_where_x_is(compiled_forward, dtype, row):
    # The fit's finiteness check: an infinity or a NaN is kept whatever
    # the larger rows around it (in its task of rows or in others), and a
    # NaN wins over an infinity, compiled and in the fallback.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2500, 13)).astype(dtype)
    X[2000 if row < 1024 else 5] *= 1e3
    with_inf = X.copy()
    with_inf[row, 12] = -np.inf
    with_nan = with_inf.copy()
    with_nan[(row + 1300) % 2500, 3] = np.nan
    for n_threads in THREADS:
        assert compiled_forward.largest_row_sum(with_inf, n_threads) == np.inf
        assert np.isnan(compiled_forward.largest_row_sum(with_nan, n_threads))
    assert _network._largest_row_sum(np.asfortranarray(with_inf)) == np.inf
    assert np.isnan(_network._largest_row_sum(np.asfortranarray(with_nan)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predict_rows_finds_every_value_that_is_not_finite(compiled_forward, dtype):
    # 700 rows: two full blocks of rows and a short one; bad values at the
    # first and last entry, at a block's edges and inside.
    X, _, _, network = make_problem(700, 13, 17, 4, dtype)
    (W1, W2), (b1, b2) = network.coefs, network.intercepts
    tiny = np.finfo(dtype).tiny / 4
    extremes = [0.0, -0.0, tiny, -tiny, np.finfo(dtype).max, -np.finfo(dtype).max]
    X.flat[: len(extremes)] = extremes

    def finite(data, n_threads):
        out = np.empty((data.shape[0], 4), dtype=dtype)
        return compiled_forward.predict_rows(
            data,
            W1,
            b1,
            W2,
            b2,
            out,
            ACTIVATION_CODES["relu"],
            ACTIVATION_CODES["softmax"],
            n_threads,
            check_finite=True,
        )

    assert np.isfinite(X).all() and finite(X, 2) is True
    for index in (0, 255 * 13 + 12, 256 * 13, 400 * 13 + 5, X.size - 1):
        for bad in (np.nan, np.inf, -np.inf):
            data = X.copy()
            data.flat[index] = bad
            assert not np.isfinite(data).all()
            for n_threads in (1, 3):
                assert finite(data, n_threads) is False


@pytest.mark.parametrize("transform", [False, True])
def test_forward_without_the_check_computes_every_block(compiled_forward, transform):
    # 700 rows of 13 features: blocks small enough to be read before their
    # product even unchecked. A NaN in block 1 (rows 256..511) reaches its
    # row's outputs only; every block is computed, as numpy computes it.
    X, _, _, network = make_problem(700, 13, 17, 4, np.float64)
    (W1, W2), (b1, b2) = network.coefs, network.intercepts
    X[300, 5] = np.nan
    # tanh carries a NaN through (a ReLU's max may drop it).
    tanh = ACTIVATION_CODES["tanh"]
    A1 = np.tanh(X @ W1 + b1)
    if transform:
        expected, out = A1, np.empty((700, 17))
        done = compiled_forward.transform_rows(X, W1, b1, out, tanh, 2)
    else:
        Z2 = A1 @ W2 + b2
        expected = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
        expected /= expected.sum(axis=1, keepdims=True)
        out = np.empty((700, 4))
        softmax = ACTIVATION_CODES["softmax"]
        done = compiled_forward.predict_rows(X, W1, b1, W2, b2, out, tanh, softmax, 2)
    assert done is True
    assert np.isnan(out[300]).all()
    others = np.arange(700) != 300
    np.testing.assert_allclose(out[others], expected[others], rtol=1e-12, atol=1e-14)


def test_a_batch_of_one_thread_s_work_is_not_split_over_slots():
    # Under twice the work cap's share the thread policy gives a batch one
    # thread on any machine; slots would only add their sum.
    _, _, _, network = make_problem(10, 40, 300, 4, np.float64)
    trainer = make_trainer(network)
    flops_per_row = 4 * 40 * 300 + 6 * 300 * 4
    assert trainer.flops_per_row == flops_per_row
    smallest = -(-2 * MIN_FLOPS_PER_THREAD // flops_per_row)
    assert trainer.batch_slots(smallest) >= 2
    assert trainer.batch_slots(smallest - 1) == 0
    assert threads_for_work(64, (smallest - 1) * flops_per_row) == 1
    assert threads_for_work(64, smallest * flops_per_row) == 2


@pytest.mark.parametrize(
    "shape",
    [(784, 256, 10), (784, 128, 10), (2, 9000, 2), (20000, 3, 2), (40, 300, 4),
     (100, 400, 4), (7, 9, 3), (30, 200, 120)],
)
def test_units_tasks_cover_every_weight_once(shape):
    n_features, n_hidden, n_outputs = shape
    _, _, _, network = make_problem(4, *shape, np.float64)
    tasks = make_trainer(network).unit_tasks()
    w1 = np.zeros((n_features, n_hidden), dtype=int)
    w2 = np.zeros(n_hidden, dtype=int)
    for f0, fs, h0, hs, u0, us in tasks:
        assert fs > 0 and hs > 0 and us >= 0
        w1[f0:f0 + fs, h0:h0 + hs] += 1
        # A task's W2 rows lie in its hidden block.
        assert us == 0 or h0 <= u0 and u0 + us <= h0 + hs
        w2[u0:u0 + us] += 1
    assert (w1 == 1).all()
    assert (w2 == 1).all()


def test_units_tasks_of_a_large_layer_are_even_for_sixteen_threads():
    # 784-256-10: 16 tasks, each a 98 x 128 tile of W1, every other
    # feature block's with 32 rows of W2: 16 threads finish the phase
    # within 3% of each other (tiles of 60 features, 29 tasks with W2's
    # own, would leave 13 threads two tiles and 3 threads one).
    _, _, _, network = make_problem(4, 784, 256, 10, np.float32)
    tasks = make_trainer(network).unit_tasks()
    assert len(tasks) == 16
    assert (tasks[:, 1] * tasks[:, 3] == 784 * 256 // 16).all()
    work = tasks[:, 1] * tasks[:, 3] + tasks[:, 5] * 10
    assert work.max() / (work.sum() / 16) < 1.03


def test_no_more_threads_start_than_a_phase_has_tasks():
    # A batch of 100 rows, too little work for slots: four 32-row loss
    # blocks, then one W1 tile and one block of W2; four tasks at most.
    X, Y, _, network = make_problem(100, 7, 9, 3, np.float64)
    trainer = make_trainer(network, learning_rate=0.1)
    assert trainer.batch_slots(100) == 0
    assert trainer.team_limit(100) == 4
    trainer.run_epoch(X, Y, batch_size=100, n_threads=8)
    assert 1 <= trainer.last_team <= 4
    trainer.run_epoch(X, Y, batch_size=100, n_threads=1)
    assert trainer.last_team == 1
