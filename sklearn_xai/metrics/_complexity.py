"""Complexity metrics: how concentrated an attribution map is.

They need no model: each takes the attribution batch ``(n, H, W)`` and returns
one score per map. All three look at the magnitude ``|a|`` of the relevance
(its sign says *which* class a pixel supports, not *how much* it matters).
A constant map (all pixels equal, e.g. all zero) explains nothing: it scores
NaN, with one ``DegenerateExplanationWarning`` per call.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.special import xlogy

from ..utils._compat import Interval, validate_params
from ._checks import (
    check_attributions,
    degenerate_maps,
    direction,
    nan_where_degenerate,
    warn_degenerate,
)

#: Pixels scored at once. A whole 16-image 224x224 batch needs temporaries of
#: several megabytes, fresh memory on every call whose page faults cost more
#: than the arithmetic (measured: up to 2x slower); one 224x224 image, or many
#: small ones, at a time stays in reused memory and in cache.
_CHUNK_PIXELS = 1 << 16


def as_batch(attributions):
    """``attributions`` as an array, not yet copied to float64.

    A wrong ndim or an empty batch raises check_attributions' error now; each
    chunk goes through check_attributions (a float64 copy) when scored.
    """
    a = np.asarray(attributions)
    if a.ndim != 3 or a.shape[0] == 0:
        check_attributions(a)  # raises the shared, explicit error
    return a


def chunks(shape):
    """Slices of a few images each (at most ``_CHUNK_PIXELS`` pixels)."""
    n_images, height, width = shape
    step = max(1, _CHUNK_PIXELS // max(1, height * width))
    return [slice(i, min(i + step, n_images)) for i in range(0, n_images, step)]


def _per_chunk(score, attributions, metric):
    """``score(|a|)`` on ``(m, H*W)`` float64 chunks (our copies), concatenated.

    Constant maps score NaN, with one warning naming ``metric``.
    """
    a = as_batch(attributions)
    scores, degenerate = [], []
    for chunk in chunks(a.shape):
        x = check_attributions(a[chunk])
        x = x.reshape(x.shape[0], -1)
        degenerate.append(degenerate_maps(x))
        scores.append(score(np.abs(x, out=x)))
    degenerate = warn_degenerate(np.concatenate(degenerate), metric=metric)
    return nan_where_degenerate(np.concatenate(scores), degenerate)


def _gini(x):
    """Gini index of each row of ``x >= 0`` (edited in place)."""
    n_pixels = x.shape[1]
    total = x.sum(axis=1)
    x32 = x.astype(np.float32)
    if np.array_equal(x32, x):  # float32 attributions: sort at half the cost
        x32.sort(axis=1)
        x[...] = x32
    else:
        x.sort(axis=1)
    x *= 2.0 * np.arange(1, n_pixels + 1) - n_pixels - 1.0
    numerator = x.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, numerator / (n_pixels * safe), 0.0)


def _entropy(x):
    """Entropy of each row of ``x >= 0`` normalized to sum 1 (edited in place)."""
    # An all-zero map is the limit of a constant map: uniform.
    x[x.sum(axis=1) == 0] = 1.0
    total = x.sum(axis=1)
    # H = log S - sum(x log x) / S, one logarithm per pixel (0 log 0 = 0).
    x_log_x = xlogy(x, x, out=x)
    return np.log(total) - x_log_x.sum(axis=1) / total


@direction(greater_is_better=True)
@validate_params({"attributions": ["array-like"]}, prefer_skip_nested_validation=True)
def sparseness(attributions):
    r"""Gini index of the attribution magnitudes (Chalasani et al., 2020).

    With :math:`x_{(1)} \le \dots \le x_{(N)}` the sorted magnitudes
    :math:`|a_j|` of one map of :math:`N = H W` pixels,

    .. math::

        G = \frac{\sum_{i=1}^{N} (2i - N - 1)\, x_{(i)}}{N \sum_{i=1}^{N} x_{(i)}}
        \in [0, 1 - 1/N].

    A map whose relevance sits on a single pixel scores :math:`(N-1)/N`, a
    map of equal magnitudes with both signs 0. Higher is better (a sparse,
    concise explanation). Constant maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`).

    Parameters
    ----------
    attributions : array-like of shape (n, H, W)
        Attribution maps; their absolute values are used.

    Returns
    -------
    scores : ndarray of shape (n,), float64
        The Gini index of each map; NaN for a constant map (e.g. all zero).

    Notes
    -----
    The score is invariant to positive scaling of a map, so it needs no
    normalization. Quantus 0.6 (``quantus.Sparseness``) adds ``1e-7`` to every
    value after dividing the batch by its largest magnitude, which scales the
    index by :math:`S / (S + 10^{-7} N)` (:math:`S` the sum of the normalized
    magnitudes of the map): negligible for dense maps, but a one-hot 224x224
    map gets 0.995 instead of the exact :math:`(N-1)/N`, and a map's score
    depends on the other maps in its batch. We follow the paper's formula.

    References
    ----------
    .. [1] P. Chalasani, J. Chen, A. R. Chowdhury, X. Wu and S. Jha, "Concise
       explanations of neural networks using adversarial training", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.metrics import sparseness
    >>> one_hot = np.zeros((1, 4, 4)); one_hot[0, 1, 2] = 3.0
    >>> sparseness(one_hot)  # (16 - 1) / 16
    array([0.9375])
    >>> sparseness(np.where(np.eye(4) > 0, 1.0, -1.0)[np.newaxis])  # |a| = 1
    array([0.])
    """
    return _per_chunk(_gini, attributions, "sparseness")


@direction(greater_is_better=False)
@validate_params({"attributions": ["array-like"]}, prefer_skip_nested_validation=True)
def complexity(attributions):
    r"""Entropy of the normalized attribution magnitudes (Bhatt et al., 2020).

    Each map is turned into a distribution over its :math:`N` pixels,
    :math:`p_j = |a_j| / \sum_k |a_k|`, and scored by its Shannon entropy (in
    nats)

    .. math::

        H = -\sum_{j=1}^{N} p_j \log p_j \in [0, \log N],

    with :math:`0 \log 0 = 0`. Lower is better: relevance on few pixels is a
    simpler explanation (one pixel scores 0, equal magnitudes :math:`\log N`).
    Constant maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`).

    Parameters
    ----------
    attributions : array-like of shape (n, H, W)
        Attribution maps; their absolute values are used.

    Returns
    -------
    scores : ndarray of shape (n,), float64
        The entropy of each map; NaN for a constant map (e.g. all zero).

    Notes
    -----
    Invariant to positive scaling. Quantus 0.6 (``quantus.Complexity``)
    computes :math:`-\sum_j p_j \log(p_j + 10^{-12})`, which differs from the
    exact entropy by at most :math:`N \cdot 10^{-12}`, and returns NaN for an
    all-zero map (and :math:`\log N` for other constant maps).

    References
    ----------
    .. [1] U. Bhatt, A. Weller and J. M. F. Moura, "Evaluating and aggregating
       feature-based model explanations", IJCAI 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.metrics import complexity
    >>> uniform = np.array([[[0.5, -0.5], [-0.5, 0.5]]])
    >>> complexity(uniform)  # log(4)
    array([1.3862...])
    >>> one_hot = np.zeros((1, 2, 2)); one_hot[0, 0, 0] = -2.0
    >>> complexity(one_hot)
    array([0.])
    """
    return _per_chunk(_entropy, attributions, "complexity")


@direction(greater_is_better=False)
@validate_params(
    {
        "attributions": ["array-like"],
        "eps": [Interval(Real, 0, None, closed="left")],
        "normalize": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def effective_complexity(attributions, *, eps=1e-5, normalize=True):
    r"""Number of pixels whose relevance exceeds a threshold (Nguyen & Martinez).

    .. math::

        C_\varepsilon = \left|\{\, j : |\tilde a_j| > \varepsilon \,\}\right|,
        \qquad \tilde a = a / \max_k |a_k| \text{ if normalize, else } a.

    Lower is better: fewer pixels carry the explanation. Constant maps give
    NaN (with a :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`),
    where an all-zero map would otherwise score a perfect 0.

    Parameters
    ----------
    attributions : array-like of shape (n, H, W)
        Attribution maps; their absolute values are used.
    eps : float, default=1e-5
        Threshold, non-negative. With ``normalize=True`` it is a fraction of
        each map's largest magnitude.
    normalize : bool, default=True
        Divide each map by its largest magnitude first, so ``eps`` does not
        depend on the scale of the attributions.

    Returns
    -------
    scores : ndarray of shape (n,), float64
        The count of each map, between 0 and ``H * W``; NaN for a constant
        map.

    Notes
    -----
    Quantus 0.6 (``quantus.EffectiveComplexity``, same defaults ``eps=1e-5``,
    ``abs=True``, ``normalise=True``) divides by the largest magnitude of the
    *whole batch*, so an image's score depends on which other images share
    its batch. We normalize each map by its own maximum, which is what Quantus
    computes with ``normalise_func_kwargs={"normalise_axes": (1, 2, 3)}`` or
    one image at a time. The paper thresholds the raw attributions
    (``normalize=False``).

    References
    ----------
    .. [1] A. Nguyen and M. R. Martinez, "On quantitative aspects of model
       interpretability", arXiv:2007.07584, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.metrics import effective_complexity
    >>> a = np.array([[[4.0, -2.0], [0.0, 1e-9]]])
    >>> effective_complexity(a)
    array([2.])
    >>> effective_complexity(a, eps=0.6)  # only |4| / 4 > 0.6
    array([1.])
    """
    if isinstance(eps, bool) or not np.isfinite(eps):
        raise ValueError(f"eps must be a finite number >= 0; got {eps!r}.")

    def count(x):
        if normalize:
            peak = x.max(axis=1, keepdims=True)
            x /= np.where(peak > 0, peak, 1.0)
        return np.count_nonzero(x > eps, axis=1).astype(np.float64)

    return _per_chunk(count, attributions, "effective_complexity")
