"""
The algorithm
=============

This page derives what :class:`~sklearn_twolayer.TwoLayerClassifier` computes:
the forward propagation that turns a batch of samples into class
probabilities, the loss it minimises, the backpropagation that gives the
loss's gradient with respect to every weight, the update rules that use that
gradient, and the initial weights. The equations are numbered; the package's
code and docstrings refer to these numbers.

A plain NumPy transcription of the equations follows the derivation. It
checks the gradients against finite differences, then checks that the
package, trained by batch gradient descent, follows the transcription step
by step.
"""

# %%
# Notation
# --------
#
# Samples are rows, as everywhere in scikit-learn. A batch :math:`X` has
# :math:`B` rows and :math:`d` columns (features); the hidden layer has
# :math:`h` units and the output layer :math:`K`. The parameters are two
# weight matrices and two bias vectors, which a fitted estimator exposes as
#
# ================================  ==========================  ================
# symbol                            attribute                   shape
# ================================  ==========================  ================
# :math:`W_1`                       ``coefs_[0]``               :math:`(d, h)`
# :math:`b_1`                       ``intercepts_[0]``          :math:`(h,)`
# :math:`W_2`                       ``coefs_[1]``               :math:`(h, K)`
# :math:`b_2`                       ``intercepts_[1]``          :math:`(K,)`
# ================================  ==========================  ================
#
# :math:`\mathbf{1}` is a column of :math:`B` ones, so that
# :math:`\mathbf{1} b^\top` repeats a bias on every row; :math:`\odot` is the
# element-wise product. The targets are encoded as a matrix :math:`Y` of
# shape :math:`(B, K)`: one-hot rows for a multiclass problem (:math:`K`
# classes), a single column of zeros and ones for a binary problem
# (:math:`K = 1`), the indicator matrix itself for a multilabel problem.
#
# Forward propagation
# -------------------
#
# The hidden layer multiplies the batch by its weights, adds its biases and
# applies the activation function :math:`g` to every entry:
#
# .. math::
#    :label: alg-z1
#
#    Z_1 = X W_1 + \mathbf{1} b_1^\top
#
# .. math::
#    :label: alg-a1
#
#    A_1 = g(Z_1)
#
# with :math:`g(z) = \max(0, z)` (``activation="relu"``),
# :math:`\max(0.01 z, z)` (``"leaky_relu"``), :math:`\sigma(z) = 1 / (1 +
# e^{-z})` (``"logistic"``), :math:`\tanh z` (``"tanh"``), :math:`z`
# (``"identity"``), :math:`z \, \Phi(z)` where :math:`\Phi` is the standard
# normal distribution function (``"gelu"``), or :math:`z \, \sigma(z)`
# (``"silu"``). With ``dropout`` :math:`p > 0`, training multiplies
# :math:`A_1` entry by entry by a random mask :math:`M / (1 - p)` whose
# entries are 0 with probability :math:`p` and 1 otherwise, drawn anew for
# every sample, unit and step; backpropagation multiplies :math:`\Delta_1`
# below by the same mask, and prediction uses no mask. The output layer
# does the same with its own weights,
#
# .. math::
#    :label: alg-z2
#
#    Z_2 = A_1 W_2 + \mathbf{1} b_2^\top
#
# and turns each row of :math:`Z_2` into probabilities. For a multiclass
# problem that is the softmax function, row by row:
#
# .. math::
#    :label: alg-softmax
#
#    (A_2)_{ik} = \frac{e^{(Z_2)_{ik}}}{\sum_{j=1}^{K} e^{(Z_2)_{ij}}}
#
# Subtracting the row's largest entry from every :math:`(Z_2)_{ij}` first
# leaves the value unchanged and keeps the exponentials from overflowing.
# For a binary or multilabel problem each output unit is a logistic
# function, the probability of its label:
#
# .. math::
#    :label: alg-logistic-output
#
#    A_2 = \sigma(Z_2), \qquad \sigma(z) = \frac{1}{1 + e^{-z}}
#
# ``predict_proba`` returns :math:`A_2` (for a binary problem, the columns
# :math:`1 - A_2` and :math:`A_2`); ``predict`` takes the most probable class,
# or every label whose probability exceeds one half.
#
# The loss
# --------
#
# Training minimises the mean loss over the samples of the batch. With
# ``loss="log_loss"`` (the default) that is the cross-entropy between the
# targets and the predicted probabilities, for a softmax output
#
# .. math::
#    :label: alg-log-loss-softmax
#
#    L = -\frac{1}{B} \sum_{i=1}^{B} \sum_{k=1}^{K} Y_{ik} \log (A_2)_{ik}
#
# and for logistic outputs, where each unit is a yes-or-no question,
#
# .. math::
#    :label: alg-log-loss-logistic
#
#    L = -\frac{1}{B} \sum_{i=1}^{B} \sum_{k=1}^{K}
#        \bigl[ Y_{ik} \log (A_2)_{ik} + (1 - Y_{ik}) \log (1 - (A_2)_{ik}) \bigr]
#
# With ``loss="squared_error"`` it is half the squared distance between
# probabilities and targets:
#
# .. math::
#    :label: alg-squared-error
#
#    L = \frac{1}{2B} \sum_{i=1}^{B} \sum_{k=1}^{K} \bigl((A_2)_{ik} - Y_{ik}\bigr)^2
#
# The L2 penalty (``alpha``, :math:`\alpha`) adds the squared weights, not
# the biases, scaled by the batch size as in ``MLPClassifier``:
#
# .. math::
#    :label: alg-penalty
#
#    L_\alpha = L + \frac{\alpha}{2B}
#      \bigl( \lVert W_1 \rVert^2 + \lVert W_2 \rVert^2 \bigr)
#
# where :math:`\lVert W \rVert^2` is the sum of the squares of the entries.
# With ``sample_weight`` (or ``class_weight``), each sample's term is
# multiplied by its weight :math:`s_i` and :math:`B` becomes
# :math:`\sum_i s_i`, everywhere below as well.
#
# Backpropagation
# ---------------
#
# The gradient is computed from the output backwards, by the chain rule. It
# is convenient to name the gradient with respect to the pre-activations of
# each layer, scaled by :math:`B`: :math:`\Delta_2 = B \, \partial L /
# \partial Z_2` and :math:`\Delta_1 = B \, \partial L / \partial Z_1`, both
# with one row per sample.
#
# **The output layer.** A softmax output mixes the units of a row: every
# probability of the row depends on every entry of :math:`Z_2`. Differentiating
# :eq:`alg-softmax` gives its Jacobian,
#
# .. math::
#    :label: alg-softmax-jacobian
#
#    \frac{\partial (A_2)_{ij}}{\partial (Z_2)_{ik}}
#      = (A_2)_{ij} \bigl( \delta_{jk} - (A_2)_{ik} \bigr)
#
# where :math:`\delta_{jk}` is 1 if :math:`j = k` and 0 otherwise. For the
# cross-entropy :eq:`alg-log-loss-softmax`, the derivative of sample
# :math:`i`'s term with respect to :math:`(A_2)_{ij}` is
# :math:`-Y_{ij} / (A_2)_{ij}`; multiplied by :eq:`alg-softmax-jacobian` and
# summed over :math:`j`, it gives
# :math:`-Y_{ik} + (A_2)_{ik} \sum_j Y_{ij}`, and the rows of :math:`Y` sum to
# one. The logistic output with :eq:`alg-log-loss-logistic` gives the same
# result, since :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))` cancels the
# denominators of :math:`-y/a + (1-y)/(1-a)`. So for ``loss="log_loss"``,
# with either output,
#
# .. math::
#    :label: alg-delta-log-loss
#
#    \Delta_2 = A_2 - Y
#
# This is exact, which is why cross-entropy and these outputs go together.
# For the squared error :eq:`alg-squared-error` the derivative with respect
# to :math:`(A_2)_{ij}` is :math:`(A_2)_{ij} - Y_{ij}`, and the softmax
# Jacobian does not simplify away:
#
# .. math::
#    :label: alg-delta-squared-softmax
#
#    (\Delta_2)_{ik} = (A_2)_{ik} \bigl( (A_2)_{ik} - Y_{ik} \bigr)
#      - (A_2)_{ik} \, E_i, \qquad
#    E_i = \sum_{j=1}^{K} (A_2)_{ij} \bigl( (A_2)_{ij} - Y_{ij} \bigr)
#
# The package computes this full product. Dropping the term in :math:`E_i`,
# or using :math:`A_2 - Y` as for the cross-entropy, still tends to point
# downhill, but it is not the gradient of :eq:`alg-squared-error`: L-BFGS,
# whose line search relies on exact gradients, and any gradient check would
# then fail (see the check below). With logistic outputs each unit is on its
# own:
#
# .. math::
#    :label: alg-delta-squared-logistic
#
#    \Delta_2 = (A_2 - Y) \odot A_2 \odot (1 - A_2)
#
# Since :math:`Z_2` is linear in :math:`W_2` and :math:`b_2`,
# :eq:`alg-z2` gives the output layer's gradients, the penalty adding its
# term to the weights:
#
# .. math::
#    :label: alg-grad-w2
#
#    \frac{\partial L_\alpha}{\partial W_2}
#      = \frac{1}{B} \bigl( A_1^\top \Delta_2 + \alpha W_2 \bigr)
#
# .. math::
#    :label: alg-grad-b2
#
#    \frac{\partial L_\alpha}{\partial b_2} = \frac{1}{B} \Delta_2^\top \mathbf{1}
#
# (the column sums of :math:`\Delta_2`).
#
# **The hidden layer.** :math:`Z_2` depends on :math:`A_1` through
# :math:`W_2`, and :math:`A_1` on :math:`Z_1` entry by entry, so
#
# .. math::
#    :label: alg-delta-hidden
#
#    \Delta_1 = \bigl( \Delta_2 W_2^\top \bigr) \odot g'(Z_1)
#
# For most activations the derivative can be read off the output
# :math:`A_1 = g(Z_1)`, so that :math:`Z_1` need not be kept; gelu and
# silu need :math:`Z_1` itself (:math:`\varphi` is the standard normal
# density):
#
# .. math::
#    :label: alg-activation-derivative
#
#    g'(Z_1) = \begin{cases}
#      \mathbb{1}[A_1 > 0] & \text{relu} \\
#      \mathbb{1}[A_1 > 0] + 0.01 \cdot \mathbb{1}[A_1 \le 0] & \text{leaky\_relu} \\
#      A_1 \odot (1 - A_1) & \text{logistic} \\
#      1 - A_1 \odot A_1 & \text{tanh} \\
#      1 & \text{identity} \\
#      \Phi(Z_1) + Z_1 \odot \varphi(Z_1) & \text{gelu} \\
#      \sigma(Z_1) \odot \bigl(1 + Z_1 \odot (1 - \sigma(Z_1))\bigr) & \text{silu}
#    \end{cases}
#
# and, as for the output layer, :eq:`alg-z1` gives
#
# .. math::
#    :label: alg-grad-w1
#
#    \frac{\partial L_\alpha}{\partial W_1}
#      = \frac{1}{B} \bigl( X^\top \Delta_1 + \alpha W_1 \bigr)
#
# .. math::
#    :label: alg-grad-b1
#
#    \frac{\partial L_\alpha}{\partial b_1} = \frac{1}{B} \Delta_1^\top \mathbf{1}
#
# Five matrix products carry almost all the work of a batch: two forward
# (:eq:`alg-z1`, :eq:`alg-z2`), one for the hidden delta
# (:eq:`alg-delta-hidden`) and two for the weight gradients
# (:eq:`alg-grad-w2`, :eq:`alg-grad-w1`).
#
# Updates
# -------
#
# Write :math:`\theta` for any of :math:`W_1, b_1, W_2, b_2`, :math:`G` for
# its gradient from :eq:`alg-grad-w2`--:eq:`alg-grad-b1` on the current batch,
# and :math:`\eta` for the learning rate (``learning_rate_init``). An epoch
# shuffles the samples (``shuffle=True``), cuts them into batches of
# ``batch_size`` rows and updates the parameters after each batch;
# ``batch_size="full"`` makes one batch of all the samples, one update per
# epoch. Plain gradient descent (``solver="sgd", momentum=0``) steps against
# the gradient:
#
# .. math::
#    :label: alg-gradient-descent
#
#    \theta \leftarrow \theta - \eta \, G
#
# With momentum :math:`\mu` (``momentum``) a velocity :math:`V`, zero at the
# start, accumulates past steps:
#
# .. math::
#    :label: alg-momentum
#
#    V \leftarrow \mu V - \eta G, \qquad \theta \leftarrow \theta + V
#
# Nesterov's variant (``nesterovs_momentum=True``) steps with the velocity
# it is about to have:
#
# .. math::
#    :label: alg-nesterov
#
#    V \leftarrow \mu V - \eta G, \qquad \theta \leftarrow \theta + \mu V - \eta G
#
# Adam (``solver="adam"``) keeps running means of the gradient and of its
# square, and scales each entry's step by them; at the :math:`t`-th update,
#
# .. math::
#    :label: alg-adam
#
#    M \leftarrow \beta_1 M + (1 - \beta_1) G, \quad
#    S \leftarrow \beta_2 S + (1 - \beta_2) \, G \odot G, \quad
#    \theta \leftarrow \theta - \eta \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}
#      \, \frac{M}{\sqrt{S} + \epsilon}
#
# with the square root and the division taken entry by entry, and :math:`M`
# and :math:`S` zero at the start; the fraction in front corrects their bias
# towards zero in the first steps. With ``learning_rate="invscaling"``
# (``solver="sgd"``) the rate shrinks after each epoch with the number
# :math:`t` of samples seen so far:
#
# .. math::
#    :label: alg-invscaling
#
#    \eta_t = \frac{\eta}{(t + 1)^{p}}
#
# where :math:`p` is ``power_t``. ``solver="lbfgs"`` instead hands the loss
# :eq:`alg-penalty` of all the samples and its gradient to SciPy's L-BFGS-B.
#
# Initial weights
# ---------------
#
# ``init="glorot_uniform"`` (the default, as in ``MLPClassifier``, which the
# same ``random_state`` reproduces) draws each layer's weights and biases
# uniformly in a range set by the layer's fan-in and fan-out,
#
# .. math::
#    :label: alg-init-glorot
#
#    W_l, b_l \sim \mathcal{U}(-r_l, r_l), \qquad
#    r_l = \sqrt{\frac{f}{n_{\text{in}} + n_{\text{out}}}}
#
# with :math:`f = 2` for logistic hidden units and :math:`f = 6` otherwise,
# so that the signal neither fades nor grows from layer to layer at the
# start. ``init="uniform"`` draws every weight and bias from a fixed range,
# the textbook choice for batch gradient descent:
#
# .. math::
#    :label: alg-init-uniform
#
#    W_l, b_l \sim \mathcal{U}(-0.5, 0.5)
#
# Both draw, layer after layer, the weights and then the biases, from
# ``random_state``.
#
# Regression
# ----------
#
# :class:`~sklearn_twolayer.TwoLayerRegressor` uses the same hidden layer,
# backpropagation, updates and initial weights; its :math:`K` outputs are
# the targets themselves (one column per target), with an identity output,
# or an exponential one for the Poisson loss, which keeps predictions
# positive:
#
# .. math::
#    :label: alg-regression-output
#
#    A_2 = Z_2 \qquad \text{or, for } \texttt{loss="poisson"}, \qquad
#    A_2 = e^{Z_2}
#
# Each loss is a mean over the samples of a function of the residual
# :math:`R = A_2 - Y`, summed over the outputs; its output delta
# :math:`\Delta_2` then enters :eq:`alg-grad-w2`--:eq:`alg-grad-b1` as before.
# Where a loss has a kink, :math:`\Delta_2` is one of its one-sided slopes
# (a subgradient). The squared error is :eq:`alg-squared-error` with
#
# .. math::
#    :label: alg-regression-squared-error
#
#    \Delta_2 = R
#
# the absolute error, whose minimiser is the median, is
#
# .. math::
#    :label: alg-regression-absolute-error
#
#    L = \frac{1}{B} \sum_{i,k} \lvert R_{ik} \rvert, \qquad
#    \Delta_2 = \operatorname{sign}(R)
#
# the Huber loss with threshold :math:`\delta` (``huber_delta``) is
# quadratic for small residuals and linear for large ones,
#
# .. math::
#    :label: alg-regression-huber
#
#    L = \frac{1}{B} \sum_{i,k} h(R_{ik}), \quad
#    h(r) = \begin{cases}
#      r^2 / 2 & \lvert r \rvert \le \delta \\
#      \delta \, (\lvert r \rvert - \delta / 2) & \lvert r \rvert > \delta
#    \end{cases}
#
# whose delta is the residual clipped to :math:`[-\delta, \delta]`,
# :math:`\Delta_2 = \operatorname{clip}(R, -\delta, \delta)`;
# the quantile (pinball) loss of level :math:`\tau` (``quantile``), whose
# minimiser is the :math:`\tau`-quantile of the target, weighs residuals
# below and above the target differently,
#
# .. math::
#    :label: alg-regression-quantile
#
#    L = \frac{1}{B} \sum_{i,k} \max\bigl( (1 - \tau) R_{ik}, \; -\tau R_{ik} \bigr),
#    \qquad
#    \Delta_2 = \mathbb{1}[R > 0] - \tau
#
# and the Poisson loss, half the Poisson deviance (with :math:`0 \log 0 =
# 0`), gives with the exponential output the same simple delta as the
# cross-entropy does with a softmax:
#
# .. math::
#    :label: alg-regression-poisson
#
#    L = \frac{1}{B} \sum_{i,k} \Bigl( Y_{ik} \log \frac{Y_{ik}}{(A_2)_{ik}}
#      - Y_{ik} + (A_2)_{ik} \Bigr),
#    \qquad \Delta_2 = A_2 - Y
#
# The equations in NumPy
# ----------------------
#
# A direct transcription, one line per equation, for a whole batch.

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerClassifier

