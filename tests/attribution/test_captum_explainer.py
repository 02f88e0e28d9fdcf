"""CaptumExplainer: equal to captum called directly, exact Shapley values, API."""

import copy
import itertools
import math

import captum.attr
import joblib
import numpy as np
import pytest
import torch
from captum.attr import LayerAttribution
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from torch import nn

from sklearn_xai.attribution import CaptumExplainer
from sklearn_xai.attribution._captum import SUPPORTED_METHODS
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier, load_model, save_model
from sklearn_xai.preprocessing import ImageNormalizer, ImageResizer
from sklearn_xai.utils._seeds import image_seeds

pytestmark = pytest.mark.filterwarnings(
    "ignore:Input Tensor 0 did not already require gradients",
    "ignore:Setting forward, backward hooks",
    "ignore:Setting backward hooks",
    "ignore:You are providing multiple inputs",
)

QUADRANTS = (np.arange(16)[:, None] // 8 * 2 + np.arange(16)[None] // 8)[None, None]
SEED = 3


def small_cnn(**params):
    defaults = {"max_epochs": 2, "lr": 0.01, "module__n_filters": 4}
    return CNNClassifier(random_state=0, **{**defaults, **params})


class FlatNet(nn.Module):
    """A network captum's LRP handles: it flattens in forward, not in a module."""

    def __init__(self, in_channels=3, n_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.linear = nn.Linear(16, n_classes)

    def forward(self, x):
        return self.linear(self.pool(self.relu(self.conv(x))).flatten(1))


@pytest.fixture(scope="module")
def data():
    X, y = load_digit_images(size=16, as_rgb=True, return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def cnn(data):
    return small_cnn().fit(*data)


@pytest.fixture(scope="module")
def flat_cnn(data):
    return CNNClassifier(FlatNet, max_epochs=2, lr=0.01, random_state=0).fit(*data)


def tensor(X):
    return torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))


# (method, method_params, attribute_params, layer, stochastic)
CASES = {
    "Saliency": ({}, {}, None),
    "InputXGradient": ({}, {}, None),
    "IntegratedGradients": ({}, {"n_steps": 16}, None),
    "DeepLift": ({}, {}, None),
    "DeepLift-no-multiply": ({"multiply_by_inputs": False}, {}, None),
    "GuidedBackprop": ({}, {}, None),
    "Deconvolution": ({}, {}, None),
    "GuidedGradCam": ({}, {}, "features.block1.conv"),
    "LayerGradCam": ({}, {}, "features.block0.conv"),
    "LayerGradientXActivation": ({}, {}, "features.block1.conv"),
    "FeatureAblation": ({}, {"feature_mask": QUADRANTS}, None),
    "Occlusion": ({}, {"sliding_window_shapes": (3, 4, 4), "strides": 2}, None),
    "ShapleyValueSampling": ({}, {"feature_mask": QUADRANTS, "n_samples": 3}, None),
    "GradientShap": ({}, {"baselines": np.zeros((2, 3, 16, 16)), "n_samples": 4}, None),
}


def captum_direct(module, name, method_params, attribute_params, layer, X, targets):
    """What a user writes with captum alone, reduced by a channel sum."""
    cls = getattr(captum.attr, name)
    module = module.eval()
    args = [module] + ([module.get_submodule(layer)] if layer else [])
    method = cls(*args, **method_params)
    kwargs = {
        k: torch.as_tensor(v.astype(np.float32) if v.dtype.kind == "f" else v)
        if isinstance(v, np.ndarray)
        else v
        for k, v in attribute_params.items()
    }
    inputs = tensor(X)
    if name in ("ShapleyValueSampling", "GradientShap"):
        # Random methods: one image at a time, torch seeded before each with
        # the image's seed (from SEED and the image's content).
        out = []
        for i, seed in enumerate(image_seeds(SEED, X)):
            torch.manual_seed(seed)
            np.random.seed(seed)  # noqa: NPY002
            out.append(
                method.attribute(inputs[i : i + 1], target=int(targets[i]), **kwargs)
            )
        result = torch.cat(out)
    else:
        result = method.attribute(inputs, target=torch.as_tensor(targets), **kwargs)
    if isinstance(method, LayerAttribution):
        result = LayerAttribution.interpolate(result, X.shape[1:3], "bilinear")
    return result.sum(dim=1).detach().numpy()


@pytest.mark.parametrize("case", sorted(CASES))
def test_equals_captum(case, data, cnn):
    X, y = data
    name = case.split("-")[0]
    method_params, attribute_params, layer = CASES[case]
    explainer = CaptumExplainer(
        FrozenEstimator(cnn),
        method=name,
        method_params=method_params,
        attribute_params=attribute_params,
        layer=layer,
        random_state=SEED,
        # One batch: captum 0.9's DeepLift(multiply_by_inputs=False) depends
        # on the batch it is computed with.
        batch_size=8,
    ).fit(X)
    ours = explainer.explain(X[:6], y[:6])
    expected = captum_direct(
        copy.deepcopy(cnn.module_), name, method_params, attribute_params,
        layer, X[:6], y[:6],
    )  # fmt: skip
    assert ours.shape == (6, 16, 16) and ours.dtype == np.float32
    scale = np.abs(expected).max()
    assert scale > 1e-4
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5 * scale)


