"""A two-layer neural network classifier with Cython/OpenMP kernels."""

from ._classifier import TwoLayerClassifier

__version__ = "0.1.0"

__all__ = ["TwoLayerClassifier", "__version__"]
