"""Scikit-learn's bundled handwritten digits as an image classification set."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.utils import Bunch

from ..utils._compat import validate_params
from ._base import _check_size, _to_float_images

_DESCR = """\
Handwritten digit images
========================

The 1,797 handwritten digits (10 classes, 0 to 9) of the UCI "Optical
Recognition of Handwritten Digits" data set, read from the copy bundled with
scikit-learn (:func:`sklearn.datasets.load_digits`); nothing is downloaded.
Each image is an 8x8 grid whose cells count the ink pixels (0 to 16) of a 4x4
block of the original 32x32 bitmap.

In :func:`sklearn_xai.datasets.load_digit_images` the counts are divided by 16
(float32 values in [0, 1]); when ``size`` is given the images are upscaled with
OpenCV's bicubic interpolation and clipped back to [0, 1]; ``as_rgb=True``
repeats the gray level over three channels.

Source: E. Alpaydin and C. Kaynak, UCI Machine Learning Repository, 1998.
"""


@validate_params(
    {"size": "no_validation", "as_rgb": ["boolean"], "return_X_y": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_digit_images(
    *,
    size: int | tuple[int, int] | None = None,
    as_rgb: bool = False,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's handwritten digits as a batch of images.

    The 1,797 8x8 digit images bundled with scikit-learn, scaled to [0, 1] and,
    optionally, upscaled with OpenCV so that convolutional networks and
    explanation heatmaps have room to work. Offline: nothing is downloaded.

    Parameters
    ----------
    size : int, tuple (H, W) of int or None, default=None
        Size of the returned images: an int gives square ``size x size``
        images, a tuple ``(H, W)``. The 8x8 originals are resized with
        bicubic interpolation (``cv2.INTER_CUBIC``) and clipped to [0, 1].
        None keeps 8x8.
    as_rgb : bool, default=False
        If True, repeat the gray level over three channels, giving
        ``(n, H, W, 3)`` images, for models that expect colour input.
    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        images : float32 ndarray of shape (1797, H, W) or (1797, H, W, 3)
            The digit images, values in [0, 1].
        target : int ndarray of shape (1797,)
            The digit shown in each image, 0 to 9.
        target_names : int ndarray of shape (10,)
            The class labels, ``0, 1, ..., 9``.
        DESCR : str
            Description of the data set.

    (images, target) : tuple of ndarray
        Returned instead of the Bunch when ``return_X_y`` is True.

    See Also
    --------
    sklearn.datasets.load_digits : The same data as flat 64-feature rows.

    References
    ----------
    .. [1] E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten
       Digits", UCI Machine Learning Repository, 1998.
       https://doi.org/10.24432/C50P49

    Examples
    --------
    >>> from sklearn_xai.datasets import load_digit_images
    >>> digits = load_digit_images(size=32, as_rgb=True)
    >>> digits.images.shape, digits.images.dtype
    ((1797, 32, 32, 3), dtype('float32'))
    >>> digits.target_names
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> images, target = load_digit_images(return_X_y=True)
    >>> images.shape, target[:5]
    ((1797, 8, 8), array([0, 1, 2, 3, 4]))
    """
    size = _check_size(size)
    digits = load_digits()
    images = _to_float_images(digits.images / 16.0, size, as_rgb)
    target = np.asarray(digits.target, dtype=np.int64)
    if return_X_y:
        return images, target
    return Bunch(
        images=images,
        target=target,
        target_names=np.arange(10),
        DESCR=_DESCR,
    )
