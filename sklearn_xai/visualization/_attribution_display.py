"""A grid of attribution overlays: images in rows, methods in columns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .._adapter import batched_predict_proba
from ._base import (
    check_alpha,
    check_fig,
    check_fitted_explainers,
    check_image,
    check_map,
    explainer_images,
    resize_map,
)
from ._overlay import _check_cmap, _check_sign, overlay_attribution

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..base import BaseExplainer


def _stack_methods(attributions, images):
    """``(names, (n_methods, n, H', W'))`` from an array or a dict of arrays.

    Maps of a dict that differ in size are resized to the images' size, so
    that methods of different resolutions (Grad-CAM, saliency) fit in one
    array.
    """
    if isinstance(attributions, dict):
        if not attributions:
            raise ValueError(
                "attributions is an empty dict; give at least one method's "
                "attributions."
            )
        names = [str(k) for k in attributions]
        maps = [
            check_map(v, name=f"attributions[{k!r}]", ndim=3)
            for k, v in attributions.items()
        ]
    else:
        names = ["attribution"]
        maps = [check_map(attributions, name="attributions", ndim=3)]
    if len({m.shape for m in maps}) > 1:
        size = images.shape[1:3]
        maps = [np.stack([resize_map(a, size) for a in m]) for m in maps]
    return names, np.stack(maps)


class AttributionDisplay:
    """Attribution overlays of several images by several methods, in a grid.

    Row ``i`` shows image ``i`` (titled with its predicted label and that
    label's probability, when known) followed by one overlay per method
    (:func:`overlay_attribution`). Create it with :meth:`from_explainer` or
    :meth:`from_attributions`; the constructor only stores the data.

    Parameters
    ----------
    images : array-like of shape (n, H, W) or (n, H, W, C)
        The images, gray or RGB; uint8 or floats (see
        :func:`overlay_attribution`).
    attributions : array-like of shape (n_methods, n, H', W')
        The attributions of every method for every image, at the images'
        resolution or any other.
    method_names : list of str of length n_methods
        Column titles.
    labels : array-like of shape (n,) or None, default=None
        The predicted class of each image.
    probabilities : array-like of shape (n,) or None, default=None
        The probability of that class.

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure holding the grid.
    axes_ : ndarray of matplotlib Axes of shape (n, 1 + n_methods)
        Rows are images; column 0 the image itself, then one per method.

    See Also
    --------
    overlay_attribution : The overlay drawn in every cell.
    FaithfulnessCurveDisplay : How faithful each method is.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.attribution import OcclusionExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.visualization import AttributionDisplay
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=300).fit(X[:200].reshape(200, -1), y[:200])
    >>> occlusion = OcclusionExplainer(FrozenEstimator(clf), window=2, stride=1,
    ...                                image_shape=(8, 8))
    >>> occlusion = occlusion.fit(X[:200].reshape(200, -1))
    >>> display = AttributionDisplay.from_explainer(
    ...     {"occlusion": occlusion}, X[:2].reshape(2, -1))
    >>> display.axes_.shape
    (2, 2)
    >>> display.method_names
    ['occlusion']
    """

    def __init__(
        self,
        images: ArrayLike,
        attributions: ArrayLike,
        *,
        method_names: list[str],
        labels: ArrayLike | None = None,
        probabilities: ArrayLike | None = None,
    ) -> None:
        self.images = images
        self.attributions = attributions
        self.method_names = method_names
        self.labels = labels
        self.probabilities = probabilities

    @classmethod
    def from_explainer(
        cls,
        explainer: BaseExplainer | dict[str, BaseExplainer],
        X: ArrayLike,
        *,
        target: ArrayLike | None = None,
        sign: str = "positive",
        cmap: str = "jet",
        alpha: float = 0.5,
        fig: Figure | None = None,
    ) -> AttributionDisplay:
        """Explain images with one or several fitted explainers and plot them.

        The label and probability shown above each image are the predicted
        class and its probability by the first explainer's model
        (``explainer.estimator_.predict_proba`` and ``classes_``), whatever
        ``target`` is explained.

        Parameters
        ----------
        explainer : BaseExplainer or dict of str to BaseExplainer
            A fitted explainer (its column is titled with its class name
            without ``Explainer``), or several by column title.
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            The images, in the layout the explainers were fitted on.
        target : array-like of shape (n,), label or None, default=None
            The class to explain per image (or for all); None explains the
            predicted class.
        sign : {"positive", "negative", "absolute", "all"}, \
                default="positive"
            Which attributions to show.
        cmap : str, default="jet"
            The colormap of the overlays (see :func:`overlay_attribution`).
        alpha : float, default=0.5
            The overlays' opacity where the attribution is largest.
        fig : matplotlib Figure or None, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : AttributionDisplay
        """
        explainers = check_fitted_explainers(explainer)
        first = next(iter(explainers.values()))
        images = explainer_images(first, X)
        attributions = np.stack(
            [
                np.asarray(e.explain(X, target=target), dtype=np.float32)
                for e in explainers.values()
            ]
        )
        proba = batched_predict_proba(
            first.estimator_,
            images,
            layout_ndim=first.input_ndim_,
            batch_size=getattr(first, "batch_size", 64),
        )
        best = np.argmax(proba, axis=1)
        display = cls(
            images if images.shape[-1] != 1 else images[..., 0],
            attributions,
            method_names=list(explainers),
            labels=np.asarray(first.classes_)[best],
            probabilities=proba[np.arange(len(images)), best],
        )
        return display.plot(sign=sign, cmap=cmap, alpha=alpha, fig=fig)

    @classmethod
    def from_attributions(
        cls,
        images: ArrayLike,
        attributions: ArrayLike | dict[str, ArrayLike],
        *,
        labels: ArrayLike | None = None,
        probabilities: ArrayLike | None = None,
        sign: str = "positive",
        cmap: str = "jet",
        alpha: float = 0.5,
        fig: Figure | None = None,
    ) -> AttributionDisplay:
        """Plot attributions computed beforehand.

        Parameters
        ----------
        images : array-like of shape (n, H, W) or (n, H, W, C)
            The images.
        attributions : array-like of shape (n, H', W') or dict of str to such
            One method's attributions (its column is titled
            ``"attribution"``), or several by column title; maps of different
            sizes are resized to the images'.
        labels : array-like of shape (n,) or None, default=None
            The predicted class of each image.
        probabilities : array-like of shape (n,) or None, default=None
            The probability of that class.
        sign : {"positive", "negative", "absolute", "all"}, \
                default="positive"
            Which attributions to show.
        cmap : str, default="jet"
            The colormap of the overlays.
        alpha : float, default=0.5
            The overlays' opacity where the attribution is largest.
        fig : matplotlib Figure or None, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : AttributionDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from sklearn_xai.visualization import AttributionDisplay
        >>> images = np.random.default_rng(0).random((3, 16, 16))
        >>> maps = {"a": np.ones((3, 16, 16)), "b": np.ones((3, 4, 4))}
        >>> display = AttributionDisplay.from_attributions(
        ...     images, maps, labels=["cat", "dog", "cat"],
        ...     probabilities=[0.9, 0.8, 0.6])
        >>> display.axes_.shape, display.attributions.shape
        ((3, 3), (2, 3, 16, 16))
        """
        images = np.asarray(images)
        if images.ndim not in (3, 4):
            raise ValueError(
                "images must be a batch of shape (n, H, W) or (n, H, W, C); got "
                f"an array of shape {images.shape}."
            )
        names, stacked = _stack_methods(attributions, images)
        display = cls(
            images,
            stacked,
            method_names=names,
            labels=labels,
            probabilities=probabilities,
        )
        return display.plot(sign=sign, cmap=cmap, alpha=alpha, fig=fig)

    def _validated(self):
        images = np.asarray(self.images)
        if images.ndim not in (3, 4):
            raise ValueError(
                "images must be a batch of shape (n, H, W) or (n, H, W, C); got "
                f"an array of shape {images.shape}."
            )
        n = len(images)
        attributions = check_map(self.attributions, name="attributions", ndim=4)
        names = [str(name) for name in self.method_names]
        if attributions.shape[:2] != (len(names), n):
            raise ValueError(
                "attributions must have shape (n_methods, n, H', W') = "
                f"({len(names)}, {n}, H', W') for {len(names)} method_names and "
                f"{n} images; got {attributions.shape}."
            )
        labels, proba = self.labels, self.probabilities
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != (n,):
                raise ValueError(
                    f"labels must have one entry per image ({n}); got an array of "
                    f"shape {labels.shape}."
                )
        if proba is not None:
            proba = np.asarray(proba, dtype=np.float64)
            if proba.shape != (n,):
                raise ValueError(
                    f"probabilities must have one entry per image ({n}); got an "
                    f"array of shape {proba.shape}."
                )
        return images, attributions, names, labels, proba

    def plot(
        self,
        *,
        sign: str = "positive",
        cmap: str = "jet",
        alpha: float = 0.5,
        fig: Figure | None = None,
    ) -> AttributionDisplay:
        """Draw the grid.

        Parameters
        ----------
        sign : {"positive", "negative", "absolute", "all"}, \
                default="positive"
            Which attributions to show (see :func:`overlay_attribution`).
        cmap : str, default="jet"
            The colormap of the overlays.
        alpha : float, default=0.5
            The overlays' opacity where the attribution is largest.
        fig : matplotlib Figure or None, default=None
            Where to draw (a grid of Axes is added to it); None makes a new
            figure sized to the grid.

        Returns
        -------
        self : AttributionDisplay
            With ``figure_`` and ``axes_`` set.
        """
        images, attributions, names, labels, proba = self._validated()
        _check_sign(sign)
        _check_cmap(cmap)
        check_alpha(alpha)
        n, n_methods = len(images), len(names)
        figure = check_fig(fig, figsize=(2.2 * (1 + n_methods), 2.2 * n))
        axes = figure.subplots(n, 1 + n_methods, squeeze=False)
        for i in range(n):
            image = check_image(images[i], name=f"images[{i}]")
            axes[i, 0].imshow(image, interpolation="nearest")
            title = "image" if i == 0 else ""
            if labels is not None:
                title = f"pred {labels[i]}"
                if proba is not None:
                    title += f" ({proba[i]:.2f})"
            elif proba is not None:
                title = f"p = {proba[i]:.2f}"
            axes[i, 0].set_title(title, fontsize=9)
            for j in range(n_methods):
                overlay = overlay_attribution(
                    image, attributions[j, i], cmap=cmap, alpha=alpha, sign=sign
                )
                axes[i, 1 + j].imshow(overlay, interpolation="nearest")
                if i == 0:
                    axes[i, 1 + j].set_title(names[j], fontsize=9)
        for ax in axes.ravel():
            ax.set_axis_off()
        self.figure_, self.axes_ = figure, axes
        return self
