"""RISEExplainer: the paper's formula, reference masks, determinism, memory, errors."""

import math
import pickle
import tracemalloc
import warnings

import cv2
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from sklearn_xai.attribution import RISEExplainer
from sklearn_xai.attribution._rise import (
    auto_mask_size,
    build_masks,
    draw_masks,
    masked_images,
)
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.metrics import DegenerateExplanationWarning, sparseness
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import ImageNormalizer
from sklearn_xai.visualization import overlay_attribution
from sklearn_xai.visualization._overlay import normalize_attribution
from tests._counting import BatchRecorder, count_calls

SIZE = 16


@pytest.fixture(scope="module")
def data():
    X, y = load_digit_images(size=SIZE, as_rgb=True, return_X_y=True)
    return X[:300].astype(np.float32), y[:300]


@pytest.fixture(scope="module")
def cnn(data):
    X, y = data
    return CNNClassifier(
        max_epochs=2, lr=0.01, module__n_filters=8, random_state=0
    ).fit(X, y)


class QuadrantClassifier(ClassifierMixin, BaseEstimator):
    """Class 1 with probability sigmoid(steepness * (top-left mean - 0.5))."""

    def __init__(self, size=SIZE, steepness=10.0):
        self.size = size
        self.steepness = steepness

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        half = self.size // 2
        images = np.asarray(X).reshape(len(X), self.size, self.size, -1)
        mean = images[:, :half, :half].mean(axis=(1, 2, 3))
        p = 1 / (1 + np.exp(-self.steepness * (mean - 0.5)))
        return np.column_stack([1 - p, p])


class RandomLinearClassifier(ClassifierMixin, BaseEstimator):
    """Softmax of fixed random linear scores of the flattened image."""

    def __init__(self, n_classes=3, random_state=0):
        self.n_classes = n_classes
        self.random_state = random_state

    def fit(self, X, y=None):
        X = np.asarray(X).reshape(len(X), -1)
        self.classes_ = np.arange(self.n_classes)
        rng = np.random.default_rng(self.random_state)
        self.coef_ = rng.normal(scale=0.05, size=(X.shape[1], self.n_classes))
        return self

    def predict_proba(self, X):
        scores = np.asarray(X).reshape(len(X), -1) @ self.coef_
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)


def reference_masks(seed, n_masks, s, p_keep, height, width):
    """The masks of the authors' reference code, with cv2's bilinear resize."""
    rng = np.random.RandomState(seed)
    grid = (rng.rand(n_masks, s, s) < p_keep).astype(np.float32)
    cell_h, cell_w = math.ceil(height / s), math.ceil(width / s)
    up = ((s + 1) * cell_w, (s + 1) * cell_h)  # cv2 sizes are (width, height)
    masks = []
    for i in range(n_masks):
        x = rng.randint(0, cell_h)
        y = rng.randint(0, cell_w)
        upsampled = cv2.resize(grid[i], up, interpolation=cv2.INTER_LINEAR)
        masks.append(upsampled[x : x + height, y : y + width])
    return np.array(masks)


def naive_rise(predict_proba, image, target, masks, p_keep, baseline, center=False):
    """saliency = 1 / (N p) sum_i (p_i - c) M_i, p_i = p_target(I M_i + b (1 - M_i)).

    ``c`` is 0 for the paper's map, the mean of the p_i for the centred one.
    """
    scores = []
    for mask in masks:
        masked = image * mask[..., None] + baseline * (1 - mask[..., None])
        scores.append(predict_proba(masked[None])[0, target])
    scores = np.array(scores)
    if center:
        scores = scores - scores.mean()
    return np.einsum("i,ihw->hw", scores, masks) / (len(masks) * p_keep)


def with_seed(explainer, seed):
    """Make ``explainer`` draw every image's masks from ``seed``.

    The reference masks are drawn from a known seed; how an explainer derives
    an image's seed from ``random_state`` is another test's business.
    """

    def seeds(images):
        return [seed] * (images if isinstance(images, int) else len(images))

    explainer._image_seeds = seeds
    return explainer