ACTIVATIONS = {  # g and g' as a function of A1 = g(Z1), eq. (17)
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(float)),
    "logistic": (lambda z: 1 / (1 + np.exp(-z)), lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - a * a),
    "identity": (lambda z: z, np.ones_like),
}


def forward(X, params, activation, output):
    W1, b1, W2, b2 = params
    Z1 = X @ W1 + b1  # (1)
    A1 = ACTIVATIONS[activation][0](Z1)  # (2)
    Z2 = A1 @ W2 + b2  # (3)
    if output == "softmax":
        E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
        A2 = E / E.sum(axis=1, keepdims=True)  # (4)
    else:
        A2 = 1 / (1 + np.exp(-Z2))  # (5)
    return A1, A2


def loss(X, Y, params, activation, output, kind, alpha):
    _, A2 = forward(X, params, activation, output)
    B = X.shape[0]
    if kind in ("squared_error", "shortcut"):
        value = 0.5 * np.sum((A2 - Y) ** 2) / B  # (8)
    elif output == "softmax":
        value = -np.sum(Y * np.log(A2)) / B  # (6)
    else:
        value = -np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / B  # (7)
    W1, _, W2, _ = params
    return value + alpha / (2 * B) * (np.sum(W1**2) + np.sum(W2**2))  # (9)


