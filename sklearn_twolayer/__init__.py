"""A two-layer neural network classifier with Cython/OpenMP kernels."""

from ._classifier import TwoLayerClassifier
from ._display import TrainingCurveDisplay
from ._version import __version__

__all__ = ["TrainingCurveDisplay", "TwoLayerClassifier", "__version__"]
