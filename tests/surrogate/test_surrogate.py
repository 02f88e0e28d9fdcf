"""Tests of the global surrogates and their region features."""

import pickle

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import (
    ImageFlattener,
    SuperpixelSegmenter,
)
from sklearn_xai.surrogate import (
    GridFeatures,
    SuperpixelFeatures,
    SurrogateClassifier,
    SurrogateTreeClassifier,
)


@pytest.fixture(scope="module")
def digits():
    """Flattened 8x8 digits and a logistic regression trained on them."""
    X, y = load_digit_images(return_X_y=True)
    X = X[:600].reshape(600, -1)
    y = y[:600]
    model = LogisticRegression(max_iter=500).fit(X, y)
    return X, y, model


@pytest.fixture(scope="module")
def tree(digits):
    X, _, model = digits
    return SurrogateTreeClassifier(
        FrozenEstimator(model),
        grid_size=4,
        max_depth=4,
        image_shape=(8, 8),
        random_state=0,
    ).fit(X)


# -- fitting -----------------------------------------------------------------


def test_fidelity_is_agreement_with_the_black_box(digits, tree):
    X, _, model = digits
    features = GridFeatures(4, image_shape=(8, 8)).fit_transform(X)
    agreement = np.mean(tree.surrogate_.predict(features) == model.predict(X))
    assert tree.fidelity_ == pytest.approx(agreement)
    assert 0.3 < tree.fidelity_ < 1.0
    np.testing.assert_array_equal(tree.classes_, model.classes_)
    assert tree.score(X) == pytest.approx(agreement)


def test_surrogate_learns_black_box_predictions_not_y(digits):
    X, _, model = digits
    params = dict(grid_size=4, max_depth=5, image_shape=(8, 8), random_state=0)
    reference = SurrogateTreeClassifier(FrozenEstimator(model), **params).fit(X)
    garbage = SurrogateTreeClassifier(FrozenEstimator(model), **params).fit(
        X, np.zeros(len(X), dtype=int)
    )
    assert garbage.fidelity_ == reference.fidelity_
    assert garbage.export_text() == reference.export_text()
    assert len(garbage.surrogate_.classes_) == 10


def test_unfrozen_estimator_is_cloned_and_fitted_on_y(digits):
    X, y, _ = digits
    model = LogisticRegression(max_iter=500)
    surrogate = SurrogateTreeClassifier(
        model, grid_size=2, max_depth=2, image_shape=(8, 8)
    ).fit(X, y)
    assert surrogate.estimator_ is not model
    assert not hasattr(model, "coef_")
    expected = LogisticRegression(max_iter=500).fit(X, y).predict(X)
    np.testing.assert_array_equal(surrogate.estimator_.predict(X), expected)


def test_score_ignores_y(digits, tree):
    X, y, _ = digits
    assert tree.score(X, np.zeros_like(y)) == tree.score(X) == tree.score(X, y)


def test_predict_proba_columns_follow_black_box_classes(digits):
    X, _, model = digits
    # The black box never predicts 9 on these images: a zero column.
    keep = model.predict(X) != 9
    surrogate = SurrogateClassifier(
        FrozenEstimator(model), grid_size=2, image_shape=(8, 8), random_state=0
    ).fit(X[keep])
    proba = surrogate.predict_proba(X[:20])
    assert proba.shape == (20, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba[:, 9], 0.0)
    np.testing.assert_array_equal(
        surrogate.classes_[proba.argmax(axis=1)], surrogate.predict(X[:20])
    )


# -- features ----------------------------------------------------------------


def test_grid_feature_name_and_value_of_a_known_cell():
    images = np.zeros((2, 32, 32, 3))
    images[0, 8:12, 20:24] = 1.0
    grid = GridFeatures(grid_size=8).fit(images)
    names = grid.get_feature_names_out()
    assert len(names) == 64
    assert names[2 * 8 + 5] == "cell r2c5 (rows 8-11, cols 20-23) mean"
    features = grid.transform(images)
    expected = np.zeros(64)
    expected[21] = 1.0
    np.testing.assert_allclose(features[0], expected)
    np.testing.assert_allclose(features[1], 0.0)


def test_grid_features_mean_over_channels_and_uneven_cells():
    images = np.zeros((1, 5, 5, 2))
    images[0, ..., 0] = 1.0  # channel mean 0.5 everywhere
    grid = GridFeatures(grid_size=2).fit(images)
    np.testing.assert_allclose(grid.transform(images), 0.5)
    assert sorted(grid.region_sizes_.tolist()) == [4, 6, 6, 9]


