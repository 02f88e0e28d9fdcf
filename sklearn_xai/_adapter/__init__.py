"""The model adapter: the one way explainers, metrics and jobs reach a model.

Every explainer, metric, scorer, surrogate, selector, the report and the
command line call models through this package, so support for a kind of
model (a :class:`~sklearn_xai.neural_network.CNNClassifier`, a
:class:`~sklearn_xai.neural_network.TorchClassifier`, an
:class:`~sklearn_xai.neural_network.OnnxClassifier`, any scikit-learn
classifier, a :class:`~sklearn.pipeline.Pipeline` ending in one, each
optionally in a :class:`~sklearn.frozen.FrozenEstimator`) is written once,
here and in the classifiers' own ``_explainable_network`` method, and no
explainer checks model types itself.

* :func:`check_model` refuses objects that are not classifiers of images
  with a one-line message that says what to wrap them in;
* :func:`fit_model` fits (a clone of) the model the way a meta-estimator
  should: frozen models as they are, trained networks without ``y``;
* :func:`batched_predict_proba` calls ``predict_proba`` in bounded batches
  and checks its output shape;
* :func:`get_torch_model` gives gradient methods the torch side of a model:
  the network, the function they differentiate, its layers and their
  feature maps.

It sits above :mod:`sklearn_xai.neural_network` and imports neither torch nor
that package at import time, so model-agnostic code stays light.
"""

from ._layers import check_cam_layer, default_cam_layer, feature_maps, named_layers
from ._predict import (
    bare_model,
    batched_predict_proba,
    check_model,
    fit_model,
    model_classes,
    split_pipeline,
    unwrap_frozen,
)
from ._torch import TorchModel, get_torch_model

__all__ = [
    "TorchModel",
    "bare_model",
    "batched_predict_proba",
    "check_cam_layer",
    "check_model",
    "default_cam_layer",
    "feature_maps",
    "fit_model",
    "get_torch_model",
    "model_classes",
    "named_layers",
    "split_pipeline",
    "unwrap_frozen",
]
