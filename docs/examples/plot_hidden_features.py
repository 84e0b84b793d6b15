"""
The hidden layer as features
============================

A fitted network's ``transform`` returns its hidden activations: the
features it learned. Here they feed a linear model and a gradient-boosting
model, as a step of a :class:`~sklearn.pipeline.Pipeline`, and the scores
are compared with the same models on the raw pixels.
"""

# %%
# Five models on the digits
# -------------------------
#
# In a pipeline, a :class:`~sklearn_twolayer.TwoLayerClassifier` that is not
# the last step is fitted on the labels (``fit_transform(X, y)``), then
# passes its 32 hidden activations on to the next step. It trains for 100
# epochs, enough here though its loss still creeps down: the warning
# saying so is silenced.

import time
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sklearn_twolayer import TwoLayerClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)


def network():
    return TwoLayerClassifier(n_hidden=32, max_iter=100, random_state=0)


def boosting():
    # Small trees and a high learning rate: a quick fit on 10 classes.
    return HistGradientBoostingClassifier(
        max_iter=20, max_leaf_nodes=15, learning_rate=0.2, random_state=0
    )


models = {
    "logistic regression\non pixels": make_pipeline(
        MinMaxScaler(), LogisticRegression(max_iter=1000)
    ),
    "gradient boosting\non pixels": boosting(),
    "the network alone": make_pipeline(MinMaxScaler(), network()),
    "logistic regression\non hidden features": make_pipeline(
        MinMaxScaler(), network(), LogisticRegression(max_iter=1000)
    ),
    "gradient boosting\non hidden features": make_pipeline(
        MinMaxScaler(), network(), boosting()
    ),
}
scores, seconds = {}, {}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds[name] = time.perf_counter() - start
    scores[name] = model.score(X_test, y_test)
    print(f"{name.replace(chr(10), ' '):42s} accuracy {scores[name]:.3f}")

# %%
# Scores side by side
# -------------------
#
# The 32 hidden activations were learned for this task: a linear model on
# them is about as good as the network's own output layer, which is also a
# linear model of them, and each model on the hidden features can be set
# against the same model on the 64 pixels.

fig, ax = plt.subplots(figsize=(8, 3.6))
bars = ax.barh(list(scores), list(scores.values()), color="tab:blue")
ax.bar_label(bars, labels=[f"{s:.3f}  ({seconds[n]:.1f} s)" for n, s in scores.items()])
ax.set_xlim(0.8, 1.02)
ax.invert_yaxis()
ax.set_xlabel("test accuracy (fit time)")
fig.tight_layout()
plt.show()

# %%
# The features by name
# --------------------
#
# ``get_feature_names_out`` names the hidden units after the estimator, and
# ``set_output(transform="pandas")`` keeps these names on the features.

features = (
    make_pipeline(MinMaxScaler(), network())
    .set_output(transform="pandas")
    .fit(X_train, y_train)
    .transform(X_test)
)
print(features.iloc[:3, :5])
