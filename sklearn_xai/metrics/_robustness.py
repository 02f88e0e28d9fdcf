"""Robustness metrics: how much an explanation changes when its input barely does.

Each metric re-explains randomly perturbed copies of the images with the
fitted explainer, for the class explained on the original images, and
compares the new maps with the original ones. Lower is better: a robust
explanation of a locally smooth model moves little.

Noise lives on each image's own value scale: ``radius`` is a fraction of the
image's range ``max(x) - min(x)`` (1 for a constant image), so the same
``radius`` means the same thing for images in ``[0, 1]`` and in ``[0, 255]``,
and an image's score never depends on the other images of the batch. For
images in ``[0, 1]`` the perturbations are Quantus's absolute ones.

Every image draws its noise from its own stream, seeded by ``random_state``
and the image's content, so its score is the same alone, in any batch and at
any position. Random explainers (LIME, Kernel SHAP, RISE, SmoothGrad, ...)
are re-explained by a copy seeded from the metric's ``random_state``, each
perturbed copy with the random draws of its original image: the metrics
measure how the explanation moves with the input, not the method's sampling
noise (with fresh draws per call, an unseeded RISE "moves" at any radius).

A constant explanation of the original image (all pixels equal, e.g. all
zero) scores NaN, with one ``DegenerateExplanationWarning`` per call: it
explains nothing, and its zero norm would divide the sensitivity.
"""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._compat import Interval, StrOptions, validate_params
from ..utils._seeds import call_seed, image_rngs
from ..utils._validation import ImageLayout
from ._checks import (
    check_images,
    class_indices,
    degenerate_maps,
    direction,
    nan_where_degenerate,
    warn_degenerate,
)

_SIGNS = ("signed", "absolute", "positive")

#: Parameters shared by the robustness metrics, validated declaratively.
_PARAMS = {
    "explainer": "no_validation",
    "X": ["array-like"],
    "targets": "no_validation",
    "radius": [Interval(Real, 0, None, closed="neither")],
    "n_samples": [Interval(Integral, 1, None, closed="left")],
    "n_repeats": [Interval(Integral, 1, None, closed="left")],
    "normalize": ["boolean"],
    "sign": [StrOptions(set(_SIGNS))],
    "return_std": ["boolean"],
    "random_state": ["random_state"],
}


# -- shared machinery ---------------------------------------------------------


def _check_explainer(explainer, name="explainer"):
    if not (hasattr(explainer, "explain") and hasattr(explainer, "fit")):
        raise TypeError(
            f"{name} must be a fitted sklearn_xai explainer (with fit and explain); "
            f"got {type(explainer).__name__}."
        )
    check_is_fitted(explainer)


def _prepare(explainer, X, targets):
    """Validate; return ``(images, layout_ndim, labels, class indices)``.

    ``targets=None`` is the class the explainer's model predicts for each
    original image (kept for its perturbed copies).
    """
    _check_explainer(explainer)
    image_shape = getattr(explainer, "image_shape", None)
    if image_shape is None and np.ndim(X) == 2:
        image_shape = getattr(explainer, "image_shape_", None)
    images, layout_ndim = check_images(X, image_shape=image_shape)
    indices = class_indices(
        explainer.estimator_,
        images,
        explainer.input_ndim_,
        targets,
        batch_size=_batch_size(explainer),
    )
    return images, layout_ndim, np.asarray(explainer.classes_)[indices], indices


def _batch_size(explainer):
    """Rows per model call of a fitted explainer (its ``batch_size``, or by model)."""
    if hasattr(explainer, "_model_batch_size"):
        return int(explainer._model_batch_size())
    return int(getattr(explainer, "batch_size", None) or 32)


def seeded_copy(explainer, seed):
    """The fitted explainer with ``random_state=seed``, as a shallow copy.

    Explainers without a ``random_state`` parameter are returned as they are
    (they draw nothing at random). The copy shares the fitted model and never
    changes the user's explainer.
    """
    get_params = getattr(explainer, "get_params", None)
    if get_params is None or "random_state" not in get_params(deep=False):
        return explainer
    work = copy.copy(explainer)
    work.random_state = seed
    return work


