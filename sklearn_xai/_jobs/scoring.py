"""Scoring explanations with every metric family, for the command-line jobs."""

from __future__ import annotations

import time

import numpy as np

from ..metrics._curves import _auc
from .explaining import quiet_captum

#: Column name -> (family, greater_is_better). The order is the table's.
METRICS = {
    "deletion AUC": ("faithfulness", False),
    "insertion AUC": ("faithfulness", True),
    "faithfulness corr.": ("faithfulness", True),
    "max sensitivity": ("robustness", False),
    "sparseness": ("complexity", True),
    "complexity": ("complexity", False),
    "param. randomization": ("randomization", False),
    "random logit": ("randomization", False),
    "pointing game": ("localization", True),
    "relevance mass": ("localization", True),
    "relevance rank": ("localization", True),
    "localization AUC": ("localization", True),
    "relative SE": ("uncertainty", False),
}

#: The families that need no extra explanations (cheap enough for every
#: image of a large batch): faithfulness curves and complexity.
FAST_FAMILIES = ("faithfulness", "complexity", "uncertainty")

#: What removed pixels become, in every faithfulness metric of a job (the
#: deletion and insertion curves and faithfulness correlation alike): a blur.
#: A constant fill keeps an object's silhouette, which alone can decide the
#: class (see tests/metrics/test_sanity.py).
FILL = "blur"
#: How the report states it.
FILL_DESCRIPTION = (
    "blurred (Gaussian, sigma a tenth of the image side) in the deletion and "
    "insertion curves and in faithfulness correlation"
)


@quiet_captum()
def score_explanations(
    explainer,
    X,
    attributions,
    *,
    masks=None,
    families=None,
    quick=False,
    random_state=0,
    uncertainty=None,
):
    """Score one explainer's attributions of ``X`` with each metric family.

    captum's notices of the hooks it sets (and removes) are hidden.

    Parameters
    ----------
    explainer : fitted BaseExplainer
        The explainer that made ``attributions`` (robustness and
        randomization explain again).
    X : ndarray (n, H, W[, C])
        The explained images.
    attributions : ndarray (n, H, W)
        Their attributions for the predicted classes.
    masks : ndarray (n, H, W) of bool or None
        Ground-truth masks; localization is scored only when given.
    families : sequence of str or None
        Families to compute; None for all (localization needs ``masks``).
    quick : bool
        Fewer curve steps and samples.
    random_state : int
        Seed of the stochastic metrics.
    uncertainty : ndarray (n,) or None
        The maps' relative standard errors
        (:func:`~sklearn_xai._jobs.explaining.relative_stderr`), reported as
        "relative SE" (NaN for methods without one).

    Returns
    -------
    scores : dict
        Column name -> ndarray (n,) of per-image scores.
    curves : dict
        "deletion" / "insertion" -> Bunch(fractions, scores) when faithfulness
        is computed.
    seconds : dict
        Family -> seconds spent.
    """
    from .. import metrics

    families = set(families or {family for family, _ in METRICS.values()})
    if masks is None:
        families.discard("localization")
    model = explainer.estimator_
    n_steps = 16 if quick else 32
    scores, curves, seconds = {}, {}, {}

    def timed(family):
        start = time.perf_counter()
        return lambda: seconds.__setitem__(
            family, seconds.get(family, 0.0) + time.perf_counter() - start
        )

    if "faithfulness" in families:
        done = timed("faithfulness")
        for kind, curve_func in (
            ("deletion", metrics.deletion_curve),
            ("insertion", metrics.insertion_curve),
        ):
            curve = curve_func(model, X, attributions, n_steps=n_steps, baseline=FILL)
            curves[kind] = curve
            scores[f"{kind} AUC"] = _auc(curve)
        scores["faithfulness corr."] = metrics.faithfulness_correlation(
            model,
            X,
            attributions,
            n_runs=20 if quick else 50,
            baseline=FILL,
            random_state=random_state,
        )
        done()
    if "robustness" in families:
        done = timed("robustness")
        scores["max sensitivity"] = metrics.max_sensitivity(
            explainer, X, n_samples=3 if quick else 8, random_state=random_state
        )
        done()
    if "complexity" in families:
        done = timed("complexity")
        scores["sparseness"] = metrics.sparseness(attributions)
        scores["complexity"] = metrics.complexity(attributions)
        done()
    if "randomization" in families:
        done = timed("randomization")
        try:
            # Signed maps, as the sanity test asserts: with absolute values
            # the input's own structure (x - 0 for Integrated Gradients) keeps
            # the maps of any model alike (Adebayo et al. 2018).
            result = metrics.model_parameter_randomization(
                explainer, X, sign="signed", random_state=random_state
            )
            scores["param. randomization"] = np.asarray(result.mean)
        except TypeError:  # a model without a torch network
            scores["param. randomization"] = np.full(len(X), np.nan)
        scores["random logit"] = metrics.random_logit(
            explainer, X, random_state=random_state
        )
        done()
    if "uncertainty" in families:
        scores["relative SE"] = (
            np.full(len(X), np.nan) if uncertainty is None else uncertainty
        )
    if "localization" in families:
        done = timed("localization")
        scores["pointing game"] = metrics.pointing_game(attributions, masks)
        scores["relevance mass"] = metrics.relevance_mass_accuracy(attributions, masks)
        scores["relevance rank"] = metrics.relevance_rank_accuracy(attributions, masks)
        scores["localization AUC"] = metrics.attribution_localization_auc(
            attributions, masks
        )
        done()
    scores = {
        name: np.asarray(scores[name], dtype=float)
        for name in METRICS
        if name in scores
    }
    return scores, curves, seconds
