"""Localization metrics: does the relevance fall on the ground-truth object?

Each takes the attribution batch ``(n, H, W)`` and boolean ground-truth masks
``(n, H, W)`` and returns one score per image in ``[0, 1]``, higher is better.

How signed relevance is read is the ``sign`` parameter of every metric:
``"signed"`` uses the values as they are (Quantus's ``abs=False``),
``"absolute"`` their magnitudes (Quantus's ``abs=True``) and ``"positive"``
only the evidence *for* the class, ``max(a, 0)``. Every score here is
invariant to positive scaling of a map, so Quantus's ``normalise`` (division
by the largest magnitude) never changes a result and has no counterpart.

An image whose mask is empty has no object to localize: every metric raises a
ValueError naming it (Quantus returns NaN, which the NaN-skipping mean of
the scorers would silently drop). A constant map (all pixels equal, e.g. all
zero; judged before ``sign`` is applied) localizes nothing: it scores NaN,
with one ``DegenerateExplanationWarning`` per call saying how many maps were
constant. Ties never give free hits: pixels tied at a cut-off share its
places in proportion, the expectation over a random order of the ties.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from ..utils._compat import Interval, StrOptions, validate_params
from ._checks import (
    check_attributions,
    check_masks,
    degenerate_maps,
    direction,
    nan_where_degenerate,
    warn_degenerate,
)
from ._complexity import as_batch, chunks

_SIGNS = ("signed", "absolute", "positive")
_PARAMS = {
    "attributions": ["array-like"],
    "masks": ["array-like"],
    "sign": [StrOptions(set(_SIGNS))],
}


def _per_chunk(score, attributions, masks, sign, *, metric, need_outside=False):
    """``score(a, m, size)`` on validated chunks of a few images, concatenated.

    ``a`` is our float64 copy ``(c, H*W)`` with ``sign`` applied, ``m`` the
    boolean masks ``(c, H*W)`` and ``size`` the mask sizes ``(c,)``. Maps
    constant before ``sign`` is applied score NaN, with one warning naming
    ``metric``.
    """
    attributions = as_batch(attributions)
    masks = check_masks(masks, shape=attributions.shape)
    size = np.count_nonzero(masks.reshape(masks.shape[0], -1), axis=1)
    empty = np.flatnonzero(size == 0)
    if empty.size:
        raise ValueError(
            f"masks of images {empty.tolist()} are empty: there is no object to "
            "localize. Drop those images before scoring."
        )
    full = np.flatnonzero(size == masks[0].size)
    if need_outside and full.size:
        raise ValueError(
            f"masks of images {full.tolist()} cover the whole image: the ROC "
            "AUC needs pixels outside the mask too."
        )
    scores, degenerate = [], []
    for chunk in chunks(attributions.shape):
        a = check_attributions(attributions[chunk])
        a = a.reshape(a.shape[0], -1)
        degenerate.append(degenerate_maps(a))
        if sign == "absolute":
            np.abs(a, out=a)
        elif sign == "positive":
            np.maximum(a, 0.0, out=a)
        m = masks[chunk].reshape(a.shape)
        scores.append(score(a, m, size[chunk]))
    degenerate = warn_degenerate(np.concatenate(degenerate), metric=metric)
    return nan_where_degenerate(np.concatenate(scores), degenerate)


def _top_hits(a, m, k):
    """Mask pixels among the ``k[i]`` largest values of each row of ``a``.

    Pixels tied with the ``k``-th largest value share the remaining places in
    proportion: the expectation over a random order of the ties, so the score
    does not depend on how pixels are numbered.
    """
    n_pixels = a.shape[1]
    kth = n_pixels - k  # position of the k-th largest value in ascending order
    if np.all(kth == kth[0]):
        threshold = np.partition(a, kth[0], axis=1)[:, kth[0]]
    else:  # one kth per row: a partition at several kth is far slower
        threshold = np.array(
            [np.partition(row, j)[j] for row, j in zip(a, kth, strict=True)]
        )
    above = a > threshold[:, np.newaxis]
    tied = a == threshold[:, np.newaxis]
    n_above = above.sum(axis=1)
    n_tied = tied.sum(axis=1)
    hits_above = (above & m).sum(axis=1)
    hits_tied = (tied & m).sum(axis=1)
    return hits_above + (k - n_above) * hits_tied / n_tied


def _check_k(k, n_pixels):
    """The number of top pixels: an int ``k`` itself, a fraction of the pixels."""
    if isinstance(k, bool):
        raise ValueError(f"k must be a number of pixels or a fraction; got {k!r}.")
    if isinstance(k, Integral):
        if k > n_pixels:
            raise ValueError(
                f"k must be at most the number of pixels per image ({n_pixels}), "
                f"or a fraction of them in (0, 1]; got {k!r}."
            )
        return int(k)
    return max(1, round(k * n_pixels))


def _pointing_hits(a, m, height, width, tolerance):
    """The share of the maxima of each row of ``a`` within ``tolerance`` of ``m``.

    1.0 or 0.0 for a single maximum; for tied maxima, the chance that the
    first of them in a random order is a hit.
    """
    is_max = a == a.max(axis=1, keepdims=True)
    n_max = is_max.sum(axis=1)
    score = (is_max & m).sum(axis=1) / n_max
    if tolerance == 0 or (score == 1).all():
        return score

    # One maximum: distance from it to every mask pixel, all images at once.
    single = np.flatnonzero((score < 1) & (n_max == 1))
    if single.size:
        row, col = np.divmod(a[single].argmax(axis=1), width)
        dr = np.arange(height)[np.newaxis, :, np.newaxis] - row[:, None, None]
        dc = np.arange(width)[np.newaxis, np.newaxis, :] - col[:, None, None]
        near = (dr * dr + dc * dc) <= tolerance * tolerance
        hit = (near & m[single].reshape(-1, height, width)).any(axis=(1, 2))
        score[single] = hit
    # Tied maxima (rare): distance transform of the mask, image by image.
    tied = np.flatnonzero((score < 1) & (n_max > 1))
    if tied.size:
        from scipy.ndimage import distance_transform_edt

        for i in tied:
            distance = distance_transform_edt(~m[i].reshape(height, width))
            score[i] = np.mean(distance.ravel()[is_max[i]] <= tolerance)
    return score


@direction(greater_is_better=True)
@validate_params(
    {**_PARAMS, "tolerance": [Interval(Real, 0, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def pointing_game(attributions, masks, *, tolerance=0, sign="signed"):
    r"""Is the most relevant pixel on the object? (Zhang et al., 2018).

    .. math::

        \text{hit} = \mathbb{1}\left[\, \exists\, p \in \arg\max_j a_j,\;
        q \in \text{mask} : \lVert p - q \rVert_2 \le \text{tolerance} \right]

    Ties for the maximum give no free hit: the score is then the share of
    the tied pixels that would be hits, the expected hit of a random pick
    among them (as :func:`relevance_rank_accuracy` and
    :func:`top_k_intersection` share tied places). Constant maps give NaN
    (with a :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`).
    Higher is better; the mean over images is the pointing accuracy.

    Parameters
    ----------
    attributions : array-like of shape (n, H, W)
        Attribution maps.
    masks : array-like of bool of shape (n, H, W)
        Ground-truth object masks (0/1 accepted), none empty.
    tolerance : float, default=0
        Euclidean distance in pixels within which a maximum next to the mask
        still counts as a hit. The paper uses 15 pixels at the datasets'
        original resolution; 0 (a hit only on the mask) is Quantus's rule and
        does not depend on the image size.
    sign : {"signed", "absolute", "positive"}, default="signed"
        Use the values as they are, their magnitudes, or their positive part
        (the same maximum as "signed" unless a map has no positive value,
        when every pixel ties at 0).

    Returns
    -------
    scores : ndarray of shape (n,), float64
        1.0 for a hit, 0.0 for a miss, the share of hits among tied maxima,
        NaN for a constant map.

    Notes
    -----
    With ``tolerance=0`` this equals ``quantus.PointingGame()`` (defaults
    ``abs=False``, ``weighted=False``) on maps with a single maximum; Quantus
    counts tied maxima as a hit when any of them is, and fails an assertion
    on an all-zero map. Quantus has no tolerance. In Quantus 0.6 an empty
    mask scores a hit (the NaN it sets is cast to its boolean result) where
    we raise, and ``weighted=True`` raises a TypeError as soon as one image
    is a hit, so it has no counterpart here.

    References
    ----------
    .. [1] J. Zhang, S. A. Bargal, Z. Lin, J. Brandt, X. Shen and S. Sclaroff,
       "Top-down neural attention by excitation backprop", International
       Journal of Computer Vision 126, 1084-1102, 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.metrics import pointing_game
    >>> masks = np.zeros((2, 5, 5), dtype=bool); masks[:, :2, :2] = True
    >>> a = np.zeros((2, 5, 5)); a[0, 1, 1] = 1.0; a[1, 4, 4] = 1.0
    >>> pointing_game(a, masks)
    array([1., 0.])
    >>> pointing_game(a, masks, tolerance=5)  # (4, 4) is 3*sqrt(2) from (1, 1)
    array([1., 1.])
    >>> a[1, 0, 0] = 1.0  # two tied maxima, one on the mask
    >>> pointing_game(a, masks)
    array([1. , 0.5])
    """
    if isinstance(tolerance, bool) or not np.isfinite(tolerance):
        raise ValueError(
            f"tolerance must be a finite number of pixels >= 0; got {tolerance!r}."
        )
    _, height, width = as_batch(attributions).shape

    def hits(a, m, size):
        return _pointing_hits(a, m, height, width, tolerance)

    return _per_chunk(hits, attributions, masks, sign, metric="pointing_game")


@direction(greater_is_better=True)
@validate_params(_PARAMS, prefer_skip_nested_validation=True)
def relevance_mass_accuracy(attributions, masks, *, sign="positive"):
    r"""Share of the relevance mass inside the mask (Arras et al., 2022).

    .. math::

        \text{RMA} = \frac{\sum_{j \in \text{mask}} r_j}{\sum_{j=1}^{N} r_j},
        \qquad r = \max(a, 0) \text{ by default}.

    Higher is better (1: all relevance on the object). Constant maps give NaN
    (with a :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`).

    Parameters
    ----------
    attributions : array-like of shape (n, H, W)
        Attribution maps.
    masks : array-like of bool of shape (n, H, W)
        Ground-truth object masks (0/1 accepted), none empty.
    sign : {"positive", "absolute", "signed"}, default="positive"
        Which relevance :math:`r` is summed: the positive part (the paper),
        the magnitudes, or the raw values (Quantus's default; the ratio can
        then leave ``[0, 1]``).

    Returns
    -------
    scores : ndarray of shape (n,), float64
        In ``[0, 1]`` for "positive" and "absolute". A map with no relevance
        mass (total 0, e.g. no positive value) scores 0; a constant map NaN.

    Notes
    -----
    The paper defines the metric on non-negative pixel relevance (the authors'
    code pools the channels into positive values and checks the ratio lies in
    ``[0, 1]``); Quantus's docstring also speaks of positive attributions, but
    ``quantus.RelevanceMassAccuracy()`` (``abs=False``) sums the signed values,
    so negative evidence outside the mask *raises* its score. We follow the
    paper; ``sign="signed"`` reproduces Quantus's default and
    ``sign="absolute"`` its ``abs=True``.

    References
    ----------
    .. [1] L. Arras, A. Osman and W. Samek, "CLEVR-XAI: A benchmark dataset
       for the ground truth evaluation of neural network explanations",
       Information Fusion 81, 14-40, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.metrics import relevance_mass_accuracy
    >>> masks = np.array([[[True, False], [False, False]]])
    >>> a = np.array([[[3.0, 1.0], [-2.0, 0.0]]])
    >>> relevance_mass_accuracy(a, masks)  # 3 / (3 + 1)
    array([0.75])
    >>> relevance_mass_accuracy(a, masks, sign="signed")  # Quantus: 3 / 2
    array([1.5])
    """

    def mass(a, m, size):
        inside = np.where(m, a, 0.0).sum(axis=1)
        total = a.sum(axis=1)
        safe = np.where(total != 0, total, 1.0)
        return np.where(total != 0, inside / safe, 0.0)

    return _per_chunk(mass, attributions, masks, sign, metric="relevance_mass_accuracy")


@direction(greater_is_better=True)
@validate_params(_PARAMS, prefer_skip_nested_validation=True)
def relevance_rank_accuracy(attributions, masks, *, sign="signed"):
    r"""Share of the mask among the most relevant pixels (Arras et al., 2022).

    With :math:`K` the number of mask pixels and :math:`P_K` the :math:`K`
    pixels of highest relevance,

    .. math::

        \text{RRA} = \frac{|P_K \cap \text{mask}|}{K}.

    Pixels tied with the :math:`K`-th highest value share the places left in
    proportion (the expectation over a random order of the ties). Constant
    maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`). Higher is
    better.

    Parameters
    ----------
    attributions : array-like of shape (n, H, W)
        Attribution maps.
    masks : array-like of bool of shape (n, H, W)
        Ground-truth object masks (0/1 accepted), none empty.
    sign : {"signed", "absolute", "positive"}, default="signed"
        Rank the values as they are, their magnitudes, or their positive part.
        "signed" picks the same top pixels as "positive" whenever a map has
        at least :math:`K` positive values, and otherwise ranks the rest
        instead of leaving them tied at zero.

    Returns
    -------
    scores : ndarray of shape (n,), float64
        In ``[0, 1]``.

    Notes
    -----
    Equals ``quantus.RelevanceRankAccuracy()`` (``abs=False``) on maps
    without ties; Quantus breaks ties by its sort order.

    References
    ----------
    .. [1] L. Arras, A. Osman and W. Samek, "CLEVR-XAI: A benchmark dataset
       for the ground truth evaluation of neural network explanations",
       Information Fusion 81, 14-40, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.metrics import relevance_rank_accuracy
    >>> masks = np.array([[[True, True], [False, False]]])
    >>> a = np.array([[[0.9, 0.1], [0.5, 0.0]]])
    >>> relevance_rank_accuracy(a, masks)  # top 2 = {0.9, 0.5}: one on the mask
    array([0.5])
    """

    def rank(a, m, size):
        return _top_hits(a, m, size) / size

    return _per_chunk(rank, attributions, masks, sign, metric="relevance_rank_accuracy")


@direction(greater_is_better=True)
@validate_params(
    {
        **_PARAMS,
        "k": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
        ],
    },
    prefer_skip_nested_validation=True,
)
def top_k_intersection(attributions, masks, *, k=0.05, sign="signed"):
    r"""Share of the ``k`` most relevant pixels on the mask (Theiner et al.).

    .. math::

        \text{TKI} = \frac{|P_k \cap \text{mask}|}{k},

    with :math:`P_k` the ``k`` pixels of highest relevance; pixels tied with
    the ``k``-th highest value share the places left in proportion. Constant
    maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`). Higher is
    better.

    Parameters
    ----------
    attributions : array-like of shape (n, H, W)
        Attribution maps.
    masks : array-like of bool of shape (n, H, W)
        Ground-truth object masks (0/1 accepted), none empty.
    k : int or float, default=0.05
        Number of top pixels: an int between 1 and ``H * W``, or a float in
        (0, 1], that fraction of the pixels (rounded, at least 1). The
        default, 5% of the image, fits every image size (3 pixels at 8x8,
        2509 at 224x224); Quantus's default is ``k=1000`` pixels, more than
        a 28x28 image has. Choose it near the typical object size.
    sign : {"signed", "absolute", "positive"}, default="signed"
        Rank the values as they are, their magnitudes, or their positive part.

    Returns
    -------
    scores : ndarray of shape (n,), float64
        In ``[0, 1]``.

    Notes
    -----
    Equals ``quantus.TopKIntersection(k=k)`` (``abs=False``,
    ``concept_influence=False``) on maps without ties. Quantus requires
    ``k < H * W``; ``k = H * W`` is allowed here (the mask's share of the
    image). Its ``concept_influence=True`` is this score times
    ``H * W / mask size``.

    References
    ----------
    .. [1] J. Theiner, E. Mueller-Budack and R. Ewerth, "Interpretable
       semantic photo geolocation", WACV 2022 (arXiv:2104.14995, 2021).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.metrics import top_k_intersection
    >>> masks = np.array([[[True, True], [False, False]]])
    >>> a = np.array([[[0.9, 0.1], [0.5, 0.0]]])
    >>> top_k_intersection(a, masks, k=1)
    array([1.])
    >>> top_k_intersection(a, masks, k=3)  # {0.9, 0.5, 0.1}: two on the mask
    array([0.666...])
    """
    _, height, width = as_batch(attributions).shape
    k = _check_k(k, height * width)

    def top_k(a, m, size):
        return _top_hits(a, m, np.full(a.shape[0], k)) / k

    return _per_chunk(top_k, attributions, masks, sign, metric="top_k_intersection")


def _mann_whitney_u(a, m, size):
    """Mann-Whitney U of mask pixels over the others, ties counting one half.

    Per image: sort the values outside and inside the mask apart, then merge
    the two runs with a stable sort (linear on two sorted runs), outside
    first. A mask pixel at merged position ``j`` with ``i`` mask pixels before
    it is above or tied with ``j - i`` others, so ``U = sum(j) - P (P - 1) / 2``
    less half the ties. Sorts run in float32 when the values are float32 (the
    usual case; exact, twice as fast). Two sorts of the halves plus a merge
    cost less than one sort of the whole image with the labels attached.
    """
    u = np.empty(a.shape[0])
    for i, (row, inside) in enumerate(zip(a, m, strict=True)):
        row32 = row.astype(np.float32)
        values = row32 if np.array_equal(row32, row) else row
        negative = np.sort(values[~inside])
        positive = np.sort(values[inside])
        merged = np.concatenate([negative, positive])
        order = np.argsort(merged, kind="stable")
        n_pos = positive.size
        u[i] = np.flatnonzero(order >= negative.size).sum() - n_pos * (n_pos - 1) / 2
        ordered = merged[order]
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if repeated.size:  # a value inside and outside counts half
            u[i] -= _count(negative, repeated) @ _count(positive, repeated) / 2
    return u


def _count(sorted_values, values):
    """How often each of the distinct ``values`` occurs in ``sorted_values``."""
    values = np.unique(values)
    return (
        np.searchsorted(sorted_values, values, side="right")
        - np.searchsorted(sorted_values, values, side="left")
    ).astype(np.float64)


@direction(greater_is_better=True)
@validate_params(_PARAMS, prefer_skip_nested_validation=True)
def attribution_localization_auc(attributions, masks, *, sign="signed"):
    r"""ROC AUC of the attributions as scores for the mask (Fawcett, 2006).

    Pixels are ranked by relevance; the area under the ROC curve of that
    ranking against the mask is the Mann-Whitney statistic

    .. math::

        \text{AUC} = \frac{1}{|M|\,|\bar M|} \sum_{p \in M} \sum_{q \in \bar M}
        \left( \mathbb{1}[a_p > a_q] + \tfrac12 \mathbb{1}[a_p = a_q] \right),

    :math:`M` the mask, :math:`\bar M` the rest; exactly
    :func:`sklearn.metrics.roc_auc_score` ``(mask, a)`` per image. 1 means
    every object pixel is more relevant than every background pixel, 0.5 is
    chance. Constant maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`), not the 0.5
    of ``roc_auc_score``. Higher is better.

    Parameters
    ----------
    attributions : array-like of shape (n, H, W)
        Attribution maps.
    masks : array-like of bool of shape (n, H, W)
        Ground-truth object masks (0/1 accepted); each must have pixels both
        inside and outside (a ValueError otherwise, as for scikit-learn).
    sign : {"signed", "absolute", "positive"}, default="signed"
        Rank the values as they are, their magnitudes, or their positive part.

    Returns
    -------
    scores : ndarray of shape (n,), float64
        In ``[0, 1]``.

    Notes
    -----
    Equals ``quantus.AUC()`` (``abs=False``; Quantus loops over images with
    ``roc_curve`` and ``auc``) on maps that are not constant; here two sorts
    and a linear merge per image.

    References
    ----------
    .. [1] T. Fawcett, "An introduction to ROC analysis", Pattern Recognition
       Letters 27(8), 861-874, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.metrics import attribution_localization_auc
    >>> masks = np.array([[[True, False], [False, False]]])
    >>> attribution_localization_auc(np.array([[[1.0, 0.2], [0.1, 0.0]]]), masks)
    array([1.])
    >>> attribution_localization_auc(np.array([[[0.1, 0.2], [0.1, 0.0]]]), masks)
    array([0.5])
    """

    def auc(a, m, size):
        return _mann_whitney_u(a, m, size) / (size * (a.shape[1] - size))

    return _per_chunk(
        auc,
        attributions,
        masks,
        sign,
        metric="attribution_localization_auc",
        need_outside=True,
    )
