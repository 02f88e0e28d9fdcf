"""Tests of the randomization metrics (model parameter randomization, random logit)."""

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_xai.attribution import SaliencyExplainer
from sklearn_xai.base import BaseExplainer
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.metrics import (
    DegenerateExplanationWarning,
    model_parameter_randomization,
    random_logit,
)
from sklearn_xai.metrics._checks import check_images
from sklearn_xai.metrics._randomization import _spearman, _ssim
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.utils._seeds import image_rngs

LAYERS = [
    "classifier.2",
    "features.block1.norm",
    "features.block1.conv",
    "features.block0.norm",
    "features.block0.conv",
]


class ConstantExplainer(BaseExplainer):
    """Returns the same map whatever the model, image and class."""

    def __init__(
        self,
        estimator,
        *,
        batch_size=32,
        n_jobs=None,
        random_state=None,
        verbose=0,
        image_shape=None,
    ):
        self.estimator = estimator
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    def _explain(self, images, targets, seeds):
        h, w = images.shape[1:3]
        pattern = np.sin(np.arange(h * w, dtype=np.float32)).reshape(h, w)
        return np.broadcast_to(pattern, (len(images), h, w)).copy(), {}


class ImageExplainer(ConstantExplainer):
    """The (gray) image itself as its map: a blank image gets a zero map."""

    def _explain(self, images, targets, seeds):
        return images.astype(np.float64).mean(axis=-1), {}


class SeedNoiseExplainer(ConstantExplainer):
    """A model-independent random explainer: each image's map is noise drawn
    from its seed alone (a worst case of a random method)."""

    def _explain(self, images, targets, seeds):
        h, w = images.shape[1:3]
        maps = [np.random.RandomState(seed).normal(size=(h, w)) for seed in seeds]
        return np.stack(maps), {}


class RecordingSaliency(SaliencyExplainer):
    """Saliency that records the images and targets of every explain call."""

    def explain(self, X, target=None, *, return_details=False):
        self.__dict__.setdefault("calls", []).append((len(X), np.asarray(target)))
        return super().explain(X, target, return_details=return_details)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digit_images(size=16, return_X_y=True)
    return X[:160], y[:160]


@pytest.fixture(scope="module")
def clf(digits):
    X, y = digits
    return CNNClassifier(max_epochs=3, random_state=0, module__n_filters=8).fit(X, y)


@pytest.fixture(scope="module")
def explainer(clf, digits):
    return SaliencyExplainer(FrozenEstimator(clf), random_state=0).fit(digits[0][:8])


def quantus_explain_func(clf, X_fit):
    """Quantus's ``explain_func``: our saliency on the network Quantus passes.

    For MPRT that is Quantus's randomized copy, swapped into the classifier
    for the call.
    """

    def explain_func(model, inputs, targets, **kwargs):
        trained = clf.module_
        clf.module_ = model
        try:
            explainer = SaliencyExplainer(FrozenEstimator(clf)).fit(X_fit)
            images = np.moveaxis(np.asarray(inputs), 1, -1)
            return explainer.explain(images, target=np.asarray(targets))
        finally:
            clf.module_ = trained

    return explain_func


# -- agreement with Quantus ---------------------------------------------------


@pytest.mark.parametrize(
    ("order", "quantus_order"),
    [("cascading", "top_down"), ("independent", "independent")],
)
def test_mprt_agrees_with_quantus(order, quantus_order, explainer, clf, digits):
    quantus = pytest.importorskip("quantus")
    X = digits[0][:6]
    targets = clf.predict(X)
    ours = model_parameter_randomization(
        explainer, X, targets=targets, order=order, random_state=43
    )
    metric = quantus.MPRT(
        layer_order=quantus_order,
        seed=42,
        # Quantus divides a whole batch by one maximum; ours is per map.
        normalise_func_kwargs={"normalise_axes": (1, 2, 3)},
        disable_warnings=True,
    )
    rng_before = torch.get_rng_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = metric(
            model=clf.module_,
            x_batch=X[:, np.newaxis],
            y_batch=targets,
            channel_first=True,
            explain_func=quantus_explain_func(clf, X),
        )
    torch.set_rng_state(rng_before)  # Quantus reseeds torch's global stream.
    theirs_layers = [k for k in theirs if k != "original"]
    assert ours.layers == LAYERS
    # Quantus visits independent layers from the input; the values do not
    # depend on the visiting order.
    assert theirs_layers == (LAYERS if order == "cascading" else LAYERS[::-1])
    for name, row in zip(ours.layers, ours.scores, strict=True):
        np.testing.assert_allclose(row, theirs[name], rtol=1e-6, atol=1e-9)


