"""Contrast-limited adaptive histogram equalization (CLAHE)."""

from __future__ import annotations

from numbers import Integral, Real

import cv2
import numpy as np

from ..utils._compat import Interval
from ._base import _ImageTransformer
from ._image_ops import check_size, check_unit_range, from_uint8, to_uint8


class HistogramEqualizer(_ImageTransformer):
    """Equalize contrast locally with OpenCV's CLAHE.

    Grayscale images are equalized directly; RGB images on the lightness
    channel of CIE L*a*b*, so colours keep their hue.

    uint8 images give uint8 images. Floating images must lie in [0, 1]
    (a ValueError says so otherwise; nothing is clipped silently) and keep
    their dtype: OpenCV's CLAHE works on integer images, so they are
    quantised to 256 levels first and the result is exactly the uint8 result
    divided by 255.

    Parameters
    ----------
    clip_limit : float, default=2.0
        Contrast limit: histogram bins are clipped at ``clip_limit`` times the
        mean bin count of a tile; 0 disables clipping (plain adaptive
        equalization).
    tile_grid_size : int or tuple of (int, int), default=(8, 8)
        Number of tiles ``(rows, columns)`` the image is split into (one int:
        the same for both).
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
        Shape ``(H, W, C)`` of the images seen in ``fit``; C must be 1 or 3.
    n_features_in_ : int
        Number of values per image seen in ``fit``.

    References
    ----------
    .. [1] K. Zuiderveld, "Contrast limited adaptive histogram equalization",
       Graphics Gems IV, 1994.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.preprocessing import HistogramEqualizer
    >>> dull = np.tile(np.linspace(100, 140, 16), (1, 16, 1)).astype(np.uint8)
    >>> bright = HistogramEqualizer(tile_grid_size=2).fit_transform(dull)
    >>> int(np.ptp(dull)), int(np.ptp(bright)) > int(np.ptp(dull))
    (40, True)
    """

    # One-row images would silently give garbage: refuse flattened rows.
    _flat_images = "raise"

    _parameter_constraints = {
        "clip_limit": [Interval(Real, 0, None, closed="left")],
        "tile_grid_size": [Interval(Integral, 1, None, closed="left"), tuple],
        "image_shape": [None, tuple],
    }

    def __init__(self, *, clip_limit=2.0, tile_grid_size=(8, 8), image_shape=None):
        self.clip_limit = clip_limit
        self.tile_grid_size = tile_grid_size
        self.image_shape = image_shape

    def _check_images(self, images):
        if images.shape[-1] not in (1, 3):
            raise ValueError(
                f"{type(self).__name__} expects X to hold gray (1 channel) or RGB "
                f"(3 channels) images; got {images.shape[-1]} channels (images "
                f"of shape {images.shape[1:]})."
            )
        check_unit_range(images, estimator=self)

    def _fit_images(self, images):
        check_size(self.tile_grid_size, name="tile_grid_size")
        self._check_images(images)

    def _transform_images(self, images):
        self._check_images(images)
        rows, cols = check_size(self.tile_grid_size, name="tile_grid_size")
        clahe = cv2.createCLAHE(
            clipLimit=float(self.clip_limit), tileGridSize=(cols, rows)
        )
        work = to_uint8(images)
        out = np.empty_like(work)
        for i, image in enumerate(work):
            if image.shape[-1] == 1:
                out[i, ..., 0] = clahe.apply(np.ascontiguousarray(image[..., 0]))
            else:
                lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)
                lab[..., 0] = clahe.apply(np.ascontiguousarray(lab[..., 0]))
                out[i] = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
        return from_uint8(out, images.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.positive_only = True
        return tags

    def _xfail_checks(self):
        """scikit-learn common checks that cannot apply, with the reason.

        Read by ``tests/test_common.py``.
        """
        reason = (
            "CLAHE works on bounded intensities: float images must lie in [0, 1] "
            "and are rejected, never clipped; the check feeds unbounded floats"
        )
        return dict.fromkeys(
            [
                "check_estimators_overwrite_params",
                "check_dont_overwrite_parameters",
                "check_estimators_fit_returns_self",
                "check_readonly_memmap_input",
                "check_n_features_in_after_fitting",
                "check_estimators_dtypes",
                "check_pipeline_consistency",
                "check_estimators_pickle",
                "check_f_contiguous_array_estimator",
                "check_transformer_data_not_an_array",
                "check_transformer_general",
                "check_transformer_preserve_dtypes",
                "check_methods_sample_order_invariance",
                "check_methods_subset_invariance",
                "check_fit2d_1sample",
                "check_fit2d_1feature",
                "check_dict_unchanged",
                "check_fit_idempotent",
                "check_fit_check_is_fitted",
                "check_n_features_in",
                "check_fit2d_predict1d",
            ],
            reason,
        )
