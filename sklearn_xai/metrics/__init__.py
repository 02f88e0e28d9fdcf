"""Explanation-quality metrics, grouped by family, and scorers built on them.

Every metric is a pure function that returns one score per image, documents
its formula, its direction (higher or lower is better, also readable as
``metric.greater_is_better``) and its paper, and is checked against Quantus.

Families
--------
- faithfulness (``(estimator, X, attributions)``): :func:`deletion_auc`,
  :func:`insertion_auc`, :func:`deletion_curve`, :func:`insertion_curve`,
  :func:`pixel_flipping`, :func:`faithfulness_correlation`,
  :func:`infidelity`.
- robustness (``(explainer, X)``, re-explain perturbed images):
  :func:`max_sensitivity`, :func:`avg_sensitivity`,
  :func:`local_lipschitz_estimate`.
- complexity (``(attributions)``, no model): :func:`sparseness`,
  :func:`complexity`, :func:`effective_complexity`.
- localization (``(attributions, masks)``, boolean ground-truth masks):
  :func:`pointing_game`, :func:`relevance_mass_accuracy`,
  :func:`relevance_rank_accuracy`, :func:`top_k_intersection`,
  :func:`attribution_localization_auc`.
- randomization (``(explainer, X)``, sanity checks):
  :func:`model_parameter_randomization`, :func:`random_logit`.

Constant maps
-------------
A constant attribution map (all pixels equal, e.g. all zero) explains
nothing: every metric returns NaN for it and warns once per call with a
:class:`DegenerateExplanationWarning` saying how many of the maps were
constant. A map is constant when ``max - min <= 1e-6 * max|a| + 1e-12``.

Ties, random draws, units
-------------------------
Tied pixels are in a random order: the localization metrics take the exact
expectation over it, the curves and pixel flipping one order seeded by the
map and the image (see :mod:`sklearn_xai.metrics._perturb`). Every
stochastic metric draws each image's numbers from a stream seeded by
``random_state`` and the image's content, so an image scores the same in any
batch; robustness and randomization metrics re-explain with a copy of a
random explainer seeded from their ``random_state``. Gradient methods
explain logits and perturbation methods probabilities: :func:`infidelity`
rescales each map by default. Parameters are validated declaratively;
``sign`` ("signed", "absolute", "positive") always says how signed
relevance is read.

Scorers
-------
:func:`make_explanation_scorer` turns a metric into a scikit-learn scorer
``scorer(explainer, X, y)``; :func:`get_explanation_scorer` gives ready-made
ones by name (:func:`get_explanation_scorer_names`).
"""

from ._checks import DegenerateExplanationWarning
from ._complexity import complexity, effective_complexity, sparseness
from ._curves import deletion_auc, deletion_curve, insertion_auc, insertion_curve
from ._faithfulness_correlation import faithfulness_correlation
from ._infidelity import infidelity
from ._localization import (
    attribution_localization_auc,
    pointing_game,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    top_k_intersection,
)
from ._pixel_flipping import pixel_flipping
from ._randomization import model_parameter_randomization, random_logit
from ._robustness import avg_sensitivity, local_lipschitz_estimate, max_sensitivity
from ._scorer import (
    get_explanation_scorer,
    get_explanation_scorer_names,
    make_explanation_scorer,
)

__all__ = [
    "DegenerateExplanationWarning",
    "attribution_localization_auc",
    "avg_sensitivity",
    "complexity",
    "deletion_auc",
    "deletion_curve",
    "effective_complexity",
    "faithfulness_correlation",
    "get_explanation_scorer",
    "get_explanation_scorer_names",
    "infidelity",
    "insertion_auc",
    "insertion_curve",
    "local_lipschitz_estimate",
    "make_explanation_scorer",
    "max_sensitivity",
    "model_parameter_randomization",
    "pixel_flipping",
    "pointing_game",
    "random_logit",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
    "sparseness",
    "top_k_intersection",
]