def _explain(explainer, images, layout_ndim, labels, seeds_from=None):
    """float64 maps ``(m, H, W)`` of ``(m, H, W, C)`` images, one explain call.

    ``seeds_from`` (images like ``images``) makes image i draw the random
    numbers of ``seeds_from[i]`` (its original, for a perturbed copy).
    """
    restore = ImageLayout(ndim=layout_ndim).restore
    if seeds_from is not None and hasattr(explainer, "_explain_seeded"):
        maps = explainer._explain_seeded(
            restore(images), labels, seeds_from=restore(seeds_from)
        )
    else:
        maps = explainer.explain(restore(images), labels)
    return np.asarray(maps, dtype=np.float64)


def _postprocess(maps, *, normalize, sign):
    """Quantus's order: normalize each map by its largest magnitude, then sign.

    ``sign`` is how signed relevance is read, as in the localization
    metrics: ``"signed"`` as is, ``"absolute"`` magnitudes (Quantus's
    ``abs=True``), ``"positive"`` the evidence for the class, ``max(a, 0)``.
    """
    if normalize:
        peak = np.abs(maps).max(axis=(1, 2), keepdims=True)
        maps = np.divide(maps, peak, out=maps.copy(), where=peak > 0)
    if sign == "absolute":
        maps = np.abs(maps)
    elif sign == "positive":
        maps = np.maximum(maps, 0.0)
    return maps


