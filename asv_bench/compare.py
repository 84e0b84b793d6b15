"""Side-by-side seconds per epoch: TwoLayerClassifier, MLPClassifier, a plain
PyTorch CPU loop (when torch is importable) and the "GEMM floor" (numpy doing
only the matrix products one epoch needs, on preallocated arrays); on the
"regression" scenario TwoLayerRegressor and MLPRegressor instead.

Everything runs in one process, repeats interleaved, with the same data,
architecture, solver, batch size, epochs and thread count (for each count
given to ``--threads``); medians and ratios are printed, and with
``--json PATH`` every time is written to PATH as well. Usage::

    python asv_bench/compare.py [--threads 1 2 4] [--repeats 5]
                                [--scenarios digits medium ...] [--small]
                                [--json results.json]
                                [--activations relu gelu silu ...]

With ``--activations``, only our estimator runs, once with each hidden
activation (repeats interleaved); the ratios are to the first one.

The JSON file holds ``machine`` (cpu, logical_cores, available_cores,
platform, python, blas), ``versions`` (sklearn_twolayer, scikit-learn,
numpy, torch or null), ``date``, ``repeats`` and ``results``: one entry per
scenario, thread count and implementation, with ``unit`` ("s/epoch", or
"s/call" for the scenarios "predict 1 row" and "predict 20000 rows"),
``median_s`` and all ``times_s`` (with ``--activations``, also
``activation``).

The scenario "transform" times ``transform`` (the hidden activations) and
``predict_proba`` of the medium model on the same 20000 rows, repeats
interleaved, and prints their ratio (unit "s/call", scenario "transform
20000 rows", implementations "transform" and "predict_proba").
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import time
import warnings

import joblib
import numpy as np
import sklearn

# Run as a script, asv_bench/ is on sys.path: the asv suite's scenario table
# and estimator factory are the ones timed here.
from benchmarks.scenarios import SCENARIOS, estimators_for, make_scenario_estimator
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

import sklearn_twolayer

try:
    import torch
except ImportError:  # the PyTorch column is left out
    torch = None


def load(name, small):
    """Standardised data of a scenario (``small`` shrinks the big sets)."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    if name == "medium":
        X, y = make_classification(
            n_samples=4000 if small else 20000,
            n_features=100,
            n_informative=60,
            n_classes=5,
            random_state=0,
        )
        return StandardScaler().fit_transform(X), y
    if name == "regression":
        X, y = make_regression(
            n_samples=4000 if small else 20000,
            n_features=100,
            n_informative=60,
            noise=10.0,
            random_state=0,
        )
        return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()
    X, y = make_classification(
        n_samples=6000 if small else 60000,
        n_features=784,
        n_informative=200,
        n_classes=10,
        random_state=0,
    )
    X = StandardScaler().fit_transform(X)
    return (X.astype(np.float32) if name == "large32" else X), y


def settle():
    """Let the thread pools of the previous run go idle.

    OpenBLAS and OpenMP worker threads spin for a while after their last
    task; on a machine with few cores they would otherwise slow down
    whichever implementation happens to run next.
    """
    time.sleep(0.3)


