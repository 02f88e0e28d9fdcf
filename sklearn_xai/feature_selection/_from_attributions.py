"""Keep the pixels an explainer finds most relevant over the training images."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..base import BaseExplainer
from ..utils._compat import Interval, StrOptions, _fit_context
from ..utils._validation import check_rows, label_indices, validate_images


def pixel_feature_names(image_shape):
    """Names of the flattened values of ``(H, W, C)`` images, C order.

    The same names as :class:`~sklearn_xai.preprocessing.ImageFlattener`:
    ``pixel_r{row}_c{col}`` for one channel, ``pixel_r{row}_c{col}_ch{k}``
    otherwise.

    Examples
    --------
    >>> from sklearn_xai.feature_selection._from_attributions import (
    ...     pixel_feature_names)
    >>> pixel_feature_names((1, 2, 2)).tolist()
    ['pixel_r0_c0_ch0', 'pixel_r0_c0_ch1', 'pixel_r0_c1_ch0', 'pixel_r0_c1_ch1']
    """
    height, width, n_channels = image_shape
    if n_channels == 1:
        names = [f"pixel_r{r}_c{c}" for r in range(height) for c in range(width)]
    else:
        names = [
            f"pixel_r{r}_c{c}_ch{k}"
            for r in range(height)
            for c in range(width)
            for k in range(n_channels)
        ]
    return np.asarray(names, dtype=object)


def _resolve_threshold(importances, threshold):
    """A float threshold from a float or ``"mean"``, ``"median"``, ``"1.5*mean"``."""
    if not isinstance(threshold, str):
        return float(threshold)
    scale, _, reference = threshold.rpartition("*")
    reference = reference.strip()
    try:
        scale = float(scale) if scale.strip() else 1.0
    except ValueError:
        scale = None
    if scale is None or reference not in ("mean", "median"):
        raise ValueError(
            "threshold must be a float, 'mean', 'median' or a scaled reference "
            f"such as '1.5*mean'; got {threshold!r}."
        )
    statistic = np.mean if reference == "mean" else np.median
    return scale * float(statistic(importances))


class SelectFromAttributions(MetaEstimatorMixin, SelectorMixin, BaseEstimator):
    """Keep the pixels with the highest aggregated attribution.

    ``fit`` fits a clone of ``explainer`` on the training images (an estimator
    wrapped in :class:`~sklearn.frozen.FrozenEstimator` inside it stays frozen:
    it is used as is, never refitted), explains every training image in one
    call (the explainer's own ``batch_size`` and ``n_jobs`` apply) and
    aggregates the attributions ``(n, H, W)`` into one importance per pixel,
    ``importances_ (H, W)``. The pixels kept are the ``max_features`` most
    important ones and/or those whose importance is at least ``threshold``.

    Which class is explained: with ``y`` given to ``fit``, the **true label**
    of every image (the pixels that carry evidence for the correct class);
    with ``y=None`` (possible for a frozen model), the predicted class.

    Features are the flattened images ``(n, H * W * C)`` in C order (as
    :class:`~sklearn_xai.preprocessing.ImageFlattener` lays them out, channel
    fastest): a kept pixel keeps all its ``C`` channel values. ``transform``
    accepts images ``(n, H, W, C)``, ``(n, H, W)`` or flattened rows and
    returns the kept values of the flattened images; ``inverse_transform``
    works on flattened data.

    Parameters
    ----------
    explainer : BaseExplainer
        An unfitted explainer of the library, e.g.
        ``IntegratedGradientsExplainer(FrozenEstimator(cnn))``. A clone of it
        is fitted in ``fit``.
    max_features : int or None, default=None
        Number of pixels (not values: a pixel of a colour image is ``C``
        features) to keep at most: the most important ones, ties broken by
        position (row-major). At most ``H * W``.
    threshold : float, str or None, default=None
        Keep the pixels whose importance is at least this value: a float,
        ``"mean"``, ``"median"`` or a scaled reference such as
        ``"1.5*mean"`` (statistics over the ``H * W`` importances). None:
        ``"mean"`` when ``max_features`` is None, otherwise no threshold.
        With both set, a pixel must pass both.
    aggregate : {"mean_abs", "mean"} or callable, default="mean_abs"
        How the attributions of the images become one importance per pixel:
        ``"mean_abs"``, the mean of ``|a|`` over images (relevant in either
        direction); ``"mean"``, the signed mean (evidence for the explained
        class only); or a callable mapping attributions ``(n, H, W)`` to
        importances ``(H, W)``.
    per_class : bool, default=False
        Aggregate the images of every explained class separately and keep,
        for each pixel, the maximum over classes: a pixel that matters to one
        class only is not averaged away by the others, and the pixels kept
        are (for ``max_features`` large enough) the union of every class's
        most important pixels.
    image_shape : tuple of int or None, default=None
        How to read flattened images ``(n, H * W * C)``: ``(H, W)`` or
        ``(H, W, C)``. None uses the explainer's ``image_shape``; given
        here while the explainer has none, it is passed on to the
        explainer's clone.

    Attributes
    ----------
    explainer_ : BaseExplainer
        The fitted clone of ``explainer``.
    importances_ : ndarray of shape (H, W), float64
        The aggregated importance of every pixel.
    class_importances_ : ndarray of shape (n_explained_classes, H, W)
        With ``per_class=True`` only: the importances of every class in
        ``explained_classes_``, whose maximum is ``importances_``.
    explained_classes_ : ndarray
        With ``per_class=True`` only: the classes explained, sorted.
    threshold_ : float
        The threshold applied (``-inf`` when there is none).
    support_image_ : ndarray of shape (H, W), bool
        The kept pixels, as an image (for plotting).
    image_shape_ : tuple of (int, int, int)
        Shape ``(H, W, C)`` of the images seen in ``fit``.
    n_features_in_ : int
        Number of values per image, ``H * W * C``.
    feature_names_in_ : ndarray of str
        Names of the columns of a DataFrame seen in ``fit``; only then.

    See Also
    --------
    sklearn.feature_selection.SelectFromModel : The same for feature
        importances of a tabular model.
    sklearn.feature_selection.SelectKBest : Selection by a univariate
        statistic (mutual information, F-test) of flattened images.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.attribution import OcclusionExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.feature_selection import SelectFromAttributions
    >>> X, y = load_digit_images(return_X_y=True)
    >>> X, y = X[:200].reshape(200, -1), y[:200]
    >>> clf = LogisticRegression(max_iter=500).fit(X, y)
    >>> occlusion = OcclusionExplainer(FrozenEstimator(clf), window=2, stride=2,
    ...                                image_shape=(8, 8))
    >>> selector = SelectFromAttributions(occlusion, max_features=10).fit(X, y)
    >>> selector.transform(X).shape
    (200, 10)
    >>> int(selector.support_image_.sum()), selector.importances_.shape
    (10, (8, 8))
    """

    _parameter_constraints: dict = {
        "explainer": [BaseExplainer],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "threshold": [Interval(Real, None, None, closed="both"), str, None],
        "aggregate": [StrOptions({"mean_abs", "mean"}), callable],
        "per_class": ["boolean"],
        "image_shape": [None, tuple],
    }

    def __init__(
        self,
        explainer,
        *,
        max_features=None,
        threshold=None,
        aggregate="mean_abs",
        per_class=False,
        image_shape=None,
    ):
        self.explainer = explainer
        self.max_features = max_features
        self.threshold = threshold
        self.aggregate = aggregate
        self.per_class = per_class
        self.image_shape = image_shape

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the explainer, explain the images and select pixels.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Training images.
        y : array-like of shape (n,) or None, default=None
            Labels: passed to the explainer's ``fit`` (to fit a clone of its
            model, unless frozen) and explained. None explains the predicted
            classes; the explainer's model must then be frozen.

        Returns
        -------
        self : object
            The fitted selector.
        """
        image_shape = self.image_shape
        if image_shape is None:
            image_shape = getattr(self.explainer, "image_shape", None)
        images, _ = validate_images(self, X, reset=True, image_shape=image_shape)
        n_pixels = images.shape[1] * images.shape[2]
        if self.max_features is not None and self.max_features > n_pixels:
            raise ValueError(
                f"max_features={self.max_features} is larger than the number of "
                f"pixels of the images ({images.shape[1]}x{images.shape[2]} = "
                f"{n_pixels})."
            )
        if y is not None:
            y = column_or_1d(y, warn=True)
            if len(y) != len(images):
                raise ValueError(
                    f"y has {len(y)} labels, but X has {len(images)} images."
                )

        explainer = clone(self.explainer)
        if self.image_shape is not None and explainer.image_shape is None:
            explainer.set_params(image_shape=self.image_shape)
        self.explainer_ = explainer.fit(X, y)
        if tuple(self.explainer_.image_shape_) != self.image_shape_:
            raise ValueError(
                f"The explainer read the images as {self.explainer_.image_shape_} "
                f"but {type(self).__name__} as {self.image_shape_}; give both "
                "the same image_shape."
            )
        if y is not None:  # explained below: name y, not the target
            label_indices(self.explainer_.classes_, y, len(images), name="y")
        attributions, details = self.explainer_.explain(
            X, target=y, return_details=True
        )

        if self.per_class:
            targets = np.asarray(details.targets)
            self.explained_classes_ = np.unique(targets)
            self.class_importances_ = np.stack(
                [
                    self._aggregate(attributions[targets == label])
                    for label in self.explained_classes_
                ]
            )
            self.importances_ = self.class_importances_.max(axis=0)
        else:
            self.importances_ = self._aggregate(attributions)

        scores = self.importances_.ravel()
        threshold = self.threshold
        if threshold is None:
            threshold = "mean" if self.max_features is None else -np.inf
        self.threshold_ = _resolve_threshold(scores, threshold)
        if self.max_features is not None:
            support = np.zeros(scores.shape, dtype=bool)
            support[np.argsort(-scores, kind="stable")[: self.max_features]] = True
        else:
            support = np.ones(scores.shape, dtype=bool)
        support &= scores >= self.threshold_
        self.support_image_ = support.reshape(self.importances_.shape)
        return self

    def _aggregate(self, attributions):
        """Importances ``(H, W)`` of attributions ``(n, H, W)``."""
        if self.aggregate == "mean_abs":
            importances = np.abs(attributions).mean(axis=0, dtype=np.float64)
        elif self.aggregate == "mean":
            importances = attributions.mean(axis=0, dtype=np.float64)
        else:
            importances = np.asarray(self.aggregate(attributions), dtype=np.float64)
            if importances.shape != attributions.shape[1:]:
                raise ValueError(
                    "aggregate must map attributions of shape (n, H, W) to "
                    f"importances (H, W) = {attributions.shape[1:]}; the "
                    f"callable returned shape {importances.shape}."
                )
        if not np.all(np.isfinite(importances)):
            raise ValueError(
                "The aggregated importances contain NaN or infinity; check the "
                "explainer's attributions and the aggregate."
            )
        return importances

    def _get_support_mask(self):
        check_is_fitted(self)
        return np.repeat(self.support_image_.ravel(), self.image_shape_[2])

    def transform(self, X):
        """Keep the values of the selected pixels of flattened images.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the size seen in ``fit``.

        Returns
        -------
        X_selected : ndarray of shape (n, n_selected_pixels * C)
            The kept values of the flattened images, in their dtype.
        """
        check_is_fitted(self)
        images, _ = validate_images(self, X, reset=False)
        return self._transform(images.reshape(len(images), -1))

    def inverse_transform(self, X):
        """Put the kept values back in place, zeros for the other pixels.

        Parameters
        ----------
        X : array-like of shape (n, n_selected_pixels * C)
            Kept values, as :meth:`transform` returns them.

        Returns
        -------
        X_full : ndarray of shape (n, H * W * C)
            Flattened images with the removed pixels set to zero.
        """
        check_is_fitted(self)
        X = check_rows(X, n_features=int(self._get_support_mask().sum()))
        return super().inverse_transform(X)

    def get_feature_names_out(self, input_features=None):
        """Names of the kept features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the input features. None uses ``feature_names_in_``
            when ``fit`` saw a DataFrame, else pixel names as
            :class:`~sklearn_xai.preprocessing.ImageFlattener` gives them:
            ``pixel_r{row}_c{col}`` (gray) or ``pixel_r{row}_c{col}_ch{k}``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The names of the kept features.
        """
        check_is_fitted(self)
        names_in = getattr(self, "feature_names_in_", None)
        if input_features is None:
            names = pixel_feature_names(self.image_shape_)
            names = names if names_in is None else names_in
        else:
            names = np.asarray(input_features, dtype=object)
            if len(names) != self.n_features_in_:
                raise ValueError(
                    "input_features should have length equal to the number of "
                    f"features ({self.n_features_in_}); got {len(names)}."
                )
            if names_in is not None and not np.array_equal(names, names_in):
                raise ValueError(
                    "input_features is not equal to feature_names_in_ seen in fit."
                )
        return names[self.get_support()]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags
