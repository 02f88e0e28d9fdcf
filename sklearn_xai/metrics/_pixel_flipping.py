"""Pixel flipping and region perturbation: the area over the perturbation curve.

The conventions shared by the faithfulness metrics (what a pixel is, the
baselines, the tie rule, constant maps) are in
:mod:`sklearn_xai.metrics._perturb`.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch

from ..utils._compat import Interval, StrOptions, validate_params
from ._checks import (
    degenerate_maps,
    direction,
    nan_where_degenerate,
    warn_degenerate,
)
from ._perturb import (
    _BASELINE,
    _COMMON,
    _fill,
    _pixel_ranks,
    _prepare,
    _ranked_scores,
)


def _region_labels(height, width, size):
    """Labels of a grid of ``size`` squares, centred as Quantus pads the image."""

    def axis(length):
        cells = -(-length // size)
        offset = (cells * size - length) // 2  # Quantus: floor(padding / 2) first
        return (np.arange(length) + offset) // size, cells

    rows, n_rows = axis(height)
    cols, n_cols = axis(width)
    return rows[:, np.newaxis] * n_cols + cols[np.newaxis], n_rows * n_cols


@direction(greater_is_better=True)
@validate_params(
    {**_COMMON, "order": [StrOptions({"morf", "lerf"})],
     "region_size": [Interval(Integral, 1, None, closed="left")],
     "n_regions": [Interval(Integral, 1, None, closed="left"), None],
     "baseline": _BASELINE, "return_curve": ["boolean"]},
    prefer_skip_nested_validation=True,
)  # fmt: skip
def pixel_flipping(
    estimator,
    X,
    attributions,
    *,
    targets=None,
    order="morf",
    region_size=1,
    n_regions=None,
    baseline="black",
    return_curve=False,
    image_shape=None,
    batch_size=None,
):
    r"""Area over the perturbation curve (AOPC) of pixel flipping.

    The image is cut into a grid of ``region_size`` x ``region_size`` squares
    (``region_size=1``: single pixels, Bach et al. [1]_; larger: region
    perturbation, Samek et al. [2]_); the squares are ranked by the sum of
    their attributions (ties in a random order, as in :func:`deletion_curve`)
    and replaced by the ``baseline`` one more per step,
    most relevant first (``order="morf"``) or least relevant first
    (``"lerf"``). With :math:`x^{(k)}` the image after :math:`k` steps and
    :math:`f_c` the probability of the target class,

    .. math::

        \mathrm{AOPC} = \frac{1}{L + 1} \sum_{k=0}^{L}
        \big(f_c(x^{(0)}) - f_c(x^{(k)})\big).

    With ``"morf"`` **higher is better** (the probability falls fast, as
    the function's ``greater_is_better`` says); with ``"lerf"`` lower is better
    (pass ``greater_is_better=False`` to
    :func:`~sklearn_xai.metrics.make_explanation_scorer`). Constant maps give
    NaN (with a :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`).

    Parameters
    ----------
    estimator : classifier
        A fitted classifier with ``predict_proba``.
    X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
        The images, in the layout the estimator was fitted on. Never modified.
    attributions : array-like of shape (n, H, W)
        One relevance value per pixel, for the target class of each image.
    targets : None, label or array-like of shape (n,), default=None
        The explained class of each image; None means the predicted class.
    order : {"morf", "lerf"}, default="morf"
        Most or least relevant regions first.
    region_size : int, default=1
        Side of the square regions, at most ``min(H, W)``. When it does not
        divide the image side, the grid is centred and the border regions are
        smaller.
    n_regions : int or None, default=None
        Number of steps :math:`L`; None perturbs every region.
    baseline : {"black", "mean", "blur"} or float, default="black"
        What perturbed pixels become: 0, each image's per-channel mean, the
        blurred image, or that number. The default black (0) is also the
        default fill of the explainers that hide pixels (LIME, Kernel SHAP,
        occlusion, RISE), so an explanation is scored with the removal it
        was made with. A number must lie in the images' range (0-255 for
        uint8, [0, 1] for floats in [0, 1], any finite value for other
        floats), else a ValueError; on integer images a fractional number, a
        mean or a blur is kept in floating point, never rounded.
    return_curve : bool, default=False
        Whether to return the probabilities along the way too.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` of flattened ``X``.
    batch_size : int or None, default=None
        Images per ``predict_proba`` call (bounds memory); None chooses by
        the kind of model: 32 for torch-backed models, up to 64 MiB of
        images (32 to 1024 rows) for others.

    Returns
    -------
    aopc : ndarray of shape (n,)
        When ``return_curve=False``.
    result : :class:`~sklearn.utils.Bunch`
        When ``return_curve=True``: ``aopc`` and ``scores``, ndarray of shape
        (n, L + 1), the target probability after 0, 1, ..., L steps.

    Notes
    -----
    Quantus returns curves: ``PixelFlipping`` the probabilities after each
    step (``scores[:, 1:]``, for grayscale images; with colour images it
    flips single channel values, whereas a pixel here is all its channels)
    and ``RegionPerturbation`` the drops ``scores[:, :1] - scores[:, 1:]``
    over the same centred grid. We return the AOPC of Samek et al., the
    number their paper reports, and the curve on request. Samek et al.
    perturb with uniform noise and Quantus's ``"black"`` is each image's
    minimum; our baselines are those of :func:`deletion_curve`.

    References
    ----------
    .. [1] S. Bach, A. Binder, G. Montavon, F. Klauschen, K.-R. Mueller and
       W. Samek, "On pixel-wise explanations for non-linear classifier
       decisions by layer-wise relevance propagation", PLoS ONE 10(7), 2015.
    .. [2] W. Samek, A. Binder, G. Montavon, S. Lapuschkin and K.-R. Mueller,
       "Evaluating the visualization of what a deep neural network has
       learned", IEEE TNNLS 28(11), 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.datasets import load_digit_images
    >>> X, y = load_digit_images(return_X_y=True)
    >>> X, y = X[:300].reshape(300, -1), y[:300]  # flattened 8x8 images
    >>> clf = LogisticRegression(max_iter=1000).fit(X, y)
    >>> # gradient x input of the logit: exact for a linear model
    >>> exact = (clf.coef_[clf.predict(X[:10])] * X[:10]).reshape(10, 8, 8)
    >>> noise = np.random.default_rng(0).normal(size=(10, 8, 8))
    >>> from sklearn_xai.metrics import pixel_flipping
    >>> good = pixel_flipping(clf, X[:10], exact, region_size=2, image_shape=(8, 8))
    >>> bad = pixel_flipping(clf, X[:10], noise, region_size=2, image_shape=(8, 8))
    >>> bool(good.mean() > bad.mean())
    True
    """
    images, layout, a, p0, cls = _prepare(
        estimator, X, attributions, targets, image_shape, batch_size
    )
    n, height, width = a.shape
    if region_size > min(height, width):
        raise ValueError(
            f"region_size must be at most the image side ({min(height, width)}); "
            f"got {region_size}."
        )
    labels, n_total = _region_labels(height, width, region_size)
    if n_regions is None:
        n_regions = n_total
    elif n_regions > n_total:
        raise ValueError(
            f"n_regions must be at most the number of {region_size}x{region_size} "
            f"regions ({n_total}); got {n_regions}."
        )
    flat = (np.arange(n)[:, np.newaxis] * n_total + labels.ravel()).ravel()
    sums = np.bincount(flat, weights=a.ravel(), minlength=n * n_total)
    sums = sums.reshape(n, n_total)
    region_ranks = _pixel_ranks(sums if order == "morf" else -sums, images)
    ranks = np.take_along_axis(region_ranks, labels.reshape(1, -1), axis=1)
    scores = np.empty((n, n_regions + 1))
    scores[:, 0] = p0
    scores[:, 1:] = _ranked_scores(
        estimator,
        images,
        layout,
        cls,
        ranks.reshape(a.shape),
        np.arange(1, n_regions + 1),
        _fill(images, baseline),
        insert=False,
        batch_size=batch_size,
    )
    degenerate = warn_degenerate(degenerate_maps(a), metric="pixel_flipping")
    scores = nan_where_degenerate(scores, degenerate)
    aopc = p0 - scores.mean(axis=1)
    return Bunch(aopc=aopc, scores=scores) if return_curve else aopc
