"""
Regression losses: quantile bands and outliers
==============================================

:class:`~sklearn_twolayer.TwoLayerRegressor` is the regression sibling of
:class:`~sklearn_twolayer.TwoLayerClassifier`, a drop-in for
``MLPRegressor(hidden_layer_sizes=(n,))``: the same network with an identity
output, trained on one of several losses. The loss decides what the network
predicts for each input:

- ``"squared_error"``: the mean of the target;
- ``"absolute_error"``: its median;
- ``"quantile"``: its quantile of level ``quantile``;
- ``"huber"``: the mean for residuals smaller than ``huber_delta``, the
  absolute error beyond, so that a few wild targets pull less;
- ``"poisson"``: the mean of a count or rate, through a logarithmic link
  that keeps predictions positive.
"""

# %%
# Prediction intervals with quantile losses
# -----------------------------------------
#
# Noisy one-dimensional data whose spread grows with :math:`x`. Three
# networks fitted with ``loss="quantile"`` at levels 0.05, 0.5 and 0.95
# give a median curve and a band meant to hold 90% of new targets; the
# share of held-out targets inside the band checks that it does.

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerRegressor

# A fixed budget of epochs for every model; some could still improve a bit.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

rng = np.random.default_rng(0)
x = rng.uniform(0, 10, 2000)
y = x * np.sin(x) + rng.normal(0, 0.3 + 0.25 * x)
X = x.reshape(-1, 1)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)


def regressor(**loss):
    return make_pipeline(
        StandardScaler(),
        TwoLayerRegressor(
            n_hidden=64,
            learning_rate_init=0.01,
            max_iter=300,
            random_state=0,
            **loss,
        ),
    )


quantiles = {}
for level in (0.05, 0.5, 0.95):
    quantiles[level] = regressor(loss="quantile", quantile=level).fit(X_train, y_train)

grid = np.linspace(0, 10, 400).reshape(-1, 1)
low, median, high = (quantiles[q].predict(grid) for q in (0.05, 0.5, 0.95))
inside = (quantiles[0.05].predict(X_test) <= y_test) & (
    y_test <= quantiles[0.95].predict(X_test)
)
print(f"held-out targets inside the 5%-95% band: {inside.mean():.1%}")

fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
ax.scatter(X_test[:, 0], y_test, s=6, color="0.6", label="held-out samples")
ax.fill_between(grid[:, 0], low, high, alpha=0.3, label="quantiles 0.05 to 0.95")
ax.plot(grid[:, 0], median, color="tab:blue", label="quantile 0.5 (median)")
ax.plot(grid[:, 0], grid[:, 0] * np.sin(grid[:, 0]), "k--", lw=1, label="x sin x")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(loc="upper left")
ax.set_title(f"90% band: {inside.mean():.0%} of held-out targets inside")
plt.show()

# %%
# Outliers: squared error, absolute error and Huber
# -------------------------------------------------
#
# A straight line with small noise, and 8% of the targets replaced by values
# far above it. The squared error chases the outliers: its fit is the mean,
# which they drag upwards. The absolute error fits the median and ignores
# them; the Huber loss treats residuals below ``huber_delta`` (here in units
# of the target) as the squared error does and larger ones as the absolute
# error does.

x = rng.uniform(-3, 3, 600)
y = 2 * x + rng.normal(0, 0.5, x.shape)
outliers = rng.random(x.shape) < 0.08
y[outliers] += rng.uniform(10, 25, outliers.sum())
X = x.reshape(-1, 1)

losses = {
    "squared_error": dict(loss="squared_error"),
    "absolute_error": dict(loss="absolute_error"),
    "huber, delta=1": dict(loss="huber", huber_delta=1.0),
}
grid = np.linspace(-3, 3, 200).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
ax.scatter(x[~outliers], y[~outliers], s=6, color="0.6", label="samples")
ax.scatter(x[outliers], y[outliers], s=10, color="tab:red", label="outliers")
for name, loss in losses.items():
    model = regressor(**loss).fit(X, y)
    error = np.median(np.abs(model.predict(X[~outliers]) - 2 * x[~outliers]))
    print(f"{name:15s} median distance to the true line: {error:.3f}")
    ax.plot(grid[:, 0], model.predict(grid), lw=2, label=name)
ax.plot(grid[:, 0], 2 * grid[:, 0], "k--", lw=1, label="true line")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(loc="upper left")
ax.set_title("Fits on data with outliers")
plt.show()
