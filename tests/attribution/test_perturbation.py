"""The superpixel engine of LIME and Kernel SHAP: segment counts, set-ups, fills,
the segmentation cache, perturbations built on the model's device."""

import warnings

import numpy as np
import pytest
from joblib import Memory
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ParameterGrid

from sklearn_xai.attribution import KernelShapExplainer, LimeExplainer, _perturbation
from sklearn_xai.attribution._perturbation import (
    auto_n_segments,
    check_fill,
    clear_segmentation_cache,
    device_perturbation_proba,
    exact_fill,
    hide_image,
    make_segmenter,
    perturbed_images,
    segmentation_cache_info,
)
from sklearn_xai.datasets import load_digit_images, load_sample_photos
from sklearn_xai.metrics import DegenerateExplanationWarning
from sklearn_xai.neural_network import CNNClassifier
from sklearn_xai.preprocessing import SuperpixelSegmenter, _superpixels

EXPLAINERS = [LimeExplainer, KernelShapExplainer]
IDS = ["lime", "kernel-shap"]


@pytest.fixture(scope="module")
def digits():
    """8x8 digits in [0, 1], flattened, and a logistic regression on them."""
    X, y = load_digit_images(return_X_y=True)
    flat = X.reshape(len(X), -1).astype(np.float64)
    clf = LogisticRegression(max_iter=1000).fit(flat[:600], y[:600])
    return flat, y, clf


@pytest.fixture(scope="module")
def digits_u8(digits):
    flat, y, _ = digits
    u8 = np.round(flat * 255).astype(np.uint8)
    clf = LogisticRegression(max_iter=1000).fit(u8[:600] / 255.0, y[:600])
    return u8, y, clf


def quiet(**kwargs):
    return warnings.catch_warnings(**kwargs)


def degenerate_warnings(caught):
    return [w for w in caught if issubclass(w.category, DegenerateExplanationWarning)]


# -- segment counts follow the image size -------------------------------------


@pytest.mark.parametrize(
    "size, expected",
    [((2, 2), 1), ((3, 3), 2), ((8, 8), 16), ((12, 12), 36), ((14, 14), 49),
     ((15, 15), 50), ((224, 224), 50), ((1, 64), 16)],
)  # fmt: skip
def test_segment_count_follows_the_image_size(size, expected):
    assert auto_n_segments(*size) == expected


