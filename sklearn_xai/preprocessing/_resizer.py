"""Resize every image of a batch to one size."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ..utils._compat import Interval, StrOptions
from ._base import _ImageTransformer
from ._image_ops import INTERPOLATIONS, check_size, resize_image


class ImageResizer(_ImageTransformer):
    """Resize images to a fixed height and width with OpenCV.

    Images of any size are accepted, in ``fit`` and ``transform``; every output
    image has the size ``size``. The channel count and the dtype are kept.

    Parameters
    ----------
    size : int or tuple of (int, int), default=32
        Output size: ``(H, W)``, or one int for square ``(size, size)``
        images.
    interpolation : {"auto", "nearest", "linear", "cubic", "area", \
            "lanczos"}, default="auto"
        OpenCV interpolation. ``"auto"`` uses area averaging
        (``INTER_AREA``, anti-aliased) when no side grows and bilinear
        interpolation (``INTER_LINEAR``) when a side grows.
    image_shape : tuple of int or None, default=None
        How to read a flattened ``(n, H * W * C)`` input: ``(H, W)`` or
        ``(H, W, C)``. Without it a 2-D input is read as one-row grayscale
        images ``(1, n_features)``, except rows that look like flattened
        square images (``s * s`` or ``3 * s * s`` features, ``s >= 4``):
        ``fit`` refuses them and suggests ``image_shape`` (see
        :func:`~sklearn_xai.utils.validate_images`).

    Attributes
    ----------
    size_ : tuple of (int, int)
        The output size ``(H, W)``.
    image_shape_ : tuple of (int, int, int)
        Shape ``(H, W, C)`` of the images seen in ``fit``.
    n_features_in_ : int
        Number of values per image seen in ``fit``.

    See Also
    --------
    ImageReader : Read image files, optionally resizing them on the way.

    Notes
    -----
    The output dtype is the input dtype for uint8, float32 and float64 images
    (other dtypes are converted to float64 first). uint8 results are rounded
    by OpenCV; cubic and Lanczos interpolation may overshoot the input range
    for float images.

    References
    ----------
    .. [1] OpenCV, "Geometric Image Transformations: resize",
       https://docs.opencv.org/4.x/da/d54/group__imgproc__transform.html

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.preprocessing import ImageResizer
    >>> images = np.zeros((2, 8, 6, 3), dtype=np.uint8)
    >>> ImageResizer(size=(4, 3)).fit_transform(images).shape
    (2, 4, 3, 3)
    >>> ImageResizer(size=4).fit_transform(np.zeros((2, 8, 8))).shape
    (2, 4, 4)
    """

    # One-row images would silently give garbage: refuse flattened rows.
    _flat_images = "raise"

    _parameter_constraints = {
        "size": [Interval(Integral, 1, None, closed="left"), tuple],
        "interpolation": [StrOptions({"auto", *INTERPOLATIONS})],
        "image_shape": [None, tuple],
    }

    def __init__(self, *, size=32, interpolation="auto", image_shape=None):
        self.size = size
        self.interpolation = interpolation
        self.image_shape = image_shape

    def _fit_images(self, images):
        self.size_ = check_size(self.size)

    def _transform_images(self, images):
        height, width = self.size_
        out = np.empty(
            (images.shape[0], height, width, images.shape[3]), dtype=images.dtype
        )
        for i, image in enumerate(images):
            out[i] = resize_image(image, self.size_, self.interpolation)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
