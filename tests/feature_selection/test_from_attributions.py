"""SelectFromAttributions: the kept pixels, their layout, composition, errors."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklearn_xai.attribution import (
    IntegratedGradientsExplainer,
    OcclusionExplainer,
    RISEExplainer,
)
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.feature_selection import SelectFromAttributions
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import ImageFlattener


@pytest.fixture(scope="module")
def digits():
    X, y = load_digit_images(return_X_y=True)
    return X[:240], y[:240]


@pytest.fixture(scope="module")
def flat_clf(digits):
    X, y = digits
    return LogisticRegression(max_iter=500).fit(X.reshape(len(X), -1), y)


@pytest.fixture(scope="module")
def cnn(digits):
    return CNNClassifier(
        max_epochs=2, lr=0.01, module__n_filters=4, random_state=0
    ).fit(*digits)


def occlusion(clf, shape=(8, 8)):
    return OcclusionExplainer(
        FrozenEstimator(clf), window=2, stride=1, image_shape=shape
    )


def hand_attributions(explainer, X, y):
    return clone(explainer).fit(X, y).explain(X, y).astype(np.float64)


def top_k(scores, k):
    mask = np.zeros(scores.size, dtype=bool)
    mask[np.argsort(-scores.ravel(), kind="stable")[:k]] = True
    return mask.reshape(scores.shape)


@pytest.mark.parametrize(
    "aggregate, reduce",
    [
        ("mean_abs", lambda a: np.abs(a).mean(axis=0)),
        ("mean", lambda a: a.mean(axis=0)),
        (lambda a: a.max(axis=0), lambda a: a.max(axis=0)),
    ],
    ids=["mean_abs", "mean", "callable"],
)
def test_keeps_top_k_of_the_aggregate(aggregate, reduce, digits, flat_clf):
    X, y = digits
    X = X.reshape(len(X), -1)
    explainer = occlusion(flat_clf)
    selector = SelectFromAttributions(
        explainer, max_features=12, aggregate=aggregate
    ).fit(X, y)
    expected = reduce(hand_attributions(explainer, X, y))
    np.testing.assert_allclose(selector.importances_, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(selector.support_image_, top_k(expected, 12))
    assert selector.support_image_.sum() == 12
    assert selector.importances_.shape == selector.support_image_.shape == (8, 8)
    assert selector.image_shape_ == (8, 8, 1) and selector.n_features_in_ == 64
    Xt = selector.transform(X)
    np.testing.assert_array_equal(Xt, X[:, selector.support_image_.ravel()])


def test_explains_true_labels_with_y_and_predictions_without(digits, flat_clf):
    X, y = digits
    X = X.reshape(len(X), -1)
    explainer = occlusion(flat_clf)
    predicted = flat_clf.predict(X)
    with_y = SelectFromAttributions(explainer, max_features=5).fit(X, y)
    without = SelectFromAttributions(explainer, max_features=5).fit(X)
    fitted = clone(explainer).fit(X)
    np.testing.assert_allclose(
        with_y.importances_, np.abs(fitted.explain(X, y)).mean(axis=0), rtol=1e-6
    )
    np.testing.assert_allclose(
        without.importances_,
        np.abs(fitted.explain(X, predicted)).mean(axis=0),
        rtol=1e-6,
    )


def test_layouts_of_transform(digits, flat_clf):
    X, y = digits
    selector = SelectFromAttributions(occlusion(flat_clf), max_features=7)
    selector.fit(X.reshape(len(X), -1), y)
    flat = X.reshape(len(X), -1)
    expected = flat[:, selector.get_support()]
    np.testing.assert_array_equal(selector.transform(X), expected)
    np.testing.assert_array_equal(selector.transform(X[..., np.newaxis]), expected)
    np.testing.assert_array_equal(selector.transform(flat), expected)
    assert selector.transform(X).dtype == X.dtype
    restored = selector.inverse_transform(expected)
    assert restored.shape == flat.shape
    np.testing.assert_array_equal(restored[:, selector.get_support()], expected)
    assert not restored[:, ~selector.get_support()].any()


def test_channels_expand_the_mask(digits):
    X, y = load_digit_images(as_rgb=True, return_X_y=True)
    X, y = X[:200], y[:200]
    X[..., 1] *= 0.5  # channels differ, so a wrong layout shows
    flat = X.reshape(len(X), -1)
    clf = LogisticRegression(max_iter=300).fit(flat, y)
    selector = SelectFromAttributions(
        occlusion(clf, shape=(8, 8, 3)), max_features=9
    ).fit(flat, y)
    support = selector.get_support()
    assert support.shape == (192,) and support.sum() == 27
    np.testing.assert_array_equal(
        support.reshape(8, 8, 3), np.repeat(selector.support_image_[..., None], 3, -1)
    )
    expected = X[:, selector.support_image_, :].reshape(len(X), -1)
    np.testing.assert_array_equal(selector.transform(X), expected)
    np.testing.assert_array_equal(selector.transform(flat), expected)
    names = selector.get_feature_names_out()
    flattener_names = ImageFlattener().fit(X).get_feature_names_out()
    np.testing.assert_array_equal(names, flattener_names[support])
    assert names[0].endswith("_ch0") and names[2].endswith("_ch2")


def test_gray_feature_names_match_the_flattener(digits, flat_clf):
    X, y = digits
    selector = SelectFromAttributions(occlusion(flat_clf), max_features=4)
    selector.fit(X.reshape(len(X), -1), y)
    names = selector.get_feature_names_out()
    flattener_names = ImageFlattener().fit(X).get_feature_names_out()
    np.testing.assert_array_equal(names, flattener_names[selector.get_support()])
    r, c = np.argwhere(selector.support_image_)[0]
    assert names[0] == f"pixel_r{r}_c{c}"
    given = np.array([f"f{i}" for i in range(64)], dtype=object)
    np.testing.assert_array_equal(
        selector.get_feature_names_out(given), given[selector.get_support()]
    )


@pytest.mark.parametrize(
    "threshold, statistic",
    [
        (None, np.mean),
        ("mean", np.mean),
        ("median", np.median),
        ("1.5*mean", lambda s: 1.5 * np.mean(s)),
        (" 0.5 * median", lambda s: 0.5 * np.median(s)),
        (0.01, lambda s: 0.01),
    ],
    ids=["default", "mean", "median", "scaled-mean", "scaled-median", "float"],
)
def test_threshold(threshold, statistic, digits, flat_clf):
    X, y = digits
    X = X.reshape(len(X), -1)
    selector = SelectFromAttributions(occlusion(flat_clf), threshold=threshold)
    selector.fit(X, y)
    scores = selector.importances_
    assert selector.threshold_ == pytest.approx(statistic(scores))
    np.testing.assert_array_equal(selector.support_image_, scores >= statistic(scores))
    assert 0 < selector.support_image_.sum() < 64


def test_threshold_and_max_features_together(digits, flat_clf):
    X, y = digits
    X = X.reshape(len(X), -1)
    loose = SelectFromAttributions(occlusion(flat_clf), max_features=60).fit(X, y)
    assert loose.support_image_.sum() == 60 and loose.threshold_ == -np.inf
    both = SelectFromAttributions(
        occlusion(flat_clf), max_features=60, threshold="median"
    ).fit(X, y)
    scores = both.importances_
    expected = top_k(scores, 60) & (scores >= np.median(scores))
    np.testing.assert_array_equal(both.support_image_, expected)
    assert both.support_image_.sum() == 32


def test_per_class_keeps_the_max_over_classes(digits, flat_clf):
    X, y = digits
    X = X.reshape(len(X), -1)
    explainer = occlusion(flat_clf)
    selector = SelectFromAttributions(explainer, max_features=20, per_class=True).fit(
        X, y
    )
    attributions = np.abs(hand_attributions(explainer, X, y))
    per_class = np.stack([attributions[y == c].mean(axis=0) for c in range(10)])
    np.testing.assert_array_equal(selector.explained_classes_, np.arange(10))
    np.testing.assert_allclose(selector.class_importances_, per_class, rtol=1e-6)
    np.testing.assert_allclose(selector.importances_, per_class.max(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(
        selector.support_image_, top_k(selector.importances_, 20)
    )
    pooled = SelectFromAttributions(explainer, max_features=20).fit(X, y)
    assert not hasattr(pooled, "class_importances_")


def test_frozen_cnn_is_not_trained(digits, cnn):
    X, y = digits
    before = {k: v.clone() for k, v in cnn.module_.state_dict().items()}
    explainer = IntegratedGradientsExplainer(FrozenEstimator(cnn), n_steps=8)
    selector = SelectFromAttributions(explainer, max_features=10).fit(X, y)
    after = cnn.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert selector.explainer_ is not explainer
    assert selector.explainer_.estimator_.estimator is cnn
    assert not hasattr(explainer, "estimator_")  # the user's object is untouched
    assert selector.transform(X).shape == (len(X), 10)


def test_pickle_and_determinism(digits, flat_clf):
    X, y = digits
    X = X.reshape(len(X), -1)
    explainer = RISEExplainer(
        FrozenEstimator(flat_clf),
        n_masks=40,
        mask_size=2,
        random_state=0,
        image_shape=(8, 8),
    )
    first = SelectFromAttributions(explainer, max_features=10).fit(X[:60], y[:60])
    second = SelectFromAttributions(explainer, max_features=10).fit(X[:60], y[:60])
    np.testing.assert_array_equal(first.importances_, second.importances_)
    np.testing.assert_array_equal(first.get_support(), second.get_support())
    loaded = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(loaded.transform(X), first.transform(X))
    np.testing.assert_array_equal(loaded.importances_, first.importances_)


def test_pipeline_in_grid_search(digits, cnn):
    X, y = digits[0][:120], digits[1][:120]
    explainer = IntegratedGradientsExplainer(FrozenEstimator(cnn), n_steps=8)
    pipe = Pipeline(
        [
            ("select", SelectFromAttributions(explainer, max_features=30)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    search = GridSearchCV(pipe, {"select__max_features": [8, 30]}, cv=2).fit(X, y)
    assert set(search.cv_results_["param_select__max_features"]) == {8, 30}
    best = search.best_estimator_
    k = search.best_params_["select__max_features"]
    assert best[:-1].transform(X).shape == (len(X), k)
    assert best.score(X, y) > 0.5
    names = best[:-1].get_feature_names_out()
    assert len(names) == k and all(n.startswith("pixel_r") for n in names)


def test_image_shape_is_passed_to_the_explainer(digits, flat_clf):
    X, y = digits
    X = X.reshape(len(X), -1)
    explainer = OcclusionExplainer(FrozenEstimator(flat_clf), window=2, stride=2)
    selector = SelectFromAttributions(explainer, max_features=3, image_shape=(8, 8))
    selector.fit(X, y)
    assert selector.explainer_.image_shape == (8, 8)
    assert explainer.image_shape is None
    assert selector.importances_.shape == (8, 8)


# -- errors -------------------------------------------------------------------


def test_max_features_larger_than_pixels(digits, flat_clf):
    X, y = digits
    selector = SelectFromAttributions(occlusion(flat_clf), max_features=65)
    with pytest.raises(ValueError, match=r"max_features=65 is larger .*\(8x8 = 64\)"):
        selector.fit(X.reshape(len(X), -1), y)


def test_unfitted(digits, flat_clf):
    X, _ = digits
    selector = SelectFromAttributions(occlusion(flat_clf), max_features=3)
    with pytest.raises(NotFittedError, match="not fitted"):
        selector.transform(X)
    with pytest.raises(NotFittedError, match="not fitted"):
        selector.get_support()
    with pytest.raises(NotFittedError, match="not fitted"):
        selector.get_feature_names_out()


def test_size_mismatch_at_transform(digits, flat_clf):
    X, y = digits
    selector = SelectFromAttributions(occlusion(flat_clf), max_features=3)
    selector.fit(X.reshape(len(X), -1), y)
    with pytest.raises(ValueError, match="images of size 9x8, but"):
        selector.transform(np.zeros((2, 9, 8)))
    with pytest.raises(ValueError, match="3 channel"):
        selector.transform(np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="X has 63 features"):
        selector.transform(np.zeros((2, 63)))


@pytest.mark.parametrize(
    "explainer",
    [LogisticRegression(), "occlusion", None],
    ids=["classifier", "string", "none"],
)
def test_explainer_must_be_an_explainer(explainer, digits):
    X, y = digits
    selector = SelectFromAttributions(explainer, max_features=3)
    with pytest.raises(ValueError, match=r"'explainer' .* instance of .*BaseExplainer"):
        selector.fit(X, y)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"aggregate": "max"}, ValueError, "'aggregate' parameter"),
        (
            {"aggregate": lambda a: a.mean()},
            ValueError,
            r"aggregate must map .* returned shape \(\)",
        ),
        (
            {"aggregate": lambda a: a.mean(axis=0) * np.nan},
            ValueError,
            "NaN or infinity",
        ),
        ({"threshold": "max"}, ValueError, "threshold must be a float, 'mean'"),
        ({"threshold": "a*mean"}, ValueError, "threshold must be a float, 'mean'"),
        ({"max_features": 0}, ValueError, "'max_features' parameter"),
        ({"per_class": "yes"}, ValueError, "'per_class' parameter"),
    ],
    ids=[
        "aggregate-name",
        "aggregate-shape",
        "aggregate-nan",
        "threshold-name",
        "threshold-scale",
        "max-features-zero",
        "per-class",
    ],
)
def test_bad_parameters(params, error, match, digits, flat_clf):
    X, y = digits
    selector = SelectFromAttributions(occlusion(flat_clf), **params)
    with pytest.raises(error, match=match):
        selector.fit(X.reshape(len(X), -1)[:20], y[:20])


def test_mismatched_inputs(digits, flat_clf):
    X, y = digits
    X = X.reshape(len(X), -1)
    with pytest.raises(ValueError, match="y has 10 labels, but X has 20 images"):
        SelectFromAttributions(occlusion(flat_clf)).fit(X[:20], y[:10])
    with pytest.raises(ValueError, match="read the images as"):
        SelectFromAttributions(occlusion(flat_clf), image_shape=(4, 16)).fit(
            X[:20], y[:20]
        )
    selector = SelectFromAttributions(occlusion(flat_clf), max_features=2)
    selector.fit(X[:20], y[:20])
    with pytest.raises(ValueError, match="input_features should have length"):
        selector.get_feature_names_out(["a", "b"])
