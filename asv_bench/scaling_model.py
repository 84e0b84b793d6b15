"""Scaling model: the time per epoch, and of a 20000-row predict_proba, at
1 to 64 threads, predicted from one-thread measurements of the real code.

No many-core machine is at hand, so many-core behaviour is judged by
replaying the trainer's static schedule with task times measured here.
Usage::

    python asv_bench/scaling_model.py [--scenarios digits medium ...]
                                      [--repeats 5] [--small] [--no-work-cap]

The model
---------
Training.
    ``Trainer.record_tasks`` runs an epoch of the scenario on one thread
    with the compiled code and times every task of every phase (the rows
    and units phases of a batch split into rows x units, the slots and
    reduce phases of a batch split over slots), each batch as a whole, and
    counts the barriers; the epoch is recorded ``--repeats`` times (an
    epoch shorter than ``MIN_RUN_SECONDS`` several times each time),
    interleaved with the validation runs (see ``profile_from_records`` for
    how the recorded epochs make one). A
    team of ``n`` threads gives each thread a run of consecutive tasks of
    each phase (``_first_task`` in ``src/_trainer.pyx``), and the phases
    meet at barriers, so the predicted time of an epoch is::

        sum over phases of max over threads of their tasks' summed times
        + n_barriers x barrier(n)
        + what the batches do outside their tasks (every thread does it,
          at once: the same at any n)
        + what the call does outside its batches (checks, the team's start)

    The team size at ``c`` cores is what the package would choose: the
    trainer runs ``Trainer.team_size(batch, threads_for_work(c, work of a
    batch))`` threads (``sklearn_twolayer._threads``: budget and cores are
    both ``c``; the trainer never starts more threads than the larger of a
    batch's phases has tasks, nor more than take as many rounds of them).
    Task counts come from the recorded tasks, never from the trainer's
    constants. The rows phase
    of a batch split into rows x units has one task per thread (runs of
    32-row blocks): each team size is recorded with its own tasks
    (``record_tasks(team=n)``), still on one thread.

Prediction.
    ``predict_rows`` is a ``prange(schedule="static")`` over blocks of
    ``BLOCK_ROWS`` rows: thread ``t`` of ``n`` takes a contiguous run of
    ``q`` or ``q + 1`` blocks (the first ``r`` threads one more, ``q, r =
    divmod(n_blocks, n)``, as GNU libgomp cuts a static loop). Each
    block's time is measured inside one call of the compiled kernel on all
    rows on one thread (its ``block_seconds``; over the repeats as for the
    trainer's tasks, see ``typical_task_seconds``); the rest of a
    ``predict_proba`` (validation, allocations) is its one-thread time
    minus the blocks' sum. The team is ``threads_for_work(c, products'
    work)`` capped at the number of blocks; the end of the loop is one
    barrier of OpenMP's.

Barriers.
    ``barrier_seconds`` (``sklearn_twolayer._openmp_helpers``) times the
    trainer's own barrier here beside each timed repeat (the median is
    taken), in a team of 2, with one thread arriving 100 microseconds late
    each time (a different one each time), so that the others spin and
    then check while yielding their core (they sleep on the futex only
    after some hundreds of microseconds), as at the end of an unbalanced
    phase. The barrier is a counter on one cache line:
    each arrival is an atomic add on that line, and the last one wakes all
    sleepers with one futex call whose cost grows with the sleepers. A
    team whose phases differ by less than the waiting thread's spins and
    yields never sleeps, and its barrier costs about a microsecond; a
    sleeper's wake-up costs tens. By default (``--barrier-growth
    measured``) the model charges each thread past two what a sleeper
    adds: ``last_arrival_seconds`` times the barrier call of a thread that
    arrives 50 ms after the rest of a team of 2, 4 and 8 threads (past
    their spins and yields, asleep by then even where the waiting threads
    share one core, as they do here; the late thread has a core of its
    own, so that no woken thread runs on the waking thread's core), and
    the slope of a straight line through those times is what each sleeper
    adds: ``barrier(n) = barrier(2) + (n - 2) x slope``, and 0 for one
    thread (the barrier returns at once). Two bounds are printed beside it:
    ``linear``, ``barrier(n) = (n - 1) x barrier(2)`` (every sleeper
    charged a whole two-thread barrier, its wake-up latency included, as if
    the wake-ups came one after another), and ``flat``, ``barrier(n) =
    barrier(2)``. On a many-core machine threads on other sockets pay more
    per arrival and wake-up, and threads that spin instead of sleeping pay
    less.

Cores.
    The predictions for 16 and 64 threads assume a core per thread, each
    running a task as fast as one thread alone does here. A machine may
    give less: two vCPUs of a virtual machine may share one physical core,
    and threads share memory bandwidth and the last-level cache. So the
    model also measures, per scenario, the *capacity* of two busy threads:
    the same one-thread work (an epoch of a second trainer on the same
    data; the forward pass) timed alone and while a second Python thread
    runs it too (the compiled code releases the GIL), ``capacity = 2 x
    alone / together`` (2: a core each; 1: the two take turns on one
    core), once beside each timed repeat: on a shared virtual machine it
    changes from one minute to the next. With it, a phase of ``k`` busy
    threads takes ``max(slowest thread's load, total load / capacity(k))``;
    the "here" column of the validation is that prediction for 2 threads
    on this machine, the "own cores" column the one with a core per
    thread, and the "2 cores" column the measured 2-thread time of only
    those repeats whose capacity was at least ``TWO_CORES`` and whose
    2-thread run itself had its cores (``TWO_CORES / 2`` of them, see
    ``two_core_times``), which the "own cores" prediction is compared
    with. A run's own cores show in it: in training, each thread's
    predicted work over the time it did not wait at a barrier
    (``Trainer.run_epoch(waits=...)``) is the speed it ran at, and the
    slowest thread's is the run's share (here two vCPUs are now and then
    one physical core's worth for a while: both threads of a 2-thread
    epoch then run at about 0.6 of one thread's speed, while the epochs
    on one thread beside it do not slow down); in prediction, the
    process's CPU time over wall time against the cores the prediction
    keeps busy. The threshold also bounds what the model leaves out of the
    validated runs (below) to 10%. The "team work" column is the 2-thread
    runs' time not spent waiting, summed over the threads, over the
    one-thread work the model gives them: what running in a team adds to
    the tasks (the cache lines one thread reads that the other wrote, and
    the slowed vCPUs), which the model leaves out.

What the model leaves out: memory bandwidth and caches shared by more than
two threads (each task runs as fast as alone), the cache misses of tasks
that read what other threads wrote, frequency scaling, and the scheduler of
a machine whose cores are shared with other work, and that a task recorded
right after one that read the same inputs (the second W1 tile of a block
of features) found them in cache, which it may not when another thread
ran that one. The split into runs need not be monotone: tasks of unequal
sizes may give a larger team a slower phase.

Validation: the epoch (``Trainer.run_epoch`` with the order and batch
size of a fit, the teams above) and ``predict_proba`` on 20000 rows are
timed at 1 and 2 threads here, medians of ``--repeats`` interleaved runs,
and compared with the prediction.
"""

