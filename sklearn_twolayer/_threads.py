"""How many threads the kernels use: the one place that decides.

A phase of compiled work gets

    min(budget, cores available to the process, work cap)

threads, where

* the budget is what OpenMP allows (``OMP_NUM_THREADS``,
  ``threadpoolctl.threadpool_limits(n, user_api="openmp")``), or, inside a
  Dask worker, the worker's threads divided among the tasks it is running;
  a fit holds the code it calls back (a scorer) to its team's threads
  (``at_most_threads``);
* the cores available follow the process's CPU affinity and cgroup quota
  (``joblib.cpu_count()``): threads beyond them only take turns on the same
  cores, and every barrier of a pass then waits for a descheduled thread;
* the work cap gives each thread at least ``MIN_FLOPS_PER_THREAD``
  floating-point operations of a batch (of a prediction, of a loss
  evaluation): some 40-100 microseconds of one core, well above what the
  batch's barriers or waking a thread cost even when the cores are shared
  with other processes, so small batches and small predictions run on
  fewer threads, down to one. Measured on 2 cores with digits-sized
  batches (6.3 million operations, one thread under this cap): a cap that
  gave them two threads made an epoch 0.77x as long on idle cores, but
  2.8x as long beside one busy process, where each of the batch's two
  barriers may wait for a team-mate the scheduler has put aside. Larger
  batches keep their second thread under the same contention at about the
  one-thread time (1.1x for 14 million operations).

A fit's epochs then follow the cores the team actually gets
(:class:`EpochTeam`): a team whose threads had their cores (ran, or slept
at a barrier for a late team-mate) for less than ``CONTENDED`` of their
epoch's wall time together (other processes share the cores: a second
fit, a browser, a build) waits at each barrier for a thread the scheduler
has put aside, and is slower than fewer threads. Beside
one busy process on 2 cores, medium's 2-thread epochs got 0.85 cores
between them and took 36 ms, against 26 for one thread. The next epochs run
as many threads as the cores the team got (after ``CONTENDED_EPOCHS``
such epochs in a row). After ``FIRST_PROBE`` epochs the whole team runs one
epoch again, which it keeps if its threads then had their cores; each try
that finds them still taken doubles the wait before the next, up to
``LAST_PROBE`` epochs (other work may last a moment or the whole fit). The
weights do not depend on the number of threads.

The kernels compute their matrix products themselves (``src/_gemm.h``);
BLAS runs only between passes (scipy's L-BFGS), and is held to one thread
during a fit, so that its spinning pool never competes with the OpenMP
team for the cores.
"""

import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
from joblib import cpu_count
from threadpoolctl import ThreadpoolController

from ._openmp_helpers import MIN_FLOPS_PER_THREAD
from ._openmp_helpers import effective_n_threads as openmp_n_threads

__all__ = [
    "CONTENDED",
    "CONTENDED_EPOCHS",
    "EpochTeam",
    "FIRST_PROBE",
    "LAST_PROBE",
    "MIN_FLOPS_PER_THREAD",
    "available_cores",
    "at_most_threads",
    "effective_n_threads",
    "single_threaded_blas",
    "threads_for_work",
]

#: A team whose threads had their cores, together, for less than this
#: share of an epoch's wall time had other work beside it.
CONTENDED = 0.75

#: Contended epochs in a row after which the team shrinks.
CONTENDED_EPOCHS = 2

#: Epochs of a smaller team before the whole team is tried again; each try
#: that finds the cores still taken doubles the wait, up to the last.
FIRST_PROBE = 2
LAST_PROBE = 32

_controller = None
_cores = None

# The most threads compiled work may take in the current context (None: no
# limit beyond the budget), set by at_most_threads. A context variable, so
# that a limit set in one Python thread leaves the others' work alone.
_thread_limit = ContextVar("sklearn_twolayer_thread_limit", default=None)

# GNU libgomp is not fork-safe: a child forked after the parent ran a
# parallel region inherits a thread team whose threads do not exist in the
# child, and its next parallel region waits for them forever. Such a child
# (multiprocessing's "fork" start method, joblib's multiprocessing backend)
# runs the kernels on its calling thread alone, which never uses the team.
_team_may_exist = False
_forked_after_team = False


def _after_fork_in_child():
    global _forked_after_team
    _forked_after_team = _forked_after_team or _team_may_exist


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _get_controller():
    # Created on first use, when the BLAS behind scipy's cython_blas (loaded
    # by the kernel modules) is already in the process.
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


