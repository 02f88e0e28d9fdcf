import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage import color

from sklearn_xai.preprocessing import ColorConverter


def _rgb(n=2, height=5, width=6, dtype=np.float32, seed=0):
    images = np.random.default_rng(seed).random((n, height, width, 3))
    if dtype == np.uint8:
        return np.rint(images * 255).astype(np.uint8)
    return images.astype(dtype)


def test_gray_uses_the_documented_weights():
    images = _rgb(dtype=np.float64)
    out = ColorConverter(to="gray").fit_transform(images)
    expected = images @ np.array([0.299, 0.587, 0.114])
    assert out.shape == (2, 5, 6, 1)
    np.testing.assert_allclose(out[..., 0], expected, atol=1e-6)


def test_gray_is_close_to_skimage():
    # scikit-image weights the channels with Rec. 709, OpenCV with Rec. 601:
    # on [0, 1] images they differ by at most 0.1284.
    images = _rgb(dtype=np.float32)
    out = ColorConverter(to="gray").fit_transform(images)[..., 0]
    reference = color.rgb2gray(images)
    np.testing.assert_allclose(out, reference, atol=0.13)
    # and identical on gray content
    grayish = np.repeat(images[..., :1], 3, axis=-1)
    np.testing.assert_allclose(
        ColorConverter(to="gray").fit_transform(grayish)[..., 0],
        color.rgb2gray(grayish),
        atol=1e-6,
    )


def test_hsv_and_lab_match_skimage_for_floats():
    images = _rgb(dtype=np.float32)
    hsv = ColorConverter(to="hsv").fit_transform(images)
    reference = color.rgb2hsv(images)
    hue_gap = (hsv[..., 0] / 360.0 - reference[..., 0] + 0.5) % 1.0 - 0.5
    np.testing.assert_allclose(hue_gap, 0.0, atol=1e-5)
    np.testing.assert_allclose(hsv[..., 1:], reference[..., 1:], atol=1e-5)
    lab = ColorConverter(to="lab").fit_transform(images)
    np.testing.assert_allclose(lab, color.rgb2lab(images), atol=0.5)


def test_uint8_ranges_follow_opencv():
    blue = np.zeros((1, 1, 1, 3), np.uint8)
    blue[..., 2] = 255
    np.testing.assert_array_equal(
        ColorConverter(to="hsv").fit_transform(blue)[0, 0, 0], [120, 255, 255]
    )
    np.testing.assert_allclose(
        ColorConverter(to="hsv").fit_transform(blue / 255.0)[0, 0, 0],
        [240, 1, 1],
        rtol=1e-6,
    )
    white = np.full((1, 1, 1, 3), 255, np.uint8)
    np.testing.assert_array_equal(
        ColorConverter(to="lab").fit_transform(white)[0, 0, 0], [255, 128, 128]
    )


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64], ids=str)
@pytest.mark.parametrize("to", ["gray", "rgb", "hsv", "lab"])
def test_dtype_is_kept(dtype, to):
    assert ColorConverter(to=to).fit_transform(_rgb(dtype=dtype)).dtype == dtype


def test_gray_input():
    gray = _rgb(dtype=np.float32)[..., 0]
    rgb = ColorConverter(to="rgb").fit_transform(gray)
    assert rgb.shape == (2, 5, 6, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], gray)
    np.testing.assert_allclose(
        ColorConverter(to="lab").fit_transform(gray),
        ColorConverter(to="lab").fit_transform(rgb),
    )
    same = ColorConverter(to="gray").fit_transform(gray)
    np.testing.assert_array_equal(same, gray)
    assert not np.shares_memory(same, gray)


def test_flattened_input():
    images = _rgb()
    out = ColorConverter(to="gray", image_shape=(5, 6, 3)).fit_transform(
        images.reshape(2, -1)
    )
    assert out.shape == (2, 30)


@pytest.mark.parametrize("channels", [2, 4])
def test_wrong_channel_count(channels):
    images = np.zeros((1, 3, 3, channels))
    with pytest.raises(ValueError, match=f"X to hold gray.*got {channels} channels"):
        ColorConverter().fit(images)


def test_gray_has_no_inverse():
    converter = ColorConverter(to="gray").fit(_rgb())
    assert not hasattr(converter, "inverse_transform")
    with pytest.raises(AttributeError, match="inverse_transform"):
        converter.inverse_transform(_rgb())


def test_inverse_needs_three_channels():
    converter = ColorConverter(to="hsv").fit(_rgb())
    with pytest.raises(ValueError, match=r"3 channel\(s\).*got 1"):
        converter.inverse_transform(_rgb()[..., :1])


def test_inverse_of_flattened_output_from_gray_fit():
    gray = _rgb(dtype=np.float32)[..., 0]
    converter = ColorConverter(to="hsv").fit(gray)
    flat = ColorConverter(to="hsv", image_shape=(5, 6)).fit_transform(
        gray.reshape(2, -1)
    )
    assert flat.shape == (2, 90)
    back = ColorConverter(to="hsv", image_shape=(5, 6)).fit(gray.reshape(2, -1))
    rgb = back.inverse_transform(flat)
    assert rgb.shape == (2, 90)
    np.testing.assert_allclose(rgb.reshape(2, 5, 6, 3)[..., 1], gray, atol=1e-5)
    assert converter.inverse_transform(converter.transform(gray)).shape == (2, 5, 6, 3)


@pytest.mark.parametrize("to", ["hsv", "lab", "rgb"])
def test_uint8_round_trip_is_close(to):
    images = _rgb(n=4, height=16, width=16, dtype=np.uint8)
    converter = ColorConverter(to=to).fit(images)
    back = converter.inverse_transform(converter.transform(images))
    error = np.abs(back.astype(int) - images)
    assert back.dtype == np.uint8
    # uint8 Lab quantises a* and b* coarsely: a few levels off at worst.
    assert error.mean() < 1.5 and error.max() <= 24


@settings(max_examples=25, deadline=None)
@given(
    images=arrays(
        np.float64,
        st.tuples(st.integers(1, 2), st.integers(1, 5), st.integers(1, 5), st.just(3)),
        elements=st.floats(0, 1),
    ),
    to=st.sampled_from(["rgb", "hsv", "lab"]),
)
def test_float_round_trip(images, to):
    converter = ColorConverter(to=to).fit(images)
    converted = converter.transform(images)
    assert converted.shape == images.shape and converted.dtype == np.float64
    # OpenCV's float Lab is accurate to about 5e-3 (its gamma uses a spline).
    atol = 6e-3 if to == "lab" else 1e-5
    np.testing.assert_allclose(
        converter.inverse_transform(converted), images, atol=atol
    )