def gradient(X, Y, params, activation, output, kind, alpha):
    W1, b1, W2, b2 = params
    A1, A2 = forward(X, params, activation, output)
    B = X.shape[0]
    if kind == "log_loss":
        D2 = A2 - Y  # (11)
    elif kind == "squared_error" and output == "softmax":
        E = np.sum(A2 * (A2 - Y), axis=1, keepdims=True)
        D2 = A2 * (A2 - Y) - A2 * E  # (12)
    elif kind == "squared_error":
        D2 = (A2 - Y) * A2 * (1 - A2)  # (13)
    else:  # the shortcut discussed under (12): not a gradient of (8)
        D2 = A2 - Y
    D1 = (D2 @ W2.T) * ACTIVATIONS[activation][1](A1)  # (16), (17)
    return [
        (X.T @ D1 + alpha * W1) / B,  # (18)
        D1.sum(axis=0) / B,  # (19)
        (A1.T @ D2 + alpha * W2) / B,  # (14)
        D2.sum(axis=0) / B,  # (15)
    ]


def uniform_init(n_features, n_hidden, n_outputs, random_state):
    rng = np.random.RandomState(random_state)  # (26), layer by layer
    W1 = rng.random_sample((n_features, n_hidden)) - 0.5
    b1 = rng.random_sample(n_hidden) - 0.5
    W2 = rng.random_sample((n_hidden, n_outputs)) - 0.5
    b2 = rng.random_sample(n_outputs) - 0.5
    return [W1, b1, W2, b2]