def test_lrp_on_a_network_without_flatten_module(data, flat_cnn):
    X, y = data
    ours = CaptumExplainer(FrozenEstimator(flat_cnn), method="LRP").fit(X)
    expected = captum_direct(
        copy.deepcopy(flat_cnn.module_), "LRP", {}, {}, None, X[:4], y[:4]
    )
    np.testing.assert_allclose(
        ours.explain(X[:4], y[:4]), expected, rtol=1e-4, atol=1e-6
    )


def test_lrp_on_small_cnn_raises_captums_error(data, cnn):
    # captum's LRP has no rule for torch.nn.Flatten, which SmallCNN uses.
    explainer = CaptumExplainer(FrozenEstimator(cnn), method="LRP").fit(data[0])
    with pytest.raises(TypeError, match="Flatten"):
        explainer.explain(data[0][:2])


def exact_shapley(module, x, target, n_players=4):
    """Shapley values of the quadrants of one image (others set to 0)."""
    masks = torch.from_numpy(QUADRANTS[0, 0]).expand(3, 16, 16)

    def value(players):
        keep = torch.zeros(3, 16, 16)
        for p in players:
            keep[masks == p] = 1.0
        with torch.no_grad():
            return float(module((x * keep)[None])[0, target])

    phi = np.zeros(n_players)
    for p in range(n_players):
        others = [q for q in range(n_players) if q != p]
        for size in range(n_players):
            weight = (
                math.factorial(size)
                * math.factorial(n_players - size - 1)
                / math.factorial(n_players)
            )
            for s in itertools.combinations(others, size):
                phi[p] += weight * (value((*s, p)) - value(s))
    return phi


def test_shapley_values_are_exact(data, cnn):
    X, y = data
    explainer = CaptumExplainer(
        FrozenEstimator(cnn),
        method="ShapleyValues",
        attribute_params={"feature_mask": QUADRANTS},
        channel_reduction="sum",
    ).fit(X)
    ours = explainer.explain(X[:3], y[:3]) / 3  # three channels, one value
    module = cnn.module_.eval()
    for image, target, maps in zip(tensor(X[:3]), y[:3], ours, strict=True):
        phi = exact_shapley(module, image, int(target))
        np.testing.assert_allclose(maps, phi[QUADRANTS[0, 0]], rtol=1e-4, atol=1e-5)
        # Efficiency: the values add up to f(x) - f(0).
        with torch.no_grad():
            gap = module(image[None])[0, target] - module(0 * image[None])[0, target]
        np.testing.assert_allclose(phi.sum(), float(gap), rtol=1e-4, atol=1e-5)


