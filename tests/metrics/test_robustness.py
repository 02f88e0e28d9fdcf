"""Tests of the robustness metrics (max/avg sensitivity, local Lipschitz)."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from torch import nn

from sklearn_xai.attribution import RISEExplainer, SaliencyExplainer
from sklearn_xai.base import BaseExplainer
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.metrics import (
    DegenerateExplanationWarning,
    avg_sensitivity,
    local_lipschitz_estimate,
    max_sensitivity,
)
from sklearn_xai.metrics._checks import check_images
from sklearn_xai.metrics._robustness import _perturbations, _ratios
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.utils._seeds import image_rngs

METRICS = {
    "max_sensitivity": max_sensitivity,
    "avg_sensitivity": avg_sensitivity,
    "local_lipschitz_estimate": local_lipschitz_estimate,
}


class ConstantExplainer(BaseExplainer):
    """Returns the same (non-zero) map whatever the image and class."""

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
        pattern = np.arange(1, h * w + 1, dtype=np.float32).reshape(h, w)
        return np.broadcast_to(pattern, (len(images), h, w)).copy(), {}


class ImageExplainer(ConstantExplainer):
    """The (gray) image itself as its map: a blank image gets a zero map."""

    def _explain(self, images, targets, seeds):
        return images.astype(np.float64).mean(axis=-1), {}


class RecordingSaliency(SaliencyExplainer):
    """Saliency that records the number of images of every explain call."""

    def _explain_seeded(self, X, target=None, **kwargs):
        self.__dict__.setdefault("calls", []).append(len(X))
        return super()._explain_seeded(X, target, **kwargs)


class LinearNet(nn.Module):
    """A linear model of the pixels: its logit gradient is constant."""

    def __init__(self, in_channels=1, n_classes=2, n_pixels=256):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(in_channels * n_pixels, n_classes)
        )

    def forward(self, x):
        return self.net(x)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digit_images(size=16, return_X_y=True)
    return X[:160], y[:160]


@pytest.fixture(scope="module")
def clf(digits):
    X, y = digits
    return CNNClassifier(max_epochs=2, random_state=0, module__n_filters=8).fit(X, y)


@pytest.fixture(scope="module")
def explainer(clf, digits):
    return SaliencyExplainer(FrozenEstimator(clf), random_state=0).fit(digits[0][:8])


@pytest.fixture(scope="module")
def unit_range_images(digits):
    # Each image spans exactly [0, 1], so relative noise is Quantus's absolute.
    X = digits[0][:5].astype(np.float32)
    lo = X.min(axis=(1, 2), keepdims=True)
    hi = X.max(axis=(1, 2), keepdims=True)
    return ((X - lo) / (hi - lo)).astype(np.float32)


def our_rounds(X, seed, *, radius, noise, n_samples):
    """The perturbed batches our metrics draw with ``random_state=seed``."""
    images = check_images(X)[0]
    rngs = image_rngs(seed, images)
    return list(
        _perturbations(
            images, radius=radius, noise=noise, n_rounds=n_samples, rngs=rngs
        )
    )


def queue_perturb_func(rounds):
    """Quantus's ``perturb_func`` handing out ``rounds`` one call at a time."""
    queue = iter(rounds)

    def perturb_func(arr, indices, **kwargs):
        return next(queue).reshape(arr.shape).astype(arr.dtype)

    return perturb_func


def quantus_explain_func(explainer):
    """Quantus's ``explain_func`` calling our explainer (channels first in)."""

    def explain_func(model, inputs, targets, **kwargs):
        images = np.moveaxis(np.asarray(inputs), 1, -1)
        return explainer.explain(images, target=np.asarray(targets))

    return explain_func