def with_cores(run):
    """``(run(), cores)``: what ``run`` returns, and the cores the process
    kept busy meanwhile (CPU time over wall time)."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = run()
    return result, (time.process_time() - cpu) / (time.perf_counter() - wall)


def timed_fit(name):
    """A runner that fits estimator ``name`` with a scenario's settings and
    returns (seconds per epoch, fitted model)."""

    def run(X, y, **settings):
        clf = make_scenario_estimator(name, X.shape[0], **settings)
        start = time.perf_counter()
        clf.fit(X, y)
        return (time.perf_counter() - start) / settings["epochs"], clf

    return run


def is_regression(y):
    return np.issubdtype(y.dtype, np.floating)


def n_outputs_of(y):
    """Output units of the network: one for a continuous target, one per
    class otherwise."""
    return 1 if is_regression(y) else np.unique(y).shape[0]


def torch_loop(
    X, y, n_hidden, solver, learning_rate_init, momentum, batch_size, epochs
):
    """The same network and optimizer as a textbook PyTorch loop (squared
    error for a continuous y, cross-entropy otherwise)."""
    torch.manual_seed(0)
    X_t = torch.from_numpy(np.ascontiguousarray(X))
    if is_regression(y):
        y_t = torch.from_numpy(y.astype(X.dtype).reshape(-1, 1))
        loss_fn = torch.nn.MSELoss()
    else:
        y_t = torch.from_numpy(np.unique(y, return_inverse=True)[1])
        loss_fn = torch.nn.CrossEntropyLoss()
    n_samples = X.shape[0]
    batch = n_samples if batch_size == "full" else batch_size
    model = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], n_hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(n_hidden, n_outputs_of(y)),
    ).to(X_t.dtype)
    if solver == "adam":
        optimizer = torch.optim.Adam(
            model.parameters(), lr=learning_rate_init, eps=1e-8
        )
    else:
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=learning_rate_init,
            momentum=momentum,
            nesterov=momentum > 0,
        )
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n_samples) if batch_size != "full" else None
        for first in range(0, n_samples, batch):
            if order is None:
                X_b, y_b = X_t[first : first + batch], y_t[first : first + batch]
            else:
                rows = order[first : first + batch]
                X_b, y_b = X_t[rows], y_t[rows]
            optimizer.zero_grad()
            loss_fn(model(X_b), y_b).backward()
            optimizer.step()
    return (time.perf_counter() - start) / epochs, None


def gemm_floor(X, y, n_hidden, batch_size, epochs, **settings):
    """Only the five matrix products of each batch, into preallocated arrays."""
    n_samples, n_features = X.shape
    n_outputs = n_outputs_of(y)
    batch = n_samples if batch_size == "full" else batch_size
    rng = np.random.default_rng(0)
    W1 = rng.standard_normal((n_features, n_hidden)).astype(X.dtype)
    W2 = rng.standard_normal((n_hidden, n_outputs)).astype(X.dtype)
    A1 = np.empty((batch, n_hidden), X.dtype)
    A2 = np.empty((batch, n_outputs), X.dtype)
    D1 = np.empty((batch, n_hidden), X.dtype)
    G1 = np.empty_like(W1)
    G2 = np.empty_like(W2)
    start = time.perf_counter()
    for _ in range(epochs):
        for first in range(0, n_samples, batch):
            X_b = X[first : first + batch]
            rows = X_b.shape[0]
            np.matmul(X_b, W1, out=A1[:rows])
            np.matmul(A1[:rows], W2, out=A2[:rows])
            np.matmul(A2[:rows], W2.T, out=D1[:rows])
            np.matmul(A1[:rows].T, A2[:rows], out=G2)
            np.matmul(X_b.T, D1[:rows], out=G1)
    return (time.perf_counter() - start) / epochs, None


def epoch_flops(n_samples, n_features, n_hidden, n_outputs):
    # forward 2FH + 2HK, backward 2HK (hidden delta) + 2HK + 2FH (gradients)
    return n_samples * (4 * n_features * n_hidden + 6 * n_hidden * n_outputs)


def time_predict(clf, X, mlp_clf, repeats):
    """One-row latency and many-row throughput of predict_proba."""
    rows = {}
    one = X[:1].copy()
    many = X[:20000]
    W1, W2 = (np.ascontiguousarray(c) for c in clf.coefs_)
    b1, b2 = clf.intercepts_
    hidden = np.empty((many.shape[0], W1.shape[1]), X.dtype)
    out = np.empty((many.shape[0], W2.shape[1]), X.dtype)

    def floor():
        np.matmul(many, W1, out=hidden)
        np.matmul(hidden, W2, out=out)

    candidates = {"TwoLayerClassifier": clf, "MLPClassifier": mlp_clf}
    if torch is not None:
        model = torch.nn.Sequential(
            torch.nn.Linear(W1.shape[0], W1.shape[1]),
            torch.nn.ReLU(),
            torch.nn.Linear(W1.shape[1], W2.shape[1]),
            torch.nn.Softmax(dim=1),
        ).to(torch.float64 if X.dtype == np.float64 else torch.float32)
        with torch.no_grad():
            model[0].weight.copy_(torch.from_numpy(W1.T.copy()))
            model[0].bias.copy_(torch.from_numpy(b1))
            model[2].weight.copy_(torch.from_numpy(W2.T.copy()))
            model[2].bias.copy_(torch.from_numpy(b2))

        class TorchProba:
            def predict_proba(self, data):
                with torch.no_grad():
                    return model(torch.from_numpy(data)).numpy()

        candidates["PyTorch"] = TorchProba()

    def per_call(fn, n_calls):
        start = time.perf_counter()
        for _ in range(n_calls):
            fn()
        return (time.perf_counter() - start) / n_calls

    for name in candidates:
        rows[name] = {"one": [], "many": []}
    rows["GEMM floor"] = {"one": [], "many": []}
    for _ in range(repeats):
        for name, model_ in candidates.items():
            settle()
            rows[name]["one"].append(
                per_call(lambda m=model_: m.predict_proba(one), 200)
            )
            rows[name]["many"].append(
                per_call(lambda m=model_: m.predict_proba(many), 5)
            )
        settle()
        rows["GEMM floor"]["many"].append(per_call(floor, 5))
    return rows


def time_transform(clf, X, repeats):
    """Seconds per call of ``transform`` and of ``predict_proba`` on the same
    20000 rows, interleaved."""
    many = np.ascontiguousarray(X[:20000])
    methods = {"transform": clf.transform, "predict_proba": clf.predict_proba}
    times = {name: [] for name in methods}
    for _ in range(repeats):
        for name, method in methods.items():
            settle()
            start = time.perf_counter()
            for _ in range(5):
                method(many)
            times[name].append((time.perf_counter() - start) / 5)
    return times


def machine_info():
    """The machine and libraries the figures were taken with."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    # numpy and scipy may each bring their own copy of the same library.
    blas = "; ".join(
        dict.fromkeys(
            f"{i['internal_api']} {i.get('architecture')}"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        )
    )
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "available_cores": joblib.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "blas": blas,
    }


