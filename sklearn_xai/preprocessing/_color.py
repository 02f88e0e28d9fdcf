"""Convert images between colour spaces."""

from __future__ import annotations

import cv2
import numpy as np
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ..utils._compat import StrOptions
from ._base import _ImageTransformer
from ._image_ops import validate_output_layout

_FROM_RGB = {
    "gray": cv2.COLOR_RGB2GRAY,
    "hsv": cv2.COLOR_RGB2HSV,
    "lab": cv2.COLOR_RGB2Lab,
}
_TO_RGB = {"hsv": cv2.COLOR_HSV2RGB, "lab": cv2.COLOR_Lab2RGB}


def _check_channels(images, estimator, input_name="X"):
    n_channels = images.shape[-1]
    if n_channels not in (1, 3):
        raise ValueError(
            f"{type(estimator).__name__} expects {input_name} to hold gray "
            f"(1 channel) or RGB (3 channels) images; got {n_channels} channels "
            f"(images of shape {images.shape[1:]})."
        )


def _convert(images, code):
    """Apply ``cv2.cvtColor`` image by image; float64 goes through float32."""
    work = images.astype(np.float32) if images.dtype == np.float64 else images
    converted = [cv2.cvtColor(np.ascontiguousarray(image), code) for image in work]
    out = np.stack(converted)
    if out.ndim == 3:
        out = out[..., np.newaxis]
    return out.astype(images.dtype, copy=False)


def _is_invertible(converter):
    return converter.to != "gray"


class ColorConverter(_ImageTransformer):
    """Convert RGB or grayscale images to gray, RGB, HSV or CIE L*a*b*.

    The input is RGB (3 channels) or gray (1 channel). Gray to RGB replicates
    the channel; gray to HSV or Lab goes through RGB. Conversions use
    :func:`cv2.cvtColor` and keep the dtype.

    Value ranges follow OpenCV and depend on the dtype:

    ========  ==========================  ====================================
    ``to``    uint8 input (0..255)        float input (RGB in [0, 1])
    ========  ==========================  ====================================
    gray      0..255                      [0, 1]
    hsv       H in 0..179 (degrees / 2),  H in [0, 360), S and V in [0, 1]
              S and V in 0..255
    lab       L * 255 / 100, a + 128,     L in [0, 100], a and b roughly in
              b + 128 (all 0..255)        [-127, 127]
    ========  ==========================  ====================================

    Gray is ``0.299 R + 0.587 G + 0.114 B``. Float64 images are converted in
    float32 (OpenCV's precision) and returned as float64.

    Parameters
    ----------
    to : {"gray", "rgb", "hsv", "lab"}, default="gray"
        Target colour space.
    image_shape : tuple of int or None, default=None
        How to read a flattened ``(n, H * W * C)`` input: ``(H, W)`` or
        ``(H, W, C)``. Without it a 2-D input is read as one-row grayscale
        images ``(1, n_features)``; rows that look like flattened square
        images (``s * s`` or ``3 * s * s`` features, ``s >= 4``) get a
        warning in ``fit`` that suggests ``image_shape`` (see
        :func:`~sklearn_xai.utils.validate_images`).

    Attributes
    ----------
    image_shape_ : tuple of (int, int, int)
        Shape ``(H, W, C)`` of the images seen in ``fit``.
    n_features_in_ : int
        Number of values per image seen in ``fit``.

    References
    ----------
    .. [1] OpenCV, "Color conversions",
       https://docs.opencv.org/4.x/de/d25/imgproc_color_conversions.html

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.preprocessing import ColorConverter
    >>> red = np.zeros((1, 2, 2, 3), dtype=np.float32)
    >>> red[..., 0] = 1.0
    >>> hsv = ColorConverter(to="hsv").fit_transform(red)
    >>> hsv[0, 0, 0].tolist()
    [0.0, 1.0, 1.0]
    >>> ColorConverter(to="gray").fit_transform(red).shape
    (1, 2, 2, 1)
    """

    _parameter_constraints = {
        "to": [StrOptions({"gray", "rgb", "hsv", "lab"})],
        "image_shape": [None, tuple],
    }

    def __init__(self, *, to="gray", image_shape=None):
        self.to = to
        self.image_shape = image_shape

    def _fit_images(self, images):
        _check_channels(images, self)

    def _transform_images(self, images):
        _check_channels(images, self)
        if self.to == "gray":
            if images.shape[-1] == 1:
                return images.copy()
            return _convert(images, _FROM_RGB["gray"])
        rgb = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
        if self.to == "rgb":
            return rgb.copy() if rgb is images else rgb
        return _convert(rgb, _FROM_RGB[self.to])

    @available_if(_is_invertible)
    def inverse_transform(self, X):
        """Convert images of the target colour space back to RGB.

        Only available when ``to`` is not ``"gray"`` (gray loses the colour).

        Parameters
        ----------
        X : array-like of shape (n, H, W, 3) or (n, H * W * 3)
            Images in the ``to`` colour space, laid out as ``transform``
            returns them (a flattened batch has the fitted height and width).

        Returns
        -------
        X_rgb : ndarray of shape (n, H, W, 3) or (n, H * W * 3)
            RGB images of the same dtype, in the layout of ``X``.
        """
        check_is_fitted(self)
        images, layout = validate_output_layout(self, X, n_channels=3)
        if self.to == "rgb":
            return layout.restore(images.copy())
        return layout.restore(_convert(images, _TO_RGB[self.to]))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
