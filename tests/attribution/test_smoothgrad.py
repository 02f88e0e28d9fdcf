"""SmoothGradExplainer: agreement with captum's NoiseTunnel, seeds, API, errors."""

import pickle

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, NoiseTunnel, Saliency
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from torch import nn

from sklearn_xai.attribution import (
    CaptumExplainer,
    GradCAMExplainer,
    IntegratedGradientsExplainer,
    LimeExplainer,
    SaliencyExplainer,
    SmoothGradExplainer,
)
from sklearn_xai.attribution._smoothgrad import _standard_noise
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.feature_selection import SelectFromAttributions
from sklearn_xai.metrics import sparseness
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import ImageNormalizer, ImageResizer
from sklearn_xai.utils._attribution import reduce_channels
from sklearn_xai.utils._seeds import image_seeds

VARIANTS = ["smoothgrad", "smoothgrad_sq", "vargrad"]
REDUCTIONS = ["sum", "abs_sum", "l2", "max_abs"]
INNER = {
    "saliency": (SaliencyExplainer, {}),
    "integrated_gradients": (IntegratedGradientsExplainer, {"n_steps": 8}),
    "gradcam": (GradCAMExplainer, {}),
}


def inner(name, estimator, **params):
    cls, defaults = INNER[name]
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
def gray_data():
    X, y = load_digit_images(return_X_y=True)
    return X[:100], y[:100]


@pytest.fixture(scope="module")
def gray_cnn(gray_data):
    return small_cnn().fit(*gray_data)


def noise_tunnel(attribution, cnn, X, targets, *, variant, noise, **kwargs):
    """captum's NoiseTunnel on the network input, drawing the given noise.

    ``noise`` is ``(n * n_samples, C, H, W)``, image-major as captum's
    ``repeat_interleave`` lays the noisy copies out.
    """
    n_samples = len(noise) // len(X)

    def add_noise(input, stdev, nt_samples_partition):
        assert nt_samples_partition == n_samples
        return input.repeat_interleave(n_samples, dim=0) + torch.from_numpy(noise)

    module = cnn.module_.eval()
    inputs = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))
    tunnel = NoiseTunnel(attribution(module))
    # The raw class attribute (a staticmethod object): reading it through the
    # class would unwrap it, and restoring the bare function would then bind
    # it as a method, breaking NoiseTunnel for every later test.
    original = NoiseTunnel.__dict__["_add_noise_to_input"]
    NoiseTunnel._add_noise_to_input = staticmethod(add_noise)
    try:
        result = tunnel.attribute(
            inputs,
            nt_type=variant,
            nt_samples=n_samples,
            stdevs=1.0,  # unused: add_noise draws nothing
            target=torch.as_tensor(targets),
            **kwargs,
        )
    finally:
        NoiseTunnel._add_noise_to_input = original
    return result.detach().numpy()


def our_noise(seed, n_samples, X, noise_std):
    """The noise SmoothGradExplainer adds, channels first, image-major.

    Each image draws from its own seed, derived from ``seed`` and the image.
    """
    noise = np.concatenate(
        [
            _standard_noise(image_seed, n_samples, X.shape[1:]) * std
            for image_seed, std in zip(image_seeds(seed, X), noise_std, strict=True)
        ]
    ).astype(np.float32)
    return np.ascontiguousarray(noise.transpose(0, 3, 1, 2))


