"""Complexity metrics: Quantus agreement, closed forms, purity, errors, properties."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sklearn_xai.metrics import (
    DegenerateExplanationWarning,
    _complexity,
    complexity,
    effective_complexity,
    sparseness,
)
from sklearn_xai.metrics._checks import degenerate_maps

ALL = [sparseness, complexity, effective_complexity]
IDS = ["sparseness", "complexity", "effective"]
quiet = pytest.mark.filterwarnings(
    "ignore::sklearn_xai.metrics.DegenerateExplanationWarning"
)


def random_attributions(n=5, height=12, width=14, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, height, width)).astype(np.float32)


def quantus_scores(name, attributions, **kwargs):
    """The Quantus 0.6 metric ``name`` on ``attributions`` (float64, no model)."""
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
        )
    return np.asarray(scores, dtype=np.float64)


PER_IMAGE = {"normalise_axes": (1, 2, 3)}  # Quantus normalising each map alone


@pytest.mark.parametrize(
    ("metric", "kwargs", "quantus_name", "quantus_kwargs"),
    [
        (sparseness, {}, "Sparseness", {"normalise_func_kwargs": PER_IMAGE}),
        (complexity, {}, "Complexity", {}),
        (
            effective_complexity,
            {},
            "EffectiveComplexity",
            {"normalise_func_kwargs": PER_IMAGE},
        ),
        (
            effective_complexity,
            {"eps": 0.3},
            "EffectiveComplexity",
            {"eps": 0.3, "normalise_func_kwargs": PER_IMAGE},
        ),
        (
            effective_complexity,
            {"eps": 0.5, "normalize": False},
            "EffectiveComplexity",
            {"eps": 0.5, "normalise": False},
        ),
    ],
    ids=["sparseness", "complexity", "effective", "effective-eps", "effective-raw"],
)
def test_matches_quantus(metric, kwargs, quantus_name, quantus_kwargs):
    a = random_attributions()
    a[1] *= 20.0  # different scales per image
    ours = metric(a, **kwargs)
    assert ours.dtype == np.float64 and ours.shape == (5,)
    np.testing.assert_allclose(
        ours, quantus_scores(quantus_name, a, **quantus_kwargs), rtol=0, atol=1e-6
    )


def test_effective_complexity_normalizes_per_image_unlike_quantus():
    # Quantus divides by the largest magnitude of the whole batch: scaling
    # one image changes the others' counts there, not here.
    a = random_attributions()
    scaled = a.copy()
    scaled[0] *= 100.0
    ours = effective_complexity(scaled, eps=0.3)
    np.testing.assert_array_equal(ours, effective_complexity(a, eps=0.3))
    batch_max = quantus_scores("EffectiveComplexity", scaled, eps=0.3)
    assert batch_max[0] == ours[0]
    assert np.all(batch_max[1:] < ours[1:])


@pytest.mark.parametrize("shape", [(1, 4, 4), (1, 224, 224)], ids=["4x4", "224x224"])
def test_sparseness_closed_forms(shape):
    n_pixels = shape[1] * shape[2]
    one_hot = np.zeros(shape, dtype=np.float32)
    one_hot[0, 1, 2] = -3.0
    np.testing.assert_allclose(sparseness(one_hot), [(n_pixels - 1) / n_pixels])
    # Equal magnitudes, both signs: not constant, not sparse at all.
    signs = np.where(np.arange(n_pixels) % 3 == 0, 0.7, -0.7).reshape(shape)
    np.testing.assert_allclose(sparseness(signs), [0.0], atol=1e-15)
    # Constant maps explain nothing (they used to score 0).
    for constant in (np.full(shape, 0.7), np.zeros(shape)):
        with pytest.warns(DegenerateExplanationWarning, match="1 of 1 "):
            np.testing.assert_array_equal(sparseness(constant), [np.nan])
    # Two pixels of relevance 1 and 3 among zeros: sum((2i - N - 1) x_(i)).
    two = np.zeros(shape)
    two[0, 0, 0], two[0, 0, 1] = 1.0, 3.0
    expected = ((n_pixels - 3) * 1 + (n_pixels - 1) * 3) / (n_pixels * 4)
    np.testing.assert_allclose(sparseness(two), [expected])


def test_sparseness_follows_the_paper_where_quantus_adds_an_epsilon():
    # Dense maps: within 1e-6 of Quantus with its default batch normalization.
    a = random_attributions()
    np.testing.assert_allclose(
        sparseness(a), quantus_scores("Sparseness", a), rtol=0, atol=1e-6
    )
    # Quantus adds 1e-7 to every max-normalized value: on a one-hot 224x224
    # map that scales the index by 1 / (1 + 224 * 224 * 1e-7).
    one_hot = np.zeros((1, 224, 224), dtype=np.float32)
    one_hot[0, 100, 100] = 1.0
    n_pixels = 224 * 224
    exact = (n_pixels - 1) / n_pixels
    np.testing.assert_allclose(sparseness(one_hot), [exact], rtol=1e-12)
    theirs = quantus_scores("Sparseness", one_hot)
    np.testing.assert_allclose(theirs, [exact / (1 + n_pixels * 1e-7)], rtol=1e-6)
    assert exact - theirs[0] > 1e-3


def test_complexity_closed_forms():
    signs = np.where(np.arange(15) % 2 == 0, 1.0, -1.0).reshape(1, 3, 5)
    np.testing.assert_allclose(complexity(signs), [np.log(15)])
    # Constant maps: NaN (they used to score log(15), uniform).
    with pytest.warns(DegenerateExplanationWarning, match="2 of 2 "):
        constant = np.stack([np.ones((3, 5)), np.zeros((3, 5))])
        np.testing.assert_array_equal(complexity(constant), [np.nan, np.nan])
    one_hot = np.zeros((1, 3, 5))
    one_hot[0, 2, 4] = -7.0
    np.testing.assert_array_equal(complexity(one_hot), [0.0])
    two = np.zeros((1, 3, 5))
    two[0, 0, :2] = [2.0, -2.0]
    np.testing.assert_allclose(complexity(two), [np.log(2)])
    # p = (1/4, 3/4)
    two[0, 0, :2] = [1.0, 3.0]
    expected = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75))
    np.testing.assert_allclose(complexity(two), [expected])


def test_effective_complexity_closed_forms():
    a = np.array([[[4.0, -2.0, 0.0], [1e-9, 0.4, -4.0]]])
    np.testing.assert_array_equal(effective_complexity(a), [4.0])
    np.testing.assert_array_equal(effective_complexity(a, eps=0.5), [2.0])  # 4, -4
    np.testing.assert_array_equal(effective_complexity(a, eps=0.0), [5.0])
    np.testing.assert_array_equal(
        effective_complexity(a, eps=0.5, normalize=False), [3.0]
    )
    # All-zero maps used to score a perfect 0; now NaN with one warning.
    with pytest.warns(DegenerateExplanationWarning, match="2 of 2 ") as record:
        scores = effective_complexity(np.zeros((2, 3, 3)))
    np.testing.assert_array_equal(scores, [np.nan, np.nan])
    assert len(record) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("metric", "kwargs"),
    [
        (sparseness, {}),
        (complexity, {}),
        (effective_complexity, {}),
        (effective_complexity, {"normalize": False}),
    ],
    ids=["sparseness", "complexity", "effective", "effective-raw"],
)
@quiet
def test_inputs_are_never_modified(metric, kwargs, dtype):
    a = random_attributions().astype(dtype)
    a[2] = 0.0  # an all-zero map takes special paths
    expected = a.copy()
    a.setflags(write=False)
    first = metric(a, **kwargs)
    assert np.isnan(first[2]) and np.isfinite(np.delete(first, 2)).all()
    np.testing.assert_array_equal(a, expected)
    np.testing.assert_array_equal(metric(a, **kwargs), first)  # no state


@pytest.mark.parametrize("metric", [sparseness, complexity, effective_complexity])
def test_chunks_give_the_same_scores(metric, monkeypatch):
    a = random_attributions(n=7)
    a[[1, 6]] = 0.0  # constant maps in two chunks: still one warning
    with pytest.warns(DegenerateExplanationWarning, match="2 of 7 ") as record:
        whole = metric(a)
    monkeypatch.setattr(_complexity, "_CHUNK_PIXELS", 2 * 12 * 14)  # 2 images
    with pytest.warns(DegenerateExplanationWarning, match=r"images \[1, 6\]"):
        np.testing.assert_array_equal(metric(a), whole)
    assert len(record) == 1
    assert np.isnan(whole[[1, 6]]).all() and np.isfinite(whole[[0, 2, 3, 4, 5]]).all()
    assert _complexity.chunks(a.shape)[-1] == slice(6, 7)


@pytest.mark.parametrize("metric", [sparseness, complexity, effective_complexity])
@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((4, 4)), r"must be an array of shape \(n, H, W\)"),
        (np.zeros((1, 4, 4, 3)), r"must be an array of shape \(n, H, W\)"),
        (np.zeros((0, 4, 4)), "is empty"),
        (np.array([[[0.0, np.nan]]]), "NaN or infinity"),
        (np.array([[[0.0, np.inf]]]), "NaN or infinity"),
    ],
    ids=["2d", "4d", "empty", "nan", "inf"],
)
def test_bad_attributions(metric, bad, match):
    with pytest.raises(ValueError, match=match):
        metric(bad)


@pytest.mark.parametrize("eps", [-1e-3, np.nan, np.inf, True, "0.1", None])
def test_bad_eps(eps):
    with pytest.raises(ValueError, match="eps"):
        effective_complexity(random_attributions(), eps=eps)


# -- constant maps ---------------------------------------------------------------


@pytest.mark.parametrize("metric", ALL, ids=IDS)
def test_constant_map_scores_nan_with_one_warning(metric):
    a = random_attributions(n=2)
    a[0] = 0.0
    with pytest.warns(DegenerateExplanationWarning) as record:
        scores = metric(a)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(f"{metric.__name__}: 1 of 2 ") and "[0]" in message
    assert record[0].filename == __file__  # points at the caller
    assert np.isnan(scores[0]) and np.isfinite(scores[1])


@pytest.mark.parametrize("metric", ALL, ids=IDS)
def test_no_warning_without_constant_maps(metric):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(metric(random_attributions())).all()


@pytest.mark.parametrize("metric", ALL, ids=IDS)
def test_readme_lime_round_off_maps_score_nan(metric):
    # The README's LIME maps on digits: all zero, or round-off of ~7e-32
    # (sparseness used to score those 0.386, a fairly "sparse" explanation).
    noise = np.random.default_rng(0).normal(size=(2, 8, 8)) * 7.2e-32
    a = np.concatenate([np.zeros((1, 8, 8)), noise]).astype(np.float32)
    with pytest.warns(DegenerateExplanationWarning, match="3 of 3 "):
        np.testing.assert_array_equal(metric(a), np.nan)


@pytest.mark.parametrize(
    ("a", "constant"),
    [
        (np.zeros((4, 4)), True),
        (np.full((4, 4), -3.5), True),
        (np.full((4, 4), 1e300), True),
        # float32 rounding of a constant: 1 and its next float32
        (np.array([[1.0, np.nextafter(np.float32(1), np.float32(2))]]), True),
        (np.array([[0.0, 7e-32]]), True),  # round-off around zero
        (np.array([[0.0, 1e-13]]), True),
        (np.array([[0.0, 1e-11]]), False),  # small, but above the 1e-12 floor
        (np.array([[1.0, 1.00001]]), False),
        (np.array([[1.0, -1.0]]), False),  # the same magnitude is not constant
        (np.array([[5.0]]), True),  # a single pixel orders nothing
    ],
    ids=[
        "zeros",
        "negative",
        "huge",
        "float32-ulp",
        "round-off",
        "below-floor",
        "above-floor",
        "1e-5-relative",
        "signs",
        "one-pixel",
    ],
)
def test_constant_tolerance(a, constant):
    assert degenerate_maps(a[np.newaxis]).tolist() == [constant]


def test_directions():
    assert sparseness.greater_is_better is True
    assert complexity.greater_is_better is False
    assert effective_complexity.greater_is_better is False


maps = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=6),
    elements=st.floats(-1e3, 1e3, allow_nan=False, width=64),
)
scales = st.floats(1e-3, 1e3)


def nan_exactly_at_constant_maps(scores, a, scale):
    """Check the NaN pattern; assume scaling keeps it (the 1e-12 floor)."""
    degenerate = degenerate_maps(a)
    assume(np.array_equal(degenerate_maps(a * scale), degenerate))
    np.testing.assert_array_equal(np.isnan(scores), degenerate)
    return scores[~degenerate]


@quiet
@settings(max_examples=30, deadline=None)
@given(maps, scales)
def test_sparseness_is_a_scale_free_gini_index(a, scale):
    n_pixels = a.shape[1] * a.shape[2]
    scores = sparseness(a)
    finite = nan_exactly_at_constant_maps(scores, a, scale)
    assert np.all(finite >= -1e-12)
    assert np.all(finite <= (n_pixels - 1) / n_pixels + 1e-12)
    np.testing.assert_allclose(sparseness(a * scale), scores, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparseness(-a), scores, rtol=1e-12, atol=1e-15)


@quiet
@settings(max_examples=30, deadline=None)
@given(maps, scales)
def test_complexity_is_a_scale_free_entropy(a, scale):
    n_pixels = a.shape[1] * a.shape[2]
    scores = complexity(a)
    finite = nan_exactly_at_constant_maps(scores, a, scale)
    assert np.all(finite >= -1e-12)
    assert np.all(finite <= np.log(n_pixels) + 1e-9)
    np.testing.assert_allclose(complexity(a * scale), scores, rtol=1e-9, atol=1e-9)


@quiet
@settings(max_examples=30, deadline=None)
@given(maps, st.sampled_from([0.5, 2.0, 64.0]), st.floats(0.0, 1.0))
def test_effective_complexity_counts_and_is_scale_free(a, scale, eps):
    scores = effective_complexity(a, eps=eps)
    finite = nan_exactly_at_constant_maps(scores, a, scale)
    assert np.all((finite >= 0) & (finite <= a.shape[1] * a.shape[2]))
    assert np.all(finite == np.round(finite))
    # Powers of two scale exactly, so the normalized maps are identical.
    np.testing.assert_array_equal(effective_complexity(a * scale, eps=eps), scores)
