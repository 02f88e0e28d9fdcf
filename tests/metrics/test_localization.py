"""Localization metrics: Quantus agreement, closed forms, purity, errors, properties."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import roc_auc_score

from sklearn_xai.metrics import (
    DegenerateExplanationWarning,
    _complexity,
    attribution_localization_auc,
    pointing_game,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    top_k_intersection,
)
from sklearn_xai.metrics._checks import degenerate_maps

quiet = pytest.mark.filterwarnings(
    "ignore::sklearn_xai.metrics.DegenerateExplanationWarning"
)
ALL = [
    pointing_game,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    top_k_intersection,
    attribution_localization_auc,
]
IDS = ["pointing", "mass", "rank", "top_k", "auc"]


def random_case(n=6, height=16, width=20, seed=0):
    """Float32 maps with a bump on or off a random rectangle, and the masks."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, height, width)).astype(np.float32)
    masks = np.zeros((n, height, width), dtype=bool)
    for i in range(n):
        top, left = rng.integers(0, height - 6), rng.integers(0, width - 8)
        masks[i, top : top + 6, left : left + 8] = True
        if i % 2 == 0:  # half the maps point at the object
            a[i, top + 3, left + 4] += 10.0
    return a, masks


def quantus_scores(name, attributions, masks, **kwargs):
    """The Quantus 0.6 metric ``name`` (float64 attributions, no model)."""
    quantus = pytest.importorskip("quantus")
    n, height, width = attributions.shape
    metric = getattr(quantus, name)(disable_warnings=True, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = metric(
            model=None,
            x_batch=np.zeros((n, 1, height, width), dtype=np.float32),
            y_batch=np.zeros(n, dtype=int),
            a_batch=attributions.astype(np.float64),
            s_batch=masks[:, np.newaxis].copy(),
        )
    return np.asarray(scores, dtype=np.float64)


@pytest.mark.parametrize(
    ("metric", "kwargs", "quantus_name", "quantus_kwargs"),
    [
        (pointing_game, {}, "PointingGame", {}),
        (pointing_game, {"sign": "absolute"}, "PointingGame", {"abs": True}),
        (relevance_mass_accuracy, {"sign": "signed"}, "RelevanceMassAccuracy", {}),
        (
            relevance_mass_accuracy,
            {"sign": "absolute"},
            "RelevanceMassAccuracy",
            {"abs": True},
        ),
        (relevance_rank_accuracy, {}, "RelevanceRankAccuracy", {}),
        (
            relevance_rank_accuracy,
            {"sign": "absolute"},
            "RelevanceRankAccuracy",
            {"abs": True},
        ),
        (top_k_intersection, {"k": 50}, "TopKIntersection", {"k": 50}),
        (top_k_intersection, {"k": 1}, "TopKIntersection", {"k": 1}),
        (
            top_k_intersection,
            {"k": 200, "sign": "absolute"},
            "TopKIntersection",
            {"k": 200, "abs": True},
        ),
        (attribution_localization_auc, {}, "AUC", {}),
        (attribution_localization_auc, {"sign": "absolute"}, "AUC", {"abs": True}),
    ],
    ids=[
        "pointing",
        "pointing-abs",
        "mass-signed",
        "mass-abs",
        "rank",
        "rank-abs",
        "top50",
        "top1",
        "top200-abs",
        "auc",
        "auc-abs",
    ],
)
def test_matches_quantus(metric, kwargs, quantus_name, quantus_kwargs):
    a, masks = random_case()
    ours = metric(a, masks, **kwargs)
    assert ours.dtype == np.float64 and ours.shape == (6,)
    theirs = quantus_scores(quantus_name, a, masks, **quantus_kwargs)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


def test_pointing_game_sees_hits_and_misses():
    a, masks = random_case()
    np.testing.assert_array_equal(pointing_game(a, masks)[::2], 1.0)
    assert pointing_game(a, masks)[1::2].sum() < 3


def test_relevance_mass_follows_the_paper_where_quantus_sums_signed_values():
    masks = np.array([[[True, False], [False, False]]])
    a = np.array([[[3.0, 1.0], [-2.0, 0.0]]])
    # The paper: positive relevance, 3 / (3 + 1).
    np.testing.assert_allclose(relevance_mass_accuracy(a, masks), [0.75])
    np.testing.assert_allclose(
        relevance_mass_accuracy(a, masks, sign="absolute"), [3 / 6]
    )
    # Quantus's default (abs=False): 3 / (3 + 1 - 2), outside [0, 1].
    np.testing.assert_allclose(relevance_mass_accuracy(a, masks, sign="signed"), [1.5])
    np.testing.assert_allclose(quantus_scores("RelevanceMassAccuracy", a, masks), [1.5])


def test_relevance_mass_closed_forms():
    masks = np.zeros((4, 3, 3), dtype=bool)
    masks[:, 0, :] = True
    a = np.zeros((4, 3, 3))
    a[0] = 1.0  # uniform: the mask's share of the image
    a[0, 2, 2] = 2.0  # one pixel outside with twice as much
    a[1, 0, 0] = 5.0  # all the mass inside
    a[2] = -1.0
    a[2, 1, 1] = -2.0  # no positive mass at all: 0 by definition
    a[3] = -1.0  # constant: NaN (it used to score 0, or 1/3 when positive)
    with pytest.warns(DegenerateExplanationWarning, match="1 of 4 "):
        scores = relevance_mass_accuracy(a, masks)
    np.testing.assert_allclose(scores, [3 / 10, 1.0, 0.0, np.nan])


def test_pointing_game_closed_forms():
    masks = np.zeros((3, 9, 9), dtype=bool)
    masks[:, :2, :2] = True  # nearest mask pixel to (5, 5) is (1, 1)
    a = np.zeros((3, 9, 9))
    a[0, 1, 0] = 1.0  # on the mask
    a[1, 5, 5] = 1.0  # distance sqrt(32) = 5.66 from the mask
    a[2, 5, 5] = a[2, 8, 8] = 1.0  # tied maxima, nearest at 5.66
    np.testing.assert_array_equal(pointing_game(a, masks), [1, 0, 0])
    np.testing.assert_array_equal(pointing_game(a, masks, tolerance=5.6), [1, 0, 0])
    # Tied maxima: the chance that a random one of them is a hit, here (5, 5)
    # but not (8, 8) (it used to be a hit when any of them was).
    np.testing.assert_array_equal(pointing_game(a, masks, tolerance=5.7), [1, 1, 0.5])
    a[2, 0, 0] = 1.0  # one of three tied maxima on the mask
    np.testing.assert_allclose(pointing_game(a, masks), [1, 0, 1 / 3])
    np.testing.assert_allclose(pointing_game(a, masks, tolerance=5.7), [1, 1, 2 / 3])
    # A map with no positive value: "positive" ties every pixel at 0, and
    # a random pick among them lands on the mask with its share of the image.
    negative = -np.ones((1, 9, 9))
    negative[0, 8, 8] = -0.5
    assert pointing_game(negative, masks[:1])[0] == 0.0
    assert pointing_game(negative, masks[:1], sign="positive")[0] == 4 / 81
    # |a| = 1 everywhere but (8, 8): 80 tied maxima, 4 of them on the mask.
    assert pointing_game(negative, masks[:1], sign="absolute")[0] == 4 / 80


def test_pointing_game_gives_no_free_hit_to_a_blank_map():
    # The case of 2026-11-30: an all-zero map on an object of 25% of the image
    # used to score a perfect hit (1.0).
    masks = np.zeros((2, 8, 8), dtype=bool)
    masks[:, 2:6, 2:6] = True
    a = np.zeros((2, 8, 8))
    a[1, 0, :] = 1.0  # 8 tied maxima on the top row, none on the object
    a[1, 3, 3] = a[1, 4, 4] = 1.0  # and 2 on it: 2 of 10
    with pytest.warns(DegenerateExplanationWarning, match="1 of 2 "):
        scores = pointing_game(a, masks)
    np.testing.assert_allclose(scores, [np.nan, 0.2])
    # The expectation over a random tie order, i.e. top-k with k = 1.
    with pytest.warns(DegenerateExplanationWarning, match="1 of 2 "):
        np.testing.assert_allclose(top_k_intersection(a, masks, k=1), scores)


def test_rank_and_top_k_closed_forms_with_shared_ties():
    masks = np.array([[[True, True], [False, False]]])
    a = np.array([[[0.9, 0.1], [0.5, 0.0]]])
    np.testing.assert_allclose(relevance_rank_accuracy(a, masks), [0.5])
    np.testing.assert_allclose(top_k_intersection(a, masks, k=1), [1.0])
    np.testing.assert_allclose(top_k_intersection(a, masks, k=3), [2 / 3])
    np.testing.assert_allclose(top_k_intersection(a, masks, k=4), [0.5])
    # One top pixel, then one place shared by three tied zeros (one in the mask).
    tied = np.array([[[1.0, 0.0], [0.0, 0.0]]])
    mask = np.array([[[False, True], [False, False]]])
    np.testing.assert_allclose(top_k_intersection(tied, mask, k=2), [(1 / 3) / 2])
    np.testing.assert_allclose(relevance_rank_accuracy(tied, mask), [0.0])
    mask2 = np.array([[[False, True], [True, False]]])
    np.testing.assert_allclose(relevance_rank_accuracy(tied, mask2), [(2 / 3) / 2])


def test_auc_closed_forms():
    masks = np.zeros((4, 3, 3), dtype=bool)
    masks[:, 0, :2] = True
    a = np.zeros((4, 3, 3))
    a[0, 0, :2] = 1.0  # perfect
    a[1] = 1.0
    a[1, 0, :2] = 0.0  # inverted
    a[2] = 0.3  # constant: NaN (roc_auc_score's chance level, 0.5, before)
    a[3, 0, 0] = 1.0  # half the mask above everything, half tied with all
    with pytest.warns(DegenerateExplanationWarning, match="1 of 4 "):
        scores = attribution_localization_auc(a, masks)
    np.testing.assert_allclose(scores, [1.0, 0.0, np.nan, 0.75])


def last_bit_pairs(rng, shape):
    """Float64 values in pairs that differ only in their last bit."""
    a = rng.normal(size=shape)
    flat = a.reshape(-1)
    flat[1::2] = np.nextafter(flat[:-1:2], np.inf)
    return a


@pytest.mark.parametrize(
    "values",
    [
        lambda rng, shape: rng.normal(size=shape),  # float64, every bit used
        lambda rng, shape: rng.normal(size=shape).astype(np.float32),
        lambda rng, shape: rng.integers(-2, 3, size=shape).astype(np.float64),
        lambda rng, shape: np.select(
            [rng.random(shape) < 0.4, rng.random(shape) < 0.7], [-0.0, 0.0], 1.0
        ),
        lambda rng, shape: np.maximum(rng.normal(size=shape), 0.0),
        last_bit_pairs,
    ],
    ids=["float64", "float32", "ties", "signed-zeros", "float64-ties", "last-bit"],
)
def test_auc_equals_roc_auc_score(values):
    rng = np.random.default_rng(3)
    a = values(rng, (5, 9, 11))
    masks = rng.random((5, 9, 11)) < 0.3
    expected = [
        roc_auc_score(m.ravel(), x.ravel()) for m, x in zip(masks, a, strict=True)
    ]
    np.testing.assert_allclose(
        attribution_localization_auc(a, masks), expected, rtol=0, atol=1e-12
    )


@quiet
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sign", ["signed", "absolute", "positive"])
@pytest.mark.parametrize("metric", ALL, ids=IDS)
def test_inputs_are_never_modified(metric, sign, dtype):
    a, masks = random_case()
    a = a.astype(dtype)
    a[1] = -0.0
    kwargs = {"k": 30} if metric is top_k_intersection else {}
    expected_a, expected_m = a.copy(), masks.copy()
    a.setflags(write=False)
    masks.setflags(write=False)
    first = metric(a, masks, sign=sign, **kwargs)
    assert np.isnan(first[1]) and np.isfinite(np.delete(first, 1)).all()
    np.testing.assert_array_equal(a, expected_a)
    assert np.signbit(a[1]).all()  # still -0.0
    np.testing.assert_array_equal(masks, expected_m)
    np.testing.assert_array_equal(metric(a, masks, sign=sign, **kwargs), first)


@pytest.mark.parametrize("metric", ALL, ids=IDS)
def test_chunks_give_the_same_scores(metric, monkeypatch):
    a, masks = random_case(n=7)
    a[[2, 5]] = 0.0  # constant maps in two chunks: still one warning
    kwargs = {"k": 30} if metric is top_k_intersection else {}
    with pytest.warns(DegenerateExplanationWarning, match="2 of 7 ") as record:
        whole = metric(a, masks.astype(np.uint8), **kwargs)  # 0/1 masks accepted
    assert len(record) == 1
    monkeypatch.setattr(_complexity, "_CHUNK_PIXELS", 3 * 16 * 20)  # 3 images
    with pytest.warns(DegenerateExplanationWarning, match=r"images \[2, 5\]"):
        np.testing.assert_array_equal(metric(a, masks, **kwargs), whole)
    assert np.isnan(whole[[2, 5]]).all()
    assert np.isfinite(np.delete(whole, [2, 5])).all()


@pytest.mark.parametrize("metric", ALL, ids=IDS)
def test_bad_input(metric):
    a, masks = random_case(n=3)
    kwargs = {"k": 30} if metric is top_k_intersection else {}
    with pytest.raises(ValueError, match=r"must be an array of shape \(n, H, W\)"):
        metric(a[0], masks[0], **kwargs)
    with pytest.raises(ValueError, match="NaN or infinity"):
        metric(np.where(masks, np.nan, a), masks, **kwargs)
    with pytest.raises(ValueError, match="must have the shape of the attributions"):
        metric(a, masks[:2], **kwargs)
    with pytest.raises(ValueError, match="must have the shape of the attributions"):
        metric(a, masks[:, :-1], **kwargs)
    with pytest.raises(ValueError, match="must be boolean"):
        metric(a, masks * 2, **kwargs)
    masks[1] = False
    with pytest.raises(ValueError, match=r"masks of images \[1\] are empty"):
        metric(a, masks, **kwargs)
    with pytest.raises(ValueError, match="'sign' parameter of"):
        metric(a, masks, sign="negative", **kwargs)


def test_empty_masks_raise_where_quantus_pointing_game_scores_a_hit():
    a, masks = random_case(n=3)
    a[0] = np.where(masks[0], -1.0, 1.0)  # a clear miss
    masks[2] = False
    theirs = quantus_scores("PointingGame", a, masks)
    np.testing.assert_array_equal(theirs[[0, 2]], [0.0, 1.0])  # NaN cast to True
    with pytest.raises(ValueError, match=r"masks of images \[2\] are empty"):
        pointing_game(a, masks)
    assert pointing_game(a[:2], masks[:2])[0] == 0.0


def test_auc_needs_pixels_outside_the_mask():
    a, masks = random_case(n=3)
    masks[2] = True
    with pytest.raises(ValueError, match=r"masks of images \[2\] cover the whole"):
        attribution_localization_auc(a, masks)
    np.testing.assert_array_equal(relevance_rank_accuracy(a, masks)[2], 1.0)


@pytest.mark.parametrize(
    ("k", "match"),
    [
        (0, "'k' parameter of top_k_intersection must be"),
        (-3, "'k' parameter"),
        (321, r"at most the number of pixels per image \(320\)"),
        (0.0, "'k' parameter"),
        (2.5, "'k' parameter"),
        (True, "k must be a number of pixels or a fraction"),
        ("10", "'k' parameter"),
        (None, "'k' parameter"),
    ],
)
def test_bad_k(k, match):
    a, masks = random_case(n=2)  # 16 x 20 = 320 pixels
    with pytest.raises(ValueError, match=match):
        top_k_intersection(a, masks, k=k)


@pytest.mark.parametrize("size", [8, 16, 28])
def test_top_k_default_fits_every_bundled_digit_size(size):
    # k=1000 (Quantus's default, ours before) raised on all three sizes.
    rng = np.random.default_rng(size)
    a = rng.normal(size=(3, size, size))
    masks = np.zeros((3, size, size), dtype=bool)
    masks[:, 2:6, 1:5] = True
    k = round(0.05 * size * size)  # 3, 13, 39 pixels
    np.testing.assert_array_equal(
        top_k_intersection(a, masks), top_k_intersection(a, masks, k=k)
    )
    # A fraction and the int it rounds to agree; 1.0 is the whole image.
    np.testing.assert_array_equal(
        top_k_intersection(a, masks, k=0.25),
        top_k_intersection(a, masks, k=round(0.25 * size * size)),
    )
    share = masks.reshape(3, -1).mean(axis=1)
    np.testing.assert_allclose(top_k_intersection(a, masks, k=1.0), share)


@pytest.mark.parametrize("tolerance", [-1, np.nan, np.inf, True, "3"])
def test_bad_tolerance(tolerance):
    a, masks = random_case(n=2)
    with pytest.raises(ValueError, match="tolerance"):
        pointing_game(a, masks, tolerance=tolerance)


def test_directions():
    assert all(metric.greater_is_better is True for metric in ALL)


@st.composite
def maps_and_masks(draw):
    shape = draw(hnp.array_shapes(min_dims=3, max_dims=3, min_side=2, max_side=6))
    a = draw(
        hnp.arrays(
            np.float64,
            shape,
            elements=st.one_of(
                st.sampled_from([0.0, 1.0, -1.0]),  # ties
                st.floats(-1e3, 1e3, allow_nan=False, width=32),
            ),
        )
    )
    masks = draw(hnp.arrays(np.bool_, shape))
    flat = masks.reshape(shape[0], -1)
    flat[:, 0], flat[:, -1] = True, False  # never empty, never full
    return a, masks


@quiet
@settings(max_examples=40, deadline=None)
@given(maps_and_masks(), st.sampled_from([0.25, 4.0, 1024.0]))
def test_scores_lie_in_unit_interval_and_are_scale_free(case, scale):
    a, masks = case
    degenerate = degenerate_maps(a)
    assume(np.array_equal(degenerate_maps(a * scale), degenerate))  # 1e-12 floor
    for metric in ALL:
        for sign in ("signed", "absolute", "positive"):
            if metric is relevance_mass_accuracy and sign == "signed":
                continue  # Quantus's signed ratio can leave [0, 1]
            kwargs = {"k": 2} if metric is top_k_intersection else {}
            scores = metric(a, masks, sign=sign, **kwargs)
            np.testing.assert_array_equal(np.isnan(scores), degenerate)
            finite = scores[~degenerate]
            assert np.all((finite >= -1e-12) & (finite <= 1 + 1e-12)), metric
            # Powers of two scale exactly: the same ranks and ratios.
            scaled = metric(a * scale, masks, sign=sign, **kwargs)
            np.testing.assert_allclose(scaled, scores, rtol=1e-12, atol=1e-12)


@quiet
@settings(max_examples=40, deadline=None)
@given(maps_and_masks())
def test_auc_is_roc_auc_score_and_top_k_the_expected_overlap(case):
    a, masks = case
    degenerate = degenerate_maps(a)
    expected = [
        np.nan if constant else roc_auc_score(m.ravel(), x.ravel())
        for m, x, constant in zip(masks, a, degenerate, strict=True)
    ]
    np.testing.assert_allclose(
        attribution_localization_auc(a, masks), expected, atol=1e-12
    )
    # k = all pixels: the mask's share of the image, whatever the ties.
    n_pixels = a.shape[1] * a.shape[2]
    share = masks.reshape(len(a), -1).mean(axis=1)
    np.testing.assert_allclose(
        top_k_intersection(a, masks, k=n_pixels), np.where(degenerate, np.nan, share)
    )
    # Pointing at a random one of the tied maxima is top-1 with shared ties.
    for sign in ("signed", "absolute", "positive"):
        np.testing.assert_allclose(
            pointing_game(a, masks, sign=sign),
            top_k_intersection(a, masks, k=1, sign=sign),
            atol=1e-12,
        )


@pytest.mark.parametrize("metric", ALL, ids=IDS)
def test_constant_map_scores_nan_with_one_warning(metric):
    a, masks = random_case(n=2)
    a[0] = 0.0
    kwargs = {"k": 30} if metric is top_k_intersection else {}
    with pytest.warns(DegenerateExplanationWarning) as record:
        scores = metric(a, masks, **kwargs)
    assert len(record) == 1
    assert str(record[0].message).startswith(f"{metric.__name__}: 1 of 2 ")
    assert record[0].filename == __file__  # points at the caller
    assert np.isnan(scores[0]) and np.isfinite(scores[1])


@pytest.mark.parametrize("metric", ALL, ids=IDS)
def test_no_warning_without_constant_maps(metric):
    a, masks = random_case()
    kwargs = {"k": 30} if metric is top_k_intersection else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(metric(a, masks, **kwargs)).all()