# -- reference: captum's NoiseTunnel ----------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_saliency_equals_captum_noise_tunnel(variant, reduction, data, cnn, frozen):
    # Same noise tensors: captum aggregates the per-channel gradients, we
    # reduce channels afterwards, as the explainer documents.
    X, y = data
    explainer = SmoothGradExplainer(
        SaliencyExplainer(frozen, channel_reduction=reduction),
        n_samples=6,
        noise_level=0.2,
        variant=variant,
        random_state=3,
    ).fit(X)
    ours, details = explainer.explain(X[:5], y[:5], return_details=True)
    span = X[:5].reshape(5, -1).max(axis=1) - X[:5].reshape(5, -1).min(axis=1)
    np.testing.assert_allclose(details.noise_std, 0.2 * span)
    noise = our_noise(3, 6, X[:5], details.noise_std)
    expected = noise_tunnel(
        Saliency, cnn, X[:5], y[:5], variant=variant, noise=noise, abs=False
    )
    expected = reduce_channels(expected, reduction)
    assert ours.shape == (5, 16, 16)
    assert ours.dtype == np.float32
    scale = np.abs(expected).max()
    assert scale > 1e-4
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6 * scale)


@pytest.mark.parametrize("variant", VARIANTS)
def test_integrated_gradients_equals_captum_noise_tunnel(variant, data, cnn, frozen):
    X, y = data
    explainer = SmoothGradExplainer(
        IntegratedGradientsExplainer(frozen, n_steps=8),
        n_samples=4,
        noise_level=0.1,
        variant=variant,
        random_state=7,
    ).fit(X)
    ours, details = explainer.explain(X[:4], y[:4], return_details=True)
    noise = our_noise(7, 4, X[:4], details.noise_std)
    expected = noise_tunnel(
        IntegratedGradients, cnn, X[:4], y[:4], variant=variant, noise=noise, n_steps=8
    )
    expected = reduce_channels(expected, "sum")
    scale = np.abs(expected).max()
    assert scale > 1e-4
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6 * scale)


@pytest.mark.parametrize("variant", VARIANTS)
def test_gray_images_equal_captum_with_default_saliency(variant, gray_data, gray_cnn):
    # One channel: the default max_abs reduction is |.|, so smoothgrad is
    # |E[g]| and the squared variants are captum's NoiseTunnel as is.
    X, y = gray_data
    explainer = SmoothGradExplainer(
        SaliencyExplainer(FrozenEstimator(gray_cnn)),
        n_samples=5,
        variant=variant,
        random_state=0,
    ).fit(X)
    ours, details = explainer.explain(X[:4], y[:4], return_details=True)
    noise = our_noise(0, 5, X[:4, :, :, np.newaxis], details.noise_std)
    expected = noise_tunnel(
        Saliency,
        gray_cnn,
        X[:4, :, :, np.newaxis],
        y[:4],
        variant=variant,
        noise=noise,
        abs=False,
    )[:, 0]
    if variant == "smoothgrad":
        expected = np.abs(expected)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6 * scale)


@pytest.mark.parametrize("name", ["saliency", "gradcam"])
def test_smoothgrad_is_the_mean_of_the_inner_maps(name, data, frozen):
    # For a linear channel reduction (sum) and Grad-CAM (one channel),
    # SmoothGrad is the inner explainer's maps of the noisy copies, averaged.
    X, y = data
    params = {"channel_reduction": "sum"} if name == "saliency" else {}
    base = inner(name, frozen, **params)
    explainer = SmoothGradExplainer(base, n_samples=5, random_state=11).fit(X)
    ours, details = explainer.explain(X[:3], y[:3], return_details=True)
    fitted = clone(base).fit(X)
    expected = [
        fitted.explain(
            image + (_standard_noise(seed, 5, X.shape[1:]) * std).astype(np.float32),
            [label] * 5,
        ).mean(axis=0)
        for image, label, std, seed in zip(
            X[:3], y[:3], details.noise_std, image_seeds(11, X[:3]), strict=True
        )
    ]
    np.testing.assert_allclose(ours, np.stack(expected), rtol=1e-5, atol=1e-7)


# -- closed forms -----------------------------------------------------------


