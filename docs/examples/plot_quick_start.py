"""
Quick start
===========

Train a :class:`~sklearn_twolayer.TwoLayerClassifier` on scikit-learn's
handwritten digits, measure its accuracy on held-out images, and look at
what it learned.
"""

# %%
# Fit and score
# -------------
#
# The estimator works like any scikit-learn classifier. Neural networks
# train best on features of similar scale, so a scaler goes first in a
# pipeline.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sklearn_twolayer import TwoLayerClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

model = make_pipeline(MinMaxScaler(), TwoLayerClassifier(n_hidden=64, random_state=0))
model.fit(X_train, y_train)
print(f"test accuracy: {model.score(X_test, y_test):.3f}")

# %%
# The fitted network
# ------------------
#
# The fitted attributes are those of ``MLPClassifier``: the weights of both
# layers, the number of epochs run and the loss after each of them.

clf = model[-1]
print("coefs_ shapes:", [w.shape for w in clf.coefs_])
print("intercepts_ shapes:", [b.shape for b in clf.intercepts_])
print("classes_:", clf.classes_)
print(f"{clf.n_iter_} epochs, final loss {clf.loss_:.4f}")

# %%
# Where it errs
# -------------
#
# The confusion matrix counts the test images of each true digit (rows) by
# predicted digit (columns); the misclassified images follow, with the
# predicted probability of the chosen class.

ConfusionMatrixDisplay.from_estimator(model, X_test, y_test, colorbar=False)
plt.show()

proba = model.predict_proba(X_test)
predicted = clf.classes_[proba.argmax(axis=1)]
wrong = np.flatnonzero(predicted != y_test)[:8]
fig, axes = plt.subplots(1, max(len(wrong), 1), figsize=(1.4 * max(len(wrong), 1), 2))
for ax, i in zip(np.atleast_1d(axes), wrong):
    ax.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"{predicted[i]} ({proba[i].max():.0%})\ntrue {y_test[i]}", fontsize=9)
for ax in np.atleast_1d(axes):
    ax.set_axis_off()
plt.show()

# %%
# What the hidden units look at
# -----------------------------
#
# Each column of ``coefs_[0]`` holds the weights of one hidden unit on the 64
# pixels. Drawn as images, they show which strokes excite (red) or inhibit
# (blue) each unit.

W1 = clf.coefs_[0]
fig, axes = plt.subplots(4, 8, figsize=(8, 4.4))
for unit, ax in enumerate(axes.ravel()):
    limit = np.abs(W1[:, unit]).max()
    ax.imshow(W1[:, unit].reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_axis_off()
fig.suptitle("Input weights of the first 32 hidden units")
plt.show()
