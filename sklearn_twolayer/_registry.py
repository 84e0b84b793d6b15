"""The network's activations and losses: each name once, with what every
layer needs to know of it.

The estimators' parameter constraints and docstrings, the compiled
trainer and forward pass, the ONNX converter and the tests read these
tables; the kernels know the same functions by the codes of their enums
(``Activation`` in ``src/_activations.pxd``, ``Loss`` in
``src/_layers.pxd``), which ``code`` holds.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Activation:
    """An activation function of a layer.

    code : int
        Its value in the kernels' ``Activation`` enum.
    hidden : bool
        Whether the hidden layer may use it (the ``activation`` parameter);
        the others are output activations only.
    onnx_op : str or None
        The ONNX operator that computes it elementwise (softmax: along each
        row), or None where the converter composes it.
    """

    code: int
    hidden: bool
    onnx_op: str = None


@dataclass(frozen=True)
class Loss:
    """A training loss.

    code : int
        Its value in the kernels' ``Loss`` enum.
    classifier, regressor : bool
        Which estimators offer it.
    output_activation : str or None
        The output activation a regressor trains it through (None: the
        classifier's, set by its targets).
    parameter : str or None
        The regressor's parameter that the loss takes (Huber's threshold,
        the quantile), if any.
    """

    code: int
    classifier: bool
    regressor: bool
    output_activation: str = None
    parameter: str = None


ACTIVATIONS = {
    "relu": Activation(1, hidden=True, onnx_op="Relu"),
    "logistic": Activation(2, hidden=True, onnx_op="Sigmoid"),
    "tanh": Activation(3, hidden=True, onnx_op="Tanh"),
    "identity": Activation(0, hidden=True),
    "leaky_relu": Activation(5, hidden=True),
    "gelu": Activation(6, hidden=True),
    "silu": Activation(7, hidden=True),
    "softmax": Activation(4, hidden=False, onnx_op="Softmax"),
    "exp": Activation(8, hidden=False, onnx_op="Exp"),
}

LOSSES = {
    "log_loss": Loss(0, classifier=True, regressor=False),
    "squared_error": Loss(
        1, classifier=True, regressor=True, output_activation="identity"
    ),
    "poisson": Loss(2, classifier=False, regressor=True, output_activation="exp"),
    "absolute_error": Loss(
        3, classifier=False, regressor=True, output_activation="identity"
    ),
    "huber": Loss(
        4,
        classifier=False,
        regressor=True,
        output_activation="identity",
        parameter="huber_delta",
    ),
    "quantile": Loss(
        5,
        classifier=False,
        regressor=True,
        output_activation="identity",
        parameter="quantile",
    ),
}

#: The activations the hidden layer may use, in the order the docs list them.
HIDDEN_ACTIVATIONS = tuple(
    name for name, activation in ACTIVATIONS.items() if activation.hidden
)
CLASSIFIER_LOSSES = tuple(name for name, loss in LOSSES.items() if loss.classifier)
REGRESSOR_LOSSES = tuple(name for name, loss in LOSSES.items() if loss.regressor)

#: The kernels' codes by name.
ACTIVATION_CODES = {name: a.code for name, a in ACTIVATIONS.items()}
LOSS_CODES = {name: loss.code for name, loss in LOSSES.items()}

