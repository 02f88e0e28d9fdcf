"""Interpretable region features of images: one mean intensity per region.

A surrogate model is only as readable as its features. These transformers
turn an image batch into a table with one column per *region* of the image
(a grid cell or a superpixel), the mean intensity of the region's pixels over
all channels. Every transformer keeps ``region_map_``, an ``(H, W)`` int map
of which feature each pixel belongs to, so anything learned on the features
(split thresholds, importances, coefficients) can be drawn back onto the
image.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..utils._compat import HasMethods, Interval
from ..utils._validation import validate_images


def _span(indices):
    return f"{indices.min()}-{indices.max()}"


class _RegionFeatures(TransformerMixin, BaseEstimator):
    """Mean intensity per region of a fixed ``(H, W)`` region map.

    Subclasses implement one hook, ``_fit_regions(images)``, returning the
    region map (labels ``0..k-1``) of the validated training batch
    ``(n, H, W, C)``, and ``_region_name(k, rows, cols)``, a short name.
    """

    def fit(self, X, y=None):
        """Learn the regions.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Training images.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._validate_params()
        images, _ = validate_images(self, X, reset=True, image_shape=self.image_shape)
        regions = np.asarray(self._fit_regions(images), dtype=np.intp)
        n_regions = int(regions.max()) + 1
        height, width = regions.shape
        # (H * W, k) averaging matrix: column k holds 1 / |region k| on its pixels.
        counts = np.bincount(regions.ravel(), minlength=n_regions)
        self.region_map_ = regions
        self.region_sizes_ = counts
        self._averager = sparse.csr_matrix(
            (
                1.0 / counts[regions.ravel()],
                (np.arange(height * width), regions.ravel()),
            ),
            shape=(height * width, n_regions),
        )
        return self

    def transform(self, X):
        """Mean intensity (over pixels and channels) of every region.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the size seen in ``fit``.

        Returns
        -------
        features : ndarray of shape (n, n_regions)
            float64 region means.
        """
        check_is_fitted(self)
        images, _ = validate_images(self, X, reset=False, image_shape=self.image_shape)
        gray = images.mean(axis=-1, dtype=np.float64).reshape(len(images), -1)
        return np.asarray(self._averager.T.dot(gray.T).T)

    def get_feature_names_out(self, input_features=None):
        """Human-readable feature names saying where each region lies.

        Parameters
        ----------
        input_features : None
            Ignored; present for API consistency.

        Returns
        -------
        names : ndarray of str
            E.g. ``"cell r2c5 (rows 8-11, cols 20-23) mean"``.
        """
        check_is_fitted(self)
        names = []
        for k in range(len(self.region_sizes_)):
            rows, cols = np.nonzero(self.region_map_ == k)
            names.append(self._long_name(k, rows, cols))
        return np.asarray(names, dtype=object)

    def _short_names(self):
        check_is_fitted(self)
        return [self._region_name(k) for k in range(len(self.region_sizes_))]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


class GridFeatures(_RegionFeatures):
    """Mean intensity of each cell of a ``grid_size x grid_size`` grid.

    Cell ``(i, j)`` covers rows ``i * H // grid_size`` up to (excluding)
    ``(i + 1) * H // grid_size``, and likewise for columns, so cells differ by
    at most one pixel in size when ``grid_size`` does not divide the image.
    A feature is the mean over the cell's pixels *and channels* (colour
    images give one gray-level feature per cell, keeping the surrogate small).
    Features are ordered row by row.

    Parameters
    ----------
    grid_size : int, default=8
        Cells per side; at most the image's height and width.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` for reading flattened images.

    Attributes
    ----------
    region_map_ : ndarray of shape (H, W)
        Index of the feature (cell) of every pixel.
    region_sizes_ : ndarray of shape (grid_size ** 2,)
        Pixels per cell.
    image_shape_ : tuple of (int, int, int)
        ``(H, W, C)`` seen in ``fit``.
    n_features_in_ : int
        ``H * W * C``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.surrogate import GridFeatures
    >>> images = np.arange(2 * 4 * 4, dtype=float).reshape(2, 4, 4)
    >>> grid = GridFeatures(grid_size=2).fit(images)
    >>> grid.transform(images)[0].tolist()
    [2.5, 4.5, 10.5, 12.5]
    >>> str(grid.get_feature_names_out()[1])
    'cell r0c1 (rows 0-1, cols 2-3) mean'
    """

    _parameter_constraints: dict = {
        "grid_size": [Interval(Integral, 1, None, closed="left")],
        "image_shape": [None, tuple],
    }

    def __init__(self, grid_size=8, *, image_shape=None):
        self.grid_size = grid_size
        self.image_shape = image_shape

    def _fit_regions(self, images):
        height, width = images.shape[1:3]
        if self.grid_size > min(height, width):
            raise ValueError(
                f"grid_size must be at most the image height and width "
                f"({height}x{width}); got grid_size={self.grid_size}."
            )
        rows = np.arange(height) * self.grid_size // height
        cols = np.arange(width) * self.grid_size // width
        return rows[:, np.newaxis] * self.grid_size + cols[np.newaxis, :]

    def _region_name(self, k):
        return f"r{k // self.grid_size}c{k % self.grid_size}"

    def _long_name(self, k, rows, cols):
        return (
            f"cell {self._region_name(k)} (rows {_span(rows)}, cols {_span(cols)}) mean"
        )


