"""The scaling model of asv_bench/scaling_model.py and the measurements it
reads: the trainer's task recording (same weights, the tasks the split
gives) and the replay of a static schedule. No speed is asserted."""

import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn_twolayer._openmp_helpers import barrier_seconds, last_arrival_seconds

from sklearn_twolayer._dispatch import trainer as compiled_trainer
from sklearn_twolayer._fitting import Trainer
from sklearn_twolayer._network import Network

ASV_BENCH = Path(__file__).resolve().parents[1] / "asv_bench"

#: Elements of the flat parameter vector per task of the reduce phase
#: (FLAT_BLOCK of src/_blocks.pxd).
FLAT_BLOCK = 4096


@pytest.fixture(scope="module")
def model():
    """asv_bench/scaling_model.py, imported as its script run does (with
    asv_bench/ on sys.path)."""
    if not (ASV_BENCH / "scaling_model.py").exists():
        # The tests run from a copy beside an installed wheel.
        pytest.skip("asv_bench/ is not beside the tests")
    sys.path.insert(0, str(ASV_BENCH))
    try:
        spec = importlib.util.spec_from_file_location(
            "scaling_model", ASV_BENCH / "scaling_model.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ASV_BENCH))
    return module


def make_problem(n_samples, n_features, n_hidden, n_outputs, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features))
    Y = np.eye(n_outputs)[rng.randint(n_outputs, size=n_samples)]
    network = Network(n_features, n_hidden, n_outputs, np.float64)
    network.params[:] = rng.uniform(-0.3, 0.3, size=network.params.shape)
    return X, Y, network


def make_trainer(network):
    (n_features, n_hidden), (_, n_outputs) = network.shapes
    return Trainer(
        network.params,
        n_features,
        n_hidden,
        n_outputs,
        activation="relu",
        out_activation="softmax",
        loss="log_loss",
        solver="adam",
        alpha=1e-3,
        learning_rate=1e-3,
    )


KINDS = list(compiled_trainer.TASK_KINDS)

# (n_features, batch_size): batches split over slots (small network; a
# batch of many large chunks), and into rows x units (large network).
SPLITS = [(40, 200), (40, 5000), (250, 200), (250, 700)]


@pytest.mark.parametrize("n_features, batch_size", SPLITS)
@pytest.mark.parametrize("sparse", [False, True])
def test_recorded_epochs_train_bitwise_as_plain_epochs(n_features, batch_size, sparse):
    X, Y, network = make_problem(6000, n_features, 300, 4)
    data = sp.csr_matrix(X) if sparse else X
    order = np.random.RandomState(1).permutation(X.shape[0])
    start = network.params.copy()
    results = []
    for n_threads, record in [(1, False), (2, False), (1, True)]:
        network.params[:] = start
        trainer = make_trainer(network)
        losses = []
        for _ in range(2):
            if record:
                records, n_barriers, loss = trainer.record_tasks(
                    data, Y, batch_size=batch_size, order=order
                )
                assert trainer.last_team == 1
                assert records.shape[0] > 0 and n_barriers > 0
            else:
                loss = trainer.run_epoch(
                    data, Y, batch_size=batch_size, n_threads=n_threads, order=order
                )
            losses.append(loss)
        state = trainer.optimizer_state()
        results.append((losses, network.params.copy(), state))
    for losses, params, state in results[1:]:
        assert losses == results[0][0]
        np.testing.assert_array_equal(params, results[0][1])
        assert state["steps"] == results[0][2]["steps"]
        for name in ("first_moment", "second_moment"):
            np.testing.assert_array_equal(state[name], results[0][2][name])


