"""Scikit-learn scorers that score an explainer by the quality of its explanations."""

from __future__ import annotations

import inspect
import weakref

import numpy as np

from ..utils._compat import _BaseScorer

#: The kinds of metric, by the name of their first parameter.
_KINDS = {
    "estimator": "model",  # (estimator, X, attributions, *, targets, ...)
    "attributions": "attributions",  # (attributions, ...) or (attributions, masks)
    "explainer": "explainer",  # (explainer, X, *, targets, ...)
}


def _metric_kind(metric):
    params = list(inspect.signature(metric).parameters.values())
    if not params or params[0].name not in _KINDS:
        raise TypeError(
            "metric must be a function whose first parameter is 'estimator' "
            "(faithfulness metrics), 'attributions' (complexity, localization) "
            f"or 'explainer' (robustness, randomization); got {metric!r}."
        )
    kind = _KINDS[params[0].name]
    if kind == "attributions" and len(params) > 1 and params[1].name == "masks":
        return "localization"
    return kind


class _AttributionCache:
    """The attributions of the last scoring call, shared by the scorers.

    ``GridSearchCV(scoring={...})`` calls every scorer with the same fitted
    explainer and the same ``X``; explaining once per scoring call instead of
    once per metric is the main cost saving. The key is the explainer (a weak
    reference, so nothing is kept alive), the ``X`` and ``y`` objects *and* a
    content hash of both, and whether true or predicted labels are explained:
    a refitted explainer is a new ``estimator_``, an edited array a new hash.
    Only the last entry is kept.
    """

    def __init__(self):
        self._key = None
        self._explainer = None
        self._value = None
        self.hits = 0

    @staticmethod
    def _fingerprint(explainer, X, y, target):
        from joblib import hash as content_hash

        return (
            id(explainer),
            id(getattr(explainer, "estimator_", None)),
            id(X),
            content_hash(X),
            None if y is None else content_hash(np.asarray(y)),
            target,
        )

    def explain(self, explainer, X, y, target):
        key = self._fingerprint(explainer, X, y if target == "true" else None, target)
        alive = self._explainer() if self._explainer is not None else None
        if key == self._key and alive is explainer:
            self.hits += 1
            return self._value
        attributions = explainer.explain(X, target=y if target == "true" else None)
        self._key, self._explainer = key, weakref.ref(explainer)
        self._value = attributions
        return attributions

    def clear(self):
        self._key = self._explainer = self._value = None


_CACHE = _AttributionCache()


class _ExplanationScorer(_BaseScorer):
    """A scorer ``scorer(explainer, X, y)`` from an explanation-quality metric."""

    def __init__(self, metric, sign, kwargs, target):
        super().__init__(metric, sign, kwargs, response_method="explain")
        self._target = target
        self._kind = _metric_kind(metric)

    def _score(self, method_caller, estimator, X, y_true=None, **kwargs):
        explainer = estimator
        labels = y_true if self._target == "true" else None
        if self._target == "true" and y_true is None:
            raise ValueError(
                "this scorer explains the true labels (target='true'), so it "
                "needs y; got None."
            )
        masks = kwargs.pop("masks", None)
        metric_kwargs = {**self._kwargs, **kwargs}
        if self._kind == "explainer":
            scores = self._score_func(explainer, X, targets=labels, **metric_kwargs)
            if isinstance(scores, dict):  # a Bunch of per-layer results
                scores = scores["mean"]
        else:
            attributions = _CACHE.explain(explainer, X, y_true, self._target)
            if self._kind == "model":
                if "image_shape" in inspect.signature(self._score_func).parameters:
                    # Flattened images are read as the explainer reads them.
                    metric_kwargs.setdefault("image_shape", explainer.image_shape)
                scores = self._score_func(
                    explainer.estimator_,
                    X,
                    attributions,
                    targets=labels,
                    **metric_kwargs,
                )
            elif self._kind == "localization":
                if masks is None:
                    raise ValueError(
                        f"{self._score_func.__name__} needs ground-truth masks: "
                        "enable metadata routing (sklearn.set_config("
                        "enable_metadata_routing=True)), call "
                        "scorer.set_score_request(masks=True) and pass masks= to "
                        "fit (GridSearchCV) or as params (cross_validate)."
                    )
                scores = self._score_func(attributions, masks, **metric_kwargs)
            else:
                scores = self._score_func(attributions, **metric_kwargs)
        if isinstance(scores, tuple):  # (mean, std) of stochastic metrics
            scores = scores[0]
        return self._sign * float(np.nanmean(scores))

    def __repr__(self):
        direction = "" if self._sign > 0 else ", greater_is_better=False"
        kwargs = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        name = getattr(self._score_func, "__name__", repr(self._score_func))
        return (
            f"make_explanation_scorer({name}, target={self._target!r}"
            f"{direction}{kwargs})"
        )