def test_random_logit_agrees_with_quantus(explainer, clf, digits, monkeypatch):
    quantus = pytest.importorskip("quantus")
    from quantus.functions.similarity_func import correlation_spearman

    X, y = digits[0][:6], digits[1][:6]
    ours = random_logit(explainer, X, targets=y, similarity="spearman", random_state=42)
    # Quantus draws the other classes with one np.random.randint call for
    # the batch; it is handed ours, drawn per image (from 42 and the image).
    draws = np.array([rng.randint(0, 9) for rng in image_rngs(42, check_images(X)[0])])
    monkeypatch.setattr(np.random, "randint", lambda *args, **kwargs: draws)
    metric = quantus.RandomLogit(
        similarity_func=correlation_spearman,
        num_classes=10,
        seed=42,
        normalise_func_kwargs={"normalise_axes": (1, 2, 3)},
        disable_warnings=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = metric(
            model=clf.module_,
            x_batch=X[:, np.newaxis],
            y_batch=y,
            channel_first=True,
            explain_func=quantus_explain_func(clf, X),
        )
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_ssim_agrees_with_quantus_on_2d_maps():
    pytest.importorskip("quantus")
    from quantus.functions.similarity_func import ssim

    rng = np.random.RandomState(0)
    a = rng.rand(3, 16, 16)
    b = a + 0.3 * rng.rand(3, 16, 16)
    expected = [ssim(x, z) for x, z in zip(a, b, strict=True)]
    np.testing.assert_allclose(_ssim(a, b), expected, rtol=1e-10)


def test_spearman_matches_scipy_with_ties():
    rng = np.random.RandomState(0)
    a = rng.randint(0, 4, size=(3, 8, 8)).astype(float)
    b = a + rng.rand(3, 8, 8)
    expected = [spearmanr(x.ravel(), z.ravel())[0] for x, z in zip(a, b, strict=True)]
    np.testing.assert_allclose(_spearman(a, b), expected, rtol=1e-12)


def test_spearman_of_constant_maps():
    a = np.zeros((2, 3, 3))
    b = np.stack([np.zeros((3, 3)), np.arange(9.0).reshape(3, 3)])
    np.testing.assert_array_equal(_spearman(a, b), [1.0, 0.0])


# -- properties ---------------------------------------------------------------


def test_mprt_separates_trained_from_randomized(explainer, digits):
    X = digits[0][:6]
    result = model_parameter_randomization(explainer, X, random_state=0)
    assert result.scores.shape == (5, 6)
    np.testing.assert_allclose(result.mean, result.scores.mean(axis=0))
    # Saliency of the trained network differs from that of randomized ones.
    assert result.scores.mean() < 0.5
    assert result.scores[-1].mean() < 0.5
    # Explained again without randomization, the similarity is 1.
    maps = np.abs(explainer.explain(X)).astype(np.float64)
    np.testing.assert_allclose(_spearman(maps, np.abs(explainer.explain(X))), 1.0)


def test_model_independent_explanation_fails_the_test(clf, digits):
    X = digits[0][:4]
    explainer = ConstantExplainer(FrozenEstimator(clf)).fit(X)
    for similarity in ("spearman", "ssim"):
        result = model_parameter_randomization(
            explainer, X, similarity=similarity, random_state=0
        )
        np.testing.assert_allclose(result.scores, 1.0)
        np.testing.assert_allclose(
            random_logit(explainer, X, similarity=similarity), 1.0
        )


@pytest.mark.parametrize("similarity", ["spearman", "ssim"])
def test_constant_map_scores_nan_with_one_warning(similarity, clf, digits):
    X = digits[0][:2].copy()
    X[0] = 0.0  # a blank image: its map is all zero
    explainer = ImageExplainer(FrozenEstimator(clf)).fit(X)
    with pytest.warns(DegenerateExplanationWarning) as record:
        result = model_parameter_randomization(
            explainer, X, similarity=similarity, random_state=0
        )
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith("model_parameter_randomization: 1 of 2 ")
    assert record[0].filename == __file__  # points at the caller
    assert np.isnan(result.scores[:, 0]).all() and np.isnan(result.mean[0])
    np.testing.assert_allclose(result.scores[:, 1], 1.0)  # model-independent
    with pytest.warns(DegenerateExplanationWarning) as record:
        scores = random_logit(explainer, X, similarity=similarity, random_state=0)
    assert len(record) == 1
    assert str(record[0].message).startswith("random_logit: 1 of 2 ")
    assert np.isnan(scores[0]) and scores[1] == pytest.approx(1.0)


def test_no_warning_without_constant_maps(clf, digits):
    X = digits[0][:2]
    explainer = ImageExplainer(FrozenEstimator(clf)).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateExplanationWarning)
        result = model_parameter_randomization(explainer, X, random_state=0)
        scores = random_logit(explainer, X, random_state=0)
    assert np.isfinite(result.scores).all() and np.isfinite(scores).all()


