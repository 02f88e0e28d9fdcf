"""Faithfulness metrics: does the model's output follow the attributions?

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
from sklearn.utils import Bunch

from .._adapter._predict import model_batch_size
from ..utils._blur import blur_images
from ..utils._compat import HasMethods, Interval, StrOptions, validate_params
from ..utils._intensity import fitted_intensity_range
from ..utils._seeds import TIES, call_seed, image_rngs
from ._checks import (
    check_attributions,
    check_images,
    class_indices,
    degenerate_maps,
    direction,
    model_proba,
    nan_where_degenerate,
    warn_degenerate,
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


# ---------------------------------------------------------------- helpers
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


def _curve(
    estimator, X, attributions, targets, n_steps, baseline, image_shape, batch_size,
    *, insert, metric,
):  # fmt: skip
    """The curve Bunch; rows of constant maps NaN, warned about as ``metric``."""
    images, layout, a, p0, cls = _prepare(
        estimator, X, attributions, targets, image_shape, batch_size
    )
    n_pixels = images.shape[1] * images.shape[2]
    if n_steps is None:
        n_steps = min(100, n_pixels)
    elif n_steps > n_pixels:
        raise ValueError(
            f"n_steps must be at most the number of pixels ({n_pixels}); got {n_steps}."
        )
    counts = np.arange(n_steps + 1) * n_pixels // n_steps
    # The untouched image (no pixel deleted, every pixel inserted) is known.
    todo = slice(0, -1) if insert else slice(1, None)
    scores = np.empty((len(images), n_steps + 1))
    scores[:, -1 if insert else 0] = p0
    scores[:, todo] = _ranked_scores(
        estimator,
        images,
        layout,
        cls,
        _pixel_ranks(a, images),
        counts[todo],
        _fill(images, baseline),
        insert=insert,
        batch_size=batch_size,
    )
    degenerate = warn_degenerate(degenerate_maps(a), metric=metric)
    scores = nan_where_degenerate(scores, degenerate)
    return Bunch(fractions=counts / n_pixels, scores=scores)


def _pearson(x, y):
    """Pearson correlation along the last axis; NaN where one is constant."""
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    denom = np.sqrt((x * x).sum(axis=-1) * (y * y).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x * y).sum(axis=-1) / denom
    return np.where(denom > 0, r, np.nan)


def _summarize(values, return_std, degenerate):
    """Mean (and std) over the repeats axis 0 of ``(n_repeats, n)``.

    NaN for the constant maps ``degenerate`` (already warned about).
    """
    mean = nan_where_degenerate(values.mean(axis=0), degenerate)
    if return_std:
        return mean, nan_where_degenerate(values.std(axis=0), degenerate)
    return mean


# ---------------------------------------------------- deletion / insertion
@validate_params(
    {**_COMMON, "n_steps": [Interval(Integral, 1, None, closed="left"), None],
     "baseline": _BASELINE},
    prefer_skip_nested_validation=True,
)  # fmt: skip
def deletion_curve(
    estimator,
    X,
    attributions,
    *,
    targets=None,
    n_steps=None,
    baseline="black",
    image_shape=None,
    batch_size=None,
):
    """The target-class probability as the most relevant pixels are deleted.

    Pixels are removed in decreasing order of attribution (tied pixels in a
    random order seeded by the map and the image, see
    :mod:`~sklearn_xai.metrics`), replaced by the ``baseline``, in ``n_steps``
    equal steps: after step ``k`` the first
    ``floor(k * P / n_steps)`` of the ``P`` pixels are removed (Petsiuk et
    al. [1]_). A faithful explanation makes the curve drop fast; its area is
    :func:`deletion_auc`. Constant maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`): they order
    no pixel before another.

    Parameters
    ----------
    estimator : classifier
        A fitted classifier with ``predict_proba``: a
        :class:`~sklearn_xai.neural_network.CNNClassifier`, a pipeline, or any
        scikit-learn classifier on flattened images (with ``image_shape``).
    X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
        The images, in the layout the estimator was fitted on (flattened
        images need ``image_shape``). Never modified.
    attributions : array-like of shape (n, H, W)
        One relevance value per pixel, for the target class of each image.
    targets : None, label or array-like of shape (n,), default=None
        The explained class of each image; None means the predicted class.
    n_steps : int or None, default=None
        Number of deletion steps, at most the number of pixels; None
        means 100, or one pixel per step for smaller images.
    baseline : {"black", "mean", "blur"} or float, default="black"
        What deleted pixels become: 0, each image's per-channel mean, the
        blurred image, or that number. The default black (0) is also the
        default fill of the explainers that hide pixels (LIME, Kernel SHAP,
        occlusion, RISE), so an explanation is scored with the removal it
        was made with. A number must lie in the images' range (0-255 for
        uint8, [0, 1] for floats in [0, 1], any finite value for other
        floats), else a ValueError; on integer images a fractional number, a
        mean or a blur is kept in floating point, never rounded.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` of flattened ``X``.
    batch_size : int or None, default=None
        Images per ``predict_proba`` call (bounds memory); None chooses by
        the kind of model: 32 for torch-backed models, up to 64 MiB of
        images (32 to 1024 rows) for others.

    Returns
    -------
    curve : :class:`~sklearn.utils.Bunch`
        ``fractions``, ndarray of shape (n_steps + 1,): the fraction of pixels
        deleted, from 0 to 1; ``scores``, ndarray of shape (n, n_steps + 1):
        the probability of the target class at each fraction, NaN on the
        row of a constant map.

    See Also
    --------
    deletion_auc : The area under this curve.
    insertion_curve : Pixels revealed on the baseline instead.

    Notes
    -----
    Quantus has no deletion curve under that name; its ``PixelFlipping`` with
    ``features_in_step = P / n_steps`` and a zero ``perturb_baseline``
    computes ``scores[:, 1:]`` for grayscale images (with colour images it
    removes single channel values, not pixels). Its ``"black"`` baseline is
    each image's minimum, ours is 0.

    References
    ----------
    .. [1] V. Petsiuk, A. Das and K. Saenko, "RISE: Randomized input sampling
       for explanation of black-box models", BMVC 2018.

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
    >>> from sklearn_xai.metrics import deletion_curve
    >>> curve = deletion_curve(clf, X[:10], exact, n_steps=8, image_shape=(8, 8))
    >>> curve.fractions
    array([0.   , 0.125, 0.25 , 0.375, 0.5  , 0.625, 0.75 , 0.875, 1.   ])
    >>> curve.scores.shape
    (10, 9)
    """
    return _curve(
        estimator, X, attributions, targets, n_steps, baseline, image_shape,
        batch_size, insert=False, metric="deletion_curve",
    )  # fmt: skip


@validate_params(
    {**_COMMON, "n_steps": [Interval(Integral, 1, None, closed="left"), None],
     "baseline": _BASELINE},
    prefer_skip_nested_validation=True,
)  # fmt: skip
def insertion_curve(
    estimator,
    X,
    attributions,
    *,
    targets=None,
    n_steps=None,
    baseline="blur",
    image_shape=None,
    batch_size=None,
):
    """The target-class probability as the most relevant pixels are revealed.

    Starting from the ``baseline`` image, pixels of the image are put back in
    decreasing order of attribution (ties in a random order, as in
    :func:`deletion_curve`) in ``n_steps`` equal steps: after step
    ``k`` the first ``floor(k * P / n_steps)`` of the ``P`` pixels are shown
    (Petsiuk et al. [1]_, who start from a blurred image). A faithful
    explanation makes the curve rise fast; its area is
    :func:`insertion_auc`. Constant maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`).

    Parameters
    ----------
    estimator : classifier
        A fitted classifier with ``predict_proba``.
    X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
        The images, in the layout the estimator was fitted on (flattened
        images need ``image_shape``). Never modified.
    attributions : array-like of shape (n, H, W)
        One relevance value per pixel, for the target class of each image.
    targets : None, label or array-like of shape (n,), default=None
        The explained class of each image; None means the predicted class.
    n_steps : int or None, default=None
        Number of insertion steps, at most the number of pixels; None
        means 100, or one pixel per step for smaller images.
    baseline : {"black", "mean", "blur"} or float, default="blur"
        The image pixels are revealed on: 0, each image's per-channel mean,
        the blurred image, or that number (Petsiuk et al. start from a
        blurred image: a constant start is far from every training image). A
        number must lie in the images' range (0-255 for uint8, [0, 1] for
        floats in [0, 1], any finite value for other floats), else a
        ValueError; on integer images a fractional number, a mean or a blur
        is kept in floating point.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` of flattened ``X``.
    batch_size : int or None, default=None
        Images per ``predict_proba`` call (bounds memory); None chooses by
        the kind of model: 32 for torch-backed models, up to 64 MiB of
        images (32 to 1024 rows) for others.

    Returns
    -------
    curve : :class:`~sklearn.utils.Bunch`
        ``fractions``, ndarray of shape (n_steps + 1,): the fraction of pixels
        revealed, from 0 to 1; ``scores``, ndarray of shape (n, n_steps + 1):
        the probability of the target class at each fraction, NaN on the
        row of a constant map.

    See Also
    --------
    insertion_auc : The area under this curve.
    deletion_curve : Pixels removed instead.

    Notes
    -----
    Quantus 0.6 has no insertion curve; the tests compare this function with
    a direct loop and closed-form cases.

    References
    ----------
    .. [1] V. Petsiuk, A. Das and K. Saenko, "RISE: Randomized input sampling
       for explanation of black-box models", BMVC 2018.

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
    >>> from sklearn_xai.metrics import insertion_curve
    >>> curve = insertion_curve(clf, X[:10], exact, n_steps=8, image_shape=(8, 8))
    >>> curve.scores.shape
    (10, 9)
    """
    return _curve(
        estimator, X, attributions, targets, n_steps, baseline, image_shape,
        batch_size, insert=True, metric="insertion_curve",
    )  # fmt: skip


def _auc(curve):
    return np.trapezoid(curve.scores, curve.fractions, axis=1)


@direction(greater_is_better=False)
@validate_params(
    {**_COMMON, "n_steps": [Interval(Integral, 1, None, closed="left"), None],
     "baseline": _BASELINE},
    prefer_skip_nested_validation=True,
)  # fmt: skip
def deletion_auc(
    estimator,
    X,
    attributions,
    *,
    targets=None,
    n_steps=None,
    baseline="black",
    image_shape=None,
    batch_size=None,
):
    r"""Area under the deletion curve (Petsiuk et al. 2018); lower is better.

    .. math::

        \mathrm{AUC}_{del} = \int_0^1 f_c\big(x^{(t)}\big)\, dt

    where :math:`x^{(t)}` is the image with the fraction :math:`t` of its
    most relevant pixels replaced by the baseline and :math:`f_c` the
    probability of the target class; the integral is the trapezoidal rule
    over the :func:`deletion_curve` (``n_steps + 1`` points). It is in
    [0, 1]; a faithful explanation destroys the evidence early, so **lower is
    better**. Constant maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`): every pixel
    ties, so their "order" would be a random one.

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
    n_steps : int or None, default=None
        Number of deletion steps, at most the number of pixels; None
        means 100, or one pixel per step for smaller images.
    baseline : {"black", "mean", "blur"} or float, default="black"
        What deleted pixels become: 0, each image's per-channel mean, the
        blurred image, or that number. The default black (0) is also the
        default fill of the explainers that hide pixels (LIME, Kernel SHAP,
        occlusion, RISE), so an explanation is scored with the removal it
        was made with. A number must lie in the images' range (0-255 for
        uint8, [0, 1] for floats in [0, 1], any finite value for other
        floats), else a ValueError; on integer images a fractional number, a
        mean or a blur is kept in floating point, never rounded.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` of flattened ``X``.
    batch_size : int or None, default=None
        Images per ``predict_proba`` call (bounds memory); None chooses by
        the kind of model: 32 for torch-backed models, up to 64 MiB of
        images (32 to 1024 rows) for others.

    Returns
    -------
    auc : ndarray of shape (n,)

    See Also
    --------
    deletion_curve, insertion_auc

    Notes
    -----
    Petsiuk et al. normalise the area by the number of steps, as here (the
    x-axis is the fraction of pixels). Quantus's ``PixelFlipping`` with
    ``return_auc_per_sample=True`` integrates with ``dx=1`` over the steps and
    leaves out the unperturbed image, so its value is not in [0, 1].

    References
    ----------
    .. [1] V. Petsiuk, A. Das and K. Saenko, "RISE: Randomized input sampling
       for explanation of black-box models", BMVC 2018.

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
    >>> from sklearn_xai.metrics import deletion_auc
    >>> good = deletion_auc(clf, X[:10], exact, n_steps=16, image_shape=(8, 8))
    >>> bad = deletion_auc(clf, X[:10], noise, n_steps=16, image_shape=(8, 8))
    >>> bool(good.mean() < bad.mean())
    True
    """
    return _auc(
        _curve(
            estimator, X, attributions, targets, n_steps, baseline, image_shape,
            batch_size, insert=False, metric="deletion_auc",
        )
    )  # fmt: skip


@direction(greater_is_better=True)
@validate_params(
    {**_COMMON, "n_steps": [Interval(Integral, 1, None, closed="left"), None],
     "baseline": _BASELINE},
    prefer_skip_nested_validation=True,
)  # fmt: skip
def insertion_auc(
    estimator,
    X,
    attributions,
    *,
    targets=None,
    n_steps=None,
    baseline="blur",
    image_shape=None,
    batch_size=None,
):
    r"""Area under the insertion curve (Petsiuk et al. 2018); higher is better.

    .. math::

        \mathrm{AUC}_{ins} = \int_0^1 f_c\big(\tilde x^{(t)}\big)\, dt

    where :math:`\tilde x^{(t)}` is the baseline image with the fraction
    :math:`t` of the most relevant pixels of the image put back and
    :math:`f_c` the probability of the target class; the integral is the
    trapezoidal rule over the :func:`insertion_curve` (``n_steps + 1``
    points). It is in [0, 1]; a faithful explanation restores the evidence
    early, so **higher is better**. Constant maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`).

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
    n_steps : int or None, default=None
        Number of insertion steps, at most the number of pixels; None
        means 100, or one pixel per step for smaller images.
    baseline : {"black", "mean", "blur"} or float, default="blur"
        The image pixels are revealed on (Petsiuk et al. use a blur). A
        number must lie in the images' range (0-255 for uint8, [0, 1] for
        floats in [0, 1], any finite value for other floats), else a
        ValueError; on integer images a fractional number, a mean or a blur
        is kept in floating point.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` of flattened ``X``.
    batch_size : int or None, default=None
        Images per ``predict_proba`` call (bounds memory); None chooses by
        the kind of model: 32 for torch-backed models, up to 64 MiB of
        images (32 to 1024 rows) for others.

    Returns
    -------
    auc : ndarray of shape (n,)

    See Also
    --------
    insertion_curve, deletion_auc

    Notes
    -----
    Quantus 0.6 has no insertion metric.

    References
    ----------
    .. [1] V. Petsiuk, A. Das and K. Saenko, "RISE: Randomized input sampling
       for explanation of black-box models", BMVC 2018.

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
    >>> from sklearn_xai.metrics import insertion_auc
    >>> good = insertion_auc(clf, X[:10], exact, n_steps=16, image_shape=(8, 8))
    >>> bad = insertion_auc(clf, X[:10], noise, n_steps=16, image_shape=(8, 8))
    >>> bool(good.mean() > bad.mean())
    True
    """
    return _auc(
        _curve(
            estimator, X, attributions, targets, n_steps, baseline, image_shape,
            batch_size, insert=True, metric="insertion_auc",
        )
    )  # fmt: skip


# ---------------------------------------------------------- pixel flipping
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


# ------------------------------------------------ faithfulness correlation
def _subset_count(subset_size, n_pixels):
    if isinstance(subset_size, Integral):
        count = int(subset_size)
    else:
        count = max(1, int(subset_size * n_pixels))
    if count >= n_pixels:
        raise ValueError(
            f"subset_size must leave pixels untouched: fewer than the {n_pixels} "
            f"pixels (or a fraction below 1); got {subset_size}."
        )
    return count


class _SubsetStream:
    """Uniform random ``count``-subsets of ``range(n_pixels)``, row after row.

    Rows are drawn in blocks of a fixed size, so the sequence depends on the
    random state only (not on how many rows each call takes). A block draws
    with replacement and redraws repeated entries until none is left, which
    is uniform over subsets by symmetry and costs O(count) per row instead of
    the O(n_pixels) of a permutation; dense subsets take the ``count``
    smallest of random keys.
    """

    block = 64

    def __init__(self, rng, n_pixels, count):
        self.rng, self.n_pixels, self.count = rng, n_pixels, count
        self.buffer = np.empty((0, count), dtype=np.intp)

    def _draw(self):
        rng, n, k = self.rng, self.n_pixels, self.count
        if 4 * k > n:
            keys = rng.random_sample((self.block, n))
            return np.argpartition(keys, k - 1, axis=1)[:, :k]
        rows = np.sort(rng.randint(0, n, size=(self.block, k)), axis=1)
        while True:
            repeated = np.zeros(rows.shape, dtype=bool)
            repeated[:, 1:] = rows[:, 1:] == rows[:, :-1]
            if not repeated.any():
                return rows
            rows[repeated] = rng.randint(0, n, size=int(repeated.sum()))
            rows.sort(axis=1)

    def take(self, m):
        while len(self.buffer) < m:
            self.buffer = np.concatenate([self.buffer, self._draw()])
        rows, self.buffer = self.buffer[:m], self.buffer[m:]
        return rows


@direction(greater_is_better=True)
@validate_params(
    {**_COMMON, **_RANDOM, "n_runs": [Interval(Integral, 2, None, closed="left")],
     "subset_size": [Interval(Integral, 1, None, closed="left"),
                     Interval(Real, 0, 1, closed="neither")],
     "baseline": _BASELINE},
    prefer_skip_nested_validation=True,
)  # fmt: skip
def faithfulness_correlation(
    estimator,
    X,
    attributions,
    *,
    targets=None,
    n_runs=100,
    subset_size=0.1,
    baseline="black",
    n_repeats=1,
    return_std=False,
    random_state=None,
    image_shape=None,
    batch_size=None,
):
    r"""Correlation of attribution sums with the effect of removing them.

    Bhatt et al. [1]_: for ``n_runs`` random subsets :math:`S` of
    ``subset_size`` pixels, replaced by the ``baseline`` (giving
    :math:`x_{[S]}`),

    .. math::

        \mu_F = \operatorname{corr}_S \Big( \sum_{i \in S} a_i,\;
        f_c(x) - f_c(x_{[S]}) \Big),

    the Pearson correlation over the runs, with :math:`f_c` the probability
    of the target class. It is in [-1, 1]; **higher is better**. Constant
    maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`), as does an
    image whose probability drops do not vary (the model ignores the
    removals).

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
    n_runs : int, default=100
        Random subsets per image (at least 2).
    subset_size : int or float, default=0.1
        Pixels per subset: a number below the number of pixels, or a
        fraction of them.
    baseline : {"black", "mean", "blur"} or float, default="black"
        What removed pixels become. The default black (0) is also the
        default fill of the explainers that hide pixels (LIME, Kernel SHAP,
        occlusion, RISE), so an explanation is scored with the removal it
        was made with. A number must lie in the images' range (0-255 for
        uint8, [0, 1] for floats in [0, 1], any finite value for other
        floats), else a ValueError; on integer images a fractional number, a
        mean or a blur is kept in floating point, never rounded.
    n_repeats : int, default=1
        Independent repetitions of the whole estimate; the result is their
        mean.
    return_std : bool, default=False
        Whether to return the standard deviation over the repetitions too.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsets: each image draws from its own stream, seeded by
        ``random_state`` and the image's content, so its score does not
        depend on the other images, their order or ``batch_size``; an int
        gives identical results.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` of flattened ``X``.
    batch_size : int or None, default=None
        Images per ``predict_proba`` call (bounds memory); None chooses by
        the kind of model: 32 for torch-backed models, up to 64 MiB of
        images (32 to 1024 rows) for others.

    Returns
    -------
    scores : ndarray of shape (n,)
        Or ``(mean, std)``, two such arrays, when ``return_std=True``.

    Notes
    -----
    Given the same subsets, the scores are Quantus's
    ``FaithfulnessCorrelation`` (``normalise`` does not change a
    correlation). Differences: Quantus draws each subset with
    ``np.random.choice(P, subset_size, replace=False)``, a full permutation
    of the pixels (as long as the model's forward pass at 224x224), we draw
    the same uniform distribution in bulk; with colour images Quantus samples
    single channel values, we sample pixels (the features the attributions
    score, as in the paper); Quantus's default subset is 224 values and its
    ``"black"`` is each image's minimum.

    References
    ----------
    .. [1] U. Bhatt, A. Weller and J. M. F. Moura, "Evaluating and
       aggregating feature-based model explanations", IJCAI 2020.

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
    >>> from sklearn_xai.metrics import faithfulness_correlation
    >>> good = faithfulness_correlation(clf, X[:10], exact, n_runs=20,
    ...                                 random_state=0, image_shape=(8, 8))
    >>> bad = faithfulness_correlation(clf, X[:10], noise, n_runs=20,
    ...                                random_state=0, image_shape=(8, 8))
    >>> bool(good.mean() > bad.mean())
    True
    """
    images, layout, a, p0, cls = _prepare(
        estimator, X, attributions, targets, image_shape, batch_size
    )
    n, height, width, _ = images.shape
    n_pixels = height * width
    count = _subset_count(subset_size, n_pixels)
    streams = [
        _SubsetStream(rng, n_pixels, count)
        for rng in image_rngs(call_seed(random_state), images)
    ]
    fill = _fill(images, baseline)
    a_flat = a.reshape(n, n_pixels)
    per_image = n_repeats * n_runs
    total = n * per_image  # pairs ordered (image, repeat, run)
    sums, drops = np.empty(total), np.empty(total)
    for pairs in _chunks(
        total, model_batch_size(estimator, images.shape[1:], batch_size)
    ):
        img = pairs // per_image
        # Each image's subsets come from its own stream, in order.
        subsets = np.concatenate(
            [streams[i].take(int(np.count_nonzero(img == i))) for i in np.unique(img)]
        )
        hidden = np.zeros((len(pairs), n_pixels), dtype=bool)
        np.put_along_axis(hidden, subsets, True, axis=1)
        hidden = hidden.reshape(-1, height, width, 1)
        batch = np.where(hidden, fill[img] if len(fill) > 1 else fill, images[img])
        proba = _target_proba(estimator, batch, layout, cls[img], batch_size=batch_size)
        drops[pairs] = p0[img] - proba
        sums[pairs] = np.take_along_axis(a_flat[img], subsets, axis=1).sum(axis=1)
    shape = (n, n_repeats, n_runs)
    corr = _pearson(sums.reshape(shape), drops.reshape(shape)).T
    degenerate = warn_degenerate(degenerate_maps(a), metric="faithfulness_correlation")
    return _summarize(corr, return_std, degenerate)


# -------------------------------------------------------------- infidelity
@direction(greater_is_better=False)
@validate_params(
    {**_COMMON, **_RANDOM,
     "n_perturbations": [Interval(Integral, 1, None, closed="left")],
     "noise_scale": [Interval(Real, 0, None, closed="neither")],
     "normalize": ["boolean"]},
    prefer_skip_nested_validation=True,
)  # fmt: skip
def infidelity(
    estimator,
    X,
    attributions,
    *,
    targets=None,
    n_perturbations=50,
    noise_scale=0.1,
    normalize=True,
    n_repeats=1,
    return_std=False,
    random_state=None,
    image_shape=None,
    batch_size=None,
):
    r"""Expected squared error of the attributions' linear prediction of change.

    Yeh et al. [1]_:

    .. math::

        \mathrm{INFD} = \mathbb{E}_{I}\Big[\big(\beta\, I^\top a -
        (f_c(x) - f_c(x - I))\big)^2\Big],

    estimated with ``n_perturbations`` Gaussian perturbations :math:`I` of
    every pixel, of standard deviation ``noise_scale`` times the image's
    pixel standard deviation. A pixel is perturbed as a whole, one noise
    value shared by its channels (the module's rule that a pixel is all its
    channels, and the only reading under which one attribution per pixel
    can predict the change): :math:`I^\top a = \sum_{h,w} I_{hw}\, a_{hw}`.
    :math:`f_c` is the probability of the target class. It is >= 0, in
    squared probability units; **lower is better** (0: the attributions
    predict the effect of every perturbation exactly, as the pixel weights
    of a model linear in its pixels do, summed over the channels).

    By default (``normalize=True``, as the authors' code) each map is first
    rescaled by the least-squares factor :math:`\beta \ge 0` that minimises
    the error, so the score compares *shapes*, not units: gradient methods
    explain logits and perturbation methods probabilities (see
    :meth:`~sklearn_xai.base.BaseExplainer.explain`), and without the
    rescaling a map shrunk towards zero scores better than the exact one.
    Constant maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`): an all-zero
    map would otherwise score the variance of the model's change.

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
    n_perturbations : int, default=50
        Monte Carlo samples of :math:`I` per image.
    noise_scale : float, default=0.1
        Standard deviation of the noise, relative to each image's standard
        deviation of pixel values (so one value suits 8-bit and [0, 1]
        images).
    normalize : bool, default=True
        Rescale each image's attributions by the least-squares factor
        :math:`\beta \ge 0` that minimises the error first, as the authors'
        code does, which makes the metric blind to the attributions' scale
        (their unit). False takes the maps as they are (:math:`\beta = 1`),
        which only makes sense for maps in the unit of :math:`f_c`, a
        probability.
    n_repeats : int, default=1
        Independent repetitions of the whole estimate; the result is their
        mean.
    return_std : bool, default=False
        Whether to return the standard deviation over the repetitions too.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise: each image draws from its own stream, seeded by
        ``random_state`` and the image's content, so its score does not
        depend on the other images, their order or ``batch_size``; an int
        gives identical results.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` of flattened ``X``.
    batch_size : int or None, default=None
        Images per ``predict_proba`` call (bounds memory); None chooses by
        the kind of model: 32 for torch-backed models, up to 64 MiB of
        images (32 to 1024 rows) for others.

    Returns
    -------
    scores : ndarray of shape (n,)
        Or ``(mean, std)``, two such arrays, when ``return_std=True``.

    Notes
    -----
    Quantus's ``Infidelity`` does not sample noise: its default perturbation
    replaces square patches by the baseline one after another, cumulatively,
    and repeats that deterministic pass ``n_perturb_samples`` times. We follow
    the paper's Gaussian perturbations; given the same perturbations (passed
    to Quantus as ``perturb_func``) and ``normalize=False`` the two agree.
    The authors' code lets :math:`\beta` go negative, which gives a
    sign-flipped map :math:`-a` the score of :math:`a`; we keep
    :math:`\beta \ge 0`, so a map anti-correlated with the model's changes
    scores as badly as predicting no change at all.

    References
    ----------
    .. [1] C.-K. Yeh, C.-Y. Hsieh, A. S. Suggala, D. I. Inouye and P.
       Ravikumar, "On the (in)fidelity and sensitivity of explanations",
       NeurIPS 2019.

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
    >>> from sklearn_xai.metrics import infidelity
    >>> # the gradient of the probability of the predicted class
    >>> p = clf.predict_proba(X[:10])
    >>> c = p.argmax(axis=1)
    >>> grad = p[np.arange(10), c, None] * (clf.coef_[c] - p @ clf.coef_)
    >>> good = infidelity(clf, X[:10], grad.reshape(10, 8, 8), random_state=0,
    ...                   image_shape=(8, 8))
    >>> bad = infidelity(clf, X[:10], noise, random_state=0, image_shape=(8, 8))
    >>> bool(good.mean() < bad.mean())
    True
    >>> # the default rescaling makes the score blind to the maps' unit
    >>> shrunk = infidelity(clf, X[:10], grad.reshape(10, 8, 8) / 100,
    ...                     random_state=0, image_shape=(8, 8))
    >>> np.allclose(shrunk, good)
    True
    """
    images, layout, a, p0, cls = _prepare(
        estimator, X, attributions, targets, image_shape, batch_size
    )
    n, height, width, _ = images.shape
    degenerate = degenerate_maps(a)
    # Dot products of maps scaled to a peak of 1 (rescaled below): maps of any
    # magnitude (1e200 included) give the rescaled score without overflow.
    peak = np.abs(a).max(axis=(1, 2))
    peak = np.where(peak > 0, peak, 1.0)
    a = a / peak[:, np.newaxis, np.newaxis]
    scale = noise_scale * images.std(axis=(1, 2, 3), dtype=np.float64)
    rngs = image_rngs(call_seed(random_state), images)
    per_image = n_repeats * n_perturbations
    total = n * per_image  # pairs ordered (image, repeat, perturbation)
    dots, drops = np.empty(total), np.empty(total)
    for pairs in _chunks(
        total, model_batch_size(estimator, images.shape[1:], batch_size)
    ):
        img = pairs // per_image
        # One value per pixel, shared by its channels, from the image's stream.
        noise = np.stack([rngs[i].standard_normal((height, width)) for i in img])
        noise *= scale[img][:, np.newaxis, np.newaxis]
        proba = _target_proba(
            estimator,
            images[img] - noise[..., np.newaxis],
            layout,
            cls[img],
            batch_size=batch_size,
        )
        drops[pairs] = p0[img] - proba
        dots[pairs] = np.einsum("bhw,bhw->b", noise, a[img])
    # (n_repeats, n_perturbations, n), as _summarize expects repeats first.
    dots = dots.reshape(n, n_repeats, n_perturbations).transpose(1, 2, 0)
    drops = drops.reshape(n, n_repeats, n_perturbations).transpose(1, 2, 0)
    if normalize:
        num, den = (dots * drops).sum(axis=1), (dots * dots).sum(axis=1)
        beta = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        dots = dots * np.maximum(beta, 0.0)[:, np.newaxis]
    else:
        dots = dots * peak
    with np.errstate(over="ignore"):
        errors = ((dots - drops) ** 2).mean(axis=1)
    if not np.isfinite(errors).all():
        raise ValueError(
            "infidelity overflows float64 for attributions this large (largest "
            f"|value| {peak.max():.3g}); rescale them or pass normalize=True."
        )
    degenerate = warn_degenerate(degenerate, metric="infidelity")
    return _summarize(errors, return_std, degenerate)
