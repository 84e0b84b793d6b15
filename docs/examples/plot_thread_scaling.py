"""
Threads: time per epoch against the number of threads
======================================================

The kernels of :class:`~sklearn_twolayer.TwoLayerClassifier` run in OpenMP
threads, as many as OpenMP allows (see :ref:`threads`). This page shows the
seconds per training epoch against the number of threads: first this
version measured on a 2-core machine (kept with the documentation), then the
machine that built this page, measured while it did, and last, for the
record, a 16-core run of version 0.1.0, whose training loop has been
reworked since.

The repository's ``asv_bench/compare.py`` makes such measurements: it times
``TwoLayerClassifier``, ``MLPClassifier``, a plain PyTorch training loop and
the "GEMM floor" (NumPy doing nothing but the matrix products one epoch
needs) in one process, with the same data and settings, and writes them as
JSON with ``--json``. The plots below read that format.
"""

# %%
# Reading a benchmark file
# ------------------------
#
# A file records the machine it ran on, the package versions, and one entry
# per scenario, thread count and implementation with the median seconds per
# epoch.

import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

import sklearn_twolayer
from sklearn_twolayer import TwoLayerClassifier

STYLE = {
    "TwoLayerClassifier": dict(color="tab:blue", marker="o"),
    "MLPClassifier": dict(color="tab:gray", marker="s"),
    "PyTorch": dict(color="tab:orange", marker="^"),
    "GEMM floor": dict(color="k", marker="_", markersize=14),
}


def plot_run(run, title):
    """One panel per scenario: seconds per epoch against threads."""
    scenarios = list(dict.fromkeys(r["scenario"] for r in run["results"]))
    fig, axes = plt.subplots(
        1, len(scenarios), figsize=(4 * len(scenarios), 3.8), layout="constrained"
    )
    for ax, scenario in zip(np.atleast_1d(axes), scenarios):
        rows = [r for r in run["results"] if r["scenario"] == scenario]
        threads = sorted({r["threads"] for r in rows})
        for name, style in STYLE.items():
            points = sorted(
                (r["threads"], r["median_s"])
                for r in rows
                if r["implementation"] == name
            )
            if points:
                x, seconds = zip(*points)
                ax.plot(x, seconds, label=name, **style)
        ax.set_xscale("log", base=2)
        ax.set_xticks(threads, [str(t) for t in threads])
        ax.minorticks_off()
        ax.set_ylim(bottom=0)
        ax.set_xlabel("threads")
        ax.set_title(scenario)
    np.atleast_1d(axes)[0].set_ylabel("seconds per epoch (median)")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.suptitle(title)
    plt.show()


def describe(run):
    machine, versions = run["machine"], run["versions"]
    print(
        f"CPU: {machine['cpu']}, {machine['available_cores']} cores available, "
        f"BLAS: {machine['blas']}"
    )
    print("versions:", ", ".join(f"{k} {v}" for k, v in versions.items() if v))
    if run.get("note"):
        print(run["note"])


# %%
# This version on two cores
# -------------------------
#
# Measured with this version on a 2-core AMD EPYC with OpenBLAS, at one
# and two threads (``python asv_bench/compare.py --threads 1 2 --repeats 5
# --json docs/data/compare_2core.json``): medians of five interleaved
# repeats. The scenarios: *medium* is 20000 samples x 100 features, 128
# hidden units, Adam, batches of 256; *large32* is 60000 x 784 in float32,
# 256 hidden units, SGD with momentum, batches of 512; *fullbatch* is 60000
# x 784, 128 hidden units, full-batch gradient descent.

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
TRAINING = ("medium", "large32", "fullbatch")


def training_scenarios(run):
    """The run with only the three training scenarios above."""
    results = [r for r in run["results"] if r["scenario"] in TRAINING]
    return {**run, "results": results}


two_cores = training_scenarios(
    json.loads((here.parent / "data" / "compare_2core.json").read_text())
)
describe(two_cores)
plot_run(two_cores, f"2-core EPYC, version {two_cores['versions']['sklearn_twolayer']}")

# %%
# The time of each implementation divided by that of TwoLayerClassifier at
# the same thread count (above 1: slower than TwoLayerClassifier), and
# TwoLayerClassifier's best thread count:


