"""The intensity range of images: recorded in ``fit``, enforced afterwards.

The same photo is ``uint8`` in 0-255 when OpenCV or PIL reads it and float
in [0, 1] after scikit-image's ``img_as_float``; a network trained on one
kind predicts nonsense on the other. Every classifier of the library records
the range it was fitted on (``input_range_``) and, at prediction time,
converts images of the other kind or refuses them with a message that says
so, never predicting silently on the wrong scale.

The rule (:func:`fitted_intensity_range` and :func:`to_intensity_range`):

* ``uint8`` training images mean the range (0, 255); floating-point images
  whose values all lie in [0, 1] mean (0, 1); other floating-point images
  (e.g. standardized ones, after an ``ImageNormalizer``) have no known range
  and are passed through unchecked.
* A model of range ``(lo, hi)`` given ``uint8`` images maps 0-255 linearly
  onto ``[lo, hi]`` (so a [0, 1] model divides by 255).
* A model of range ``(lo, hi)`` given floating-point images checks that they
  are on the same scale: their mean intensity must lie within ``[lo - (hi -
  lo), hi + (hi - lo)]`` (for [0, 1]: within [-1, 2]). The mean is not moved
  by the zero-mean noise of SmoothGrad or the robustness metrics, however
  large, nor by interpolation overshoot, while 0-255 images given to a
  [0, 1] model put it far outside; outside it, a ValueError. A model of range
  (0, 255) also refuses floats that all lie in [0, 1] but are not all zero
  (they look like [0, 1] images).
* A model without a known range refuses ``uint8`` images.
"""

from __future__ import annotations

import contextlib

import numpy as np

#: Share of the range a floating-point image may overshoot by on each side.
_MARGIN = 1.0
#: The diagnosis in the error for 0-255 floats given to a [0, 1] model
#: (:func:`explaining_float_copies` recognises it).
_LOOK_0_255 = "They look like 0-255 intensities"


def fitted_intensity_range(images):
    """The intensity range training images imply, or None.

    Parameters
    ----------
    images : ndarray
        The training images.

    Returns
    -------
    input_range : tuple of 2 float or None
        ``(0.0, 255.0)`` for uint8, ``(0.0, 1.0)`` for floats in [0, 1],
        None otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.utils._intensity import fitted_intensity_range
    >>> fitted_intensity_range(np.zeros((1, 2, 2), dtype=np.uint8))
    (0.0, 255.0)
    >>> fitted_intensity_range(np.full((1, 2, 2), 0.5))
    (0.0, 1.0)
    >>> fitted_intensity_range(np.full((1, 2, 2), -3.0)) is None
    True
    """
    if images.dtype == np.uint8:
        return (0.0, 255.0)
    if images.size and images.min() >= 0 and images.max() <= 1:
        return (0.0, 1.0)
    return None


def _fmt(value):
    return f"{value:g}"


def to_intensity_range(images, input_range, *, owner, input_name="X"):
    """Bring images to a model's intensity range, or refuse them.

    Parameters
    ----------
    images : ndarray
        The images (any layout).
    input_range : tuple of 2 float or None
        The model's range (``input_range_``); None means unknown.
    owner : str
        The model's name, for error messages.
    input_name : str, default="X"
        The argument's name, for error messages.

    Returns
    -------
    images : ndarray
        ``images`` itself, or a float32 copy on the model's scale for uint8
        input.

    Raises
    ------
    ValueError
        When the images are of another kind that cannot be converted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.utils._intensity import to_intensity_range
    >>> to_intensity_range(np.array([0, 255], dtype=np.uint8), (0.0, 1.0),
    ...                    owner="model")
    array([0., 1.], dtype=float32)
    """
    if input_range is None:
        if images.dtype == np.uint8:
            raise ValueError(
                f"{input_name} holds uint8 images (0-255), but {owner} was fitted "
                "on floating-point images outside [0, 1], whose scale is not "
                "known; convert the images as they were for training."
            )
        return images
    lo, hi = (float(v) for v in input_range)
    if images.dtype == np.uint8:
        if (lo, hi) == (0.0, 255.0):
            return images
        return _from_0_255(images.astype(np.float32), lo, hi)
    if not images.size:
        return images
    # The mean decides the scale: zero-mean perturbations of any size
    # (SmoothGrad's noise, the robustness metrics') leave it in place, while
    # 0-255 images given to a [0, 1] model move it far outside.
    # float32 accumulation (pairwise) is exact enough for this test and half
    # the cost of float64 on large batches.
    mean = float(np.mean(images))
    margin = _MARGIN * (hi - lo)
    if not (lo - margin <= mean <= hi + margin):
        low, high = float(np.min(images)), float(np.max(images))
        hint = (
            f" {_LOOK_0_255}: divide by 255, or pass them as uint8."
            if hi <= 1 and mean > 1
            else ""
        )
        raise ValueError(
            f"{input_name} has values in [{_fmt(low)}, {_fmt(high)}] (mean "
            f"{_fmt(mean)}), but {owner} takes images with intensities in "
            f"[{_fmt(lo)}, {_fmt(hi)}] (input_range).{hint}"
        )
    if (lo, hi) == (0.0, 255.0) and 0 < mean <= 1:
        low, high = float(np.min(images)), float(np.max(images))
        if low >= 0 and 0 < high <= 1:
            raise ValueError(
                f"{input_name} holds floating-point values in [{_fmt(low)}, "
                f"{_fmt(high)}], which look like [0, 1] images, but {owner} was "
                "fitted on uint8 images (0-255); multiply them by 255, or pass "
                "uint8 images."
            )
    return images


