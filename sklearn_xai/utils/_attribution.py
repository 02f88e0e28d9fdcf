"""Array helpers shared by the explainers: channel reduction and resizing."""

from __future__ import annotations

import numpy as np

#: The channel reductions every explainer offers, by name.
CHANNEL_REDUCTIONS = ("sum", "abs_sum", "l2", "max_abs")


def reduce_channels(attributions, method, *, axis=1):
    """Reduce per-channel attributions to one value per pixel.

    Parameters
    ----------
    attributions : ndarray
        Attributions with a channel axis, e.g. ``(n, C, H, W)``.
    method : {"sum", "abs_sum", "l2", "max_abs"}
        ``"sum"`` keeps signs and Integrated Gradients' completeness;
        ``"abs_sum"`` sums magnitudes; ``"l2"`` is the Euclidean norm over
        channels; ``"max_abs"`` the largest magnitude (Simonyan et al.'s
        saliency map).
    axis : int, default=1
        The channel axis.

    Returns
    -------
    reduced : ndarray of float32
        ``attributions`` without the channel axis.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.utils._attribution import reduce_channels
    >>> a = np.array([[[[1.0]], [[-3.0]]]])  # (1, 2, 1, 1)
    >>> [float(reduce_channels(a, m)[0, 0, 0]) for m in
    ...  ("sum", "abs_sum", "l2", "max_abs")]
    [-2.0, 4.0, 3.16..., 3.0]
    """
    a = np.asarray(attributions, dtype=np.float64)
    if method == "sum":
        out = a.sum(axis=axis)
    elif method == "abs_sum":
        out = np.abs(a).sum(axis=axis)
    elif method == "l2":
        out = np.sqrt((a * a).sum(axis=axis))
    elif method == "max_abs":
        out = np.abs(a).max(axis=axis)
    else:
        raise ValueError(
            f"channel_reduction must be one of {list(CHANNEL_REDUCTIONS)}; "
            f"got {method!r}."
        )
    return out.astype(np.float32)


def resize_maps(maps, size):
    """Resize ``(n, h, w)`` maps to ``size = (H, W)`` with bilinear interpolation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.utils._attribution import resize_maps
    >>> resize_maps(np.ones((2, 4, 4), np.float32), (8, 6)).shape
    (2, 8, 6)
    """
    import cv2

    maps = np.asarray(maps, dtype=np.float32)
    if maps.shape[1:] == tuple(size):
        return maps
    height, width = size
    return np.stack(
        [cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR) for m in maps]
    ).reshape(len(maps), height, width)
