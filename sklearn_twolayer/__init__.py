"""Two-layer neural networks (one hidden layer) with Cython/OpenMP kernels."""

from ._classifier import TwoLayerClassifier
from ._display import TrainingCurveDisplay
from ._regressor import TwoLayerRegressor
from ._version import __version__

__all__ = [
    "TrainingCurveDisplay",
    "TwoLayerClassifier",
    "TwoLayerRegressor",
    "__version__",
]