@pytest.mark.parametrize("center", [False, True], ids=["paper", "centred"])
@pytest.mark.parametrize(
    "n_masks, mask_size, p_keep, baseline, size",
    [
        (12, 4, 0.5, 0.0, (16, 16)),
        (9, 3, 0.3, 0.4, (16, 16)),
        (7, 5, 1.0, 0.0, (13, 10)),
    ],
    ids=["defaults", "sparse-grey-baseline", "odd-size-keep-all"],
)
def test_equals_a_naive_loop_over_the_papers_masks(
    data, n_masks, mask_size, p_keep, baseline, size, center
):
    X, _ = data
    images = X[:2, : size[0], : size[1]]
    flat = images.reshape(2, -1)
    clf = RandomLinearClassifier().fit(flat)
    explainer = RISEExplainer(
        FrozenEstimator(clf),
        n_masks=n_masks,
        mask_size=mask_size,
        p_keep=p_keep,
        baseline=baseline,
        center=center,
        batch_size=4,
        random_state=11,
        image_shape=(*size, 3),
    )
    if p_keep == 1.0:  # every mask keeps everything: a constant map
        with pytest.warns(DegenerateExplanationWarning, match="p_keep=1"):
            explainer.fit(flat)
    else:
        explainer.fit(flat)
    with_seed(explainer, 11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateExplanationWarning)
        ours, details = explainer.explain(flat, target=[0, 2], return_details=True)

    def predict_proba(batch):
        return clf.predict_proba(batch.reshape(len(batch), -1))

    masks = reference_masks(11, n_masks, mask_size, p_keep, *size)
    for i, target in enumerate([0, 2]):
        expected = naive_rise(
            predict_proba, images[i], target, masks, p_keep, baseline, center
        )
        np.testing.assert_allclose(ours[i], expected, rtol=1e-5, atol=1e-7)
        assert details.base_proba[i] == pytest.approx(
            predict_proba(images[i : i + 1])[0, target]
        )
        masked = images[i] * masks[..., None] + baseline * (1 - masks[..., None])
        assert details.mean_score[i] == pytest.approx(
            predict_proba(masked)[:, target].mean()
        )


class LinearProba(ClassifierMixin, BaseEstimator):
    """Two classes; P(1) = 0.5 + w . x, linear in the pixels (small w)."""

    def __init__(self, w=None):
        self.w = w

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = 0.5 + np.asarray(X, dtype=np.float64).reshape(len(X), -1) @ self.w
        return np.column_stack([1 - p, p])


@pytest.mark.parametrize("baseline", [0.0, 0.3])
def test_centred_rise_of_a_linear_model_in_closed_form(data, baseline):
    # For P(1) = 0.5 + sum_y w_y J_y, masked images J = b + (I - b) M give
    # p_i - mean p = sum_y w_y (I_y - b) (M_i(y) - mean M(y)), so
    #   S_c(x) = 1/p sum_y w_y (I_y - b) Cov(M(y), M(x)),
    # the empirical covariance of the masks, exactly. (With independent pixels
    # Cov = p (1 - p) delta: S_c = w (I - E[masked I]).)
    X, _ = data
    image = X[0]
    flat = X[:1].reshape(1, -1)
    w = np.random.default_rng(0).normal(scale=1e-3, size=flat.shape[1])
    n_masks, s, p_keep = 300, 4, 0.5
    explainer = RISEExplainer(
        FrozenEstimator(LinearProba(w).fit(flat)),
        n_masks=n_masks,
        mask_size=s,
        p_keep=p_keep,
        baseline=baseline,
        image_shape=(SIZE, SIZE, 3),
    ).fit(flat)
    ours = with_seed(explainer, 5).explain(flat, target=1)[0]
    masks = reference_masks(5, n_masks, s, p_keep, SIZE, SIZE).astype(np.float64)
    masks = masks.reshape(n_masks, -1)
    centred = masks - masks.mean(axis=0)
    covariance = centred.T @ centred / n_masks  # (H*W, H*W)
    weighted = ((image - baseline) * w.reshape(image.shape)).sum(axis=-1).ravel()
    expected = (weighted @ covariance / p_keep).reshape(SIZE, SIZE)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-9)
    # The pixels the model weighs positively on the image come out positive.
    assert np.corrcoef(ours.ravel(), weighted)[0, 1] > 0.1


