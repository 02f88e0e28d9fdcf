"""Building perturbed images from superpixel masks, shared by LIME-style methods."""

from __future__ import annotations

import numpy as np


def hide_image(image, segments, hide_color):
    """The image hidden superpixels are replaced with.

    Parameters
    ----------
    image : ndarray of shape (H, W, C)
        The image.
    segments : ndarray of shape (H, W)
        Superpixel labels ``0..k-1``.
    hide_color : None, "blur" or float
        None: each superpixel's mean colour (lime's default, rounded towards
        zero for integer images as lime does); "blur": a Gaussian blur with a
        sigma of a tenth of the image side; a number: that constant.

    Returns
    -------
    fudged : ndarray of shape (H, W, C), the dtype of ``image``
    """
    if hide_color is None:
        k = int(segments.max()) + 1
        counts = np.bincount(segments.ravel(), minlength=k)
        flat = image.reshape(-1, image.shape[-1]).astype(np.float64)
        sums = np.stack(
            [
                np.bincount(segments.ravel(), weights=flat[:, c], minlength=k)
                for c in range(image.shape[-1])
            ],
            axis=1,
        )
        means = sums / np.maximum(counts, 1)[:, np.newaxis]
        return means[segments].astype(image.dtype)
    if isinstance(hide_color, str):  # "blur"
        import cv2

        sigma = max(image.shape[:2]) / 10
        blurred = cv2.GaussianBlur(
            image.astype(np.float32), (0, 0), sigmaX=sigma, sigmaY=sigma
        ).reshape(image.shape)
        return blurred.astype(image.dtype)
    fudged = np.empty_like(image)
    fudged[...] = hide_color
    return fudged


def perturbed_images(image, fudged, segments, masks, *, as_float32=False):
    """Images keeping the superpixels where ``masks`` is 1, hiding the others.

    Parameters
    ----------
    image, fudged : ndarray of shape (H, W, C)
        The image and what hidden superpixels become.
    segments : ndarray of shape (H, W)
        Superpixel labels ``0..k-1``.
    masks : ndarray of shape (m, k)
        One row of keep (1) / hide (0) flags per perturbation.
    as_float32 : bool, default=False
        Return float32 images (what a CNN consumes) instead of the dtype of
        ``image``; for uint8 images this fuses the perturbation with the
        conversion the network would make anyway, exactly.

    Returns
    -------
    images : ndarray of shape (m, H, W, C)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._perturbation import perturbed_images
    >>> image, fudged = np.ones((2, 2, 1)), np.zeros((2, 2, 1))
    >>> segments = np.array([[0, 0], [1, 1]])
    >>> perturbed_images(image, fudged, segments, np.array([[1, 0]]))[0, ..., 0]
    array([[1., 1.],
           [0., 0.]])
    """
    masks = np.asarray(masks)
    if as_float32 and image.dtype == np.uint8:
        # fudged + keep * (image - fudged): exact for 8-bit values, and one
        # vectorised pass instead of a select followed by a conversion.
        keep = np.take(masks.astype(np.float32), segments, axis=1)[..., np.newaxis]
        fudged = fudged.astype(np.float32)
        out = keep * (image.astype(np.float32) - fudged)
        out += fudged
        return out
    keep = np.take(masks.astype(bool), segments, axis=1)[..., np.newaxis]
    out = np.where(keep, image, fudged)
    return out.astype(np.float32, copy=False) if as_float32 else out
