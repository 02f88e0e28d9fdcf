import cv2
import numpy as np
import pytest
from sklearn.datasets import load_digits

from sklearn_xai.datasets import load_digit_images


def test_native_images_match_sklearn_digits():
    digits = load_digit_images()
    original = load_digits()
    assert digits.images.shape == (1797, 8, 8)
    assert digits.images.dtype == np.float32
    np.testing.assert_allclose(digits.images, original.images / 16.0, rtol=1e-6)
    np.testing.assert_array_equal(digits.target, original.target)
    np.testing.assert_array_equal(digits.target_names, np.arange(10))
    assert set(np.unique(digits.target)) == set(range(10))
    assert "scikit-learn" in digits.DESCR


@pytest.mark.parametrize(
    ("size", "as_rgb", "shape"),
    [
        (32, False, (1797, 32, 32)),
        ((24, 16), False, (1797, 24, 16)),
        (16, True, (1797, 16, 16, 3)),
        (None, True, (1797, 8, 8, 3)),
    ],
    ids=["int", "tuple", "int-rgb", "native-rgb"],
)
def test_shapes_dtype_and_range(size, as_rgb, shape):
    images = load_digit_images(size=size, as_rgb=as_rgb).images
    assert images.shape == shape
    assert images.dtype == np.float32
    assert images.min() >= 0.0
    assert images.max() <= 1.0


def test_rgb_channels_repeat_the_gray_level():
    gray = load_digit_images(size=16).images
    rgb = load_digit_images(size=16, as_rgb=True).images
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], gray)


def test_upscaled_images_downsample_back_to_the_original():
    original = load_digit_images().images
    big = load_digit_images(size=32).images
    small = np.stack(
        [cv2.resize(image, (8, 8), interpolation=cv2.INTER_AREA) for image in big]
    )
    assert np.abs(small - original).mean() < 0.05
    assert np.abs(small - original).max() < 0.35


def test_return_X_y():
    images, target = load_digit_images(size=12, return_X_y=True)
    bunch = load_digit_images(size=12)
    np.testing.assert_array_equal(images, bunch.images)
    np.testing.assert_array_equal(target, bunch.target)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"size": 0}, ValueError, "size must be a positive int"),
        ({"size": (8, -1)}, ValueError, r"got \(8, -1\)"),
        ({"size": 2.5}, TypeError, "size must be a positive int"),
        ({"size": (8, 8, 3)}, TypeError, r"got \(8, 8, 3\)"),
        ({"size": True}, TypeError, "size must be"),
        ({"as_rgb": "yes"}, ValueError, "'as_rgb' parameter"),
        ({"return_X_y": 1.0}, ValueError, "'return_X_y' parameter"),
    ],
    ids=["zero", "negative", "float", "three", "bool", "as_rgb", "return_X_y"],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_digit_images(**kwargs)
