import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from sklearn_xai.preprocessing import ImageDenoiser

METHODS = ["gaussian", "median", "bilateral", "nl_means"]
# Strong enough settings to visibly remove noise of std 0.15 (38 uint8 levels).
STRONG = {
    "gaussian": {"kernel_size": 5, "sigma": 2.0},
    "median": {"kernel_size": 5},
    "bilateral": {"kernel_size": 5, "sigma": 150.0},
    "nl_means": {"h": 40.0},
}
DTYPES = [np.uint8, np.float32, np.float64]


def _noisy(n=2, height=16, width=16, channels=3, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    images = np.clip(
        0.5 + 0.15 * rng.standard_normal((n, height, width, channels)), 0, 1
    )
    if dtype == np.uint8:
        return np.rint(images * 255).astype(np.uint8)
    return images.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("channels", [1, 2, 3], ids=lambda c: f"{c}ch")
def test_shape_and_dtype_are_kept_and_noise_is_reduced(method, dtype, channels):
    images = _noisy(channels=channels, dtype=dtype)
    out = ImageDenoiser(method=method, **STRONG[method]).fit_transform(images)
    assert out.shape == images.shape
    assert out.dtype == dtype
    assert out.astype(float).std() < 0.8 * images.astype(float).std()


def test_gaussian_matches_scipy():
    image = _noisy(n=1, channels=1)[0, ..., 0]
    out = ImageDenoiser(kernel_size=9, sigma=1.5).fit_transform(image[np.newaxis])[0]
    # OpenCV's default border (reflect 101) is scipy's "mirror"; radius 4.
    reference = ndimage.gaussian_filter(image, 1.5, mode="mirror", truncate=4 / 1.5)
    np.testing.assert_allclose(out, reference, atol=1e-6)


def test_gaussian_default_sigma_follows_kernel_size():
    image = _noisy(n=1)
    out = ImageDenoiser(kernel_size=5).fit_transform(image)
    np.testing.assert_allclose(out[0], cv2.GaussianBlur(image[0], (5, 5), 0))


def test_median_removes_salt_noise():
    images = np.zeros((1, 7, 7), np.uint8)
    images[0, 3, 3] = 255
    out = ImageDenoiser(method="median").fit_transform(images)
    assert out.max() == 0


@pytest.mark.parametrize("kernel_size", [3, 5, 7])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_median_opencv_and_scipy_paths_agree(kernel_size, channels):
    images = _noisy(n=1, channels=channels)
    out64 = ImageDenoiser(method="median", kernel_size=kernel_size).fit_transform(
        images
    )
    out32 = ImageDenoiser(method="median", kernel_size=kernel_size).fit_transform(
        images.astype(np.float32)
    )
    reference = ndimage.median_filter(
        images[0], size=(kernel_size, kernel_size, 1), mode="nearest"
    )
    np.testing.assert_allclose(out64[0], reference)
    np.testing.assert_allclose(out32[0], reference, rtol=1e-6)


def test_bilateral_keeps_edges_better_than_gaussian():
    step = np.zeros((1, 12, 12), np.float32)
    step[:, :, 6:] = 1.0
    bilateral = ImageDenoiser(method="bilateral", kernel_size=5, sigma=20)
    gaussian = ImageDenoiser(method="gaussian", kernel_size=5, sigma=2)
    edge_b = bilateral.fit_transform(step)[0, 6, 5:7]
    edge_g = gaussian.fit_transform(step)[0, 6, 5:7]
    assert edge_b[1] - edge_b[0] > edge_g[1] - edge_g[0]
    np.testing.assert_allclose(edge_b, [0.0, 1.0], atol=1e-3)


def test_bilateral_sigma_color_is_in_uint8_units():
    images = _noisy(n=1, channels=3, dtype=np.uint8)
    as_uint8 = ImageDenoiser(method="bilateral", sigma=40).fit_transform(images)
    as_float = ImageDenoiser(method="bilateral", sigma=40).fit_transform(
        images / np.float32(255)
    )
    assert np.abs(as_float * 255 - as_uint8).max() <= 1.5


def test_bilateral_other_channel_counts_are_filtered_per_channel():
    images = _noisy(n=1, channels=2, dtype=np.float32)
    out = ImageDenoiser(method="bilateral").fit_transform(images)
    for c in range(2):
        single = ImageDenoiser(method="bilateral").fit_transform(images[..., c])
        np.testing.assert_allclose(out[..., c], single)


def test_nl_means_quantises_floats_to_uint8_levels():
    images = _noisy(n=1, channels=3, dtype=np.float64)
    out = ImageDenoiser(method="nl_means").fit_transform(images)
    np.testing.assert_allclose(out * 255, np.rint(out * 255), atol=1e-9)
    as_uint8 = ImageDenoiser(method="nl_means").fit_transform(
        np.rint(images * 255).astype(np.uint8)
    )
    np.testing.assert_allclose(out * 255, as_uint8, atol=1e-9)


def test_nl_means_matches_opencv_on_gray():
    image = _noisy(n=1, channels=1, dtype=np.uint8)
    out = ImageDenoiser(method="nl_means", h=15).fit_transform(image[..., 0])
    expected = cv2.fastNlMeansDenoising(image[0, ..., 0], None, 15, 7, 21)
    np.testing.assert_array_equal(out[0], expected)


@pytest.mark.parametrize(
    "values", [(-0.5, 0.5), (0.0, 2.0)], ids=["negative", "over-1"]
)
def test_nl_means_rejects_floats_outside_unit_range(values):
    images = np.full((1, 4, 4), values[1])
    images[0, 0, 0] = values[0]
    with pytest.raises(ValueError, match=r"values in \[0, 1\].*X has values in"):
        ImageDenoiser(method="nl_means").fit(images)
    denoiser = ImageDenoiser(method="nl_means").fit(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        denoiser.transform(images)


@pytest.mark.parametrize("method", ["gaussian", "median", "bilateral"])
def test_even_kernel_size_is_rejected(method):
    with pytest.raises(ValueError, match=r"kernel_size must be odd.*got 4"):
        ImageDenoiser(method=method, kernel_size=4).fit(np.zeros((1, 4, 4)))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"method": "wiener"}, "'method' parameter"),
        ({"kernel_size": 0}, "'kernel_size' parameter"),
        ({"sigma": -1.0}, "'sigma' parameter"),
        ({"h": -1}, "'h' parameter"),
    ],
    ids=["method", "kernel_size", "sigma", "h"],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        ImageDenoiser(**params).fit(np.zeros((1, 4, 4)))


@settings(max_examples=25, deadline=None)
@given(
    method=st.sampled_from(METHODS),
    dtype=st.sampled_from(DTYPES),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    channels=st.sampled_from([1, 3, 4]),
    kernel_size=st.sampled_from([1, 3, 5, 7]),
)
def test_constant_images_stay_constant(
    method, dtype, height, width, channels, kernel_size
):
    value = 100 if dtype == np.uint8 else 0.4
    images = np.full((2, height, width, channels), value, dtype=dtype)
    out = ImageDenoiser(method=method, kernel_size=kernel_size).fit_transform(images)
    assert out.shape == images.shape and out.dtype == dtype
    # nl_means works at uint8 precision (and in Lab for RGB): 2 levels.
    levels = 2 if method == "nl_means" else (1 if dtype == np.uint8 else 0)
    scale = 1 if dtype == np.uint8 else 255
    np.testing.assert_allclose(out, images, atol=levels / scale + 1e-5)
