"""Scikit-learn scorers that score an explainer by the quality of its explanations."""

from __future__ import annotations

import inspect
import weakref

import numpy as np

from ..utils._compat import _BaseScorer, routing_enabled

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


def _argument_directions():
    """Metrics whose direction depends on an argument.

    metric -> (argument, {value: greater_is_better}). The metric's own
    ``greater_is_better`` attribute holds for its default only.
    """
    from ._pixel_flipping import pixel_flipping

    return {pixel_flipping: ("order", {"morf": True, "lerf": False})}


def _metric_direction(metric, metric_kwargs):
    """``greater_is_better`` of ``metric`` called with ``metric_kwargs``."""
    name = getattr(metric, "__name__", repr(metric))
    directions = _argument_directions()
    if metric in directions:
        argument, by_value = directions[metric]
        default = inspect.signature(metric).parameters[argument].default
        value = metric_kwargs.get(argument, default)
        if value not in by_value:
            raise ValueError(
                f"the direction of {name} depends on {argument}, which is "
                f"{value!r}, not one of {sorted(by_value)}: pass "
                "greater_is_better=True or False."
            )
        return by_value[value]
    greater_is_better = getattr(metric, "greater_is_better", None)
    if greater_is_better is None:
        raise ValueError(
            f"{name!r} does not say whether higher is better: pass "
            "greater_is_better=True or False."
        )
    return greater_is_better


class _PerCallAttributions:
    """The attributions of one scoring call, shared by its scorers.

    ``GridSearchCV(scoring={...})`` and ``cross_validate`` evaluate all the
    scorers of a ``scoring`` dict in one call of scikit-learn's multimetric
    scorer, with the same fitted explainer, ``X`` and ``y``; explaining once
    per call instead of once per metric is the main cost saving. That call
    hands each scorer the same ``method_caller`` object, made afresh for the
    call, so the attributions are kept under it (weakly: they go when the
    call ends) and are never reused by a later call, however the explainer,
    its model or ``X`` changed in between. Inside a call they are keyed on
    the explainer, ``X`` and ``y`` objects themselves and the target.
    ``hits`` counts the reuses.
    """

    def __init__(self):
        self._calls = weakref.WeakKeyDictionary()
        self.hits = 0

    def explain(self, method_caller, explainer, X, y, target):
        labels = y if target == "true" else None
        try:
            entries = self._calls.setdefault(method_caller, [])
        except TypeError:  # a caller that cannot be weakly referenced
            entries = []
        for key, attributions in entries:
            if (
                key[0] is explainer
                and key[1] is X
                and key[2] is labels
                and key[3] == target
            ):
                self.hits += 1
                return attributions
        attributions = explainer.explain(X, target=labels)
        entries.append(((explainer, X, labels, target), attributions))
        return attributions

    def clear(self):
        self._calls.clear()


_CACHE = _PerCallAttributions()