def test_superpixel_features_segment_the_mean_image():
    rng = np.random.default_rng(0)
    images = rng.random((4, 8, 8, 3))
    features = SuperpixelFeatures(SuperpixelSegmenter(method="grid", n_segments=4)).fit(
        images
    )
    out = features.transform(images)
    assert out.shape == (4, 4)
    np.testing.assert_allclose(out[:, 0], images[:, :4, :4].mean(axis=(1, 2, 3)))
    assert features.get_feature_names_out()[3] == (
        "superpixel 3 (rows 4-7, cols 4-7, 16 px) mean"
    )


def test_superpixel_surrogate_on_rgb_images():
    X, y = load_digit_images(size=16, as_rgb=True, return_X_y=True)
    X, y = X[:200], y[:200]
    model = Pipeline(
        [("flat", ImageFlattener()), ("clf", LogisticRegression(max_iter=300))]
    ).fit(X, y)
    surrogate = SurrogateTreeClassifier(
        FrozenEstimator(model), features="superpixels", grid_size=4, random_state=0
    ).fit(X)
    n_regions = len(surrogate.features_.region_sizes_)
    assert surrogate.surrogate_.n_features_in_ == n_regions
    assert surrogate.importance_image().shape == (16, 16)
    figure = surrogate.plot_tree(max_depth=2)
    assert len(figure.axes) == 2
    plt.close(figure)


# -- reading the surrogate ---------------------------------------------------


def test_importance_image_sums_to_feature_importances(tree):
    image = tree.importance_image()
    assert image.shape == (8, 8)
    regions = tree.features_.region_map_
    sums = np.bincount(regions.ravel(), weights=image.ravel())
    np.testing.assert_allclose(sums, tree.surrogate_.feature_importances_)
    assert image.sum() == pytest.approx(1.0)


def test_importance_image_of_a_linear_surrogate_is_per_class(digits):
    X, _, model = digits
    surrogate = SurrogateClassifier(
        FrozenEstimator(model),
        surrogate=LogisticRegression(max_iter=500),
        grid_size=4,
        image_shape=(8, 8),
    ).fit(X)
    image = surrogate.importance_image()
    assert image.shape == (10, 8, 8)
    regions = surrogate.features_.region_map_
    for row, coef in zip(image, surrogate.surrogate_.coef_, strict=True):
        sums = np.bincount(regions.ravel(), weights=row.ravel())
        np.testing.assert_allclose(sums, coef)
    # Pixel weights on the images give the surrogate's decision function.
    images = X[:5].reshape(5, 8, 8)
    decision = np.einsum("nhw,khw->nk", images, image) + surrogate.surrogate_.intercept_
    np.testing.assert_allclose(
        decision,
        surrogate.surrogate_.decision_function(surrogate.transform_features(X[:5])),
    )


def test_importance_image_of_pixel_features(digits):
    X, _, model = digits
    surrogate = SurrogateClassifier(
        FrozenEstimator(model),
        features=ImageFlattener(image_shape=(8, 8)),
        image_shape=(8, 8),
        random_state=0,
    ).fit(X)
    np.testing.assert_allclose(
        surrogate.importance_image().ravel(), surrogate.surrogate_.feature_importances_
    )
    names = surrogate._feature_names()
    np.testing.assert_array_equal(names, surrogate.features_.get_feature_names_out())


def test_export_text_uses_feature_and_class_names(tree):
    text = tree.export_text()
    root = tree.surrogate_.tree_.feature[0]
    assert text.splitlines()[0].startswith(
        f"|--- {tree.features_.get_feature_names_out()[root]} <= "
    )
    assert "class: " in text
    assert "(rows " in text


def _red_pixels(figure, ax, x, y, radius=3):
    """Whether the rendered figure has red pixels around data point (x, y) of ax."""
    figure.canvas.draw()
    buffer = np.asarray(figure.canvas.buffer_rgba())
    px, py = ax.transData.transform((x, y))
    row, col = round(buffer.shape[0] - py), round(px)
    window = buffer[row - radius : row + radius + 1, col - radius : col + radius + 1]
    red = (window[..., 0] > 200) & (window[..., 1] < 80) & (window[..., 2] < 80)
    return bool(red.any())