def make_explanation_scorer(
    metric, *, target="predicted", greater_is_better=None, **metric_kwargs
):
    """Make a scikit-learn scorer from an explanation-quality metric.

    The scorer is called as ``scorer(explainer, X, y)`` with a fitted
    explainer, so :class:`~sklearn.model_selection.GridSearchCV`,
    :func:`~sklearn.model_selection.cross_validate` and
    :func:`~sklearn.metrics.check_scoring` can tune and compare explainers by
    the quality of their explanations. The score is the mean over images of
    the metric's per-image values, negated when lower is better (scikit-learn
    maximizes scores). Several scorers evaluated in one scoring call (a
    ``scoring`` dict) explain the images once, not once per metric.

    Parameters
    ----------
    metric : callable
        A function of :mod:`sklearn_xai.metrics` (or one with the same
        signature): ``(estimator, X, attributions, *, targets, ...)``,
        ``(attributions, ...)``, ``(attributions, masks, ...)`` or
        ``(explainer, X, *, targets, ...)``.
    target : {"predicted", "true"}, default="predicted"
        Explain the model's predicted classes, or the true labels ``y``.
    greater_is_better : bool or None, default=None
        Direction of the metric; None reads the ``greater_is_better``
        attribute the library's metrics carry.
    **metric_kwargs
        Passed to the metric.

    Returns
    -------
    scorer : callable
        ``scorer(explainer, X, y=None, **metadata)`` returning a float.
        Localization scorers need ground-truth masks: request them with
        ``scorer.set_score_request(masks=True)`` under
        ``sklearn.set_config(enable_metadata_routing=True)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.attribution import OcclusionExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.metrics import make_explanation_scorer
    >>> X, y = load_digit_images(return_X_y=True)
    >>> flat = X[:200].reshape(200, -1)
    >>> clf = LogisticRegression(max_iter=300).fit(flat, y[:200])
    >>> def mean_abs(attributions):
    ...     return np.abs(attributions).mean(axis=(1, 2))
    >>> scorer = make_explanation_scorer(mean_abs, greater_is_better=False)
    >>> explainer = OcclusionExplainer(FrozenEstimator(clf), window=2, stride=2,
    ...                                image_shape=(8, 8)).fit(flat)
    >>> score = scorer(explainer, flat[:4], y[:4])
    >>> score <= 0
    True
    """
    if not callable(metric):
        raise TypeError(f"metric must be callable; got {metric!r}.")
    if target not in ("predicted", "true"):
        raise ValueError(f"target must be 'predicted' or 'true'; got {target!r}.")
    if greater_is_better is None:
        greater_is_better = getattr(metric, "greater_is_better", None)
        if greater_is_better is None:
            raise ValueError(
                f"{getattr(metric, '__name__', metric)!r} does not say whether "
                "higher is better: pass greater_is_better=True or False."
            )
    _metric_kind(metric)
    return _ExplanationScorer(
        metric, 1 if greater_is_better else -1, metric_kwargs, target
    )


#: Ready-made scorers: name -> (metric name in sklearn_xai.metrics, kwargs).
#: ``neg_`` marks metrics where lower is better, as in scikit-learn.
_SCORERS = {
    "neg_deletion_auc": "deletion_auc",
    "insertion_auc": "insertion_auc",
    "faithfulness_correlation": "faithfulness_correlation",
    "neg_infidelity": "infidelity",
    "neg_max_sensitivity": "max_sensitivity",
    "neg_avg_sensitivity": "avg_sensitivity",
    "neg_local_lipschitz_estimate": "local_lipschitz_estimate",
    "sparseness": "sparseness",
    "neg_complexity": "complexity",
    "neg_effective_complexity": "effective_complexity",
    "pointing_game": "pointing_game",
    "relevance_mass_accuracy": "relevance_mass_accuracy",
    "relevance_rank_accuracy": "relevance_rank_accuracy",
    "top_k_intersection": "top_k_intersection",
    "attribution_localization_auc": "attribution_localization_auc",
    "neg_model_parameter_randomization": "model_parameter_randomization",
    "neg_random_logit": "random_logit",
}


def get_explanation_scorer_names() -> list[str]:
    """Names of the ready-made explanation scorers.

    Examples
    --------
    >>> from sklearn_xai.metrics import get_explanation_scorer_names
    >>> "neg_deletion_auc" in get_explanation_scorer_names()
    True
    """
    return sorted(_SCORERS)


def get_explanation_scorer(name: str):
    """A ready-made explanation scorer by name (scikit-learn's ``neg_`` rule).

    Parameters
    ----------
    name : str
        One of :func:`get_explanation_scorer_names`, e.g.
        ``"neg_deletion_auc"`` or ``"sparseness"``.

    Returns
    -------
    scorer : callable
        As made by :func:`make_explanation_scorer` with the metric's defaults
        (explaining the predicted classes). Localization scorers request
        ``masks`` through metadata routing when it is enabled.

    Examples
    --------
    >>> from sklearn_xai.metrics import get_explanation_scorer
    >>> get_explanation_scorer("sparseness")
    make_explanation_scorer(sparseness, target='predicted')
    """
    from .. import metrics

    if name not in _SCORERS:
        raise ValueError(
            f"{name!r} is not an explanation scorer; the names are "
            f"{get_explanation_scorer_names()}. Lower-is-better metrics carry "
            "scikit-learn's 'neg_' prefix. Use make_explanation_scorer for "
            "other settings."
        )
    metric = getattr(metrics, _SCORERS[name])
    scorer = make_explanation_scorer(metric)
    if scorer._kind == "localization":
        from sklearn.utils._metadata_requests import _routing_enabled

        if _routing_enabled():
            scorer.set_score_request(masks=True)
    return scorer
