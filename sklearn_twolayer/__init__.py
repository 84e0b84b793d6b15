"""A two-layer neural network classifier with Cython/OpenMP kernels."""

from ._classifier import TwoLayerClassifier
from ._version import __version__

__all__ = ["TwoLayerClassifier", "__version__"]
