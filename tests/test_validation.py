"""The shared validators in sklearn_xai.utils._validation."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from sklearn_xai.utils._validation import (
    check_image_shape,
    label_indices,
    validate_images,
)


def test_label_indices_maps_labels_of_any_type():
    classes = np.array(["cat", "dog", "eel"])
    assert label_indices(classes, ["eel", "cat"], 2).tolist() == [2, 0]
    assert label_indices(classes, "dog", 3).tolist() == [1, 1, 1]
    unsorted = np.array([3, 1, 2])
    assert label_indices(unsorted, [1, 3, 2], 3).tolist() == [1, 0, 2]


@pytest.mark.parametrize(
    "classes, labels, match",
    [
        (np.array([0, 1, 2]), [5, 1], r"labels \[5\] that are not among"),
        (np.array([0, 1, 2]), ["cat", "dog"], r"labels \['cat', 'dog'\]"),
        (np.array([0, 1]), [0, 1, 1], "one label per image"),
    ],
    ids=["unknown", "wrong-type", "wrong-length"],
)
def test_label_indices_errors(classes, labels, match):
    with pytest.raises(ValueError, match=match):
        label_indices(classes, labels, 2)


# -- flattened images without image_shape; one image for a batch -------------


@pytest.mark.parametrize(
    "n_features, expected",
    [
        (784, (28, 28)),
        (16, (4, 4)),
        (64, (8, 8)),
        (3072, (32, 32, 3)),
        (48, (4, 4, 3)),
        (9, None),
        (27, None),
        (10, None),
        (20, None),
        (785, None),
    ],
)
def test_flat_image_shape(n_features, expected):
    from sklearn_xai.utils._validation import flat_image_shape

    assert flat_image_shape(n_features) == expected


@pytest.mark.parametrize("flat_images", ["warn", "raise", "ignore"])
def test_flat_square_rows_warn_raise_or_pass(flat_images, recwarn):
    from sklearn.base import BaseEstimator

    from sklearn_xai.utils._validation import validate_images

    X = np.zeros((2, 784))
    match = r"784 features per row and no image_shape.*image_shape=\(28, 28\)"
    if flat_images == "raise":
        with pytest.raises(ValueError, match=match):
            validate_images(BaseEstimator(), X, reset=True, flat_images="raise")
        return
    est = BaseEstimator()
    images, _ = validate_images(est, X, reset=True, flat_images=flat_images)
    assert images.shape == (2, 1, 784, 1)  # read as before, never reshaped
    warned = [w for w in recwarn if "image_shape" in str(w.message)]
    assert len(warned) == (flat_images == "warn")
    if warned:
        assert issubclass(warned[0].category, UserWarning)
        assert "one row of 784 pixels" in str(warned[0].message)
    # Later calls check against the fit, without a word.
    validate_images(est, X, reset=False)
    assert len([w for w in recwarn if "image_shape" in str(w.message)]) == len(warned)


@pytest.mark.parametrize(
    "fit_shape, one",
    [((3, 8, 8, 3), (8, 8, 3)), ((3, 8, 8), (8, 8)), ((3, 8, 8, 1), (8, 8, 1))],
    ids=["rgb", "gray", "gray-4d"],
)
def test_one_image_for_a_batch_suggests_x_none(fit_shape, one):
    from sklearn.base import BaseEstimator

    from sklearn_xai.utils._validation import validate_images

    est = BaseEstimator()
    validate_images(est, np.zeros(fit_shape), reset=True)
    with pytest.raises(ValueError, match=r"one image, where a batch.*X\[None\]"):
        validate_images(est, np.zeros(one), reset=False)
    images, _ = validate_images(est, np.zeros(one)[None], reset=False)
    assert images.shape == (1, 8, 8, fit_shape[3] if len(fit_shape) == 4 else 1)


def test_batches_shaped_like_one_image_are_still_batches():
    from sklearn.base import BaseEstimator

    from sklearn_xai.utils._validation import validate_images

    # Fitted on one-row images (1, 8): a (1, 8) array is a batch of one row.
    est = BaseEstimator()
    validate_images(est, np.zeros((5, 8)), reset=True)
    assert validate_images(est, np.zeros((1, 8)), reset=False)[0].shape == (1, 1, 8, 1)
    # Fitted on 1x1 gray images: (1, 1) is one row of one pixel.
    est = BaseEstimator()
    validate_images(est, np.zeros((5, 1, 1)), reset=True)
    assert validate_images(est, np.zeros((1, 1)), reset=False)[0].shape == (1, 1, 1, 1)


@pytest.mark.parametrize(
    "shape, error",
    [
        ((0, 4), ValueError),
        ((4,), ValueError),
        ((4, 4, 3, 1), ValueError),
        (4, TypeError),
    ],
    ids=["zero", "short", "long", "scalar"],
)
def test_check_image_shape_errors(shape, error):
    with pytest.raises(error, match="image_shape must be a tuple"):
        check_image_shape(shape)


@pytest.mark.parametrize(
    "classes, match",
    [
        ([np.array([0, 1, 2]), np.array([0, 1])], "ragged arrays"),
        (np.array([[0, 1], [0, 1]]), r"an array of shape \(2, 2\)"),
    ],
    ids=["multi-output-ragged", "multi-output-equal"],
)
def test_label_indices_refuses_multi_output_classes(classes, match):
    with pytest.raises(ValueError, match=f"classes_ must be 1-D.*{match}"):
        label_indices(classes, [0, 1], 2)


@pytest.mark.parametrize(
    "shape",
    [(2, 3, 8, 8), (2, 1, 8, 8), (1, 3, 32, 32)],
    ids=["rgb", "gray", "one-image"],
)
def test_channels_first_batches_are_refused(shape):
    with pytest.raises(ValueError, match=r"looks channels-first.*transpose\(0, 2, 3"):
        validate_images(BaseEstimator(), np.zeros(shape), reset=True)


@pytest.mark.parametrize(
    "shape",
    [(2, 8, 8, 3), (2, 8, 8, 1), (2, 3, 3, 3), (2, 1, 4, 4), (2, 3, 8, 4)],
    ids=["rgb", "gray", "tiny", "one-row-rgba", "three-rows-rgba"],
)
def test_channels_last_batches_are_kept(shape):
    # Only a height of 1 or 3 followed by more than 4 "channels" is refused.
    images, _ = validate_images(BaseEstimator(), np.zeros(shape), reset=True)
    assert images.shape == shape


@pytest.mark.parametrize(
    "shape, image_shape",
    [((2, 48), (4, 4, 3)), ((2, 4, 4), None), ((2, 4, 4, 3), None)],
    ids=["flat", "gray", "rgb"],
)
def test_negative_strides_are_copied(shape, image_shape):
    X = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    one = X[::-1].copy()[::-1][:1]  # a length-1 axis with a negative stride
    assert one.strides[0] < 0
    images, _ = validate_images(
        BaseEstimator(), one, reset=True, image_shape=image_shape
    )
    assert all(s >= 0 for s in images.strides)
    np.testing.assert_array_equal(images.reshape(one.shape), one)
