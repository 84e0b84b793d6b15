"""The main job: train on digits (or a CSV file), compare with MLPClassifier
(or, on a numeric target, MLPRegressor).

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
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from . import TwoLayerClassifier, TwoLayerRegressor
from ._csv import MAX_CLASSES, CSVError, load_csv
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
            "each, and the ratio of the medians with its range over the pairs "
            "of fits. On a numeric target (--task regression, or detected) it "
            "trains TwoLayerRegressor and MLPRegressor instead and reports the "
            "test R^2; the target is standardized on the training rows. "
            f"Features are scaled to [0, 1] and {_TEST_SIZE:.0%} of the "
            "samples are held out (stratified for classification)."
        ),
    )
    parser.add_argument(
        "--csv",
        metavar="PATH",
        help="train on this CSV file instead of digits: a header row, a "
        "target column (--target) and numeric feature columns; the "
        "delimiter (, ; tab |) is detected (default: the digits data set)",
    )
    parser.add_argument(
        "--target",
        metavar="COLUMN",
        help="name of the CSV file's target column (required with --csv)",
    )
    parser.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="what the target is: class labels, or numbers for a regressor; "
        "auto takes a column of numbers that are not all whole, or of more "
        f"than {MAX_CLASSES} distinct whole numbers, for a regression target, "
        "and says so (default: %(default)s)",
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
    if args.task == "regression" and args.csv is None:
        parser.error("--task regression needs --csv: digits has class labels")
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
    """The data's name, X, y, the task and why it was chosen (None: given)."""
    if args.csv is None:
        X, y = load_digits(return_X_y=True)
        return "digits", X, y, "classification", None
    X, y, task, reason = load_csv(
        args.csv, args.target, test_size=_TEST_SIZE, task=args.task
    )
    return args.csv, X, y, task, reason


def _spread(ours, theirs):
    """The ratio of the median fit times, and its range over the pairs of
    interleaved fits, as the summary line writes them."""
    ratio = statistics.median(theirs) / statistics.median(ours)
    if len(ours) == 1:
        return f"{ratio:.2f}x", "one fit each"
    pairs = [b / a for a, b in zip(ours, theirs)]
    return (
        f"{ratio:.2f}x",
        f"median of {len(ours)} fits each; fit by fit from {min(pairs):.2f}x "
        f"to {max(pairs):.2f}x",
    )


def _run(args):
    source, X, y, task, reason = _load(args)
    regression = task == "regression"
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=_TEST_SIZE,
        stratify=None if regression else y,
        random_state=args.random_state,
    )
    scaler = MinMaxScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if regression:
        target = StandardScaler().fit(y_train.reshape(-1, 1))
        y_train = target.transform(y_train.reshape(-1, 1))[:, 0]
        y_test = target.transform(y_test.reshape(-1, 1))[:, 0]
        what = "a numeric target"
        ours, theirs = TwoLayerRegressor, MLPRegressor
        metric = "test R^2"
    else:
        what = f"{np.unique(y).shape[0]} classes"
        ours, theirs = TwoLayerClassifier, MLPClassifier
        metric = "test accuracy"
    print(
        f"{source}: {X_train.shape[0]} training and {X_test.shape[0]} test "
        f"samples, {X.shape[1]} features, {what}"
    )
    if reason is not None:
        print(
            f"column {args.target!r} is taken for a {task} target: {reason} "
            f"(--task {'classification' if regression else 'regression'} to "
            "choose otherwise)"
        )

    # Both estimators may stop at max_iter; the epoch counts below say so.
    warnings.simplefilter("ignore", ConvergenceWarning)
    settings = dict(max_iter=args.max_iter, random_state=args.random_state)
    ours_name, theirs_name = ours.__name__, theirs.__name__
    models = {
        ours_name: ours(n_hidden=args.n_hidden, **settings),
        theirs_name: theirs(hidden_layer_sizes=(args.n_hidden,), **settings),
    }
    fits = "one fit" if args.repeats == 1 else f"{args.repeats} fits"
    print(
        f"{ours_name}(n_hidden={args.n_hidden}, max_iter={args.max_iter}), "
        f"{fits} of each model; the first:"
    )
    times = {name: [] for name in models}
    for repeat in range(args.repeats):
        # Interleaved, so that a slow moment of the machine hits both.
        for name, model in models.items():
            progress = None
            if repeat == 0 and name == ours_name:
                progress = _EveryTenth(sys.stdout, args.max_iter)
            times[name].append(_fit(model, X_train, y_train, progress))

    median = {name: statistics.median(seconds) for name, seconds in times.items()}
    print(f"{'':20s} {metric:>13s} {'fit time':>10s} {'epochs':>7s}")
    for name, model in models.items():
        print(
            f"{name:20s} {model.score(X_test, y_test):13.4f} "
            f"{median[name]:8.3f} s {model.n_iter_:7d}"
        )
    ratio, spread = _spread(times[ours_name], times[theirs_name])
    print(f"{theirs_name} takes {ratio} the fit time of {ours_name} ({spread})")


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