def test_random_methods_are_seeded_per_image(data, cnn):
    X, y = data
    params = {"feature_mask": QUADRANTS, "n_samples": 2}
    explainer = CaptumExplainer(
        FrozenEstimator(cnn),
        method="ShapleyValueSampling",
        attribute_params=params,
        random_state=0,
    ).fit(X)
    state, numpy_state = torch.get_rng_state(), np.random.get_state()[1]  # noqa: NPY002
    first = explainer.explain(X[:4], y[:4])
    # The global generators are left alone.
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(numpy_state, np.random.get_state()[1])  # noqa: NPY002
    np.testing.assert_array_equal(first, explainer.explain(X[:4], y[:4]))
    # An image's result does not depend on the other images.
    np.testing.assert_allclose(first[2:], explainer.explain(X[2:4], y[2:4]), atol=1e-6)
    other = explainer.set_params(random_state=1).explain(X[:4], y[:4])
    assert np.abs(other - first).max() > 1e-6


@pytest.mark.parametrize("method", ["DeepLift", "FeatureAblation", "LayerGradCam"])
def test_deterministic_and_batch_independent(method, data, cnn):
    X, y = data
    kw = (
        {"attribute_params": {"feature_mask": QUADRANTS}}
        if "Ablation" in method
        else {}
    )
    one = CaptumExplainer(FrozenEstimator(cnn), method=method, batch_size=1, **kw)
    first = one.fit(X).explain(X[:5], y[:5])
    np.testing.assert_array_equal(first, one.explain(X[:5], y[:5]))
    many = one.set_params(batch_size=64).explain(X[:5], y[:5])
    np.testing.assert_allclose(first, many, rtol=1e-4, atol=1e-6)


def test_class_given_directly_and_probabilities(data, cnn):
    X, y = data
    by_class = CaptumExplainer(
        FrozenEstimator(cnn),
        method=captum.attr.FeatureAblation,
        attribute_params={"feature_mask": QUADRANTS},
        output="probabilities",
    ).fit(X)
    assert by_class.method_class_ is captum.attr.FeatureAblation
    ours = by_class.explain(X[:3], y[:3])
    module = cnn.module_.eval()
    expected = captum.attr.FeatureAblation(
        lambda x: torch.softmax(module(x), dim=1)
    ).attribute(tensor(X[:3]), target=torch.as_tensor(y[:3]), feature_mask=
                torch.as_tensor(QUADRANTS))  # fmt: skip
    np.testing.assert_allclose(ours, expected.sum(1).numpy(), rtol=1e-4, atol=1e-7)
    assert np.abs(ours).max() <= 3.0


def test_convergence_delta_in_details(data, cnn):
    X, y = data
    explainer = CaptumExplainer(
        FrozenEstimator(cnn),
        method="IntegratedGradients",
        attribute_params={"n_steps": 64, "return_convergence_delta": True},
    ).fit(X)
    maps, details = explainer.explain(X[:3], y[:3], return_details=True)
    assert details.delta.shape == (3,)
    module = cnn.module_.eval()
    with torch.no_grad():
        inputs = tensor(X[:3])
        logits = module(inputs)[range(3), y[:3]] - module(0 * inputs)[range(3), y[:3]]
    np.testing.assert_allclose(
        maps.sum(axis=(1, 2)) - details.delta, logits.numpy(), rtol=1e-3, atol=1e-4
    )


def test_cnn_classifier_refit_and_pipelines(data):
    X, y = data
    X, y = X[:60], y[:60]
    refit = CaptumExplainer(small_cnn(max_epochs=1), method="GuidedBackprop").fit(X, y)
    fitted = small_cnn(max_epochs=1).fit(X, y)
    frozen = CaptumExplainer(FrozenEstimator(fitted), method="GuidedBackprop").fit(X)
    np.testing.assert_allclose(
        refit.explain(X[:3], y[:3]), frozen.explain(X[:3], y[:3]), atol=1e-6
    )
    pipe = Pipeline(
        [("normalize", ImageNormalizer()), ("cnn", small_cnn(max_epochs=1))]
    )
    pipe.fit(X, y)
    ours = CaptumExplainer(FrozenEstimator(pipe), method="DeepLift").fit(X)
    Xt = pipe[:-1].transform(X)
    direct = CaptumExplainer(FrozenEstimator(pipe[-1]), method="DeepLift").fit(Xt)
    np.testing.assert_allclose(
        ours.explain(X[:3], y[:3]), direct.explain(Xt[:3], y[:3]), rtol=1e-5, atol=1e-6
    )
    steps = [("resize", ImageResizer(size=24)), ("normalize", ImageNormalizer())]
    resize = Pipeline([*steps, ("cnn", small_cnn(max_epochs=1))]).fit(X, y)
    maps = CaptumExplainer(FrozenEstimator(resize), method="LayerGradCam").fit(X)
    maps = maps.explain(X[:3])
    assert maps.shape == (3, 16, 16) and np.all(np.isfinite(maps))


