"""Tests of the faithfulness metrics (deletion/insertion, pixel flipping,
faithfulness correlation, infidelity)."""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier

from sklearn_xai.datasets import load_digit_images
from sklearn_xai.metrics import (
    DegenerateExplanationWarning,
    deletion_auc,
    deletion_curve,
    faithfulness_correlation,
    infidelity,
    insertion_auc,
    insertion_curve,
    pixel_flipping,
)
from sklearn_xai.metrics._checks import check_images
from sklearn_xai.metrics._faithfulness_correlation import _SubsetStream
from sklearn_xai.metrics._perturb import _fill
from sklearn_xai.metrics._pixel_flipping import _region_labels
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.utils._blur import blur_images
from sklearn_xai.utils._seeds import image_rngs

SCALAR_METRICS = {
    "deletion_auc": (deletion_auc, {"n_steps": 8}),
    "insertion_auc": (insertion_auc, {"n_steps": 8}),
    "pixel_flipping": (pixel_flipping, {"region_size": 2}),
    "faithfulness_correlation": (
        faithfulness_correlation,
        {"n_runs": 6, "subset_size": 5, "random_state": 0},
    ),
    "infidelity": (infidelity, {"n_perturbations": 5, "random_state": 0}),
}
RANDOM_METRICS = {
    "faithfulness_correlation": (
        faithfulness_correlation,
        {"n_runs": 6, "subset_size": 5},
    ),
    "infidelity": (infidelity, {"n_perturbations": 5}),
}