@pytest.mark.parametrize("cls", EXPLAINERS, ids=IDS)
@pytest.mark.parametrize(
    "segmentation, expected",
    [
        ("slic", 16),
        ("grid", 16),
        (SuperpixelSegmenter(method="grid", n_segments=9), 9),
        ("quickshift", None),
        (lambda image: np.zeros(image.shape[:2], int) + np.arange(8) // 4, None),
    ],
    ids=["slic", "grid", "segmenter", "quickshift", "callable"],
)
def test_fitted_segment_count(digits, cls, segmentation, expected):
    flat, _, clf = digits
    explainer = cls(
        FrozenEstimator(clf), segmentation=segmentation, image_shape=(8, 8)
    ).fit(flat[:10])
    assert explainer.n_segments_ == expected


@pytest.mark.parametrize("hide_color", [0.0, None], ids=["black", "mean"])
@pytest.mark.parametrize("cls", EXPLAINERS, ids=IDS)
def test_defaults_explain_8x8_digits(digits, cls, hide_color):
    # SLIC asked for 50 segments cut 8x8 digits into 64 one-pixel superpixels;
    # hidden with their own mean, nothing changed and every map was all zero.
    flat, _, clf = digits
    explainer = cls(
        FrozenEstimator(clf),
        n_samples=300,
        hide_color=hide_color,
        image_shape=(8, 8),
        random_state=0,
    )
    with quiet():
        warnings.simplefilter("error", DegenerateExplanationWarning)
        maps, details = explainer.fit(flat[:100]).explain(
            flat[600:606], return_details=True
        )
    counts = details.segments.reshape(6, -1).max(axis=1) + 1
    assert counts.min() >= 12 and counts.max() <= 16
    sizes = [np.bincount(s.ravel()).min() for s in details.segments]
    assert min(sizes) >= 2  # no one-pixel superpixels
    assert [len(np.unique(m)) >= 8 for m in maps] == [True] * 6


# -- set-ups that can only give constant maps warn -----------------------------


@pytest.mark.parametrize("cls", EXPLAINERS, ids=IDS)
def test_one_pixel_superpixels_with_mean_fill_warn(digits, cls):
    flat, _, clf = digits
    segmenter = SuperpixelSegmenter(method="grid", n_segments=64)
    explainer = cls(
        FrozenEstimator(clf),
        segmentation=segmenter,
        hide_color=None,
        n_samples=50,
        image_shape=(8, 8),
        random_state=0,
    )
    with pytest.warns(
        DegenerateExplanationWarning,
        match=r"one-pixel superpixels.*Use at most 16 segments.*hide_color=0.0",
    ):
        explainer.fit(flat[:10])
    with pytest.warns(
        DegenerateExplanationWarning,
        match=r"3 of 3 attribution maps are constant.*hiding their superpixels "
        r"changes no pixel",
    ):
        maps = explainer.explain(flat[600:603])
    assert np.abs(maps).max() < 1e-12
    # Black hides them: the same segments then explain.
    explainer.set_params(hide_color=0.0)
    with quiet(record=True) as caught:
        warnings.simplefilter("always")
        maps = explainer.fit(flat[:10]).explain(flat[600:603])
    assert not degenerate_warnings(caught)
    assert all(len(np.unique(m)) > 10 for m in maps)


@pytest.mark.parametrize("cls", EXPLAINERS, ids=IDS)
@pytest.mark.parametrize(
    "segmentation, size",
    [
        ("slic", (2, 2)),
        (SuperpixelSegmenter(method="grid", n_segments=1), (8, 8)),
    ],
    ids=["tiny-images", "one-segment"],
)
def test_one_superpixel_warns(cls, segmentation, size):
    images = np.random.default_rng(0).random((6, *size, 1))
    flat = images.reshape(6, -1)
    clf = LogisticRegression().fit(flat, [0, 1] * 3)
    explainer = cls(
        FrozenEstimator(clf),
        segmentation=segmentation,
        n_samples=20,
        image_shape=(*size, 1),
        random_state=0,
    )
    with pytest.warns(DegenerateExplanationWarning, match=r"into one superpixel"):
        explainer.fit(flat)
    with pytest.warns(
        DegenerateExplanationWarning,
        match=r"2 of 2 attribution maps are constant.*found a single superpixel",
    ):
        explainer.explain(flat[:2])


@pytest.mark.parametrize("cls", EXPLAINERS, ids=IDS)
def test_quickshift_finding_one_superpixel_warns_at_explain(digits, cls):
    flat, _, clf = digits
    explainer = cls(
        FrozenEstimator(clf),
        segmentation="quickshift",
        n_samples=20,
        image_shape=(8, 8),
        random_state=0,
    ).fit(flat[:10])
    with pytest.warns(
        DegenerateExplanationWarning,
        match=r"4 of 4 attribution maps are constant \(images \[0, 1, 2, 3\]\).*"
        r"segmentation='quickshift' found a single superpixel.*'slic' or 'grid'",
    ):
        explainer.explain(flat[600:604])


# -- the fill rule --------------------------------------------------------------


@pytest.mark.parametrize("cls", EXPLAINERS, ids=IDS)
@pytest.mark.parametrize(
    "hide_color, kind, match",
    [
        (np.float64(-1.0), "uint8", r"hide_color=-1.0 is outside .* \[0, 255\]"),
        (-1, "uint8", r"hide_color=-1.0 is outside .* \[0, 255\]"),
        (256, "uint8", r"hide_color=256.0 is outside .* \[0, 255\]"),
        (1e6, "uint8", r"hide_color=1000000.0 is outside"),
        (-0.5, "unit", r"hide_color=-0.5 is outside .* \[0, 1\]"),
        (1.5, "unit", r"hide_color=1.5 is outside .* \[0, 1\]"),
        (float("nan"), "unit", "hide_color must be a finite number"),
        (float("-inf"), "other", "hide_color must be a finite number"),
    ],
    ids=["uint8-minus-one-float", "uint8-minus-one-int", "uint8-256",
         "uint8-overflow", "unit-negative", "unit-above-one", "nan", "inf"],
)  # fmt: skip
def test_hide_colors_outside_the_images_range_are_refused(
    digits, digits_u8, cls, hide_color, kind, match
):
    flat, _, clf = digits
    images = {"uint8": digits_u8[0], "unit": flat, "other": flat * 4 - 2}[kind]
    explainer = cls(FrozenEstimator(clf), hide_color=hide_color, image_shape=(8, 8))
    with pytest.raises(ValueError, match=match):
        explainer.fit(images[:10])


class Recorder(ClassifierMixin, BaseEstimator):
    """A [0, 1] logistic regression that records every batch it is given."""

    def __init__(self, clf=None, seen=None):
        self.clf = clf
        self.seen = seen

    def fit(self, X, y=None):
        self.classes_ = self.clf.classes_
        return self

    def predict_proba(self, X):
        X = np.asarray(X)
        self.seen.append(X)
        return self.clf.predict_proba(X.reshape(len(X), -1) / 255.0)


@pytest.mark.parametrize("cls", EXPLAINERS, ids=IDS)
@pytest.mark.parametrize(
    "hide_color, dtype_kind, values",
    [(0, "u", {0}), (255.0, "u", {255}), (127.6, "f", {127.6})],
    ids=["black", "white", "fractional"],
)
def test_uint8_perturbations_are_exact(digits_u8, cls, hide_color, dtype_kind, values):
    u8, _, clf = digits_u8
    seen = []
    explainer = cls(
        FrozenEstimator(Recorder(clf, seen).fit(u8)),
        segmentation="grid",
        hide_color=hide_color,
        n_samples=20,
        image_shape=(8, 8),
        random_state=0,
    ).fit(u8[:10])
    seen.clear()
    explainer.explain(u8[600:601])
    batch = seen[-1]  # perturbed images
    assert batch.dtype.kind == dtype_kind
    image = u8[600].astype(np.float64)
    hidden = batch != image
    assert hidden.any()
    assert set(np.unique(batch[hidden]).tolist()) == values


def test_mean_fill_of_uint8_images_is_not_truncated():
    image = np.array([[[0], [1]], [[10], [10]]], dtype=np.uint8)
    segments = np.array([[0, 0], [1, 1]])
    fudged = hide_image(image, segments, None)
    assert fudged.dtype.kind == "f"
    np.testing.assert_array_equal(fudged[..., 0], [[0.5, 0.5], [10, 10]])
    # Means that are image values keep the dtype.
    fudged = hide_image(image, np.array([[0, 1], [2, 2]]), None)
    assert fudged.dtype == np.uint8
    np.testing.assert_array_equal(fudged, image)
    # A blur of uint8 images is kept in floating point too.
    assert hide_image(image, segments, "blur").dtype.kind == "f"


@pytest.mark.parametrize(
    "value, dtype, expected",
    [
        (0, np.uint8, np.uint8),
        (255.0, np.uint8, np.uint8),
        (127.6, np.uint8, np.float64),
        (-1.0, np.uint8, np.float64),  # exact (refused beforehand by check_fill)
        (300, np.int16, np.int16),
        (0.25, np.float32, np.float32),
    ],
)
def test_exact_fill_keeps_the_dtype_only_when_exact(value, dtype, expected):
    fill = exact_fill(value, dtype)
    assert fill.dtype == expected and float(fill) == value


@pytest.mark.parametrize(
    "value, dtype, input_range, ok",
    [
        (0.0, np.uint8, None, True),
        (255, np.uint8, (0.0, 255.0), True),
        (127.6, np.uint8, None, True),
        (-1.0, np.uint8, None, False),
        (256.0, np.uint8, None, False),
        (-5.0, np.int16, None, True),
        (1.0, np.float32, (0.0, 1.0), True),
        (1.0001, np.float32, (0.0, 1.0), False),
        (-3.0, np.float64, None, True),
        (200.0, np.float32, (0.0, 255.0), True),
        (np.inf, np.float64, None, False),
    ],
)
def test_check_fill(value, dtype, input_range, ok):
    kwargs = dict(name="fill", dtype=dtype, input_range=input_range, owner="test")
    if ok:
        assert check_fill(value, **kwargs) == float(value)
    else:
        with pytest.raises(ValueError, match="test: fill"):
            check_fill(value, **kwargs)


# -- the segmentation cache ----------------------------------------------------


@pytest.fixture
def segment_calls(monkeypatch):
    """Count the label maps actually computed (cache misses)."""
    calls = []
    original = _superpixels._segment

    def counting(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(_superpixels, "_segment", counting)
    clear_segmentation_cache()
    yield calls
    clear_segmentation_cache()


@pytest.fixture(scope="module")
def photos():
    return load_sample_photos(size=32).images[:3]


def fresh_labels(segmentation, seed, image, n_segments=50):
    """What the segmenter gives without any cache."""
    if isinstance(segmentation, str):
        segmenter = SuperpixelSegmenter(method=segmentation)
        if segmentation in ("slic", "grid"):
            segmenter.set_params(n_segments=n_segments)
    else:
        segmenter = clone(segmentation)
    if segmenter.random_state is None:
        segmenter.set_params(random_state=seed)
    return segmenter.fit_transform(image[np.newaxis])[0]


@pytest.mark.parametrize(
    "segmentation",
    [
        "quickshift",
        "slic",
        "felzenszwalb",
        "grid",
        SuperpixelSegmenter(method="quickshift", kernel_size=3, max_dist=10),
        SuperpixelSegmenter(method="slic", n_segments=12, random_state=5),
        SuperpixelSegmenter(
            method="felzenszwalb", random_state=np.random.RandomState(2)
        ),
    ],
    ids=["quickshift", "slic", "felzenszwalb", "grid", "qs-params", "slic-12", "fz-rs"],
)
def test_cached_segmentation_equals_the_segmenter(photos, segment_calls, segmentation):
    for seed in (0, 7):
        for image in [*photos, photos[0].astype(np.float32) / 255]:
            expected = fresh_labels(segmentation, seed, image)
            segment_calls.clear()
            for _ in range(2):  # a miss (or a hit of the other seed's), a hit
                labels = make_segmenter(segmentation, seed, 50)(image)
                np.testing.assert_array_equal(labels, expected)
                assert labels.dtype == np.int32
            assert len(segment_calls) <= 1
    # A segmenter with its own random_state ignores the explainer's seed.
    own_seed = getattr(segmentation, "random_state", None) is not None
    assert segmentation_cache_info()["misses"] == (4 if own_seed else 8)


def test_an_image_edited_in_place_is_segmented_again(photos, segment_calls):
    image = photos[0].copy()
    segment = make_segmenter("quickshift", 0)
    before = segment(image)
    image[:16] = 255 - image[:16]  # the same array object, new content
    after = segment(image)
    assert len(segment_calls) == 2
    np.testing.assert_array_equal(after, fresh_labels("quickshift", 0, image))
    assert not np.array_equal(before, after)
    # The same content in another dtype is another image.
    segment_calls.clear()
    segment(image.astype(np.float64))
    assert len(segment_calls) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"max_dist": 10},
        {"kernel_size": 2},
        {"ratio": 0.5},
        {"sigma": 1.0},
        {"random_state": 1},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_changed_parameter_or_seed_never_hits_a_stale_entry(
    photos, segment_calls, change
):
    image = photos[1]
    segmenter = SuperpixelSegmenter(method="quickshift", random_state=0)
    first = make_segmenter(segmenter, 0)(image)
    changed = clone(segmenter).set_params(**change)
    labels = make_segmenter(changed, 0)(image)
    assert len(segment_calls) == 2
    np.testing.assert_array_equal(labels, fresh_labels(changed, 0, image))
    segment_calls[2:] = []
    assert not np.array_equal(labels, first) or "random_state" in change
    # The explainer's seed matters only when the segmenter has none.
    make_segmenter(segmenter, 3)(image)
    assert len(segment_calls) == 2
    make_segmenter("quickshift", 3)(image)
    make_segmenter("quickshift", 4)(image)
    assert len(segment_calls) == 4


def test_returned_labels_are_the_callers_own(photos, segment_calls):
    segment = make_segmenter("slic", 0, 20)
    labels = segment(photos[0])
    expected = labels.copy()
    labels[:] = -1
    np.testing.assert_array_equal(segment(photos[0]), expected)
    assert segment(photos[0]).flags.writeable


def test_the_in_process_cache_is_bounded(photos, segment_calls, monkeypatch):
    monkeypatch.setattr(_perturbation._SEGMENTATIONS, "max_entries", 2)
    segment = make_segmenter("slic", 0, 20)
    for image in photos:
        segment(image)
    info = segmentation_cache_info()
    assert info["entries"] == 2 and info["bytes"] == 2 * photos[0][..., 0].size * 4
    segment(photos[2])  # kept
    assert len(segment_calls) == 3
    segment(photos[0])  # least recently used: dropped
    assert len(segment_calls) == 4
    monkeypatch.setattr(_perturbation._SEGMENTATIONS, "max_bytes", 100)
    clear_segmentation_cache()
    segment(photos[0])  # larger than the whole budget: not kept
    assert segmentation_cache_info()["entries"] == 0


def test_a_callable_or_a_subclass_is_called_every_time(photos, segment_calls):
    seen = []

    def halves(image):
        seen.append(1)
        return (np.arange(image.shape[0])[:, None] >= image.shape[0] // 2).repeat(
            image.shape[1], axis=1
        )

    class Segmenter(SuperpixelSegmenter):
        pass

    for _ in range(2):
        make_segmenter(halves, 0)(photos[0])
        labels = make_segmenter(Segmenter(method="slic", n_segments=9), 0)(photos[0])
    assert len(seen) == 2 and len(segment_calls) == 2  # through fit_transform
    np.testing.assert_array_equal(
        labels,
        fresh_labels(SuperpixelSegmenter(method="slic", n_segments=9), 0, photos[0]),
    )
    assert segmentation_cache_info()["entries"] == 0


def test_memory_caches_segmentations_on_disk(photos, segment_calls, tmp_path):
    image = photos[2]
    expected = fresh_labels("quickshift", 0, image)
    n_fresh = len(segment_calls)  # 1
    for _ in range(2):
        # A new Memory each time, as another process would have.
        labels = make_segmenter("quickshift", 0, memory=Memory(tmp_path, verbose=0))(
            image
        )
        np.testing.assert_array_equal(labels, expected)
    assert len(segment_calls) == n_fresh + 1
    assert segmentation_cache_info()["entries"] == 0  # not in the process
    # A joblib.Memory without location caches nothing on disk: the process does.
    make_segmenter("quickshift", 0, memory=Memory(None))(image)
    make_segmenter("quickshift", 0, memory=Memory(None))(image)
    assert len(segment_calls) == n_fresh + 2
    assert segmentation_cache_info()["entries"] == 1


@pytest.mark.parametrize("cls", EXPLAINERS, ids=IDS)
def test_a_grid_search_segments_each_image_once(photos, segment_calls, cls):
    params = {"kernel_width": [0.1, 0.5]} if cls is LimeExplainer else {}
    params["n_samples"] = [20, 30]
    clf = LogisticRegression(max_iter=200).fit(
        photos.reshape(len(photos), -1) / 255.0, [0, 1, 0]
    )
    model = FrozenEstimator(_Scaled(clf).fit(photos))
    # Quickshift without random_state: the explainer's seed picks its noise.
    quickshift = SuperpixelSegmenter(method="quickshift", kernel_size=2, max_dist=10)
    explainer = cls(model, segmentation=quickshift, random_state=0).fit(photos)
    for setting in ParameterGrid(params):
        clone(explainer).set_params(**setting).fit(photos).explain(photos)
    # One segmentation per image for every setting and clone ...
    assert len(segment_calls) == len(photos)
    # ... with the results of segmenting every time.
    for setting in ParameterGrid(params):
        candidate = clone(explainer).set_params(**setting).fit(photos)
        cached = candidate.explain(photos)
        clear_segmentation_cache()
        np.testing.assert_array_equal(candidate.explain(photos), cached)
    # LIME and Kernel SHAP cut an image alike for the same random_state.
    other = LimeExplainer if cls is KernelShapExplainer else KernelShapExplainer
    calls = len(segment_calls)
    other(model, segmentation=quickshift, n_samples=20,
          random_state=0).fit(photos).explain(photos)  # fmt: skip
    assert len(segment_calls) == calls


class _Scaled(ClassifierMixin, BaseEstimator):
    """A classifier of flattened [0, 1] images taking uint8 images."""

    def __init__(self, clf):
        self.clf = clf

    def fit(self, X, y=None):
        self.classes_ = self.clf.classes_
        return self

    def predict_proba(self, X):
        X = np.asarray(X)
        return self.clf.predict_proba(X.reshape(len(X), -1) / 255.0)


# -- perturbations built on the model's device ---------------------------------


@pytest.fixture(scope="module")
def small_cnns():
    """CNNs on 12x12 images of 1, 3 and 4 channels, uint8 and float32."""
    rng = np.random.RandomState(0)
    models = {}
    for channels in (1, 3, 4):
        X = rng.randint(0, 256, (40, 12, 12, channels)).astype(np.uint8)
        y = np.arange(40) % 3
        for kind, images in (("uint8", X), ("float32", X.astype(np.float32) / 255)):
            clf = CNNClassifier(max_epochs=1, module__n_filters=4, random_state=0)
            models[channels, kind] = (clf.fit(images, y), images)
    return models


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("kind", ["uint8", "float32"])
@pytest.mark.parametrize("hide_color", [0.0, None, "blur"])
@pytest.mark.parametrize("batch_size", [1, 7, 500])
def test_device_perturbations_equal_predict_proba_of_perturbed_images(
    small_cnns, channels, kind, hide_color, batch_size
):
    clf, images = small_cnns[channels, kind]
    image = images[0]
    segments = SuperpixelSegmenter(method="grid", n_segments=9).fit_transform(
        image[np.newaxis]
    )[0]
    fudged = hide_image(image, segments, hide_color)
    rng = np.random.RandomState(1)
    masks = rng.randint(0, 2, (23, segments.max() + 1)).astype(np.uint8)
    masks[0] = 1
    proba = device_perturbation_proba(
        clf._explainable_network(), image, fudged, segments, masks, batch_size
    )
    assert proba.dtype == np.float64 and proba.shape == (23, 3)
    expected = clf.predict_proba(perturbed_images(image, fudged, segments, masks))
    # predict_proba's float32 softmax; inputs exact for uint8 images, within
    # one float32 rounding otherwise.
    np.testing.assert_allclose(proba, expected, rtol=0, atol=2e-6)
    # Mask dtypes do not matter, nor does the batch size.
    for other in (masks.astype(bool), masks.astype(np.int64)):
        np.testing.assert_array_equal(
            device_perturbation_proba(
                clf._explainable_network(), image, fudged, segments, other, batch_size
            ),
            proba,
        )
    np.testing.assert_allclose(
        device_perturbation_proba(
            clf._explainable_network(), image, fudged, segments, masks, 5
        ),
        proba,
        rtol=0,
        atol=1e-6,
    )


def test_device_perturbations_reach_the_network_channels_last(small_cnns):
    clf, images = small_cnns[3, "uint8"]
    image = images[1]
    segments = SuperpixelSegmenter(method="grid", n_segments=4).fit_transform(
        image[np.newaxis]
    )[0]
    fudged = hide_image(image, segments, 0.0)
    masks = np.random.RandomState(0).randint(0, 2, (10, segments.max() + 1))
    seen = []
    handle = clf.module_.register_forward_pre_hook(
        lambda _, args: seen.append((args[0].stride(), args[0].clone()))
    )
    try:
        device_perturbation_proba(
            clf._explainable_network(), image, fudged, segments, masks, 4
        )
    finally:
        handle.remove()
    expected = perturbed_images(image, fudged, segments, masks).astype(np.float32)
    got = np.concatenate([x.permute(0, 2, 3, 1).numpy() for _, x in seen])
    np.testing.assert_array_equal(got, expected)  # exact for uint8 images
    # (n, C, H, W) views of channels-last rows, as a batch of images gives.
    assert {stride for stride, _ in seen} == {(12 * 12 * 3, 1, 12 * 3, 3)}
