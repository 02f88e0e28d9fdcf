"""Image classifiers as scikit-learn estimators.

Networks trained here (:class:`CNNClassifier`, skorch-based) or elsewhere (a
torch network in :class:`TorchClassifier`, an ONNX file in
:class:`OnnxClassifier`).
"""

from ._callbacks import EpochProgressBar
from ._cnn import CNNClassifier, resolve_device
from ._io import load_model, save_model
from ._modules import SmallCNN
from ._onnx import OnnxClassifier
from ._torch_classifier import TorchClassifier

__all__ = [
    "CNNClassifier",
    "EpochProgressBar",
    "OnnxClassifier",
    "SmallCNN",
    "TorchClassifier",
    "load_model",
    "resolve_device",
    "save_model",
]