def versions():
    return {
        "sklearn_twolayer": sklearn_twolayer.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None,
    }


def result(scenario, n_threads, implementation, unit, times, cores=None):
    entry = {
        "scenario": scenario,
        "threads": n_threads,
        "implementation": implementation,
        "unit": unit,
        "median_s": statistics.median(times),
        "times_s": list(times),
    }
    if cores is not None:
        entry["cores"] = list(cores)
    return entry


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--scenarios", nargs="+", default=[*SCENARIOS, "predict", "transform"]
    )
    parser.add_argument("--small", action="store_true", help="smaller data sets")
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    parser.add_argument(
        "--activations",
        nargs="+",
        metavar="NAME",
        help="time only our estimator, with each of these hidden activations",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    info = machine_info()
    print("CPU:", info["cpu"], f"({info['available_cores']} cores available)")
    print("BLAS:", info["blas"])
    print("torch:", torch.__version__ if torch is not None else "not installed")

    def runners_for(data):
        """Ours first (the ratios' base), then the others."""
        runners = {name: timed_fit(name) for name in estimators_for(data)}
        runners["GEMM floor"] = gemm_floor
        if torch is not None:
            runners["PyTorch"] = torch_loop
        return runners

    runners = runners_for("medium")

    cache = {}

    def loaded(data):
        """A data set, loaded once."""
        if data not in cache:
            cache[data] = load(data, args.small)
        return cache[data]

    def training_scenarios():
        """(scenario, data name, settings, X, y) of each training scenario
        asked for."""
        for scenario in args.scenarios:
            if scenario not in ("predict", "transform"):
                data, settings = SCENARIOS[scenario]
                yield (scenario, data, settings, *loaded(data))

    results = []
    medium_models = {}
    if args.activations:
        for n_threads in args.threads:
            with threadpool_limits(n_threads):
                for scenario, _, settings, X, y in training_scenarios():
                    results += compare_activations(
                        scenario, n_threads, X, y, settings, args
                    )
        write_json(args, info, results)
        return
    for n_threads in args.threads:
        if torch is not None:
            torch.set_num_threads(n_threads)
        with threadpool_limits(n_threads):
            for scenario, data, settings, X, y in training_scenarios():
                scenario_runners = runners_for(data)
                times = {name: [] for name in scenario_runners}
                # Cores each repeat kept busy: the process's CPU time over
                # the wall time of the fit.
                cores = {name: [] for name in scenario_runners}
                for _ in range(args.repeats):
                    for name, run in scenario_runners.items():
                        settle()
                        (seconds, model), busy = with_cores(
                            lambda: run(X, y, **settings)  # noqa: B023
                        )
                        cores[name].append(busy)
                        times[name].append(seconds)
                        if scenario == "medium":
                            medium_models[n_threads, name] = model
                for name, t in times.items():
                    results.append(
                        result(scenario, n_threads, name, "s/epoch", t, cores[name])
                    )
                flops = epoch_flops(
                    X.shape[0], X.shape[1], settings["n_hidden"], n_outputs_of(y)
                )
                report(scenario, n_threads, times, cores, flops)
            if "predict" in args.scenarios or "transform" in args.scenarios:
                X, y = loaded("medium")
                clf = medium_models.get((n_threads, "TwoLayerClassifier"))
                mlp_clf = medium_models.get((n_threads, "MLPClassifier"))
                if clf is None:
                    settings = SCENARIOS["medium"][1]
                    _, clf = runners["TwoLayerClassifier"](X, y, **settings)
                    _, mlp_clf = runners["MLPClassifier"](X, y, **settings)
                    medium_models[n_threads, "TwoLayerClassifier"] = clf
                    medium_models[n_threads, "MLPClassifier"] = mlp_clf
            if "transform" in args.scenarios:
                timings = time_transform(clf, X, args.repeats)
                scenario = f"transform {min(20000, X.shape[0])} rows"
                for name, t in timings.items():
                    results.append(result(scenario, n_threads, name, "s/call", t))
                medians = {name: statistics.median(t) for name, t in timings.items()}
                report_transform(n_threads, medians)
            if "predict" in args.scenarios:
                timings = time_predict(clf, X, mlp_clf, args.repeats)
                for name, kinds in timings.items():
                    for kind, scenario in (
                        ("one", "predict 1 row"),
                        ("many", f"predict {min(20000, X.shape[0])} rows"),
                    ):
                        if kinds[kind]:
                            results.append(
                                result(scenario, n_threads, name, "s/call", kinds[kind])
                            )
                report_predict(
                    n_threads,
                    {
                        name: {
                            kind: statistics.median(t) if t else None
                            for kind, t in kinds.items()
                        }
                        for name, kinds in timings.items()
                    },
                )
    write_json(args, info, results)


def compare_activations(scenario, n_threads, X, y, settings, args):
    """Seconds per epoch of our estimator with each hidden activation of
    ``args.activations``, repeats interleaved; returns the results."""
    ours = next(iter(estimators_for(SCENARIOS[scenario][0])))
    run = timed_fit(ours)
    times = {name: [] for name in args.activations}
    for _ in range(args.repeats):
        for name in args.activations:
            settle()
            times[name].append(run(X, y, activation=name, **settings)[0])
    first = args.activations[0]
    base = statistics.median(times[first])
    print(f"\n{scenario}, {n_threads} thread(s): median seconds per epoch")
    for name, t in times.items():
        median = statistics.median(t)
        print(f"  {name:12s} {median:10.5f} s  {median / base:6.2f}x {first}")
    return [
        dict(result(scenario, n_threads, ours, "s/epoch", t), activation=name)
        for name, t in times.items()
    ]


def write_json(args, info, results):
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "machine": info,
                    "versions": versions(),
                    "date": datetime.date.today().isoformat(),
                    "repeats": args.repeats,
                    "results": results,
                },
                f,
                indent=1,
            )
        print(f"\nFigures written to {args.json}")