@pytest.mark.parametrize("name", list(INNER))
def test_one_sample_without_noise_is_the_inner_explainer(name, data, frozen):
    X, y = data
    base = inner(name, frozen)
    expected = clone(base).fit(X).explain(X[:4], y[:4])
    for variant in VARIANTS:
        explainer = SmoothGradExplainer(
            base, n_samples=1, noise_level=0.0, variant=variant
        ).fit(X)
        ours = explainer.explain(X[:4], y[:4])
        if variant == "smoothgrad":
            np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-8)
        elif variant == "vargrad":
            np.testing.assert_array_equal(ours, 0.0)
        elif name != "integrated_gradients":
            # max_abs of squares is the square of max_abs (saliency); one
            # channel (Grad-CAM) squares.
            np.testing.assert_allclose(ours, expected**2, rtol=1e-5, atol=1e-10)


class LinearNet(nn.Module):
    """Logits linear in the pixels: gradients do not depend on the input."""

    def __init__(self, in_channels=3, n_classes=10):
        super().__init__()
        self.linear = nn.Linear(in_channels * 16 * 16, n_classes)

    def forward(self, x):
        return self.linear(x.flatten(1))


@pytest.fixture(scope="module")
def linear(data):
    X, y = data
    return CNNClassifier(LinearNet, max_epochs=2, random_state=0).fit(X, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_linear_model_closed_form(reduction, data, linear):
    # Constant gradients w_c: smoothgrad = r(w), smoothgrad_sq = r(w^2),
    # vargrad = 0 whatever the noise.
    X, y = data
    weights = linear.module_.linear.weight.detach().numpy().reshape(10, 3, 16, 16)
    w = weights[y[:4]]
    results = {
        variant: SmoothGradExplainer(
            SaliencyExplainer(FrozenEstimator(linear), channel_reduction=reduction),
            n_samples=7,
            noise_level=0.5,
            variant=variant,
            random_state=0,
        )
        .fit(X)
        .explain(X[:4], y[:4])
        for variant in VARIANTS
    }
    np.testing.assert_allclose(
        results["smoothgrad"], reduce_channels(w, reduction), rtol=1e-5, atol=1e-8
    )
    np.testing.assert_allclose(
        results["smoothgrad_sq"],
        reduce_channels(w * w, reduction),
        rtol=1e-5,
        atol=1e-10,
    )
    np.testing.assert_allclose(results["vargrad"], 0.0, atol=1e-10)


# -- seeds and batches ------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_random_state(variant, data, frozen):
    X, y = data

    def explain(random_state):
        explainer = SmoothGradExplainer(
            SaliencyExplainer(frozen),
            n_samples=4,
            variant=variant,
            random_state=random_state,
        )
        return explainer.fit(X).explain(X[:3], y[:3])

    np.testing.assert_array_equal(explain(0), explain(0))
    assert not np.allclose(explain(0), explain(1))
    unseeded = SmoothGradExplainer(SaliencyExplainer(frozen), n_samples=4).fit(X)
    assert not np.allclose(unseeded.explain(X[:3], y[:3]), unseeded.explain(X[:3]))
    rng = np.random.RandomState(0)
    first = explain(rng)
    assert not np.allclose(first, explain(rng))


@pytest.mark.parametrize("name", list(INNER))
def test_batch_size_and_other_images_do_not_change_results(name, data, frozen):
    X, y = data
    base = SmoothGradExplainer(
        inner(name, frozen), n_samples=5, variant="smoothgrad_sq", random_state=0
    )
    one = clone(base).set_params(explainer__batch_size=4).fit(X)
    many = clone(base).set_params(explainer__batch_size=12).fit(X)
    expected = one.explain(X[:5], y[:5])
    np.testing.assert_allclose(
        many.explain(X[:5], y[:5]), expected, rtol=1e-4, atol=1e-7
    )
    # An image's explanation depends on the image and the seed only.
    np.testing.assert_allclose(
        many.explain(X[3:5], y[3:5]), expected[3:], rtol=1e-4, atol=1e-7
    )


@pytest.mark.parametrize(
    "n_samples, batch_size, rows",
    [(3, 8, [6, 3]), (5, 2, [2, 2, 1] * 3)],
    ids=["images-per-batch", "batches-per-image"],
)
def test_noisy_copies_go_through_the_inner_batch_loop(
    n_samples, batch_size, rows, data, frozen, monkeypatch
):
    # The inner explainer's own loop runs the noisy copies: at most
    # batch_size rows per network call, whole images per call when they fit.
    X, y = data
    seen = []
    loop = SaliencyExplainer._attribute_batches

    def spy(self, model, images, targets, **kwargs):
        for attributions, extra in loop(self, model, images, targets, **kwargs):
            seen.append(len(attributions))
            yield attributions, extra

    explainer = SmoothGradExplainer(
        SaliencyExplainer(frozen, batch_size=batch_size),
        n_samples=n_samples,
        random_state=0,
    ).fit(X)
    expected = explainer.explain(X[:3], y[:3])
    monkeypatch.setattr(SaliencyExplainer, "_attribute_batches", spy)
    np.testing.assert_array_equal(explainer.explain(X[:3], y[:3]), expected)
    assert seen == rows


def test_over_captum_explainer(data, frozen):
    # A CaptumExplainer inside: its Saliency equals the library's, and a
    # random method is seeded (reproducible, global generators untouched).
    X, y = data
    ours = SmoothGradExplainer(
        SaliencyExplainer(frozen, channel_reduction="sum"), n_samples=4, random_state=1
    ).fit(X)
    bridged = SmoothGradExplainer(
        CaptumExplainer(frozen, method="Saliency", attribute_params={"abs": False}),
        n_samples=4,
        random_state=1,
    ).fit(X)
    np.testing.assert_allclose(
        bridged.explain(X[:3], y[:3]), ours.explain(X[:3], y[:3]), atol=1e-6
    )
    shap = SmoothGradExplainer(
        CaptumExplainer(
            frozen,
            method="GradientShap",
            attribute_params={"n_samples": 2, "stdevs": 0.1},
            random_state=0,
        ),
        n_samples=3,
        random_state=1,
    ).fit(X)
    numpy_state, torch_state = np.random.get_state(), torch.get_rng_state()  # noqa: NPY002
    first = shap.explain(X[:2], y[:2])
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state[1])  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(shap.explain(X[:2], y[:2]), first)


