"""ScoreCAMExplainer: a loop implementation of Wang et al., batching, API."""

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from sklearn_xai.attribution import ScoreCAMExplainer
from sklearn_xai.attribution._score_cam import _MaskedInputs
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import ImageNormalizer, ImageResizer


def small_cnn(**params):
    defaults = {"max_epochs": 2, "lr": 0.01, "module__n_filters": 4}
    return CNNClassifier(random_state=0, **{**defaults, **params})


@pytest.fixture(scope="module")
def data():
    X, y = load_digit_images(size=16, as_rgb=True, return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def cnn(data):
    return small_cnn().fit(*data)


def reference_score_cam(module, layer, image, target, score, relu):
    """Score-CAM of one image, one map at a time (Wang et al., Algorithm 1)."""
    module = copy.deepcopy(module).eval()
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    captured = []
    handle = module.get_submodule(layer).register_forward_hook(
        lambda _, __, out: captured.append(out)
    )
    with torch.no_grad():
        module(x)
    handle.remove()
    activations = captured[0][0].double()
    size = x.shape[2:]
    scores, kept = [], []
    with torch.no_grad():
        for k, a in enumerate(activations):
            if a.max() == a.min():
                continue  # a constant map locates nothing
            up = F.interpolate(a[None, None], size, mode="bilinear")[0, 0]
            mask = (up - up.min()) / (up.max() - up.min())
            logits = module((x * mask).float())[0].double()
            if score == "increase":
                baseline = module(torch.zeros_like(x))[0].double()
                scores.append(logits.softmax(0)[target] - baseline.softmax(0)[target])
            else:
                scores.append(logits[target])
            kept.append(k)
    weights = torch.zeros(len(activations), dtype=torch.float64)
    if kept:
        values = torch.stack(scores)
        weights[kept] = values.softmax(0) if score == "softmax" else values
    cam = (weights[:, None, None] * activations).sum(0)
    if relu:
        cam = cam.clamp(min=0)
    return F.interpolate(cam[None, None], size, mode="bilinear")[0, 0].numpy()


@pytest.mark.parametrize("relu", [True, False], ids=["relu", "signed"])
@pytest.mark.parametrize("score", ["softmax", "increase"])
@pytest.mark.parametrize("layer", [None, "features.block0.conv"])
def test_equals_loop_implementation(layer, score, relu, data, cnn):
    X, y = data
    explainer = ScoreCAMExplainer(
        FrozenEstimator(cnn), layer=layer, weighting=score, relu=relu, batch_size=7
    ).fit(X)
    ours = explainer.explain(X[:5], y[:5])
    expected = np.stack(
        [
            reference_score_cam(cnn.module_, explainer.layer_, x, t, score, relu)
            for x, t in zip(X[:5], y[:5], strict=True)
        ]
    )
    assert ours.shape == (5, 16, 16)
    scale = np.abs(expected).max()
    assert scale > 1e-3
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5 * scale)


def test_constant_maps_are_skipped(data, cnn):
    # Zero filters make every map of the first convolution constant: all
    # weights are 0 and the map is 0, not NaN.
    X, y = data
    dead = copy.deepcopy(cnn)
    with torch.no_grad():
        dead.module_.features.block0.conv.weight.zero_()
    for score in ("softmax", "increase"):
        explainer = ScoreCAMExplainer(
            FrozenEstimator(dead), layer="features.block0.conv", weighting=score
        )
        maps = explainer.fit(X).explain(X[:3], y[:3])
        np.testing.assert_array_equal(maps, 0)


def test_batch_size_determinism_and_pickle(data, cnn):
    X, y = data
    one = ScoreCAMExplainer(FrozenEstimator(cnn), batch_size=1).fit(X)
    first = one.explain(X[:4], y[:4])
    np.testing.assert_array_equal(first, one.explain(X[:4], y[:4]))
    many = ScoreCAMExplainer(FrozenEstimator(cnn), batch_size=256).fit(X)
    np.testing.assert_allclose(many.explain(X[:4], y[:4]), first, rtol=1e-4, atol=1e-6)
    restored = pickle.loads(pickle.dumps(one))
    np.testing.assert_allclose(restored.explain(X[:4], y[:4]), first, atol=1e-6)


def test_no_gradients_and_mode_restored(data, cnn):
    X, y = data
    module = cnn.module_
    module.train()
    grads = [p.grad for p in module.parameters()]
    ScoreCAMExplainer(FrozenEstimator(cnn)).fit(X).explain(X[:2], y[:2])
    assert module.training
    module.eval()
    assert [p.grad for p in module.parameters()] == grads


def test_cnn_classifier_refit_and_pipeline(data):
    X, y = data
    X, y = X[:60], y[:60]
    refit = ScoreCAMExplainer(small_cnn(max_epochs=1)).fit(X, y)
    frozen = ScoreCAMExplainer(FrozenEstimator(small_cnn(max_epochs=1).fit(X, y)))
    np.testing.assert_allclose(
        refit.explain(X[:3], y[:3]), frozen.fit(X).explain(X[:3], y[:3]), atol=1e-6
    )
    steps = [("resize", ImageResizer(size=24)), ("normalize", ImageNormalizer())]
    pipe = Pipeline([*steps, ("cnn", small_cnn(max_epochs=1))]).fit(X, y)
    maps = ScoreCAMExplainer(FrozenEstimator(pipe)).fit(X).explain(X[:3])
    assert maps.shape == (3, 16, 16) and maps.dtype == np.float32
    assert np.all(np.isfinite(maps)) and maps.max() > 0


def test_bad_input(data, cnn):
    X, _ = data
    frozen = FrozenEstimator(cnn)
    with pytest.raises(ValueError, match="'weighting' parameter"):
        ScoreCAMExplainer(frozen, weighting="logit").fit(X)
    with pytest.raises(ValueError, match="'batch_size' parameter"):
        ScoreCAMExplainer(frozen, batch_size=0).fit(X)
    with pytest.raises(ValueError, match=r"'features.block7' is not a layer of"):
        ScoreCAMExplainer(frozen, layer="features.block7").fit(X)
    with pytest.raises(ValueError, match=r"need \(n, K, h, w\) feature maps"):
        ScoreCAMExplainer(frozen, layer="classifier.2").fit(X)
    explainer = ScoreCAMExplainer(frozen).fit(X)
    nan = X[:2].copy()
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        explainer.explain(nan)
    with pytest.raises(ValueError, match=r"labels \[42\] that are not among"):
        explainer.explain(X[:2], target=[1, 42])
    with pytest.raises(NotFittedError):
        ScoreCAMExplainer(frozen).explain(X[:2])


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize(
    "layout, masks_dtype",
    [
        ("channels_last", torch.float32),
        ("contiguous", torch.float32),
        ("channels_last", torch.float64),
    ],
    ids=["channels-last", "contiguous", "other-dtype"],
)
def test_masked_inputs_equal_indexing_times_masks(channels, layout, masks_dtype):
    generator = torch.Generator().manual_seed(0)
    inputs = torch.rand(3, channels, 9, 7, generator=generator)
    if layout == "channels_last":
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    masked = _MaskedInputs(inputs, 5)
    for rows in ([2, 0, 0, 1, 2], [1, 1], [0]):
        i = torch.tensor(rows)
        masks = torch.rand(len(rows), 1, 9, 7, generator=generator, dtype=masks_dtype)
        expected = inputs[i] * masks
        got = masked(i, masks)
        assert got.dtype == expected.dtype and got.stride() == expected.stride()
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
