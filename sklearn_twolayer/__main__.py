"""Train on digits (or a CSV file) and compare the fit time with MLPClassifier.

Usage: ``python -m sklearn_twolayer [--csv PATH --target COLUMN]``.
"""

import argparse
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
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_twolayer",
        description=(
            "Train a TwoLayerClassifier on scikit-learn's digits (or on a CSV "
            "file), print the loss of each epoch, the test accuracy, and the "
            "fit time next to MLPClassifier's on the same data and settings."
        ),
    )
    parser.add_argument("--csv", metavar="PATH", help="train on this CSV file")
    parser.add_argument("--target", metavar="COLUMN", help="the CSV's label column")
    parser.add_argument("--n-hidden", type=_int_in_range(1), default=100)
    parser.add_argument("--max-iter", type=_int_in_range(1), default=200)
    parser.add_argument("--random-state", type=_int_in_range(0, 2**32 - 1), default=0)
    args = parser.parse_args(argv)
    if (args.csv is None) != (args.target is None):
        parser.error("--csv and --target go together")
    return args


def main(argv=None):
    args = _parse_args(argv)
    if args.csv is None:
        X, y = load_digits(return_X_y=True)
        source = "digits"
    else:
        try:
            X, y = load_csv(args.csv, args.target, test_size=_TEST_SIZE)
        except CSVError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        source = args.csv
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
    ours = TwoLayerClassifier(n_hidden=args.n_hidden, verbose=True, **settings)
    start = time.perf_counter()
    ours.fit(X_train, y_train)
    our_time = time.perf_counter() - start

    theirs = MLPClassifier(hidden_layer_sizes=(args.n_hidden,), **settings)
    start = time.perf_counter()
    theirs.fit(X_train, y_train)
    their_time = time.perf_counter() - start

    print(
        f"TwoLayerClassifier: test accuracy {ours.score(X_test, y_test):.4f}, "
        f"fit {our_time:.3f} s ({ours.n_iter_} epochs)"
    )
    print(
        f"MLPClassifier:      test accuracy {theirs.score(X_test, y_test):.4f}, "
        f"fit {their_time:.3f} s ({theirs.n_iter_} epochs)"
    )
    print(
        f"fit time ratio MLPClassifier / TwoLayerClassifier: "
        f"{their_time / our_time:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
