"""
Decision boundaries
===================

How the number of hidden units and their activation shape what a
:class:`~sklearn_twolayer.TwoLayerClassifier` can separate, on two
two-dimensional problems. Each hidden unit contributes one soft line
(:math:`X W_1 + b_1 = 0` for its column of the weights); the output layer
combines them. Two units can only bend the boundary once or twice; a few
dozen follow any smooth curve.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import make_circles, make_moons
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerClassifier

problems = {
    "moons": make_moons(n_samples=300, noise=0.2, random_state=0),
    "circles": make_circles(n_samples=300, noise=0.1, factor=0.5, random_state=0),
}
configurations = [(2, "relu"), (8, "relu"), (64, "relu"), (8, "tanh")]

fig, axes = plt.subplots(
    len(problems), len(configurations), figsize=(12, 6), layout="constrained"
)
for row, (problem, (X, y)) in zip(axes, problems.items()):
    X = StandardScaler().fit_transform(X)
    for ax, (n_hidden, activation) in zip(row, configurations):
        # L-BFGS: full-batch second-order steps, quick on small data.
        clf = TwoLayerClassifier(
            n_hidden=n_hidden,
            activation=activation,
            solver="lbfgs",
            max_iter=500,
            random_state=0,
        ).fit(X, y)
        DecisionBoundaryDisplay.from_estimator(
            clf,
            X,
            response_method="predict_proba",
            cmap="RdBu",
            alpha=0.7,
            ax=ax,
            grid_resolution=150,
        )
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolor="k", s=15)
        ax.set_title(
            f"{problem}: {n_hidden} {activation} units\n"
            f"training accuracy {clf.score(X, y):.2f}",
            fontsize=10,
        )
        ax.set_xticks([])
        ax.set_yticks([])
plt.show()