import argparse
import math
import statistics
import threading
import time
import warnings
from dataclasses import dataclass

import numpy as np

# Run as a script, asv_bench/ is on sys.path: compare.py's data and the asv
# suite's scenario table and estimator factory.
from benchmarks.scenarios import SCENARIOS, estimators_for, make_scenario_estimator
from compare import load, settle, with_cores
from sklearn.exceptions import ConvergenceWarning
from sklearn_twolayer._openmp_helpers import barrier_seconds, last_arrival_seconds
from threadpoolctl import threadpool_limits

from sklearn_twolayer._dispatch import forward as compiled_forward
from sklearn_twolayer._dispatch import trainer as compiled_trainer
from sklearn_twolayer._fitting import Fit, _batch_size
from sklearn_twolayer._network import forward_flops
from sklearn_twolayer._registry import ACTIVATION_CODES
from sklearn_twolayer._threads import single_threaded_blas, threads_for_work

#: Thread counts of the prediction table.
THREADS = (1, 2, 4, 8, 16, 32, 64)

#: Rows of the predict_proba scenario (as in ``compare.py``).
PREDICT_ROWS = 20000

#: How late one thread arrives at each barrier when its cost is measured.
BARRIER_DELAY = 100e-6

#: Teams whose last arrival's barrier call is timed, how late it arrives
#: (the others are asleep by then: their spins and yields take some
#: milliseconds when seven of them share a core) and how many barriers
#: each, for the cost of a sleeper (``measure_wake``, once a run: it
#: takes some seconds).
WAKE_TEAMS = (2, 4, 8)
WAKE_DELAY = 50e-3
WAKE_BARRIERS = 30

#: Shortest timed run: a short epoch is timed (and recorded) several times
#: in a row, so that one late wake-up of a vCPU (some milliseconds here)
#: does not decide its time.
MIN_RUN_SECONDS = 0.2

#: A repeat whose capacity (see ``measure_capacity``) is at least this had
#: two cores: its 2-thread time validates the prediction with a core per
#: thread.
TWO_CORES = 1.8


# ---------------------------------------------------------------------------
# The replay: pure functions of measured times.


@dataclass
class EpochProfile:
    """Measured one-thread times of an epoch.

    Attributes
    ----------
    phases : list of ndarray
        Seconds of each task of each phase, indexed by the task's number,
        in the order the phases run; each phase ends at a barrier.
    kinds : list of str
        The kind of each phase ("rows", "units", "slots", "reduce").
    serial : float
        Seconds the batches spend outside their tasks, and the call outside
        its batches: every thread does that work, or one while the others
        wait, at any team size.
    """

    phases: list
    kinds: list
    serial: float

    @property
    def n_barriers(self):
        return len(self.phases)


