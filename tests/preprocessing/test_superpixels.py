import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joblib import parallel_config
from skimage.segmentation import felzenszwalb, quickshift, slic

from sklearn_xai.preprocessing import SuperpixelSegmenter

METHODS = ["quickshift", "slic", "felzenszwalb", "grid"]
# LIME's quickshift defaults merge a 16x20 image into one segment; and
# without the Lab conversion (non-RGB images) colour needs more weight.
SMALL = {"quickshift": {"kernel_size": 2, "max_dist": 3, "ratio": 1.0}}


def _images(n=2, height=16, width=20, channels=3, seed=0):
    """Blocky images with a little noise: four flat quadrants."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, height, width, channels))
    images[:, : height // 2, : width // 2] = 0.9
    images[:, height // 2 :, width // 2 :] = 0.5
    images[:, : height // 2, width // 2 :, 0] = 0.2
    return np.clip(images + 0.01 * rng.standard_normal(images.shape), 0, 1)


def _assert_labels_are_0_to_k(maps):
    for labels in maps:
        k = labels.max() + 1
        np.testing.assert_array_equal(np.unique(labels), np.arange(k))


def _relabel(labels):
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("channels", [1, 3, 4], ids=lambda c: f"{c}ch")
def test_label_maps_for_every_method_and_channel_count(method, channels):
    images = _images(channels=channels)
    if channels == 1:
        images = images[..., 0]
    segmenter = SuperpixelSegmenter(
        method=method, n_segments=8, random_state=0, **SMALL.get(method, {})
    )
    maps = segmenter.fit_transform(images)
    assert maps.shape == (2, 16, 20)
    assert maps.dtype == np.int32
    _assert_labels_are_0_to_k(maps)
    assert maps[0].max() >= 1


@pytest.mark.parametrize("method", METHODS)
def test_flattened_input_gives_flattened_maps(method):
    images = _images()
    maps = SuperpixelSegmenter(method=method, random_state=0).fit_transform(images)
    flat = SuperpixelSegmenter(
        method=method, random_state=0, image_shape=(16, 20, 3)
    ).fit_transform(images.reshape(2, -1))
    assert flat.shape == (2, 320)
    np.testing.assert_array_equal(flat, maps.reshape(2, -1))


def test_quickshift_matches_scikit_image_with_lime_defaults():
    images = _images()
    segmenter = SuperpixelSegmenter(random_state=3)
    maps = segmenter.fit_transform(images)
    seed = int(np.random.RandomState(3).randint(np.iinfo(np.int32).max))
    reference = quickshift(images[0], kernel_size=4, max_dist=200, ratio=0.2, rng=seed)
    np.testing.assert_array_equal(maps[0], _relabel(reference))


def test_slic_starts_at_zero_and_matches_scikit_image():
    images = _images()
    maps = SuperpixelSegmenter(method="slic", n_segments=4).fit_transform(images)
    reference = slic(images[0], n_segments=4, compactness=10.0, start_label=1)
    assert reference.min() == 1
    np.testing.assert_array_equal(maps[0], reference - 1)


def test_felzenszwalb_matches_scikit_image():
    images = _images(channels=1)[..., 0]
    maps = SuperpixelSegmenter(
        method="felzenszwalb", scale=50, min_size=10
    ).fit_transform(images)
    reference = felzenszwalb(
        images[0], scale=50, sigma=0.8, min_size=10, channel_axis=None
    )
    np.testing.assert_array_equal(maps[0], _relabel(reference))


def test_flat_quadrants_are_not_split_across():
    images = _images()
    maps = SuperpixelSegmenter(method="felzenszwalb", scale=100, sigma=0).fit_transform(
        images
    )
    assert maps[0].max() + 1 == 4
    for quadrant in (maps[0, :8, :10], maps[0, :8, 10:], maps[0, 8:, 10:]):
        assert len(np.unique(quadrant)) == 1


@pytest.mark.parametrize(
    ("height", "width", "n_segments", "expected"),
    [(8, 8, 4, 4), (8, 8, 1, 1), (3, 4, 100, 12), (32, 48, 24, 24), (1, 10, 5, 5)],
    ids=["quadrants", "one", "more-than-pixels", "rectangular", "one-row"],
)
def test_grid_cell_count(height, width, n_segments, expected):
    images = np.zeros((1, height, width))
    maps = SuperpixelSegmenter(method="grid", n_segments=n_segments).fit_transform(
        images
    )
    assert maps.max() + 1 == expected
    _assert_labels_are_0_to_k(maps)
    sizes = np.bincount(maps.ravel())
    assert sizes.max() - sizes.min() <= max(height, width)


def test_grid_cells_are_contiguous_blocks():
    maps = SuperpixelSegmenter(method="grid", n_segments=4).fit_transform(
        np.zeros((1, 8, 8))
    )
    expected = np.repeat(np.repeat([[0, 1], [2, 3]], 4, axis=0), 4, axis=1)
    np.testing.assert_array_equal(maps[0], expected)


def test_uint8_and_float_images_agree():
    images = _images()
    u8 = np.rint(images * 255).astype(np.uint8)
    for method in ("slic", "grid"):
        segmenter = SuperpixelSegmenter(method=method, n_segments=6)
        np.testing.assert_array_equal(
            segmenter.fit_transform(u8), segmenter.fit_transform(u8 / 255.0)
        )


def test_transform_keeps_no_state_and_parallel_is_equal():
    images = _images(n=4)
    segmenter = SuperpixelSegmenter(random_state=0).fit(images)
    state = dict(vars(segmenter))
    maps = segmenter.transform(images)
    assert vars(segmenter).keys() == state.keys()
    with parallel_config(backend="threading"):
        parallel = segmenter.set_params(n_jobs=2).transform(images)
    np.testing.assert_array_equal(parallel, maps)


def test_an_image_does_not_depend_on_its_batch():
    images = _images(n=3, seed=1)
    segmenter = SuperpixelSegmenter(random_state=0).fit(images)
    np.testing.assert_array_equal(
        segmenter.transform(images[1:2])[0], segmenter.transform(images)[1]
    )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"method": "watershed"}, "'method' parameter"),
        ({"n_segments": 0}, "'n_segments' parameter"),
        ({"ratio": 2.0}, "'ratio' parameter"),
        ({"compactness": 0}, "'compactness' parameter"),
        ({"random_state": "seed"}, "'random_state' parameter"),
    ],
    ids=["method", "n_segments", "ratio", "compactness", "random_state"],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        SuperpixelSegmenter(**params).fit(np.zeros((1, 4, 4)))


@settings(max_examples=25, deadline=None)
@given(
    method=st.sampled_from(METHODS),
    seed=st.integers(0, 1000),
    height=st.integers(2, 12),
    width=st.integers(2, 12),
    channels=st.sampled_from([1, 3]),
    n_segments=st.integers(1, 30),
)
def test_labels_are_0_to_k_and_deterministic(
    method, seed, height, width, channels, n_segments
):
    rng = np.random.default_rng(seed)
    images = rng.random((2, height, width, channels))
    segmenter = SuperpixelSegmenter(
        method=method, n_segments=n_segments, random_state=seed
    )
    maps = segmenter.fit_transform(images)
    assert maps.shape == (2, height, width) and maps.dtype == np.int32
    _assert_labels_are_0_to_k(maps)
    np.testing.assert_array_equal(segmenter.transform(images), maps)