def test_centred_maps_show_and_score_what_the_method_means():
    # The paper's map is the mean masked score plus a few percent: shown as it
    # is, every pixel sits high on the colour scale (a solid red overlay) and
    # the complexity metrics see a dense map. The centred map is neither.
    X, y = load_digit_images(return_X_y=True)
    flat = X.reshape(len(X), -1)
    clf = LogisticRegression(max_iter=1000).fit(flat[:500], y[:500])
    images = X[500:508]
    params = dict(n_masks=500, image_shape=(8, 8), random_state=0)
    raw = RISEExplainer(FrozenEstimator(clf), center=False, **params).fit(flat)
    centred = RISEExplainer(FrozenEstimator(clf), **params).fit(flat)
    raw_maps = raw.explain(images.reshape(8, -1))
    maps, details = centred.explain(images.reshape(8, -1), return_details=True)
    # Same masks, same scores: the two differ by the mean masked score times
    # the masks' coverage over p_keep, about the mean score everywhere.
    offset = (raw_maps - maps).reshape(8, -1)
    np.testing.assert_allclose(offset.mean(axis=1), details.mean_score, rtol=0.1)
    red_raw, red_centred = [], []
    for image, r, c in zip(images, raw_maps, maps, strict=True):
        # The colour scale: every raw pixel high on it (at least 0.48 here),
        # while the centred map spans it (its weakest pixels uncoloured).
        assert normalize_attribution(r).min() > 0.4
        assert (normalize_attribution(c) < 0.5).mean() > 0.1
        assert normalize_attribution(c).min() < 0.3
        solid, shown = overlay_attribution(image, r), overlay_attribution(image, c)
        red_raw.append((solid[..., 0] > solid[..., 2] + 40).mean())
        red_centred.append((shown[..., 0] > shown[..., 2] + 40).mean())
    # Share of pixels tinted red: 0.89 to 1 raw, 0.3 to 0.78 centred.
    assert min(red_raw) > 0.85 and np.mean(red_raw) > 0.95
    assert max(red_centred) < 0.85 and np.mean(red_centred) < 0.65
    # Sparseness (a Gini index) reads the offset as a dense map: about 0.05.
    dense, focused = sparseness(raw_maps), sparseness(maps)
    assert (focused > dense + 0.08).all() and focused.mean() > 3 * dense.mean()


def test_constant_classifier_gets_its_probability_everywhere(data):
    X, _ = data
    clf = DummyClassifier(strategy="prior").fit(X[:4].reshape(4, -1), [0, 0, 0, 1])
    n_masks, p_keep = 1500, 0.5  # more masks than one chunk of grid draws
    explainer = RISEExplainer(
        FrozenEstimator(clf),
        n_masks=n_masks,
        mask_size=4,
        p_keep=p_keep,
        center=False,
        random_state=5,
        image_shape=(SIZE, SIZE, 3),
    ).fit(X.reshape(len(X), -1))
    with_seed(explainer, 5)
    saliency = explainer.explain(X[:1].reshape(1, -1), target=0)[0]
    # Exactly c * mean_i(M_i) / p_keep ...
    masks = reference_masks(5, n_masks, 4, p_keep, SIZE, SIZE)
    expected = 0.75 * masks.sum(axis=0, dtype=np.float64) / (n_masks * p_keep)
    np.testing.assert_allclose(saliency, expected, rtol=1e-6)
    # ... which converges to c, since E[M] = p_keep.
    assert saliency.mean() == pytest.approx(0.75, abs=0.02)
    np.testing.assert_allclose(saliency, 0.75, atol=0.1)
    # Centred, nothing is left: a constant model has no explanation, and the
    # explainer says so.
    explainer.set_params(center=True)
    with pytest.warns(DegenerateExplanationWarning, match="1 of 1 attribution maps"):
        centred = explainer.explain(X[:1].reshape(1, -1), target=0)[0]
    np.testing.assert_allclose(centred, 0.0, atol=1e-12)