def test_plot_tree_draws_the_root_split_region(tree):
    figure = tree.plot_tree(reference_image=np.zeros((8, 8)))
    try:
        assert isinstance(figure, matplotlib.figure.Figure)
        assert len(figure.axes) == 2
        ax_image = figure.axes[1]
        root = tree.surrogate_.tree_.feature[0]
        rows, cols = np.nonzero(tree.features_.region_map_ == root)
        # The middle of the region's top edge is outlined in red ...
        assert _red_pixels(
            figure, ax_image, (cols.min() + cols.max()) / 2, rows.min() - 0.5
        )
        # ... unlike the same place in the bare image.
        bare, ax = plt.subplots()
        ax.imshow(np.zeros((8, 8)), cmap="gray")
        assert not _red_pixels(
            bare, ax, (cols.min() + cols.max()) / 2, rows.min() - 0.5
        )
        plt.close(bare)
    finally:
        plt.close(figure)


def test_plot_tree_on_given_axes_with_default_reference(tree):
    figure, axes = plt.subplots(1, 2)
    try:
        assert tree.plot_tree(ax=axes, max_depth=1) is figure
    finally:
        plt.close(figure)


# -- black boxes -------------------------------------------------------------


def test_random_forest_black_box_and_surrogate(digits):
    X, y, _ = digits
    forest = RandomForestClassifier(n_estimators=10, random_state=0)
    surrogate = SurrogateClassifier(
        forest,
        surrogate=RandomForestClassifier(n_estimators=10, random_state=0),
        grid_size=4,
        image_shape=(8, 8),
        random_state=0,
    ).fit(X, y)
    assert surrogate.fidelity_ > 0.9
    image = surrogate.importance_image()
    assert image.sum() == pytest.approx(1.0)
    assert surrogate.predict_proba(X[:3]).shape == (3, 10)


def test_frozen_cnn_black_box():
    X, y = load_digit_images(size=16, return_X_y=True)
    X, y = X[:300], y[:300]
    cnn = CNNClassifier(max_epochs=1, random_state=0).fit(X, y)
    surrogate = SurrogateTreeClassifier(
        FrozenEstimator(cnn), grid_size=4, max_depth=3, random_state=0, batch_size=50
    ).fit(X)
    agreement = np.mean(surrogate.predict(X) == cnn.predict(X))
    assert surrogate.fidelity_ == pytest.approx(agreement)
    assert surrogate.score(X[:40]) == pytest.approx(
        np.mean(surrogate.predict(X[:40]) == cnn.predict(X[:40]))
    )
    assert surrogate.importance_image().shape == (16, 16)


def test_pipeline_black_box_and_surrogate_in_a_pipeline(digits):
    X, y, _ = digits
    black_box = Pipeline(
        [
            ("flat", ImageFlattener(image_shape=(8, 8))),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    pipe = Pipeline(
        [
            ("scale", FunctionTransformer(lambda Z: Z * 2.0)),
            (
                "surrogate",
                SurrogateTreeClassifier(
                    black_box, grid_size=4, image_shape=(8, 8), random_state=0
                ),
            ),
        ]
    ).fit(X, y)
    assert pipe.score(X) == pytest.approx(pipe[-1].fidelity_)
    assert pipe.predict(X[:4]).shape == (4,)


def test_grid_search_over_depth_scores_fidelity(digits):
    X, _, model = digits
    search = GridSearchCV(
        SurrogateTreeClassifier(
            FrozenEstimator(model), grid_size=4, image_shape=(8, 8), random_state=0
        ),
        {"max_depth": [1, 3, 6]},
        cv=3,
    ).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] < scores[2]
    assert search.best_params_["max_depth"] in (3, 6)
    best = search.best_estimator_
    assert best.score(X) == pytest.approx(np.mean(best.predict(X) == model.predict(X)))


def test_pickle_round_trip(digits, tree):
    X, _, _ = digits
    restored = pickle.loads(pickle.dumps(tree))
    np.testing.assert_array_equal(restored.predict(X), tree.predict(X))
    assert restored.fidelity_ == tree.fidelity_


def test_determinism_with_random_state(digits):
    X, _, model = digits
    fits = [
        SurrogateClassifier(
            FrozenEstimator(model),
            surrogate=RandomForestClassifier(n_estimators=5, random_state=3),
            grid_size=4,
            image_shape=(8, 8),
        ).fit(X)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))
    trees = [
        SurrogateTreeClassifier(
            FrozenEstimator(model), grid_size=4, image_shape=(8, 8), random_state=0
        ).fit(X)
        for _ in range(2)
    ]
    assert trees[0].export_text() == trees[1].export_text()


# -- errors ------------------------------------------------------------------


def test_error_other_image_size(tree):
    with pytest.raises(ValueError, match=r"size 16x16, but .* fitted on .* 8x8"):
        tree.predict(np.zeros((2, 16, 16)))
    with pytest.raises(ValueError, match="X has 10 features"):
        tree.predict(np.zeros((2, 10)))


