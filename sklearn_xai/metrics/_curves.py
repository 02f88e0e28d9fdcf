"""Deletion and insertion curves and the areas under them (Petsiuk et al.).

The conventions shared by the faithfulness metrics (what a pixel is, the
baselines, the tie rule, constant maps) are in
:mod:`sklearn_xai.metrics._perturb`.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch

from ..utils._compat import Interval, validate_params
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