def thread_loads(task_seconds, team):
    """Seconds each thread of ``team`` spends on a phase of tasks that take
    ``task_seconds``: thread ``t`` takes a run of consecutive tasks, the
    first ``n_tasks % team`` threads one task more than the others. The
    trainer's phases (``_first_task``) and ``schedule(static)`` loops
    (GNU libgomp) split them so.

    Parameters
    ----------
    task_seconds : array-like of shape (n_tasks,)
    team : int

    Returns
    -------
    loads : ndarray of shape (team,)
    """
    task_seconds = np.asarray(task_seconds, dtype=float)
    q, r = divmod(task_seconds.shape[0], team)
    sizes = np.full(team, q)
    sizes[:r] += 1
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    sums = np.concatenate(([0.0], np.cumsum(task_seconds)))
    return sums[bounds[1:]] - sums[bounds[:-1]]


#: How a barrier's cost grows with the team (``--barrier-growth``): a
#: counter barrier's last arrival wakes the sleepers with one futex call;
#: "measured" adds the measured cost of each sleeper's wake-up to the
#: two-thread barrier, "linear" charges every extra thread a whole
#: two-thread barrier (the wake-ups and their latencies one after
#: another), "flat" charges the team one (the woken threads' latencies
#: overlap, the wake-ups cost nothing).
BARRIER_GROWTHS = ("measured", "linear", "flat")


def barrier_cost(team, per_thread, growth="linear", per_sleeper=0.0):
    """Seconds of one barrier of ``team`` threads: 0 for one thread (the
    barrier returns at once), else ``per_thread + (team - 2) x
    per_sleeper`` ("measured"), ``(team - 1) x per_thread`` ("linear") or
    ``per_thread`` ("flat"); see ``BARRIER_GROWTHS``. ``per_thread`` is the
    cost measured for two threads, ``per_sleeper`` what each sleeper adds
    (``measure_wake``)."""
    if team <= 1:
        return 0.0
    if growth == "measured":
        return per_thread + (team - 2) * per_sleeper
    return per_thread if growth == "flat" else (team - 1) * per_thread


def phase_seconds(loads, capacity=None):
    """Seconds of a phase whose threads have ``loads`` seconds of work each.

    On dedicated cores (``capacity`` None) the slowest thread's load. On a
    machine where ``k`` busy threads do the work of ``capacity(k)`` lone
    threads (fewer when they share cores, memory bandwidth or caches), the
    phase also takes at least its total work divided by that capacity.

    Parameters
    ----------
    loads : ndarray of shape (team,)
    capacity : callable or None
        ``capacity(k)``, for ``k`` threads with work; ``capacity(1) = 1``.

    Returns
    -------
    seconds : float
    """
    longest = loads.max(initial=0.0)
    busy = int(np.count_nonzero(loads))
    if capacity is None or busy <= 1:
        return longest
    return max(longest, loads.sum() / capacity(busy))


def replay_epoch(
    profile,
    team,
    barrier_seconds_per_thread,
    capacity=None,
    growth="linear",
    per_sleeper=0.0,
):
    """Predicted seconds of an epoch with ``team`` threads.

    Parameters
    ----------
    profile : EpochProfile
    team : int
    barrier_seconds_per_thread : float
        See :func:`barrier_cost`.
    capacity : callable or None, default=None
        See :func:`phase_seconds`; None: each thread has a core of its own.
    growth : str, default="linear"
    per_sleeper : float, default=0.0
        See :func:`barrier_cost`.

    Returns
    -------
    seconds : float
    """
    work = sum(
        phase_seconds(thread_loads(tasks, team), capacity) for tasks in profile.phases
    )
    barriers = profile.n_barriers * barrier_cost(
        team, barrier_seconds_per_thread, growth, per_sleeper
    )
    return work + barriers + profile.serial


def tasks_with_work(profile, team):
    """Per phase kind, the most threads of ``team`` that have a task in a
    phase of that kind."""
    busy = {}
    for kind, tasks in zip(profile.kinds, profile.phases, strict=True):
        busy[kind] = max(busy.get(kind, 0), min(team, len(tasks)))
    return busy


def typical_task_seconds(seconds):
    """Each task's shortest time, scaled so that the tasks add up to the
    median run's total (see :func:`profile_from_records`).

    Parameters
    ----------
    seconds : ndarray of shape (n_runs, n_tasks)

    Returns
    -------
    ndarray of shape (n_tasks,)
    """
    shortest = seconds.min(axis=0)
    if shortest.sum() <= 0:
        return shortest
    return shortest * (np.median(seconds.sum(axis=1)) / shortest.sum())


