"""Input handling shared by every image transformer of sklearn_xai.preprocessing."""

import numpy as np
import pytest
from sklearn.base import clone

import sklearn_xai.preprocessing as preprocessing
from sklearn_xai.preprocessing import (
    ColorConverter,
    HistogramEqualizer,
    ImageDenoiser,
    ImageFlattener,
    ImageNormalizer,
    ImageResizer,
    SuperpixelSegmenter,
)

TRANSFORMERS = [
    ImageResizer(size=(4, 5)),
    ColorConverter(to="hsv"),
    ImageNormalizer(),
    ImageDenoiser(method="median"),
    HistogramEqualizer(tile_grid_size=2),
    SuperpixelSegmenter(method="slic", n_segments=4),
    ImageFlattener(),
]
IDS = [type(t).__name__ for t in TRANSFORMERS]


def _images(n=3, height=6, width=7, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, height, width, channels))


def test_public_api_is_sorted_and_complete():
    assert preprocessing.__all__ == sorted(preprocessing.__all__)
    assert len(preprocessing.__all__) == 8
    for name in preprocessing.__all__:
        assert getattr(preprocessing, name).__module__.startswith(
            "sklearn_xai.preprocessing._"
        )


@pytest.mark.parametrize("name", preprocessing.__all__)
def test_init_is_keyword_only_and_stores_parameters(name):
    cls = getattr(preprocessing, name)
    with pytest.raises(TypeError):
        cls(1)
    est = cls()
    assert clone(est).get_params() == est.get_params()


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_layouts_give_the_same_result(transformer):
    images = _images()
    n, height, width, channels = images.shape
    out4 = clone(transformer).fit_transform(images)
    flat = clone(transformer).set_params(image_shape=(height, width, channels))
    out2 = flat.fit_transform(images.reshape(n, -1))
    assert out2.ndim == 2
    np.testing.assert_allclose(out2, out4.reshape(n, -1))


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_gray_layout_is_kept(transformer):
    images = _images(channels=1)[..., 0]
    est = clone(transformer)
    if isinstance(est, ColorConverter):
        est.set_params(to="gray")
    out = est.fit_transform(images)
    assert out.ndim == (2 if isinstance(est, ImageFlattener) else 3)
    assert out.shape[0] == images.shape[0]


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_input_is_not_modified(transformer):
    for images in (_images(), (_images() * 255).astype(np.uint8)):
        original = images.copy()
        images.setflags(write=False)
        est = clone(transformer).fit(images)
        est.transform(images)
        if hasattr(est, "inverse_transform") and not isinstance(
            est, SuperpixelSegmenter
        ):
            out = est.transform(images)
            out_copy = out.copy()
            est.inverse_transform(out)
            np.testing.assert_array_equal(out, out_copy)
        np.testing.assert_array_equal(images, original)


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
@pytest.mark.parametrize("bad_value", [np.nan, np.inf], ids=["nan", "inf"])
def test_non_finite_values_are_rejected(transformer, bad_value):
    images = _images()
    images[0, 1, 1, 0] = bad_value
    with pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)"):
        clone(transformer).fit(images)
    est = clone(transformer).fit(_images())
    with pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)"):
        est.transform(images)


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4, 3, 1)], ids=["1d", "5d"])
def test_wrong_ndim_is_rejected(transformer, shape):
    with pytest.raises(ValueError, match=r"X must be an image batch|Expected 2D"):
        clone(transformer).fit(np.zeros(shape))


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
@pytest.mark.parametrize(
    "shape",
    [(0, 4, 4, 3), (2, 0, 4, 3)],
    ids=["no-images", "zero-height"],
)
def test_empty_input_is_rejected(transformer, shape):
    with pytest.raises(ValueError, match=r"0 sample\(s\)|non-zero size"):
        clone(transformer).fit(np.zeros(shape))


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_channel_count_must_match_fit(transformer):
    est = clone(transformer).fit(_images(channels=3))
    with pytest.raises(ValueError, match=r"X has images with 1 channel\(s\)"):
        est.transform(_images(channels=1))


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_flattened_input_must_match_image_shape(transformer):
    est = clone(transformer).set_params(image_shape=(4, 4, 3))
    with pytest.raises(ValueError, match=r"X has 10 features per row.*needs"):
        est.fit(np.zeros((2, 10)))


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_flattened_input_must_match_fitted_features(transformer):
    est = clone(transformer).fit(np.random.default_rng(0).random((3, 8)))
    with pytest.raises(ValueError, match="X has 5 features"):
        est.transform(np.zeros((3, 5)))


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_methods_need_fit(transformer):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        clone(transformer).transform(_images())


