"""Attribution heatmaps blended onto images with OpenCV."""

from __future__ import annotations

from numbers import Real

import numpy as np
from numpy.typing import ArrayLike

from ._base import check_alpha, check_image, check_map, resize_map

SIGNS = ("positive", "negative", "absolute", "all")


def _bwr_lut():
    """A diverging blue-white-red lookup table, ``(256, 1, 3)`` uint8 in BGR."""
    t = np.linspace(0.0, 1.0, 256)
    low = np.clip(2.0 * t, 0.0, 1.0)  # blue -> white on the first half
    high = np.clip(2.0 - 2.0 * t, 0.0, 1.0)  # white -> red on the second half
    red, green, blue = low, np.minimum(low, high), high
    bgr = np.stack([blue, green, red], axis=-1)
    return np.rint(255.0 * bgr).astype(np.uint8)[:, np.newaxis, :]


def colormap_names():
    """The colormap names :func:`overlay_attribution` accepts, sorted.

    OpenCV's own colormaps (``cv2.COLORMAP_*``, lower case) and ``"bwr"``.

    Examples
    --------
    >>> from sklearn_xai.visualization._overlay import colormap_names
    >>> {"bwr", "jet", "viridis"} <= set(colormap_names())
    True
    """
    import cv2

    prefix = "COLORMAP_"
    names = {n[len(prefix) :].lower() for n in dir(cv2) if n.startswith(prefix)}
    return sorted(names | {"bwr"})


def _check_cmap(cmap):
    if not isinstance(cmap, str):
        raise TypeError(
            "cmap must be the name of an OpenCV colormap (e.g. 'jet') or 'bwr'; "
            f"got {type(cmap).__name__}."
        )
    names = colormap_names()
    key = cmap.lower()
    if key not in names:
        raise ValueError(f"cmap must be one of {names} (any case); got {cmap!r}.")
    return key


def _check_sign(sign):
    if not isinstance(sign, str) or sign not in SIGNS:
        raise ValueError(f"sign must be one of {list(SIGNS)}; got {sign!r}.")
    return sign


def _check_percentile(outlier_percentile):
    if (
        isinstance(outlier_percentile, bool)
        or not isinstance(outlier_percentile, Real)
        or not 0 <= outlier_percentile < 100
    ):
        raise ValueError(
            "outlier_percentile must be a number in [0, 100); got "
            f"{outlier_percentile!r}."
        )
    return float(outlier_percentile)


def _cumulative_threshold(magnitudes, percentile):
    """The value where the sorted magnitudes' cumulative sum reaches ``percentile``%.

    As captum's ``visualize_image_attr``: the largest magnitudes holding the
    top ``100 - percentile`` percent of the total mass are treated as
    outliers and saturate the colour scale. 0 when every magnitude is 0.
    """
    ordered = np.sort(magnitudes, axis=None).astype(np.float64)
    sums = np.cumsum(ordered)
    if sums[-1] <= 0:
        return 0.0
    index = np.searchsorted(sums, sums[-1] * 0.01 * percentile, side="left")
    return float(ordered[min(index, len(ordered) - 1)])


def normalize_attribution(attribution, *, sign="positive", outlier_percentile=1.0):
    """An attribution map scaled to [-1, 1] for display.

    ``sign`` keeps the positive values, the negative ones (as magnitudes),
    the absolute values or all of them (signed); the values are divided by
    the cumulative-sum threshold of their magnitudes at ``100 -
    outlier_percentile`` percent (captum's rule) and clipped to [-1, 1].

    Parameters
    ----------
    attribution : array-like of shape (H, W)
        A finite relevance map.
    sign : {"positive", "negative", "absolute", "all"}, default="positive"
        Which values to show.
    outlier_percentile : float, default=1.0
        Percent of the total magnitude treated as outliers, in [0, 100).

    Returns
    -------
    values : ndarray of shape (H, W), float32
        In [0, 1] for every sign but ``"all"``, which gives [-1, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.visualization._overlay import normalize_attribution
    >>> normalize_attribution(np.array([[-2.0, 0.0, 1.0, 4.0]]),
    ...                       outlier_percentile=0).tolist()
    [[0.0, 0.0, 0.25, 1.0]]
    >>> normalize_attribution(np.array([[-2.0, 0.0, 1.0, 4.0]]), sign="negative",
    ...                       outlier_percentile=0).tolist()
    [[1.0, 0.0, 0.0, 0.0]]
    """
    a = check_map(attribution)
    sign = _check_sign(sign)
    percentile = 100.0 - _check_percentile(outlier_percentile)
    if sign == "positive":
        a = np.maximum(a, 0.0)
    elif sign == "negative":
        a = np.maximum(-a, 0.0)
    elif sign == "absolute":
        a = np.abs(a)
    scale = _cumulative_threshold(np.abs(a), percentile)
    if scale == 0.0:
        return np.zeros_like(a)
    return np.clip(a / np.float32(scale), -1.0, 1.0).astype(np.float32)