def profile_from_records(records, n_barriers, call_seconds, kinds):
    """An :class:`EpochProfile` from ``Trainer.record_tasks``' records.

    Parameters
    ----------
    records : structured ndarray, or list of them
        The records of one epoch, or of the same epoch recorded several
        times (the same tasks in the same order). A task's time is its
        shortest, scaled so that all tasks add up to the median epoch's
        total: on a shared machine a task is now and then interrupted,
        which adds time to some tasks of some epochs; each task's median
        would let the tasks that were interrupted in half the epochs decide
        the slowest thread of a phase, while the shortest times keep the
        tasks' proportions and the scale keeps the one-thread total.
    n_barriers : int
    call_seconds : float or list of float
        Wall time of the ``record_tasks`` call(s).
    kinds : sequence of str
        ``TASK_KINDS`` of the trainer: the names of the ``kind`` codes.
    """
    if isinstance(records, np.ndarray):
        records, call_seconds = [records], [call_seconds]
    first = records[0]
    for other in records[1:]:
        if not np.array_equal(
            other[["batch", "kind", "phase", "task"]],
            first[["batch", "kind", "phase", "task"]],
        ):
            raise ValueError("the recorded epochs ran different tasks")
    is_batch = first["kind"] == kinds.index("batch")
    task_seconds = np.array([r["seconds"][~is_batch] for r in records])
    batch_seconds = np.array([r["seconds"][is_batch] for r in records])
    shortest = typical_task_seconds(task_seconds)
    phases = [[] for _ in range(n_barriers)]
    phase_kinds = [None] * n_barriers
    for record, t in zip(first[~is_batch], shortest, strict=True):
        tasks = phases[record["phase"]]
        if record["task"] != len(tasks):
            raise ValueError("the tasks of a phase are not numbered in order")
        tasks.append(t)
        phase_kinds[record["phase"]] = kinds[record["kind"]]
    in_batches = np.median(batch_seconds.sum(axis=1) - task_seconds.sum(axis=1))
    batch_total = np.median(batch_seconds.sum(axis=1))
    outside_batches = max(statistics.median(call_seconds) - batch_total, 0.0)
    return EpochProfile(
        phases=[np.asarray(p) for p in phases],
        kinds=[k or "none" for k in phase_kinds],
        serial=float(max(in_batches, 0.0) + outside_batches),
    )


# ---------------------------------------------------------------------------
# Teams: what the package would choose on a machine of ``cores`` cores.


def epoch_team(trainer, batch_size, cores, work_cap=True):
    """Threads of an epoch with batches of ``batch_size`` rows on ``cores``
    cores, as a fit chooses them (budget and cores both ``cores``), then as
    the trainer cuts them (``Trainer.team_size``: at most the larger phase's
    number of tasks, and no more than take as many rounds of them)."""
    n_threads = cores
    if work_cap:
        n_threads = threads_for_work(cores, trainer.flops_per_row * batch_size)
    return int(trainer.team_size(batch_size, n_threads))


def predict_team(n_blocks, flops, cores, work_cap=True):
    """Threads of a prediction of ``flops`` operations over ``n_blocks``
    blocks on ``cores`` cores (predict_rows starts no more than blocks)."""
    n_threads = threads_for_work(cores, flops) if work_cap else cores
    return int(min(n_threads, n_blocks))


# ---------------------------------------------------------------------------
# Measurements of the real code.


def measure_barrier(repeats=5, n_barriers=2000, delay=BARRIER_DELAY):
    """Median seconds of one barrier of two threads, the late arrival's
    delay left out (see ``barrier_seconds``); 0 where no two threads run."""
    times = []
    for _ in range(repeats):
        seconds, team = barrier_seconds(2, n_barriers, delay)
        if team < 2:
            return 0.0
        times.append(seconds)
    return max(statistics.median(times), 0.0)


def measure_wake(teams=WAKE_TEAMS, n_barriers=WAKE_BARRIERS, delay=WAKE_DELAY):
    """Seconds each sleeping team-mate adds to a barrier: the slope of a
    straight line (least squares) through the median barrier call of a
    thread that arrives ``delay`` late, against the team (``teams``, those
    that ran whole); 0 where fewer than two of them ran."""
    sizes, seconds = [], []
    for team in teams:
        call, ran = last_arrival_seconds(team, n_barriers, delay)
        if ran == team:
            sizes.append(team)
            seconds.append(call)
    if len(sizes) < 2:
        return 0.0
    return max(float(np.polyfit(sizes, seconds, 1)[0]), 0.0)


def measure_capacity(run, other):
    """Lone threads' worth of work that two threads do here at once, now.

    ``run()`` and ``other()`` each do the same one-thread work (releasing
    the GIL); ``run`` is timed alone, then while ``other`` runs over and
    over in a second Python thread. A virtual machine's two vCPUs may be
    two cores at one moment and one core's worth the next, so the
    validation measures this beside each timed run.

    Returns
    -------
    capacity : float
        ``2 x alone / together``: 2 where each thread has a core of its
        own, 1 where the two take turns on one core.
    """

    def busy(started, stop):
        started.set()
        while not stop.is_set():
            other()

    start = time.perf_counter()
    run()
    alone = time.perf_counter() - start
    stop, started = threading.Event(), threading.Event()
    thread = threading.Thread(target=busy, args=(started, stop))
    thread.start()
    started.wait()
    start = time.perf_counter()
    run()
    together = time.perf_counter() - start
    stop.set()
    thread.join()
    return 2 * alone / together