def test_hooks_removed(data, cnn):
    X, _ = data
    module = cnn.module_
    for method in ("GuidedBackprop", "DeepLift", "GuidedGradCam"):
        CaptumExplainer(FrozenEstimator(cnn), method=method).fit(X).explain(X[:2])
        for name, submodule in module.named_modules():
            for attribute in (
                "_forward_hooks",
                "_backward_hooks",
                "_forward_pre_hooks",
            ):
                assert not getattr(submodule, attribute), (method, name, attribute)


def test_unknown_name_lists_supported_names(data, cnn):
    explainer = CaptumExplainer(FrozenEstimator(cnn), method="Magic")
    with pytest.raises(ValueError, match="'Magic' is not a supported") as error:
        explainer.fit(data[0])
    for name in SUPPORTED_METHODS:
        assert repr(name) in str(error.value)


def test_bad_input(data, cnn):
    X, _ = data
    frozen = FrozenEstimator(cnn)
    with pytest.raises(TypeError, match=r"subclass of captum\.attr\.Attribution"):
        CaptumExplainer(frozen, method=dict).fit(X)
    with pytest.raises(ValueError, match="'method' parameter"):
        CaptumExplainer(frozen, method=3).fit(X)
    with pytest.raises(ValueError, match=r"method_params has \['n_steps'\], which "):
        CaptumExplainer(frozen, method="Saliency", method_params={"n_steps": 3}).fit(X)
    with pytest.raises(ValueError, match=r"attribute_params has \['steps'\].*n_steps"):
        CaptumExplainer(
            frozen, method="IntegratedGradients", attribute_params={"steps": 3}
        ).fit(X)
    with pytest.raises(ValueError, match=r"must not set \['target'\]"):
        CaptumExplainer(frozen, attribute_params={"target": 0}).fit(X)
    with pytest.raises(ValueError, match=r"must not set \['model'\]"):
        CaptumExplainer(frozen, method="DeepLift", method_params={"model": 0}).fit(X)
    with pytest.raises(ValueError, match="Saliency takes no layer"):
        CaptumExplainer(frozen, layer="features.block0.conv").fit(X)
    with pytest.raises(ValueError, match=r"'features.block9' is not a layer of"):
        CaptumExplainer(frozen, method="LayerGradCam", layer="features.block9").fit(X)
    explainer = CaptumExplainer(frozen, method="LayerGradCam", layer="classifier.2")
    with pytest.raises(ValueError, match=r"needs \(n, K, h, w\) maps"):
        explainer.fit(X).explain(X[:2])
    with pytest.raises(ValueError, match="'output' parameter"):
        CaptumExplainer(frozen, output="proba").fit(X)
    with pytest.raises(ValueError, match="'channel_reduction' parameter"):
        CaptumExplainer(frozen, channel_reduction="mean").fit(X)
    explainer = CaptumExplainer(frozen).fit(X)
    nan = X[:2].copy()
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        explainer.explain(nan)
    with pytest.raises(NotFittedError):
        CaptumExplainer(frozen).explain(X[:2])


# -- per-image arguments, SHAP references, no state changes in explain ---------