@pytest.mark.parametrize("n_features, batch_size", SPLITS)
def test_timed_threads_train_bitwise_as_plain_epochs(n_features, batch_size):
    X, Y, network = make_problem(3000, n_features, 300, 4)
    order = np.random.RandomState(2).permutation(X.shape[0])
    start = network.params.copy()
    trainer = make_trainer(network)
    plain = trainer.run_epoch(X, Y, batch_size=batch_size, n_threads=3, order=order)
    expected = network.params.copy()
    for timed in ("waits", "core_seconds", "both"):
        network.params[:] = start
        trainer = make_trainer(network)
        waits, held = np.full(3, -1.0), np.full(3, -1.0)
        began = time.perf_counter()
        loss = trainer.run_epoch(
            X,
            Y,
            batch_size=batch_size,
            n_threads=3,
            order=order,
            waits=None if timed == "core_seconds" else waits,
            core_seconds=None if timed == "waits" else held,
        )
        wall = time.perf_counter() - began
        assert loss == plain
        np.testing.assert_array_equal(network.params, expected)
        team = trainer.last_team
        # A thread waits and holds its core within the call (its CPU clock
        # ticks in steps of a few microseconds at worst); threads past the
        # team never ran.
        if timed != "core_seconds":
            assert ((waits[:team] >= 0) & (waits[:team] <= wall)).all()
            assert (waits[team:] == 0).all()
        if timed != "waits" and sys.platform in ("linux", "darwin"):
            assert ((held[:team] > 0) & (held[:team] <= wall + 1e-3)).all()
            assert (held[team:] == 0).all()
        elif timed != "waits":
            # No thread CPU clock here.
            assert (held[:team] == -1).all()
    with pytest.raises(ValueError, match="one entry per thread"):
        trainer.run_epoch(X, Y, batch_size=batch_size, n_threads=3, waits=np.zeros(2))
    with pytest.raises(ValueError, match="float64 array"):
        trainer.run_epoch(
            X, Y, batch_size=batch_size, n_threads=3, core_seconds=np.zeros(3, int)
        )


def test_timed_threads_give_the_loss_and_gradient_of_a_plain_pass():
    # L-BFGS's passes over all the data (a large batch, over slots).
    X, Y, network = make_problem(6000, 50, 300, 4)
    trainer = make_trainer(network)
    plain = trainer.loss_and_gradient(X, Y, n_threads=3)
    gradient = trainer.grads.copy()
    held = np.full(3, -1.0)
    began = time.perf_counter()
    loss = trainer.loss_and_gradient(X, Y, n_threads=3, core_seconds=held)
    wall = time.perf_counter() - began
    assert loss == plain
    np.testing.assert_array_equal(trainer.grads, gradient)
    team = trainer.last_team
    if sys.platform in ("linux", "darwin"):
        assert ((held[:team] > 0) & (held[:team] <= wall + 1e-3)).all()
        assert (held[team:] == 0).all()
    with pytest.raises(ValueError, match="one entry per thread"):
        trainer.loss_and_gradient(X, Y, n_threads=3, core_seconds=np.zeros(2))


def phases_of(records, n_barriers):
    """{phase: (kind name, [task numbers])} of the task records."""
    phases = {}
    for r in records[records["kind"] != KINDS.index("batch")]:
        kind, tasks = phases.setdefault(r["phase"], (KINDS[r["kind"]], []))
        assert KINDS[r["kind"]] == kind
        tasks.append(r["task"])
    assert set(phases) <= set(range(n_barriers))
    return phases


