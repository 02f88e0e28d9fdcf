"""Sanity of explanations and metrics on a CNN that really learned something.

On synthetic shapes, the class is decided by one object whose pixels are
known. Every explainer must beat random attributions on deletion and
insertion, the gradient methods must localize the object better than random,
and the randomization test must tell a trained model from a randomised one.
"""

import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from sklearn_xai import metrics
from sklearn_xai.attribution import (
    GradCAMExplainer,
    IntegratedGradientsExplainer,
    LimeExplainer,
    OcclusionExplainer,
    RISEExplainer,
    SaliencyExplainer,
)
from sklearn_xai.datasets import make_shape_images
from sklearn_xai.neural_network import CNNClassifier

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shapes():
    data = make_shape_images(1600, random_state=0)
    X_train, X_test, y_train, y_test, _, masks = train_test_split(
        data.images,
        data.target,
        data.masks,
        test_size=0.2,
        stratify=data.target,
        random_state=0,
    )
    cnn = CNNClassifier(max_epochs=25, module__n_blocks=3, random_state=0)
    cnn.fit(X_train, y_train)
    assert cnn.score(X_test, y_test) > 0.85
    right = np.flatnonzero(cnn.predict(X_test) == y_test)[:12]
    return cnn, X_train, X_test[right], masks[right]


EXPLAINERS = {
    "saliency": lambda m: SaliencyExplainer(m),
    "integrated_gradients": lambda m: IntegratedGradientsExplainer(m, n_steps=32),
    "gradcam": lambda m: GradCAMExplainer(m),
    "lime": lambda m: LimeExplainer(m, n_samples=200, random_state=0),
    "occlusion": lambda m: OcclusionExplainer(m, window=6, stride=3),
    "rise": lambda m: RISEExplainer(m, n_masks=300, random_state=0),
    # The last block sees a 4x4 grid of a 32x32 image: too coarse to put
    # relevance mass inside a small object; one block earlier (8x8, its
    # rectified output as the papers take it) is not.
    "gradcam_8x8": lambda m: GradCAMExplainer(m, layer="features.block1.relu"),
}


@pytest.fixture(scope="module")
def explanations(shapes):
    cnn, X_train, X, _ = shapes
    return {
        name: make(FrozenEstimator(cnn)).fit(X_train[:50]).explain(X)
        for name, make in EXPLAINERS.items()
    }


@pytest.fixture(scope="module")
def random_maps(shapes):
    _, _, X, _ = shapes
    return np.random.default_rng(0).random(X.shape[:3])


@pytest.mark.parametrize("name", sorted(EXPLAINERS))
def test_every_method_beats_random_on_deletion_and_insertion(
    shapes, explanations, random_maps, name
):
    cnn, _, X, _ = shapes
    a = explanations[name]
    # Removed pixels are blurred, not blacked out: filling the object with a
    # constant keeps its silhouette, which alone decides the class here, so a
    # black fill would not remove the evidence a good explanation points at.
    kw = {"n_steps": 16, "baseline": "blur"}
    deletion = metrics.deletion_auc(cnn, X, a, **kw).mean()
    deletion_random = metrics.deletion_auc(cnn, X, random_maps, **kw).mean()
    insertion = metrics.insertion_auc(cnn, X, a, **kw).mean()
    insertion_random = metrics.insertion_auc(cnn, X, random_maps, **kw).mean()
    assert deletion < deletion_random, (deletion, deletion_random)
    assert insertion > insertion_random, (insertion, insertion_random)


@pytest.mark.parametrize(
    "name, metric",
    [
        ("integrated_gradients", "relevance_mass_accuracy"),
        ("integrated_gradients", "attribution_localization_auc"),
        ("integrated_gradients", "pointing_game"),
        ("gradcam", "attribution_localization_auc"),
        ("gradcam", "pointing_game"),
        ("gradcam_8x8", "relevance_mass_accuracy"),
        ("gradcam_8x8", "attribution_localization_auc"),
        ("gradcam_8x8", "pointing_game"),
    ],
)
def test_gradient_methods_localize_the_object(
    shapes, explanations, random_maps, name, metric
):
    _, _, _, masks = shapes
    func = getattr(metrics, metric)
    a = explanations[name]
    if name == "integrated_gradients":
        a = np.abs(a)  # signed IG: evidence either way is on the object
    ours = func(a, masks).mean()
    chance = func(random_maps, masks).mean()
    assert ours > chance, (ours, chance)


def test_randomization_separates_trained_from_random_model(shapes):
    cnn, X_train, X, _ = shapes
    explainer = SaliencyExplainer(FrozenEstimator(cnn)).fit(X_train[:50])
    before = {k: v.clone() for k, v in cnn.module_.state_dict().items()}
    result = metrics.model_parameter_randomization(explainer, X[:8], random_state=0)
    # Fully randomised (last cascading step): explanations no longer match.
    assert np.mean(result.scores[-1]) < 0.5
    # The user's model is untouched.
    after = cnn.module_.state_dict()
    assert all((before[k] == after[k]).all() for k in before)
