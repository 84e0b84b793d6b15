"""Thread budget inside Dask workers, measured on a LocalCluster.

Two workloads, each under three thread policies set in every worker:

- ``single``: one fit at a time on a worker (as dask-ml's Incremental runs its
  partial_fit calls);
- ``search``: GridSearchCV through joblib's dask backend, every worker thread
  running a candidate.

Policies: ``worker share`` (the package's: the worker's threads divided among
its running tasks), ``OMP default`` (what OpenMP alone gives in a worker: the
nanny's ``OMP_NUM_THREADS=1``), ``all cores`` (each task takes every core, as
OpenMP would without the nanny's setting). Prints the median wall time of
each pair, and the threads a task saw.

    python asv_bench/dask_threads.py --workers 2 --threads 8 --repeats 3
"""

import argparse
import os
import statistics
import time
import warnings

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

POLICIES = ["worker share", "OMP default", "all cores"]


def set_policy(policy):
    """Run in each worker: replace the worker-share rule as ``policy`` says."""
    from sklearn_twolayer import _threads

    if not hasattr(_threads, "package_rule"):
        _threads.package_rule = _threads.dask_worker_share
    _threads.dask_worker_share = {
        "worker share": _threads.package_rule,
        "OMP default": lambda: None,
        "all cores": lambda: os.cpu_count(),
    }[policy]


def fit_one(X, y, params):
    from sklearn_twolayer import TwoLayerClassifier
    from sklearn_twolayer._threads import effective_n_threads

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        TwoLayerClassifier(random_state=0, **params).fit(X, y)
    return effective_n_threads()


def network_params(args):
    return {
        "n_hidden": args.n_hidden,
        "max_iter": args.max_iter,
        "batch_size": args.batch_size,
    }


def single(client, arrays, futures, args):
    """Fits one after another, each alone on its worker."""
    X, y = futures
    seen = []
    for _ in range(args.workers):
        seen.append(
            client.submit(fit_one, X, y, network_params(args), pure=False).result()
        )
    return seen


def search(client, arrays, futures, args):
    """Every worker thread fits a candidate; joblib ships the data."""
    from sklearn_twolayer import TwoLayerClassifier

    X, y = arrays
    n_candidates = args.workers * args.threads
    grid = {
        "alpha": list(np.logspace(-5, -1, max(n_candidates // 2, 1))),
        "shuffle": [True, False],
    }
    with warnings.catch_warnings(), joblib.parallel_config(backend="dask"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        GridSearchCV(
            TwoLayerClassifier(**network_params(args)),
            grid,
            cv=2,
            refit=False,
        ).fit(X, y)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--n-hidden", type=int, default=256)
    parser.add_argument("--max-iter", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()

    X, y = make_classification(
        n_samples=args.n_samples,
        n_features=args.n_features,
        n_informative=args.n_features // 2,
        n_classes=5,
        random_state=0,
    )
    print(
        f"{os.cpu_count()} cores; LocalCluster of {args.workers} workers x "
        f"{args.threads} threads; X {X.shape}, n_hidden={args.n_hidden}, "
        f"batch_size={args.batch_size}, {args.max_iter} epochs per fit; "
        f"medians of {args.repeats}"
    )
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=args.threads,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,
    ):
        futures = client.scatter([X, y], broadcast=True)
        for workload in (single, search):
            times = {policy: [] for policy in POLICIES}
            seen = {}
            # Policies alternate within each repeat, so drift hits all alike.
            for _ in range(args.repeats):
                for policy in POLICIES:
                    client.run(set_policy, policy)
                    start = time.perf_counter()
                    seen[policy] = workload(client, (X, y), futures, args)
                    times[policy].append(time.perf_counter() - start)
            for policy in POLICIES:
                threads = "" if seen[policy] is None else f" threads {seen[policy]}"
                print(
                    f"{workload.__name__:7s} {policy:13s} "
                    f"{statistics.median(times[policy]):8.3f} s{threads}"
                )


if __name__ == "__main__":
    main()