# %%
# Checking the gradient
# ---------------------
#
# Central finite differences approximate every partial derivative of the
# loss, :math:`(L(\theta + \varepsilon) - L(\theta - \varepsilon)) /
# 2\varepsilon`, one parameter at a time. Their distance to the gradient of
# :eq:`alg-grad-w2`--:eq:`alg-grad-b1`, relative to its size, is at the level
# of the finite differences' own error for every output and loss, and large
# for the shortcut :math:`\Delta_2 = A_2 - Y` with the squared error.

X, y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X)
Y_multi = np.eye(3)[y]  # one-hot rows
Y_binary = (y == 2).astype(float).reshape(-1, 1)  # one logistic output


def relative_error(X, Y, activation, output, kind, alpha=0.1, eps=1e-6):
    params = uniform_init(X.shape[1], 6, Y.shape[1], random_state=1)
    analytic = gradient(X, Y, params, activation, output, kind, alpha)
    numeric = []
    for p in params:
        g = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            saved = p[index]
            p[index] = saved + eps
            up = loss(X, Y, params, activation, output, kind, alpha)
            p[index] = saved - eps
            down = loss(X, Y, params, activation, output, kind, alpha)
            p[index] = saved
            g[index] = (up - down) / (2 * eps)
        numeric.append(g)
    difference = np.sqrt(sum(np.sum((a - n) ** 2) for a, n in zip(analytic, numeric)))
    size = np.sqrt(sum(np.sum(n**2) for n in numeric))
    return difference / size