def test_error_nan(digits, tree):
    X, _, model = digits
    bad = X[:10].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tree.predict(bad)
    with pytest.raises(ValueError, match="NaN"):
        SurrogateTreeClassifier(FrozenEstimator(model), image_shape=(8, 8)).fit(bad)


def test_error_unfitted(digits):
    X, _, model = digits
    surrogate = SurrogateTreeClassifier(FrozenEstimator(model), image_shape=(8, 8))
    for method in (
        surrogate.predict,
        surrogate.predict_proba,
        surrogate.score,
        surrogate.transform_features,
    ):
        with pytest.raises(NotFittedError):
            method(X)
    for method in (
        surrogate.export_text,
        surrogate.plot_tree,
        surrogate.importance_image,
    ):
        with pytest.raises(NotFittedError):
            method()


def test_error_grid_size_larger_than_image(digits):
    X, _, model = digits
    with pytest.raises(
        ValueError, match=r"grid_size must be at most .* \(8x8\); got grid_size=9"
    ):
        SurrogateTreeClassifier(
            FrozenEstimator(model), grid_size=9, image_shape=(8, 8)
        ).fit(X)


def test_error_estimator_without_predict(digits):
    X, y, _ = digits
    with pytest.raises(ValueError, match=r"'estimator' parameter .* 'predict'"):
        SurrogateTreeClassifier(ImageFlattener(), image_shape=(8, 8)).fit(X, y)


@pytest.mark.parametrize("features", ["pixels", 3], ids=["bad-string", "int"])
def test_error_bad_features(digits, features):
    X, _, model = digits
    with pytest.raises(ValueError, match="'features' parameter"):
        SurrogateTreeClassifier(
            FrozenEstimator(model), features=features, image_shape=(8, 8)
        ).fit(X)


def test_error_features_not_a_table(digits):
    X, _, model = digits
    with pytest.raises(ValueError, match="features must give a table"):
        SurrogateClassifier(
            FrozenEstimator(model),
            features=FunctionTransformer(lambda Z: Z.reshape(len(Z), 8, 8)),
            image_shape=(8, 8),
        ).fit(X)


def test_error_y_needed_without_frozen_model(digits):
    X, _, _ = digits
    with pytest.raises(ValueError, match=r"requires y to be passed.*FrozenEstimator"):
        SurrogateTreeClassifier(LogisticRegression(), image_shape=(8, 8)).fit(X)


def test_error_importance_image_unavailable(digits):
    X, _, model = digits
    knn = SurrogateClassifier(
        FrozenEstimator(model),
        surrogate=KNeighborsClassifier(),
        image_shape=(8, 8),
        grid_size=2,
    ).fit(X)
    with pytest.raises(AttributeError, match=r"feature_importances_ .* or coef_"):
        knn.importance_image()
    untied = SurrogateClassifier(
        FrozenEstimator(model),
        features=FunctionTransformer(lambda Z: Z[:, :5]),
        image_shape=(8, 8),
    ).fit(X)
    with pytest.raises(TypeError, match="features tied to image regions"):
        untied.importance_image()


def test_error_reference_image_shape(tree):
    with pytest.raises(ValueError, match=r"reference_image .* \(8x8\)"):
        tree.plot_tree(reference_image=np.zeros((4, 4)))


def test_n_augment_asks_the_black_box_about_shifted_copies():
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    from sklearn_xai.datasets import load_digit_images
    from sklearn_xai.surrogate import SurrogateTreeClassifier

    X, y = load_digit_images(return_X_y=True)
    flat = X[:150].reshape(150, -1)
    model = FrozenEstimator(LogisticRegression(max_iter=300).fit(flat, y[:150]))
    plain = SurrogateTreeClassifier(
        model, grid_size=4, image_shape=(8, 8), random_state=0
    ).fit(flat)
    augmented = SurrogateTreeClassifier(
        model, grid_size=4, image_shape=(8, 8), n_augment=2, random_state=0
    ).fit(flat)
    # The tree saw the 150 images and 2 x 150 black-box-labelled copies.
    assert plain.surrogate_.tree_.n_node_samples[0] == 150
    assert augmented.surrogate_.tree_.n_node_samples[0] == 450
    # Deterministic for a seed; fidelity_ is still on the training images.
    again = SurrogateTreeClassifier(
        model, grid_size=4, image_shape=(8, 8), n_augment=2, random_state=0
    ).fit(flat)
    assert again.export_text() == augmented.export_text()
    assert 0.0 <= augmented.fidelity_ <= 1.0
    with pytest.raises(ValueError, match="n_augment"):
        SurrogateTreeClassifier(model, n_augment=-1, image_shape=(8, 8)).fit(flat)