def _image_scale(images):
    """Each image's value range ``(n, 1, 1, 1)`` (1 for a constant image)."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    scale = flat.max(axis=1) - flat.min(axis=1)
    return np.where(scale > 0, scale, 1.0)[:, None, None, None]


def _perturbations(images, *, radius, noise, n_rounds, rngs):
    """Yield ``n_rounds`` perturbed copies of the batch (never the batch itself).

    ``uniform``: noise uniform in the L-infinity ball of half-width
    ``radius * range``; ``gaussian``: normal noise of that standard deviation.
    Image i's noise comes from ``rngs[i]`` alone, round after round.
    """
    scale = radius * _image_scale(images)
    dtype = images.dtype if np.issubdtype(images.dtype, np.floating) else np.float32
    shape = images.shape[1:]
    for _ in range(n_rounds):
        if noise == "uniform":
            delta = np.stack([rng.uniform(-1.0, 1.0, size=shape) for rng in rngs])
        else:
            delta = np.stack([rng.standard_normal(size=shape) for rng in rngs])
        yield (images + delta * scale).astype(dtype, copy=False)


def _ratios(
    explainer,
    images,
    layout_ndim,
    labels,
    perturbed,
    *,
    kind,
    normalize,
    sign,
    relative=True,
    reference=None,
):
    """Per-round ratios ``(n_rounds, n)`` for explicit perturbed batches.

    ``kind="sensitivity"``: ``||a(x') - a(x)||_F`` (over ``||a(x)||_F`` when
    ``relative``); ``kind="lipschitz"``: ``||a(x) - a(x')||_2 / ||x - x'||_2``.
    ``perturbed`` is a sequence of ``(n, H, W, C)`` batches; several rounds
    are explained in one call while they fit in the explainer's
    ``batch_size`` (one round, i.e. all n images, per call otherwise), which
    changes no value since an explanation never depends on its batch. Each
    perturbed copy is explained with the random draws of its original image.
    """
    n = len(images)
    if reference is None:
        reference = _explain(explainer, images, layout_ndim, labels)
    reference = _postprocess(reference, normalize=normalize, sign=sign)
    ref_flat = reference.reshape(n, -1)
    ref_norm = np.linalg.norm(ref_flat, axis=1)
    x_flat = images.reshape(n, -1).astype(np.float64)
    per_call = max(1, _batch_size(explainer) // n)

    out = []
    pending = []

    def flush():
        batch = np.concatenate(pending)
        originals = np.concatenate([images] * len(pending))
        maps = _explain(
            explainer,
            batch,
            layout_ndim,
            np.tile(labels, len(pending)),
            seeds_from=originals,
        )
        maps = _postprocess(maps, normalize=normalize, sign=sign)
        for r, xp in enumerate(pending):
            diff = np.linalg.norm(
                maps[r * n : (r + 1) * n].reshape(n, -1) - ref_flat, axis=1
            )
            if kind == "lipschitz":
                dist = np.linalg.norm(
                    xp.reshape(n, -1).astype(np.float64) - x_flat, axis=1
                )
                out.append(_safe_divide(diff, dist))
            elif relative:
                out.append(_safe_divide(diff, ref_norm))
            else:
                out.append(diff)
        pending.clear()

    for xp in perturbed:
        pending.append(np.asarray(xp))
        if len(pending) == per_call:
            flush()
    if pending:
        flush()
    return np.stack(out)


def _safe_divide(num, den):
    """``num / den`` with ``0 / 0 = 0`` and ``x / 0 = inf``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    return np.where(den > 0, ratio, np.where(num > 0, np.inf, 0.0))


def _estimate(
    explainer,
    X,
    targets,
    *,
    kind,
    reduce,
    radius,
    noise,
    n_samples,
    n_repeats,
    normalize,
    sign,
    relative,
    return_std,
    random_state,
    metric,
):
    images, layout_ndim, labels, _ = _prepare(explainer, X, targets)
    seed = call_seed(random_state)
    explainer = seeded_copy(explainer, seed)
    rngs = image_rngs(seed, images)
    reference = _explain(explainer, images, layout_ndim, labels)
    scores = np.stack(
        [
            reduce(
                _ratios(
                    explainer,
                    images,
                    layout_ndim,
                    labels,
                    _perturbations(
                        images,
                        radius=radius,
                        noise=noise,
                        n_rounds=n_samples,
                        rngs=rngs,
                    ),
                    kind=kind,
                    normalize=normalize,
                    sign=sign,
                    relative=relative,
                    reference=reference,
                ),
                axis=0,
            )
            for _ in range(n_repeats)
        ]
    )
    # A constant original map (a zero norm for "relative") is no explanation.
    degenerate = warn_degenerate(degenerate_maps(reference), metric=metric)
    scores = nan_where_degenerate(scores, degenerate, axis=1)
    mean = scores.mean(axis=0)
    if return_std:
        return mean, scores.std(axis=0)
    return mean


# -- public metrics -----------------------------------------------------------


@direction(greater_is_better=False)
@validate_params(
    {**_PARAMS, "relative": ["boolean"]}, prefer_skip_nested_validation=True
)
def max_sensitivity(
    explainer,
    X,
    *,
    targets=None,
    radius=0.2,
    n_samples=20,
    n_repeats=1,
    relative=True,
    normalize=False,
    sign="signed",
    return_std=False,
    random_state=None,
):
    r"""Max-sensitivity: the largest relative change of an explanation under noise.

    For each image :math:`x` with explanation :math:`a(x)` of class
    :math:`c`, draws ``n_samples`` perturbed copies
    :math:`x' = x + \delta`, :math:`\delta` uniform in the L-infinity ball of
    radius :math:`r = \text{radius} \cdot (\max x - \min x)`, re-explains
    them for the same class :math:`c` and returns

    .. math::

        \text{SENS}_{\max}(x) = \max_{x'}
        \frac{\lVert a(x') - a(x) \rVert_F}{\lVert a(x) \rVert_F}

    (without the denominator when ``relative=False``). **Lower is better**;
    0 means the explanation did not move at all. Constant maps give NaN (with
    a :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`): an image
    whose explanation :math:`a(x)` is constant scores NaN, never ``inf``.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted :class:`~sklearn_xai.base.BaseExplainer` (e.g.
        ``SaliencyExplainer(FrozenEstimator(clf)).fit(X)``). It is only
        called, never modified.
    X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
        The images, as the explainer takes them. Never modified.
    targets : array-like of shape (n,), scalar or None, default=None
        Class labels to explain (as in ``explainer.classes_``); None uses
        the class the model predicts for each *original* image, kept for its
        perturbed copies.
    radius : float, default=0.2
        Half-width of the noise, as a fraction of each image's value range
        (for images in [0, 1], Quantus's absolute ``lower_bound=0.2``).
    n_samples : int, default=20
        Perturbed copies per image. Each round explains all n perturbed
        images in one ``explain`` call (rounds are grouped while they fit in
        the explainer's ``batch_size``).
    n_repeats : int, default=1
        Independent repetitions of the whole estimate; the result is their
        mean (and standard deviation with ``return_std``).
    relative : bool, default=True
        Divide by :math:`\lVert a(x) \rVert_F` (Quantus's default), making
        the score free of the attribution's unit; False gives Yeh et al.'s
        absolute :math:`\max \lVert a(x') - a(x) \rVert`. A constant (e.g.
        zero) explanation scores NaN either way.
    normalize : bool, default=False
        Divide every map by its largest magnitude first (as Quantus's
        ``normalise``, but per map: Quantus divides a whole batch by one
        maximum, so an image's score there depends on its batch-mates).
    sign : {"signed", "absolute", "positive"}, default="signed"
        Compare the maps as they are, their magnitudes (Quantus's
        ``abs=True``) or their positive parts, after ``normalize`` (the
        ``sign`` of the localization metrics).
    return_std : bool, default=False
        Also return the standard deviation over ``n_repeats``.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise (each image its own stream, from ``random_state``
        and the image's content, so an image scores the same in any batch)
        and a random explainer: an explainer with a ``random_state``
        parameter is re-explained by a copy seeded from this one, each
        perturbed copy with its original's draws, so that sampling noise is
        not counted as sensitivity. An int gives identical results on every
        call.

    Returns
    -------
    scores : ndarray of shape (n,), float64
        Max-sensitivity of each image (mean over repeats).
    std : ndarray of shape (n,), float64
        Only with ``return_std=True``.

    See Also
    --------
    avg_sensitivity : The mean instead of the maximum.
    local_lipschitz_estimate : The change relative to the input's change.

    Notes
    -----
    Agrees with ``quantus.MaxSensitivity`` (0.6, default arguments) fed the
    same perturbations, for images in [0, 1]. Differences: the noise is
    relative to each image's value range and drawn per image (Quantus draws a
    batch's noise from numpy's global stream, so an image's score there
    depends on its batch-mates); a random explainer is re-explained with
    fixed draws (Quantus calls it afresh); normalization (off by default in
    both) is per map; the default ``n_samples`` is 20, not 200 (pass 200 for
    Quantus's estimate, at 10 times the cost); Quantus's optional NaN on a
    changed prediction is not offered (the target class stays fixed, as in
    the paper).

    References
    ----------
    .. [1] C.-K. Yeh, C.-Y. Hsieh, A. S. Suggala, D. I. Inouye and P.
       Ravikumar, "On the (in)fidelity and sensitivity of explanations",
       NeurIPS 2019.
    .. [2] U. Bhatt, A. Weller and J. M. F. Moura, "Evaluating and
       aggregating feature-based model explanations", IJCAI 2020.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import SaliencyExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.metrics import max_sensitivity
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = SaliencyExplainer(FrozenEstimator(clf)).fit(X[:100])
    >>> scores = max_sensitivity(explainer, X[:4], n_samples=5, random_state=0)
    >>> scores.shape
    (4,)
    """
    return _estimate(
        explainer,
        X,
        targets,
        kind="sensitivity",
        reduce=np.max,
        radius=radius,
        noise="uniform",
        n_samples=n_samples,
        n_repeats=n_repeats,
        normalize=normalize,
        sign=sign,
        relative=relative,
        return_std=return_std,
        random_state=random_state,
        metric="max_sensitivity",
    )


@direction(greater_is_better=False)
@validate_params(
    {**_PARAMS, "relative": ["boolean"]}, prefer_skip_nested_validation=True
)
def avg_sensitivity(
    explainer,
    X,
    *,
    targets=None,
    radius=0.2,
    n_samples=20,
    n_repeats=1,
    relative=True,
    normalize=False,
    sign="signed",
    return_std=False,
    random_state=None,
):
    r"""Average sensitivity: the mean relative change of an explanation under noise.

    As :func:`max_sensitivity`, with the mean over the perturbed copies
    instead of the maximum:

    .. math::

        \text{SENS}_{\text{avg}}(x) = \frac{1}{m} \sum_{j=1}^{m}
        \frac{\lVert a(x'_j) - a(x) \rVert_F}{\lVert a(x) \rVert_F},
        \qquad x'_j = x + \delta_j,\ \lVert \delta_j \rVert_\infty \le r.

    **Lower is better**. Parameters are those of :func:`max_sensitivity`.
    Constant maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`).

    Parameters
    ----------
    explainer : fitted explainer
        A fitted explainer; only called.
    X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
        The images. Never modified.
    targets : array-like of shape (n,), scalar or None, default=None
        Class labels to explain; None uses the predicted class of each
        original image.
    radius : float, default=0.2
        Half-width of the uniform noise as a fraction of each image's range.
    n_samples : int, default=20
        Perturbed copies per image (one ``explain`` call per round at most).
    n_repeats : int, default=1
        Independent repetitions; the result is their mean.
    relative : bool, default=True
        Divide by :math:`\lVert a(x) \rVert_F` (Quantus); False gives Yeh et
        al.'s absolute change.
    normalize : bool, default=False
        Divide each map by its largest magnitude first (per map; Quantus
        divides a batch by one maximum).
    sign : {"signed", "absolute", "positive"}, default="signed"
        Compare the maps as they are, their magnitudes or their positive
        parts.
    return_std : bool, default=False
        Also return the standard deviation over ``n_repeats``.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise (per image) and a random explainer, as in
        :func:`max_sensitivity`.

    Returns
    -------
    scores : ndarray of shape (n,), float64
        Average sensitivity of each image.
    std : ndarray of shape (n,), float64
        Only with ``return_std=True``.

    See Also
    --------
    max_sensitivity : The worst case over the perturbed copies.

    Notes
    -----
    Agrees with ``quantus.AvgSensitivity`` (0.6) fed the same perturbations;
    differences as for :func:`max_sensitivity`.

    References
    ----------
    .. [1] C.-K. Yeh, C.-Y. Hsieh, A. S. Suggala, D. I. Inouye and P.
       Ravikumar, "On the (in)fidelity and sensitivity of explanations",
       NeurIPS 2019.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import SaliencyExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.metrics import avg_sensitivity
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = SaliencyExplainer(FrozenEstimator(clf)).fit(X[:100])
    >>> mean, std = avg_sensitivity(explainer, X[:4], n_samples=3, n_repeats=2,
    ...                             return_std=True, random_state=0)
    >>> mean.shape, std.shape
    ((4,), (4,))
    """
    return _estimate(
        explainer,
        X,
        targets,
        kind="sensitivity",
        reduce=np.mean,
        radius=radius,
        noise="uniform",
        n_samples=n_samples,
        n_repeats=n_repeats,
        normalize=normalize,
        sign=sign,
        relative=relative,
        return_std=return_std,
        random_state=random_state,
        metric="avg_sensitivity",
    )


@direction(greater_is_better=False)
@validate_params(
    {**_PARAMS, "noise": [StrOptions({"uniform", "gaussian"})]},
    prefer_skip_nested_validation=True,
)
def local_lipschitz_estimate(
    explainer,
    X,
    *,
    targets=None,
    radius=0.1,
    noise="uniform",
    n_samples=20,
    n_repeats=1,
    normalize=True,
    sign="signed",
    return_std=False,
    random_state=None,
):
    r"""Local Lipschitz estimate: the steepest change of an explanation near x.

    For each image :math:`x`, draws ``n_samples`` perturbed copies
    :math:`x'` in a neighbourhood of :math:`x`, re-explains them for the
    same class and returns

    .. math::

        \hat L(x) = \max_{x'} \frac{\lVert a(x) - a(x') \rVert_2}
        {\lVert x - x' \rVert_2},

    the norms taken over all pixels (and channels, for :math:`x`), in the
    images' own value units. **Lower is better**. Constant maps give NaN
    (with a :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`): an
    image whose explanation :math:`a(x)` is constant scores NaN.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted explainer; only called.
    X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
        The images. Never modified.
    targets : array-like of shape (n,), scalar or None, default=None
        Class labels to explain; None uses the predicted class of each
        original image.
    radius : float, default=0.1
        Size of the neighbourhood as a fraction of each image's value range:
        the half-width of uniform noise, or the standard deviation of
        Gaussian noise.
    noise : {"uniform", "gaussian"}, default="uniform"
        ``"uniform"`` samples the ball :math:`B_\varepsilon(x)` (L-infinity)
        over which the paper takes its maximum; ``"gaussian"`` is Quantus's
        default sampler (``perturb_std=0.1``), whose samples are unbounded.
    n_samples : int, default=20
        Perturbed copies per image (one ``explain`` call per round at most).
    n_repeats : int, default=1
        Independent repetitions; the result is their mean.
    normalize : bool, default=True
        Divide each map by its largest magnitude first, as Quantus's default
        ``normalise=True`` (per map here; Quantus divides a batch by one
        maximum).
    sign : {"signed", "absolute", "positive"}, default="signed"
        Compare the maps as they are, their magnitudes or their positive
        parts.
    return_std : bool, default=False
        Also return the standard deviation over ``n_repeats``.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise (per image) and a random explainer, as in
        :func:`max_sensitivity`.

    Returns
    -------
    scores : ndarray of shape (n,), float64
        Local Lipschitz estimate of each image.
    std : ndarray of shape (n,), float64
        Only with ``return_std=True``.

    See Also
    --------
    max_sensitivity : The change relative to the explanation's size.

    Notes
    -----
    Agrees with ``quantus.LocalLipschitzEstimate`` (0.6) fed the same
    perturbations (Quantus adds 1e-10 to the denominator, which changes
    nothing measurable). Deviations: the default neighbourhood is the
    paper's bounded ball, not Quantus's Gaussian noise; normalization is per
    map.

    References
    ----------
    .. [1] D. Alvarez-Melis and T. S. Jaakkola, "On the robustness of
       interpretability methods", ICML Workshop on Human Interpretability in
       Machine Learning, 2018.
    .. [2] D. Alvarez-Melis and T. S. Jaakkola, "Towards robust
       interpretability with self-explaining neural networks", NeurIPS 2018.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import SaliencyExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.metrics import local_lipschitz_estimate
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = SaliencyExplainer(FrozenEstimator(clf)).fit(X[:100])
    >>> local_lipschitz_estimate(explainer, X[:4], n_samples=5,
    ...                          random_state=0).shape
    (4,)
    """
    return _estimate(
        explainer,
        X,
        targets,
        kind="lipschitz",
        reduce=np.max,
        radius=radius,
        noise=noise,
        n_samples=n_samples,
        n_repeats=n_repeats,
        normalize=normalize,
        sign=sign,
        relative=True,
        return_std=return_std,
        random_state=random_state,
        metric="local_lipschitz_estimate",
    )
