"""The base class shared by the image transformers."""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._validation import IMAGE_DTYPES, validate_images


class _ImageTransformer(TransformerMixin, BaseEstimator):
    """Image batch in, image batch out, in the caller's layout.

    Subclasses implement ``_fit_images(images)`` (optional, to learn from the
    training batch) and ``_transform_images(images)``; both receive a
    validated ``(n, H, W, C)`` array and must not modify it. Class attributes
    tune validation:

    * ``_input_dtype``: dtypes accepted as they are (others are converted to
      the first one);
    * ``_same_size``: whether ``transform`` needs the size seen in ``fit``;
    * ``_flat_images``: what ``fit`` does with a 2-D input without
      ``image_shape`` whose rows look like flattened square images
      (:func:`~sklearn_xai.utils.validate_images`): ``"warn"``, or
      ``"raise"`` for transformers that work on neighbouring pixels.
    """

    _input_dtype = IMAGE_DTYPES
    _same_size = False
    _flat_images = "warn"

    def _validate_images(self, X, *, reset):
        return validate_images(
            self,
            X,
            reset=reset,
            image_shape=self.image_shape,
            dtype=self._input_dtype,
            same_size=self._same_size,
            flat_images=self._flat_images,
        )

    def _fit_images(self, images):
        """Learn from the validated training batch (nothing by default)."""

    def fit(self, X, y=None):
        """Validate ``X`` and learn what the transformation needs from it.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Training images; a flattened batch is read with ``image_shape``.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._validate_params()
        images, _ = self._validate_images(X, reset=True)
        self._fit_images(images)
        return self

    def transform(self, X):
        """Transform an image batch, returned in the layout it came in.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images to transform.

        Returns
        -------
        X_out : ndarray
            The transformed batch: ``(n, H', W', C')``, ``(n, H', W')`` or
            ``(n, H' * W' * C')`` as ``X`` was laid out.
        """
        check_is_fitted(self)
        images, layout = self._validate_images(X, reset=False)
        return layout.restore(self._transform_images(images))
