"""The pixels a fitted selector keeps, as a coloured mask over an image."""

from __future__ import annotations

from numbers import Real
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils.validation import check_is_fitted

from ._base import check_alpha, check_ax, check_image

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from sklearn.feature_selection import SelectorMixin


def _check_color(color):
    """An RGB triple of uint8 from ``(r, g, b)`` in [0, 255] or a colour name."""
    if isinstance(color, str):
        import matplotlib.colors as mcolors

        try:
            rgb = mcolors.to_rgb(color)
        except ValueError:
            raise ValueError(
                "color must be (r, g, b) with values in [0, 255] or a matplotlib "
                f"colour name; got {color!r}."
            ) from None
        return np.rint(np.asarray(rgb) * 255.0).astype(np.uint8)
    values = tuple(color) if isinstance(color, list | tuple | np.ndarray) else ()
    if len(values) != 3 or not all(
        isinstance(v, Real) and not isinstance(v, bool) and 0 <= v <= 255
        for v in values
    ):
        raise ValueError(
            "color must be (r, g, b) with values in [0, 255] or a matplotlib "
            f"colour name; got {color!r}."
        )
    return np.rint(np.asarray(values, dtype=np.float64)).astype(np.uint8)


def _support_mask(selector, height, width):
    """The kept pixels ``(H, W)`` of a fitted selector on flattened images."""
    support = np.asarray(selector.get_support(), dtype=bool).ravel()
    n_pixels = height * width
    if support.size == n_pixels:
        return support.reshape(height, width)
    if support.size % n_pixels == 0:  # channel values of each pixel, C order
        return support.reshape(height, width, -1).any(axis=-1)
    raise ValueError(
        f"The selector's support has {support.size} features, which do not tile "
        f"the {height}x{width} image (expected a multiple of {n_pixels})."
    )


class SelectionDisplay:
    """The pixels kept by a feature selector, as a coloured mask on an image.

    Kept pixels are blended with ``color`` (opacity ``alpha``); the others
    show the image as it is. Create it with :meth:`from_estimator`; the
    constructor only stores the data.

    Parameters
    ----------
    image : array-like of shape (H, W) or (H, W, C)
        The background image, gray or RGB.
    mask : array-like of shape (H, W), bool
        The kept pixels.
    color : tuple of 3 int or str, default=(255, 0, 0)
        The mask's colour: RGB values in [0, 255] or a matplotlib colour name.
    alpha : float, default=0.5
        The mask's opacity, in [0, 1].

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure holding the plot.
    ax_ : matplotlib Axes
        The Axes with the image.

    See Also
    --------
    sklearn_xai.feature_selection.SelectFromAttributions : The selector.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.attribution import OcclusionExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.feature_selection import SelectFromAttributions
    >>> from sklearn_xai.visualization import SelectionDisplay
    >>> X, y = load_digit_images(return_X_y=True)
    >>> X, y = X[:200].reshape(200, -1), y[:200]
    >>> clf = LogisticRegression(max_iter=300).fit(X, y)
    >>> occlusion = OcclusionExplainer(FrozenEstimator(clf), window=2, stride=2,
    ...                                image_shape=(8, 8))
    >>> selector = SelectFromAttributions(occlusion, max_features=10).fit(X, y)
    >>> display = SelectionDisplay.from_estimator(selector, X[0])
    >>> int(display.mask.sum())
    10
    """

    def __init__(
        self,
        image: ArrayLike,
        mask: ArrayLike,
        *,
        color: tuple[int, int, int] | str = (255, 0, 0),
        alpha: float = 0.5,
    ) -> None:
        self.image = image
        self.mask = mask
        self.color = color
        self.alpha = alpha

    @classmethod
    def from_estimator(
        cls,
        selector: SelectorMixin,
        image: ArrayLike,
        *,
        color: tuple[int, int, int] | str = (255, 0, 0),
        alpha: float = 0.5,
        ax: Axes | None = None,
    ) -> SelectionDisplay:
        """Draw the pixels a fitted selector keeps over an image.

        The support (``get_support()``, one entry per value of the flattened
        images, channel fastest) is reshaped to the image; a pixel is kept
        when any of its channel values is.

        Parameters
        ----------
        selector : SelectFromAttributions
            A fitted selector on flattened images: a
            :class:`~sklearn_xai.feature_selection.SelectFromAttributions`,
            or any scikit-learn selector (e.g.
            :class:`~sklearn.feature_selection.SelectKBest`) fitted on
            flattened images of the size of ``image``.
        image : array-like of shape (H, W), (H, W, C) or (H * W * C,)
            The background image; flattened images need a selector with an
            ``image_shape_``.
        color : tuple of 3 int or str, default=(255, 0, 0)
            The mask's colour: RGB values in [0, 255] or a matplotlib colour
            name.
        alpha : float, default=0.5
            The mask's opacity, in [0, 1].
        ax : matplotlib Axes or None, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : SelectionDisplay
        """
        check_is_fitted(selector)
        if not hasattr(selector, "get_support"):
            raise TypeError(
                "selector must be a fitted feature selector with get_support; got "
                f"{type(selector).__name__}."
            )
        array = np.asarray(image)
        shape = getattr(selector, "image_shape_", None)
        if array.ndim == 1:
            if shape is None or array.size != int(np.prod(shape)):
                raise ValueError(
                    "A flattened image needs a selector with image_shape_ of as "
                    f"many values; got {array.size} values and image_shape_="
                    f"{shape}."
                )
            array = array.reshape(shape)
        if array.ndim not in (2, 3):
            raise ValueError(
                "image must be one image of shape (H, W), (H, W, C) or flattened; "
                f"got an array of shape {array.shape}."
            )
        if shape is not None and array.shape[:2] != tuple(shape[:2]):
            raise ValueError(
                f"image must have the selector's image size {shape[0]}x{shape[1]}; "
                f"got an array of shape {array.shape}."
            )
        mask = _support_mask(selector, *array.shape[:2])
        display = cls(array, mask, color=color, alpha=alpha)
        return display.plot(ax=ax)

    def _overlay(self):
        """The image with the mask blended in, ``(H, W, 3)`` uint8."""
        import cv2

        rgb = check_image(self.image)
        mask = np.asarray(self.mask)
        if mask.shape != rgb.shape[:2]:
            raise ValueError(
                f"mask must have the image's size {rgb.shape[:2]}; got an array of "
                f"shape {mask.shape}."
            )
        if mask.dtype != bool:
            if not np.isin(mask, (0, 1)).all():
                raise ValueError("mask must be boolean (or 0/1); got other values.")
            mask = mask.astype(bool)
        alpha = check_alpha(self.alpha)
        solid = np.empty_like(rgb)
        solid[...] = _check_color(self.color)
        blended = cv2.addWeighted(rgb, 1.0 - alpha, solid, alpha, 0.0)
        return np.where(mask[..., np.newaxis], blended, rgb), mask

    def plot(self, ax: Axes | None = None) -> SelectionDisplay:
        """Draw the image with the kept pixels coloured.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        self : SelectionDisplay
            With ``figure_`` and ``ax_`` set.
        """
        overlay, mask = self._overlay()
        figure, ax = check_ax(ax)
        ax.imshow(overlay, interpolation="nearest")
        ax.set_title(f"{int(mask.sum())} of {mask.size} pixels kept")
        ax.set_axis_off()
        self.figure_, self.ax_ = figure, ax
        return self