@pytest.mark.parametrize("order", ["cascading", "independent"])
def test_user_model_and_inputs_are_untouched(order, explainer, clf, digits):
    X = digits[0][:4].copy()
    X_before = X.copy()
    state = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    rng_state = torch.get_rng_state()
    proba = clf.predict_proba(X)
    model_parameter_randomization(explainer, X, order=order, random_state=0)
    for key, value in clf.module_.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert torch.equal(torch.get_rng_state(), rng_state)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert explainer.estimator_.estimator is clf


def test_mprt_is_deterministic(explainer, digits):
    X = digits[0][:4]
    first = model_parameter_randomization(explainer, X, random_state=5)
    np.testing.assert_array_equal(
        first.scores, model_parameter_randomization(explainer, X, random_state=5).scores
    )
    other = model_parameter_randomization(explainer, X, random_state=6)
    assert not np.array_equal(first.scores, other.scores)


def test_layers_are_visited_from_the_output_and_seeded_per_layer(explainer, digits):
    X = digits[0][:4]
    chosen = ["features.block0.conv", "classifier.2"]
    subset = model_parameter_randomization(
        explainer, X, order="independent", layers=chosen, random_state=3
    )
    assert subset.layers == ["classifier.2", "features.block0.conv"]
    full = model_parameter_randomization(
        explainer, X, order="independent", random_state=3
    )
    # A layer gets the same random weights whichever layers are chosen.
    for name, row in zip(subset.layers, subset.scores, strict=True):
        np.testing.assert_allclose(row, full.scores[full.layers.index(name)])
    # Cascading and independent agree on the first (output) layer.
    cascading = model_parameter_randomization(explainer, X, random_state=3)
    np.testing.assert_allclose(cascading.scores[0], full.scores[0])


def test_frozen_pipeline_is_supported(explainer, clf, digits):
    X, y = digits
    pipe = Pipeline(
        [("identity", FunctionTransformer()), ("cnn", FrozenEstimator(clf))]
    ).fit(X, y)
    piped = SaliencyExplainer(FrozenEstimator(pipe), random_state=0).fit(X[:4])
    result = model_parameter_randomization(piped, X[:4], random_state=1)
    direct = model_parameter_randomization(explainer, X[:4], random_state=1)
    np.testing.assert_allclose(result.scores, direct.scores)


def test_random_logit_explains_another_class_in_one_call(clf, digits):
    X = digits[0][:6]
    recording = RecordingSaliency(FrozenEstimator(clf), random_state=0).fit(X)
    recording.calls = []
    scores = random_logit(recording, X, random_state=0)
    assert scores.shape == (6,)
    assert np.all(scores < 1.0)
    ((n, targets),) = recording.calls
    assert n == 12
    np.testing.assert_array_equal(targets[:6], clf.predict(X))
    assert np.all(targets[6:] != targets[:6])
    np.testing.assert_array_equal(scores, random_logit(recording, X, random_state=0))


