"""Input checks and model calls shared by the explanation-quality metrics."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
from sklearn.base import BaseEstimator

from .._adapter import batched_predict_proba
from ..utils._validation import label_indices, validate_images
from ..utils._warnings import DegenerateExplanationWarning


class _Images(BaseEstimator):
    """A stand-in estimator for validate_images (metrics keep no state)."""


def check_images(X, *, image_shape=None, name="X"):
    """Validate an image batch for a metric.

    Returns
    -------
    images : ndarray of shape (n, H, W, C)
    layout_ndim : int
        The caller's layout (2 flattened, 3 gray, 4 channels last), in which
        the model receives (perturbed) images.
    """
    images, layout = validate_images(
        _Images(), X, reset=True, image_shape=image_shape, input_name=name
    )
    return images, layout.ndim


def check_attributions(attributions, *, n_images=None, size=None, name="attributions"):
    """Validate an attribution batch: finite float64 ``(n, H, W)``.

    Parameters
    ----------
    attributions : array-like of shape (n, H, W)
    n_images : int or None
        The number of images they must match.
    size : tuple (H, W) or None
        The image size they must match.
    name : str
        Argument name for error messages.

    Returns
    -------
    attributions : ndarray of shape (n, H, W), float64 (a new array)
    """
    dtype = np.asarray(attributions).dtype
    if dtype.kind not in "biufO":  # strings of numbers would convert silently
        raise ValueError(
            f"{name} must hold real numbers, one relevance value per pixel; got "
            f"an array of dtype {dtype}."
        )
    a = np.array(attributions, dtype=np.float64)
    if a.ndim != 3:
        raise ValueError(
            f"{name} must be an array of shape (n, H, W), one relevance value "
            f"per pixel; got an array of shape {a.shape}."
        )
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty; got an array of shape {a.shape}.")
    if a.shape[1] * a.shape[2] == 0:
        raise ValueError(
            f"{name} has maps of no pixels; got an array of shape {a.shape}."
        )
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    if n_images is not None and a.shape[0] != n_images:
        raise ValueError(
            f"{name} has {a.shape[0]} maps but X has {n_images} images; they must "
            "match one to one."
        )
    if size is not None and a.shape[1:] != tuple(size):
        raise ValueError(
            f"{name} has maps of size {a.shape[1]}x{a.shape[2]} but the images are "
            f"{size[0]}x{size[1]}."
        )
    return a


def check_masks(masks, *, shape, name="masks"):
    """Validate ground-truth masks: boolean ``(n, H, W)`` matching ``shape``."""
    m = np.asarray(masks)
    if m.shape != tuple(shape):
        raise ValueError(
            f"{name} must have the shape of the attributions {tuple(shape)}; got "
            f"{m.shape}."
        )
    if m.dtype != bool:
        if not np.isin(m, (0, 1)).all():
            raise ValueError(f"{name} must be boolean (or 0/1); got other values.")
        m = m.astype(bool)
    return m


def class_indices(estimator, images, layout_ndim, targets, *, batch_size):
    """Column indices of ``predict_proba`` for ``targets``.

    ``targets=None`` means the predicted class; otherwise one label per image
    (as in ``estimator.classes_``) or a single label for all.
    """
    if targets is None:
        proba = batched_predict_proba(
            estimator, images, layout_ndim=layout_ndim, batch_size=batch_size
        )
        return np.argmax(proba, axis=1)
    return label_indices(
        estimator.classes_,
        targets,
        len(images),
        name="targets",
        owner="the estimator's classes_",
    )


def model_proba(estimator, images, layout_ndim, *, batch_size):
    """Batched probabilities of ``(m, H, W, C)`` images."""
    return batched_predict_proba(
        estimator, images, layout_ndim=layout_ndim, batch_size=batch_size
    )


def direction(*, greater_is_better):
    """Mark a metric function with its direction (read by the scorers).

    Examples
    --------
    >>> from sklearn_xai.metrics._checks import direction
    >>> @direction(greater_is_better=False)
    ... def my_metric(attributions):
    ...     return attributions.sum()
    >>> my_metric.greater_is_better
    False
    """

    def mark(func):
        func.greater_is_better = greater_is_better
        return func

    return mark


# -- degenerate (constant) attribution maps ------------------------------------

#: A map is constant when ``max - min <= CONSTANT_RTOL * max|a| + CONSTANT_ATOL``.
CONSTANT_RTOL = 1e-6
CONSTANT_ATOL = 1e-12


def degenerate_maps(attributions):
    """Which maps of ``(n, H, W)`` attributions are constant: a bool mask ``(n,)``.

    A map is constant when its spread is negligible next to its own scale,
    ``max(a) - min(a) <= 1e-6 * max|a| + 1e-12``. The relative term absorbs
    float32 rounding of a constant map (about 1e-7 of its values); the
    absolute one treats round-off noise around zero as zero (a LIME
    regression on predictions that never change gives coefficients of
    ~1e-31, not an explanation). Maps are judged as given, before a metric
    takes their magnitude or positive part.
    """
    a = np.asarray(attributions)
    flat = a.reshape(len(a), -1)
    if flat.shape[1] == 0:
        return np.zeros(len(a), dtype=bool)
    hi = flat.max(axis=1).astype(np.float64)
    lo = flat.min(axis=1).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        spread = hi - lo
        scale = np.maximum(np.abs(hi), np.abs(lo))
        return spread <= CONSTANT_RTOL * scale + CONSTANT_ATOL


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _caller_stacklevel():
    """``stacklevel`` of the first frame outside sklearn_xai and validate_params."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not (
            filename.startswith(_PACKAGE)
            or filename.endswith(os.path.join("utils", "_param_validation.py"))
        ):
            break
        frame, level = frame.f_back, level + 1
    return level


def warn_degenerate(degenerate, *, metric):
    """Warn once, with the count, when some maps are constant (their scores NaN).

    Parameters
    ----------
    degenerate : ndarray of bool of shape (n,)
        From :func:`degenerate_maps`.
    metric : str
        The public metric's name, for the message.

    Returns
    -------
    degenerate : ndarray of bool of shape (n,)
    """
    degenerate = np.asarray(degenerate, dtype=bool)
    count = int(np.count_nonzero(degenerate))
    if count:
        index = np.flatnonzero(degenerate)
        shown = ", ".join(str(i) for i in index[:10]) + (", ..." if count > 10 else "")
        warnings.warn(
            f"{metric}: {count} of {len(degenerate)} attribution maps are constant "
            f"(images [{shown}]): a map whose pixels are all equal (e.g. all zero) "
            "explains nothing, so their scores are NaN. Check the explainer's "
            "settings for those images.",
            DegenerateExplanationWarning,
            stacklevel=_caller_stacklevel(),
        )
    return degenerate


def nan_where_degenerate(scores, degenerate, *, axis=0):
    """A float copy of ``scores`` with NaN at the constant maps along ``axis``."""
    scores = np.array(scores, dtype=np.float64)
    index = [slice(None)] * scores.ndim
    index[axis] = np.asarray(degenerate, dtype=bool)
    scores[tuple(index)] = np.nan
    return scores
