"""Small image helpers shared by the preprocessing transformers.

They work on one validated image ``(H, W, C)`` or batch ``(n, H, W, C)`` and
never modify their input.
"""

from __future__ import annotations

from numbers import Integral

import cv2
import numpy as np
from sklearn.base import BaseEstimator

from ..utils._validation import validate_images

#: OpenCV flags of the named interpolations ("auto" is resolved per image).
INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}


def check_size(size, *, name="size"):
    """Return ``size`` (an int or ``(H, W)``) as a tuple ``(H, W)``."""
    if isinstance(size, Integral) and not isinstance(size, bool):
        shape = (int(size), int(size))
    else:
        try:
            shape = tuple(size)
        except TypeError:
            shape = ()
    if len(shape) != 2 or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in shape
    ):
        raise ValueError(
            f"{name} must be a positive int or a tuple (H, W) of positive ints; "
            f"got {size!r}."
        )
    return int(shape[0]), int(shape[1])


def interpolation_flag(interpolation, source, target):
    """OpenCV flag for resizing from ``source`` ``(H, W)`` to ``target``.

    ``"auto"`` is area averaging when no side grows (the anti-aliased choice
    for shrinking) and bilinear interpolation when a side grows.
    """
    if interpolation == "auto":
        shrinking = target[0] <= source[0] and target[1] <= source[1]
        return cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return INTERPOLATIONS[interpolation]


def resize_image(image, size, interpolation="auto"):
    """Resize one ``(H, W, C)`` image to ``size`` ``(H', W')``, keeping C."""
    flag = interpolation_flag(interpolation, image.shape[:2], size)
    if image.shape[:2] == tuple(size):
        return image.copy()
    out = cv2.resize(
        np.ascontiguousarray(image), (size[1], size[0]), interpolation=flag
    )
    # OpenCV drops a singleton channel axis.
    return out.reshape(size[0], size[1], image.shape[2])


def check_unit_range(images, *, estimator, input_name="X"):
    """Raise if floating ``images`` have values outside ``[0, 1]``."""
    if images.dtype.kind != "f" or images.size == 0:
        return
    low, high = float(images.min()), float(images.max())
    if low < 0.0 or high > 1.0:
        # scikit-learn's wording for negative input, which its checks expect.
        prefix = f"Negative values in data passed to {input_name}. " if low < 0 else ""
        raise ValueError(
            f"{prefix}{type(estimator).__name__} needs floating images with values in "
            f"[0, 1] (or uint8 images); {input_name} has values in "
            f"[{low:.4g}, {high:.4g}]. Rescale it first (e.g. divide by 255); "
            "values are not clipped silently."
        )


def to_uint8(images):
    """Quantise float images in ``[0, 1]`` to uint8 (uint8 passes through)."""
    if images.dtype == np.uint8:
        return images
    return np.rint(images * 255.0).astype(np.uint8)


def from_uint8(images, dtype):
    """Undo :func:`to_uint8`: back to ``dtype`` (floats scaled to [0, 1])."""
    if np.dtype(dtype) == np.uint8:
        return images
    return (images / 255.0).astype(dtype)


def cv2_float(images):
    """A float64 array as float32 (what most OpenCV filters accept)."""
    return images.astype(np.float32) if images.dtype == np.float64 else images


def validate_output_layout(estimator, X, *, n_channels, input_name="X"):
    """Validate ``X`` laid out like the output of ``estimator.transform``.

    Used by ``inverse_transform`` when the transformation changes the channel
    count: the batch is checked by the shared validator, a flattened batch is
    read with the fitted height and width and ``n_channels``, and the channel
    count must be ``n_channels``.
    """
    height, width, _ = estimator.image_shape_
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        X = np.asarray(X)
        ndim = X.ndim
    image_shape = (height, width, n_channels) if ndim == 2 else None
    images, layout = validate_images(
        BaseEstimator(), X, reset=True, image_shape=image_shape, input_name=input_name
    )
    if images.shape[-1] != n_channels:
        raise ValueError(
            f"{input_name} must hold images with {n_channels} channel(s) for "
            f"{type(estimator).__name__}.inverse_transform; got "
            f"{images.shape[-1]} channel(s) (shape {tuple(np.shape(X))})."
        )
    return images, layout