@contextmanager
def single_threaded_blas():
    """Limit every BLAS library of the process to one thread meanwhile."""
    with _get_controller().limit(limits=1, user_api="blas"):
        yield


@contextmanager
def at_most_threads(n_threads):
    """Hold the compiled work started meanwhile, in this context, to at
    most ``n_threads`` threads: a fit's team that has fewer threads than
    its budget (other work took some cores) lends no more to the code it
    calls back, such as a scorer predicting with the model."""
    token = _thread_limit.set(n_threads)
    try:
        yield
    finally:
        _thread_limit.reset(token)


def available_cores():
    """Cores this process may run on (affinity, cgroup quota), as joblib
    counts them; read once per process (it takes tens of microseconds)."""
    global _cores
    if _cores is None or _cores[0] != os.getpid():
        _cores = (os.getpid(), max(cpu_count(), 1))
    return _cores[1]


def effective_n_threads():
    """The thread budget of compiled work started now.

    Inside a Dask worker: the worker's thread count divided among the tasks it
    is executing (at least 1). Elsewhere: what OpenMP allows, following
    ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``. Never more
    than the cores available to the process, nor than a limit of
    :func:`at_most_threads` around the call. One in a process forked
    after this one's kernels ran threads (see ``_after_fork_in_child``).
    """
    global _team_may_exist
    if _forked_after_team:
        return 1
    share = dask_worker_share()
    budget = openmp_n_threads() if share is None else share
    limit = _thread_limit.get()
    if limit is not None:
        budget = min(budget, limit)
    n_threads = max(1, min(budget, available_cores()))
    if n_threads > 1:
        _team_may_exist = True
    return n_threads


def threads_for_work(n_threads, flops):
    """Threads for a phase of ``flops`` operations between two barriers:
    at most ``n_threads`` (a budget from :func:`effective_n_threads`), and
    at most one per ``MIN_FLOPS_PER_THREAD``."""
    return int(max(1, min(n_threads, flops // MIN_FLOPS_PER_THREAD)))


def dask_worker_share():
    """Threads of the Dask worker running this task, per executing task.

    None outside a Dask worker. Dask's nanny starts worker processes with
    ``OMP_NUM_THREADS=1`` whatever the worker's size, so OpenMP's own default
    says nothing about the worker; its ``nthreads`` does.
    """
    # Only a process that already imported distributed can be a worker.
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except ValueError:
        return None
    state = worker.state
    return max(state.nthreads // max(state.executing_count, 1), 1)


class EpochTeam:
    """The threads of each epoch of a fit: ``n_threads`` while the team
    gets its cores, fewer while other work takes some of them.

    Parameters
    ----------
    n_threads : int
        The threads chosen for the work (:func:`threads_for_work`).

    Attributes
    ----------
    full : int
        ``n_threads``.
    threads : int
        The most threads of the next epoch.
    """

    def __init__(self, n_threads):
        self.full = max(int(n_threads), 1)
        self.threads = self.full
        self._contended_epochs = 0
        self._smaller_epochs = 0
        self._probe_after = FIRST_PROBE
        self._trying_full = False

    def epoch_ran(self, team, seconds, core_seconds):
        """Take note of an epoch: ``team`` threads ran ``seconds`` of wall
        time, each thread had its core ``core_seconds[t]`` of them (see
        ``Trainer.run_epoch``; negative where the platform does not tell).

        The team shrinks to the cores it got after ``CONTENDED_EPOCHS``
        contended epochs in a row (one alone may be a moment's noise), or
        after one when the whole team was being tried again.

        Returns
        -------
        threads : int
            The most threads of the next epoch.
        """
        held = np.asarray(core_seconds, dtype=float)[:team]
        trying_full, self._trying_full = self._trying_full, False
        if team > 1 and seconds > 0 and held.shape[0] == team and (held >= 0).all():
            cores = held.sum() / seconds
            if cores >= CONTENDED * team:
                self._contended_epochs = 0
                if trying_full:
                    self._probe_after = FIRST_PROBE
            else:
                self._contended_epochs += 1
                if trying_full or self._contended_epochs >= CONTENDED_EPOCHS:
                    self._probe_after = (
                        min(2 * self._probe_after, LAST_PROBE)
                        if trying_full
                        else FIRST_PROBE
                    )
                    self.threads = int(max(1, min(team - 1, round(cores))))
                    self._contended_epochs = 0
                    self._smaller_epochs = 0
                    return self.threads
        if self.threads < self.full:
            self._smaller_epochs += 1
            if self._smaller_epochs >= self._probe_after:
                self.threads = self.full
                self._trying_full = True
        return self.threads