def test_per_image_arrays_of_an_inner_captum_explainer_raise(data, frozen):
    X, y = data
    baselines = np.zeros((3, 3, 16, 16))
    explainer = SmoothGradExplainer(
        CaptumExplainer(
            frozen,
            method="IntegratedGradients",
            attribute_params={"baselines": baselines, "n_steps": 2},
        ),
        n_samples=2,
    ).fit(X)
    with pytest.raises(ValueError, match="one row per explained image"):
        explainer.explain(X[:3], y[:3])


# -- fitting, parameters, composition -----------------------------------


def test_fit_clones_the_inner_explainer(data, cnn, frozen):
    X, y = data
    X, y = X[:60], y[:60]
    base = SaliencyExplainer(frozen)
    explainer = SmoothGradExplainer(base, n_samples=2).fit(X)
    assert explainer.explainer_ is not base
    assert not hasattr(base, "estimator_")
    assert explainer.estimator_ is frozen
    assert explainer.estimator_.estimator is cnn
    np.testing.assert_array_equal(explainer.classes_, cnn.classes_)

    refit = SmoothGradExplainer(
        SaliencyExplainer(small_cnn(max_epochs=1)), n_samples=2, random_state=0
    ).fit(X, y)
    assert refit.estimator_ is refit.explainer_.estimator_
    fitted = small_cnn(max_epochs=1).fit(X, y)
    same = SmoothGradExplainer(
        SaliencyExplainer(FrozenEstimator(fitted)), n_samples=2, random_state=0
    ).fit(X)
    np.testing.assert_allclose(
        refit.explain(X[:3], y[:3]), same.explain(X[:3], y[:3]), atol=1e-6
    )
    with pytest.raises(ValueError, match="requires y to be passed"):
        SmoothGradExplainer(SaliencyExplainer(small_cnn())).fit(X)


