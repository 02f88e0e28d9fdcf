"""The one place that imports third-party private helpers.

scikit-learn's and captum's private names are imported here and nowhere else:
an upgrade that moves one of them breaks a single import (or, where there is
one, falls back to the public equivalent), not every estimator.
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

try:
    from sklearn.utils._metadata_requests import _routing_enabled
except ImportError:  # pragma: no cover - moved or renamed by scikit-learn
    _routing_enabled = None


def routing_enabled():
    """Whether scikit-learn's metadata routing is enabled.

    scikit-learn's private ``_routing_enabled`` when it can be imported,
    else the ``enable_metadata_routing`` flag of :func:`sklearn.get_config`
    (what that function reads).

    Examples
    --------
    >>> import sklearn
    >>> from sklearn_xai.utils._compat import routing_enabled
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     routing_enabled()
    True
    """
    if _routing_enabled is not None:
        return bool(_routing_enabled())
    from sklearn import get_config

    return bool(get_config().get("enable_metadata_routing", False))


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
    "routing_enabled",
    "validate_data",
    "validate_params",
]
