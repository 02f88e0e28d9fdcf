"""Explainable deep-learning image classifiers inside scikit-learn.

Importing :mod:`sklearn_xai` is cheap: it imports neither torch, OpenCV nor
matplotlib. Import the subpackages (``sklearn_xai.datasets``,
``sklearn_xai.preprocessing``, ``sklearn_xai.neural_network``, ...) for the
functionality.
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
