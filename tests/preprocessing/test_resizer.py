import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.transform import downscale_local_mean, resize

from sklearn_xai.preprocessing import ImageResizer

DTYPES = [np.uint8, np.float32, np.float64]


def _smooth(height, width, channels=3):
    rows, cols = np.mgrid[0:height, 0:width] / max(height, width)
    planes = [np.sin(2 * rows + k) * np.cos(3 * cols - k) for k in range(channels)]
    return (np.stack(planes, axis=-1) + 1) / 2


@pytest.mark.parametrize(
    ("size", "expected"), [(4, (4, 4)), ((3, 5), (3, 5))], ids=["int", "tuple"]
)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_output_size_and_dtype(size, expected, dtype):
    images = (np.random.default_rng(0).random((2, 8, 6, 3)) * 200).astype(dtype)
    resizer = ImageResizer(size=size).fit(images)
    out = resizer.transform(images)
    assert out.shape == (2, *expected, 3)
    assert out.dtype == dtype
    assert resizer.size_ == expected


def test_gray_and_single_channel_keep_their_layout():
    gray = np.random.default_rng(0).random((2, 8, 8))
    assert ImageResizer(size=3).fit_transform(gray).shape == (2, 3, 3)
    single = gray[..., np.newaxis]
    out = ImageResizer(size=3).fit_transform(single)
    assert out.shape == (2, 3, 3, 1)
    np.testing.assert_allclose(out[..., 0], ImageResizer(size=3).fit_transform(gray))


def test_one_row_tabular_images():
    X = np.tile(np.linspace(0.0, 1.0, 5), (4, 1))
    out = ImageResizer(size=(2, 10)).fit_transform(X)
    assert out.shape == (4, 20)
    images = out.reshape(4, 2, 10)
    np.testing.assert_allclose(images[:, 0], images[:, 1])
    assert np.all(np.diff(images[0, 0]) >= 0)


def test_auto_uses_area_when_shrinking():
    image = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
    out = ImageResizer(size=2).fit_transform(image)
    expected = downscale_local_mean(image[0, ..., 0], (2, 2))
    np.testing.assert_allclose(out[0, ..., 0], expected)


def test_auto_uses_linear_when_enlarging():
    image = _smooth(5, 6)[np.newaxis]
    out = ImageResizer(size=(11, 13)).fit_transform(image)
    expected = cv2.resize(image[0], (13, 11), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(out[0], expected)


def test_matches_skimage_on_a_smooth_image():
    image = _smooth(16, 20)
    out = ImageResizer(size=(40, 50), interpolation="linear").fit_transform(
        image[np.newaxis]
    )[0]
    reference = resize(image, (40, 50), order=1, anti_aliasing=False, mode="edge")
    np.testing.assert_allclose(out, reference, atol=1e-2)


def test_nearest_replicates_pixels():
    image = np.arange(6, dtype=np.uint8).reshape(1, 2, 3)
    out = ImageResizer(size=(4, 6), interpolation="nearest").fit_transform(image)
    np.testing.assert_array_equal(out[0], np.repeat(np.repeat(image[0], 2, 0), 2, 1))


@pytest.mark.parametrize("interpolation", ["cubic", "area", "lanczos", "linear"])
def test_named_interpolations_match_opencv(interpolation):
    flags = {
        "cubic": cv2.INTER_CUBIC,
        "area": cv2.INTER_AREA,
        "lanczos": cv2.INTER_LANCZOS4,
        "linear": cv2.INTER_LINEAR,
    }
    image = _smooth(9, 7).astype(np.float32)
    out = ImageResizer(size=(5, 12), interpolation=interpolation).fit_transform(
        image[np.newaxis]
    )
    expected = cv2.resize(image, (12, 5), interpolation=flags[interpolation])
    np.testing.assert_allclose(out[0], expected)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"size": 0}, "'size' parameter"),
        ({"size": (0, 3)}, r"size must be a positive int or a tuple \(H, W\)"),
        ({"size": (3, 4, 5)}, r"size must be a positive int or a tuple \(H, W\)"),
        ({"interpolation": "bogus"}, "'interpolation' parameter"),
    ],
    ids=["zero", "zero-in-tuple", "three-entries", "bad-interpolation"],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        ImageResizer(**params).fit(np.zeros((1, 4, 4)))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    channels=st.sampled_from([1, 2, 3, 4]),
    size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    dtype=st.sampled_from(DTYPES),
    interpolation=st.sampled_from(["auto", "nearest", "linear", "area"]),
)
def test_shape_and_dtype_invariants(
    n, height, width, channels, size, dtype, interpolation
):
    images = (
        np.random.default_rng(0).random((n, height, width, channels)) * 255
    ).astype(dtype)
    out = ImageResizer(size=size, interpolation=interpolation).fit_transform(images)
    assert out.shape == (n, *size, channels)
    assert out.dtype == dtype
    # Interpolation never leaves the input's range (up to one float32 ulp).
    tol = 4 * np.finfo(np.float32).eps * max(1.0, float(np.abs(images).max()))
    assert images.min() - tol <= out.min() <= out.max() <= images.max() + tol