def test_invalid_image_shape_is_rejected():
    with pytest.raises(ValueError, match="image_shape must be a tuple"):
        ImageResizer(image_shape=(4, 0)).fit(np.zeros((2, 16)))


@pytest.mark.parametrize(
    "transformer",
    [ImageResizer(), ColorConverter(), ImageNormalizer(), ImageDenoiser()],
    ids=lambda t: type(t).__name__,
)
def test_other_sizes_are_accepted_after_fit(transformer):
    est = clone(transformer).fit(_images(height=6, width=7))
    out = est.transform(_images(height=9, width=5))
    assert out.shape[0] == 3


def test_flattener_needs_fitted_size():
    est = ImageFlattener().fit(_images(height=6, width=7))
    with pytest.raises(ValueError, match=r"images of size 9x5.*fitted on.*6x7"):
        est.transform(_images(height=9, width=5))


# -- flattened images without image_shape --------------------------------------

SPATIAL = ["ImageResizer", "ImageDenoiser", "HistogramEqualizer", "SuperpixelSegmenter"]


@pytest.mark.parametrize(
    "n_features, suggested",
    [(784, r"image_shape=\(28, 28\)"), (3072, r"image_shape=\(32, 32, 3\)")],
    ids=["28x28", "32x32-rgb"],
)
@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_flat_images_without_image_shape_are_never_read_silently(
    transformer, n_features, suggested
):
    # Read as one-row images, a resized (n, 784) array was garbage.
    X = np.random.default_rng(0).random((3, n_features))
    name = type(transformer).__name__
    if name == "ImageFlattener":  # the same rows whatever the shape
        np.testing.assert_array_equal(clone(transformer).fit_transform(X), X)
    elif name in SPATIAL:
        match = rf"{name} works on neighbouring.*{suggested}.*image_shape=\(1, "
        with pytest.raises(ValueError, match=match):
            clone(transformer).fit(X)
    else:
        with pytest.warns(UserWarning, match=rf"{n_features} features.*{suggested}"):
            clone(transformer).fit(X)


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_flat_images_with_image_shape_or_one_row_shape_pass(transformer, recwarn):
    X = np.random.default_rng(0).random((3, 784))
    side = clone(transformer).set_params(image_shape=(28, 28)).fit_transform(X)
    assert len(side) == 3
    rows = clone(transformer).set_params(image_shape=(1, 784)).fit(X)
    assert rows.image_shape_ == (1, 784, 1)
    assert not [w for w in recwarn if "image_shape" in str(w.message)]


def test_resizer_on_flat_images_equals_resizing_the_images():
    images = np.random.default_rng(0).random((3, 28, 28))
    flat = ImageResizer(size=32, image_shape=(28, 28)).fit_transform(
        images.reshape(3, -1)
    )
    np.testing.assert_allclose(
        flat.reshape(3, 32, 32), ImageResizer(size=32).fit_transform(images)
    )


@pytest.mark.parametrize("n_features", [1, 2, 3, 5, 8, 10, 20, 15, 12, 50])
def test_tabular_widths_stay_one_row_images_without_a_word(n_features, recwarn):
    # The widths of scikit-learn's common checks, and non-square ones.
    X = np.random.default_rng(0).random((4, n_features))
    for transformer in TRANSFORMERS:
        assert clone(transformer).fit(X).image_shape_ == (1, n_features, 1)
    assert not [w for w in recwarn if "image_shape" in str(w.message)]


@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=IDS)
def test_one_unbatched_image_suggests_a_batch_of_one(transformer):
    images = _images(height=6, width=7, channels=3)
    fitted = clone(transformer).fit(images)
    with pytest.raises(ValueError, match=r"shape \(6, 7, 3\): one image.*X\[None\]"):
        fitted.transform(images[0])
    gray = clone(transformer)
    if type(transformer).__name__ == "ColorConverter":
        gray.set_params(to="rgb")
    gray.fit(images[..., 0])
    with pytest.raises(ValueError, match=r"shape \(6, 7\): one image.*X\[None\]"):
        gray.transform(images[0, ..., 0])
    assert gray.transform(images[:1, ..., 0]).shape[0] == 1
