"""What every gradient explainer shares: models, pipelines, errors, hooks, API."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from torch import nn

from sklearn_xai.attribution import (
    CaptumExplainer,
    GradCAMExplainer,
    GradCAMPlusPlusExplainer,
    IntegratedGradientsExplainer,
    SaliencyExplainer,
    ScoreCAMExplainer,
)
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier, load_model, save_model
from sklearn_xai.preprocessing import ImageNormalizer, ImageResizer

EXPLAINERS = {
    "saliency": (SaliencyExplainer, {}),
    "integrated_gradients": (IntegratedGradientsExplainer, {"n_steps": 16}),
    "gradcam": (GradCAMExplainer, {}),
    "gradcam_plus_plus": (GradCAMPlusPlusExplainer, {}),
    "score_cam": (ScoreCAMExplainer, {}),
    "captum_deeplift": (CaptumExplainer, {"method": "DeepLift"}),
}
METHODS = list(EXPLAINERS)

# captum's notice that DeepLift hooks the ReLUs (and removes the hooks after).
pytestmark = pytest.mark.filterwarnings("ignore:Setting forward, backward hooks")


def make(name, estimator, **params):
    cls, defaults = EXPLAINERS[name]
    return cls(estimator, **{**defaults, **params})


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


@pytest.fixture(scope="module")
def frozen(cnn):
    return FrozenEstimator(cnn)


@pytest.fixture(scope="module")
def resize_pipe(data):
    steps = [("resize", ImageResizer(size=24)), ("normalize", ImageNormalizer())]
    return Pipeline([*steps, ("cnn", small_cnn())]).fit(*data)


@pytest.fixture(scope="module")
def normalize_pipe(data):
    return Pipeline([("normalize", ImageNormalizer()), ("cnn", small_cnn())]).fit(*data)


@pytest.fixture(scope="module")
def string_cnn(data):
    X, y = data
    return small_cnn().fit(X, np.array([f"digit{d}" for d in range(10)])[y])


@pytest.fixture(scope="module")
def gray_data():
    X, y = load_digit_images(return_X_y=True)
    return X[:100], y[:100]


@pytest.fixture(scope="module")
def gray_cnn(gray_data):
    return small_cnn().fit(*gray_data)


class FlakyNet(nn.Module):
    """A tiny network that records its mode and raises when told to."""

    def __init__(self, in_channels=3, n_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.head = nn.Sequential(
            nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, n_classes)
        )
        self.fail = False
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        x = self.conv(x)
        if self.fail:
            raise RuntimeError("forward failed on purpose")
        return self.head(x)


HOOK_DICTS = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_backward_hooks",
    "_backward_pre_hooks",
)


def assert_no_hooks(module):
    for name, submodule in module.named_modules():
        for attribute in HOOK_DICTS:
            hooks = getattr(submodule, attribute, {})
            assert not hooks, (name or "<root>", attribute)


# -- models -----------------------------------------------------------------


def test_refit_clone_equals_frozen_model(data):
    # A CNNClassifier alone is cloned and fitted; an int random_state makes
    # the refit network identical to the same classifier fitted outside.
    X, y = data
    X, y = X[:60], y[:60]
    fitted = small_cnn(max_epochs=1).fit(X, y)
    for name in METHODS:
        refit = make(name, small_cnn(max_epochs=1)).fit(X, y)
        assert refit.estimator_ is not refit.estimator
        frozen = make(name, FrozenEstimator(fitted)).fit(X)
        assert frozen.estimator_.estimator is fitted
        np.testing.assert_allclose(
            refit.explain(X[:4], y[:4]), frozen.explain(X[:4], y[:4]), atol=1e-6
        )


@pytest.mark.parametrize("name", METHODS)
def test_pipeline_maps_back_to_input_size(name, data, resize_pipe):
    X, y = data
    explainer = make(name, FrozenEstimator(resize_pipe)).fit(X)
    attributions = explainer.explain(X[:5], y[:5])
    assert attributions.shape == (5, 16, 16)
    assert attributions.dtype == np.float32
    assert np.all(np.isfinite(attributions))
    assert np.abs(attributions).max() > 0


@pytest.mark.parametrize("name", METHODS)
def test_pipeline_equals_network_on_preprocessed_images(name, data, normalize_pipe):
    # Without resizing, explaining the pipeline is explaining its network on
    # the preprocessed images.
    X, y = data
    pipe = normalize_pipe
    ours = make(name, FrozenEstimator(pipe)).fit(X).explain(X[:5], y[:5])
    Xt = pipe[:-1].transform(X)
    direct = make(name, FrozenEstimator(pipe[-1])).fit(Xt).explain(Xt[:5], y[:5])
    np.testing.assert_allclose(ours, direct, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", METHODS)
def test_pipeline_step_before_kmeans(name, data, frozen):
    X, _ = data
    pipe = Pipeline(
        [
            ("explain", make(name, frozen)),
            ("kmeans", KMeans(2, n_init=2, random_state=0)),
        ]
    ).fit(X[:12])
    assert pipe.predict(X[12:15]).shape == (3,)
    assert pipe[0].transform(X[:3]).shape == (3, 16 * 16)


@pytest.mark.parametrize("name", METHODS)
def test_gray_and_flattened_images(name, gray_data, gray_cnn):
    X, _ = gray_data
    clf = gray_cnn
    gray = make(name, FrozenEstimator(clf)).fit(X).explain(X[:3])
    assert gray.shape == (3, 8, 8)
    flat = make(name, FrozenEstimator(clf), image_shape=(8, 8))
    flat.fit(X.reshape(100, -1))
    np.testing.assert_allclose(flat.explain(X[:3].reshape(3, -1)), gray, atol=1e-6)


# -- hooks and modes --------------------------------------------------------


@pytest.mark.parametrize("name", METHODS)
def test_hooks_removed_and_mode_restored_when_the_model_raises(name, data):
    X, y = data
    clf = CNNClassifier(FlakyNet, max_epochs=1, random_state=0).fit(X[:50], y[:50])
    explainer = make(name, FrozenEstimator(clf)).fit(X[:50])
    module = clf.module_
    module.train()
    module.fail = True
    with pytest.raises(RuntimeError, match="on purpose"):
        explainer.explain(X[:4], y[:4])
    assert_no_hooks(module)
    assert module.training

    module.fail = False
    module.modes.clear()
    grads = [None if p.grad is None else p.grad.clone() for p in module.parameters()]
    explainer.explain(X[:4], y[:4])
    assert module.modes and not any(module.modes)  # eval mode while computing
    assert module.training
    assert_no_hooks(module)
    # Only the input is differentiated: parameter gradients are untouched.
    for before, parameter in zip(grads, module.parameters(), strict=True):
        if before is None:
            assert parameter.grad is None
        else:
            assert torch.equal(before, parameter.grad)


# -- bad input --------------------------------------------------------------


@pytest.mark.parametrize("name", METHODS)
def test_bad_images(name, data, frozen):
    X, _ = data
    explainer = make(name, frozen).fit(X)
    with pytest.raises(ValueError, match=r"size 8x8, but .* size 16x16"):
        explainer.explain(X[:2, :8, :8])
    nan = X[:2].copy()
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        explainer.explain(nan)
    with pytest.raises(ValueError, match=r"labels \[42\] that are not among"):
        explainer.explain(X[:2], target=[1, 42])


@pytest.mark.parametrize("name", METHODS)
def test_unfitted(name, frozen, data):
    with pytest.raises(NotFittedError):
        make(name, frozen).explain(data[0][:2])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", METHODS)
def test_non_torch_model(name, data):
    X, y = data
    flat = X[:40].reshape(40, -1)
    model = LogisticRegression(max_iter=20).fit(flat, y[:40])
    explainer = make(name, FrozenEstimator(model), image_shape=(16, 16, 3))
    with pytest.raises(TypeError, match="must be torch-backed"):
        explainer.fit(flat)


@pytest.mark.parametrize("name", ["saliency", "integrated_gradients"])
def test_bad_channel_reduction(name, data, frozen):
    explainer = make(name, frozen, channel_reduction="mean")
    with pytest.raises(ValueError, match="'channel_reduction' parameter"):
        explainer.fit(data[0])


# -- API --------------------------------------------------------------------


@pytest.mark.parametrize("name", METHODS)
def test_batch_size_does_not_change_results(name, data, frozen):
    X, y = data
    one = make(name, frozen, batch_size=1).fit(X).explain(X[:5], y[:5])
    many = make(name, frozen, batch_size=64).fit(X).explain(X[:5], y[:5])
    np.testing.assert_allclose(one, many, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", METHODS)
def test_one_batch_loop_feeds_the_network(name, data, frozen):
    # Every explainer's batches come from _attribute_batches: in order,
    # batch_size images each, on the network's device.
    X, y = data
    explainer = make(name, frozen, batch_size=3).fit(X)
    images = X[:7].astype(np.float32)
    calls = []

    def attribute(model, inputs, targets, batch, span):
        calls.append((span, len(inputs), targets.tolist()))
        return explainer._attribute(model, inputs, targets, batch)

    maps, _ = explainer._explain_batches(images, y[:7], attribute=attribute)
    assert calls == [
        (slice(0, 3), 3, y[0:3].tolist()),
        (slice(3, 6), 3, y[3:6].tolist()),
        (slice(6, 7), 1, y[6:7].tolist()),
    ]
    np.testing.assert_allclose(maps, explainer.explain(images, y[:7]), atol=1e-6)


@pytest.mark.parametrize("name", METHODS)
def test_clone_and_nested_params(name, frozen):
    explainer = make(name, small_cnn(), batch_size=5)
    params = explainer.get_params(deep=True)
    assert params["estimator__max_epochs"] == 2
    assert params["batch_size"] == 5
    cloned = clone(explainer)
    assert cloned.get_params()["batch_size"] == 5
    assert cloned.estimator is not explainer.estimator
    explainer.set_params(estimator__max_epochs=3)
    assert explainer.estimator.max_epochs == 3


@pytest.mark.parametrize("name", METHODS)
def test_pickle_and_determinism(name, data, frozen):
    X, _ = data
    explainer = make(name, frozen).fit(X)
    first = explainer.explain(X[:5])
    np.testing.assert_array_equal(first, explainer.explain(X[:5]))
    np.testing.assert_array_equal(
        first, explainer.explain(X[:5], frozen.predict(X[:5]))
    )
    restored = pickle.loads(pickle.dumps(explainer))
    np.testing.assert_allclose(restored.explain(X[:5]), first, atol=1e-6)


@pytest.mark.parametrize("name", METHODS)
def test_details_and_progress_bar(name, data, frozen, capsys):
    X, y = data
    explainer = make(name, frozen, verbose=1).fit(X)
    attributions, details = explainer.explain(X[:3], y[:3], return_details=True)
    assert attributions.shape == (3, 16, 16)
    np.testing.assert_array_equal(details.targets, y[:3])
    assert type(explainer).__name__ in capsys.readouterr().err


@pytest.mark.parametrize("name", METHODS)
def test_string_labels(name, data, string_cnn, frozen):
    X, _ = data
    explainer = make(name, FrozenEstimator(string_cnn)).fit(X)
    _, details = explainer.explain(X[:2], "digit3", return_details=True)
    assert details.targets.tolist() == ["digit3", "digit3"]
    # The same training (labels sort alike) gives the same network.
    numeric = make(name, frozen).fit(X)
    np.testing.assert_allclose(
        explainer.explain(X[:2], "digit3"), numeric.explain(X[:2], 3), atol=1e-6
    )


# -- GPU --------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("name", METHODS)
def test_cuda_matches_cpu(name, data, cnn, tmp_path):
    X, y = data
    path = tmp_path / "cnn.safetensors"
    save_model(cnn, path)
    gpu = load_model(path, device="cuda")
    assert str(next(gpu.module_.parameters()).device).startswith("cuda")
    on_cpu = make(name, FrozenEstimator(cnn)).fit(X).explain(X[:8], y[:8])
    # TF32 convolutions (cuDNN's default on Ampere and later) round to 10-bit
    # mantissas: compare full float32 arithmetic.
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        on_gpu = make(name, FrozenEstimator(gpu)).fit(X).explain(X[:8], y[:8])
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
    scale = np.abs(on_cpu).max()
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-4, atol=1e-5 * scale)
