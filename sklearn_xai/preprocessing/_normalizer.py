"""Standardize images channel by channel."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._compat import Interval
from ._base import _ImageTransformer


def _channel_values(value, n_channels, *, name):
    """A user-given float or per-channel sequence as a float64 (C,) array."""
    values = np.asarray(value, dtype=np.float64)
    if values.ndim > 1 or (values.ndim == 1 and values.shape[0] not in (1, n_channels)):
        raise ValueError(
            f"{name} must be a float or a sequence with one value per channel; "
            f"the images have {n_channels} channel(s) but {name} has "
            f"{values.size} value(s): {value!r}."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must hold finite values; got {value!r}.")
    return np.broadcast_to(values.reshape(-1), (n_channels,)).copy()


def _output_dtype(dtype):
    return np.float64 if dtype == np.float64 else np.float32


class ImageNormalizer(_ImageTransformer):
    """Standardize images per channel: ``(X - mean_) / std_``.

    The statistics are learned in ``fit`` over every pixel of every image,
    channel by channel, unless given (e.g. ImageNet's ``mean=(0.485, 0.456,
    0.406)``, ``std=(0.229, 0.224, 0.225)`` for RGB floats in [0, 1]). A
    constant channel gets ``std_ = 1``, as in
    :class:`~sklearn.preprocessing.StandardScaler`.

    The output is float32 for uint8 and float32 input, float64 for float64
    input.

    Parameters
    ----------
    mean : float, array-like of shape (n_channels,) or None, default=None
        Value subtracted from each channel. None learns the channel means.
    std : float, array-like of shape (n_channels,) or None, default=None
        Positive value dividing each channel. None learns the channel
        standard deviations.
    image_shape : tuple of int or None, default=None
        How to read a flattened ``(n, H * W * C)`` input: ``(H, W)`` or
        ``(H, W, C)``. Without it a 2-D input is read as one-row grayscale
        images ``(1, n_features)``; rows that look like flattened square
        images (``s * s`` or ``3 * s * s`` features, ``s >= 4``) get a
        warning in ``fit`` that suggests ``image_shape`` (see
        :func:`~sklearn_xai.utils.validate_images`).

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,), dtype float64
        Per-channel mean (learned or given).
    std_ : ndarray of shape (n_channels,), dtype float64
        Per-channel standard deviation (learned or given).
    image_shape_ : tuple of (int, int, int)
        Shape ``(H, W, C)`` of the images seen in ``fit``.
    n_features_in_ : int
        Number of values per image seen in ``fit``.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : The same per feature, not per
        channel.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.preprocessing import ImageNormalizer
    >>> images = np.arange(16, dtype=np.uint8).reshape(2, 2, 2, 2)
    >>> normalizer = ImageNormalizer().fit(images)
    >>> normalizer.mean_
    array([7., 8.])
    >>> Xt = normalizer.transform(images)
    >>> Xt.dtype, round(float(Xt[..., 0].std()), 3)
    (dtype('float32'), 1.0)
    >>> np.allclose(normalizer.inverse_transform(Xt), images)
    True
    """

    _parameter_constraints = {
        "mean": [None, Interval(Real, None, None, closed="neither"), "array-like"],
        "std": [None, Interval(Real, 0, None, closed="neither"), "array-like"],
        "image_shape": [None, tuple],
    }

    def __init__(self, *, mean=None, std=None, image_shape=None):
        self.mean = mean
        self.std = std
        self.image_shape = image_shape

    def _fit_images(self, images):
        n_channels = images.shape[-1]
        pixels = images.reshape(-1, n_channels)
        if self.mean is None:
            self.mean_ = pixels.mean(axis=0, dtype=np.float64)
        else:
            self.mean_ = _channel_values(self.mean, n_channels, name="mean")
        if self.std is None:
            std = pixels.std(axis=0, dtype=np.float64)
            constant = pixels.min(axis=0) == pixels.max(axis=0)
            std[constant] = 1.0
            self.std_ = std
        else:
            std = _channel_values(self.std, n_channels, name="std")
            if np.any(std <= 0):
                raise ValueError(f"std must be positive; got {self.std!r}.")
            self.std_ = std

    def _transform_images(self, images):
        dtype = _output_dtype(images.dtype)
        return (images.astype(dtype) - self.mean_.astype(dtype)) / self.std_.astype(
            dtype
        )

    def inverse_transform(self, X):
        """Undo the standardization: ``X * std_ + mean_``.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Standardized images.

        Returns
        -------
        X_orig : ndarray
            Images on the original scale, float32 (float64 for float64
            input), in the layout of ``X``.
        """
        check_is_fitted(self)
        images, layout = self._validate_images(X, reset=False)
        dtype = _output_dtype(images.dtype)
        out = images.astype(dtype) * self.std_.astype(dtype) + self.mean_.astype(dtype)
        return layout.restore(out)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
