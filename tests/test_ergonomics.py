"""Small ergonomics: searches over explainers, unbatched images, batch sizes."""

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline

from sklearn_xai._adapter import batched_predict_proba
from sklearn_xai._adapter._predict import model_batch_size
from sklearn_xai.attribution import OcclusionExplainer
from sklearn_xai.base import BaseExplainer
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.metrics import get_explanation_scorer
from sklearn_xai.preprocessing import ImageFlattener


@pytest.fixture(scope="module")
def digits():
    X, y = load_digit_images(return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def pipe(digits):
    X, y = digits
    return make_pipeline(ImageFlattener(), LogisticRegression(max_iter=200)).fit(X, y)


class CountingForest(RandomForestClassifier):
    """Counts the rows of each predict_proba call."""

    def predict_proba(self, X):
        self.__dict__.setdefault("calls", []).append(len(X))
        return super().predict_proba(X)


# -- searching over explainers ---------------------------------------------------


def test_search_without_scoring_fails_before_fitting_anything(pipe, digits):
    # Explainers have no score method on purpose: GridSearchCV would call a
    # raising one on every fold, record NaN and pick an arbitrary winner; with
    # none it stops at once (and the tuning guide says to pass scoring).
    assert not hasattr(BaseExplainer, "score")
    X = digits[0][:8]
    search = GridSearchCV(OcclusionExplainer(FrozenEstimator(pipe)), {"window": [2, 4]})
    with pytest.raises(TypeError, match="should have a 'score' method"):
        search.fit(X)
    assert not hasattr(search, "cv_results_")


def test_a_fitted_search_explains_through_its_best_estimator(pipe, digits):
    X = digits[0][:8]
    search = GridSearchCV(
        OcclusionExplainer(FrozenEstimator(pipe), window=2),
        {"stride": [1, 2]},
        scoring=get_explanation_scorer("sparseness"),
        cv=KFold(2),
    ).fit(X)
    assert not hasattr(search, "explain")
    maps = search.best_estimator_.explain(X[:2])
    assert maps.shape == (2, 8, 8)
    np.testing.assert_allclose(search.transform(X[:2]), maps.reshape(2, -1))


# -- one image where a batch is expected --------------------------------------


def test_one_unbatched_image_suggests_x_none(pipe, digits):
    X = digits[0]
    explainer = OcclusionExplainer(FrozenEstimator(pipe), window=2, stride=2)
    explainer.fit(X[:8])
    with pytest.raises(ValueError, match=r"\(8, 8\): one image.*X\[None\]"):
        explainer.explain(X[0])
    assert explainer.explain(X[0][None]).shape == (1, 8, 8)


# -- model-call batch sizes ----------------------------------------------------


def test_batch_size_none_is_chosen_by_the_kind_of_model(digits):
    from sklearn_xai.neural_network import CNNClassifier

    forest = RandomForestClassifier()
    assert model_batch_size(forest, (8, 8, 1)) == 1024
    assert model_batch_size(forest, (64, 64, 3)) == 682  # 64 MiB of float64
    assert model_batch_size(forest, (224, 224, 3)) == 55
    assert model_batch_size(forest, (1024, 1024, 3)) == 32  # at least 32
    cnn = CNNClassifier()
    assert model_batch_size(cnn, (8, 8, 1)) == 32
    assert model_batch_size(make_pipeline(ImageFlattener(), cnn), (8, 8, 1)) == 32
    assert model_batch_size(FrozenEstimator(cnn), (224, 224, 3)) == 32
    # An explicit batch size is always honoured.
    assert model_batch_size(forest, (8, 8, 1), batch_size=7) == 7
    assert model_batch_size(cnn, (8, 8, 1), batch_size=500) == 500


def test_batched_predict_proba_auto_and_explicit(digits):
    X, y = digits
    forest = CountingForest(n_estimators=5, random_state=0).fit(X.reshape(200, -1), y)
    images = np.repeat(X[:, :, :, None], 12, axis=0)  # 2400 images
    forest.calls = []
    auto = batched_predict_proba(forest, images, layout_ndim=2, batch_size=None)
    assert forest.calls == [1024, 1024, 352]
    forest.calls = []
    explicit = batched_predict_proba(forest, images, layout_ndim=2, batch_size=500)
    assert forest.calls == [500] * 4 + [400]
    np.testing.assert_array_equal(auto, explicit)


def test_explainers_honour_an_explicit_batch_size(digits):
    X, y = digits
    forest = CountingForest(n_estimators=5, random_state=0)
    model = make_pipeline(ImageFlattener(), forest).fit(X, y)
    explainer = OcclusionExplainer(FrozenEstimator(model), batch_size=7)
    forest.calls = []
    explainer.fit(X[:20])._predict_proba(X[:20, :, :, None])
    assert forest.calls[-3:] == [7, 7, 6]
    assert explainer._model_batch_size() == 7


@pytest.mark.parametrize(
    "name, params",
    [
        ("LimeExplainer", {"n_samples": 300, "segmentation": "grid"}),
        ("KernelShapExplainer", {"n_samples": 300, "segmentation": "grid"}),
        ("OcclusionExplainer", {"window": 2}),
        ("RISEExplainer", {"n_masks": 300}),
    ],
)
def test_model_agnostic_explainers_batch_by_the_kind_of_model(digits, name, params):
    # By default (batch_size=None) a forest gets up to 1024 rows per call,
    # not 32, and the maps equal those of an explicit small batch size.
    import sklearn_xai.attribution as attribution

    X, y = digits
    forest = CountingForest(n_estimators=5, random_state=0)
    model = make_pipeline(ImageFlattener(), forest).fit(X, y)
    cls = getattr(attribution, name)
    auto = cls(FrozenEstimator(model), random_state=0, **params).fit(X[:20])
    assert auto.batch_size is None
    assert auto._model_batch_size() == 1024
    forest.calls = []
    maps = auto.explain(X[:2], target=y[:2])
    assert max(forest.calls) > 32
    assert max(forest.calls) <= 1024
    small = cls(FrozenEstimator(model), random_state=0, batch_size=32, **params)
    forest.calls = []
    np.testing.assert_allclose(
        small.fit(X[:20]).explain(X[:2], target=y[:2]), maps, atol=1e-6
    )
    assert max(forest.calls) == 32


def test_metrics_batch_by_the_kind_of_model(digits):
    from sklearn_xai.metrics import deletion_auc

    X, y = digits
    forest = CountingForest(n_estimators=5, random_state=0)
    model = make_pipeline(ImageFlattener(), forest).fit(X, y)
    maps = np.random.default_rng(0).random((4, 8, 8))
    forest.calls = []
    auto = deletion_auc(model, X[:4], maps, targets=y[:4], n_steps=64)
    assert max(forest.calls) > 64  # 4 images x 65 steps in few calls
    forest.calls = []
    explicit = deletion_auc(
        model, X[:4], maps, targets=y[:4], n_steps=64, batch_size=16
    )
    assert max(forest.calls) == 16
    np.testing.assert_allclose(auto, explicit)