class LinearProba(ClassifierMixin, BaseEstimator):
    """Two classes, on flattened images: P(1) = sigmoid(w.x + b) or w.x + b.

    With ``link="identity"`` the probability itself is affine in the pixels,
    so ``w`` is an exact attribution of class 1 (and ``-w`` of class 0).
    """

    def __init__(self, w=None, b=0.0, link="sigmoid"):
        self.w = w
        self.b = b
        self.link = link

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        z = np.asarray(X, dtype=np.float64).reshape(len(X), -1) @ self.w + self.b
        p = expit(z) if self.link == "sigmoid" else z
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digit_images(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def cnn(digits):
    X, y = digits
    return CNNClassifier(module__n_filters=4, max_epochs=2, random_state=0).fit(
        X[:200], y[:200]
    )


@pytest.fixture(scope="module")
def sample(digits):
    X, _ = digits
    x = X[200:206]
    a = np.random.default_rng(0).normal(size=x.shape).astype(np.float32)
    return x, a


@pytest.fixture(scope="module")
def forest(digits):
    X, y = digits
    return RandomForestClassifier(n_estimators=10, random_state=0).fit(
        X[:200].reshape(200, -1), y[:200]
    )


# ------------------------------------------------------------ vs Quantus
@pytest.fixture(scope="module")
def quantus_call(cnn, sample):
    """Run a Quantus metric on the CNN's module with our inputs."""
    quantus = pytest.importorskip("quantus")
    x, a = sample
    module = cnn.module_.eval()
    call = dict(
        model=module,
        x_batch=x[:, np.newaxis].astype(np.float32),
        y_batch=np.asarray(cnn.predict(x)),
        a_batch=a[:, np.newaxis],
        softmax=True,
        channel_first=True,
        device="cpu",
    )
    settings = dict(
        abs=False, normalise=False, return_aggregate=False, disable_warnings=True
    )

    def run(name, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metric = getattr(quantus, name)(**settings, **kwargs)
            return np.asarray(metric(**call), dtype=np.float64)

    return run


def test_deletion_curve_is_quantus_pixel_flipping(cnn, sample, quantus_call):
    x, a = sample
    ours = deletion_curve(cnn, x, a, n_steps=16, baseline="black")
    theirs = quantus_call("PixelFlipping", features_in_step=4, perturb_baseline=0.0)
    np.testing.assert_allclose(ours.scores[:, 1:], theirs, atol=1e-6, rtol=0)
    np.testing.assert_allclose(ours.fractions, np.arange(17) / 16)


def test_pixel_flipping_single_pixels_is_quantus(cnn, sample, quantus_call):
    x, a = sample
    ours = pixel_flipping(cnn, x, a, region_size=1, return_curve=True)
    theirs = quantus_call("PixelFlipping", features_in_step=1, perturb_baseline=0.0)
    np.testing.assert_allclose(ours.scores[:, 1:], theirs, atol=1e-6, rtol=0)
    np.testing.assert_allclose(
        ours.aopc, (ours.scores[:, :1] - ours.scores).mean(axis=1), atol=1e-12
    )


@pytest.mark.parametrize("order", ["morf", "lerf"])
def test_region_perturbation_is_quantus(cnn, sample, quantus_call, order):
    # 3 does not divide 8: Quantus pads, and the grid is centred as there.
    x, a = sample
    ours = pixel_flipping(
        cnn, x, a, region_size=3, n_regions=5, order=order, return_curve=True
    )
    theirs = quantus_call(
        "RegionPerturbation",
        patch_size=3,
        regions_evaluation=5,
        order=order,
        perturb_baseline=0.0,
    )
    drops = ours.scores[:, :1] - ours.scores[:, 1:]
    np.testing.assert_allclose(drops, theirs, atol=1e-6, rtol=0)
    np.testing.assert_allclose(ours.aopc, theirs.sum(axis=1) / 6, atol=1e-6)


def test_faithfulness_correlation_is_quantus(cnn, sample, quantus_call, monkeypatch):
    # Quantus draws one subset per np.random.choice call, run by run and image
    # by image; it is handed the subsets we draw from the same random_state,
    # each image's from its own stream (seeded by 3 and the image).
    x, a = sample
    per_image = [
        _SubsetStream(rng, 64, 8).take(10) for rng in image_rngs(3, check_images(x)[0])
    ]
    subsets = iter([rows[run] for run in range(10) for rows in per_image])
    monkeypatch.setattr(np.random, "choice", lambda *args, **kwargs: next(subsets))
    theirs = quantus_call(
        "FaithfulnessCorrelation", nr_runs=10, subset_size=8, perturb_baseline=0.0
    )
    monkeypatch.undo()
    assert next(subsets, None) is None  # Quantus took them all
    ours = faithfulness_correlation(
        cnn, x, a, n_runs=10, subset_size=8, baseline="black", random_state=3
    )
    np.testing.assert_allclose(ours, theirs, atol=1e-6, rtol=0)


@pytest.mark.parametrize("n_pixels, count", [(8, 2), (7, 3), (6, 5)])
def test_subsets_are_uniform(n_pixels, count):
    rows = _SubsetStream(np.random.RandomState(0), n_pixels, count).take(60_000)
    rows = np.sort(rows, axis=1)
    assert (np.diff(rows, axis=1) > 0).all()  # distinct pixels
    _, counts = np.unique(rows, axis=0, return_counts=True)
    expected = len(rows) / math.comb(n_pixels, count)
    assert len(counts) == math.comb(n_pixels, count)
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < stats.chi2.ppf(0.999, len(counts) - 1)


def test_infidelity_is_quantus_given_the_same_noise(cnn, sample, quantus_call):
    # Quantus's Infidelity perturbs by patches; its perturb_func is handed our
    # Gaussian draws (one per call with a single 8x8 patch), so both compute
    # mean_k (a.I_k - (f(x) - f(x - I_k)))^2 on the same I_k.
    x, a = sample
    n, n_perturbations = len(x), 5
    scale = 0.1 * x.reshape(n, -1).std(axis=1, dtype=np.float64)
    # Each image draws from its own stream (seeded by 7 and the image).
    rngs = image_rngs(7, check_images(x)[0])
    noise = np.stack([rng.standard_normal((n_perturbations, 8, 8)) for rng in rngs])
    noise = noise * scale[:, np.newaxis, np.newaxis, np.newaxis]
    flat = noise.transpose(1, 0, 2, 3).reshape(n_perturbations, n, -1)
    calls = []

    def perturb(arr, indices, **kwargs):
        calls.append(1)
        return arr - flat[len(calls) - 1]

    theirs = quantus_call(
        "Infidelity",
        perturb_func=perturb,
        perturb_patch_sizes=[8],
        n_perturb_samples=n_perturbations,
    )
    ours = infidelity(
        cnn, x, a, n_perturbations=n_perturbations, noise_scale=0.1,
        normalize=False, random_state=7,
    )  # fmt: skip
    assert len(calls) == n_perturbations
    np.testing.assert_allclose(ours, theirs, atol=1e-6, rtol=1e-6)


# ---------------------------------------------- independent loop, closed form
def _naive_curve(clf, images, a, n_steps, fill, insert):
    """Image by image, step by step, one predict_proba call each."""
    n, h, w = a.shape
    p = h * w
    target = clf.predict_proba(images.reshape(n, -1)).argmax(axis=1)
    scores = np.zeros((n, n_steps + 1))
    for i in range(n):
        order = np.argsort(-a[i].ravel(), kind="stable")
        for k in range(n_steps + 1):
            chosen = order[: k * p // n_steps]
            if insert:
                image = np.full(p, fill, dtype=np.float64)
                image[chosen] = images[i].ravel()[chosen]
            else:
                image = images[i].ravel().astype(np.float64)
                image[chosen] = fill
            scores[i, k] = clf.predict_proba(image[np.newaxis])[0, target[i]]
    return scores


@pytest.mark.parametrize("insert", [False, True], ids=["deletion", "insertion"])
@pytest.mark.parametrize("n_steps", [1, 5, 64])
def test_curves_match_a_naive_loop(insert, n_steps):
    rng = np.random.default_rng(1)
    clf = LinearProba(w=rng.normal(size=64)).fit(None)
    images = rng.random((4, 8, 8))
    a = rng.normal(size=(4, 8, 8))  # no ties (see test_ties_* for those)
    func = insertion_curve if insert else deletion_curve
    curve = func(clf, images.reshape(4, -1), a, n_steps=n_steps, baseline=0.25,
                 image_shape=(8, 8), batch_size=7)  # fmt: skip
    expected = _naive_curve(clf, images, a, n_steps, 0.25, insert)
    np.testing.assert_allclose(curve.scores, expected, atol=1e-12)
    auc = (insertion_auc if insert else deletion_auc)(
        clf, images.reshape(4, -1), a, n_steps=n_steps, baseline=0.25,
        image_shape=(8, 8),
    )  # fmt: skip
    np.testing.assert_allclose(auc, np.trapezoid(expected, curve.fractions), atol=1e-12)


@pytest.mark.parametrize("n_steps", [4, 16, 64])
def test_auc_closed_form_for_a_uniform_linear_model(n_steps):
    # P(1) = 0.1 + c * sum(x) on an all-ones image: deleting (or inserting on
    # black) a fraction t of the pixels gives 0.1 + c * P * (1 - t) (or t),
    # whose area is 0.1 + c * P / 2 exactly, in any order.
    c = 0.01
    clf = LinearProba(w=np.full(64, c), b=0.1, link="identity").fit(None)
    X = np.ones((3, 64))
    a = np.random.default_rng(0).normal(size=(3, 8, 8))
    for func in (deletion_auc, insertion_auc):
        auc = func(clf, X, a, targets=1, n_steps=n_steps, baseline="black",
                   image_shape=(8, 8))  # fmt: skip
        np.testing.assert_allclose(auc, 0.1 + c * 64 / 2, atol=1e-12)


@pytest.fixture(scope="module")
def linear_case():
    """A sigmoid model, images, its exact attributions and random ones."""
    rng = np.random.default_rng(2)
    w = rng.normal(size=64)
    clf = LinearProba(w=w, b=-0.5 * w.sum()).fit(None)
    X = rng.random((12, 64))
    exact = (w * X).reshape(12, 8, 8)  # contribution of each pixel to the logit
    random = rng.normal(size=(12, 8, 8))
    return clf, X, exact, random


def test_exact_attributions_beat_random_ones(linear_case):
    clf, X, exact, random = linear_case
    kw = dict(targets=1, image_shape=(8, 8), n_steps=16, baseline="black")
    assert deletion_auc(clf, X, exact, **kw).mean() < (
        deletion_auc(clf, X, random, **kw).mean()
    )
    assert insertion_auc(clf, X, exact, **kw).mean() > (
        insertion_auc(clf, X, random, **kw).mean()
    )
    kw = dict(targets=1, image_shape=(8, 8), region_size=2)
    assert pixel_flipping(clf, X, exact, **kw).mean() > (
        pixel_flipping(clf, X, random, **kw).mean()
    )
    assert pixel_flipping(clf, X, exact, **kw).mean() > (
        pixel_flipping(clf, X, exact, order="lerf", **kw).mean()
    )
    kw = dict(targets=1, image_shape=(8, 8), n_runs=30, subset_size=8, random_state=0)
    assert faithfulness_correlation(clf, X, exact, **kw).mean() > 0.8
    assert abs(faithfulness_correlation(clf, X, random, **kw).mean()) < 0.3


def test_exact_linear_attributions_have_zero_infidelity_and_unit_correlation():
    # P(1) = b + w.x: f(x) - f(x - I) = w.I exactly.
    rng = np.random.default_rng(3)
    w = rng.normal(size=64) * 1e-3
    clf = LinearProba(w=w, b=0.5, link="identity").fit(None)
    X = rng.random((5, 64))
    kw = dict(image_shape=(8, 8), n_perturbations=20, random_state=0)
    exact = np.broadcast_to(w.reshape(8, 8), (5, 8, 8))
    for normalize in (True, False):
        kw["normalize"] = normalize
        assert np.abs(infidelity(clf, X, exact, targets=1, **kw)).max() < 1e-20
        assert np.abs(infidelity(clf, X, -exact, targets=0, **kw)).max() < 1e-20
    # Taken as they are (normalize=False), maps in another unit score badly...
    assert infidelity(clf, X, exact * 2, targets=1, **kw).min() > 1e-8
    # ...while the default least-squares rescaling (the authors') removes any
    # positive scale, and no sign flip: -a predicts no better than no change.
    kw["normalize"] = True
    assert np.abs(infidelity(clf, X, exact * 7, targets=1, **kw)).max() < 1e-20
    flipped = infidelity(clf, X, -exact, targets=1, **kw)
    # beta = 0: E[(0 - w.I)^2], which is also E[(2 w.I - w.I)^2] unscaled.
    no_change = infidelity(clf, X, exact * 2, targets=1, **{**kw, "normalize": False})
    np.testing.assert_allclose(flipped, no_change, rtol=1e-9)
    assert flipped.min() > 1e-8
    # removing pixels from a zero baseline drops P(1) by exactly sum(w * x)
    contributions = exact * X.reshape(5, 8, 8)
    fc = faithfulness_correlation(
        clf, X, contributions, targets=1, image_shape=(8, 8), n_runs=10, random_state=0
    )
    np.testing.assert_allclose(fc, 1.0, atol=1e-12)


# ------------------------------------------------- colour closed forms
def rgb_linear_case(dtype):
    """P(1) = b + sum_hwc w_hwc x_hwc on RGB images, and its exact attributions.

    ``gradient`` is d P(1) / d pixel, summed over the channels (the change of
    P(1) per unit change of a whole pixel); ``contributions`` is
    ``sum_c w_hwc x_hwc``, what removing the pixel (to 0) takes from P(1).
    """
    rng = np.random.default_rng(11)
    if dtype == np.uint8:
        images = rng.integers(0, 256, size=(4, 8, 8, 3), dtype=np.uint8)
        w = rng.normal(size=(8, 8, 3)) * 2e-5
    else:
        images = rng.random((4, 8, 8, 3))
        w = rng.normal(size=(8, 8, 3)) * 5e-3
    clf = LinearProba(w=w.ravel(), b=0.5, link="identity").fit(None)
    gradient = np.broadcast_to(w.sum(axis=-1), (4, 8, 8))
    contributions = (w * images).sum(axis=-1)
    return clf, images, gradient, contributions


@pytest.mark.parametrize("dtype", [np.float64, np.uint8], ids=["float", "uint8"])
def test_rgb_closed_forms_of_every_faithfulness_metric(dtype):
    clf, images, gradient, c = rgb_linear_case(dtype)
    flat = images.reshape(4, -1)
    kw = dict(targets=1, image_shape=(8, 8, 3))
    p0 = clf.predict_proba(flat)[:, 1]
    # Infidelity: one noise value per pixel predicts the change exactly (it
    # was 3.3e-7 on RGB, above the 1.3e-7 of a map 10 times too small, with
    # noise drawn per channel, against 2e-33 on gray images).
    for normalize in (False, True):
        score = infidelity(clf, flat, gradient, normalize=normalize,
                           random_state=0, **kw)  # fmt: skip
        assert np.abs(score).max() < 1e-25
    assert infidelity(clf, flat, gradient * 0.1, normalize=False,
                      random_state=0, **kw).min() > 1e-9  # fmt: skip
    # Faithfulness correlation: removing S to black drops P(1) by sum_S c.
    fc = faithfulness_correlation(clf, flat, c, n_runs=10, random_state=0, **kw)
    np.testing.assert_allclose(fc, 1.0, atol=1e-9)
    # Deletion / insertion, one pixel per step: cumulative sums of the
    # contributions in decreasing order (no ties in c).
    removed = np.concatenate(
        [np.zeros((4, 1)), np.cumsum(-np.sort(-c.reshape(4, -1)), axis=1)], axis=1
    )
    curve = deletion_curve(clf, flat, c, n_steps=64, baseline="black", **kw)
    np.testing.assert_allclose(curve.scores, p0[:, None] - removed, atol=1e-12)
    curve = insertion_curve(clf, flat, c, n_steps=64, baseline="black", **kw)
    np.testing.assert_allclose(curve.scores, 0.5 + removed, atol=1e-12)
    # Pixel flipping on 2x2 regions: the regions' sums of contributions.
    sums = c.reshape(4, 4, 2, 4, 2).sum(axis=(2, 4)).reshape(4, -1)
    drops = np.concatenate(
        [np.zeros((4, 1)), np.cumsum(-np.sort(-sums), axis=1)], axis=1
    )
    aopc = pixel_flipping(clf, flat, c, region_size=2, **kw)
    np.testing.assert_allclose(aopc, drops.mean(axis=1), atol=1e-12)


# ----------------------------------------------------------------- ties
def tied_case(n_images=300):
    """Rows 0-3 of an 8x8 map tie at 1, rows 4-7 at 0; the model weighs the
    top rows more (row r weighs 8 - r), so a raster order of the ties would
    remove heavy pixels first."""
    rng = np.random.default_rng(12)
    w = np.repeat(8.0 - np.arange(8), 8) * 1e-3
    clf = LinearProba(w=w, b=0.1, link="identity").fit(None)
    X = rng.random((n_images, 64))
    a = np.zeros((n_images, 8, 8))
    a[:, :4] = 1.0
    c = w * X  # contributions; the top group is pixels 0-31
    top, bottom = c[:, :32].sum(axis=1), c[:, 32:].sum(axis=1)
    k = np.arange(65)
    p0 = 0.1 + c.sum(axis=1)
    # The expectation over random tie orders: each tied group is removed
    # uniformly, so the expected drop is linear within a group.
    expected = p0[:, None] - np.where(
        k <= 32,
        k / 32 * top[:, None],
        top[:, None] + (k - 32) / 32 * bottom[:, None],
    )
    raster = p0[:, None] - np.concatenate(
        [np.zeros((n_images, 1)), np.cumsum(c, axis=1)], axis=1
    )
    return clf, X, a, expected, raster


def test_ties_are_removed_in_a_random_order_not_raster_order():
    clf, X, a, expected, raster = tied_case()
    kw = dict(targets=1, image_shape=(8, 8), baseline="black")
    curve = deletion_curve(clf, X, a, n_steps=64, **kw)
    # Where a tied group is complete, every order agrees: exact.
    at = [0, 32, 64]
    np.testing.assert_allclose(curve.scores[:, at], expected[:, at], atol=1e-12)
    # Inside a group, one random order per image: unbiased for the
    # expectation (the rule of relevance rank, top-k and the pointing game),
    # where raster order is biased by the position of the ties.
    bias = np.abs((curve.scores - expected).mean(axis=0)).max()
    raster_bias = np.abs((raster - expected).mean(axis=0)).max()
    assert raster_bias > 0.005
    assert bias < raster_bias / 5
    # And the areas follow: the mean AUC is the expected one.
    auc = deletion_auc(clf, X, a, n_steps=64, **kw)
    expected_auc = np.trapezoid(expected, curve.fractions, axis=1)
    raster_auc = np.trapezoid(raster, curve.fractions, axis=1)
    assert (
        abs(auc.mean() - expected_auc.mean())
        < abs(raster_auc.mean() - expected_auc.mean()) / 10
    )
    # Insertion and pixel flipping order the ties by the same rule.
    inserted = insertion_curve(clf, X[:20], a[:20], n_steps=64, **kw)
    p0 = clf.predict_proba(X[:20])[:, 1, None]
    # revealing on black restores what deleting takes: 0.1 + (p0 - deletion)
    np.testing.assert_allclose(inserted.scores, 0.1 + p0 - curve.scores[:20],
                               atol=1e-12)  # fmt: skip
    flipped = pixel_flipping(clf, X[:20], a[:20], return_curve=True, **kw)
    np.testing.assert_allclose(flipped.scores, curve.scores[:20], atol=1e-12)


def test_tie_order_is_deterministic_and_independent_of_the_batch():
    clf, X, a, _, _ = tied_case(n_images=6)
    kw = dict(targets=1, image_shape=(8, 8), n_steps=64)
    full = deletion_curve(clf, X, a, **kw).scores
    np.testing.assert_array_equal(deletion_curve(clf, X, a, **kw).scores, full)
    order = [4, 1, 5, 0, 3, 2]
    np.testing.assert_allclose(deletion_curve(clf, X[order], a[order], **kw).scores,
                               full[order], rtol=0, atol=1e-15)  # fmt: skip
    for i in range(6):
        alone = deletion_curve(clf, X[i : i + 1], a[i : i + 1], **kw).scores
        np.testing.assert_allclose(alone[0], full[i], rtol=0, atol=1e-15)
    # (Equal up to the rounding of the model's matrix product per batch.)
    # float32 maps of the same values break ties the same way.
    np.testing.assert_array_equal(
        deletion_curve(clf, X, a.astype(np.float32), **kw).scores, full
    )


# ---------------------------------------------- position-free random draws
@pytest.mark.parametrize("name", list(SCALAR_METRICS))
def test_an_image_scores_the_same_alone_and_in_any_batch(forest, digits, name):
    # Every metric, stochastic or with ties to break: an image's score
    # depends on the image, its map and random_state, not on the batch.
    # (Before, faithfulness_correlation and infidelity laid their draws out
    # across the batch, so a score changed with the other images.)
    func, kw = SCALAR_METRICS[name]
    X = digits[0][200:206].reshape(6, -1)
    a = np.random.default_rng(0).normal(size=(6, 8, 8))
    a[:, 4:] = 0.0  # ties
    kw = dict(image_shape=(8, 8), **kw)
    full = func(forest, X, a, **kw)
    for i in range(6):
        np.testing.assert_array_equal(func(forest, X[i : i + 1], a[i : i + 1], **kw),
                                      full[i : i + 1])  # fmt: skip
    order = [5, 2, 0, 4, 1, 3]
    np.testing.assert_array_equal(func(forest, X[order], a[order], **kw), full[order])
    twice = func(forest, np.concatenate([X, X[:2]]), np.concatenate([a, a[:2]]), **kw)
    np.testing.assert_array_equal(twice, np.concatenate([full, full[:2]]))


def test_insertion_auc_of_a_scikit_learn_model_imports_no_torch():
    # The blur of the default baseline used to come from the attribution
    # package (1.8 s of torch and skorch for a LogisticRegression).
    code = (
        "import sys, numpy as np\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn_xai.metrics import insertion_auc\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.random((20, 64)); y = np.arange(20) % 2\n"
        "clf = LogisticRegression().fit(X, y)\n"
        "auc = insertion_auc(clf, X[:3], rng.normal(size=(3, 8, 8)),\n"
        "                    image_shape=(8, 8), n_steps=4)\n"
        "assert np.isfinite(auc).all()\n"
        "print(sorted(m for m in ('torch', 'skorch', 'captum') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --------------------------------------------- models, layouts, batching
@pytest.mark.parametrize("name", list(SCALAR_METRICS))
def test_forest_on_flattened_images_and_batch_size(forest, digits, name):
    func, kw = SCALAR_METRICS[name]
    X = digits[0][200:205]
    flat = X.reshape(5, -1)
    a = np.random.default_rng(0).normal(size=(5, 8, 8))
    scores = [
        func(forest, flat, a, image_shape=(8, 8), batch_size=bs, **kw)
        for bs in (1, 7, 1000)
    ]
    assert scores[0].shape == (5,) and scores[0].dtype == np.float64
    for other in scores[1:]:
        np.testing.assert_array_equal(other, scores[0])


@pytest.mark.parametrize("name", list(SCALAR_METRICS))
def test_cnn_batch_size_and_read_only_inputs(cnn, sample, name):
    func, kw = SCALAR_METRICS[name]
    x, a = sample
    x, a = x.copy(), a.copy()
    x_before, a_before = x.copy(), a.copy()
    x.setflags(write=False)
    a.setflags(write=False)
    small = func(cnn, x, a, batch_size=5, **kw)
    large = func(cnn, x, a, batch_size=64, **kw)
    np.testing.assert_allclose(small, large, atol=1e-6)
    assert np.isfinite(small).all()
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(a, a_before)


@pytest.mark.parametrize("baseline", ["black", "mean", "blur", 0.5])
def test_color_uint8_images_and_baselines(baseline):
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, size=(3, 8, 8, 3), dtype=np.uint8)
    clf = LinearProba(w=rng.normal(size=192) / 2000).fit(None)
    a = rng.normal(size=(3, 8, 8))
    flat = images.reshape(3, -1)
    floats = flat.astype(np.float64)
    for func in (deletion_auc, insertion_auc, pixel_flipping):
        score = func(clf, flat, a, baseline=baseline, image_shape=(8, 8, 3))
        # The same values as the float images (no ties to break): a mean, a
        # blur or 0.5 is kept in floating point, never rounded to 8 bits.
        expected = func(clf, floats, a, baseline=baseline, image_shape=(8, 8, 3))
        np.testing.assert_allclose(score, expected, rtol=0, atol=1e-12)
    # Everything deleted: the image is the fill, whatever its dtype.
    curve = deletion_curve(clf, flat, a, n_steps=1, baseline=baseline,
                           image_shape=(8, 8, 3))  # fmt: skip
    if baseline == "blur":
        filled = blur_images(images)
    elif baseline == "mean":
        filled = np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape)
    else:
        filled = np.full(images.shape, 0.0 if baseline == "black" else baseline)
    target = clf.predict(flat)
    proba = clf.predict_proba(filled.reshape(3, -1))[np.arange(3), target]
    np.testing.assert_allclose(curve.scores[:, 1], proba, rtol=0, atol=1e-12)
    fill = _fill(images, baseline)
    if baseline == "black":
        assert fill.dtype == np.uint8  # 8-bit images stay 8-bit
    else:
        assert fill.dtype.kind == "f"  # not rounded to 8 bits


@pytest.mark.parametrize(
    "func",
    [deletion_auc, insertion_curve, pixel_flipping, faithfulness_correlation],
    ids=lambda f: f.__name__,
)
@pytest.mark.parametrize(
    "baseline, kind, match",
    [
        (-1.0, "uint8", r"baseline=-1.0 is outside the images' range \[0, 255\]"),
        (255.5, "uint8", r"baseline=255.5 is outside the images' range \[0, 255\]"),
        (1e6, "uint8", r"baseline=1000000.0 is outside"),
        (-0.25, "unit", r"baseline=-0.25 is outside the images' range \[0, 1\]"),
        (1.5, "unit", r"baseline=1.5 is outside the images' range \[0, 1\]"),
        (float("nan"), "other", "baseline must be a finite number"),
    ],
    ids=["uint8-negative", "uint8-above", "uint8-overflow", "unit-negative",
         "unit-above", "nan"],
)  # fmt: skip
def test_baselines_outside_the_images_range_are_refused(func, baseline, kind, match):
    # The fill rule the explainers' hide_color and baseline follow too:
    # nothing wraps (-1 becoming 255), saturates or overflows.
    rng = np.random.default_rng(0)
    images = {
        "uint8": rng.integers(0, 256, size=(2, 8, 8), dtype=np.uint8),
        "unit": rng.random((2, 8, 8)),
        "other": rng.normal(size=(2, 8, 8)),
    }[kind]
    clf = LinearProba(w=rng.normal(size=64) / 2000).fit(None)
    a = rng.normal(size=(2, 8, 8))
    with pytest.raises(ValueError, match=match):
        func(clf, images.reshape(2, -1), a, baseline=baseline, image_shape=(8, 8))
    if kind == "other":  # standardized images: any finite number goes
        func(clf, images.reshape(2, -1), a, baseline=-3.0, image_shape=(8, 8))


def test_region_grid_is_centred_like_quantus():
    labels, n = _region_labels(8, 8, 3)
    assert n == 9
    # padding 1: Quantus puts floor(1 / 2) = 0 rows before, 1 after
    np.testing.assert_array_equal(labels[:, 0], [0, 0, 0, 3, 3, 3, 6, 6])


def test_targets_default_to_the_predicted_class(cnn, sample):
    x, a = sample
    predicted = cnn.predict(x)
    np.testing.assert_array_equal(
        deletion_auc(cnn, x, a, n_steps=4),
        deletion_auc(cnn, x, a, n_steps=4, targets=predicted),
    )
    one_label = deletion_auc(cnn, x, a, n_steps=4, targets=predicted[0])
    assert one_label[0] == deletion_auc(cnn, x, a, n_steps=4)[0]


# ----------------------------------------------------- randomness, repeats
@pytest.mark.parametrize("name", list(RANDOM_METRICS))
def test_random_state_and_repeats(forest, digits, name):
    func, kw = RANDOM_METRICS[name]
    flat = digits[0][200:204].reshape(4, -1)
    a = np.random.default_rng(0).normal(size=(4, 8, 8))
    kw = dict(image_shape=(8, 8), **kw)
    first = func(forest, flat, a, random_state=0, **kw)
    np.testing.assert_array_equal(first, func(forest, flat, a, random_state=0, **kw))
    assert not np.array_equal(first, func(forest, flat, a, random_state=1, **kw))
    mean, std = func(forest, flat, a, random_state=0, n_repeats=3, return_std=True,
                     **kw)  # fmt: skip
    assert mean.shape == std.shape == (4,) and (std >= 0).all()
    # repeats continue the stream: the first repeat is the n_repeats=1 result
    mean2, std2 = func(forest, flat, a, random_state=0, n_repeats=2, return_std=True,
                       **kw)  # fmt: skip
    second = 2 * mean2 - first
    np.testing.assert_allclose(np.abs(second - first) / 2, std2, atol=1e-12)
    _, std1 = func(forest, flat, a, random_state=0, return_std=True, **kw)
    np.testing.assert_array_equal(std1, 0)


# ------------------------------------------------------------ constant maps
ALL_METRICS = {
    **SCALAR_METRICS,
    "deletion_curve": (deletion_curve, {"n_steps": 8}),
    "insertion_curve": (insertion_curve, {"n_steps": 8}),
}


def per_image(result):
    """The per-image numbers of a metric's result: scores or a curve's rows."""
    return result.scores if hasattr(result, "scores") else result


@pytest.fixture(scope="module")
def sigmoid_case():
    rng = np.random.default_rng(5)
    clf = LinearProba(w=rng.normal(size=64)).fit(None)
    return clf, rng.random((2, 64)), rng.normal(size=(2, 8, 8))


@pytest.mark.parametrize("name", list(ALL_METRICS))
def test_constant_map_scores_nan_with_one_warning(sigmoid_case, name):
    func, kw = ALL_METRICS[name]
    clf, X, a = sigmoid_case
    a = a.copy()
    a[0] = 0.0
    with pytest.warns(DegenerateExplanationWarning) as record:
        result = per_image(func(clf, X, a, image_shape=(8, 8), **kw))
    assert len(record) == 1
    assert str(record[0].message).startswith(f"{name}: 1 of 2 ")
    assert record[0].filename == __file__  # points at the caller
    assert np.isnan(result[0]).all() and np.isfinite(result[1]).all()


@pytest.mark.parametrize("name", list(ALL_METRICS))
def test_no_warning_without_constant_maps(sigmoid_case, name):
    func, kw = ALL_METRICS[name]
    clf, X, a = sigmoid_case
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(per_image(func(clf, X, a, image_shape=(8, 8), **kw))).all()


@pytest.mark.parametrize("name", list(RANDOM_METRICS))
def test_constant_map_std_and_curve_are_nan_too(sigmoid_case, name):
    func, kw = RANDOM_METRICS[name]
    clf, X, a = sigmoid_case
    a = np.stack([np.full((8, 8), 0.3), a[1]])
    with pytest.warns(DegenerateExplanationWarning, match="1 of 2 ") as record:
        mean, std = func(clf, X, a, image_shape=(8, 8), n_repeats=2,
                         return_std=True, random_state=0, **kw)  # fmt: skip
    assert len(record) == 1
    assert np.isnan([mean[0], std[0]]).all() and np.isfinite([mean[1], std[1]]).all()
    with pytest.warns(DegenerateExplanationWarning, match="1 of 2 "):
        result = pixel_flipping(clf, X, a, image_shape=(8, 8), return_curve=True)
    assert np.isnan(result.aopc[0]) and np.isnan(result.scores[0]).all()
    assert np.isfinite(result.aopc[1]) and np.isfinite(result.scores[1]).all()


def test_readme_lime_maps_score_nan(forest, digits):
    # The README's LIME maps on digits were all zero or ~7e-32 of round-off;
    # deletion_auc scored them (0.72, 0.79, ... by the row-major order of the
    # pixels) as if they were explanations.
    flat = digits[0][200:203].reshape(3, -1)
    noise = np.random.default_rng(0).normal(size=(2, 8, 8)) * 7.2e-32
    a = np.concatenate([np.zeros((1, 8, 8)), noise]).astype(np.float32)
    for func in (deletion_auc, insertion_auc, faithfulness_correlation, infidelity):
        with pytest.warns(DegenerateExplanationWarning, match="3 of 3 "):
            scores = func(forest, flat, a, image_shape=(8, 8))
        np.testing.assert_array_equal(scores, np.nan)


def test_directions():
    assert deletion_auc.greater_is_better is False
    assert insertion_auc.greater_is_better is True
    assert pixel_flipping.greater_is_better is True
    assert faithfulness_correlation.greater_is_better is True
    assert infidelity.greater_is_better is False


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "func, kwargs, match",
    [
        (deletion_auc, {"n_steps": 0}, "n_steps"),
        (deletion_auc, {"n_steps": 65}, "at most the number of pixels"),
        (insertion_curve, {"n_steps": 2.5}, "n_steps"),
        (deletion_auc, {"baseline": "white"}, "baseline"),
        (pixel_flipping, {"order": "random"}, "order"),
        (pixel_flipping, {"region_size": 9}, "region_size must be at most"),
        (pixel_flipping, {"region_size": 4, "n_regions": 5}, "n_regions must be"),
        (faithfulness_correlation, {"subset_size": 64}, "subset_size must leave"),
        (faithfulness_correlation, {"subset_size": 0}, "subset_size"),
        (faithfulness_correlation, {"subset_size": 1.0}, "subset_size"),
        (faithfulness_correlation, {"n_runs": 1}, "n_runs"),
        (infidelity, {"noise_scale": 0}, "noise_scale"),
        (infidelity, {"n_repeats": 0}, "n_repeats"),
        (deletion_auc, {"targets": [0, 1, 2]}, "one label per image"),
        (deletion_auc, {"targets": 42}, "not among the estimator's classes_"),
        (deletion_auc, {"batch_size": 0}, "batch_size"),
    ],
)
def test_parameter_errors(forest, digits, func, kwargs, match):
    flat = digits[0][200:204].reshape(4, -1)
    a = np.zeros((4, 8, 8))
    with pytest.raises(ValueError, match=match):
        func(forest, flat, a, image_shape=(8, 8), **kwargs)


@pytest.mark.parametrize("func", [deletion_auc, faithfulness_correlation, infidelity])
def test_input_errors(forest, digits, func):
    flat = digits[0][200:204].reshape(4, -1)
    a = np.zeros((4, 8, 8))
    kw = dict(image_shape=(8, 8))
    with pytest.raises(ValueError, match="3 maps but X has 4 images"):
        func(forest, flat, a[:3], **kw)
    with pytest.raises(ValueError, match="maps of size 8x7"):
        func(forest, flat, a[:, :, :7], **kw)
    with pytest.raises(ValueError, match="shape \\(n, H, W\\)"):
        func(forest, flat, a[0], **kw)
    bad = a.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        func(forest, flat, bad, **kw)
    bad = flat.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        func(forest, bad, a, **kw)
    with pytest.raises(ValueError, match="image_shape"):
        func(forest, flat, a, image_shape=(8, 9))
