"""The decision-tree surrogate, with its rules printed and drawn on the image."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted

from ..utils._compat import Interval, StrOptions
from ._surrogate import SurrogateClassifier


class SurrogateTreeClassifier(SurrogateClassifier):
    """Mimic a black-box image classifier with a decision tree on image regions.

    The documented default case of :class:`SurrogateClassifier`: the
    surrogate is a :class:`~sklearn.tree.DecisionTreeClassifier` built from
    this estimator's own parameters, so ``max_depth`` and friends are
    first-class parameters for :class:`~sklearn.model_selection.GridSearchCV`
    (whose default scoring, :meth:`score`, is the fidelity to the black box).
    :meth:`export_text` prints the rules with feature names that say where in
    the image each feature lives, and :meth:`plot_tree` draws the tree next to
    the image with the regions of its splits outlined.

    Parameters
    ----------
    estimator : classifier
        The black box: any classifier with ``fit`` and ``predict``; wrap a
        trained model in :class:`~sklearn.frozen.FrozenEstimator` to use it
        without refitting.
    features : {"grid", "superpixels"} or transformer, default="grid"
        The interpretable features, as in :class:`SurrogateClassifier`: mean
        intensity (over channels) per grid cell, per superpixel of one
        segmentation of the mean training image, or a transformer's output.
    grid_size : int, default=8
        Cells per side of the grid; for ``"superpixels"`` the default
        segmentation asks for about ``grid_size ** 2`` segments.
    segmentation : transformer or None, default=None
        The segmenter of ``features="superpixels"``.
    max_depth : int or None, default=None
        The tree's maximum depth; None grows it until its leaves are pure.
    max_leaf_nodes : int or None, default=None
        The tree's maximum number of leaves.
    min_samples_leaf : int or float, default=1
        Minimum number (or fraction) of training images per leaf.
    criterion : {"gini", "entropy", "log_loss"}, default="gini"
        The split criterion.
    ccp_alpha : float, default=0.0
        Cost-complexity pruning strength.
    random_state : int, RandomState instance or None, default=None
        Seed of the tree (ties between equally good splits).
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
    surrogate_ : DecisionTreeClassifier
        The tree, fitted to the black box's predictions.
    fidelity_ : float
        Accuracy of the tree against the black box on the training images.
    classes_ : ndarray of shape (n_classes,)
        The black box's classes.
    reference_image_ : ndarray of shape (H, W, C)
        The mean training image.
    image_shape_ : tuple of (int, int, int)
        ``(H, W, C)`` of the training images.
    n_features_in_ : int
        ``H * W * C``.

    See Also
    --------
    SurrogateClassifier : Any interpretable model as the surrogate.

    References
    ----------
    .. [1] M. W. Craven and J. W. Shavlik, "Extracting tree-structured
       representations of trained networks", NIPS 1995.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.surrogate import SurrogateTreeClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> X = X.reshape(len(X), -1)  # flattened 8x8 images
    >>> tree = SurrogateTreeClassifier(
    ...     LogisticRegression(max_iter=1000), grid_size=4, max_depth=3,
    ...     image_shape=(8, 8), random_state=0).fit(X, y)
    >>> tree.surrogate_.get_depth()
    3
    >>> print(tree.export_text())  # doctest: +ELLIPSIS
    |--- cell r... (rows ..., cols ...) mean <= ...
    ...
    """

    _parameter_constraints: dict = {
        **{
            k: v
            for k, v in SurrogateClassifier._parameter_constraints.items()
            if k != "surrogate"
        },
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "max_leaf_nodes": [Interval(Integral, 2, None, closed="left"), None],
        "min_samples_leaf": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0.0, 1.0, closed="neither"),
        ],
        "criterion": [StrOptions({"gini", "entropy", "log_loss"})],
        "ccp_alpha": [Interval(Real, 0.0, None, closed="left")],
    }

    def __init__(
        self,
        estimator,
        *,
        features="grid",
        grid_size=8,
        segmentation=None,
        max_depth=None,
        max_leaf_nodes=None,
        min_samples_leaf=1,
        criterion="gini",
        ccp_alpha=0.0,
        random_state=None,
        batch_size=64,
        n_augment=0,
        image_shape=None,
    ):
        self.estimator = estimator
        self.features = features
        self.grid_size = grid_size
        self.segmentation = segmentation
        self.max_depth = max_depth
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.criterion = criterion
        self.ccp_alpha = ccp_alpha
        self.random_state = random_state
        self.batch_size = batch_size
        self.n_augment = n_augment
        self.image_shape = image_shape

    def _make_surrogate(self):
        return DecisionTreeClassifier(
            criterion=self.criterion,
            max_depth=self.max_depth,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            ccp_alpha=self.ccp_alpha,
            random_state=self.random_state,
        )

    # -- reading the tree ---------------------------------------------------

    def export_text(self, **kwargs):
        """The tree's rules as text, with readable feature and class names.

        Parameters
        ----------
        **kwargs
            Passed to :func:`sklearn.tree.export_text` (e.g. ``max_depth``,
            ``decimals``, ``show_weights``).

        Returns
        -------
        text : str
        """
        from sklearn.tree import export_text

        check_is_fitted(self)
        return export_text(
            self.surrogate_,
            feature_names=self._feature_names(),
            class_names=[str(c) for c in self.surrogate_.classes_],
            **kwargs,
        )

    def _short_feature_names(self):
        short = getattr(self.features_, "_short_names", None)
        if short is not None:
            return short()
        return self._feature_names()

    def _node_depths(self):
        tree = self.surrogate_.tree_
        depths = np.zeros(tree.node_count, dtype=int)
        for node in range(tree.node_count):  # children come after parents
            for child in (tree.children_left[node], tree.children_right[node]):
                if child >= 0:
                    depths[child] = depths[node] + 1
        return depths

    def _reference(self, reference_image):
        height, width, channels = self.image_shape_
        if reference_image is None:
            image = self.reference_image_
        else:
            image = np.asarray(reference_image)
            if image.dtype.kind not in "biuf":
                raise ValueError(
                    "reference_image must be a numeric image; got an array of "
                    f"dtype {image.dtype}."
                )
            image = image.astype(np.float64)
            if not np.isfinite(image).all():
                raise ValueError("reference_image contains NaN or infinity.")
            if image.ndim == 1 and image.size == height * width * channels:
                image = image.reshape(height, width, channels)
            if image.ndim == 2:
                image = image[..., np.newaxis]
            if image.ndim != 3 or image.shape[:2] != (height, width):
                raise ValueError(
                    "reference_image must be one image of the fitted size "
                    f"({height}x{width}), shaped (H, W), (H, W, C) or flattened; "
                    f"got an array of shape {np.shape(reference_image)}."
                )
        if image.shape[-1] == 3:
            scale = 255.0 if image.max() > 1.0 else 1.0
            return np.clip(image / scale, 0.0, 1.0), None
        return image.mean(axis=-1), "gray"

    def plot_tree(
        self, reference_image=None, *, max_depth=None, ax=None, fontsize=None
    ):
        """Draw the tree next to the image with its split regions outlined.

        A shortcut for
        :meth:`SurrogateTreeDisplay.from_estimator
        <sklearn_xai.visualization.SurrogateTreeDisplay.from_estimator>` on the
        mean training image. Left: :func:`sklearn.tree.plot_tree` with short
        feature names (``r2c5`` = grid cell row 2, column 5; ``sp7`` =
        superpixel 7). Right: ``reference_image`` with the region of every
        split feature filled, outlined and labelled with the numbers of the
        nodes that split on it; the root split's region is drawn thickest, in
        red.

        Parameters
        ----------
        reference_image : array-like of shape (H, W) or (H, W, C) or None, \
                default=None
            The background image; None uses the mean training image.
        max_depth : int or None, default=None
            Draw (and outline the regions of) the splits down to this depth.
        ax : sequence of two matplotlib Axes or None, default=None
            Where to draw the tree and the image; None makes a new figure.
        fontsize : int or None, default=None
            Font size of the tree's boxes; None lets matplotlib fit them.

        Returns
        -------
        figure : matplotlib.figure.Figure
        """
        from ..visualization import SurrogateTreeDisplay

        check_is_fitted(self)
        background, _ = self._reference(reference_image)
        display = SurrogateTreeDisplay.from_estimator(
            self, image=background, max_depth=max_depth, ax=ax, fontsize=fontsize
        )
        return display.figure_