cases = {
    "softmax, log loss\n(11), relu": (Y_multi, "relu", "softmax", "log_loss"),
    "softmax, squared\n(12), tanh": (Y_multi, "tanh", "softmax", "squared_error"),
    "logistic, log loss\n(11), logistic": (
        Y_binary,
        "logistic",
        "logistic",
        "log_loss",
    ),
    "logistic, squared\n(13), relu": (Y_binary, "relu", "logistic", "squared_error"),
    "softmax, squared\nwith A2 - Y": (Y_multi, "tanh", "softmax", "shortcut"),
}
errors = {}
for name, (Y, activation, output, kind) in cases.items():
    errors[name] = relative_error(X, Y, activation, output, kind)
    print(f"{name.replace(chr(10), ' / '):45s} relative error {errors[name]:.1e}")

fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
colors = ["tab:blue"] * 4 + ["tab:red"]
ax.bar(list(errors), list(errors.values()), color=colors)
ax.set_yscale("log")
ax.set_ylabel("relative distance to\nfinite differences")
ax.set_title("Gradient of the equations against finite differences")
ax.tick_params(axis="x", labelsize=8)
plt.show()

# %%
# The package against the equations
# ----------------------------------
#
# With ``solver="sgd", momentum=0, batch_size="full", shuffle=False`` each
# epoch of :class:`~sklearn_twolayer.TwoLayerClassifier` is one step of
# :eq:`alg-gradient-descent` on all the samples, and ``init="uniform"`` with
# ``random_state=0`` draws :eq:`alg-init-uniform` from ``RandomState(0)``.
# The transcription, run for the same number of steps from the same start,
# must end at the same weights, up to floating-point rounding. ``tol=0``
# and ``n_iter_no_change=max_iter`` make the package run every step (and
# warn that the loss could still decrease, which is not the point here).

