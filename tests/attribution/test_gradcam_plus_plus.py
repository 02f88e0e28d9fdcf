"""GradCAMPlusPlusExplainer: a closed form (the independent check), plumbing, API.

The closed form of a global-average-pooling head is derived by hand, not from
the formula the explainer implements; the Eq. 19 re-typing on hook-captured
tensors shares the formula with the explainer and only checks the plumbing
(layer choice, hooks, upsampling, ``relu``).
"""

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sklearn_xai.attribution import GradCAMExplainer, GradCAMPlusPlusExplainer
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import ImageNormalizer, ImageResizer


def small_cnn(**params):
    defaults = {"max_epochs": 2, "lr": 0.01, "module__n_filters": 8}
    return CNNClassifier(random_state=0, **{**defaults, **params})


@pytest.fixture(scope="module")
def data():
    X, y = load_digit_images(size=16, as_rgb=True, return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def cnn(data):
    return small_cnn().fit(*data)


def layer_maps(module, layer, X, targets):
    """Activations and target-logit gradients at ``layer``, by plain hooks."""
    module = copy.deepcopy(module).eval()
    captured = {}
    handle = module.get_submodule(layer).register_forward_hook(
        lambda _, __, out: captured.setdefault("a", out)
    )
    inputs = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))
    logits = module(inputs)
    handle.remove()
    score = logits[torch.arange(len(X)), torch.as_tensor(targets)].sum()
    (grads,) = torch.autograd.grad(score, captured["a"])
    return captured["a"].detach().double().numpy(), grads.double().numpy()


def eq19_on_hooks(module, layer, X, targets, relu):
    """Chattopadhay et al.'s Eq. 19 in numpy on hook-captured tensors.

    The same formula as the explainer's, typed again: it checks where and how
    the formula is applied, not the formula.
    """
    A, g = layer_maps(module, layer, X, targets)
    total = A.sum(axis=(2, 3), keepdims=True)
    denominator = 2 * g**2 + total * g**3
    safe = np.where(denominator != 0, denominator, 1.0)
    alpha = np.where(denominator != 0, g**2 / safe, 0.0)
    weights = (alpha * np.maximum(g, 0)).sum(axis=(2, 3), keepdims=True)
    cam = (weights * A).sum(axis=1, keepdims=True)
    if relu:
        cam = np.maximum(cam, 0)
    size = X.shape[1:3]
    return F.interpolate(torch.from_numpy(cam), size, mode="bilinear")[:, 0].numpy()


@pytest.mark.parametrize("relu", [True, False], ids=["relu", "signed"])
@pytest.mark.parametrize(
    "layer", [None, "features.block0.relu", "features.block1.pool"]
)
def test_layers_hooks_and_upsampling_apply_eq19(layer, relu, data, cnn):
    X, y = data
    explainer = GradCAMPlusPlusExplainer(FrozenEstimator(cnn), layer=layer, relu=relu)
    ours = explainer.fit(X).explain(X[:12], y[:12])
    expected = eq19_on_hooks(cnn.module_, explainer.layer_, X[:12], y[:12], relu)
    assert ours.shape == (12, 16, 16)
    scale = np.abs(expected).max()
    assert scale > 1e-3
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5 * scale)
    if relu:
        assert ours.min() >= 0


@pytest.mark.parametrize("relu", [True, False], ids=["relu", "signed"])
def test_closed_form_with_global_average_pooling_head(data, relu):
    # The independent check. pool_size=1: logit_c = sum_k W_ck mean(A_k) + b_c
    # at the last pooling layer, so g = dS/dA = W_ck / (h w) is constant over
    # the map and Eq. 19's alpha = g^2 / (2 g^2 + sum(A) g^3) is
    # 1 / (2 + W_ck mean A_k), hence w_k = sum alpha relu(g) =
    # relu(W_ck) / (2 + W_ck mean A_k) (the 1 / (h w) of g cancels against
    # the sum over the h w positions).
    X, y = data
    clf = small_cnn(module__pool_size=1).fit(X, y)
    layer = "features.block1.pool"
    explainer = GradCAMPlusPlusExplainer(FrozenEstimator(clf), layer=layer, relu=relu)
    ours = explainer.fit(X).explain(X[:8], y[:8])
    module = clf.module_.eval()
    inputs = torch.from_numpy(np.ascontiguousarray(X[:8].transpose(0, 3, 1, 2)))
    with torch.no_grad():
        A = module.features(inputs).double()
    W = module.classifier[2].weight.detach().double()[torch.as_tensor(y[:8])]
    weights = torch.relu(W) / (2 + W * A.mean(dim=(2, 3)))
    cam = (weights[:, :, None, None] * A).sum(1, keepdim=True)
    if relu:
        cam = torch.relu(cam)
    expected = F.interpolate(cam, (16, 16), mode="bilinear")[:, 0].numpy()
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-6)


