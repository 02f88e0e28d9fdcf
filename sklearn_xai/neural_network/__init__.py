"""Convolutional image classifiers as scikit-learn estimators (skorch-based)."""

from ._callbacks import EpochProgressBar
from ._cnn import CNNClassifier, resolve_device
from ._io import load_model, save_model
from ._modules import SmallCNN
from ._torch_classifier import TorchClassifier

__all__ = [
    "CNNClassifier",
    "EpochProgressBar",
    "SmallCNN",
    "TorchClassifier",
    "load_model",
    "resolve_device",
    "save_model",
]
