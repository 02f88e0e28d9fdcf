"""Infidelity (Yeh et al. 2019).

The conventions shared by the faithfulness metrics (what a pixel is, the
baselines, the tie rule, constant maps) are in
:mod:`sklearn_xai.metrics._perturb`.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._adapter._predict import model_batch_size
from ..utils._compat import Interval, validate_params
from ..utils._seeds import call_seed, image_rngs
from ._checks import degenerate_maps, direction, warn_degenerate
from ._perturb import (
    _COMMON,
    _RANDOM,
    _chunks,
    _prepare,
    _summarize,
    _target_proba,
)


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