def report(scenario, n_threads, times, cores, flops):
    """Median seconds per epoch of each implementation, its ratio to ours,
    its GFLOP/s; the slowest repeat over the median, and the fewest and
    most cores (CPU time over wall time) a repeat kept busy."""
    median = {name: statistics.median(t) for name, t in times.items()}
    base = next(iter(median.values()))
    print(f"\n{scenario}, {n_threads} thread(s): median seconds per epoch")
    for name, seconds in median.items():
        ratio = seconds / base
        print(
            f"  {name:20s} {seconds:10.5f} s  {ratio:6.2f}x ours  "
            f"{flops / seconds / 1e9:7.2f} GFLOP/s  "
            f"slowest {max(times[name]) / seconds:4.2f}x  "
            f"cores {min(cores[name]):4.2f}-{max(cores[name]):4.2f}"
        )


def report_predict(n_threads, result):
    base = result["TwoLayerClassifier"]
    print(f"\npredict_proba (medium model), {n_threads} thread(s): median seconds")
    for name, kinds in result.items():
        one = (
            ""
            if kinds["one"] is None
            else (
                f"1 row {kinds['one'] * 1e6:9.1f} us "
                f"({kinds['one'] / base['one']:5.2f}x ours)"
            )
        )
        print(
            f"  {name:20s} {one:42s} 20000 rows {kinds['many'] * 1e3:8.2f} ms "
            f"({kinds['many'] / base['many']:5.2f}x ours)"
        )


def report_transform(n_threads, median):
    base = median["predict_proba"]
    print(
        f"\ntransform and predict_proba (medium model, 20000 rows), "
        f"{n_threads} thread(s): median seconds"
    )
    for name, seconds in median.items():
        print(
            f"  {name:20s} {seconds * 1e3:8.2f} ms  ({seconds / base:5.2f}x "
            "predict_proba)"
        )


if __name__ == "__main__":
    main()