def test_explains_the_predicted_class_by_default(data, frozen, cnn):
    X, _ = data
    explainer = SmoothGradExplainer(
        SaliencyExplainer(frozen), n_samples=3, random_state=0
    ).fit(X)
    attributions, details = explainer.explain(X[:4], return_details=True)
    predicted = cnn.predict(X[:4])
    np.testing.assert_array_equal(details.targets, predicted)
    np.testing.assert_array_equal(attributions, explainer.explain(X[:4], predicted))


def test_nested_params_and_grid_search(data, frozen):
    X, y = data
    explainer = SmoothGradExplainer(
        IntegratedGradientsExplainer(small_cnn(), n_steps=4), n_samples=3
    )
    params = explainer.get_params(deep=True)
    assert params["explainer__n_steps"] == 4
    assert params["explainer__estimator__max_epochs"] == 2
    cloned = clone(explainer)
    assert cloned.explainer is not explainer.explainer
    assert cloned.get_params()["explainer__n_steps"] == 4
    explainer.set_params(explainer__n_steps=6, explainer__estimator__max_epochs=3)
    assert explainer.explainer.n_steps == 6
    assert explainer.explainer.estimator.max_epochs == 3

    def completeness_gap(estimator, X, y):
        # More integration steps -> a smaller gap to the exact integral,
        # scored here through the noise-free, one-sample path.
        _, details = estimator.explainer_.explain(X, y, return_details=True)
        return -float(np.abs(details.delta).mean())

    search = GridSearchCV(
        SmoothGradExplainer(
            IntegratedGradientsExplainer(frozen, method="riemann_left"),
            n_samples=2,
            random_state=0,
        ),
        {"explainer__n_steps": [2, 32]},
        scoring=completeness_gap,
        cv=2,
    ).fit(X[:8], y[:8])
    assert search.best_params_ == {"explainer__n_steps": 32}
    assert search.best_estimator_.explainer_.n_steps == 32


def test_gray_flattened_and_uint8_images(gray_data, gray_cnn):
    X, y = gray_data
    base = SaliencyExplainer(FrozenEstimator(gray_cnn))
    gray = SmoothGradExplainer(base, n_samples=3, random_state=0).fit(X)
    expected = gray.explain(X[:3], y[:3])
    assert expected.shape == (3, 8, 8)
    flat = SmoothGradExplainer(base, n_samples=3, random_state=0, image_shape=(8, 8))
    flat.fit(X.reshape(100, -1))
    assert flat.explainer_.image_shape == (8, 8)
    assert base.image_shape is None
    np.testing.assert_allclose(
        flat.explain(X[:3].reshape(3, -1), y[:3]), expected, atol=1e-6
    )
    # uint8 images of an explainer fitted on [0, 1] floats are read divided by
    # 255 (the library's intensity rule): noise and maps are the float ones.
    images = np.round(X[:3] * 255).astype(np.uint8)
    attributions, details = gray.explain(images, y[:3], return_details=True)
    assert attributions.dtype == np.float32 and np.all(np.isfinite(attributions))
    floats, float_details = gray.explain(images / 255.0, y[:3], return_details=True)
    np.testing.assert_allclose(details.noise_std, float_details.noise_std)
    np.testing.assert_allclose(attributions, floats, rtol=1e-5, atol=1e-7)


