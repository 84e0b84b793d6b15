"""The estimators' docstrings, written once where the two agree.

A class docstring names a shared entry on a line of its own, ``{name}``
indented as an entry; :func:`shared_docstring` puts the entry's text there,
with ``{mlp}`` read as the scikit-learn estimator it stands in for. Any
``{hidden_activations}``, ``{classifier_losses}`` or ``{regressor_losses}``
becomes the registry's list of those names.
"""

import re

from ._registry import CLASSIFIER_LOSSES, HIDDEN_ACTIVATIONS, REGRESSOR_LOSSES

#: The parameters both estimators share, as their docstrings describe them.
PARAMETERS = {
    "n_hidden": """\
n_hidden : int or None, default=None
    Number of hidden units; None: as ``hidden_layer_sizes`` says, or 100
    when both are None.
""",
    "hidden_layer_sizes": """\
hidden_layer_sizes : int, tuple or list of one int, or None, \
        default=None
    {mlp}'s spelling of ``n_hidden``: ``hidden_layer_sizes=(64,)``
    (or ``64``) is ``n_hidden=64``. More than one size is refused (this
    network has one hidden layer). When both are given they must agree
    (a ValueError at fit otherwise); ``set_params`` with one of them
    alone resets the other to None, so the value set last wins, as in
    a grid search over either.
""",
    "activation": """\
activation : {{hidden_activations}}, default="relu"
    Hidden-layer activation ``g``: ``"relu"`` is ``max(z, 0)``,
    ``"logistic"`` ``1 / (1 + exp(-z))``, ``"tanh"`` ``tanh(z)``,
    ``"identity"`` ``z``; beyond {mlp}'s, ``"leaky_relu"`` is
    ``z`` for ``z > 0`` and ``0.01 * z`` otherwise, ``"gelu"`` the exact
    Gaussian error linear unit ``z * Phi(z) = 0.5 * z * (1 + erf(z /
    sqrt(2)))``, and ``"silu"`` (swish) ``z * logistic(z)``.
""",
    "solver": """\
solver : {"adam", "sgd", "lbfgs"}, default="adam"
    ``"sgd"`` is gradient descent with optional (Nesterov) momentum;
    ``"adam"`` is Kingma and Ba's Adam; ``"lbfgs"`` is scipy's L-BFGS-B
    on the loss of all samples (computed in chunks, in the dtype of X).
""",
    "alpha": """\
alpha : float, default=1e-4
    Strength of the L2 penalty ``0.5 * alpha * ||W||^2 / batch_size``.
""",
    "batch_size": """\
batch_size : int, "auto" or "full", default="auto"
    Minibatch size; ``"auto"`` is ``min(200, n_samples)`` and ``"full"``
    all samples (batch gradient descent).
""",
    "learning_rate": """\
learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
    Step-size schedule of ``solver="sgd"``: constant; ``learning_rate_init
    / (t + 1) ** power_t`` after each epoch, ``t`` the samples seen so
    far; or divided by 5 each time ``n_iter_no_change`` epochs bring no
    improvement of ``tol`` (training stops once it is at most 1e-6).
""",
    "learning_rate_init": """\
learning_rate_init : float, default=1e-3
    Step size (the initial one, with a schedule).
""",
    "power_t": """\
power_t : float, default=0.5
    Exponent of the ``"invscaling"`` schedule.
""",
    "max_iter": """\
max_iter : int, default=200
    Maximum number of epochs (iterations for ``solver="lbfgs"``).
""",
    "shuffle": """\
shuffle : bool, default=True
    Whether to shuffle the samples before each epoch.
""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds the initial weights, the validation split and the shuffling.
    For a given value the fitted weights do not depend on the number of
    threads.
""",
    "tol": """\
tol : float, default=1e-4
    Training stops when the loss (or, with early stopping, the
    validation score) has not improved by at least ``tol`` for
    ``n_iter_no_change`` consecutive epochs; for ``solver="lbfgs"``,
    when the largest gradient entry falls below ``tol``.
""",
    "verbose": """\
verbose : bool, default=False
    Print the loss after each epoch.
""",
    "warm_start": """\
warm_start : bool, default=False
    Continue from the current ``coefs_`` and ``intercepts_`` instead of
    initialising new weights.
""",
    "momentum": """\
momentum : float, default=0.9
    Momentum of ``solver="sgd"``, in [0, 1].
""",
    "nesterovs_momentum": """\
nesterovs_momentum : bool, default=True
    Use Nesterov's momentum (``solver="sgd"`` with ``momentum > 0``).
""",
    "validation_fraction": """\
validation_fraction : float, default=0.1
    Share of the samples held out for early stopping, in (0, 1).
""",
    "beta_1": """\
beta_1 : float, default=0.9
    Adam's decay rate of the first-moment estimate, in [0, 1).
""",
    "beta_2": """\
beta_2 : float, default=0.999
    Adam's decay rate of the second-moment estimate, in [0, 1).
""",
    "epsilon": """\
epsilon : float, default=1e-8
    Adam's numerical stability constant.
""",
    "n_iter_no_change": """\
n_iter_no_change : int, default=10
    Epochs without an improvement of ``tol`` before stopping.
""",
    "max_fun": """\
max_fun : int, default=15000
    ``solver="lbfgs"`` only: maximum number of loss evaluations.
""",
    "init": """\
init : {"glorot_uniform", "uniform"}, default="glorot_uniform"
    Initial weights: {mlp}'s Glorot-uniform scheme (the same
    ``random_state`` gives {mlp}'s starting weights), or the
    textbook ``U(-0.5, 0.5)``.
""",
    "dropout": """\
dropout : float, default=0.0
    Rate of inverted dropout on the hidden layer while training, in
    [0, 1): each epoch, each hidden unit of each sample is dropped with
    this probability and the kept ones are scaled by ``1 / (1 -
    dropout)``, so that prediction (which drops nothing) needs no
    rescaling. The masks follow ``random_state`` and do not depend on
    the number of threads. Not with ``solver="lbfgs"``.
""",
}

