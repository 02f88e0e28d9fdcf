"""The one Gaussian blur of the library ("blur" fills, masks and baselines).

Imports neither torch nor any attribution module: OpenCV only, loaded on call.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BLUR_SIGMA_FRACTION", "blur_images"]

#: The standard deviation of the blur, as a fraction of the longer image side.
BLUR_SIGMA_FRACTION = 0.1


def blur_images(images):
    """Gaussian-blurred float32 copies of ``(m, H, W, C)`` images.

    Each channel is blurred apart with a Gaussian of standard deviation
    ``sigma = 0.1 * max(H, W)`` pixels (OpenCV's ``GaussianBlur``, kernel
    ``2 * round(4 sigma) + 1`` wide, borders reflected without repeating the
    edge pixel). The same blur at every image size removes edges and texture
    and keeps only coarse colour.

    Parameters
    ----------
    images : ndarray of shape (m, H, W, C)
        Any dtype; blurred in float32.

    Returns
    -------
    blurred : ndarray of shape (m, H, W, C), float32

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.utils._blur import blur_images
    >>> images = np.zeros((1, 20, 20, 1)); images[0, 10, 10] = 1.0
    >>> blurred = blur_images(images)
    >>> blurred.shape, blurred.dtype
    ((1, 20, 20, 1), dtype('float32'))
    >>> bool(blurred.max() < 0.05) and bool(abs(blurred.sum() - 1) < 1e-3)
    True
    """
    import cv2

    images = np.asarray(images)
    if len(images) == 0:
        return np.zeros(images.shape, dtype=np.float32)
    sigma = max(images.shape[1:3]) * BLUR_SIGMA_FRACTION
    return np.stack(
        [
            cv2.GaussianBlur(
                image.astype(np.float32), (0, 0), sigmaX=sigma, sigmaY=sigma
            ).reshape(image.shape)
            for image in images
        ]
    ).reshape(images.shape)
