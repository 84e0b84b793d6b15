"""
Tuning in a pipeline with GridSearchCV
======================================

:class:`~sklearn_twolayer.TwoLayerClassifier` is tuned like any scikit-learn
estimator. Here a pipeline scales the features and a grid search picks the
number of hidden units and the strength of the L2 penalty (``alpha``) by
cross-validation.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerClassifier

# Forty epochs keep the search short; some fits could still improve.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

pipeline = make_pipeline(
    StandardScaler(), TwoLayerClassifier(max_iter=40, random_state=0)
)
grid = {
    "twolayerclassifier__n_hidden": [8, 32, 128],
    "twolayerclassifier__alpha": [1e-4, 1e-1, 3.0, 30.0],
}
search = GridSearchCV(pipeline, grid, cv=3).fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(
    f"cross-validated accuracy {search.best_score_:.3f}, "
    f"test accuracy {search.score(X_test, y_test):.3f}"
)

# %%
# The mean cross-validated accuracy of every combination: too few hidden
# units underfit whatever the penalty, and a strong penalty shrinks the
# weights of any network towards zero.

hidden_sizes = grid["twolayerclassifier__n_hidden"]
alphas = grid["twolayerclassifier__alpha"]
scores = np.empty((len(hidden_sizes), len(alphas)))
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"]
):
    i = hidden_sizes.index(params["twolayerclassifier__n_hidden"])
    j = alphas.index(params["twolayerclassifier__alpha"])
    scores[i, j] = score
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
image = ax.imshow(scores, cmap="viridis", vmin=scores.min(), vmax=1)
ax.set_xticks(range(len(alphas)), alphas)
ax.set_yticks(range(len(hidden_sizes)), hidden_sizes)
ax.set_xlabel("alpha")
ax.set_ylabel("n_hidden")
for (i, j), value in np.ndenumerate(scores):
    ax.text(
        j,
        i,
        f"{value:.3f}",
        ha="center",
        va="center",
        color="white" if value < scores.mean() else "black",
    )
fig.colorbar(image, label="mean cross-validated accuracy")
plt.show()
