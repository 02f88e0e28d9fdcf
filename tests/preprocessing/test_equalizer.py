import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_xai.preprocessing import HistogramEqualizer


def _dull(n=2, height=24, width=32, channels=1, seed=0):
    """Low-contrast uint8 images (values 100..140)."""
    rng = np.random.default_rng(seed)
    return rng.integers(100, 141, (n, height, width, channels)).astype(np.uint8)


def test_gray_matches_opencv_clahe():
    images = _dull()[..., 0]
    out = HistogramEqualizer(clip_limit=3.0, tile_grid_size=(2, 4)).fit_transform(
        images
    )
    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 2))  # (cols, rows)
    for image, result in zip(images, out, strict=True):
        np.testing.assert_array_equal(result, clahe.apply(image))
    assert out.dtype == np.uint8
    assert np.ptp(out) > np.ptp(images)


def test_tile_grid_size_is_rows_then_columns():
    images = _dull(height=16, width=48)[..., 0]
    a = HistogramEqualizer(tile_grid_size=(1, 6)).fit_transform(images)
    b = HistogramEqualizer(tile_grid_size=(6, 1)).fit_transform(images)
    expected = cv2.createCLAHE(2.0, (6, 1)).apply(images[0])
    np.testing.assert_array_equal(a[0], expected)
    assert not np.array_equal(a, b)


def test_int_tile_grid_size():
    images = _dull()
    np.testing.assert_array_equal(
        HistogramEqualizer(tile_grid_size=3).fit_transform(images),
        HistogramEqualizer(tile_grid_size=(3, 3)).fit_transform(images),
    )


def test_colour_equalizes_lightness_only():
    images = _dull(channels=1).repeat(3, axis=-1)
    images[..., 0] = np.clip(images[..., 0].astype(int) + 40, 0, 255)  # reddish
    out = HistogramEqualizer().fit_transform(images)
    lab_in = cv2.cvtColor(images[0], cv2.COLOR_RGB2Lab)
    lab_out = cv2.cvtColor(out[0], cv2.COLOR_RGB2Lab)
    assert np.ptp(lab_out[..., 0]) > np.ptp(lab_in[..., 0])
    # chroma (a*, b*) moves by rounding only, and the hue stays reddish
    assert np.abs(lab_out[..., 1:].astype(int) - lab_in[..., 1:]).mean() < 3
    assert (out[..., 0].astype(int) >= out[..., 1]).mean() > 0.95


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=str)
@pytest.mark.parametrize("channels", [1, 3])
def test_floats_give_the_uint8_result_scaled(dtype, channels):
    images = _dull(channels=channels)
    floats = (images / 255.0).astype(dtype)
    out = HistogramEqualizer().fit_transform(floats)
    assert out.dtype == dtype
    expected = HistogramEqualizer().fit_transform(images) / 255.0
    np.testing.assert_allclose(out, expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("low", "high", "match"),
    [
        (0.0, 2.0, r"values in \[0, 1\].*X has values in \[0, 2\]"),
        (-0.1, 0.5, r"Negative values in data passed to X"),
        (0.0, 255.0, r"Rescale it first"),
    ],
    ids=["over-1", "negative", "uint8-range-floats"],
)
def test_floats_outside_unit_range_are_rejected(low, high, match):
    images = np.full((1, 4, 4), high)
    images[0, 0, 0] = low
    with pytest.raises(ValueError, match=match):
        HistogramEqualizer().fit(images)
    fitted = HistogramEqualizer().fit(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match=match):
        fitted.transform(images)


@pytest.mark.parametrize("channels", [2, 4])
def test_wrong_channel_count_is_rejected(channels):
    with pytest.raises(ValueError, match=f"gray .*or RGB.*got {channels} channels"):
        HistogramEqualizer().fit(np.zeros((1, 4, 4, channels), np.uint8))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"clip_limit": -1.0}, "'clip_limit' parameter"),
        ({"tile_grid_size": 0}, "'tile_grid_size' parameter"),
        ({"tile_grid_size": (2, 0)}, "tile_grid_size must be a positive int"),
    ],
    ids=["negative-clip", "zero-tiles", "zero-in-tuple"],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        HistogramEqualizer(**params).fit(np.zeros((1, 4, 4), np.uint8))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    height=st.integers(1, 20),
    width=st.integers(1, 20),
    channels=st.sampled_from([1, 3]),
    dtype=st.sampled_from([np.uint8, np.float32, np.float64]),
    tiles=st.integers(1, 8),
)
def test_shape_dtype_and_range_invariants(n, height, width, channels, dtype, tiles):
    images = _dull(n, height, width, channels)
    if dtype != np.uint8:
        images = (images / 255.0).astype(dtype)
    out = HistogramEqualizer(tile_grid_size=tiles).fit_transform(images)
    assert out.shape == images.shape and out.dtype == dtype
    top = 255 if dtype == np.uint8 else 1.0
    assert 0 <= out.min() and out.max() <= top
