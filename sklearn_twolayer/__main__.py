"""The main job: train on digits (or a CSV file), compare with MLPClassifier.

Run as ``sklearn-twolayer [options]`` or ``python -m sklearn_twolayer
[options]``; ``--help`` lists the options.
"""

import argparse
import contextlib
import math
import os
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import MinMaxScaler

from . import TwoLayerClassifier
from ._csv import CSVError, load_csv
from ._progress import listening

# Share of the samples held out to measure the test accuracy.
_TEST_SIZE = 0.25


def _int_in_range(low, high=None):
    """An argparse type: an integer in [low, high] (no upper bound if None)."""
    allowed = f">= {low}" if high is None else f"in [{low}, {high}]"

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer {allowed}, got {text!r}"
            ) from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"expected an integer {allowed}, got {value}"
            )
        return value

    return parse


def _parse_args(argv):
    as_module = os.path.basename(sys.argv[0]) == "__main__.py"
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_twolayer" if as_module else "sklearn-twolayer",
        description=(
            "Train a TwoLayerClassifier on scikit-learn's digits (or on a CSV "
            "file) and print its loss every tenth of the epochs, then the test "
            "accuracy and the fit time of TwoLayerClassifier and of "
            "MLPClassifier(hidden_layer_sizes=(n_hidden,)) with the same data "
            "and settings (adam, batches of 200): the median of --repeats fits "
            "each, and the ratio of the medians. Features are scaled to [0, 1] "
            f"and {_TEST_SIZE:.0%} of the samples are held out, stratified."
        ),
    )
    parser.add_argument(
        "--csv",
        metavar="PATH",
        help="train on this CSV file instead of digits: a header row, a "
        "label column (--target) and numeric feature columns; the "
        "delimiter (, ; tab |) is detected (default: the digits data set)",
    )
    parser.add_argument(
        "--target",
        metavar="COLUMN",
        help="name of the CSV file's label column (required with --csv)",
    )
    parser.add_argument(
        "--n-hidden",
        type=_int_in_range(1),
        default=100,
        metavar="N",
        help="hidden units of both networks (default: %(default)s)",
    )
    parser.add_argument(
        "--max-iter",
        type=_int_in_range(1),
        default=200,
        metavar="N",
        help="most epochs of each fit, fewer if the loss stops improving "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=_int_in_range(1),
        default=3,
        metavar="N",
        help="fits of each model; the fit time is their median (default: %(default)s)",
    )
    parser.add_argument(
        "--random-state",
        type=_int_in_range(0, 2**32 - 1),
        default=0,
        metavar="SEED",
        help="seed of the train/test split, initial weights and shuffling "
        "(default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if (args.csv is None) != (args.target is None):
        parser.error("--csv and --target go together")
    return args


class _EveryTenth:
    """Shows the loss of every tenth of ``max_iter`` epochs of a fit (and
    any other message of it), from the progress the fit reports."""

    def __init__(self, stream, max_iter):
        self.stream = stream
        self.max_iter = max_iter
        self.step = math.ceil(max_iter / 10)
        self.last = None

    def __call__(self, progress):
        if progress.message is not None:
            self.stream.write(f"  {progress.message}\n")
            return
        self.last = (progress.n_iter, progress.loss)
        if progress.n_iter % self.step == 0:
            self._report(*self.last)

    def _report(self, epoch, loss):
        width = len(str(self.max_iter))
        self.stream.write(
            f"  epoch {epoch:{width}d}/{self.max_iter}  loss {loss:.6f}\n"
        )

    def close(self):
        """Report the last epoch if it was not a tenth (an early stop)."""
        if self.last is not None and self.last[0] % self.step != 0:
            self._report(*self.last)


def _fit(model, X, y, progress=None):
    """Fit ``model``; its seconds. ``progress``: an ``_EveryTenth`` to show
    the fit's progress, or None."""
    with contextlib.nullcontext() if progress is None else listening(progress):
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    if progress is not None:
        progress.close()
    return seconds


def _load(args):
    if args.csv is None:
        X, y = load_digits(return_X_y=True)
        return "digits", X, y
    X, y = load_csv(args.csv, args.target, test_size=_TEST_SIZE)
    return args.csv, X, y


def _run(args):
    source, X, y = _load(args)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=_TEST_SIZE, stratify=y, random_state=args.random_state
    )
    scaler = MinMaxScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    print(
        f"{source}: {X_train.shape[0]} training and {X_test.shape[0]} test "
        f"samples, {X.shape[1]} features, {np.unique(y).shape[0]} classes"
    )

    # Both estimators may stop at max_iter; the epoch counts below say so.
    warnings.simplefilter("ignore", ConvergenceWarning)
    settings = dict(max_iter=args.max_iter, random_state=args.random_state)
    models = {
        "TwoLayerClassifier": TwoLayerClassifier(n_hidden=args.n_hidden, **settings),
        "MLPClassifier": MLPClassifier(hidden_layer_sizes=(args.n_hidden,), **settings),
    }
    fits = "one fit" if args.repeats == 1 else f"{args.repeats} fits"
    print(
        f"TwoLayerClassifier(n_hidden={args.n_hidden}, max_iter={args.max_iter}), "
        f"{fits} of each model; the first:"
    )
    times = {name: [] for name in models}
    for repeat in range(args.repeats):
        # Interleaved, so that a slow moment of the machine hits both.
        for name, model in models.items():
            progress = None
            if repeat == 0 and name == "TwoLayerClassifier":
                progress = _EveryTenth(sys.stdout, args.max_iter)
            times[name].append(_fit(model, X_train, y_train, progress))

    median = {name: statistics.median(seconds) for name, seconds in times.items()}
    print(f"{'':20s} {'test accuracy':>13s} {'fit time':>10s} {'epochs':>7s}")
    for name, model in models.items():
        print(
            f"{name:20s} {model.score(X_test, y_test):13.4f} "
            f"{median[name]:8.3f} s {model.n_iter_:7d}"
        )
    fits = "one fit" if args.repeats == 1 else f"median of {args.repeats} fits"
    ratio = median["MLPClassifier"] / median["TwoLayerClassifier"]
    print(
        f"MLPClassifier takes {ratio:.2f}x the fit time of TwoLayerClassifier "
        f"({fits} each)"
    )


def main(argv=None):
    """Run the main job with the command-line arguments ``argv``; the exit
    status: 0, 2 for unusable data, 130 when interrupted."""
    args = _parse_args(argv)
    try:
        _run(args)
    except CSVError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