class _ExplanationScorer(_BaseScorer):
    """A scorer ``scorer(explainer, X, y)`` from an explanation-quality metric."""

    def __init__(self, metric, sign, kwargs, target):
        super().__init__(metric, sign, kwargs, response_method="explain")
        self._target = target
        self._kind = _metric_kind(metric)

    def __call__(self, estimator, X, y_true=None, **kwargs):
        """Score ``estimator`` (a fitted explainer) on ``X``; ``y`` is optional.

        scikit-learn's scorers require ``y_true``; these need it only with
        ``target="true"``, so ``scorer(explainer, X)`` and
        ``GridSearchCV(...).fit(X)`` work on unlabelled images.
        """
        return super().__call__(estimator, X, y_true, **kwargs)

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
            attributions = _CACHE.explain(
                method_caller, explainer, X, y_true, self._target
            )
            if self._kind == "model":
                if "image_shape" in inspect.signature(self._score_func).parameters:
                    # Flattened images are read as the explainer reads them:
                    # with its image_shape, else the shape it was fitted on.
                    image_shape = explainer.image_shape
                    if image_shape is None and np.ndim(X) == 2:
                        image_shape = getattr(explainer, "image_shape_", None)
                    metric_kwargs.setdefault("image_shape", image_shape)
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
        scores = np.asarray(scores, dtype=np.float64).ravel()
        undefined = int(np.isnan(scores).sum())
        if undefined:
            # No nanmean: averaging the images that remain would let an
            # explainer whose maps are degenerate on some images win.
            raise ValueError(
                f"{getattr(self._score_func, '__name__', 'the metric')} is "
                f"undefined (NaN) for {undefined} of {scores.size} images "
                "(e.g. constant attribution maps), so this explainer cannot be "
                "scored on them. In a search, error_score (NaN by default) is "
                "recorded and the candidate ranks last; pass error_score='raise' "
                "to stop instead, or score the metric's per-image values "
                "yourself to choose how to treat them."
            )
        return self._sign * float(scores.mean())

    def score_over_seeds(
        self, explainer, X, y=None, *, n_seeds=5, random_state=None, **kwargs
    ):
        """Mean and standard deviation of the score over the explainer's seeds.

        A random explainer (LIME, Kernel SHAP, RISE, SmoothGrad, stochastic
        captum methods) gives a different map, and so a different score,
        for each ``random_state``; one score hides that spread. This scores
        ``n_seeds`` copies of the fitted ``explainer`` that differ only in
        ``random_state`` (the user's explainer is not changed) and reports
        their mean and sample standard deviation, so that two explainers or
        two settings are compared with their uncertainty. An explainer
        without ``random_state`` (occlusion, gradients) scores the same for
        every seed: standard deviation 0. A metric's own ``random_state``
        (``max_sensitivity``, ``faithfulness_correlation``...) stays as the
        scorer was made with.

        Parameters
        ----------
        explainer : fitted BaseExplainer
        X : array-like of images
        y : array-like or None, default=None
            Needed only with ``target="true"``.
        n_seeds : int, default=5
            How many seeds (at least 2).
        random_state : int, RandomState instance or None, default=None
            Draws the explainer seeds.
        **kwargs
            Passed to each scoring call (e.g. ``masks``).

        Returns
        -------
        result : Bunch
            ``mean`` and ``std`` (float, ``ddof=1``), ``scores`` (ndarray of
            shape (n_seeds,)) and ``seeds`` (the explainer seeds used).

        Raises
        ------
        ValueError
            When ``n_seeds < 2``, or as the scorer does (see
            :func:`make_explanation_scorer`).

        Examples
        --------
        >>> from sklearn.frozen import FrozenEstimator
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn_xai.attribution import RISEExplainer
        >>> from sklearn_xai.datasets import load_digit_images
        >>> from sklearn_xai.metrics import get_explanation_scorer
        >>> X, y = load_digit_images(return_X_y=True)
        >>> X = X.reshape(len(X), -1)
        >>> clf = LogisticRegression(max_iter=300).fit(X[:300], y[:300])
        >>> rise = RISEExplainer(FrozenEstimator(clf), n_masks=200,
        ...                      image_shape=(8, 8)).fit(X[:300])
        >>> result = get_explanation_scorer("sparseness").score_over_seeds(
        ...     rise, X[300:304].reshape(4, -1), n_seeds=3, random_state=0)
        >>> result.scores.shape, bool(result.std > 0)
        ((3,), True)
        """
        from numbers import Integral

        from sklearn.utils import Bunch, check_random_state

        from ._robustness import seeded_copy

        if not isinstance(n_seeds, Integral) or isinstance(n_seeds, bool):
            raise TypeError(f"n_seeds must be an int; got {n_seeds!r}.")
        if n_seeds < 2:
            raise ValueError(f"n_seeds must be at least 2; got {n_seeds}.")
        rng = check_random_state(random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=int(n_seeds))
        scores = np.array(
            [self(seeded_copy(explainer, int(seed)), X, y, **kwargs) for seed in seeds]
        )
        return Bunch(
            mean=float(scores.mean()),
            std=float(scores.std(ddof=1)),
            scores=scores,
            seeds=seeds,
        )

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
    maximizes scores). Several scorers evaluated in one scoring call (the
    ``scoring`` dict of one candidate and fold) explain the images once, not
    once per metric; nothing is kept between calls, so a scorer never returns
    the score of an earlier configuration, model or image content.

    ``y`` is needed only with ``target="true"``: ``scorer(explainer, X)``
    and ``GridSearchCV(...).fit(X)`` score unlabelled images by the model's
    predictions.

    NaN is not averaged away. When the metric is undefined (NaN) for any
    image (for instance a constant attribution map), the scorer raises a
    ``ValueError`` instead of averaging the other images, which could let an
    explainer that fails on some images win. So does a scorer that cannot
    score at all (``target="true"`` without ``y``, a localization metric
    without masks). ``GridSearchCV`` and ``cross_validate`` record such a
    failure as ``error_score`` (NaN by default, with a warning) and rank the
    candidate last; pass ``error_score="raise"`` so that a search whose
    candidates cannot be scored fails instead of picking one of them.

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
        attribute the library's metrics carry, for the arguments given
        (:func:`~sklearn_xai.metrics.pixel_flipping` with ``order="lerf"`` is
        lower-is-better), and raises a ``ValueError`` when the metric does
        not say.
    **metric_kwargs
        Passed to the metric.

    Returns
    -------
    scorer : callable
        ``scorer(explainer, X, y=None, **metadata)`` returning a float;
        raises ``ValueError`` when it cannot score (see above).
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
    >>> score = scorer(explainer, flat[:4])
    >>> score <= 0
    True
    """
    if not callable(metric):
        raise TypeError(f"metric must be callable; got {metric!r}.")
    if target not in ("predicted", "true"):
        raise ValueError(f"target must be 'predicted' or 'true'; got {target!r}.")
    _metric_kind(metric)
    if greater_is_better is None:
        greater_is_better = _metric_direction(metric, metric_kwargs)
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
        if routing_enabled():
            scorer.set_score_request(masks=True)
    return scorer