def two_core_times(times, capacities, shares):
    """The times of the repeats that had two cores: capacity beside the run
    at least ``TWO_CORES``, and the run's own share of its cores
    (``slowest_thread_speed``, or the cores a prediction kept busy over
    those it would keep busy) at least ``TWO_CORES / 2``; or an empty
    list."""
    return [
        t
        for t, c, s in zip(times, capacities, shares, strict=True)
        if c >= TWO_CORES and s >= TWO_CORES / 2
    ]


def thread_work(profile, team):
    """Predicted seconds each thread of ``team`` works in an epoch: its
    tasks of every phase, and the work every thread does outside them."""
    loads = sum(thread_loads(tasks, team) for tasks in profile.phases)
    return np.zeros(team) + loads + profile.serial


def slowest_thread_speed(seconds, waits, work):
    """How fast the slowest thread of a team run worked, against one thread
    alone.

    Parameters
    ----------
    seconds : float
        Wall time of the run.
    waits : ndarray of shape (team,)
        Seconds each thread waited at barriers in it.
    work : ndarray of shape (team,)
        Predicted seconds of each thread's work (``thread_work``).

    Returns
    -------
    speed : float
        The smallest ``work / (seconds - waits)`` over the threads with
        work: 1 where each thread ran its tasks as fast as one thread alone
        did. A thread whose vCPU was slowed or taken away for a while (two
        vCPUs on one physical core, a neighbour's load) lowers it, and so
        do the cache lines a thread reads that its team-mate wrote.
    """
    busy = np.maximum(seconds - np.asarray(waits), 1e-12)
    work = np.asarray(work)
    speeds = work[work > 0] / busy[work > 0]
    return float(speeds.min(initial=1.0))


def capacity_of(capacity_2):
    """``capacity(k)`` for a replay of this machine: measured for two busy
    threads; 1 for one."""
    return lambda k: 1.0 if k <= 1 else capacity_2


@dataclass
class TrainingSetup:
    """A scenario's trainer and one epoch's arguments, as its fit has them."""

    trainer: object
    X: object
    Y: np.ndarray
    batch_size: int
    order: object
    data: tuple


def training_setup(scenario, small=False, data=None):
    """The trainer of our estimator for ``scenario`` (``SCENARIOS``), on
    ``compare.py``'s data (or on ``data``, ``(X, y)``), made as a fit makes
    it."""
    data_name, settings = SCENARIOS[scenario]
    X, y = load(data_name, small) if data is None else data
    ours = estimators_for(data_name)[0]
    estimator = make_scenario_estimator(ours, X.shape[0], **settings)
    draft, _ = estimator._draft()
    network, data, random_state = draft._prepare_fit(X, y, None, False, None, None)
    fit = Fit(draft, network, data, random_state, False, reporter=None)
    order = None
    if draft.shuffle:
        order = random_state.permutation(data.X.shape[0])
    batch_size = _batch_size(draft.batch_size, data.X.shape[0])
    return TrainingSetup(fit.trainer, data.X, data.Y, batch_size, order, (X, y))


def record_epoch(setup, team=1):
    """``(records, n_barriers, seconds of the call)`` of one recorded epoch,
    with the tasks of a team of ``team`` threads."""
    # Timed inside the limit, as time_epoch times its epochs: entering it
    # takes tens of microseconds, a percent of a short epoch.
    with single_threaded_blas():
        start = time.perf_counter()
        records, n_barriers, _ = setup.trainer.record_tasks(
            setup.X,
            setup.Y,
            batch_size=setup.batch_size,
            order=setup.order,
            team=team,
        )
        seconds = time.perf_counter() - start
    return records, n_barriers, seconds


def run_epoch(setup, n_threads, waits=None):
    """One epoch with at most ``n_threads`` threads (BLAS limited by the
    caller); ``waits``: see ``Trainer.run_epoch``."""
    setup.trainer.run_epoch(
        setup.X,
        setup.Y,
        batch_size=setup.batch_size,
        n_threads=n_threads,
        order=setup.order,
        waits=waits,
    )


def time_epoch(setup, n_threads, epochs=1):
    """Seconds per epoch of ``epochs`` epochs in a row with at most
    ``n_threads`` threads, the team that ran them, and the seconds each of
    its threads waited at barriers per epoch (timed only for more than one
    thread: a thread alone never waits)."""
    waits = np.zeros(n_threads) if n_threads > 1 else None
    total = np.zeros(n_threads)
    start = time.perf_counter()
    with single_threaded_blas():
        for _ in range(epochs):
            run_epoch(setup, n_threads, waits)
            if waits is not None:
                total += waits
    team = setup.trainer.last_team
    return (time.perf_counter() - start) / epochs, team, total[:team] / epochs