def test_mprt_explains_all_images_once_per_layer(clf, digits):
    X = digits[0][:5]
    recording = RecordingSaliency(FrozenEstimator(clf), random_state=0).fit(X)
    recording.calls = []
    model_parameter_randomization(recording, X, random_state=0)
    # The user's explainer explains once; the randomized copies record on
    # their own copies.
    assert [n for n, _ in recording.calls] == [5]


# -- random explainers and batches ---------------------------------------------


def test_model_independent_random_explainer_fails_the_test(clf, digits):
    # Unseeded, every explain call drew new noise: the original and the
    # randomized-network maps differed by sampling alone (Spearman ~0), so a
    # method that ignores the model "passed" Adebayo's sanity check. A copy
    # seeded from the metric's random_state gives both the same draws.
    X = digits[0][:4]
    noise = SeedNoiseExplainer(FrozenEstimator(clf)).fit(X)
    result = model_parameter_randomization(noise, X, random_state=0)
    np.testing.assert_allclose(result.scores, 1.0)
    np.testing.assert_allclose(random_logit(noise, X, random_state=0), 1.0)
    assert noise.random_state is None


@pytest.mark.parametrize("metric", ["mprt", "random_logit"])
def test_random_explainer_is_seeded_by_the_metric(metric, clf, digits):
    from sklearn_xai.attribution import RISEExplainer

    X = digits[0][:3]
    model = FrozenEstimator(clf)
    unseeded = RISEExplainer(model, n_masks=30, mask_size=4).fit(X)
    seeded = RISEExplainer(model, n_masks=30, mask_size=4, random_state=7).fit(X)
    if metric == "mprt":

        def score(explainer, random_state):
            return model_parameter_randomization(
                explainer, X, layers=["classifier.2"], random_state=random_state
            ).mean

    else:

        def score(explainer, random_state):
            return random_logit(explainer, X, random_state=random_state)

    first = score(unseeded, 7)
    np.testing.assert_array_equal(first, score(unseeded, 7))  # was random
    np.testing.assert_allclose(first, score(seeded, 7), rtol=1e-6)
    assert unseeded.random_state is None


def test_random_logit_draws_each_images_class_alone(explainer, digits):
    # The other class of an image depends on random_state and the image:
    # an image scores the same alone and in any batch.
    X = digits[0][:6]
    full = random_logit(explainer, X, random_state=3)
    order = [4, 2, 0, 5, 1, 3]
    np.testing.assert_allclose(random_logit(explainer, X[order], random_state=3),
                               full[order], rtol=1e-5)  # fmt: skip
    for i in (1, 4):
        alone = random_logit(explainer, X[i : i + 1], random_state=3)
        np.testing.assert_allclose(alone, full[i : i + 1], rtol=1e-5)


# -- errors -------------------------------------------------------------------


def test_unfitted_explainer_raises(clf, digits):
    unfitted = SaliencyExplainer(FrozenEstimator(clf))
    with pytest.raises(NotFittedError, match="not fitted"):
        model_parameter_randomization(unfitted, digits[0][:2])
    with pytest.raises(NotFittedError, match="not fitted"):
        random_logit(unfitted, digits[0][:2])


