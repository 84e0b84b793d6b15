"""
TwoLayerClassifier beside MLPClassifier
=======================================

:class:`~sklearn_twolayer.TwoLayerClassifier` is meant as a drop-in for
``MLPClassifier(hidden_layer_sizes=(n,))``: same parameters, same initial
weights for the same ``random_state``, hence the same accuracy, in less
time. This example fits both, with identical settings, on a few small data
sets and compares their test accuracy and fit time.

The times are measured when this page is built, on the machine that builds
it (the number of cores is printed below); each is the median of three fits.
:doc:`plot_thread_scaling` shows larger problems and more cores.
"""

# %%
# The data sets and the settings
# ------------------------------
#
# Every model gets 100 hidden units and the defaults of both estimators
# (Adam, batches of 200 samples), 60 epochs at most, on standardized
# features, 25% of the samples held out.

import os
import statistics
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_wine,
    make_classification,
    make_moons,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerClassifier

# Sixty epochs are not always enough to converge; both models get the same.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

datasets = {
    "digits": load_digits(return_X_y=True),
    "breast cancer": load_breast_cancer(return_X_y=True),
    "wine": load_wine(return_X_y=True),
    "moons": make_moons(n_samples=2000, noise=0.25, random_state=0),
    "synthetic\n5000 x 50": make_classification(
        n_samples=5000, n_features=50, n_informative=30, n_classes=4, random_state=0
    ),
}
settings = dict(max_iter=60, random_state=0)
models = {
    "TwoLayerClassifier": lambda: TwoLayerClassifier(n_hidden=100, **settings),
    "MLPClassifier": lambda: MLPClassifier(hidden_layer_sizes=(100,), **settings),
}
print(f"cores available to this process: {len(os.sched_getaffinity(0))}")

# %%
# Fitting
# -------
#
# The fits of the two models alternate, so that a busy moment of the machine
# slows both.

accuracy = {name: [] for name in models}
fit_time = {name: [] for name in models}
for data_name, (X, y) in datasets.items():
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    seconds = {name: [] for name in models}
    fitted = {}
    for _ in range(3):
        for name, make in models.items():
            fitted[name] = make()
            start = time.perf_counter()
            fitted[name].fit(X_train, y_train)
            seconds[name].append(time.perf_counter() - start)
    # Same settings and random_state: the three fits give the same model.
    for name, model in fitted.items():
        accuracy[name].append(model.score(X_test, y_test))
        fit_time[name].append(statistics.median(seconds[name]))
    print(
        f"{data_name.replace(chr(10), ' '):22s}"
        + "".join(
            f"  {name} {accuracy[name][-1]:.3f} in {fit_time[name][-1]:.3f} s"
            for name in models
        )
    )

# %%
# Accuracy and fit time
# ---------------------
#
# The accuracies agree to within the rounding of the two implementations:
# both start from the same weights and take the same steps. The fit times
# are on a logarithmic scale; the numbers above the bars are MLPClassifier's
# fit time divided by TwoLayerClassifier's.

names = list(datasets)
positions = np.arange(len(names))
width = 0.38
colors = {"TwoLayerClassifier": "tab:blue", "MLPClassifier": "tab:gray"}
fig, (ax_accuracy, ax_time) = plt.subplots(
    2, 1, figsize=(8, 6.5), sharex=True, layout="constrained"
)
for offset, name in zip((-width / 2, width / 2), models):
    ax_accuracy.bar(
        positions + offset, accuracy[name], width, label=name, color=colors[name]
    )
    ax_time.bar(positions + offset, fit_time[name], width, color=colors[name])
for position, ours, theirs in zip(
    positions, fit_time["TwoLayerClassifier"], fit_time["MLPClassifier"]
):
    ax_time.annotate(
        f"{theirs / ours:.1f}x",
        (position, max(ours, theirs)),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
    )
ax_accuracy.set_ylim(0.5, 1.02)
ax_accuracy.set_ylabel("test accuracy")
ax_accuracy.legend(loc="lower right")
ax_time.set_yscale("log")
ax_time.set_ylabel("fit time (s, median of 3)")
ax_time.set_xticks(positions, names)
ax_time.margins(y=0.25)
fig.suptitle("Same network, same settings, measured when this page was built")
plt.show()