def predict_setup(small=False):
    """The medium scenario's classifier, trained one epoch, and up to
    ``PREDICT_ROWS`` rows of its data (``compare.py``'s predict scenario)."""
    data_name, settings = SCENARIOS["medium"]
    X, y = load(data_name, small)
    estimator = make_scenario_estimator(
        estimators_for(data_name)[0], X.shape[0], **settings
    )
    estimator.set_params(max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    return estimator, np.ascontiguousarray(X[:PREDICT_ROWS])


def predict_kernel(estimator, X):
    """``call(start, stop, block_seconds=None)``: the compiled forward pass
    of rows ``start:stop`` of X on one thread, as ``predict_proba`` runs
    it (``block_seconds``: see ``predict_rows``)."""
    dtype = X.dtype
    W1, W2 = (np.ascontiguousarray(c, dtype=dtype) for c in estimator.coefs_)
    b1, b2 = (np.ascontiguousarray(b, dtype=dtype) for b in estimator.intercepts_)
    out = np.empty((X.shape[0], W2.shape[1]), dtype=dtype)
    codes = (
        ACTIVATION_CODES[estimator.hidden_activation_],
        ACTIVATION_CODES[estimator.out_activation_],
    )

    def call(start, stop, block_seconds=None):
        compiled_forward.predict_rows(
            X[start:stop],
            W1,
            b1,
            W2,
            b2,
            out[start:stop],
            *codes,
            1,
            # As predict_proba does with such an X: reading a block to check
            # it brings it to cache before its product.
            check_finite=True,
            block_seconds=block_seconds,
        )

    return call


def time_predict_blocks(estimator, X):
    """Seconds of each block of rows of ``predict_rows`` on one thread,
    timed inside one call on all rows (a call per block would add the
    call's setup, its buffer included, to every block)."""
    kernel = predict_kernel(estimator, X)
    seconds = np.zeros(-(-X.shape[0] // compiled_forward.BLOCK_ROWS))
    with single_threaded_blas():
        kernel(0, X.shape[0], seconds)
    return seconds


def time_predict_proba(estimator, X, n_threads, calls=5):
    """Seconds per call of ``predict_proba(X)`` with OpenMP limited to
    ``n_threads``, over ``calls`` calls in a row (as ``compare.py``)."""
    with threadpool_limits(n_threads, user_api="openmp"):
        start = time.perf_counter()
        for _ in range(calls):
            estimator.predict_proba(X)
        return (time.perf_counter() - start) / calls


# ---------------------------------------------------------------------------
# The scenarios.


@dataclass
class ScenarioResult:
    """Measured (1 and 2 threads) and predicted seconds by cores, teams by
    cores, the tasks of each phase kind (the most in one phase) and how
    many threads have work in it at 16 cores; ``capacity``: what two busy
    threads do here, in lone threads (the median of the measurements made
    beside the timed runs), and ``here``: the median of the predictions at 2
    threads with each of them; ``barrier``: the barrier's cost for two
    threads (the median of the measurements beside the timed runs);
    ``per_sleeper``: what each sleeping thread adds to it;
    ``two_cores``: the 2-thread times of the repeats that had two cores, of
    ``repeats``; ``team_work``: the 2-thread runs' time not spent waiting,
    summed over the threads, over the predicted work (median; None where
    it is not measured); ``by_growth``: the predictions (a core per thread) under
    each of ``BARRIER_GROWTHS``, ``predicted`` the one asked for."""

    name: str
    measured: dict
    predicted: dict
    by_growth: dict
    teams: dict
    tasks: dict
    busy: dict
    capacity: float
    here: float
    barrier: float
    per_sleeper: float
    two_cores: list
    repeats: int
    team_work: float = None


def model_training(scenario, args, per_sleeper):
    """Record, validate and replay one training scenario; ``per_sleeper``:
    what each sleeping thread adds to a barrier (``measure_wake``)."""
    setup = training_setup(scenario, args.small)
    kinds = list(compiled_trainer.TASK_KINDS)
    # The rows phase has a task per thread: each team is recorded with the
    # tasks it runs.
    teams = {
        cores: epoch_team(setup.trainer, setup.batch_size, cores, not args.no_work_cap)
        for cores in THREADS
    }
    recorded = {team: [] for team in set(teams.values())}
    calls = {team: [] for team in recorded}
    measured, capacities, team_waits = {1: [], 2: []}, [], []
    barriers = []
    ran = {}
    # A second trainer on the same data, to measure what two busy threads
    # do here.
    second = training_setup(scenario, data=setup.data)
    # A first epoch of each kind warms the caches and allocates the buffers.
    record_epoch(setup)
    for cores in (1, 2):
        time_epoch(
            setup,
            epoch_team(setup.trainer, setup.batch_size, cores, not args.no_work_cap),
        )
    epochs = max(1, math.ceil(MIN_RUN_SECONDS / time_epoch(setup, 1)[0]))

    def epochs_of(trainer_setup):
        for _ in range(epochs):
            run_epoch(trainer_setup, 1)

    for _ in range(args.repeats):
        settle()
        for team in recorded:
            for _ in range(epochs):
                records, n_barriers, seconds = record_epoch(setup, team)
                recorded[team].append(records)
                calls[team].append(seconds)
        for cores in (1, 2):
            settle()
            team = epoch_team(
                setup.trainer, setup.batch_size, cores, not args.no_work_cap
            )
            seconds, ran[cores], waits = time_epoch(setup, team, epochs)
            measured[cores].append(seconds)
        team_waits.append(waits)
        settle()
        with single_threaded_blas():
            capacities.append(
                measure_capacity(lambda: epochs_of(setup), lambda: epochs_of(second))
            )
        barriers.append(measure_barrier(repeats=1))
    profiles = {
        team: profile_from_records(recorded[team], n_barriers, calls[team], kinds)
        for team in recorded
    }
    barrier_per_thread = statistics.median(barriers)
    work = thread_work(profiles[teams[2]], teams[2])
    for cores in (1, 2):
        if ran[cores] != teams[cores]:
            raise RuntimeError(
                f"{scenario}: the epoch ran {ran[cores]} threads at {cores} "
                f"cores, the model says {teams[cores]}"
            )
    by_growth = {
        growth: {
            cores: replay_epoch(
                profiles[team],
                team,
                barrier_per_thread,
                growth=growth,
                per_sleeper=per_sleeper,
            )
            for cores, team in teams.items()
        }
        for growth in BARRIER_GROWTHS
    }
    return ScenarioResult(
        scenario,
        {cores: statistics.median(t) for cores, t in measured.items()},
        by_growth[args.barrier_growth],
        by_growth,
        teams,
        tasks_with_work(profiles[teams[16]], 1 << 30),
        tasks_with_work(profiles[teams[16]], teams[16]),
        statistics.median(capacities),
        statistics.median(
            replay_epoch(
                profiles[teams[2]], teams[2], barrier_per_thread, capacity_of(c)
            )
            for c in capacities
        ),
        barrier_per_thread,
        per_sleeper,
        two_core_times(
            measured[2],
            capacities,
            [
                slowest_thread_speed(t, w, work)
                for t, w in zip(measured[2], team_waits, strict=True)
            ],
        ),
        args.repeats,
        statistics.median(
            (teams[2] * t - w.sum()) / work.sum()
            for t, w in zip(measured[2], team_waits, strict=True)
        ),
    )


def model_predict(args, per_sleeper):
    """Record, validate and replay predict_proba on 20000 rows (see
    ``model_training``)."""
    estimator, X = predict_setup(args.small)
    flops = forward_flops(X.shape[0], estimator.coefs_)
    blocks, whole, measured, capacities = [], [], {1: [], 2: []}, []
    run_cores = []
    barriers = []
    # Each with an output of its own.
    kernel, other = predict_kernel(estimator, X), predict_kernel(estimator, X)
    time_predict_proba(estimator, X, 1)
    for _ in range(args.repeats):
        settle()
        blocks.append(time_predict_blocks(estimator, X))
        whole.append(time_predict_proba(estimator, X, 1))
        for cores in (1, 2):
            settle()
            seconds, busy = with_cores(
                lambda: time_predict_proba(estimator, X, cores)  # noqa: B023
            )
            measured[cores].append(seconds)
        run_cores.append(busy)
        settle()
        with single_threaded_blas():
            capacities.append(
                measure_capacity(
                    lambda: [kernel(0, X.shape[0]) for _ in range(5)],
                    lambda: other(0, X.shape[0]),
                )
            )
        barriers.append(measure_barrier(repeats=1))
    block_seconds = typical_task_seconds(np.array(blocks))
    barrier_per_thread = statistics.median(barriers)
    n_blocks = block_seconds.shape[0]
    serial = max(statistics.median(whole) - block_seconds.sum(), 0.0)
    teams = {
        cores: predict_team(n_blocks, flops, cores, not args.no_work_cap)
        for cores in THREADS
    }

    def replay(team, capacity=None, growth=args.barrier_growth):
        return (
            phase_seconds(thread_loads(block_seconds, team), capacity)
            + barrier_cost(team, barrier_per_thread, growth, per_sleeper)
            + serial
        )

    by_growth = {
        growth: {cores: replay(team, growth=growth) for cores, team in teams.items()}
        for growth in BARRIER_GROWTHS
    }
    return ScenarioResult(
        f"predict {X.shape[0]}",
        {cores: statistics.median(t) for cores, t in measured.items()},
        by_growth[args.barrier_growth],
        by_growth,
        teams,
        {"blocks": n_blocks},
        {"blocks": min(teams[16], n_blocks)},
        statistics.median(capacities),
        statistics.median(replay(teams[2], capacity_of(c)) for c in capacities),
        barrier_per_thread,
        per_sleeper,
        two_core_times(
            measured[2],
            capacities,
            np.divide(
                run_cores,
                by_growth[args.barrier_growth][1] / by_growth[args.barrier_growth][2],
            ),
        ),
        args.repeats,
    )


def print_table(results, growth):
    """The validation, the predictions (barriers growing as ``growth``
    says) and the speed-ups by threads, and the speed-ups at 16 and 64
    threads under each barrier growth."""

    def ms(seconds):
        return f"{seconds * 1e3:9.2f}"

    def error(predicted, measured):
        return f"{100 * (predicted - measured) / measured:+6.1f}%"

    print("\nValidation (ms, medians; 'own cores': predicted with a core per")
    print("thread; 'here': with the capacity of two busy threads measured")
    print("beside each repeat; '2 cores': the repeats that had two cores")
    print("(capacity >= 1.8, and each thread of the run at least 0.9 as fast")
    print("as one alone), against 'own cores'; team work: the 2-thread runs' time")
    print("not waiting, over the predicted work; barrier: one barrier of 2")
    print("threads, us; sleeper: what each sleeping thread adds to it, us)")
    header = (
        f"{'scenario':14s} {'meas 1t':>9s} {'pred 1t':>9s} {'err':>7s} "
        f"{'meas 2t':>9s} {'own cores':>9s} {'err':>7s} {'capacity':>8s} "
        f"{'here':>9s} {'err':>7s} {'2 cores':>9s} {'err':>7s} {'of':>5s} "
        f"{'team work':>9s} {'barrier':>7s} {'sleeper':>7s}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        m, p = r.measured, r.predicted
        two = f"{'-':>9s} {'-':>7s}"
        team_work = "-" if r.team_work is None else f"{r.team_work:.3f}"
        if r.two_cores:
            free = statistics.median(r.two_cores)
            two = f"{ms(free)} {error(p[2], free)}"
        print(
            f"{r.name:14s} {ms(m[1])} {ms(p[1])} {error(p[1], m[1])} "
            f"{ms(m[2])} {ms(p[2])} {error(p[2], m[2])} {r.capacity:8.2f} "
            f"{ms(r.here)} {error(r.here, m[2])} {two} "
            f"{len(r.two_cores):>2d}/{r.repeats:<2d} {team_work:>9s} "
            f"{r.barrier * 1e6:7.1f} "
            f"{r.per_sleeper * 1e6:7.2f}"
        )
    print(f"\nPrediction, a core per thread, barriers {growth} (ms); tasks per")
    print("phase (threads with work at 16 cores)")
    header = (
        f"{'scenario':14s} {'1t':>9s} {'16t':>9s} {'64t':>9s} {'x16':>6s} "
        f"{'x64':>6s} {'team 2/16/64':>12s}  tasks per phase (busy at 16)"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        p = r.predicted
        tasks = ", ".join(f"{k} {n} ({r.busy[k]})" for k, n in r.tasks.items())
        teams = f"{r.teams[2]}/{r.teams[16]}/{r.teams[64]}"
        print(
            f"{r.name:14s} {ms(p[1])} {ms(p[16])} {ms(p[64])} "
            f"{p[1] / p[16]:6.2f} {p[1] / p[64]:6.2f} {teams:>12s}  {tasks}"
        )
    print("\nPredicted speed-up by cores (1 / t), a core per thread, barriers")
    print(f"{growth}:")
    print(f"{'scenario':14s} " + " ".join(f"{c:>6d}" for c in THREADS))
    for r in results:
        p = r.predicted
        print(f"{r.name:14s} " + " ".join(f"{p[1] / p[c]:6.2f}" for c in THREADS))
    print("\nPredicted speed-up at 16 and 64 cores by barrier growth:")
    print(f"{'scenario':14s} " + " ".join(f"{g:>17s}" for g in BARRIER_GROWTHS))
    for r in results:
        cells = []
        for g in BARRIER_GROWTHS:
            p = r.by_growth[g]
            cells.append(f"{p[1] / p[16]:8.2f} {p[1] / p[64]:8.2f}")
        print(f"{r.name:14s} " + " ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=[*SCENARIOS, "predict"],
        choices=[*SCENARIOS, "predict"],
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--small", action="store_true", help="smaller data sets")
    parser.add_argument(
        "--no-work-cap",
        action="store_true",
        help="teams not limited by the work per thread (threads_for_work), "
        "only by the tasks",
    )
    parser.add_argument(
        "--barrier-growth",
        choices=BARRIER_GROWTHS,
        default="measured",
        help="how a barrier's cost grows with the team (see BARRIER_GROWTHS)",
    )
    args = parser.parse_args()
    results = []
    per_sleeper = measure_wake()
    for scenario in args.scenarios:
        if scenario == "predict":
            results.append(model_predict(args, per_sleeper))
        else:
            results.append(model_training(scenario, args, per_sleeper))
        print(f"{results[-1].name}: done", flush=True)
    print_table(results, args.barrier_growth)


if __name__ == "__main__":
    main()
