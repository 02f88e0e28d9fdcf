"""A global surrogate: an interpretable model that mimics a black box on images."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import accuracy_score
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._adapter import check_model, fit_model
from ..utils._compat import HasMethods, Interval, StrOptions
from ..utils._validation import validate_images
from ._features import GridFeatures, SuperpixelFeatures


def _surrogate_has(method):
    """Whether the (fitted, else to be fitted) surrogate has ``method``."""

    def check(self):
        surrogate = getattr(self, "surrogate_", None)
        if surrogate is None:
            surrogate = self._make_surrogate()
        getattr(surrogate, method)
        return True

    return check


def _shifted_copies(images, n_copies, rng):
    """``n_copies`` randomly shifted, slightly noisy copies of every image.

    Shifts are up to 1/16 of the image side (at least one pixel), with edge
    pixels repeated; the noise has 2% of the batch's value range as standard
    deviation. Integer images keep their dtype (rounded and clipped).
    """
    n, height, width, _ = images.shape
    max_shift = max(1, min(height, width) // 16)
    padded = np.pad(
        images,
        ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)),
        mode="edge",
    )
    spread = float(images.max() - images.min()) or 1.0
    copies = []
    for _ in range(n_copies):
        dy, dx = rng.randint(0, 2 * max_shift + 1, size=(2, n))
        shifted = np.stack(
            [padded[i, dy[i] : dy[i] + height, dx[i] : dx[i] + width] for i in range(n)]
        ).astype(np.float64)
        shifted += rng.normal(0.0, 0.02 * spread, size=shifted.shape)
        copies.append(shifted)
    out = np.concatenate(copies)
    if np.issubdtype(images.dtype, np.integer):
        info = np.iinfo(images.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(images.dtype)


class SurrogateClassifier(ClassifierMixin, BaseEstimator):
    """Mimic a black-box image classifier with an interpretable model.

    ``fit(X, y)`` fits the black box (a clone of ``estimator``, or a trained
    model wrapped in :class:`~sklearn.frozen.FrozenEstimator`, used as is),
    turns the images into a few interpretable features (mean intensities of
    image regions) and fits a clone of ``surrogate`` to the **black box's
    predictions** on them -- not to ``y``, which only trains the black box.
    ``fidelity_`` says how often the surrogate agrees with the black box on
    the training images, and :meth:`score` says it on new images, so a
    :class:`~sklearn.model_selection.GridSearchCV` over the surrogate's
    complexity trades fidelity against readability.

    ``predict`` and ``predict_proba`` are the surrogate's own answers.

    Parameters
    ----------
    estimator : classifier
        The black box: any classifier with ``fit`` and ``predict`` (a
        :class:`~sklearn_xai.neural_network.CNNClassifier`, a
        :class:`~sklearn.pipeline.Pipeline`, ...). Wrap a trained model in
        :class:`~sklearn.frozen.FrozenEstimator` to use it without refitting.
    surrogate : classifier or None, default=None
        The interpretable model, cloned and fitted on the features. None uses
        ``DecisionTreeClassifier(random_state=random_state)``.
    features : {"grid", "superpixels"} or transformer, default="grid"
        The interpretable features:

        * ``"grid"``: :class:`GridFeatures`, the mean intensity of every cell
          of a ``grid_size x grid_size`` grid, averaged over channels;
        * ``"superpixels"``: :class:`SuperpixelFeatures`, the mean intensity
          of every superpixel of *one* segmentation of the mean training
          image (``segmentation``, by default SLIC with about
          ``grid_size ** 2`` segments), averaged over channels;
        * a transformer instance (cloned, fitted on the training images in
          the layout they came in) whose output is a table, e.g.
          :class:`~sklearn_xai.preprocessing.ImageFlattener`.
    grid_size : int, default=8
        Cells per side of the grid; for ``"superpixels"`` the default
        segmentation asks for about ``grid_size ** 2`` segments.
    segmentation : transformer or None, default=None
        The segmenter of ``features="superpixels"``, e.g.
        ``SuperpixelSegmenter(method="slic", n_segments=50)``; ignored
        otherwise.
    random_state : int, RandomState instance or None, default=None
        Seed of the default surrogate tree.
    batch_size : int, default=64
        Images per call of the black box's ``predict``.
    n_augment : int, default=0
        Also ask the black box about ``n_augment`` shifted, slightly noisy
        copies of each training image and fit the surrogate on those answers
        too (as TREPAN does): more examples of the black box's behaviour for
        the same data, which raises held-out fidelity (measured in
        ``benchmarks/bench_surrogate.py``). ``fidelity_`` stays measured on
        the training images themselves.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` for reading flattened images.

    Attributes
    ----------
    estimator_ : classifier
        The fitted black box (``estimator`` itself when frozen).
    features_ : transformer
        The fitted feature transformer.
    surrogate_ : classifier
        The interpretable model, fitted to the black box's predictions.
    fidelity_ : float
        Accuracy of ``surrogate_`` against the black box's predictions on the
        training images.
    classes_ : ndarray of shape (n_classes,)
        The black box's classes (the columns of ``predict_proba``).
    reference_image_ : ndarray of shape (H, W, C)
        The mean training image, the default background of plots.
    image_shape_ : tuple of (int, int, int)
        ``(H, W, C)`` of the training images.
    n_features_in_ : int
        ``H * W * C``.

    See Also
    --------
    SurrogateTreeClassifier : The decision-tree case, with its parameters
        exposed and the tree drawn on the image.

    References
    ----------
    .. [1] M. W. Craven and J. W. Shavlik, "Extracting tree-structured
       representations of trained networks", NIPS 1995.
    .. [2] C. Molnar, "Interpretable Machine Learning", chapter "Global
       Surrogate", 2022.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.surrogate import SurrogateClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> X = X.reshape(len(X), -1)  # flattened 8x8 images
    >>> surrogate = SurrogateClassifier(
    ...     LogisticRegression(max_iter=1000), grid_size=4, image_shape=(8, 8),
    ...     random_state=0).fit(X[:1000], y[:1000])
    >>> bool(surrogate.fidelity_ > 0.9), bool(surrogate.score(X[1000:]) > 0.5)
    (True, True)
    >>> surrogate.importance_image().shape
    (8, 8)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "surrogate": [None, HasMethods(["fit", "predict"])],
        "features": [
            StrOptions({"grid", "superpixels"}),
            HasMethods(["fit", "transform"]),
        ],
        "grid_size": [Interval(Integral, 1, None, closed="left")],
        "segmentation": [None, HasMethods(["fit_transform"])],
        "random_state": ["random_state"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_augment": [Interval(Integral, 0, None, closed="left")],
        "image_shape": [None, tuple],
    }

    def __init__(
        self,
        estimator,
        *,
        surrogate=None,
        features="grid",
        grid_size=8,
        segmentation=None,
        random_state=None,
        batch_size=64,
        n_augment=0,
        image_shape=None,
    ):
        self.estimator = estimator
        self.surrogate = surrogate
        self.features = features
        self.grid_size = grid_size
        self.segmentation = segmentation
        self.random_state = random_state
        self.batch_size = batch_size
        self.n_augment = n_augment
        self.image_shape = image_shape

    # -- hooks --------------------------------------------------------------

    def _make_surrogate(self):
        """A new, unfitted surrogate model."""
        if self.surrogate is None:
            return DecisionTreeClassifier(random_state=self.random_state)
        return clone(self.surrogate)

    def _make_features(self):
        if self.features == "grid":
            return GridFeatures(self.grid_size, image_shape=self.image_shape)
        if self.features == "superpixels":
            return SuperpixelFeatures(
                self.segmentation,
                n_segments=self.grid_size**2,
                image_shape=self.image_shape,
            )
        return clone(self.features)

    # -- fitting ------------------------------------------------------------

    def fit(self, X, y=None, **fit_params):
        """Fit the black box (unless frozen), then the surrogate to its answers.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Training images.
        y : array-like of shape (n,) or None, default=None
            Labels to fit a clone of ``estimator``; not needed for a
            :class:`~sklearn.frozen.FrozenEstimator`. The surrogate never
            sees them: it learns the black box's predictions.
        **fit_params
            Passed to the black box's ``fit``.

        Returns
        -------
        self : object
            The fitted surrogate.
        """
        check_model(self.estimator, require_methods=False)
        self._validate_params()
        images, layout = validate_images(
            self, X, reset=True, image_shape=self.image_shape
        )
        X = layout.restore(images)
        self.estimator_ = fit_model(
            self.estimator, X, y, owner=type(self).__name__, **fit_params
        )
        self.input_ndim_ = layout.ndim
        black_box = self._black_box_predict(X)
        classes = getattr(self.estimator_, "classes_", None)
        if classes is None or not np.isin(black_box, classes).all():
            classes = np.unique(black_box)
        self.classes_ = np.asarray(classes)

        self.features_ = self._make_features().fit(X)
        Z = self.features_.transform(X)
        if np.ndim(Z) != 2 or len(Z) != len(X):
            raise ValueError(
                "features must give a table of shape (n_images, n_features); "
                f"{type(self.features_).__name__} gave shape {np.shape(Z)}."
            )
        Z_fit, y_fit = Z, black_box
        if self.n_augment:
            # More questions to the black box (as TREPAN does): shifted, noisy
            # copies of the training images, labelled by the black box.
            extra = _shifted_copies(
                images, self.n_augment, check_random_state(self.random_state)
            )
            X_extra = layout.restore(extra)
            Z_fit = np.vstack([Z, self.features_.transform(X_extra)])
            y_fit = np.concatenate([black_box, self._black_box_predict(X_extra)])
        self.surrogate_ = self._make_surrogate().fit(Z_fit, y_fit)
        self.fidelity_ = float(accuracy_score(black_box, self.surrogate_.predict(Z)))
        self.reference_image_ = images.mean(axis=0, dtype=np.float64)
        return self

    # -- prediction ---------------------------------------------------------

    def _black_box_predict(self, X):
        """The black box's labels of ``X`` (caller's layout), in batches."""
        out = [
            np.asarray(self.estimator_.predict(X[i : i + self.batch_size]))
            for i in range(0, len(X), self.batch_size)
        ]
        return np.concatenate(out)

    def _validated(self, X):
        check_is_fitted(self)
        images, layout = validate_images(
            self, X, reset=False, image_shape=self.image_shape
        )
        return layout.restore(images)

    def transform_features(self, X):
        """The interpretable features of images (the surrogate's input).

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the size seen in ``fit``.

        Returns
        -------
        features : ndarray of shape (n, n_features)
        """
        X = self._validated(X)
        return self.features_.transform(X)

    def predict(self, X):
        """The surrogate's class of each image.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the size seen in ``fit``.

        Returns
        -------
        labels : ndarray of shape (n,)
        """
        features = self.transform_features(X)
        return self.surrogate_.predict(features)

    @available_if(_surrogate_has("predict_proba"))
    def predict_proba(self, X):
        """The surrogate's class probabilities, columns ordered as ``classes_``.

        Classes the black box never predicted on the training images get
        probability 0.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the size seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n, n_classes)
        """
        features = self.transform_features(X)
        proba = self.surrogate_.predict_proba(features)
        columns = [
            int(np.flatnonzero(self.classes_ == label)[0])
            for label in self.surrogate_.classes_
        ]
        out = np.zeros((len(proba), len(self.classes_)), dtype=np.float64)
        out[:, columns] = proba
        return out

    def score(self, X, y=None, sample_weight=None):
        """Fidelity on new images: how often the surrogate agrees with the black box.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the size seen in ``fit``.
        y : None
            Ignored: the reference is the black box, not the true labels.
        sample_weight : array-like of shape (n,) or None, default=None
            Weights of the images.

        Returns
        -------
        fidelity : float
            The fraction of images on which both predict the same class.
        """
        X = self._validated(X)
        black_box = self._black_box_predict(X)
        predicted = self.surrogate_.predict(self.features_.transform(X))
        return float(accuracy_score(black_box, predicted, sample_weight=sample_weight))

    # -- reading the surrogate ----------------------------------------------

    def _feature_masks(self):
        """Boolean ``(H, W)`` mask of the pixels behind each feature."""
        features = self.features_
        height, width, channels = self.image_shape_
        n_features = len(self._pixel_weights())  # raises for untied features
        region_map = getattr(features, "region_map_", None)
        if region_map is not None:
            return [region_map == k for k in range(n_features)]
        pixels = np.arange(height * width).reshape(height, width)
        per_pixel = 1 if n_features == height * width else channels
        return [pixels == k // per_pixel for k in range(n_features)]

    def _pixel_weights(self):
        """Per feature, the weight it puts on each pixel it covers."""
        height, width, channels = self.image_shape_
        region_map = getattr(self.features_, "region_map_", None)
        if region_map is not None:
            return 1.0 / np.bincount(region_map.ravel())
        n_features = self.surrogate_.n_features_in_
        if n_features == height * width:
            return np.ones(n_features)
        if n_features == height * width * channels:
            return np.ones(n_features)
        raise TypeError(
            "importance_image needs features tied to image regions: 'grid', "
            "'superpixels', a transformer with a region_map_ (H, W) attribute, or "
            f"one feature per pixel ({height * width} or "
            f"{height * width * channels}); got {type(self.features_).__name__} "
            f"with {n_features} features."
        )

    def _to_image(self, values):
        """Per-feature values ``(..., n_features)`` spread on pixels ``(..., H, W)``.

        Each pixel gets its feature's value divided by the feature's pixel
        count, so a region sums to its feature's value.
        """
        height, width, channels = self.image_shape_
        weights = self._pixel_weights()
        values = np.asarray(values, dtype=np.float64) * weights
        region_map = getattr(self.features_, "region_map_", None)
        if region_map is not None:
            return values[..., region_map]
        if values.shape[-1] == height * width:
            return values.reshape(*values.shape[:-1], height, width)
        values = values.reshape(*values.shape[:-1], height, width, channels)
        return values.sum(axis=-1)

    def importance_image(self):
        """The surrogate's importances or coefficients drawn on the image grid.

        Each pixel gets the value of its feature divided by the feature's
        pixel count, so summing the image over a region gives that region's
        value, and the whole image sums to the values' total. For a linear
        surrogate on mean-intensity features this is exactly the weight of
        each pixel in the decision function.

        Returns
        -------
        image : ndarray of shape (H, W) or (n_rows, H, W)
            From ``feature_importances_`` (trees, forests): ``(H, W)``. From
            ``coef_`` (linear models): one map per row of ``coef_``, i.e.
            per class, or a single row for two classes.

        Raises
        ------
        AttributeError
            When the surrogate has neither ``feature_importances_`` nor
            ``coef_``.
        TypeError
            When the features cannot be placed on the image.
        """
        check_is_fitted(self)
        values = getattr(self.surrogate_, "feature_importances_", None)
        if values is None:
            values = getattr(self.surrogate_, "coef_", None)
            if values is None:
                raise AttributeError(
                    "importance_image needs a surrogate with feature_importances_ "
                    "(trees, forests) or coef_ (linear models); "
                    f"{type(self.surrogate_).__name__} has neither."
                )
            values = np.atleast_2d(values)
        return self._to_image(values)

    def _feature_names(self):
        try:
            return [str(n) for n in self.features_.get_feature_names_out()]
        except (AttributeError, TypeError, ValueError):
            return [f"x{k}" for k in range(self.surrogate_.n_features_in_)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