def test_saliency_concentrates_where_the_classifier_looks():
    images = np.ones((1, SIZE, SIZE, 1))
    explainer = RISEExplainer(
        QuadrantClassifier(), n_masks=1000, mask_size=4, random_state=0
    ).fit(images, [1])
    saliency = explainer.explain(images, target=1)[0]
    inside = np.zeros((SIZE, SIZE), dtype=bool)
    inside[: SIZE // 2, : SIZE // 2] = True
    # Far from the quadrant (beyond the bilinear blur of one grid cell).
    far = np.ones((SIZE, SIZE), dtype=bool)
    far[: SIZE // 2 + 4, : SIZE // 2 + 4] = False
    gap = saliency[inside].mean() - saliency[far].mean()
    assert gap > 10 * saliency[far].std(), (gap, saliency[far].std())
    assert saliency[inside].min() > saliency[far].max()
    # The most salient quarter of the pixels is (almost all) the quadrant.
    top = np.argsort(saliency.ravel())[-inside.sum() :]
    assert inside.ravel()[top].mean() > 0.85


def test_explains_a_forest_on_flattened_images(data):
    X, y = data
    flat = X.reshape(len(X), -1)
    explainer = RISEExplainer(
        RandomForestClassifier(n_estimators=10, random_state=0),
        n_masks=64,
        mask_size=4,
        random_state=0,
        image_shape=(SIZE, SIZE, 3),
    ).fit(flat, y)
    attributions = explainer.explain(flat[:2])
    assert attributions.shape == (2, SIZE, SIZE) and attributions.dtype == np.float32
    assert np.isfinite(attributions).all()
    assert (explainer.set_params(center=False).explain(flat[:2]) >= 0).all()
    assert explainer.transform(flat[:2]).shape == (2, SIZE * SIZE)


def test_explains_a_frozen_cnn_and_a_pipeline_ending_in_one(cnn, data):
    X, y = data
    pipe = Pipeline(
        [
            ("normalize", ImageNormalizer()),
            ("cnn", CNNClassifier(max_epochs=1, module__n_filters=8, random_state=0)),
        ]
    ).fit(X[:100], y[:100])
    for model in (cnn, pipe):
        explainer = RISEExplainer(
            FrozenEstimator(model), n_masks=64, mask_size=4, random_state=0
        ).fit(X)
        attributions, details = explainer.explain(X[:2], return_details=True)
        assert attributions.shape == (2, SIZE, SIZE)
        assert np.isfinite(attributions).all() and attributions.max() > 0
        proba = model.predict_proba(X[:2])
        np.testing.assert_allclose(details.base_proba, proba.max(axis=1), rtol=1e-6)


def test_batch_size_and_seeds(cnn, data):
    X, _ = data
    explainer = RISEExplainer(
        FrozenEstimator(cnn), n_masks=40, mask_size=4, random_state=3
    ).fit(X)
    first = explainer.explain(X[:2])
    # The same fitted explainer repeats itself bitwise, also on a later call.
    np.testing.assert_array_equal(explainer.explain(X[:2]), first)
    for batch_size in (7, 40):
        other = clone(explainer).set_params(batch_size=batch_size).fit(X)
        np.testing.assert_allclose(other.explain(X[:2]), first, rtol=0, atol=1e-6)
    different = clone(explainer).set_params(random_state=4).fit(X)
    assert not np.array_equal(different.explain(X[:1]), first[:1])
    # An image's explanation does not depend on its place in the batch.
    np.testing.assert_array_equal(explainer.explain(X[1:2])[0], first[1])
    np.testing.assert_array_equal(explainer.explain(X[[1, 0]]), first[[1, 0]])


def test_batch_size_and_n_jobs_do_not_change_results_bitwise(data):
    # A model whose scores do not depend on how rows are batched (BLAS-based
    # models may round differently per batch size): the saliency is bitwise
    # identical for every batch size and number of jobs.
    X, _ = data
    params = dict(n_masks=120, mask_size=4, random_state=0)
    model = FrozenEstimator(QuadrantClassifier().fit(X))
    reference = RISEExplainer(model, **params).fit(X).explain(X[:3])
    for extra in [{"batch_size": 1}, {"batch_size": 50}, {"n_jobs": 2}]:
        explainer = RISEExplainer(model, **params, **extra)
        np.testing.assert_array_equal(explainer.fit(X).explain(X[:3]), reference)


def test_unseeded_explainer_differs_between_calls(data):
    X, _ = data
    explainer = RISEExplainer(QuadrantClassifier(), n_masks=50).fit(X, [1])
    assert not np.array_equal(explainer.explain(X[:1]), explainer.explain(X[:1]))


def test_images_do_not_share_their_sampling_error(data):
    # Each image draws its masks from its own seed (random_state and the
    # image): averaged over 40 images of a constant classifier, the paper's
    # (uncentred) maps leave a spatial pattern of 0.6% of their mean, against
    # 2.6% when every image shares one seed (3.8% in the setting):
    # that pattern is the masks' sampling error, which then survives into
    # dataset-level aggregates (feature selection, surrogates).
    X, y = data
    images = X[:40]
    clf = DummyClassifier(strategy="prior").fit(images.reshape(40, -1), y[:40])
    explainer = RISEExplainer(
        clf, n_masks=500, mask_size=4, center=False, random_state=0
    ).fit(images, y[:40])

    def pattern(maps):
        mean = maps.mean(axis=0)
        return mean.std() / mean.mean()

    per_image = explainer.explain(images)
    targets = np.argmax(clf.predict_proba(images.reshape(40, -1)), axis=1)
    shared, _ = explainer._explain(images, targets, [0] * 40)
    assert pattern(shared) > 0.02
    assert pattern(per_image) < pattern(shared) / 3
    # Still one seed per image content: the same image, the same map.
    np.testing.assert_array_equal(explainer.explain(images[[7, 7]])[1], per_image[7])


def test_peak_memory_is_bounded_by_batch_size():
    rng = np.random.default_rng(0)
    images = rng.random((1, 96, 96, 3), dtype=np.float32)

    def peak(n_masks):
        explainer = RISEExplainer(
            QuadrantClassifier(size=96),
            n_masks=n_masks,
            batch_size=32,
            random_state=0,
        ).fit(images, [1])
        explainer.explain(images)  # warm up (lazy imports)
        tracemalloc.start()
        explainer.explain(images)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(500), peak(5000)
    # One batch of masked images alone is 32 * 96 * 96 * 3 * 4 bytes.
    assert small > 32 * 96 * 96 * 3 * 4
    assert large <= 1.5 * small, (small, large)


def test_clone_params_and_pickle(cnn, data):
    X, _ = data
    explainer = RISEExplainer(LogisticRegression(C=0.5), n_masks=10, p_keep=0.3)
    params = explainer.get_params(deep=True)
    assert params["estimator__C"] == 0.5 and params["p_keep"] == 0.3
    cloned = clone(explainer).set_params(estimator__C=2.0, mask_size=3)
    assert cloned.estimator.C == 2.0 and explainer.estimator.C == 0.5
    assert cloned.mask_size == 3 and explainer.mask_size == "auto"

    fitted = RISEExplainer(
        FrozenEstimator(cnn), n_masks=30, mask_size=4, random_state=0
    ).fit(X)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.explain(X[:2]), fitted.explain(X[:2]))


def test_input_is_not_modified(data):
    X, _ = data
    flat = X[:2].reshape(2, -1).copy()
    before = flat.copy()
    RISEExplainer(
        RandomLinearClassifier(), n_masks=20, baseline=0.5, image_shape=(16, 16, 3)
    ).fit(flat, [0, 1]).explain(flat)
    np.testing.assert_array_equal(flat, before)


def test_bad_input_gets_clear_errors(cnn, data):
    X, _ = data
    frozen = FrozenEstimator(cnn)
    for p_keep in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match="'p_keep' parameter"):
            RISEExplainer(frozen, p_keep=p_keep).fit(X)
    with pytest.raises(ValueError, match="'n_masks' parameter"):
        RISEExplainer(frozen, n_masks=0).fit(X)
    with pytest.raises(ValueError, match="'mask_size' parameter"):
        RISEExplainer(frozen, mask_size=0).fit(X)
    with pytest.raises(ValueError, match="'baseline' parameter"):
        RISEExplainer(frozen, baseline="mean").fit(X)
    with pytest.raises(ValueError, match="'center' parameter"):
        RISEExplainer(frozen, center="yes").fit(X)
    with pytest.raises(ValueError, match="'mask_size' parameter"):
        RISEExplainer(frozen, mask_size="big").fit(X)

    explainer = RISEExplainer(frozen, n_masks=10, mask_size=4)
    with pytest.raises(NotFittedError):
        explainer.explain(X[:1])
    explainer.fit(X)
    with pytest.raises(ValueError, match="size 8x8, but RISEExplainer was"):
        explainer.explain(np.zeros((1, 8, 8, 3)))
    bad = X[:2].copy()
    bad[1, 3, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        explainer.explain(bad)
    with pytest.raises(ValueError, match=r"labels \[42\] that are not among"):
        explainer.explain(X[:2], target=[1, 42])
    with pytest.raises(ValueError, match="requires y to be passed"):
        RISEExplainer(LogisticRegression()).fit(X)


@pytest.mark.parametrize(
    "size, expected",
    [((4, 4), 2), ((8, 8), 2), ((12, 9), 2), ((16, 16), 4), ((32, 32), 8),
     ((224, 224), 8), ((20, 100), 5)],
)  # fmt: skip
def test_mask_size_follows_the_image_size(size, expected):
    assert auto_mask_size(*size) == expected
    images = np.random.default_rng(0).random((2, *size, 1))
    explainer = RISEExplainer(RandomLinearClassifier(), n_masks=4)
    assert explainer.fit(images, [0, 1]).mask_size_ == expected
    explainer.set_params(mask_size=3)
    assert explainer.fit(images, [0, 1]).mask_size_ == 3


def test_default_maps_of_8x8_digits_are_not_degenerate():
    X, y = load_digit_images(return_X_y=True)
    flat = X.reshape(len(X), -1)
    clf = LogisticRegression(max_iter=1000).fit(flat[:500], y[:500])
    explainer = RISEExplainer(
        FrozenEstimator(clf), n_masks=300, image_shape=(8, 8), random_state=0
    ).fit(flat)
    assert explainer.mask_size_ == 2  # 4-pixel cells, not the 1-pixel 8x8 grid
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateExplanationWarning)
        maps = explainer.explain(flat[500:510])
    assert (np.ptp(maps.reshape(10, -1), axis=1) > 1e-3).all()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"mask_size": 1}, "mask_size=1 makes every mask uniform.*mask_size='auto'"),
        ({"p_keep": 1.0}, "p_keep=1 keeps every grid cell.*p_keep < 1"),
    ],
    ids=["one-cell", "keep-all"],
)
def test_set_ups_that_give_constant_maps_warn_at_fit(data, params, match):
    X, _ = data
    explainer = RISEExplainer(RandomLinearClassifier(), n_masks=8, **params)
    with pytest.warns(DegenerateExplanationWarning, match=match):
        explainer.fit(X[:4], [0, 1, 2, 0])
    with pytest.warns(DegenerateExplanationWarning, match="2 of 2 attribution maps"):
        maps = explainer.explain(X[:2])
    assert (
        np.ptp(maps.reshape(2, -1), axis=1) <= 1e-6 * np.abs(maps).max() + 1e-12
    ).all()


@pytest.mark.parametrize(
    "baseline, images, match",
    [
        (-1.0, "uint8", r"baseline=-1.0 is outside the images' range \[0, 255\]"),
        (256.0, "uint8", r"baseline=256.0 is outside the images' range \[0, 255\]"),
        (1e6, "uint8", r"baseline=1000000.0 is outside"),
        (-0.5, "unit", r"baseline=-0.5 is outside the images' range \[0, 1\]"),
        (1.5, "unit", r"baseline=1.5 is outside the images' range \[0, 1\]"),
        (float("nan"), "unit", "baseline must be a finite number"),
        (float("inf"), "other", "baseline must be a finite number"),
    ],
    ids=["uint8-negative", "uint8-256", "uint8-overflow", "unit-negative",
         "unit-above-one", "nan", "inf"],
)  # fmt: skip
def test_baselines_outside_the_images_range_are_refused(data, baseline, images, match):
    X, _ = data
    X = {
        "uint8": np.round(X * 255).astype(np.uint8),
        "unit": X,
        "other": X * 4 - 2,
    }[images]
    with pytest.raises(ValueError, match=match):
        RISEExplainer(RandomLinearClassifier(), baseline=baseline).fit(X, [0] * len(X))


@pytest.mark.filterwarnings("ignore::sklearn_xai.metrics.DegenerateExplanationWarning")
def test_fractional_baselines_on_uint8_images_are_kept_exactly(data):
    X, _ = data
    u8 = np.round(X[:2] * 255).astype(np.uint8)
    seen = []

    class Recorder(RandomLinearClassifier):
        def predict_proba(self, X):
            seen.append(np.asarray(X))
            return super().predict_proba(X)

    explainer = RISEExplainer(
        Recorder(), n_masks=4, mask_size=4, baseline=127.6, random_state=0
    ).fit(u8, [0, 1])
    seen.clear()
    explainer.explain(u8[:1])
    masked = seen[-1].reshape(-1, SIZE, SIZE, 3)
    assert masked.dtype.kind == "f"
    # Where a mask is 0, the pixel is 127.6 itself, neither 127 nor 128.
    assert np.isclose(masked, 127.6, atol=1e-4).any()


