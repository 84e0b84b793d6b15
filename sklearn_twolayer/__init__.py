"""Two-layer neural networks (one hidden layer) with Cython/OpenMP kernels."""

try:
    from ._classifier import TwoLayerClassifier
    from ._display import TrainingCurveDisplay
    from ._regressor import TwoLayerRegressor
    from ._version import __version__
except ModuleNotFoundError as error:
    from ._source_tree import raise_if_not_built

    raise_if_not_built(error)
    raise

__all__ = [
    "TrainingCurveDisplay",
    "TwoLayerClassifier",
    "TwoLayerRegressor",
    "__version__",
]