def uint8_copies_to_model_scale(images, estimator):
    """Float copies of uint8 images on the scale the model puts uint8 on.

    An explainer that hides part of a uint8 image with a value no uint8 can
    hold (a superpixel's mean colour, a blur, RISE's soft masks) builds the
    perturbed images in floating point, with 0-255 values. A model that
    takes uint8 images as 0-255 (a classifier fitted on uint8) takes them as
    they are; one that maps uint8 onto another range (a TorchClassifier's
    ``input_range=(0, 1)`` divides by 255) would refuse 0-255 floats, so
    they are mapped the same way its uint8 images are, with the same
    float32 operations as :func:`to_intensity_range`. A pipeline, or a model
    without a recorded range, gets them as they are.

    Parameters
    ----------
    images : ndarray of float
        Values on the 0-255 scale of the uint8 images they come from.
    estimator : classifier
        The explained model (optionally frozen).

    Returns
    -------
    images : ndarray
        ``images`` itself, or a float32 copy on the model's scale.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.utils._intensity import uint8_copies_to_model_scale
    >>> class Model:
    ...     input_range_ = (0.0, 1.0)
    >>> uint8_copies_to_model_scale(np.array([127.5, 255.0]), Model())
    array([0.5, 1. ], dtype=float32)
    """
    from .._adapter import bare_model

    input_range = getattr(bare_model(estimator), "input_range_", None)
    if input_range is None:
        return images
    lo, hi = (float(v) for v in input_range)
    if (lo, hi) == (0.0, 255.0):
        return images
    return _from_0_255(np.array(images, dtype=np.float32), lo, hi)


def _from_0_255(out, lo, hi):
    """Map float32 0-255 values onto ``[lo, hi]``, in place.

    Divide (not multiply by a rounded 1/255): bit for bit the floats of
    ``X / 255`` and ``ImageReader(dtype="float32")``, so both give the same
    predictions.
    """
    if hi - lo != 1.0:
        out *= np.float32(hi - lo)
    out /= np.float32(255.0)
    if lo:
        out += np.float32(lo)
    return out


@contextlib.contextmanager
def explaining_float_copies(active):
    """Say where 0-255 floats came from when a model refuses them.

    Around the model calls of an explainer that built float perturbations
    of uint8 images (``active``): a model behind a pipeline, which
    :func:`uint8_copies_to_model_scale` cannot convert for, refuses them
    with "divide by 255, or pass them as uint8", advice the user (who passed
    uint8) cannot follow; the error then says what happened and what to do.
    """
    try:
        yield
    except ValueError as exc:
        if not active or _LOOK_0_255 not in str(exc):
            raise
        raise ValueError(
            f"{exc} (These images were built by the explainer from the uint8 "
            "images it was given: a fill no uint8 holds (a mean colour, a blur, "
            "a fractional value, RISE's soft masks) makes float images on the "
            "0-255 scale, and through a pipeline, whose preprocessing is not "
            "known, they cannot be put on the model's scale. Explain float "
            "images on the model's scale, or use a fill uint8 holds, such as 0.)"
        ) from exc
