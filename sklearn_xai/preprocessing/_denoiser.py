"""Smooth noise out of images."""

from __future__ import annotations

from numbers import Integral, Real

import cv2
import numpy as np
from scipy import ndimage

from ..utils._compat import Interval, StrOptions
from ._base import _ImageTransformer
from ._image_ops import check_unit_range, cv2_float, from_uint8, to_uint8

_BILATERAL_DEFAULT_SIGMA = 75.0


class ImageDenoiser(_ImageTransformer):
    """Denoise images with a Gaussian, median, bilateral or non-local means filter.

    Every method keeps the image size, the channel count and the dtype
    (uint8, float32 or float64).

    * ``"gaussian"``: :func:`cv2.GaussianBlur`, any dtype and channel count.
    * ``"median"``: :func:`cv2.medianBlur` where OpenCV supports it (uint8
      with 1, 3 or 4 channels; float32 only for ``kernel_size`` 3 or 5);
      otherwise :func:`scipy.ndimage.median_filter` with the same replicated
      border, which gives the same result.
    * ``"bilateral"``: :func:`cv2.bilateralFilter` (uint8 or float32, 1 or 3
      channels; float64 goes through float32, other channel counts are
      filtered channel by channel). Edge preserving.
    * ``"nl_means"``: :func:`cv2.fastNlMeansDenoising` (gray or per channel)
      and :func:`cv2.fastNlMeansDenoisingColored` (RGB). OpenCV only
      implements it for uint8, so float images must lie in [0, 1]; they are
      quantised to 256 levels, denoised and scaled back, i.e. the float
      result carries uint8 precision.

    Parameters
    ----------
    method : {"gaussian", "median", "bilateral", "nl_means"}, \
            default="gaussian"
        The filter.
    kernel_size : int, default=3
        Odd side of the square neighbourhood, in pixels (``"gaussian"``,
        ``"median"``, and ``"bilateral"``'s diameter). Ignored by
        ``"nl_means"``, which uses OpenCV's 7x7 patches and 21x21 search
        windows.
    sigma : float or None, default=None
        ``"gaussian"``: standard deviation in pixels; None derives it from
        ``kernel_size`` as OpenCV does (``0.3 * ((k - 1) / 2 - 1) + 0.8``).
        ``"bilateral"``: both the spatial sigma (pixels) and the colour sigma
        in uint8 units (divided by 255 for float images, which are assumed to
        lie in [0, 1]); None means 75. Ignored otherwise.
    h : float, default=10
        ``"nl_means"`` filter strength in uint8 units; larger removes more
        noise and more detail.
    image_shape : tuple of int or None, default=None
        How to read a flattened ``(n, H * W * C)`` input: ``(H, W)`` or
        ``(H, W, C)``. Without it a 2-D input is read as one-row grayscale
        images ``(1, n_features)``, except rows that look like flattened
        square images (``s * s`` or ``3 * s * s`` features, ``s >= 4``):
        ``fit`` refuses them and suggests ``image_shape`` (see
        :func:`~sklearn_xai.utils.validate_images`).

    Attributes
    ----------
    image_shape_ : tuple of (int, int, int)
        Shape ``(H, W, C)`` of the images seen in ``fit``.
    n_features_in_ : int
        Number of values per image seen in ``fit``.

    References
    ----------
    .. [1] C. Tomasi and R. Manduchi, "Bilateral filtering for gray and color
       images", ICCV 1998.
    .. [2] A. Buades, B. Coll and J.-M. Morel, "A non-local algorithm for image
       denoising", CVPR 2005.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.preprocessing import ImageDenoiser
    >>> images = np.zeros((1, 5, 5), dtype=np.uint8)
    >>> images[0, 2, 2] = 255  # salt noise
    >>> ImageDenoiser(method="median").fit_transform(images).max()
    np.uint8(0)
    >>> ImageDenoiser(method="gaussian").fit_transform(images / 255.0).dtype
    dtype('float64')
    """

    # One-row images would silently give garbage: refuse flattened rows.
    _flat_images = "raise"

    _parameter_constraints = {
        "method": [StrOptions({"gaussian", "median", "bilateral", "nl_means"})],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "sigma": [None, Interval(Real, 0, None, closed="left")],
        "h": [Interval(Real, 0, None, closed="left")],
        "image_shape": [None, tuple],
    }

    def __init__(
        self, *, method="gaussian", kernel_size=3, sigma=None, h=10, image_shape=None
    ):
        self.method = method
        self.kernel_size = kernel_size
        self.sigma = sigma
        self.h = h
        self.image_shape = image_shape

    def _check_kernel_size(self):
        if self.method != "nl_means" and self.kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd for method={self.method!r}; got "
                f"{self.kernel_size}."
            )

    def _fit_images(self, images):
        self._check_kernel_size()
        if self.method == "nl_means":
            check_unit_range(images, estimator=self)

    def _transform_images(self, images):
        self._check_kernel_size()
        denoise = getattr(self, f"_{self.method}")
        if self.method == "nl_means":
            check_unit_range(images, estimator=self)
        out = np.empty_like(images)
        for i, image in enumerate(images):
            out[i] = denoise(np.ascontiguousarray(image))
        return out

    def _gaussian(self, image):
        k = self.kernel_size
        sigma = 0.0 if self.sigma is None else float(self.sigma)
        out = cv2.GaussianBlur(image, (k, k), sigmaX=sigma, sigmaY=sigma)
        return out.reshape(image.shape)

    def _median(self, image):
        k = self.kernel_size
        n_channels = image.shape[-1]
        if image.dtype == np.uint8 and n_channels in (1, 3, 4):
            return cv2.medianBlur(image, k).reshape(image.shape)
        if image.dtype == np.float32 and k in (3, 5) and n_channels in (1, 3, 4):
            return cv2.medianBlur(image, k).reshape(image.shape)
        # OpenCV's median replicates the border ("nearest" in scipy).
        return ndimage.median_filter(image, size=(k, k, 1), mode="nearest")

    def _bilateral(self, image):
        sigma = _BILATERAL_DEFAULT_SIGMA if self.sigma is None else float(self.sigma)
        sigma_color = sigma if image.dtype == np.uint8 else sigma / 255.0
        work = cv2_float(image)
        if image.shape[-1] in (1, 3):
            out = cv2.bilateralFilter(work, self.kernel_size, sigma_color, sigma)
        else:
            out = np.stack(
                [
                    cv2.bilateralFilter(
                        np.ascontiguousarray(work[..., c]),
                        self.kernel_size,
                        sigma_color,
                        sigma,
                    )
                    for c in range(image.shape[-1])
                ],
                axis=-1,
            )
        return out.reshape(image.shape).astype(image.dtype, copy=False)

    def _nl_means(self, image):
        work = to_uint8(image)
        h = float(self.h)
        if work.shape[-1] == 3:
            out = cv2.fastNlMeansDenoisingColored(work, None, h, h, 7, 21)
        else:
            out = np.stack(
                [
                    cv2.fastNlMeansDenoising(
                        np.ascontiguousarray(work[..., c]), None, h, 7, 21
                    )
                    for c in range(work.shape[-1])
                ],
                axis=-1,
            )
        return from_uint8(out.reshape(image.shape), image.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
