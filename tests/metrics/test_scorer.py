"""Explanation scorers: GridSearchCV, caching, metadata routing, errors."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import check_scoring
from sklearn.model_selection import GridSearchCV, cross_validate

from sklearn_xai.attribution import OcclusionExplainer
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.metrics import get_explanation_scorer_names
from sklearn_xai.metrics._scorer import make_explanation_scorer


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


class _PooledModel(_FlatModel):
    """Takes (n, 32, 32) images, averages 4x4 blocks into the 8x8 classifier."""

    def predict_proba(self, X):
        X = np.asarray(X)
        return super().predict_proba(X.reshape(len(X), 8, 4, 8, 4).mean(axis=(2, 4)))


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


def test_scorer_never_returns_a_stale_score(digits):
    # An explainer or model changed in place, or images edited in place, are
    # the same objects as before: the score must still be the new one.
    X, y, _ = digits
    clf = LogisticRegression(max_iter=500).fit(X[:60].reshape(60, -1), y[:60])
    explainer = make_explainer(clf, window=2, stride=2).fit(X)
    scorer = make_explanation_scorer(mean_abs, greater_is_better=True)
    images = X[:6].copy()

    def expected():
        return np.abs(explainer.explain(images)).mean()

    first = scorer(explainer, images, y[:6])
    assert first == pytest.approx(expected())
    # set_params + fit on the same explainer object (same frozen model).
    explainer.set_params(window=4, stride=4).fit(X)
    after_set_params = scorer(explainer, images, y[:6])
    assert after_set_params == pytest.approx(expected())
    assert after_set_params != pytest.approx(first)
    # The wrapped model refitted in place.
    clf.fit(X[60:].reshape(60, -1), y[60:])
    after_model_refit = scorer(explainer, images, y[:6])
    assert after_model_refit == pytest.approx(expected())
    assert after_model_refit != pytest.approx(after_set_params)
    # The images edited in place.
    images[0] = 0.0
    after_edit = scorer(explainer, images, y[:6])
    assert after_edit == pytest.approx(expected())
    assert after_edit != pytest.approx(after_model_refit)
    # Each call explains afresh, once.
    CountingOcclusion.calls = 0
    scorer(explainer, images, y[:6])
    scorer(explainer, images, y[:6])
    assert CountingOcclusion.calls == 2


@pytest.fixture(scope="module")
def cnn_digits():
    from sklearn_xai.neural_network import CNNClassifier

    X, y = load_digit_images(return_X_y=True)
    cnn = CNNClassifier(max_epochs=2, random_state=0).fit(X[:500], y[:500])
    return X, y, cnn


def test_set_params_refit_of_lime_is_scored_afresh(cnn_digits):
    # The case of scorer_stale_cache.py: a LIME explainer reconfigured with
    # set_params and refitted used to get its first configuration's score.
    from sklearn_xai.attribution import LimeExplainer
    from sklearn_xai.metrics import get_explanation_scorer, sparseness

    X, y, cnn = cnn_digits
    images = X[500:516]
    scorer = get_explanation_scorer("sparseness")
    lime = LimeExplainer(
        FrozenEstimator(cnn), segmentation="grid", n_samples=100, random_state=0
    ).fit(X)
    first = scorer(lime, images, y[500:516])
    assert first == pytest.approx(sparseness(lime.explain(images)).mean())
    lime.set_params(n_samples=300).fit(X)
    second = scorer(lime, images, y[500:516])
    assert second == pytest.approx(sparseness(lime.explain(images)).mean())
    assert second != pytest.approx(first)


def test_scorers_of_one_call_share_attributions_per_target(digits):
    # One scoring call with a predicted-class and a true-label scorer explains
    # twice (once per target), and each gets its own attributions.
    X, y, clf = digits
    wrong = (y[:20] + 1) % 10
    explainer = make_explainer(clf, window=4, stride=4).fit(X)
    scoring = {
        "predicted": make_explanation_scorer(peak, greater_is_better=True),
        "predicted_abs": make_explanation_scorer(mean_abs, greater_is_better=True),
        "true": make_explanation_scorer(peak, target="true", greater_is_better=True),
    }
    CountingOcclusion.calls = 0
    results = cross_validate(explainer, X[:20], wrong, scoring=scoring, cv=2)
    assert CountingOcclusion.calls == 2 * 2
    fold = X[10:20]
    assert results["test_predicted"][1] == pytest.approx(
        peak(explainer.explain(fold)).mean()
    )
    assert results["test_true"][1] == pytest.approx(
        peak(explainer.explain(fold, target=wrong[10:])).mean()
    )


def test_scorers_need_no_y_for_predicted_classes(digits):
    # The case of search_without_y.py: scorer(explainer, X) raised TypeError
    # and GridSearchCV(...).fit(X) scored every candidate NaN.
    from sklearn_xai.metrics import deletion_auc, get_explanation_scorer

    X, y, clf = digits
    explainer = make_explainer(clf, window=2, stride=2).fit(X)
    scorer = get_explanation_scorer("neg_deletion_auc")
    attributions = explainer.explain(X[:8])
    expected = -deletion_auc(explainer.estimator_, X[:8], attributions).mean()
    assert scorer(explainer, X[:8]) == pytest.approx(expected)
    assert scorer(explainer, X[:8], y[:8]) == pytest.approx(expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no failed-scoring warnings
        search = GridSearchCV(
            make_explainer(clf, stride=2),
            {"window": [2, 4]},
            scoring=scorer,
            cv=3,
        ).fit(X[:24])
        multi = cross_validate(
            make_explainer(clf, window=2, stride=2),
            X[:24],
            scoring={"deletion": scorer, "peak": get_explanation_scorer("sparseness")},
            cv=2,
        )
    means = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(means))
    assert search.best_index_ == int(np.argmax(means))
    assert np.all(np.isfinite(multi["test_deletion"]))
    assert np.all(np.isfinite(multi["test_peak"]))
    true = make_explanation_scorer(mean_abs, target="true", greater_is_better=True)
    with pytest.raises(ValueError, match="needs y"):
        true(explainer, X[:4])


def constant_is_nan(attributions):
    """Spread of each map, NaN for a constant map (as the library's metrics)."""
    flat = attributions.reshape(len(attributions), -1)
    spread = flat.max(axis=1) - flat.min(axis=1)
    return np.where(spread > 0, spread, np.nan)


def test_nan_images_are_not_averaged_away(digits):
    X, y, clf = digits
    explainer = make_explainer(clf, window=2, stride=2).fit(X)
    scorer = make_explanation_scorer(constant_is_nan, greater_is_better=True)
    images = X[:5].copy()
    assert np.isfinite(scorer(explainer, images, y[:5]))
    images[2] = 0.0  # a blank image: occluding it changes nothing
    assert np.isnan(constant_is_nan(explainer.explain(images))).sum() == 1
    # nanmean would score the other four images and hide the failure.
    with pytest.raises(ValueError, match=r"undefined \(NaN\) for 1 of 5 images"):
        scorer(explainer, images, y[:5])


def test_search_ranks_unscorable_candidates_last_or_raises(digits):
    X, y, clf = digits
    scorer = make_explanation_scorer(constant_is_nan, greater_is_better=True)
    # window=8 occludes the whole 8x8 image: every map is constant.
    grid = [{"window": [8], "stride": [8]}, {"window": [2], "stride": [2]}]
    with pytest.warns(UserWarning, match="undefined"):
        search = GridSearchCV(make_explainer(clf), grid, scoring=scorer, cv=2)
        search.fit(X[:20], y[:20])
    assert np.isnan(search.cv_results_["mean_test_score"][0])
    assert search.cv_results_["rank_test_score"].tolist() == [2, 1]
    assert search.best_params_["window"] == 2
    # A search in which no candidate can be scored is an error when asked.
    with pytest.raises(ValueError, match="undefined"):
        GridSearchCV(
            make_explainer(clf),
            {"window": [8], "stride": [4, 8]},
            scoring=scorer,
            cv=2,
            error_score="raise",
        ).fit(X[:20], y[:20])


def test_direction_follows_the_metric_arguments(digits):
    from functools import partial

    from sklearn_xai.metrics import pixel_flipping

    assert make_explanation_scorer(pixel_flipping)._sign == 1
    assert make_explanation_scorer(pixel_flipping, order="morf")._sign == 1
    lerf = make_explanation_scorer(pixel_flipping, order="lerf")
    assert lerf._sign == -1
    assert "greater_is_better=False" in repr(lerf)
    # An explicit direction is kept.
    assert (
        make_explanation_scorer(
            pixel_flipping, order="lerf", greater_is_better=True
        )._sign
        == 1
    )
    X, _, clf = digits
    explainer = make_explainer(clf, window=2, stride=2).fit(X)
    attributions = explainer.explain(X[:4])
    aopc = pixel_flipping(explainer.estimator_, X[:4], attributions, order="lerf")
    assert lerf(explainer, X[:4]) == pytest.approx(-aopc.mean())
    with pytest.raises(ValueError, match="depends on order"):
        make_explanation_scorer(pixel_flipping, order="random")
    with pytest.raises(ValueError, match="does not say whether higher is better"):
        make_explanation_scorer(partial(pixel_flipping, order="lerf"))


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
    from sklearn_xai.metrics import get_explanation_scorer

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


def _metric_mean(metric, explainer, X, masks):
    """The metric called directly, as its ready-made scorer calls it."""
    from sklearn_xai.metrics._scorer import _metric_kind

    kind = _metric_kind(metric)
    if kind == "explainer":
        result = metric(explainer, X)
        result = result["mean"] if isinstance(result, dict) else result
    else:
        attributions = explainer.explain(X)
        if kind == "model":
            result = metric(explainer.estimator_, X, attributions)
        elif kind == "localization":
            result = metric(attributions, masks)
        else:
            result = metric(attributions)
    return np.mean(result[0] if isinstance(result, tuple) else result)


@pytest.mark.parametrize("name", get_explanation_scorer_names())
def test_every_ready_made_scorer_is_its_metric_mean(name, digits, cnn_digits):
    from sklearn_xai import metrics
    from sklearn_xai.attribution import SaliencyExplainer
    from sklearn_xai.metrics import get_explanation_scorer

    X, _, cnn = cnn_digits
    if name == "top_k_intersection":
        # Its default k=1000 needs images of at least 1000 pixels: 32x32
        # digits, explained through a model that pools them back to 8x8.
        X = np.kron(X[500:504], np.ones((1, 4, 4), dtype=X.dtype))
        explainer = OcclusionExplainer(
            FrozenEstimator(_PooledModel(digits[2])), window=8, stride=8
        ).fit(X)
        images = X
    else:
        explainer = SaliencyExplainer(FrozenEstimator(cnn)).fit(X[:100])
        images = X[500:504]
    size = images.shape[1]
    masks = np.zeros((4, size, size), dtype=bool)
    masks[:, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = True
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = get_explanation_scorer(name)
        metric = getattr(metrics, scorer._score_func.__name__)
        metadata = {"masks": masks} if scorer._kind == "localization" else {}
        # Ready-made stochastic metrics have random_state=None: the global RNG.
        np.random.seed(0)  # noqa: NPY002
        score = scorer(explainer, images, **metadata)
    np.random.seed(0)  # noqa: NPY002
    expected = _metric_mean(metric, explainer, images, masks)
    sign = 1 if metric.greater_is_better else -1
    assert np.isfinite(score)
    assert score == pytest.approx(sign * expected)


def test_score_over_seeds_is_the_spread_of_seeded_scores(digits):
    from sklearn.base import clone

    from sklearn_xai.attribution import RISEExplainer
    from sklearn_xai.metrics import get_explanation_scorer, sparseness

    X, _, clf = digits
    model = FrozenEstimator(_FlatModel(clf))
    rise = RISEExplainer(model, n_masks=150, random_state=7).fit(X)
    scorer = get_explanation_scorer("sparseness")
    result = scorer.score_over_seeds(rise, X[:6], n_seeds=4, random_state=0)
    assert rise.random_state == 7  # the user's explainer is not changed
    # Reference: a fresh explainer per seed, scored by the metric directly.
    by_hand = [
        sparseness(
            clone(rise).set_params(random_state=int(s)).fit(X).explain(X[:6])
        ).mean()
        for s in result.seeds
    ]
    np.testing.assert_allclose(result.scores, by_hand, rtol=1e-12)
    assert result.mean == pytest.approx(np.mean(by_hand))
    assert result.std == pytest.approx(np.std(by_hand, ddof=1))
    assert result.std > 0
    again = scorer.score_over_seeds(rise, X[:6], n_seeds=4, random_state=0)
    np.testing.assert_array_equal(again.scores, result.scores)
    # A deterministic explainer scores the same for every seed.
    occlusion = make_explainer(clf, window=2, stride=2).fit(X)
    fixed = scorer.score_over_seeds(occlusion, X[:6], n_seeds=3, random_state=0)
    assert fixed.std == 0.0
    with pytest.raises(ValueError, match="n_seeds must be at least 2"):
        scorer.score_over_seeds(rise, X[:6], n_seeds=1)