def ratios(run, threads):
    for scenario in dict.fromkeys(r["scenario"] for r in run["results"]):
        rows = [r for r in run["results"] if r["scenario"] == scenario]
        ours = {
            r["threads"]: r["median_s"]
            for r in rows
            if r["implementation"] == "TwoLayerClassifier"
        }
        best = min(ours, key=ours.get)
        others = ", ".join(
            f"{r['implementation']} {r['median_s'] / ours[threads]:.2f}x"
            for r in rows
            if r["implementation"] != "TwoLayerClassifier" and r["threads"] == threads
        )
        print(
            f"{scenario:10s} {ours[threads]:.3f} s at {threads} threads "
            f"({others}); {ours[best]:.3f} s at {best} threads"
        )


ratios(two_cores, 2)

# %%
# On two cores the second thread shortens every training scenario, and
# TwoLayerClassifier is faster than MLPClassifier at both thread counts.
# No 16-core machine has measured this version yet.
#
# The machine that built this page
# --------------------------------
#
# A smaller version of *medium* (4000 samples, 5 epochs), measured now with
# one thread and, where the machine has them, two. Each figure is the median
# of three fits; the two estimators alternate.

warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = make_classification(
    n_samples=4000, n_features=100, n_informative=60, n_classes=5, random_state=0
)
X = StandardScaler().fit_transform(X)
epochs = 5
settings = dict(
    max_iter=epochs,
    tol=0.0,
    n_iter_no_change=epochs + 1,
    batch_size=256,
    alpha=0.0,
    random_state=0,
)
estimators = {
    "TwoLayerClassifier": lambda: TwoLayerClassifier(n_hidden=128, **settings),
    "MLPClassifier": lambda: MLPClassifier(hidden_layer_sizes=(128,), **settings),
}
cores = len(os.sched_getaffinity(0))
repeats = 3
results = []
for n_threads in [1, 2] if cores >= 2 else [1]:
    seconds = {name: [] for name in estimators}
    with threadpool_limits(n_threads):
        for _ in range(repeats):
            for name, make in estimators.items():
                model = make()
                start = time.perf_counter()
                model.fit(X, y)
                seconds[name].append((time.perf_counter() - start) / epochs)
    for name, times in seconds.items():
        results.append(
            {
                "scenario": "medium, 4000 samples",
                "threads": n_threads,
                "implementation": name,
                "unit": "s/epoch",
                "median_s": statistics.median(times),
                "times_s": times,
            }
        )

blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
cpu = (
    next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    if Path("/proc/cpuinfo").exists()
    else platform.processor() or "unknown"
)
build = {
    "machine": {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "available_cores": cores,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "blas": blas[0]["internal_api"] if blas else "unknown",
    },
    "versions": {
        "sklearn_twolayer": sklearn_twolayer.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "torch": None,
    },
    "date": time.strftime("%Y-%m-%d"),
    "repeats": repeats,
    "results": results,
}
describe(build)
for r in results:
    print(
        f"{r['implementation']:20s} {r['threads']} thread(s): "
        f"{r['median_s'] * 1e3:7.1f} ms per epoch"
    )
plot_run(build, f"This build: {cores} core(s), version {sklearn_twolayer.__version__}")

# %%
# Build machines are small and often shared, so these numbers say more about
# the machine than about the package; compare ratios, not seconds, and run
# ``asv_bench/compare.py`` on the machine you care about.
#
# Version 0.1.0 on a 16-core server, for the record
# -------------------------------------------------
#
# These figures were measured on a 16-vCPU Intel Xeon server with OpenBLAS,
# with **version 0.1.0** of the package, before its training loop was
# reworked; only the medians were kept, and only TwoLayerClassifier was
# timed at every thread count (the other implementations at 16 threads).
# The scenarios are the three above.

server = json.loads((here.parent / "data" / "thread_scaling_16core.json").read_text())
describe(server)
plot_run(server, "16-vCPU Xeon, version 0.1.0")
ratios(server, 16)

# %%
# Version 0.1.0 was fastest at 2 threads on *medium* and at 4 on the two
# large problems, and slower with more threads, so that at 16 threads it
# lost to MLPClassifier on *medium* and *fullbatch*. This version caps the
# threads of each batch by its work and by the cores available; a run of it
# on such a server will replace this one when it is recorded.