def per_image_params(name, n):
    """One baseline or one feature mask per image, all different."""
    rng = np.random.default_rng(0)
    if name == "IntegratedGradients":
        return {"baselines": rng.random((n, 3, 16, 16)), "n_steps": 8}
    # Quadrants for even images, halves for odd ones.
    masks = np.where(np.arange(n)[:, None, None, None] % 2, QUADRANTS // 2, QUADRANTS)
    return {"feature_mask": masks}


@pytest.mark.parametrize("batch_size", [1, 4, 64], ids=lambda b: f"batch{b}")
@pytest.mark.parametrize("name", ["IntegratedGradients", "FeatureAblation"])
def test_per_image_arrays_are_sliced_with_each_batch(name, batch_size, data, cnn):
    X, y = data
    params = per_image_params(name, 10)
    explainer = CaptumExplainer(
        FrozenEstimator(cnn),
        method=name,
        attribute_params=params,
        batch_size=batch_size,
    ).fit(X)
    ours = explainer.explain(X[:10], y[:10])
    expected = captum_direct(
        copy.deepcopy(cnn.module_), name, {}, params, None, X[:10], y[:10]
    )
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-6)


def test_per_image_torch_tensors_are_sliced_too(data, cnn):
    X, y = data
    baselines = np.random.default_rng(1).random((6, 3, 16, 16)).astype(np.float32)
    by_array, by_tensor = (
        CaptumExplainer(
            FrozenEstimator(cnn),
            method="DeepLift",
            attribute_params={"baselines": b},
            batch_size=4,
        )
        .fit(X)
        .explain(X[:6], y[:6])
        for b in (baselines, torch.from_numpy(baselines))
    )
    np.testing.assert_array_equal(by_array, by_tensor)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"baselines": np.zeros((5, 3, 16, 16))}, r"first axis .* \(6\); got 5"),
        ({"feature_mask": np.zeros((3, 1, 16, 16), int)}, r"'feature_mask'.*got 3"),
    ],
    ids=["baselines", "feature_mask"],
)
def test_per_image_array_of_another_length_names_its_key(params, match, data, cnn):
    X, _ = data
    name = "IntegratedGradients" if "baselines" in params else "FeatureAblation"
    explainer = CaptumExplainer(
        FrozenEstimator(cnn), method=name, attribute_params=params, batch_size=2
    ).fit(X)
    with pytest.raises(ValueError, match=rf"attribute_params\[.*{match}"):
        explainer.explain(X[:6])


@pytest.mark.parametrize(
    "name, params, match",
    [
        (
            "IntegratedGradients",
            {"baselines": np.zeros((1, 3, 8, 8))},
            r"'baselines'\] has shape \(1, 3, 8, 8\), which does not fit .* "
            r"\(3, 16, 16\)",
        ),
        (
            "IntegratedGradients",
            {"baselines": np.zeros((2, 1, 3, 16, 16))},
            "does not fit the network input",
        ),
        (
            "FeatureAblation",
            {"feature_mask": np.zeros((1, 16, 16, 3), int)},  # channels last
            r"'feature_mask'\] has shape \(1, 16, 16, 3\)",
        ),
        (
            "GradientShap",
            {"baselines": np.zeros((4, 16, 16, 3))},
            r"'baselines'\] of GradientShap is a distribution .* \(4, 16, 16, 3\)",
        ),
        (
            "DeepLiftShap",
            {"baselines": np.zeros((1, 3, 16, 16))},
            "n_references >= 2",
        ),
        ("Occlusion", {}, r"Occlusion.attribute requires \['sliding_window_shapes'\]"),
    ],
    ids=["small", "5-d", "channels-last-mask", "shap-layout", "one-ref", "window"],
)
def test_arguments_the_network_input_cannot_take_fail_at_fit(
    name, params, match, data, cnn
):
    explainer = CaptumExplainer(
        FrozenEstimator(cnn), method=name, attribute_params=params
    )
    with pytest.raises(ValueError, match=match):
        explainer.fit(data[0])


