"""Explanation scorers: GridSearchCV, caching, metadata routing, errors."""

import numpy as np
import pytest
import sklearn
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import check_scoring
from sklearn.model_selection import GridSearchCV, cross_validate

from sklearn_xai.attribution import OcclusionExplainer
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.metrics._scorer import _CACHE, make_explanation_scorer


@pytest.fixture(scope="module")
def digits():
    X, y = load_digit_images(return_X_y=True)
    X, y = X[:120], y[:120]
    clf = LogisticRegression(max_iter=500).fit(X.reshape(len(X), -1), y)
    return X, y, clf


class _FlatModel:
    """Takes (n, 8, 8) images, delegates to a classifier on flat pixels."""

    def __init__(self, clf):
        self.clf = clf
        self.classes_ = clf.classes_

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        return self.clf.predict_proba(np.asarray(X).reshape(len(X), -1))


class CountingOcclusion(OcclusionExplainer):
    """An explainer that counts its explain calls (class-level counter)."""

    calls = 0

    def explain(self, X, target=None, *, return_details=False):
        CountingOcclusion.calls += 1
        return super().explain(X, target=target, return_details=return_details)


def mean_abs(attributions):
    return np.abs(attributions).mean(axis=(1, 2))


def peak(attributions):
    return attributions.max(axis=(1, 2))


def mass_inside(attributions, masks):
    a = np.clip(attributions, 0, None)
    return (a * masks).sum(axis=(1, 2)) / np.maximum(a.sum(axis=(1, 2)), 1e-12)


def target_prob(estimator, X, attributions, *, targets=None):
    """Probability of the explained label (reveals which targets were used)."""
    proba = estimator.predict_proba(X)
    if targets is None:
        return proba.max(axis=1)
    columns = np.searchsorted(estimator.classes_, targets)
    return proba[np.arange(len(X)), columns]


def explainer_kind(explainer, X, *, targets=None, power=1):
    return np.abs(explainer.explain(X, target=targets)).sum(axis=(1, 2)) ** power


def make_explainer(clf, **params):
    return CountingOcclusion(FrozenEstimator(_FlatModel(clf)), **params)


def test_scorer_value_and_sign(digits):
    X, y, clf = digits
    explainer = make_explainer(clf, window=2, stride=2).fit(X)
    attributions = explainer.explain(X[:5])
    up = make_explanation_scorer(mean_abs, greater_is_better=True)
    down = make_explanation_scorer(mean_abs, greater_is_better=False)
    expected = np.abs(attributions).mean()
    assert up(explainer, X[:5], y[:5]) == pytest.approx(expected)
    assert down(explainer, X[:5], y[:5]) == pytest.approx(-expected)
    assert check_scoring(explainer, scoring=up) is up


def test_target_true_explains_the_labels(digits):
    X, y, clf = digits
    explainer = make_explainer(clf, window=4, stride=4).fit(X)
    predicted = make_explanation_scorer(target_prob, greater_is_better=True)
    true = make_explanation_scorer(target_prob, target="true", greater_is_better=True)
    wrong = (y[:10] + 1) % 10
    # The probability of a wrong label is below that of the predicted one.
    assert true(explainer, X[:10], wrong) < predicted(explainer, X[:10], wrong)
    with pytest.raises(ValueError, match="needs y"):
        true(explainer, X[:10], None)


def test_explainer_metrics_get_the_explainer(digits):
    X, y, clf = digits
    explainer = make_explainer(clf, window=4, stride=4).fit(X)
    scorer = make_explanation_scorer(explainer_kind, greater_is_better=True, power=2)
    expected = (np.abs(explainer.explain(X[:4])).sum(axis=(1, 2)) ** 2).mean()
    assert scorer(explainer, X[:4], y[:4]) == pytest.approx(expected)


def test_grid_search_multi_metric_explains_once_per_scoring_call(digits):
    X, y, clf = digits
    scoring = {
        "mean_abs": make_explanation_scorer(mean_abs, greater_is_better=False),
        "peak": make_explanation_scorer(peak, greater_is_better=True),
        "prob": make_explanation_scorer(target_prob, greater_is_better=True),
    }
    search = GridSearchCV(
        make_explainer(clf),
        {"window": [2, 4], "stride": [2]},
        scoring=scoring,
        refit="mean_abs",
        cv=2,
    )
    CountingOcclusion.calls = 0
    search.fit(X[:40], y[:40])
    # 2 candidates x 2 folds scoring calls, one explanation each (+ refit
    # does not explain).
    assert CountingOcclusion.calls == 4
    assert set(search.cv_results_) >= {"mean_test_mean_abs", "mean_test_peak"}
    best = np.argmax(search.cv_results_["mean_test_mean_abs"])
    assert search.best_params_ == search.cv_results_["params"][best]


