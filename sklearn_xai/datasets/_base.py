"""Helpers shared by the dataset loaders: the ``size`` argument and resizing."""

from __future__ import annotations

from numbers import Integral

import cv2
import numpy as np


def _check_size(size, *, name="size"):
    """Validate a ``size`` argument and return it as ``(H, W)`` or None.

    Parameters
    ----------
    size : int, tuple of 2 int or None
        Target side (square images) or ``(H, W)``; positive entries.
    name : str, default="size"
        Name of the argument, used in error messages.

    Returns
    -------
    size : tuple of 2 int or None
        ``(H, W)``, or None when ``size`` is None.
    """
    if size is None:
        return None
    expected = "a positive int or a tuple (H, W) of positive ints, or None"
    if isinstance(size, Integral) and not isinstance(size, bool):
        shape = (size, size)
    elif isinstance(size, (tuple, list)):
        shape = tuple(size)
        if len(shape) != 2 or not all(
            isinstance(s, Integral) and not isinstance(s, bool) for s in shape
        ):
            raise TypeError(f"{name} must be {expected}; got {size!r}.")
    else:
        raise TypeError(f"{name} must be {expected}; got {size!r}.")
    if not all(s > 0 for s in shape):
        raise ValueError(f"{name} must be {expected}; got {size!r}.")
    return int(shape[0]), int(shape[1])


def _resize_batch(images, size, interpolation):
    """Resize every image of a batch to ``size = (H, W)`` with OpenCV.

    Parameters
    ----------
    images : ndarray of shape (n, h, w) or (n, h, w, C)
        Images to resize; float32 or uint8.
    size : tuple of 2 int
        Target ``(H, W)``.
    interpolation : int
        An OpenCV interpolation flag, e.g. ``cv2.INTER_CUBIC``.

    Returns
    -------
    resized : ndarray of shape (n, H, W) or (n, H, W, C)
        Same dtype as ``images``.
    """
    height, width = size
    out = np.empty((len(images), height, width, *images.shape[3:]), images.dtype)
    for i, image in enumerate(images):
        # cv2.resize takes (width, height) and drops a trailing axis of length 1.
        out[i] = cv2.resize(
            image, (width, height), interpolation=interpolation
        ).reshape(out.shape[1:])
    return out


def _to_float_images(images, size, as_rgb):
    """Finish a grayscale float batch: resize, clip to [0, 1], add channels.

    Parameters
    ----------
    images : ndarray of shape (n, h, w)
        Grayscale images with values in [0, 1].
    size : tuple of 2 int or None
        Target ``(H, W)``; None keeps the native size.
    as_rgb : bool
        Whether to repeat the gray level over three channels.

    Returns
    -------
    images : float32 ndarray of shape (n, H, W) or (n, H, W, 3)
    """
    images = np.asarray(images, dtype=np.float32)
    if size is not None and size != images.shape[1:3]:
        # Cubic interpolation sharpens edges but overshoots: clip back to [0, 1].
        images = _resize_batch(images, size, cv2.INTER_CUBIC)
        np.clip(images, 0.0, 1.0, out=images)
    if as_rgb:
        images = np.repeat(images[..., np.newaxis], 3, axis=-1)
    return np.ascontiguousarray(images)