warnings.filterwarnings("ignore", category=ConvergenceWarning)

settings = dict(activation="tanh", loss="squared_error", alpha=1e-3)
n_steps, learning_rate = 300, 0.5
clf = TwoLayerClassifier(
    n_hidden=6,
    solver="sgd",
    momentum=0.0,
    batch_size="full",
    shuffle=False,
    learning_rate_init=learning_rate,
    init="uniform",
    max_iter=n_steps,
    tol=0.0,
    n_iter_no_change=n_steps,
    random_state=0,
    **settings,
).fit(X, y)

params = uniform_init(X.shape[1], 6, 3, random_state=0)
reference_losses = []
for _ in range(n_steps):
    args = ("tanh", "softmax", "squared_error", settings["alpha"])
    reference_losses.append(loss(X, Y_multi, params, *args))
    for p, g in zip(params, gradient(X, Y_multi, params, *args)):
        p -= learning_rate * g  # (20)

package = [clf.coefs_[0], clf.intercepts_[0], clf.coefs_[1], clf.intercepts_[1]]
largest = max(np.max(np.abs(a - b)) for a, b in zip(package, params))
print(f"largest weight difference after {n_steps} steps: {largest:.1e}")
print(f"training accuracy: {clf.score(X, y):.3f}")

fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
ax.plot(reference_losses, lw=4, alpha=0.4, label="NumPy transcription")
ax.plot(clf.loss_curve_, "k--", lw=1, label="TwoLayerClassifier.loss_curve_")
ax.set_xlabel("gradient descent step")
ax.set_ylabel("loss (9)")
ax.set_yscale("log")
ax.legend()
ax.set_title("Batch gradient descent, squared error with a softmax output")
plt.show()

# %%
# Both curves are the loss of the weights before each step. The largest
# difference between the weights, printed above, is at the level of
# floating-point rounding: the package computes exactly these equations, in
# compiled kernels and in chunks of rows, and the test suite checks the same
# for every activation, output and loss.
