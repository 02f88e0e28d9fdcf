"""The superpixel engine of LIME and Kernel SHAP: segment counts, set-ups, fills."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

from sklearn_xai.attribution import KernelShapExplainer, LimeExplainer
from sklearn_xai.attribution._perturbation import (
    auto_n_segments,
    check_fill,
    exact_fill,
    hide_image,
)
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.metrics import DegenerateExplanationWarning
from sklearn_xai.preprocessing import SuperpixelSegmenter

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