@pytest.mark.parametrize("n_features, batch_size", SPLITS)
def test_recorded_tasks_are_those_of_the_split(n_features, batch_size):
    # The last batch is smaller (split otherwise, or over fewer slots).
    X, Y, network = make_problem(5200, n_features, 300, 4)
    trainer = make_trainer(network)
    # The tasks of a team larger than any phase: the rows phase of a chunk
    # then has a task per 32-row block.
    records, n_barriers, _ = trainer.record_tasks(X, Y, batch_size=batch_size, team=64)
    n_params = network.params.shape[0]
    batch_records = records[records["kind"] == KINDS.index("batch")]
    n_batches = -(-X.shape[0] // batch_size)
    # One record per batch, after its tasks, and the batches in order.
    np.testing.assert_array_equal(batch_records["batch"], np.arange(n_batches))
    assert (records["seconds"] >= 0).all()
    phases = phases_of(records, n_barriers)
    # Every phase's tasks ran once each, in order, on the one thread.
    for _, tasks in phases.values():
        assert tasks == list(range(len(tasks)))
    largest = 0
    for batch in range(n_batches):
        rows = min(batch_size, X.shape[0] - batch * batch_size)
        in_batch = records[(records["batch"] == batch) & (records["task"] >= 0)]
        kinds = [phases[p][0] for p in np.unique(in_batch["phase"])]
        n_slots = trainer.batch_slots(rows)
        if n_slots:
            # The slots, then the flat blocks of the parameter vector.
            assert kinds == ["slots", "reduce"]
            slot_phase, reduce_phase = np.unique(in_batch["phase"])
            assert len(phases[slot_phase][1]) == n_slots
            assert len(phases[reduce_phase][1]) == -(-n_params // FLAT_BLOCK)
        else:
            # Rows then units, once per chunk; the units are the W1 tiles
            # and W2 blocks, the same for every chunk.
            assert kinds[0::2] == ["rows"] * (len(kinds) // 2)
            assert kinds[1::2] == ["units"] * (len(kinds) // 2)
            units = {
                len(phases[p][1])
                for p in np.unique(in_batch["phase"])
                if phases[p][0] == "units"
            }
            assert len(units) == 1
            row_tasks = sum(
                len(phases[p][1])
                for p in np.unique(in_batch["phase"])
                if phases[p][0] == "rows"
            )
            chunks = [min(512, rows - start) for start in range(0, rows, 512)]
            assert row_tasks == sum(-(-chunk // 32) for chunk in chunks)
        if rows == min(batch_size, X.shape[0]):
            for p in np.unique(in_batch["phase"]):
                largest = max(largest, len(phases[p][1]))
    # Each phase ends at a barrier; a full batch's largest phase sets the
    # trainer's limit on its team.
    assert n_barriers == len(phases)
    assert trainer.team_limit(min(batch_size, X.shape[0])) == largest


def test_replay_at_one_thread_is_the_sum_of_the_tasks(model):
    X, Y, network = make_problem(1100, 40, 300, 4)
    trainer = make_trainer(network)
    records, n_barriers, _ = trainer.record_tasks(X, Y, batch_size=200)
    profile = model.profile_from_records(records, n_barriers, 1.0, KINDS)
    tasks = records["seconds"][records["task"] >= 0].sum()
    assert profile.n_barriers == n_barriers
    assert sum(p.sum() for p in profile.phases) == pytest.approx(tasks)
    assert model.replay_epoch(profile, 1, barrier_seconds_per_thread=1.0) == (
        pytest.approx(tasks + profile.serial)
    )
    assert model.replay_epoch(profile, 3, 1e-3) == pytest.approx(
        model.replay_epoch(profile, 3, 0) + 2e-3 * n_barriers
    )
    measured = model.replay_epoch(profile, 5, 1e-3, growth="measured", per_sleeper=1e-4)
    assert measured == pytest.approx(
        model.replay_epoch(profile, 5, 0) + (1e-3 + 3e-4) * n_barriers
    )


def test_replay_never_slows_down_with_threads_up_to_the_tasks(model):
    rng = np.random.RandomState(0)
    # Tasks of equal size within a phase (as the split makes them), phases
    # of different sizes and counts.
    phases = [np.full(n, rng.uniform(1, 5)) for n in (1, 3, 4, 7, 16, 17, 25)]
    profile = model.EpochProfile(phases, ["rows"] * len(phases), serial=0.5)
    times = [model.replay_epoch(profile, team, 0.0) for team in range(1, 26)]
    assert all(b <= a for a, b in zip(times, times[1:], strict=False))
    assert times[-1] == pytest.approx(sum(p[0] for p in phases) + 0.5)


def test_a_hand_made_schedule_replays_to_its_hand_computed_time(model):
    profile = model.EpochProfile(
        phases=[np.array([3.0, 1.0, 2.0]), np.array([4.0]), np.array([1.0, 1.0])],
        kinds=["rows", "units", "slots"],
        serial=0.25,
    )
    # Team of 2: thread 0 runs tasks 0 and 1, thread 1 task 2.
    np.testing.assert_array_equal(model.thread_loads([3.0, 1.0, 2.0], 2), [4.0, 2.0])
    # Phases 4 + 4 + 1, three barriers of (2 - 1) x 0.5, and the serial part.
    assert model.replay_epoch(profile, 2, 0.5) == pytest.approx(4 + 4 + 1 + 1.5 + 0.25)
    # Team of 3: 3 + 4 + 1, three barriers of 2 x 0.5.
    assert model.replay_epoch(profile, 3, 0.5) == pytest.approx(3 + 4 + 1 + 3 + 0.25)
    assert model.tasks_with_work(profile, 2) == {"rows": 2, "units": 1, "slots": 2}


def test_a_phase_on_shared_cores_takes_its_work_over_their_capacity(model):
    loads = np.array([3.0, 1.0, 0.0])
    # A core per thread: the slowest thread.
    assert model.phase_seconds(loads) == 3.0
    assert model.phase_seconds(loads, lambda k: 2.0) == 3.0
    # Two busy threads taking turns on one core: all the work, one at a time.
    assert model.phase_seconds(loads, lambda k: 1.0) == 4.0
    assert model.phase_seconds(np.array([2.0, 2.0]), lambda k: 1.6) == 2.5
    # One busy thread is never slowed down.
    assert model.phase_seconds(np.array([2.0, 0.0]), lambda k: 0.5) == 2.0
    capacity = model.capacity_of(1.25)
    assert capacity(1) == 1.0 and capacity(2) == 1.25
    profile = model.EpochProfile([np.array([1.0, 1.0])], ["rows"], serial=0.0)
    assert model.replay_epoch(profile, 2, 0.0, capacity) == pytest.approx(1.6)


def test_only_repeats_with_two_cores_validate_a_core_per_thread(model):
    times = [1.0, 2.0, 3.0, 4.0]
    shares = [1.0] * 4
    assert model.two_core_times(times, [2.0, 1.0, 1.9, 1.79], shares) == [1.0, 3.0]
    assert model.two_core_times(times, [1.0] * 4, shares) == []
    # A run that lost part of a core counts out, whatever the capacity
    # beside it.
    assert model.two_core_times(times, [2.0] * 4, [0.95, 0.85, 1.0, 0.89]) == [
        1.0,
        3.0,
    ]


def test_a_team_run_shows_the_speed_of_its_slowest_thread(model):
    profile = model.EpochProfile(
        [np.array([2.0, 1.0, 1.0]), np.array([1.0])], ["units", "rows"], serial=0.5
    )
    # Thread 0 takes tasks 0-1 of the first phase and the second's one
    # task; thread 1 the last task of the first; both the serial work.
    work = model.thread_work(profile, 2)
    np.testing.assert_allclose(work, [4.5, 1.5])
    # Each thread worked at one-thread speed: thread 1 waited the rest.
    assert model.slowest_thread_speed(4.5, np.array([0.0, 3.0]), work) == 1.0
    # Thread 1 ran at half speed: it worked 3 s for its 1.5.
    assert model.slowest_thread_speed(4.5, np.array([0.0, 1.5]), work) == 0.5
    # Both at 0.6: the epoch takes 4.5 / 0.6 s, thread 1 waits the rest.
    assert model.slowest_thread_speed(7.5, np.array([0.0, 5.0]), work) == (
        pytest.approx(0.6)
    )
    # A thread without work sets no speed.
    assert model.slowest_thread_speed(2.0, np.array([1.0, 2.0]), [1.0, 0.0]) == 1.0
    assert model.slowest_thread_speed(2.0, np.array([0.0]), [1.0]) == 0.5


def test_cores_of_a_run_are_its_cpu_time_over_its_wall_time(model):
    # A sleep keeps no core busy; a loop in Python keeps one (or less,
    # where the machine is shared).
    result, cores = model.with_cores(lambda: time.sleep(0.05) or "slept")
    assert result == "slept" and cores < 0.5
    _, cores = model.with_cores(lambda: sum(range(3_000_000)))
    assert 0.2 < cores <= 1.05


def test_each_thread_takes_a_run_of_consecutive_tasks(model):
    blocks = [1.0, 2.0, 3.0, 4.0, 5.0]
    # Two threads: tasks 0-2 and 3-4 (the first thread one more).
    np.testing.assert_array_equal(model.thread_loads(blocks, 2), [6.0, 9.0])
    np.testing.assert_array_equal(model.thread_loads(blocks, 1), [15.0])
    np.testing.assert_array_equal(model.thread_loads(blocks, 7), [1, 2, 3, 4, 5, 0, 0])
    # Five threads, seven tasks: runs of 2, 2, 1, 1, 1.
    loads = model.thread_loads(np.arange(1.0, 8.0), 5)
    np.testing.assert_array_equal(loads, [1 + 2, 3 + 4, 5, 6, 7])


def test_profile_keeps_the_tasks_proportions_and_the_rest_is_serial(model):
    dtype = compiled_trainer._RECORD_DTYPE
    batch = KINDS.index("batch")
    rows, units = KINDS.index("rows"), KINDS.index("units")

    def records(scale):
        return np.array(
            [
                (0, rows, 0, 0, 1.0 * scale),
                (0, rows, 0, 1, 2.0 * scale),
                (0, units, 1, 0, 3.0 * scale),
                (0, batch, 2, -1, 7.0 * scale),
            ],
            dtype=dtype,
        )

    profile = model.profile_from_records(
        [records(1), records(3), records(2)], 2, [10.0, 30.0, 20.0], KINDS
    )
    np.testing.assert_array_equal(profile.phases[0], [2.0, 4.0])
    np.testing.assert_array_equal(profile.phases[1], [6.0])
    assert profile.kinds == ["rows", "units"]
    # The batch's 14 s less its tasks' 12 s, and the call's 20 s less 14 s.
    assert profile.serial == pytest.approx(2 + 6)


def test_an_interrupted_task_does_not_decide_its_phase(model):
    dtype = compiled_trainer._RECORD_DTYPE
    slots, batch = KINDS.index("slots"), KINDS.index("batch")

    def records(late):
        # Four equal slots; one of them interrupted in this epoch.
        seconds = [1.0, 1.0, 1.0, 1.0]
        if late is not None:
            seconds[late] += 3.0
        rows = [(0, slots, 0, i, t) for i, t in enumerate(seconds)]
        return np.array(rows + [(0, batch, 1, -1, sum(seconds))], dtype=dtype)

    epochs = [records(0), records(1), records(None), records(0), records(2)]
    profile = model.profile_from_records(epochs, 1, [10.0] * 5, KINDS)
    # Equal tasks, adding up to the median epoch's 7 s.
    np.testing.assert_allclose(profile.phases[0], [1.75] * 4)
    assert model.replay_epoch(profile, 4, 0.0) == pytest.approx(1.75 + 3.0)


def test_teams_follow_the_thread_policy_and_the_trainer_limit(model):
    _, _, network = make_problem(10, 40, 300, 4)
    trainer = make_trainer(network)
    for batch_size in (50, 200, 5000):
        limit = trainer.team_limit(batch_size)
        assert model.epoch_team(trainer, batch_size, 1) == 1
        assert model.epoch_team(trainer, batch_size, 64, work_cap=False) == min(
            64, limit
        )
        assert model.epoch_team(trainer, batch_size, 64) <= limit
    # No more threads than take each phase's tasks in as few rounds: a
    # batch over 16 slots, then 3 flat blocks of the parameters.
    assert trainer.batch_slots(5000) == 16
    phases = (16, -(-network.params.shape[0] // 4096))
    assert trainer.team_limit(5000) == max(phases)

    def rounds(team):
        return [-(-tasks // min(team, tasks)) for tasks in phases]

    for n_threads in range(1, 40):
        team = trainer.team_size(5000, n_threads)
        assert team <= min(n_threads, max(phases))
        assert rounds(team) == rounds(n_threads)
        assert team == 1 or rounds(team - 1) != rounds(n_threads)
    assert model.predict_team(5, 10**12, 64) == 5
    assert model.predict_team(80, 10**12, 64, work_cap=False) == 64


def test_barrier_helper_runs_a_team():
    seconds, team = barrier_seconds(2, 10)
    assert 1 <= team <= 2 and np.isfinite(seconds)
    seconds, team = barrier_seconds(1, 10, 1e-6)
    assert team == 1 and np.isfinite(seconds)
    with pytest.raises(ValueError):
        barrier_seconds(0, 10)


@pytest.mark.parametrize("team, expected", [(1, 1), (3, 3), (16, 16), (64, 16)])
def test_a_recording_has_the_rows_tasks_of_its_team(team, expected):
    # A 512-row batch of a network too large for slots: its rows phase has
    # one run of 32-row blocks per thread, at most 512 / 32 of them.
    X, Y, network = make_problem(1024, 250, 300, 4)
    trainer = make_trainer(network)
    assert trainer.batch_slots(512) == 0
    records, n_barriers, _ = trainer.record_tasks(X, Y, batch_size=512, team=team)
    phases = phases_of(records, n_barriers)
    rows = [tasks for kind, tasks in phases.values() if kind == "rows"]
    assert [len(tasks) for tasks in rows] == [expected, expected]


def test_a_flat_barrier_costs_a_team_what_it_costs_two_threads(model):
    assert model.barrier_cost(1, 1e-5, "flat") == 0
    assert model.barrier_cost(2, 1e-5, "flat") == model.barrier_cost(2, 1e-5)
    assert model.barrier_cost(16, 1e-5, "flat") == 1e-5
    assert model.barrier_cost(16, 1e-5) == pytest.approx(15e-5)


def test_a_measured_barrier_adds_each_sleeper_s_wake_up(model):
    assert model.barrier_cost(1, 1e-5, "measured", 1e-6) == 0
    assert model.barrier_cost(2, 1e-5, "measured", 1e-6) == 1e-5
    assert model.barrier_cost(16, 1e-5, "measured", 1e-6) == pytest.approx(2.4e-5)
    # The two bounds: no sleeper costs anything, every one a whole barrier.
    assert model.barrier_cost(16, 1e-5, "measured", 0) == model.barrier_cost(
        16, 1e-5, "flat"
    )
    assert model.barrier_cost(16, 1e-5, "measured", 1e-5) == pytest.approx(
        model.barrier_cost(16, 1e-5, "linear")
    )


def test_the_last_arrival_helper_times_a_team_and_unpins_it(model):
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    seconds, team = last_arrival_seconds(3, 5, 2e-4)
    assert 1 <= team <= 3 and np.isfinite(seconds) and seconds >= 0
    # The helper pins its threads while it runs, and only then.
    if affinity is not None:
        assert os.sched_getaffinity(0) == affinity
    seconds, team = last_arrival_seconds(1, 3, 0)
    assert team == 1 and np.isfinite(seconds)
    with pytest.raises(ValueError):
        last_arrival_seconds(0, 10, 0)
    per_sleeper = model.measure_wake(teams=(2, 3), n_barriers=5, delay=2e-4)
    assert np.isfinite(per_sleeper) and per_sleeper >= 0
