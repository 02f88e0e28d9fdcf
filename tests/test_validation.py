"""The shared validators in sklearn_xai.utils._validation."""

import numpy as np
import pytest

from sklearn_xai.utils._validation import check_image_shape, label_indices


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
