"""Faithfulness correlation (Bhatt et al. 2020).

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
    _BASELINE,
    _COMMON,
    _RANDOM,
    _chunks,
    _fill,
    _prepare,
    _summarize,
    _target_proba,
)


def _pearson(x, y):
    """Pearson correlation along the last axis; NaN where one is constant."""
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    denom = np.sqrt((x * x).sum(axis=-1) * (y * y).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x * y).sum(axis=-1) / denom
    return np.where(denom > 0, r, np.nan)


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