#: The fitted attributes both estimators share.
ATTRIBUTES = {
    "n_features_in_": """\
n_features_in_ : int
    Number of features seen during fit.
""",
    "feature_names_in_": """\
feature_names_in_ : ndarray of shape (n_features_in_,)
    Names of features seen during fit, when X has string column names.
""",
    "coefs_": """\
coefs_ : list of two ndarrays
    ``coefs_[0]`` is W1.T of shape (n_features, n_hidden), ``coefs_[1]``
    is W2.T of shape (n_hidden, n_outputs).
""",
    "intercepts_": """\
intercepts_ : list of two ndarrays
    ``b1`` of shape (n_hidden,) and ``b2`` of shape (n_outputs,).
""",
    "n_layers_": """\
n_layers_ : int
    Number of layers, input and output included: always 3 (as
    {mlp}'s ``n_layers_`` for one hidden layer).
""",
    "hidden_activation_": """\
hidden_activation_ : str
    The hidden layer's activation of the fitted model: ``activation``
    as it was at the last fit (prediction reads this one, so changing
    ``activation`` takes effect at the next fit).
""",
    "n_iter_": """\
n_iter_ : int
    Epochs run by the last call to ``fit``.
""",
    "t_": """\
t_ : int
    Training samples seen, over all calls to ``fit``.
""",
    "loss_": """\
loss_ : float
    Loss of the last epoch (mean over samples, plus the L2 term).
""",
    "best_loss_": """\
best_loss_ : float or None
    Lowest epoch loss reached (None with early stopping).
""",
    "loss_curve_": """\
loss_curve_ : list of float
    Loss of each epoch (of each iteration for ``solver="lbfgs"``).
""",
    "validation_scores_": """\
validation_scores_ : list of float or None
    With early stopping: the validation score (see ``scoring``) after
    each epoch; None otherwise.
""",
    "validation_loss_curve_": """\
validation_loss_curve_ : list of float or None
    With early stopping: the loss (as in ``loss_curve_``) of the
    validation samples after each epoch; None otherwise.
""",
    "best_validation_score_": """\
best_validation_score_ : float or None
    With early stopping: the best validation score, whose weights are
    kept; None otherwise.
""",
}

_SHARED = {**PARAMETERS, **ATTRIBUTES}
_PLACEHOLDER = re.compile(r"^( +)\{(\w+)\}$", re.MULTILINE)
_NAMES = {
    "{hidden_activations}": HIDDEN_ACTIVATIONS,
    "{classifier_losses}": CLASSIFIER_LOSSES,
    "{regressor_losses}": REGRESSOR_LOSSES,
}


def shared_docstring(mlp):
    """Class decorator: fill the placeholders of the class docstring with
    the shared entries, ``{mlp}`` read as ``mlp`` (e.g. "MLPClassifier")."""

    def fill(match):
        indent, name = match.groups()
        lines = _SHARED[name].replace("{mlp}", mlp).rstrip("\n").split("\n")
        return "\n".join(indent + line if line else line for line in lines)

    def decorate(cls):
        doc = _PLACEHOLDER.sub(fill, cls.__doc__)
        for token, names in _NAMES.items():
            doc = doc.replace(token, ", ".join(f'"{name}"' for name in names))
        cls.__doc__ = doc
        return cls

    return decorate
