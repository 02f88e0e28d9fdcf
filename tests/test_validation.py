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