def test_refit_callable_picks_a_trade_off(digits):
    X, y, clf = digits

    def trade_off(cv_results):
        score = cv_results["mean_test_peak"] + cv_results["mean_test_mean_abs"]
        return int(np.argmax(score))

    search = GridSearchCV(
        make_explainer(clf, stride=2),
        {"window": [2, 4]},
        scoring={
            "peak": make_explanation_scorer(peak, greater_is_better=True),
            "mean_abs": make_explanation_scorer(mean_abs, greater_is_better=False),
        },
        refit=trade_off,
        cv=2,
    ).fit(X[:30], y[:30])
    assert search.best_index_ == trade_off(search.cv_results_)


def test_cache_is_invalidated_by_new_data_and_refits(digits):
    X, y, clf = digits
    explainer = make_explainer(clf, window=4, stride=4).fit(X)
    scorer = make_explanation_scorer(mean_abs, greater_is_better=True)
    _CACHE.clear()
    first = scorer(explainer, X[:6], y[:6])
    edited = X[:6].copy()
    edited[0] = 0.0
    assert scorer(explainer, edited, y[:6]) != first
    hits = _CACHE.hits
    scorer(explainer, edited, y[:6])
    assert _CACHE.hits == hits + 1


def test_masks_reach_localization_scorers_through_routing(digits):
    X, y, clf = digits
    masks = np.zeros((40, 8, 8), dtype=bool)
    masks[:, 2:6, 2:6] = True
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_explanation_scorer(
            mass_inside, greater_is_better=True
        ).set_score_request(masks=True)
        search = GridSearchCV(
            make_explainer(clf, stride=2),
            {"window": [2, 4]},
            scoring={"mass": scorer},
            refit="mass",
            cv=2,
        ).fit(X[:40], y[:40], masks=masks)
        assert np.all(np.isfinite(search.cv_results_["mean_test_mass"]))
        results = cross_validate(
            make_explainer(clf, window=2, stride=2),
            X[:40],
            y[:40],
            scoring=scorer,
            cv=2,
            params={"masks": masks},
        )
        assert results["test_score"].shape == (2,)
    explainer = make_explainer(clf, window=2, stride=2).fit(X)
    plain = make_explanation_scorer(mass_inside, greater_is_better=True)
    with pytest.raises(ValueError, match="needs ground-truth masks"):
        plain(explainer, X[:4], y[:4])


def test_bad_arguments():
    with pytest.raises(TypeError, match="must be callable"):
        make_explanation_scorer("sparseness")
    with pytest.raises(ValueError, match="'predicted' or 'true'"):
        make_explanation_scorer(mean_abs, target="both", greater_is_better=True)
    with pytest.raises(ValueError, match="does not say whether higher is better"):
        make_explanation_scorer(mean_abs)

    def odd(images):
        return images

    with pytest.raises(TypeError, match="first parameter"):
        make_explanation_scorer(odd, greater_is_better=True)


def test_every_ready_made_scorer_resolves_with_its_direction():
    from sklearn_xai import metrics
    from sklearn_xai.metrics import get_explanation_scorer, get_explanation_scorer_names

    names = get_explanation_scorer_names()
    assert len(names) >= 15
    for name in names:
        scorer = get_explanation_scorer(name)
        metric = scorer._score_func
        assert metric is getattr(metrics, metric.__name__)
        # scikit-learn's convention: "neg_" exactly when lower is better.
        assert name.startswith("neg_") == (not metric.greater_is_better), name
    with pytest.raises(ValueError, match="neg_deletion_auc"):
        get_explanation_scorer("deletion")


def test_ready_made_scorers_on_flattened_images(digits):
    from sklearn_xai.metrics import get_explanation_scorer

    X, y, clf = digits
    flat = X.reshape(len(X), -1)
    explainer = OcclusionExplainer(
        FrozenEstimator(clf), window=2, stride=2, image_shape=(8, 8)
    ).fit(flat)
    for name in ("neg_deletion_auc", "insertion_auc", "sparseness"):
        score = get_explanation_scorer(name)(explainer, flat[:6], y[:6])
        assert np.isfinite(score)
