import socket

import numpy as np
import pytest

from sklearn_xai.datasets import load_sample_photos

NAMES = [
    "china",
    "flower",
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
]


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_list_mode_native_sizes(no_network):
    photos = load_sample_photos()
    assert list(photos.names) == NAMES
    assert isinstance(photos.images, list)
    assert len(photos.images) == len(NAMES)
    for image in photos.images:
        assert image.dtype == np.uint8
        assert image.ndim == 3 and image.shape[2] == 3
        assert image.std() > 10  # a real picture, not a blank array
    assert photos.images[0].shape == (427, 640, 3)
    assert len({image.shape for image in photos.images}) > 1
    assert "scikit-image" in photos.DESCR


@pytest.mark.parametrize(
    ("size", "shape"),
    [(32, (8, 32, 32, 3)), ((48, 64), (8, 48, 64, 3))],
    ids=["int", "tuple"],
)
def test_array_mode(size, shape):
    photos = load_sample_photos(size=size)
    assert isinstance(photos.images, np.ndarray)
    assert photos.images.shape == shape
    assert photos.images.dtype == np.uint8


def test_resized_photo_keeps_the_mean_colour():
    native = load_sample_photos().images
    small = load_sample_photos(size=(60, 80)).images
    for big, resized in zip(native, small, strict=True):
        np.testing.assert_allclose(
            resized.mean(axis=(0, 1)), big.mean(axis=(0, 1)), atol=2.0
        )


@pytest.mark.parametrize(
    ("size", "error", "match"),
    [
        (0, ValueError, "size must be a positive int"),
        ((10,), TypeError, r"got \(10,\)"),
        (3.0, TypeError, "size must be"),
    ],
    ids=["zero", "one-entry", "float"],
)
def test_bad_size(size, error, match):
    with pytest.raises(error, match=match):
        load_sample_photos(size=size)