def test_model_without_torch_parameters_raises(digits):
    X, y = digits
    flat = X.reshape(len(X), -1)
    dummy = DummyClassifier().fit(flat, y)
    explainer = ConstantExplainer(FrozenEstimator(dummy), image_shape=(16, 16)).fit(
        flat
    )
    with pytest.raises(TypeError, match="DummyClassifier, which has no torch"):
        model_parameter_randomization(explainer, flat[:2])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"layers": ["features.block9.conv"]}, r"not parameterized layers.*classifier"),
        ({"layers": []}, "at least one layer"),
        ({"similarity": "pearson"}, "'similarity' parameter"),
        ({"order": "bottom_up"}, "'order' parameter"),
        ({"targets": [0, 1]}, "targets must be None, one class label"),
        ({"normalize": "no"}, "'normalize' parameter"),
        ({"sign": True}, "'sign' parameter"),
    ],
    ids=[
        "unknown-layer",
        "no-layer",
        "similarity",
        "order",
        "targets",
        "normalize",
        "sign",
    ],
)
def test_mprt_bad_arguments_raise(kwargs, match, explainer, digits):
    with pytest.raises(ValueError, match=match):
        model_parameter_randomization(explainer, digits[0][:4], **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"similarity": "hog"}, "'similarity' parameter"),
        ({"targets": [0, 1, 2]}, "targets must be None, one class label"),
        ({"normalize": "no"}, "'normalize' parameter"),
    ],
    ids=["similarity", "targets", "normalize"],
)
def test_random_logit_bad_arguments_raise(kwargs, match, explainer, digits):
    with pytest.raises(ValueError, match=match):
        random_logit(explainer, digits[0][:4], **kwargs)


def test_ssim_needs_maps_of_3_pixels():
    with pytest.raises(ValueError, match="at least 3x3"):
        _ssim(np.zeros((1, 2, 2)), np.ones((1, 2, 2)))


def test_directions_are_lower_is_better():
    assert model_parameter_randomization.greater_is_better is False
    assert random_logit.greater_is_better is False


# -- layers without reset_parameters -------------------------------------------


class ChannelScale(torch.nn.Module):
    """A learned per-channel scale: parameters, but no reset_parameters()."""

    def __init__(self, n_channels):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.linspace(0.5, 1.5, n_channels))

    def forward(self, x):
        return x * self.weight[:, None, None]


class ScaledNet(torch.nn.Module):
    """Own parameters at the top (an input offset, as a position embedding)."""

    def __init__(self):
        super().__init__()
        self.offset = torch.nn.Parameter(torch.full((1, 16, 16), 0.1))
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, padding=1), ChannelScale(4), torch.nn.ReLU()
        )
        self.head = torch.nn.Sequential(
            torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(16, 10)
        )

    def forward(self, x):
        return self.head(self.features(x + self.offset))


@pytest.fixture(scope="module")
def scaled_explainer(digits):
    from sklearn_xai.neural_network import TorchClassifier

    torch.manual_seed(0)
    model = TorchClassifier(ScaledNet(), classes=list(range(10)))
    return SaliencyExplainer(model).fit(digits[0][:8])


def test_layers_without_reset_parameters_are_randomized(scaled_explainer, digits):
    X = digits[0][:4]
    result = model_parameter_randomization(scaled_explainer, X, random_state=0)
    assert result.layers == ["head.2", "features.1", "features.0", ""]
    # Each randomization changed the explanations (a kept layer scores 1).
    assert np.all(result.scores[:, 0] < 0.999)
    alone = model_parameter_randomization(
        scaled_explainer, X, layers=["features.1"], random_state=0
    )
    assert alone.layers == ["features.1"] and np.all(alone.scores < 0.999)


def test_parameters_are_redrawn_at_their_scale_seeded():
    from sklearn_xai.metrics._randomization import _reset

    layer = ChannelScale(5000)
    scale = float(layer.weight.detach().square().mean().sqrt())
    first = ChannelScale(5000)
    _reset(first, 7, "cpu")
    second = ChannelScale(5000)
    _reset(second, 7, "cpu")
    np.testing.assert_array_equal(first.weight.detach(), second.weight.detach())
    values = first.weight.detach().numpy()
    assert abs(values.mean()) < 0.05 * scale
    np.testing.assert_allclose(values.std(), scale, rtol=0.05)
    # The global torch generator is left alone.
    state = torch.get_rng_state()
    _reset(ChannelScale(3), 7, "cpu")
    assert torch.equal(state, torch.get_rng_state())


def test_naming_a_container_says_to_name_its_sublayers(scaled_explainer, digits):
    with pytest.raises(ValueError, match=r"\['features'\].*name those.*features\.1"):
        model_parameter_randomization(
            scaled_explainer, digits[0][:2], layers=["features"]
        )
