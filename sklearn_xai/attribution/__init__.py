"""Attribution explainers: one scikit-learn meta-estimator per method.

Every explainer is a :class:`~sklearn_xai.base.BaseExplainer`:
``fit(X, y=None)`` prepares the model (a ``FrozenEstimator`` is used as is),
``explain(X, target=None)`` returns float32 attributions ``(n, H, W)`` and
``transform`` their flattened form.
"""

from ._lime import LimeExplainer

__all__ = ["LimeExplainer"]