class SuperpixelFeatures(_RegionFeatures):
    """Mean intensity of each superpixel of one segmentation learned in ``fit``.

    ``fit`` segments the *mean training image* once; every image is then
    described by the mean intensity (over pixels and channels) of the same
    regions, so a feature means the same place in every image.

    Parameters
    ----------
    segmentation : transformer or None, default=None
        A segmenter such as
        :class:`~sklearn_xai.preprocessing.SuperpixelSegmenter` (cloned; its
        ``fit_transform`` must map an ``(1, H, W, C)`` batch to label maps).
        None uses ``SuperpixelSegmenter(method="slic", n_segments=n_segments,
        compactness=0.1)``, a compactness suited to images in [0, 1].
    n_segments : int, default=64
        Approximate number of superpixels of the default segmentation.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` for reading flattened images.

    Attributes
    ----------
    segmentation_ : transformer
        The fitted segmenter.
    region_map_ : ndarray of shape (H, W)
        Index of the feature (superpixel) of every pixel.
    region_sizes_ : ndarray of shape (n_regions,)
        Pixels per superpixel.
    image_shape_ : tuple of (int, int, int)
        ``(H, W, C)`` seen in ``fit``.
    n_features_in_ : int
        ``H * W * C``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.preprocessing import SuperpixelSegmenter
    >>> from sklearn_xai.surrogate import SuperpixelFeatures
    >>> images = np.random.default_rng(0).random((3, 8, 8))
    >>> features = SuperpixelFeatures(
    ...     SuperpixelSegmenter(method="grid", n_segments=4)).fit(images)
    >>> features.transform(images).shape
    (3, 4)
    >>> str(features.get_feature_names_out()[0])
    'superpixel 0 (rows 0-3, cols 0-3, 16 px) mean'
    """

    _parameter_constraints: dict = {
        "segmentation": [None, HasMethods(["fit_transform"])],
        "n_segments": [Interval(Integral, 1, None, closed="left")],
        "image_shape": [None, tuple],
    }

    def __init__(self, segmentation=None, *, n_segments=64, image_shape=None):
        self.segmentation = segmentation
        self.n_segments = n_segments
        self.image_shape = image_shape

    def _fit_regions(self, images):
        if self.segmentation is None:
            from ..preprocessing import SuperpixelSegmenter

            segmenter = SuperpixelSegmenter(
                method="slic", n_segments=self.n_segments, compactness=0.1
            )
        else:
            segmenter = clone(self.segmentation)
        mean_image = images.mean(axis=0, dtype=np.float64)[np.newaxis]
        labels = np.asarray(segmenter.fit_transform(mean_image))
        self.segmentation_ = segmenter
        labels = labels.reshape(images.shape[1:3])
        _, labels = np.unique(labels, return_inverse=True)
        return labels.reshape(images.shape[1:3])

    def _region_name(self, k):
        return f"sp{k}"

    def _long_name(self, k, rows, cols):
        return (
            f"superpixel {k} (rows {_span(rows)}, cols {_span(cols)}, "
            f"{len(rows)} px) mean"
        )
