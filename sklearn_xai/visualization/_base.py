"""Input checks and matplotlib plumbing shared by the overlays and Displays.

Nothing here imports matplotlib or OpenCV at module level: both are imported
inside the functions that draw, so ``import sklearn_xai.visualization`` stays
light.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._validation import validate_images


def _shape(array):
    return "(" + ", ".join(str(s) for s in np.shape(array)) + ")"


def check_image(image, *, name="image"):
    """One image as a new ``(H, W, 3)`` uint8 RGB array.

    Accepted: ``(H, W)``, ``(H, W, 1)`` (gray, repeated over three channels)
    or ``(H, W, 3)`` (RGB); uint8 as is; booleans and floats in [0, 1] scaled
    by 255; integers in [0, 255] as they are; any other range min-max scaled
    to [0, 255].

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.visualization._base import check_image
    >>> check_image(np.array([[0.0, 1.0]])).tolist()
    [[[0, 0, 0], [255, 255, 255]]]
    """
    array = np.asarray(image)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise TypeError(
            f"{name} must be a numeric array; got an array of dtype {array.dtype}."
        )
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)):
        raise ValueError(
            f"{name} must be one image of shape (H, W), (H, W, 1) or (H, W, 3); "
            f"got an array of shape {_shape(image)}."
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty; got an array of shape {_shape(image)}.")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real; got an array of dtype {array.dtype}.")
    if array.dtype != np.uint8:
        values = array.astype(np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"{name} contains NaN or infinity.")
        low, high = values.min(), values.max()
        if array.dtype == bool or (
            np.issubdtype(array.dtype, np.floating) and low >= 0 and high <= 1
        ):
            values = values * 255.0
        elif not (low >= 0 and high <= 255 and np.issubdtype(array.dtype, np.integer)):
            spread = high - low
            values = (values - low) * (255.0 / spread if spread > 0 else 0.0)
        array = np.rint(values).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[..., np.newaxis], 3, axis=-1)
    return np.array(array, dtype=np.uint8, copy=True)


def check_map(values, *, name="attribution", ndim=2):
    """A finite float32 array of ``ndim`` dimensions (a new array)."""
    array = np.asarray(values)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise TypeError(
            f"{name} must be a numeric array; got an array of dtype {array.dtype}."
        )
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real; got an array of dtype {array.dtype}.")
    if array.ndim != ndim:
        expected = {2: "(H, W)", 3: "(n, H, W)", 4: "(n_methods, n, H, W)"}[ndim]
        raise ValueError(
            f"{name} must be an array of shape {expected}; got an array of shape "
            f"{_shape(array)}."
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty; got an array of shape {_shape(array)}.")
    array = np.array(array, dtype=np.float32, copy=True)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return array


def check_alpha(alpha, *, name="alpha"):
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 <= alpha <= 1:
        raise ValueError(f"{name} must be a number in [0, 1]; got {alpha!r}.")
    return float(alpha)


def resize_map(values, size):
    """Resize a float map ``(h, w)`` to ``size = (H, W)`` bilinearly."""
    if values.shape == tuple(size):
        return values
    import cv2

    return cv2.resize(
        np.ascontiguousarray(values, dtype=np.float32),
        (int(size[1]), int(size[0])),
        interpolation=cv2.INTER_LINEAR,
    )


def check_fitted_explainers(explainer, *, name="explainer"):
    """``{name: fitted explainer}`` from one explainer or a dict of them."""
    if isinstance(explainer, dict):
        if not explainer:
            raise ValueError(f"{name} is an empty dict; give at least one explainer.")
        explainers = {str(k): v for k, v in explainer.items()}
    else:
        explainers = {method_name(explainer): explainer}
    for key, value in explainers.items():
        if not hasattr(value, "explain"):
            raise TypeError(
                f"{name} must be a fitted explainer (with an explain method) or a "
                f"dict name -> fitted explainer; got {type(value).__name__} for "
                f"{key!r}."
            )
        check_is_fitted(value)
    return explainers


def method_name(explainer):
    """``"Occlusion"`` for an ``OcclusionExplainer``."""
    name = type(explainer).__name__
    return name.removesuffix("Explainer") or name


def explainer_images(explainer, X):
    """``X`` as ``(n, H, W, C)`` images, read as the fitted explainer reads them."""
    images, _ = validate_images(
        explainer, X, reset=False, image_shape=getattr(explainer, "image_shape", None)
    )
    return images


def pyplot():
    """Import matplotlib's pyplot on first use (keeps imports light)."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise ImportError(
            "sklearn_xai.visualization needs matplotlib to draw; install it with "
            "`pip install matplotlib`."
        ) from exc
    return plt


def check_ax(ax, *, name="ax"):
    """``(figure, ax)``: a new figure with one Axes when ``ax`` is None."""
    if ax is None:
        figure, ax = pyplot().subplots()
        return figure, ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(
            f"{name} must be a matplotlib Axes or None; got {type(ax).__name__}."
        )
    return ax.figure, ax


def check_fig(fig, *, figsize, name="fig"):
    """A figure: ``fig`` itself, or a new one of ``figsize`` when None."""
    if fig is None:
        return pyplot().figure(figsize=figsize)
    from matplotlib.figure import Figure, SubFigure

    if not isinstance(fig, Figure | SubFigure):
        raise TypeError(
            f"{name} must be a matplotlib Figure or None; got {type(fig).__name__}."
        )
    return fig
