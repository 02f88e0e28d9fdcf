import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sklearn_xai.preprocessing import ImageNormalizer

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _images(dtype=np.float64, channels=3, seed=0):
    images = np.random.default_rng(seed).random((4, 5, 6, channels)) * 200
    return images.astype(dtype)


def test_learned_statistics_match_numpy():
    images = _images()
    normalizer = ImageNormalizer().fit(images)
    np.testing.assert_allclose(normalizer.mean_, images.mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(normalizer.std_, images.std(axis=(0, 1, 2)))
    assert normalizer.mean_.dtype == normalizer.std_.dtype == np.float64
    out = normalizer.transform(images)
    expected = (images - images.mean(axis=(0, 1, 2))) / images.std(axis=(0, 1, 2))
    np.testing.assert_allclose(out, expected)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-12)


def test_gray_and_tabular_input_have_one_channel():
    images = _images(channels=1)[..., 0]
    normalizer = ImageNormalizer().fit(images)
    assert normalizer.mean_.shape == (1,)
    assert normalizer.transform(images).shape == images.shape
    X = images.reshape(4, -1)
    out = ImageNormalizer().fit_transform(X)
    np.testing.assert_allclose(out, (X - X.mean()) / X.std())


def test_constant_channel_gets_unit_std():
    images = _images()
    images[..., 1] = 0.1
    normalizer = ImageNormalizer().fit(images)
    assert normalizer.std_[1] == 1.0
    np.testing.assert_allclose(normalizer.transform(images)[..., 1], 0.0, atol=1e-15)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [(np.uint8, np.float32), (np.float32, np.float32), (np.float64, np.float64)],
    ids=["uint8", "float32", "float64"],
)
def test_output_dtype(dtype, expected):
    images = _images(dtype=dtype)
    normalizer = ImageNormalizer().fit(images)
    out = normalizer.transform(images)
    assert out.dtype == expected
    assert normalizer.inverse_transform(out).dtype == expected


def test_given_statistics_are_used():
    images = _images() / 200
    normalizer = ImageNormalizer(mean=IMAGENET_MEAN, std=IMAGENET_STD).fit(images)
    np.testing.assert_array_equal(normalizer.mean_, IMAGENET_MEAN)
    np.testing.assert_allclose(
        normalizer.transform(images),
        (images - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD),
    )


@pytest.mark.parametrize("mean", [0.5, [0.5]], ids=["float", "one-element"])
def test_one_value_is_broadcast(mean):
    normalizer = ImageNormalizer(mean=mean, std=2.0).fit(_images())
    np.testing.assert_array_equal(normalizer.mean_, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(normalizer.std_, [2.0, 2.0, 2.0])


def test_only_std_given_learns_mean():
    images = _images()
    normalizer = ImageNormalizer(std=IMAGENET_STD).fit(images)
    np.testing.assert_allclose(normalizer.mean_, images.mean(axis=(0, 1, 2)))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"mean": IMAGENET_MEAN}, r"mean must be .*1 channel\(s\) but mean has 3"),
        ({"std": [1.0, 2.0]}, r"std must be .*1 channel\(s\) but std has 2"),
        ({"mean": [[0.1]]}, "mean must be a float or a sequence"),
        ({"std": [0.0]}, "std must be positive"),
        ({"std": 0.0}, "'std' parameter"),
        ({"mean": [np.nan]}, "mean must hold finite values"),
    ],
    ids=["mean-length", "std-length", "mean-2d", "zero-std", "zero-std-scalar", "nan"],
)
def test_invalid_statistics(params, match):
    with pytest.raises(ValueError, match=match):
        ImageNormalizer(**params).fit(_images(channels=1))


def test_transform_needs_the_fitted_channels():
    normalizer = ImageNormalizer().fit(_images(channels=3))
    with pytest.raises(ValueError, match=r"X has images with 1 channel\(s\)"):
        normalizer.transform(_images(channels=1))
    with pytest.raises(ValueError, match=r"X has images with 1 channel\(s\)"):
        normalizer.inverse_transform(_images(channels=1))


@settings(max_examples=25, deadline=None)
@given(
    images=arrays(
        st.sampled_from([np.float32, np.float64, np.uint8]),
        st.tuples(
            st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)
        ),
        elements=st.integers(0, 255),
    ),
)
def test_inverse_transform_round_trip(images):
    normalizer = ImageNormalizer().fit(images)
    out = normalizer.transform(images)
    assert out.shape == images.shape
    assert np.all(np.isfinite(out))
    tolerance = 1e-3 if out.dtype == np.float32 else 1e-9
    np.testing.assert_allclose(
        normalizer.inverse_transform(out), images, atol=tolerance * 255
    )
