"""
Training curves and early stopping
==================================

A fitted :class:`~sklearn_twolayer.TwoLayerClassifier` records the loss of
every epoch in ``loss_curve_``. With ``early_stopping=True`` it also holds
out part of the training data, scores the model on it after every epoch,
stops once the score has not improved for ``n_iter_no_change`` epochs, and
keeps the weights of the best epoch.
:class:`~sklearn_twolayer.TrainingCurveDisplay` draws these curves.
"""

# %%
# A problem that invites overfitting
# ----------------------------------
#
# A wide network on a small, noisy training set: 30% of its labels are
# replaced by random ones.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from sklearn_twolayer import TrainingCurveDisplay, TwoLayerClassifier

X, y = load_digits(return_X_y=True)
X = MinMaxScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=600, stratify=y, random_state=0
)
rng = np.random.default_rng(0)
noisy = rng.random(y_train.shape[0]) < 0.3
y_train = np.where(noisy, rng.integers(0, 10, y_train.shape[0]), y_train)

# %%
# Without and with early stopping
# -------------------------------
#
# The first model trains for all its epochs and drives the training loss
# down by learning the wrong labels too. The second holds out 20% of its
# training data; the validation loss and accuracy (right axis) show when
# the network starts fitting the noise.

common = dict(n_hidden=256, learning_rate_init=3e-3, random_state=0)
full = TwoLayerClassifier(max_iter=150, tol=0.0, n_iter_no_change=150, **common)
full.fit(X_train, y_train)
stopped = TwoLayerClassifier(
    max_iter=150,
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=10,
    **common,
).fit(X_train, y_train)

fig, (ax_full, ax_stopped) = plt.subplots(
    1, 2, figsize=(10, 4), sharey=True, layout="constrained"
)
TrainingCurveDisplay.from_estimator(full, ax=ax_full, name="all 150 epochs")
TrainingCurveDisplay.from_estimator(stopped, ax=ax_stopped, name="early stopping")
plt.show()

# %%
# The early-stopped model ran fewer epochs and kept the weights of its best
# validation score; on clean test data it does at least as well as the model
# that memorised the noise.

print(
    f"without early stopping: {full.n_iter_} epochs, "
    f"test accuracy {full.score(X_test, y_test):.3f}"
)
print(
    f"with early stopping:    {stopped.n_iter_} epochs, best validation "
    f"accuracy {stopped.best_validation_score_:.3f} at epoch "
    f"{int(np.argmax(stopped.validation_scores_)) + 1}, "
    f"test accuracy {stopped.score(X_test, y_test):.3f}"
)
