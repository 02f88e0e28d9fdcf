"""Flatten images into tabular rows, with one named column per value."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._compat import validate_data
from ..utils._validation import check_rows
from ._base import _ImageTransformer


class ImageFlattener(_ImageTransformer):
    """Flatten images ``(n, H, W[, C])`` to rows ``(n, H * W * C)``.

    The bridge from image steps to tabular ones: columns are named
    ``pixel_r{row}_c{col}`` for grayscale images and
    ``pixel_r{row}_c{col}_ch{channel}`` for colour ones (C order, channel
    fastest), so ``set_output(transform="pandas")`` gives a DataFrame.
    ``transform`` needs images of the size seen in ``fit``;
    ``inverse_transform`` restores them. The dtype is kept.

    Parameters
    ----------
    image_shape : tuple of int or None, default=None
        How to read a flattened ``(n, H * W * C)`` input: ``(H, W)`` or
        ``(H, W, C)``. Without it a 2-D input is read as one-row grayscale
        images ``(1, n_features)``.

    Attributes
    ----------
    image_shape_ : tuple of (int, int, int)
        Shape ``(H, W, C)`` of the images seen in ``fit``.
    n_features_in_ : int
        Number of values per image, ``H * W * C``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.preprocessing import ImageFlattener
    >>> images = np.arange(12).reshape(2, 2, 3)
    >>> flattener = ImageFlattener().fit(images)
    >>> rows = flattener.transform(images)
    >>> rows.shape
    (2, 6)
    >>> flattener.get_feature_names_out()[:3].tolist()
    ['pixel_r0_c0', 'pixel_r0_c1', 'pixel_r0_c2']
    >>> bool((flattener.inverse_transform(rows) == images).all())
    True
    """

    _parameter_constraints = {"image_shape": [None, tuple]}
    _same_size = True
    # Flattening gives the same rows whatever the image shape.
    _flat_images = "ignore"

    def __init__(self, *, image_shape=None):
        self.image_shape = image_shape

    def _transform_images(self, images):
        return images.reshape(images.shape[0], -1).copy()

    def transform(self, X):
        """Flatten an image batch.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the fitted size.

        Returns
        -------
        X_flat : ndarray of shape (n, H * W * C)
            One row per image, of the input dtype.
        """
        check_is_fitted(self)
        images, _ = self._validate_images(X, reset=False)
        return self._transform_images(images)

    def inverse_transform(self, X):
        """Reshape rows back into images of the fitted shape.

        Parameters
        ----------
        X : array-like of shape (n, H * W * C)
            Flattened images.

        Returns
        -------
        images : ndarray of shape (n, H, W, C), or (n, H, W) when C is 1
            The images, of the dtype of ``X``.
        """
        check_is_fitted(self)
        X = check_rows(X, n_features=self.n_features_in_)
        X = validate_data(
            self, X, reset=False, dtype=(np.float64, np.float32, np.uint8)
        )
        height, width, n_channels = self.image_shape_
        images = X.reshape(X.shape[0], height, width, n_channels).copy()
        return images[..., 0] if n_channels == 1 else images

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored apart from its length, which must be ``n_features_in_``;
            the names describe pixel positions.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``pixel_r{row}_c{col}`` (gray) or ``pixel_r{row}_c{col}_ch{k}``.
        """
        check_is_fitted(self)
        if input_features is not None and len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features should have length equal to the number of "
                f"features ({self.n_features_in_}); got {len(input_features)}."
            )
        height, width, n_channels = self.image_shape_
        rows, cols, channels = np.meshgrid(
            np.arange(height), np.arange(width), np.arange(n_channels), indexing="ij"
        )
        if n_channels == 1:
            names = [
                f"pixel_r{r}_c{c}"
                for r, c in zip(rows.ravel(), cols.ravel(), strict=True)
            ]
        else:
            names = [
                f"pixel_r{r}_c{c}_ch{k}"
                for r, c, k in zip(
                    rows.ravel(), cols.ravel(), channels.ravel(), strict=True
                )
            ]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