# -- agreement with Quantus ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "quantus_name"),
    [("max_sensitivity", "MaxSensitivity"), ("avg_sensitivity", "AvgSensitivity")],
)
def test_sensitivity_agrees_with_quantus(
    name, quantus_name, explainer, clf, unit_range_images
):
    quantus = pytest.importorskip("quantus")
    X = unit_range_images
    targets = clf.predict(X)
    ours = METRICS[name](
        explainer, X, targets=targets, n_samples=6, radius=0.2, random_state=7
    )
    # Quantus draws a batch's noise from numpy's global stream; it is handed
    # ours (per image, from 7 and the image), uniform of half-width 0.2.
    rounds = our_rounds(X, 7, radius=0.2, noise="uniform", n_samples=6)
    metric = getattr(quantus, quantus_name)(
        nr_samples=6, perturb_func=queue_perturb_func(rounds), disable_warnings=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = metric(
            model=clf.module_,
            x_batch=X[:, np.newaxis],
            y_batch=targets,
            channel_first=True,
            explain_func=quantus_explain_func(explainer),
        )
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("normalize", [True, False])
def test_lipschitz_agrees_with_quantus(normalize, explainer, clf, unit_range_images):
    quantus = pytest.importorskip("quantus")
    X = unit_range_images
    targets = clf.predict(X)
    ours = local_lipschitz_estimate(
        explainer,
        X,
        targets=targets,
        noise="gaussian",
        radius=0.1,
        n_samples=6,
        normalize=normalize,
        random_state=3,
    )
    rounds = our_rounds(X, 3, radius=0.1, noise="gaussian", n_samples=6)
    metric = quantus.LocalLipschitzEstimate(
        nr_samples=6,
        perturb_func=queue_perturb_func(rounds),
        normalise=normalize,
        # Quantus divides a whole batch by one maximum; per map is ours.
        normalise_func_kwargs={"normalise_axes": (1, 2, 3)},
        disable_warnings=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = metric(
            model=clf.module_,
            x_batch=X[:, np.newaxis],
            y_batch=targets,
            channel_first=True,
            explain_func=quantus_explain_func(explainer),
        )
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_explicit_perturbations_agree_with_quantus(explainer, clf, digits):
    # Any perturbations (here of images not in [0, 1]): both sides are fed
    # the same perturbed batches.
    quantus = pytest.importorskip("quantus")
    X = digits[0][:4] * 3.0 - 1.0
    targets = clf.predict(X)
    images = X[..., np.newaxis]
    rng = np.random.RandomState(0)
    perturbed = [images + rng.uniform(-0.3, 0.3, images.shape) for _ in range(4)]
    ours = _ratios(
        explainer,
        images,
        3,
        targets,
        perturbed,
        kind="sensitivity",
        normalize=False,
        sign="absolute",
    ).max(axis=0)
    metric = quantus.MaxSensitivity(
        nr_samples=4,
        abs=True,
        perturb_func=queue_perturb_func(perturbed),
        disable_warnings=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = metric(
            model=clf.module_,
            x_batch=X[:, np.newaxis],
            y_batch=targets,
            channel_first=True,
            explain_func=quantus_explain_func(explainer),
        )
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


# -- closed forms and properties ---------------------------------------------


@pytest.mark.parametrize("name", list(METRICS))
def test_constant_explanation_scores_zero(name, clf, digits):
    X = digits[0][:4]
    explainer = ConstantExplainer(FrozenEstimator(clf)).fit(X)
    scores = METRICS[name](explainer, X, n_samples=3, random_state=0)
    np.testing.assert_array_equal(scores, 0.0)


@pytest.mark.parametrize("name", list(METRICS))
def test_saliency_of_linear_model_scores_zero(name, digits):
    X, y = digits
    linear = CNNClassifier(module=LinearNet, max_epochs=1, random_state=0).fit(X, y)
    explainer = SaliencyExplainer(FrozenEstimator(linear)).fit(X[:4])
    scores = METRICS[name](explainer, X[:4], n_samples=3, random_state=0)
    np.testing.assert_allclose(scores, 0.0, atol=1e-12)


def test_absolute_sensitivity_is_relative_times_norm(explainer, digits):
    X = digits[0][:4]
    relative = max_sensitivity(explainer, X, n_samples=3, random_state=1)
    absolute = max_sensitivity(
        explainer, X, n_samples=3, relative=False, random_state=1
    )
    norms = np.linalg.norm(explainer.explain(X).reshape(4, -1), axis=1)
    np.testing.assert_allclose(absolute, relative * norms, rtol=1e-5)


def test_avg_is_at_most_max(explainer, digits):
    X = digits[0][:4]
    mean = avg_sensitivity(explainer, X, n_samples=4, random_state=2)
    worst = max_sensitivity(explainer, X, n_samples=4, random_state=2)
    assert np.all(mean <= worst + 1e-12)
    assert np.all(mean > 0)


@pytest.mark.parametrize("noise", ["uniform", "gaussian"])
def test_noise_is_relative_to_each_image_range(noise):
    images = np.stack([np.zeros((4, 4, 1)), np.full((4, 4, 1), 255.0)])
    images[1, 0, 0, 0] = 0.0  # ranges 0 (taken as 1) and 255
    rngs = [np.random.RandomState(0), np.random.RandomState(1)]
    (perturbed,) = _perturbations(
        images, radius=0.1, noise=noise, n_rounds=1, rngs=rngs
    )
    delta = np.abs(perturbed - images).reshape(2, -1).max(axis=1)
    if noise == "uniform":
        assert delta[0] <= 0.1 and delta[1] <= 25.5
    assert 100 < delta[1] / delta[0] < 500


# -- batching, determinism, purity -------------------------------------------


@pytest.mark.parametrize("batch_size", [4, 32])
def test_explains_whole_rounds_in_batched_calls(batch_size, clf, digits):
    X = digits[0][:4]
    explainer = RecordingSaliency(FrozenEstimator(clf), batch_size=batch_size).fit(X)
    explainer.calls = []
    max_sensitivity(explainer, X, n_samples=10, random_state=0)
    # The reference call, then rounds of all 4 images, grouped to fit batch_size.
    assert explainer.calls[0] == 4
    assert all(n % 4 == 0 for n in explainer.calls)
    assert sum(explainer.calls[1:]) == 40
    assert len(explainer.calls) <= 1 + 10
    if batch_size == 4:
        assert explainer.calls[1:] == [4] * 10


@pytest.mark.parametrize("name", list(METRICS))
def test_random_state_makes_it_deterministic(name, explainer, digits):
    X = digits[0][:4]
    metric = METRICS[name]
    first = metric(explainer, X, n_samples=3, random_state=0)
    np.testing.assert_array_equal(
        first, metric(explainer, X, n_samples=3, random_state=0)
    )
    assert not np.array_equal(first, metric(explainer, X, n_samples=3, random_state=1))


def test_n_repeats_and_return_std(explainer, digits):
    X = digits[0][:4]
    mean, std = max_sensitivity(
        explainer, X, n_samples=2, n_repeats=3, return_std=True, random_state=0
    )
    assert mean.shape == std.shape == (4,)
    assert mean.dtype == np.float64
    assert np.all(std > 0)
    _, std_one = max_sensitivity(
        explainer, X, n_samples=2, return_std=True, random_state=0
    )
    np.testing.assert_array_equal(std_one, 0.0)


def test_targets_none_is_the_prediction_of_the_original(explainer, clf, digits):
    X = digits[0][:4]
    by_default = avg_sensitivity(explainer, X, n_samples=2, random_state=0)
    given = avg_sensitivity(
        explainer, X, targets=clf.predict(X), n_samples=2, random_state=0
    )
    np.testing.assert_array_equal(by_default, given)
    other = avg_sensitivity(
        explainer, X, targets=(clf.predict(X) + 1) % 10, n_samples=2, random_state=0
    )
    assert not np.array_equal(by_default, other)


@pytest.mark.parametrize("name", list(METRICS))
def test_inputs_and_model_are_not_modified(name, explainer, clf, digits):
    X = digits[0][:4].copy()
    X_before = X.copy()
    state = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    params = explainer.get_params(deep=False)
    METRICS[name](explainer, X, n_samples=2, random_state=0)
    np.testing.assert_array_equal(X, X_before)
    for key, value in clf.module_.state_dict().items():
        assert torch.equal(value, state[key])
    assert explainer.get_params(deep=False) == params


def test_flat_and_channel_layouts_give_the_same_scores(explainer, digits):
    X = digits[0][:4]
    gray = max_sensitivity(explainer, X, n_samples=2, random_state=0)
    channels = max_sensitivity(
        explainer, X[..., np.newaxis], n_samples=2, random_state=0
    )
    np.testing.assert_allclose(gray, channels, rtol=1e-6)


@pytest.mark.parametrize("name", list(METRICS))
def test_an_image_scores_the_same_alone_and_in_any_batch(name, clf, digits):
    # Each image draws its noise from its own stream (random_state and the
    # image): before, one stream was laid out over the batch, and image 2
    # scored 0.877 among six images and 0.882 alone.
    X = digits[0][:5]
    rise = RISEExplainer(FrozenEstimator(clf), n_masks=20, mask_size=4).fit(X)
    metric = METRICS[name]
    kw = dict(n_samples=3, random_state=0)
    full = metric(rise, X, **kw)
    order = [3, 0, 4, 2, 1]
    # (up to the float32 rounding of the network's batched convolutions)
    np.testing.assert_allclose(metric(rise, X[order], **kw), full[order], rtol=1e-5)
    for i in (0, 3):
        alone = metric(rise, X[i : i + 1], **kw)
        np.testing.assert_allclose(alone, full[i : i + 1], rtol=1e-5)


@pytest.mark.parametrize("name", list(METRICS))
def test_random_explainer_is_seeded_by_the_metric(name, clf, digits):
    # An unseeded RISE drew new masks on every explain call, so the metrics
    # measured its sampling noise: max_sensitivity 0.10 at radius 1e-9
    # (0.000 seeded), a Lipschitz estimate of 2.8e8.
    X = digits[0][:4]
    model = FrozenEstimator(clf)
    unseeded = RISEExplainer(model, n_masks=30, mask_size=4).fit(X)
    seeded = RISEExplainer(model, n_masks=30, mask_size=4, random_state=5).fit(X)
    metric = METRICS[name]
    kw = dict(radius=1e-9, n_samples=3, random_state=5)
    scores = metric(unseeded, X, **kw)
    # A copy seeded from the metric's random_state explains every copy ...
    np.testing.assert_allclose(scores, metric(seeded, X, **kw), rtol=1e-6)
    assert unseeded.random_state is None  # ... the user's explainer untouched
    if name == "local_lipschitz_estimate":
        # the explanation's own slope, not noise / 1e-9
        assert scores.max() < 1e4
    else:
        assert scores.max() < 1e-5
    # Seeded by the metric, not by the explainer: another seed, another
    # estimate at a radius where the draws matter.
    wide = dict(n_samples=2, radius=0.2)
    assert not np.allclose(
        metric(unseeded, X, random_state=0, **wide),
        metric(unseeded, X, random_state=1, **wide),
    )


# -- constant maps ------------------------------------------------------------


@pytest.mark.parametrize("relative", [True, False], ids=["relative", "absolute"])
@pytest.mark.parametrize("name", list(METRICS))
def test_constant_map_scores_nan_with_one_warning(name, relative, clf, digits):
    # The blank image's map is zero, its perturbed copies' maps are not:
    # max_sensitivity used to divide by the zero norm and return inf.
    X = digits[0][:2].copy()
    X[0] = 0.0
    explainer = ImageExplainer(FrozenEstimator(clf)).fit(X)
    kwargs = {"relative": relative} if name != "local_lipschitz_estimate" else {}
    with pytest.warns(DegenerateExplanationWarning) as record:
        mean, std = METRICS[name](
            explainer, X, n_samples=3, n_repeats=2, return_std=True,
            random_state=0, **kwargs,
        )  # fmt: skip
    assert len(record) == 1
    assert str(record[0].message).startswith(f"{name}: 1 of 2 ")
    assert record[0].filename == __file__  # points at the caller
    assert np.isnan([mean[0], std[0]]).all()
    assert np.isfinite([mean[1], std[1]]).all() and mean[1] > 0


@pytest.mark.parametrize("name", list(METRICS))
def test_no_warning_without_constant_maps(name, clf, digits):
    X = digits[0][:2]
    explainer = ImageExplainer(FrozenEstimator(clf)).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateExplanationWarning)
        scores = METRICS[name](explainer, X, n_samples=2, random_state=0)
    assert np.isfinite(scores).all()


# -- errors -------------------------------------------------------------------


@pytest.mark.parametrize("name", list(METRICS))
def test_unfitted_explainer_raises(name, clf, digits):
    with pytest.raises(NotFittedError, match="not fitted"):
        METRICS[name](SaliencyExplainer(FrozenEstimator(clf)), digits[0][:2])


def test_not_an_explainer_raises(clf, digits):
    with pytest.raises(TypeError, match="fitted sklearn_xai explainer"):
        max_sensitivity(clf, digits[0][:2])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"targets": [0, 1, 2]}, "targets must be None, one class label"),
        ({"targets": [0, 11, 2, 3]}, "not among the estimator's classes_"),
        ({"n_samples": 0}, "'n_samples' parameter of max_sensitivity must be"),
        ({"n_repeats": 1.5}, "'n_repeats' parameter"),
        ({"radius": 0.0}, "'radius' parameter"),
        ({"normalize": "no"}, "'normalize' parameter"),
        ({"sign": "abs"}, "'sign' parameter"),
    ],
    ids=[
        "targets-length",
        "targets-unknown",
        "n_samples",
        "n_repeats",
        "radius",
        "normalize",
        "sign",
    ],
)
def test_bad_arguments_raise(kwargs, match, explainer, digits):
    with pytest.raises(ValueError, match=match):
        max_sensitivity(explainer, digits[0][:4], **kwargs)


def test_bad_noise_raises(explainer, digits):
    with pytest.raises(ValueError, match="'noise' parameter"):
        local_lipschitz_estimate(explainer, digits[0][:2], noise="salt")


def test_wrong_image_size_raises(explainer, digits):
    with pytest.raises(ValueError, match="size"):
        max_sensitivity(explainer, digits[0][:2, :8, :8])


@pytest.mark.parametrize("name", list(METRICS))
def test_direction_is_lower_is_better(name):
    assert METRICS[name].greater_is_better is False