def test_one_feature_map_equals_gradcam_up_to_scale(data):
    # With a single (non-negative) feature map both methods scale that map:
    # the normalized maps agree wherever Grad-CAM's mean gradient is > 0.
    X, y = data
    clf = small_cnn(module__n_filters=1, module__n_blocks=1).fit(X, y)
    kw = {"layer": "features.block0.relu", "relu": False}
    plus = GradCAMPlusPlusExplainer(FrozenEstimator(clf), **kw).fit(X)
    plain = GradCAMExplainer(FrozenEstimator(clf), **kw).fit(X)
    targets = np.zeros(20, dtype=int) + 3
    a, b = plus.explain(X[:20], targets), plain.explain(X[:20], targets)
    positive = b.reshape(20, -1).max(axis=1) > 0
    assert positive.sum() >= 3
    for pa, pb in zip(a[positive], b[positive], strict=True):
        np.testing.assert_allclose(pa / pa.max(), pb / pb.max(), atol=1e-5)


def test_differs_from_gradcam(data, cnn):
    X, y = data
    a = GradCAMPlusPlusExplainer(FrozenEstimator(cnn)).fit(X).explain(X[:5], y[:5])
    b = GradCAMExplainer(FrozenEstimator(cnn)).fit(X).explain(X[:5], y[:5])
    # Rectified maps can be all zero: compare the images where both are not.
    both = (a.max(axis=(1, 2)) > 0) & (b.max(axis=(1, 2)) > 0)
    assert both.sum() >= 2
    a, b = a[both], b[both]
    a, b = a / a.max(axis=(1, 2), keepdims=True), b / b.max(axis=(1, 2), keepdims=True)
    assert np.abs(a - b).max() > 1e-2


def test_deterministic_batch_independent_and_picklable(data, cnn):
    X, y = data
    explainer = GradCAMPlusPlusExplainer(FrozenEstimator(cnn), batch_size=1).fit(X)
    first = explainer.explain(X[:6], y[:6])
    np.testing.assert_array_equal(first, explainer.explain(X[:6], y[:6]))
    many = explainer.set_params(batch_size=64).explain(X[:6], y[:6])
    np.testing.assert_allclose(first, many, rtol=1e-4, atol=1e-6)
    restored = pickle.loads(pickle.dumps(explainer))
    np.testing.assert_allclose(restored.explain(X[:6], y[:6]), many, atol=1e-6)


def test_cnn_classifier_refit_and_pipeline(data):
    X, y = data
    X, y = X[:60], y[:60]
    refit = GradCAMPlusPlusExplainer(small_cnn(max_epochs=1)).fit(X, y)
    frozen = GradCAMPlusPlusExplainer(
        FrozenEstimator(small_cnn(max_epochs=1).fit(X, y))
    )
    np.testing.assert_allclose(
        refit.explain(X[:4], y[:4]), frozen.fit(X).explain(X[:4], y[:4]), atol=1e-6
    )
    steps = [("resize", ImageResizer(size=24)), ("normalize", ImageNormalizer())]
    pipe = Pipeline([*steps, ("cnn", small_cnn(max_epochs=1))]).fit(X, y)
    maps = GradCAMPlusPlusExplainer(FrozenEstimator(pipe)).fit(X).explain(X[:3])
    assert maps.shape == (3, 16, 16) and maps.dtype == np.float32
    assert np.all(np.isfinite(maps)) and maps.max() > 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bad_input(data, cnn):
    X, _ = data
    frozen = FrozenEstimator(cnn)
    with pytest.raises(ValueError, match=r"'features.block7' is not a layer of"):
        GradCAMPlusPlusExplainer(frozen, layer="features.block7").fit(X)
    with pytest.raises(ValueError, match=r"need \(n, K, h, w\) feature maps"):
        GradCAMPlusPlusExplainer(frozen, layer="classifier.2").fit(X)
    explainer = GradCAMPlusPlusExplainer(frozen).fit(X)
    nan = X[:2].copy()
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        explainer.explain(nan)
    with pytest.raises(ValueError, match=r"size 8x8, but .* size 16x16"):
        explainer.explain(X[:2, :8, :8])
    with pytest.raises(ValueError, match="'relu' parameter"):
        GradCAMPlusPlusExplainer(frozen, relu="yes").fit(X)
    with pytest.raises(NotFittedError):
        GradCAMPlusPlusExplainer(frozen).explain(X[:2])
    flat = X[:40].reshape(40, -1)
    model = FrozenEstimator(LogisticRegression(max_iter=5).fit(flat, np.arange(40) % 2))
    with pytest.raises(TypeError, match="must be torch-backed"):
        GradCAMPlusPlusExplainer(model, image_shape=(16, 16, 3)).fit(flat)