def test_shap_methods_default_to_zero_and_mean_references(data, cnn):
    X, y = data
    deeplift = CaptumExplainer(FrozenEstimator(cnn), method="DeepLiftShap").fit(X)
    references = deeplift.baselines_
    assert references.shape == (2, 3, 16, 16) and references.dtype == np.float32
    np.testing.assert_array_equal(references[0], 0.0)
    np.testing.assert_allclose(references[1], tensor(X).double().mean(0), atol=1e-6)
    # Equal to captum's DeepLiftShap given those two references.
    expected = captum_direct(
        copy.deepcopy(cnn.module_), "DeepLiftShap", {},
        {"baselines": references}, None, X[:4], y[:4],
    )  # fmt: skip
    np.testing.assert_allclose(
        deeplift.explain(X[:4], y[:4]), expected, rtol=1e-4, atol=1e-6
    )
    # GradientShap: the default equals passing the references explicitly.
    shap = CaptumExplainer(
        FrozenEstimator(cnn),
        method="GradientShap",
        attribute_params={"n_samples": 4},
        random_state=0,
    ).fit(X)
    np.testing.assert_array_equal(shap.baselines_, references)
    explicit = CaptumExplainer(
        FrozenEstimator(cnn),
        method="GradientShap",
        attribute_params={"n_samples": 4, "baselines": references},
        random_state=0,
    ).fit(X)
    assert explicit.baselines_ is None
    np.testing.assert_array_equal(
        shap.explain(X[:3], y[:3]), explicit.explain(X[:3], y[:3])
    )
    # Other methods keep captum's own defaults.
    assert CaptumExplainer(FrozenEstimator(cnn)).fit(X).baselines_ is None


def assert_numpy_state_equal(before, after):
    assert after[0] == before[0] and after[2:] == before[2:]
    np.testing.assert_array_equal(after[1], before[1])


@pytest.mark.parametrize(
    "name, params",
    [
        ("GradientShap", {"n_samples": 3, "stdevs": 0.1}),
        ("LayerGradientShap", {"n_samples": 2, "stdevs": 0.1}),
        ("ShapleyValueSampling", {"feature_mask": QUADRANTS, "n_samples": 2}),
        ("IntegratedGradients", {"baselines": np.zeros((4, 3, 16, 16)), "n_steps": 4}),
    ],
    ids=["gradient-shap", "layer-gradient-shap", "shapley-sampling", "per-image"],
)
def test_explain_changes_no_state(name, params, data, cnn):
    X, y = data
    explainer = CaptumExplainer(
        FrozenEstimator(cnn),
        method=name,
        attribute_params=params,
        batch_size=2,
        random_state=0,
    ).fit(X)
    before = dict(vars(explainer))
    content = joblib.hash(before)  # deep: arrays, parameters, the network
    numpy_state = np.random.get_state()  # noqa: NPY002
    torch_state = torch.get_rng_state()
    first = explainer.explain(X[:4], y[:4])
    # No attribute set, replaced, removed or changed in place.
    assert vars(explainer).keys() == before.keys()
    assert all(vars(explainer)[key] is value for key, value in before.items())
    assert joblib.hash(vars(explainer)) == content
    # The global generators are as they were: nothing seeded, nothing drawn.
    assert_numpy_state_equal(numpy_state, np.random.get_state())  # noqa: NPY002
    assert torch.equal(torch_state, torch.get_rng_state())
    # Whatever the global generators hold, the answer is the same, and a
    # fresh explainer with the same random_state gives it too.
    np.random.seed(12345)  # noqa: NPY002
    torch.manual_seed(12345)
    np.testing.assert_array_equal(first, explainer.explain(X[:4], y[:4]))
    np.testing.assert_array_equal(first, clone(explainer).fit(X).explain(X[:4], y[:4]))


@pytest.mark.gpu
def test_random_methods_leave_the_cuda_generators_alone(data, cnn, tmp_path):
    X, y = data
    path = tmp_path / "cnn.safetensors"
    save_model(cnn, path)
    explainer = CaptumExplainer(
        FrozenEstimator(load_model(path, device="cuda")),
        method="GradientShap",
        attribute_params={"n_samples": 3, "stdevs": 0.1},
        random_state=0,
    ).fit(X)
    cuda_state, cpu_state = torch.cuda.get_rng_state(), torch.get_rng_state()
    first = explainer.explain(X[:3], y[:3])
    assert torch.equal(cuda_state, torch.cuda.get_rng_state())
    assert torch.equal(cpu_state, torch.get_rng_state())
    torch.cuda.manual_seed(12345)
    np.testing.assert_array_equal(first, explainer.explain(X[:3], y[:3]))
