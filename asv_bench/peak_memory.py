"""Peak memory of ``fit`` beyond the training data itself.

For each scenario, two child processes load the same X from a ``.npy`` file:
one stops there, the other also fits. The difference of their peak resident
sizes is what ``fit`` adds; it is printed next to the size of X. Usage::

    python asv_bench/peak_memory.py [large32 fullbatch] [--small]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import warnings

import numpy as np

# Run as a script, asv_bench/ is on sys.path.
from benchmarks.scenarios import SCENARIOS, make_scenario_estimator

MEASURED = ("large32", "fullbatch")


def x_file(folder, scenario):
    """The saved X of a scenario: float32 for "large32", else float64."""
    dtype = np.float32 if SCENARIOS[scenario][0] == "large32" else np.float64
    return os.path.join(folder, f"X_{np.dtype(dtype).name}.npy")


def make_data(folder, small):
    """Write compare.py's 60000 x 784 data (float32 and float64) to ``folder``."""
    from compare import load

    X, y = load("large64", small)
    np.save(os.path.join(folder, "X_float64.npy"), X)
    np.save(os.path.join(folder, "X_float32.npy"), X.astype(np.float32))
    np.save(os.path.join(folder, "y.npy"), y)


def child(folder, scenario, estimator, fit):
    """Import ``estimator`` and load X; fit too if ``fit == "fit"``."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    X = np.load(x_file(folder, scenario))
    y = np.load(os.path.join(folder, "y.npy"))
    model = make_scenario_estimator(estimator, X.shape[0], **SCENARIOS[scenario][1])
    if fit == "fit":
        model.fit(X, y)


def peak_rss(folder, scenario, estimator, fit):
    """Peak resident size (bytes) of a child that loads X and maybe fits."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, __file__, "--child", folder, scenario, estimator, fit],
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # RUSAGE_CHILDREN keeps the largest child so far: run the smallest first.
    if after <= before:
        raise RuntimeError("run the children in increasing order of size")
    return after * 1024


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", default=list(MEASURED))
    parser.add_argument("--small", action="store_true", help="6000 samples")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        make_data(folder, args.small)
        for scenario in args.scenarios:
            x_bytes = np.load(x_file(folder, scenario), mmap_mode="r").nbytes
            print(f"{scenario}: X is {x_bytes / 2**20:.1f} MiB")
            # Each measurement in a fresh parent so RUSAGE_CHILDREN starts at 0.
            for estimator in ("TwoLayerClassifier", "MLPClassifier"):
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--measure",
                        folder,
                        scenario,
                        estimator,
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.split()
                base, fitted = int(out[0]), int(out[1])
                extra = fitted - base
                print(
                    f"  {estimator:20s} fit adds {extra / 2**20:8.1f} MiB "
                    f"= {extra / x_bytes:6.1%} of X"
                )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        folder, scenario, estimator = sys.argv[2:5]
        base = peak_rss(folder, scenario, estimator, "load")
        print(base, peak_rss(folder, scenario, estimator, "fit"))
    else:
        main()
