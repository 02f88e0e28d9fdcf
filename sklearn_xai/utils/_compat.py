"""The one place that imports scikit-learn's private helpers.

Keeping them here means a scikit-learn upgrade that moves one of them breaks a
single import, not every estimator.
"""

from sklearn.base import _fit_context
from sklearn.metrics._scorer import _BaseScorer
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    Options,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import validate_data


def compute_layer_gradients_and_eval(forward, layer, inputs, targets):
    """captum's private layer-gradient routine (the one ``LayerGradCam`` uses).

    Imported on call, so that importing this module loads no torch.
    """
    from captum._utils.gradient import compute_layer_gradients_and_eval as func

    return func(forward, layer, inputs, targets)


__all__ = [
    "HasMethods",
    "Interval",
    "Options",
    "StrOptions",
    "_BaseScorer",
    "_fit_context",
    "compute_layer_gradients_and_eval",
    "validate_data",
    "validate_params",
]