def overlay_attribution(
    image: ArrayLike,
    attribution: ArrayLike,
    *,
    cmap: str = "jet",
    alpha: float = 0.5,
    sign: str = "positive",
    outlier_percentile: float = 1.0,
) -> np.ndarray:
    """Blend an attribution heatmap onto an image.

    The attribution's values are selected by ``sign`` and scaled to [0, 1]
    (to [-1, 1] for ``sign="all"``), dividing by a robust maximum: the
    magnitude below which ``100 - outlier_percentile`` percent of the total
    magnitude lies, as captum's ``visualize_image_attr`` does, so a few
    extreme pixels do not wash out the rest. A map of another resolution
    than the image (e.g. a Grad-CAM map of a network's last convolutional
    layer) is then resized to the image, bilinearly with :func:`cv2.resize`.
    The scaled values are coloured with an OpenCV colormap
    (:func:`cv2.applyColorMap`) and blended (:func:`cv2.blendLinear`) with a
    weight per pixel of ``alpha`` times the scaled magnitude: a pixel with
    zero attribution keeps its original colour, a pixel at the top of the
    scale is ``alpha`` colormap and ``1 - alpha`` image.

    Parameters
    ----------
    image : array-like of shape (H, W), (H, W, 1) or (H, W, 3)
        The image, gray or RGB: uint8, or floats in [0, 1]; other ranges are
        min-max scaled. Never modified.
    attribution : array-like of shape (H', W')
        One finite relevance value per pixel, at the image's resolution or
        any other. Never modified.
    cmap : str, default="jet"
        An OpenCV colormap name, case-insensitive (``"jet"``, ``"turbo"``,
        ``"inferno"``, ``"viridis"``, ``"hot"``, ...; all ``cv2.COLORMAP_*``
        names), or ``"bwr"``, a diverging blue-white-red map. With
        ``sign="all"`` the value 0 sits at the middle of the colormap, so a
        diverging map such as ``"bwr"`` (blue = negative, red = positive)
        reads best.
    alpha : float, default=0.5
        Opacity of the heatmap where the attribution is largest, in [0, 1].
    sign : {"positive", "negative", "absolute", "all"}, default="positive"
        Which attributions to show: evidence for the class, evidence against
        it (as magnitudes), the magnitude of both, or both with their sign.
    outlier_percentile : float, default=1.0
        Percent of the total attribution magnitude, held by the largest
        values, that saturates the colour scale; in [0, 100). 0 scales by the
        maximum.

    Returns
    -------
    overlay : ndarray of shape (H, W, 3), uint8
        The blended RGB image.

    Raises
    ------
    ValueError
        For an attribution with NaN or infinity or not 2-D, an image not
        shaped ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``, an unknown
        ``cmap`` or ``sign``, or a parameter out of range.
    TypeError
        For non-numeric arrays or a ``cmap`` that is not a string.

    See Also
    --------
    AttributionDisplay : A grid of overlays for several images and methods.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.visualization import overlay_attribution
    >>> image = np.full((32, 32), 0.5)  # a gray image in [0, 1]
    >>> attribution = np.zeros((4, 4))  # a coarse map, e.g. Grad-CAM
    >>> attribution[1, 2] = 1.0
    >>> overlay = overlay_attribution(image, attribution, cmap="jet", alpha=0.6)
    >>> overlay.shape, overlay.dtype
    ((32, 32, 3), dtype('uint8'))
    >>> overlay[0, 0].tolist()  # zero attribution: the image as it was
    [128, 128, 128]
    >>> bool((overlay[12, 20] != 128).any())  # the relevant cell is coloured
    True
    """
    import cv2

    rgb = check_image(image)
    a = check_map(attribution)
    key = _check_cmap(cmap)
    alpha = check_alpha(alpha)
    values = normalize_attribution(a, sign=sign, outlier_percentile=outlier_percentile)
    values = resize_map(values, rgb.shape[:2])
    magnitude = np.clip(np.abs(values), 0.0, 1.0)
    position = (values + 1.0) / 2.0 if sign == "all" else magnitude
    index = np.rint(np.clip(position, 0.0, 1.0) * 255.0).astype(np.uint8)
    if key == "bwr":
        colored = cv2.applyColorMap(index, _bwr_lut())
    else:
        colored = cv2.applyColorMap(index, getattr(cv2, f"COLORMAP_{key.upper()}"))
    colored = cv2.cvtColor(colored, cv2.COLOR_BGR2RGB)
    weight = (alpha * magnitude).astype(np.float32)
    blended = cv2.blendLinear(rgb, colored, 1.0 - weight, weight)
    return np.asarray(blended, dtype=np.uint8)
