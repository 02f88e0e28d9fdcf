import numpy as np
import pytest
from skimage.data import lfw_subset

from sklearn_xai.datasets import load_face_images


def test_faces_and_non_faces():
    faces = load_face_images()
    assert faces.images.shape == (200, 25, 25)
    assert faces.images.dtype == np.float32
    assert 0.0 <= faces.images.min() and faces.images.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(faces.target), [100, 100])
    # skimage documents the first 100 patches as faces.
    np.testing.assert_array_equal(faces.target[:100], 1)
    np.testing.assert_array_equal(faces.target[100:], 0)
    np.testing.assert_array_equal(faces.target_names, ["non-face", "face"])
    np.testing.assert_allclose(faces.images, lfw_subset(), atol=1e-6)
    assert "scikit-image" in faces.DESCR


def test_faces_are_more_alike_than_non_faces():
    # Aligned faces share a layout: they correlate with their mean face far
    # better than background patches do; swapped labels would fail this.
    images = load_face_images().images.reshape(200, -1)
    mean_face = images[:100].mean(axis=0)
    corr = np.array([np.corrcoef(image, mean_face)[0, 1] for image in images])
    assert corr[:100].mean() > corr[100:].mean() + 0.2


@pytest.mark.parametrize(
    ("size", "as_rgb", "shape"),
    [(50, False, (200, 50, 50)), ((30, 40), True, (200, 30, 40, 3))],
    ids=["int", "tuple-rgb"],
)
def test_resize_and_rgb(size, as_rgb, shape):
    images = load_face_images(size=size, as_rgb=as_rgb).images
    assert images.shape == shape
    assert images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_return_X_y():
    images, target = load_face_images(return_X_y=True)
    assert images.shape == (200, 25, 25)
    np.testing.assert_array_equal(target, load_face_images().target)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"size": -3}, ValueError, "size must be a positive int"),
        ({"size": "big"}, TypeError, "got 'big'"),
        ({"as_rgb": None}, ValueError, "'as_rgb' parameter"),
        ({"return_X_y": "no"}, ValueError, "'return_X_y' parameter"),
    ],
    ids=["negative", "str", "as_rgb", "return_X_y"],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_face_images(**kwargs)
