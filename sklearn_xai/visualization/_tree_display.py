"""A surrogate decision tree drawn next to the image regions its splits test."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils.validation import check_is_fitted

from ._base import check_fig, check_image

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure
    from sklearn.tree import DecisionTreeClassifier

    from ..surrogate import SurrogateTreeClassifier


def _node_depths(tree):
    depths = np.zeros(tree.node_count, dtype=int)
    for node in range(tree.node_count):  # children come after their parent
        for child in (tree.children_left[node], tree.children_right[node]):
            if child >= 0:
                depths[child] = depths[node] + 1
    return depths


def _surrogate_image(surrogate, image):
    """``image`` of the surrogate's fitted size, as uint8 RGB (or None)."""
    if image is None:
        return None
    height, width, channels = surrogate.image_shape_
    array = np.asarray(image)
    if array.ndim == 1 and array.size == height * width * channels:
        array = array.reshape(height, width, channels)
    if array.ndim not in (2, 3) or array.shape[:2] != (height, width):
        raise ValueError(
            f"image must be one image of the surrogate's size ({height}x{width}), "
            "shaped (H, W), (H, W, C) or flattened; got an array of shape "
            f"{array.shape}."
        )
    return check_image(array)


class SurrogateTreeDisplay:
    """A surrogate tree next to the image, with the regions of its splits.

    Left: the tree (:func:`sklearn.tree.plot_tree`) with short region names
    as feature names (``r2c5`` = grid cell row 2, column 5; ``sp7`` =
    superpixel 7) and node numbers. Right: the image (or a blank canvas)
    with every region a split tests filled and outlined in one colour, and
    labelled with its name and the numbers of the nodes that split on it;
    the root's region is red and drawn thickest. Create it with
    :meth:`from_estimator`; the constructor only stores the data.

    Parameters
    ----------
    tree : DecisionTreeClassifier
        The fitted surrogate tree.
    region_masks : array-like of shape (n_features, H, W), bool
        The pixels behind each of the tree's features.
    feature_names : list of str of length n_features
        The names used in the tree and on the image.
    class_names : list of str
        The names of the tree's classes.
    image : array-like of shape (H, W) or (H, W, C) or None, default=None
        The background; None draws the regions on a white canvas.
    max_depth : int or None, default=None
        Draw the tree, and the regions of its splits, down to this depth.

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure holding the plot.
    axes_ : ndarray of two matplotlib Axes
        The tree's Axes and the image's.

    See Also
    --------
    sklearn_xai.surrogate.SurrogateTreeClassifier : The surrogate drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.surrogate import SurrogateTreeClassifier
    >>> from sklearn_xai.visualization import SurrogateTreeDisplay
    >>> X, y = load_digit_images(return_X_y=True)
    >>> X, y = X[:300].reshape(300, -1), y[:300]  # flattened 8x8 images
    >>> tree = SurrogateTreeClassifier(
    ...     LogisticRegression(max_iter=300), grid_size=4, max_depth=2,
    ...     image_shape=(8, 8), random_state=0).fit(X, y)
    >>> display = SurrogateTreeDisplay.from_estimator(tree, image=X[0])
    >>> display.axes_.shape
    (2,)
    """

    def __init__(
        self,
        tree: DecisionTreeClassifier,
        region_masks: ArrayLike,
        *,
        feature_names: list[str],
        class_names: list[str],
        image: ArrayLike | None = None,
        max_depth: int | None = None,
    ) -> None:
        self.tree = tree
        self.region_masks = region_masks
        self.feature_names = feature_names
        self.class_names = class_names
        self.image = image
        self.max_depth = max_depth

    @classmethod
    def from_estimator(
        cls,
        surrogate: SurrogateTreeClassifier,
        *,
        image: ArrayLike | None = None,
        max_depth: int | None = None,
        fig: Figure | None = None,
        ax=None,
        fontsize: float | None = None,
    ) -> SurrogateTreeDisplay:
        """Draw a fitted surrogate tree and the regions of its splits.

        Parameters
        ----------
        surrogate : SurrogateTreeClassifier
            A fitted surrogate whose ``surrogate_`` is a decision tree on
            region features (``"grid"``, ``"superpixels"``, or a transformer
            with a ``region_map_``).
        image : array-like of shape (H, W), (H, W, C) or (H * W * C,) or \
                None, default=None
            The background, of the surrogate's image size; None draws the
            regions on a white canvas.
        max_depth : int or None, default=None
            Draw the tree, and the regions of its splits, down to this depth.
        fig : matplotlib Figure or None, default=None
            Where to draw; None makes a new figure.
        ax : sequence of two matplotlib Axes or None, default=None
            Draw the tree and the image on these instead (``fig`` unused).
        fontsize : float or None, default=None
            Font size of the tree's boxes; None lets matplotlib fit them.

        Returns
        -------
        display : SurrogateTreeDisplay
        """
        check_is_fitted(surrogate)
        tree = getattr(surrogate, "surrogate_", None)
        if getattr(tree, "tree_", None) is None:
            raise TypeError(
                "surrogate must be a fitted SurrogateTreeClassifier (a surrogate_ "
                "decision tree); got "
                f"{type(surrogate).__name__} with surrogate_ "
                f"{type(tree).__name__}."
            )
        masks = np.stack(surrogate._feature_masks())
        short = getattr(surrogate, "_short_feature_names", None)
        if short is None:
            short = getattr(surrogate.features_, "_short_names", None)
        names = short() if short is not None else surrogate._feature_names()
        display = cls(
            tree,
            masks,
            feature_names=[str(n) for n in names],
            class_names=[str(c) for c in tree.classes_],
            image=_surrogate_image(surrogate, image),
            max_depth=max_depth,
        )
        return display.plot(fig=fig, ax=ax, fontsize=fontsize)

    def _split_features(self):
        """``{feature: [node ids]}`` of the drawn splits, root's feature first."""
        tree = self.tree.tree_
        split = tree.children_left >= 0
        if self.max_depth is not None:
            split &= _node_depths(tree) <= self.max_depth
        features = {}
        for node in np.flatnonzero(split):  # node ids in preorder: root first
            features.setdefault(int(tree.feature[node]), []).append(int(node))
        return features

    def plot(
        self, fig: Figure | None = None, *, ax=None, fontsize: float | None = None
    ) -> SurrogateTreeDisplay:
        """Draw the tree and the regions.

        Parameters
        ----------
        fig : matplotlib Figure or None, default=None
            Where to draw (two Axes are added to it); None makes a new figure.
        ax : sequence of two matplotlib Axes or None, default=None
            Draw the tree and the image on these instead (``fig`` unused).
        fontsize : float or None, default=None
            Font size of the tree's boxes; None lets matplotlib fit them.

        Returns
        -------
        self : SurrogateTreeDisplay
            With ``figure_`` and ``axes_`` set.
        """
        import matplotlib.colors as mcolors
        from matplotlib.patches import Rectangle
        from sklearn.tree import plot_tree

        check_is_fitted(self.tree)
        masks = np.asarray(self.region_masks, dtype=bool)
        n_features = self.tree.tree_.n_features
        if masks.ndim != 3 or len(masks) != n_features:
            raise ValueError(
                f"region_masks must have shape (n_features, H, W) with the tree's "
                f"{n_features} features; got an array of shape {masks.shape}."
            )
        if len(self.feature_names) != n_features:
            raise ValueError(
                f"feature_names must have one name per feature ({n_features}); "
                f"got {len(self.feature_names)}."
            )
        height, width = masks.shape[1:]
        if self.image is None:
            background = np.full((height, width, 3), 255, dtype=np.uint8)
        else:
            background = check_image(self.image)
            if background.shape[:2] != (height, width):
                raise ValueError(
                    f"image must have the regions' size ({height}x{width}); got "
                    f"an array of shape {np.shape(self.image)}."
                )

        if ax is None:
            figure = check_fig(fig, figsize=(12, 5))
            axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
        else:
            axes = list(ax)
            if len(axes) != 2:
                raise ValueError(
                    f"ax must be two matplotlib Axes (tree, image); got {len(axes)}."
                )
            figure = axes[0].figure
        ax_tree, ax_image = axes
        names = [str(n) for n in self.feature_names]
        plot_tree(
            self.tree,
            feature_names=names,
            class_names=[str(c) for c in self.class_names],
            filled=True,
            impurity=False,
            node_ids=True,
            max_depth=self.max_depth,
            fontsize=fontsize,
            ax=ax_tree,
        )

        ax_image.imshow(background, interpolation="nearest")
        palette = [mcolors.to_rgb(f"C{k}") for k in range(10) if k != 3]
        fill = np.zeros((height, width, 4))
        labels = []
        for i, (feature, nodes) in enumerate(self._split_features().items()):
            is_root = nodes[0] == 0
            color = mcolors.to_rgb("red") if is_root else palette[i % len(palette)]
            mask = masks[feature]
            if not mask.any():
                continue
            fill[mask] = (*color, 0.35)
            linewidth = 3.0 if is_root else 1.5
            rows, cols = np.nonzero(mask)
            r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
            if mask.sum() == (r1 - r0 + 1) * (c1 - c0 + 1):  # a rectangle
                ax_image.add_patch(
                    Rectangle(
                        (c0 - 0.5, r0 - 0.5),
                        c1 - c0 + 1,
                        r1 - r0 + 1,
                        fill=False,
                        edgecolor=color,
                        linewidth=linewidth,
                    )
                )
            else:
                ax_image.contour(
                    mask.astype(float),
                    levels=[0.5],
                    colors=[color],
                    linewidths=linewidth,
                )
            numbers = ",".join(f"#{n}" for n in nodes)
            labels.append((cols.mean(), rows.mean(), f"{names[feature]}\n{numbers}"))
        ax_image.imshow(fill, interpolation="nearest")
        for x, y, text in labels:
            ax_image.text(
                x,
                y,
                text,
                ha="center",
                va="center",
                fontsize=7,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7},
            )
        ax_image.set_title("regions of the splits (node numbers)")
        ax_image.set_axis_off()
        self.figure_, self.axes_ = figure, np.asarray(axes)
        return self
