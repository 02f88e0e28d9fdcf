"""Shared machinery of the faithfulness metrics.

The metrics live in one module each: deletion and insertion curves and
their areas in :mod:`~sklearn_xai.metrics._curves`, pixel flipping in
:mod:`~sklearn_xai.metrics._pixel_flipping`, faithfulness correlation in
:mod:`~sklearn_xai.metrics._faithfulness_correlation` and infidelity in
:mod:`~sklearn_xai.metrics._infidelity`. This module holds what they
share: the declared parameters, validation (``_prepare``), the baseline
fill, the tie-breaking ranks and the batched model calls.

Every metric perturbs the images where the attributions point and measures
the model's probability of the explained class (``predict_proba`` of any
fitted classifier). The perturbed images of many images *and* many steps are
built vectorised and sent to the model ``batch_size`` at a time, so memory is
bounded by ``batch_size`` images and a 224x224 curve costs a few dozen model
calls instead of one per step.

Conventions shared by all metrics:

* a *pixel* is what an attribution scores: removing one replaces all its
  channels;
* ``baseline`` is what removed pixels become: ``"black"`` (0),
  ``"mean"`` (each image's per-channel mean), ``"blur"`` (a Gaussian blur
  with a sigma of a tenth of the longer image side,
  :func:`~sklearn_xai.utils._blur.blur_images`) or a number;
* pixels (or pixel flipping's regions) are ordered by decreasing
  attribution, and **tied pixels in a random order**: the library's one rule
  for ties, under which every order of the tied pixels is equally likely.
  The localization metrics (top-k, relevance rank, pointing game, ROC AUC)
  are linear in the chosen pixels and return the exact expectation over
  that order; a curve is not linear in the removed pixels (the model is
  not), so deletion, insertion and pixel flipping use one order drawn from a
  stream seeded by the map's and the image's content: an unbiased draw of
  the same random order, deterministic, independent of the batch, and never
  favouring tied pixels by their position (raster order would, and 17-46%
  of a Grad-CAM map's pixels can tie at 0);
* stochastic metrics (:func:`faithfulness_correlation`, :func:`infidelity`)
  give every image its own random stream, seeded by ``random_state`` and
  the image's content: an image scores the same alone, in any batch and at
  any position;
* a constant map (all pixels equal, e.g. all zero) orders nothing: its
  score is NaN, with one ``DegenerateExplanationWarning`` per call saying how
  many maps were constant.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._adapter._predict import model_batch_size
from ..utils._blur import blur_images
from ..utils._compat import HasMethods, Interval, StrOptions
from ..utils._intensity import fitted_intensity_range
from ..utils._seeds import TIES, image_rngs
from ._checks import (
    check_attributions,
    check_images,
    class_indices,
    model_proba,
    nan_where_degenerate,
)

_COMMON = {
    "estimator": [HasMethods(["predict_proba"])],
    "X": ["array-like"],
    "attributions": ["array-like"],
    "targets": "no_validation",
    "image_shape": [tuple, list, None],
    "batch_size": [None, Interval(Integral, 1, None, closed="left")],
}
_BASELINE = [StrOptions({"black", "mean", "blur"}), Real]
_RANDOM = {
    "n_repeats": [Interval(Integral, 1, None, closed="left")],
    "return_std": ["boolean"],
    "random_state": ["random_state"],
}


def _prepare(estimator, X, attributions, targets, image_shape, batch_size):
    """Validated images, attributions, original probabilities and classes."""
    images, layout = check_images(X, image_shape=image_shape)
    a = check_attributions(attributions, n_images=len(images), size=images.shape[1:3])
    if targets is not None:  # checked before the first model call
        cls = class_indices(estimator, images, layout, targets, batch_size=batch_size)
    proba = model_proba(estimator, images, layout, batch_size=batch_size)
    if targets is None:
        cls = np.argmax(proba, axis=1)
    return images, layout, a, proba[np.arange(len(images)), cls], cls


def _fill(images, baseline):
    """What removed pixels become, broadcastable to ``images[i]`` per image.

    Returns ``(n, H, W, C)`` for "blur", else ``(n or 1, 1, 1, C)``, in the
    images' dtype when that holds the values exactly (8-bit images stay
    8-bit under a black baseline), else floating point: the fill rule of
    :mod:`~sklearn_xai.attribution._perturbation`, which the explainers'
    ``hide_color`` and ``baseline`` follow too. A number must lie in the
    images' range (0-255 for uint8, [0, 1] for floats in [0, 1], any finite
    value for other floats): otherwise a ValueError naming ``baseline``.
    """
    from ..attribution._perturbation import check_fill

    if not isinstance(baseline, str):
        check_fill(
            baseline,
            name="baseline",
            dtype=images.dtype,
            input_range=fitted_intensity_range(images),
        )
    elif baseline == "blur" and images.dtype.kind in "biu":
        # A blur of integer images is not rounded back to integers.
        return blur_images(images)
    if isinstance(baseline, str) and baseline == "blur":
        return blur_images(images).astype(images.dtype)
    if isinstance(baseline, str) and baseline == "mean":
        fill = images.mean(axis=(1, 2), keepdims=True, dtype=np.float64)
    else:  # "black" or a number
        value = 0.0 if isinstance(baseline, str) else float(baseline)
        fill = np.full((1, 1, 1, images.shape[-1]), value)
    if np.issubdtype(images.dtype, np.integer):
        info = np.iinfo(images.dtype)
        exact = (fill == np.round(fill)).all()
        if not (exact and info.min <= fill.min() and fill.max() <= info.max):
            return fill
    return fill.astype(images.dtype)


def _pixel_ranks(scores, images):
    """Rank of every pixel (or region) in decreasing ``scores`` ``(n, ...)``.

    Ties are in a random order, drawn per image from a stream seeded by the
    content of its scores and of its image (the module's tie rule).
    """
    n = len(scores)
    flat = np.ascontiguousarray(scores, dtype=np.float64).reshape(n, -1)
    ranks = np.empty(flat.shape, dtype=np.intp)
    positions = np.arange(flat.shape[1])
    for i, rng in enumerate(image_rngs(0, flat, images, tag=TIES)):
        shuffled = rng.permutation(flat.shape[1])
        order = shuffled[np.argsort(-flat[i, shuffled], kind="stable")]
        ranks[i, order] = positions
    return ranks.reshape(scores.shape)


def _chunks(total, batch_size):
    for start in range(0, total, batch_size):
        yield np.arange(start, min(start + batch_size, total))


def _target_proba(estimator, batch, layout, cls, *, batch_size):
    proba = model_proba(estimator, batch, layout, batch_size=batch_size)
    return proba[np.arange(len(batch)), cls]


def _ranked_scores(
    estimator, images, layout, cls, ranks, counts, fill, *, insert, batch_size
):
    """Target probabilities with the pixels of rank < count removed (or kept).

    Deletion (``insert=False``) replaces the pixels of rank below each count
    by ``fill``; insertion shows only those pixels on ``fill``. The pairs
    (image, count) are taken ``batch_size`` at a time.

    Returns
    -------
    scores : ndarray of shape (n, len(counts))
    """
    n, m = len(images), len(counts)
    out = np.empty(n * m)
    for pairs in _chunks(
        n * m, model_batch_size(estimator, images.shape[1:], batch_size)
    ):
        img, step = np.divmod(pairs, m)
        hidden = ranks[img] < counts[step][:, np.newaxis, np.newaxis]
        if insert:
            hidden = ~hidden
        fills = fill[img] if len(fill) > 1 else fill
        batch = np.where(hidden[..., np.newaxis], fills, images[img])
        out[pairs] = _target_proba(
            estimator, batch, layout, cls[img], batch_size=batch_size
        )
    return out.reshape(n, m)


def _summarize(values, return_std, degenerate):
    """Mean (and std) over the repeats axis 0 of ``(n_repeats, n)``.

    NaN for the constant maps ``degenerate`` (already warned about).
    """
    mean = nan_where_degenerate(values.mean(axis=0), degenerate)
    if return_std:
        return mean, nan_where_degenerate(values.std(axis=0), degenerate)
    return mean