@pytest.mark.parametrize("channels", [1, 3, 4, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spread", [False, True], ids=["in-out", "spread"])
def test_masked_images_equal_the_broadcast_expression(channels, dtype, spread):
    rng = np.random.RandomState(0)
    masks = rng.rand(6, 9, 11).astype(np.float32)
    difference = (rng.rand(9, 11, channels) * 300 - 20).astype(dtype)
    baseline = np.asarray(0.3, dtype=dtype)
    expected = masks[..., np.newaxis] * difference
    expected += baseline
    out = np.full(expected.shape, np.nan, dtype=expected.dtype)
    room = np.empty(expected.shape, dtype=np.float32) if spread else None
    assert masked_images(masks, difference, baseline, out, room) is out
    np.testing.assert_array_equal(out, expected)  # bit for bit


def test_masks_built_into_a_buffer_are_the_same():
    rng = np.random.RandomState(0)
    grids, shifts = draw_masks(rng, 5, 4, 0.5, (13, 10))
    out = np.full((5, 13, 10), np.nan, dtype=np.float32)
    assert build_masks(grids, shifts, (13, 10), out=out) is out
    np.testing.assert_array_equal(out, build_masks(grids, shifts, (13, 10)))


@pytest.mark.parametrize("batch_size", [1, 7, None])
@pytest.mark.parametrize(
    "images", ["float32", "float64", "uint8", "gray"], ids=lambda kind: kind
)
def test_the_model_gets_the_papers_masked_images(data, batch_size, images):
    X = data[0][:4]
    X = {
        "float32": X,
        "float64": X.astype(np.float64),
        "uint8": np.round(X * 255).astype(np.uint8),
        "gray": X[..., :1],
    }[images]
    baseline = 10.0 if images == "uint8" else 0.25
    seen = []
    explainer = RISEExplainer(
        FrozenEstimator(BatchRecorder(seen).fit(X)),
        n_masks=40,
        baseline=baseline,
        batch_size=batch_size,
        random_state=0,
    ).fit(X)
    seen.clear()
    explainer.explain(X[1:2], target=1)
    seed = explainer._image_seeds(X[1:2])[0]
    rng = np.random.RandomState(seed)
    grids, shifts = draw_masks(rng, 40, explainer.mask_size_, 0.5, X.shape[1:3])
    masks = build_masks(grids, shifts, X.shape[1:3])
    dtype = X.dtype if X.dtype.kind == "f" else np.float32
    image = X[1].astype(dtype)
    fill = np.asarray(baseline, dtype=dtype)
    expected = masks[..., np.newaxis] * (image - fill) + fill
    got = np.concatenate(seen[1:])  # after the unmasked image
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_validated_batches_give_predict_proba_bit_for_bit(data, dtype, monkeypatch):
    # A bare CNNClassifier gets the masked copies of a validated image
    # through its private _validated_proba, which skips predict_proba's
    # validation (not its scale check of float copies of uint8 images): the
    # maps are those a one-step pipeline around it (which calls
    # predict_proba, every check included) gives, bit for bit.
    from sklearn_xai.neural_network import _cnn

    X, y = data
    images = (X * 255).round().astype(np.uint8) if dtype == np.uint8 else X
    images = images.astype(dtype)
    cnn = CNNClassifier(max_epochs=1, module__n_filters=4, random_state=0).fit(
        images[:100], y[:100]
    )
    validations = count_calls(monkeypatch, _cnn, "validate_images")
    params = dict(n_masks=50, batch_size=16, random_state=0)
    fast = RISEExplainer(FrozenEstimator(cnn), **params).fit(images)
    checked = RISEExplainer(FrozenEstimator(Pipeline([("cnn", cnn)])), **params)
    checked.fit(images)
    validations.clear()
    maps, details = fast.explain(images[:2], [1, 2], return_details=True)
    assert validations == []
    reference, reference_details = checked.explain(
        images[:2], [1, 2], return_details=True
    )
    assert len(validations) == 2 * (1 + 4)  # the image, then 50 masks by 16
    np.testing.assert_array_equal(maps, reference)
    for key in ("base_proba", "mean_score"):
        np.testing.assert_array_equal(details[key], reference_details[key])


def test_float_copies_of_uint8_images_on_the_models_scale(data):
    # Masked copies of uint8 images are float on the 0-255 scale. A bare
    # model fitted on [0, 1] images takes uint8 images divided by 255, and
    # so their masked copies: the maps equal those of the images / 255. A
    # pipeline's preprocessing is unknown: its model judges the scale and
    # refuses them, with or without the private path.
    X, y = data
    cnn = CNNClassifier(max_epochs=1, module__n_filters=4, random_state=0).fit(
        X[:100], y[:100]
    )
    images = (X[:4] * 255).round().astype(np.uint8)
    explainer = RISEExplainer(FrozenEstimator(cnn), n_masks=20, random_state=0)
    # The same masks for both (seeds otherwise follow the images' bytes).
    explainer._image_seeds = lambda batch: [3, 4][: len(batch)]
    maps = explainer.fit(images).explain(images[:2], [0, 1])
    expected = explainer.fit(images / 255.0).explain(images[:2] / 255.0, [0, 1])
    np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-6)
    explainer = RISEExplainer(FrozenEstimator(Pipeline([("cnn", cnn)])), n_masks=20)
    explainer.fit(images)
    with pytest.raises(ValueError, match="look like 0-255 intensities"):
        explainer.explain(images[:1], [0])