def test_pipeline_selector_metric_and_pickle(data):
    X, y = data
    pipe = Pipeline(
        [
            ("resize", ImageResizer(size=24)),
            ("normalize", ImageNormalizer()),
            ("cnn", small_cnn()),
        ]
    ).fit(X, y)
    explainer = SmoothGradExplainer(
        SaliencyExplainer(FrozenEstimator(pipe)),
        n_samples=3,
        variant="vargrad",
        random_state=0,
    ).fit(X)
    attributions = explainer.explain(X[:4])
    assert attributions.shape == (4, 16, 16)
    assert np.all(attributions >= 0) and attributions.max() > 0
    assert sparseness(attributions).shape == (4,)
    assert explainer.transform(X[:4]).shape == (4, 256)
    restored = pickle.loads(pickle.dumps(explainer))
    np.testing.assert_allclose(restored.explain(X[:4]), attributions, atol=1e-6)
    selector = SelectFromAttributions(explainer, max_features=20).fit(X[:20], y[:20])
    assert selector.transform(X[:2]).shape == (2, 20 * 3)


def test_eval_mode_restored_and_progress_bar(data, cnn, capsys):
    X, y = data
    explainer = SmoothGradExplainer(
        SaliencyExplainer(FrozenEstimator(cnn)), n_samples=2, verbose=1
    ).fit(X)
    cnn.module_.train()
    try:
        explainer.explain(X[:2], y[:2])
        assert cnn.module_.training
    finally:
        cnn.module_.eval()
    assert "SmoothGradExplainer" in capsys.readouterr().err


# -- bad input --------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_samples": 0}, r"'n_samples' parameter .* range \[1, inf\)"),
        ({"n_samples": 2.5}, r"'n_samples' parameter .* int"),
        ({"noise_level": -0.1}, r"'noise_level' parameter .* range \[0.0, inf\)"),
        ({"noise_level": "high"}, r"'noise_level' parameter"),
        ({"variant": "smoothgrad2"}, r"'variant' parameter .*'vargrad'"),
        ({"random_state": "seed"}, r"'random_state' parameter"),
    ],
    ids=[
        "n_samples_0",
        "n_samples_float",
        "noise_negative",
        "noise_str",
        "variant",
        "random_state",
    ],
)
def test_bad_parameters(params, match, data, frozen):
    explainer = SmoothGradExplainer(SaliencyExplainer(frozen), **params)
    with pytest.raises(ValueError, match=match):
        explainer.fit(data[0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bad_explainers(data, frozen):
    X, y = data
    lime = LimeExplainer(frozen)
    with pytest.raises(TypeError, match=r"got LimeExplainer.* no gradient to smooth"):
        SmoothGradExplainer(lime).fit(X)
    # A model instead of an explainer: the parameter check names it.
    with pytest.raises(TypeError, match=r"'explainer' parameter .* 'explain'"):
        SmoothGradExplainer(frozen).fit(X)
    # A gradient explainer of a model without a network.
    flat = X[:40].reshape(40, -1)
    model = LogisticRegression(max_iter=20).fit(flat, y[:40])
    explainer = SmoothGradExplainer(
        SaliencyExplainer(FrozenEstimator(model), image_shape=(16, 16, 3))
    )
    with pytest.raises(TypeError, match="must be torch-backed"):
        explainer.fit(flat)
    with pytest.raises(ValueError, match=r"image_shape=\(8, 8\) differs"):
        SmoothGradExplainer(
            SaliencyExplainer(frozen, image_shape=(16, 16, 3)), image_shape=(8, 8)
        ).fit(flat)


def test_bad_images_and_unfitted(data, frozen):
    X, _ = data
    explainer = SmoothGradExplainer(SaliencyExplainer(frozen), n_samples=2)
    with pytest.raises(NotFittedError):
        explainer.explain(X[:2])
    explainer.fit(X)
    with pytest.raises(ValueError, match=r"size 8x8, but .* size 16x16"):
        explainer.explain(X[:2, :8, :8])
    nan = X[:2].copy()
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        explainer.explain(nan)
    with pytest.raises(ValueError, match=r"labels \[42\] that are not among"):
        explainer.explain(X[:2], target=[1, 42])
