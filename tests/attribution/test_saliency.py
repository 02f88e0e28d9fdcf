"""SaliencyExplainer: agreement with captum's Saliency."""

import numpy as np
import pytest
import torch
from captum.attr import Saliency
from sklearn.frozen import FrozenEstimator

from sklearn_xai.attribution import SaliencyExplainer
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.utils._attribution import reduce_channels


@pytest.fixture(scope="module")
def data():
    X, y = load_digit_images(size=16, as_rgb=True, return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def cnn(data):
    return CNNClassifier(
        max_epochs=2, lr=0.01, module__n_filters=8, random_state=0
    ).fit(*data)


def captum_gradients(cnn, X, targets, *, abs):
    """Saliency straight from captum on the network in eval mode."""
    module = cnn.module_.eval()
    inputs = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))
    inputs.requires_grad_()
    return (
        Saliency(module)
        .attribute(inputs, target=torch.as_tensor(targets), abs=abs)
        .numpy()
    )


@pytest.mark.parametrize("reduction", ["max_abs", "sum", "abs_sum", "l2"])
def test_equals_captum(reduction, data, cnn):
    X, y = data
    explainer = SaliencyExplainer(FrozenEstimator(cnn), channel_reduction=reduction)
    ours = explainer.fit(X).explain(X[:12], y[:12])
    expected = reduce_channels(
        captum_gradients(cnn, X[:12], y[:12], abs=False), reduction
    )
    assert ours.shape == (12, 16, 16)
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-8)
    assert np.abs(expected).max() > 1e-3


def test_default_is_simonyans_map(data, cnn):
    # Simonyan et al.: the largest gradient magnitude over channels, i.e.
    # captum's abs=True followed by a maximum over channels.
    X, y = data
    explainer = SaliencyExplainer(FrozenEstimator(cnn)).fit(X)
    assert explainer.channel_reduction == "max_abs"
    expected = captum_gradients(cnn, X[:6], y[:6], abs=True).max(axis=1)
    np.testing.assert_allclose(explainer.explain(X[:6], y[:6]), expected, rtol=1e-6)


def test_explains_the_predicted_class_by_default(data, cnn):
    X, _ = data
    explainer = SaliencyExplainer(FrozenEstimator(cnn)).fit(X)
    predicted = cnn.predict(X[:6])
    attributions, details = explainer.explain(X[:6], return_details=True)
    np.testing.assert_array_equal(details.targets, predicted)
    np.testing.assert_array_equal(attributions, explainer.explain(X[:6], predicted))
    # Another class gives another map.
    other = (predicted + 1) % 10
    assert not np.allclose(attributions, explainer.explain(X[:6], other))
