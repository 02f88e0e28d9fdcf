"""IntegratedGradientsExplainer: captum agreement, completeness, baselines."""

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from sklearn_xai.attribution import IntegratedGradientsExplainer
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import ImageNormalizer
from sklearn_xai.utils._attribution import reduce_channels
from sklearn_xai.utils._blur import blur_images


@pytest.fixture(scope="module")
def data():
    X, y = load_digit_images(size=16, as_rgb=True, return_X_y=True)
    return X[:200], y[:200]


def trained_cnn():
    # Enough epochs for logit differences of order 1, against which the
    # integration error is measured.
    return CNNClassifier(max_epochs=5, lr=0.01, module__n_filters=8, random_state=0)


@pytest.fixture(scope="module")
def cnn(data):
    return trained_cnn().fit(*data)


def to_tensor(X):
    return torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))


def logits(module, X):
    with torch.no_grad():
        return module.eval()(to_tensor(X)).numpy()


def baseline_images(name, X, X_fit):
    if name == "zeros":
        return np.zeros_like(X)
    if name == "mean":
        return np.broadcast_to(X_fit.mean(axis=0), X.shape).astype(np.float32)
    return blur_images(X)


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_trapezoid"])
@pytest.mark.parametrize("baseline", ["zeros", "mean", "blur"])
def test_equals_captum(baseline, method, data, cnn):
    X, y = data
    explainer = IntegratedGradientsExplainer(
        FrozenEstimator(cnn), baseline=baseline, method=method, n_steps=20
    )
    ours, details = explainer.fit(X).explain(X[:6], y[:6], return_details=True)
    expected, delta = IntegratedGradients(cnn.module_.eval()).attribute(
        to_tensor(X[:6]),
        baselines=to_tensor(baseline_images(baseline, X[:6], X)),
        target=torch.as_tensor(y[:6]),
        n_steps=20,
        method=method,
        return_convergence_delta=True,
    )
    expected = reduce_channels(expected.detach().numpy(), "sum")
    scale = np.abs(expected).max()
    assert scale > 1e-3
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(details.delta, delta.numpy(), atol=1e-4)


@pytest.mark.parametrize("baseline", ["zeros", "mean"])
def test_completeness(baseline, data, cnn):
    # Summed over channels and pixels, attributions add up to
    # logit(x) - logit(baseline) (Sundararajan et al.'s completeness axiom).
    X, y = data
    explainer = IntegratedGradientsExplainer(
        FrozenEstimator(cnn), baseline=baseline, n_steps=200, batch_size=256
    )
    attributions, details = explainer.fit(X).explain(X[:6], y[:6], return_details=True)
    rows = np.arange(6)
    difference = (
        logits(cnn.module_, X[:6])[rows, y[:6]]
        - logits(cnn.module_, baseline_images(baseline, X[:6], X))[rows, y[:6]]
    )
    total = attributions.sum(axis=(1, 2))
    error = np.abs(total - difference) / np.abs(difference)
    assert error.max() < 0.01, error
    np.testing.assert_allclose(details.delta, total - difference, atol=1e-3)


def test_mean_baseline_goes_through_the_preprocessing(data):
    # In a pipeline the mean image is normalized like the explained images,
    # so completeness holds for the network's logits.
    X, y = data
    pipe = Pipeline([("normalize", ImageNormalizer()), ("cnn", trained_cnn())])
    pipe.fit(X, y)
    explainer = IntegratedGradientsExplainer(
        FrozenEstimator(pipe), baseline="mean", n_steps=200, batch_size=256
    ).fit(X)
    np.testing.assert_allclose(explainer.baseline_, X.mean(axis=0), atol=1e-6)
    attributions = explainer.explain(X[:4], y[:4])
    module = pipe[-1].module_
    rows = np.arange(4)
    normalized = pipe[0].transform(np.concatenate([X[:4], explainer.baseline_[None]]))
    out = logits(module, normalized)
    difference = out[rows, y[:4]] - out[-1, y[:4]]
    np.testing.assert_allclose(attributions.sum(axis=(1, 2)), difference, rtol=0.01)


def test_array_baseline(data, cnn):
    X, y = data
    black = np.zeros((16, 16, 3))
    zeros = IntegratedGradientsExplainer(FrozenEstimator(cnn), n_steps=10).fit(X)
    assert zeros.baseline_ is None
    for baseline in (black, black.ravel()):
        explainer = IntegratedGradientsExplainer(
            FrozenEstimator(cnn), baseline=baseline, n_steps=10
        ).fit(X)
        assert explainer.baseline_.shape == (16, 16, 3)
        np.testing.assert_allclose(
            explainer.explain(X[:3], y[:3]), zeros.explain(X[:3], y[:3]), atol=1e-6
        )


@pytest.mark.parametrize(
    "baseline, match",
    [
        (np.zeros((8, 8, 3)), r"one image of the fitted shape \(16, 16, 3\)"),
        (np.full((16, 16, 3), np.nan), "NaN"),
        ("black", "'baseline' parameter"),
    ],
    ids=["wrong-shape", "nan", "unknown-name"],
)
def test_bad_baseline(baseline, match, data, cnn):
    explainer = IntegratedGradientsExplainer(FrozenEstimator(cnn), baseline=baseline)
    with pytest.raises(ValueError, match=match):
        explainer.fit(data[0])


@pytest.mark.parametrize("batch_size", [1, 7, 50, 1000])
def test_path_batches_bound_the_network_rows(batch_size, data, cnn):
    X, y = data
    rows = []
    hook = cnn.module_.register_forward_pre_hook(
        lambda module, args: rows.append(len(args[0]))
    )
    try:
        explainer = IntegratedGradientsExplainer(
            FrozenEstimator(cnn), n_steps=20, batch_size=batch_size
        )
        attributions = explainer.fit(X).explain(X[:5], y[:5])
    finally:
        hook.remove()
    # Path points per pass (and the end points of the convergence delta) are
    # bounded by batch_size.
    assert max(rows) <= batch_size
    reference = IntegratedGradientsExplainer(FrozenEstimator(cnn), n_steps=20)
    expected = reference.fit(X).explain(X[:5], y[:5])
    np.testing.assert_allclose(attributions, expected, rtol=1e-4, atol=1e-6)
