"""Sampling designs, the weighted ridge and its standard errors for LIME.

LIME (Ribeiro et al., 2016) fits a ridge regression of the model's
probability on keep/hide masks ``z`` of ``d`` superpixels, drawn uniformly
(``p(z) = 2**-d``), weighted by a kernel ``pi(z)`` of the mask's distance to
the unperturbed image. Whatever the design, the quantity estimated here is
that one: the minimiser of

.. math::

    \\pi(\\mathbf 1)\\,\\ell(\\mathbf 1) + (n - 1)\\,
    \\mathbb E_{z \\sim p}[\\pi(z)\\,\\ell(z)] + \\alpha \\lVert\\beta\\rVert^2,

``l`` the squared error of the linear surrogate: the first sample is the
unperturbed image, as in lime, and the other ``n - 1`` rows, drawn from a
design ``q``, carry the importance weights ``pi(z) p(z) / q(z)``, whose
expected sum is lime's ``(n - 1) E_p[pi]``; the ridge penalty
``alpha = 1`` has lime's scale at the same number of samples. The designs
(:data:`SAMPLINGS`):

``"lime"``
    lime's own draws: independent uniform keep/hide bits (Garreau & von
    Luxburg, 2020, analyse this design).
``"kernel"``
    masks drawn in proportion to the kernel times lime's distribution: the
    kernel depends only on the number ``k`` of kept segments, so ``k`` is
    drawn with probability proportional to ``C(d, k) pi(k)`` (stratified: a
    systematic sample of sizes per round), then a uniform subset of that size,
    without replacement within a size (a size whose subsets are all used
    starts a new pass). The importance weights are then one constant,
    ``E_p[pi]``: the sample is spent where the regression's weight is.
``"paired"``
    uniform masks, each followed by its complement (antithetic sampling,
    Covert & Lee, 2021): every interaction of an even number of segments is
    orthogonal to the segment indicators within a pair, so it adds no
    variance to the weights.
``"sobol"``
    scrambled Sobol' points (:class:`scipy.stats.qmc.Sobol`) thresholded at
    1/2. Each point is uniform on the masks, consecutive points are
    complements (the first direction number of every Sobol' coordinate is
    1/2), and every ``2**m`` points each segment is kept in exactly half the
    rows and every two segments are kept together in a quarter of them: a
    paired, balanced (orthogonal) design, the combination of antithetic and
    balanced sampling.
``"balanced"``
    the same structure with random generators: a random two-level regular
    fraction (``2**m >= 2d`` rows, distinct random generators, a random
    shift) and its foldover, extended by random generators for later rows.
    Paired and balanced like ``"sobol"``, but which interactions of the
    model alias each segment's weight is random, so that the errors of
    independent pairs estimate its spread (Sobol's fixed generators alias
    few low-order interactions with its first coordinates: more precise on
    smooth models, but more than one net can measure).

Paired and kernel-weighted sizes do not combine for LIME: its kernel is not
symmetric under complement (hiding 40 of 50 segments weighs 10**-3 of
keeping 40), so the complements of the likely masks would be weighted by
next to nothing.

Standard errors (:func:`weighted_ridge`) are the sandwich of the ridge's
estimating equations, robust to heteroscedasticity, with Bell and
McCaffrey's CR2 small-sample correction (HC2 when every row is its own
cluster): rows are independent for ``"lime"``; complementary pairs are the
clusters of ``"paired"`` and ``"balanced"`` (for the latter, independent
over the randomization of its generators). Rows of ``"kernel"`` (sizes
stratified, subsets drawn without replacement within a size) are
negatively dependent, so the formula for independent rows is conservative,
by a negligible margin. Pairs of one scrambled Sobol' net are not
independent, and no formula from a single net is valid in general (Owen,
1997): ``"sobol"`` reports the errors of independent pairs, which overstate
its spread (by a factor of about 1.3 to 2 in the measurements of
``tests/attribution/test_lime_sampling.py``), since its balance removes
variance they count.

References
----------
.. [1] M. T. Ribeiro, S. Singh and C. Guestrin, "Why should I trust you?:
   Explaining the predictions of any classifier", KDD 2016.
.. [2] D. Garreau and U. von Luxburg, "Explaining the explainer: a first
   theoretical analysis of LIME", AISTATS 2020.
.. [3] I. Covert and S.-I. Lee, "Improving KernelSHAP: practical Shapley
   value estimation using linear regression", AISTATS 2021.
.. [4] Z. Zhou, G. Hooker and F. Wang, "S-LIME: stabilized-LIME for model
   explanation", KDD 2021.
.. [5] A. B. Owen, "Scrambled net variance for integrals of smooth
   functions", Annals of Statistics 25(4), 1997.
.. [6] R. M. Bell and D. F. McCaffrey, "Bias reduction in standard errors
   for linear regression with multi-stage samples", Survey Methodology
   28(2), 2002.
"""

from __future__ import annotations

import warnings
from itertools import combinations
from math import comb

import numpy as np
from sklearn.utils import Bunch

#: The sampling designs of LimeExplainer, lime's own first.
SAMPLINGS = ("lime", "kernel", "paired", "sobol", "balanced")

#: Sizes with at most this many subsets are dealt from a shuffled list of all
#: of them (without replacement, new pass when used up); larger ones are
#: drawn by rejection of the subsets already drawn.
_DECK_LIMIT = 4096
#: The most dimensions scipy's Sobol' engine has direction numbers for.
_SOBOL_MAX_DIM = 21201


# -- the weighted ridge -------------------------------------------------------


def ridge_solve(X, Y, weights, alpha):
    """Closed-form weighted ridge with an unpenalised intercept.

    Centred on the weighted means (the intercept drops out, and the centred
    system is better conditioned than the augmented one), then solved.

    Parameters
    ----------
    X : ndarray of shape (n, d), float
    Y : ndarray of shape (n,) or (n, k), float
        One response, or ``k`` fitted at once.
    weights : ndarray of shape (n,)
    alpha : float
        Penalty on the slopes.

    Returns
    -------
    intercept : float or ndarray of shape (k,)
    coef : ndarray of shape (d,) or (d, k)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._lime_sampling import ridge_solve
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> intercept, coef = ridge_solve(X, 1 + 2 * X[:, 0], np.ones(3), 1e-12)
    >>> round(float(intercept), 6), np.round(coef, 6).tolist()
    (1.0, [2.0])
    """
    total = weights.sum()
    x_mean = weights @ X / total
    y_mean = weights @ Y / total
    centred = X - x_mean
    gram = centred.T @ (weights[:, None] * centred)
    gram[np.diag_indices_from(gram)] += alpha
    weighted = (Y - y_mean) * (weights if Y.ndim == 1 else weights[:, None])
    if X.shape[1]:
        coef = np.linalg.solve(gram, centred.T @ weighted)
    else:
        coef = np.zeros((0, *Y.shape[1:]))
    return y_mean - x_mean @ coef, coef


def weighted_r2(centred, residuals, weights):
    """Weighted R^2 from the centred responses and a fit's residuals.

    As :class:`sklearn.linear_model.Ridge`'s ``score`` with
    ``sample_weight``: 1 on a constant target fitted exactly, else 0 there.
    """
    denominator = weights @ centred**2
    numerator = weights @ residuals**2
    if denominator > 0:
        return float(1.0 - numerator / denominator)
    return 1.0 if numerator == 0 else 0.0


def weighted_ridge(X, y, sample_weight, *, alpha=1.0, clusters=None):
    """Weighted ridge regression with an unpenalised intercept, and its errors.

    Minimises ``sum_i w_i (y_i - b0 - x_i @ b)**2 + alpha * |b|**2`` in
    closed form (what :class:`sklearn.linear_model.Ridge` with
    ``fit_intercept=True`` and ``sample_weight`` computes), and the
    sandwich covariance of ``(b0, b)`` from the estimating equations
    ``psi_i = w_i x_i (y_i - b0 - x_i @ b)`` (``x_i`` led by a 1):
    ``M^-1 B M^-1``, ``M = X'WX + diag(0, alpha, ...)``, ``B`` the sum over
    clusters ``g`` of ``s_g s_g'``, ``s_g = Z_g' (I - H_gg)^-1/2 u_g`` with
    ``Z = W^1/2 X``, ``u = W^1/2 e`` and ``H = Z M^-1 Z'``: Bell and
    McCaffrey's CR2, which is HC2 when every row is its own cluster (the
    adjustment undoes the shrinkage of residuals by their own leverage).

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Regressors (LIME's keep/hide masks).
    y : ndarray of shape (n,)
        Responses.
    sample_weight : ndarray of shape (n,)
        Non-negative row weights, with a positive sum.
    alpha : float, default=1.0
        Ridge penalty on the slopes (lime's is 1).
    clusters : ndarray of int of shape (n,) or None, default=None
        Cluster of each row for the covariance; rows with a negative label
        are fixed by the design, not drawn (LIME's unperturbed first sample),
        and contribute no variance. None: every row is its own cluster.

    Returns
    -------
    fit : Bunch
        ``coef`` (d,), ``intercept`` (float), ``stderr`` (d,, the standard
        errors of ``coef``; NaN with fewer than two random clusters: nothing
        measures the spread then),
        ``cov`` (d + 1, d + 1, intercept first), ``score`` (the weighted
        R^2, as ``Ridge.score`` with ``sample_weight``) and ``dof`` (the
        effective number of parameters, the trace of the hat matrix).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._lime_sampling import weighted_ridge
    >>> X = np.array([[1, 1], [1, 0], [0, 1], [0, 0], [1, 0]])
    >>> fit = weighted_ridge(X, X @ [2.0, -1.0] + 0.5, np.ones(5), alpha=1e-9)
    >>> np.round(fit.coef, 6).tolist(), round(fit.intercept, 6)
    ([2.0, -1.0], 0.5)
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    n, d = X.shape
    intercept, coef = ridge_solve(X, y, w, alpha)
    intercept = float(intercept)
    residuals = y - intercept - X @ coef
    score = weighted_r2(y - w @ y / w.sum(), residuals, w)

    # The sandwich in the augmented parametrisation (intercept first).
    X1 = np.hstack([np.ones((n, 1)), X])
    bread = X1.T @ (w[:, None] * X1)
    bread[np.arange(1, d + 1), np.arange(1, d + 1)] += alpha
    bread_inv = np.linalg.inv(bread)
    # Rows in the symmetric form: Z = W^1/2 X1, u = W^1/2 e, H = Z M^-1 Z'.
    root = np.sqrt(w)
    Z = root[:, None] * X1
    u = root * residuals
    leverage = np.einsum("ij,jk,ik->i", Z, bread_inv, Z)
    dof = float(leverage.sum())
    labels = np.arange(n) if clusters is None else np.asarray(clusters)
    random = np.flatnonzero(labels >= 0)
    groups, inverse, sizes = np.unique(
        labels[random], return_inverse=True, return_counts=True
    )
    n_groups = len(groups)
    cov = np.full((d + 1, d + 1), np.nan)
    if n_groups >= 2:
        sums = np.zeros((n_groups, d + 1))
        # Rows sorted by cluster: each cluster's rows are one block, starting
        # at its offset; clusters of one size are gathered at once.
        grouped = random[np.argsort(inverse, kind="stable")]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        for size in np.unique(sizes):
            which = np.flatnonzero(sizes == size)
            idx = grouped[starts[which][:, None] + np.arange(size)]  # (G_s, s)
            Zg = Z[idx]  # (G_s, s, p)
            # (I - H_gg)^-1/2 u_g: the CR2 adjustment of the residuals.
            hat = np.einsum("gip,pq,gjq->gij", Zg, bread_inv, Zg)
            values, vectors = np.linalg.eigh(np.eye(size) - hat)
            scale = 1 / np.sqrt(np.clip(values, 1e-12, None))
            adjust = np.einsum("gik,gk,gjk->gij", vectors, scale, vectors)
            adjusted = np.einsum("gij,gj->gi", adjust, u[idx])
            sums[which] = np.einsum("gip,gi->gp", Zg, adjusted)
        cov = bread_inv @ (sums.T @ sums) @ bread_inv
    stderr = np.sqrt(np.clip(np.diag(cov)[1:], 0, None))
    return Bunch(
        coef=coef,
        intercept=intercept,
        stderr=stderr,
        cov=cov,
        score=float(score),
        dof=dof,
    )


# -- the designs --------------------------------------------------------------


def size_kernel(kernel, n_segments):
    """The kernel of a mask of each size ``k = 0..d`` (first ``k`` kept).

    Parameters
    ----------
    kernel : callable
        Maps masks ``(m, d)`` to their kernel values (LIME's kernel of their
        distance to the all-ones mask); for a distance that treats the
        segments alike (cosine, Euclidean, Hamming...) it depends on ``k``
        only. For one that does not, the ``"kernel"`` design still
        estimates lime's quantity: its importance weights use each mask's
        own kernel value.
    n_segments : int

    Returns
    -------
    size_weights : ndarray of shape (d + 1,)
    """
    masks = np.tril(np.ones((n_segments + 1, n_segments), dtype=np.int64), -1)
    return np.asarray(kernel(masks), dtype=np.float64)


class _Design:
    """Masks of one image, drawn in rounds; the first row is all ones.

    Random rows are numbered ``r = 0, 1, ...`` after the fixed first row;
    a design labels each with its cluster (``r`` itself for independent
    rows, ``r // 2`` for complementary pairs).
    """

    def __init__(self, n_segments, rng):
        self.n_segments = n_segments
        self.rng = rng
        self.n_random = 0

    def draw(self, m):
        """``m`` more rows: ``(masks (m, d) int, clusters (m,), ratio (m,))``.

        ``ratio`` is ``p(z) / q(z)``, lime's probability of the mask over the
        design's; ``clusters`` is -1 for the fixed first row.
        """
        first = self.n_random == 0
        n_new = m - 1 if first else m
        masks, ratio = self._draw(n_new)
        clusters = self._clusters(np.arange(self.n_random, self.n_random + n_new))
        self.n_random += n_new
        if first:
            masks = np.vstack([np.ones((1, self.n_segments), masks.dtype), masks])
            clusters = np.concatenate([[-1], clusters])
            ratio = np.concatenate([[1.0], ratio])
        return masks, clusters, ratio

    def _clusters(self, rows):
        return rows

    def _draw(self, m):
        raise NotImplementedError


class _LimeDesign(_Design):
    """lime's draws: one RandomState, ``d`` bits a row, the first row all ones.

    Exactly lime's stream: the first round draws its first row too (and
    overwrites it), so ``n`` rows in one round or in several are the same.
    """

    def draw(self, m):
        masks = self.rng.randint(0, 2, m * self.n_segments).reshape(m, self.n_segments)
        first = self.n_random == 0
        clusters = np.arange(self.n_random, self.n_random + m) - first
        if first:
            masks[0, :] = 1
        self.n_random += m - first
        return masks, clusters, np.ones(m)


class _PairedDesign(_Design):
    """Uniform masks, each followed by its complement (Covert & Lee, 2021)."""

    def __init__(self, n_segments, rng):
        super().__init__(n_segments, rng)
        self.pending = None  # a complement owed to the next round

    def _clusters(self, rows):
        return rows // 2

    def _draw(self, m):
        rows = []
        if self.pending is not None and m > 0:
            rows.append(self.pending)
            self.pending = None
        n_pairs = (m - len(rows) + 1) // 2
        half = self.rng.integers(0, 2, (n_pairs, self.n_segments))
        pairs = np.empty((2 * n_pairs, self.n_segments), dtype=np.int64)
        pairs[0::2], pairs[1::2] = half, 1 - half
        masks = np.vstack([*(r[None] for r in rows), pairs])
        if len(masks) > m:  # an odd round: its last complement opens the next
            self.pending = masks[m]
            masks = masks[:m]
        return masks, np.ones(m)


class _SobolDesign(_Design):
    """Scrambled Sobol' points thresholded at 1/2 (complementary pairs)."""

    def __init__(self, n_segments, rng):
        from scipy.stats import qmc

        super().__init__(n_segments, rng)
        self.engine = qmc.Sobol(n_segments, scramble=True, seed=rng)

    def _clusters(self, rows):
        # Points 2j and 2j + 1 are complements.
        return rows // 2

    def _draw(self, m):
        with warnings.catch_warnings():
            # Balance holds for every 2**k points; a prefix is nearly balanced.
            warnings.filterwarnings("ignore", message=".*balance properties")
            points = self.engine.random(m)
        return (points < 0.5).astype(np.int64), np.ones(m)


class _BalancedDesign(_Design):
    """A random two-level regular fraction, folded over: paired and balanced.

    Row ``i`` (from 0) keeps segment ``j`` when ``<g_j, bits(i)> + s_j`` is
    odd: ``g_j`` a random generator per segment whose lowest bit is 1 (so rows
    ``2r`` and ``2r + 1`` are complements) and whose next ``m - 1`` bits are
    distinct across segments (``2**(m-1) >= d``; later bits random), ``s`` a
    random shift. Every ``2**m`` rows each segment is kept in half of them and
    every two segments together in a quarter (orthogonal columns), as in
    :class:`_SobolDesign`; but the generators are random rather than Sobol's,
    so which interactions are aliased with which segment is random too, and
    the errors of independent pairs estimate the spread over that
    randomization.
    """

    def __init__(self, n_segments, rng):
        super().__init__(n_segments, rng)
        d = n_segments
        self.m = max(1, int(np.ceil(np.log2(d))) + 1)  # 2**(m-1) >= d
        codes = rng.choice(2 ** (self.m - 1), d, replace=False)
        self.generators = [np.ones(d, dtype=np.int64)] + [
            (codes >> b) & 1 for b in range(self.m - 1)
        ]
        self.shift = rng.integers(0, 2, d)

    def _clusters(self, rows):
        return rows // 2

    def _draw(self, m):
        index = np.arange(self.n_random, self.n_random + m)
        n_bits = max(1, int(index.max(initial=0)).bit_length())
        while len(self.generators) < n_bits:
            self.generators.append(self.rng.integers(0, 2, self.n_segments))
        bits = (index[:, None] >> np.arange(n_bits)) & 1  # (m, n_bits)
        masks = (bits @ np.stack(self.generators[:n_bits]) + self.shift) % 2
        return masks.astype(np.int64), np.ones(m)


class _KernelDesign(_Design):
    """Masks drawn in proportion to the kernel times lime's distribution."""

    def __init__(self, n_segments, rng, size_weights):
        super().__init__(n_segments, rng)
        d = n_segments
        self.size_weights = np.asarray(size_weights, dtype=np.float64)
        log_comb = np.array([np.log(float(comb(d, k))) for k in range(d + 1)])
        # log P_p(k) = log C(d, k) - d log 2; q(k) ~ P_p(k) g(k).
        with np.errstate(divide="ignore"):
            log_mass = log_comb - d * np.log(2.0) + np.log(self.size_weights)
        peak = log_mass.max()
        mass = np.exp(log_mass - peak)
        self.size_proba = mass / mass.sum()
        # E_p[g] = sum_k P_p(k) g(k): the importance ratio p/q is E_p[g] / g.
        self.expected_kernel = float(np.exp(peak) * mass.sum())
        self.cdf = np.cumsum(self.size_proba)
        self.cdf[-1] = 1.0
        self.decks = {}
        self.seen = {}

    def _sizes(self, m):
        """A systematic sample of ``m`` sizes from ``q(k)``, in random order."""
        positions = (self.rng.random() + np.arange(m)) / m
        sizes = np.searchsorted(self.cdf, positions, side="right")
        return self.rng.permutation(np.minimum(sizes, self.n_segments))

    def _subsets(self, k, count):
        """``count`` uniform subsets of size ``k``, none repeated within a pass."""
        d = self.n_segments
        total = comb(d, k)
        out = np.zeros((count, d), dtype=np.int64)
        if total <= _DECK_LIMIT:
            deck, position = self.decks.get(k, (None, total))
            for row in range(count):
                if position == total:  # a new pass over every subset
                    deck = self.rng.permutation(
                        np.array(
                            list(combinations(range(d), k)), dtype=np.int64
                        ).reshape(total, k)
                    )
                    position = 0
                out[row, deck[position]] = 1
                position += 1
            self.decks[k] = (deck, position)
            return out
        # Uniform among the subsets not drawn yet: uniform draws, the rare
        # repeats drawn again.
        seen = self.seen.setdefault(k, set())
        pending = np.arange(count)
        while len(pending):
            keys = self.rng.random((len(pending), d))
            chosen = np.argpartition(keys, k - 1, axis=1)[:, :k] if k else keys[:, :0]
            rows = np.zeros((len(pending), d), dtype=np.int64)
            np.put_along_axis(rows, chosen.astype(np.intp), 1, axis=1)
            again = []
            for row, mask in zip(pending, rows, strict=True):
                key = np.packbits(mask).tobytes()
                if key in seen:
                    again.append(row)
                else:
                    seen.add(key)
                    out[row] = mask
            pending = np.array(again, dtype=np.intp)
        return out

    def _draw(self, m):
        sizes = self._sizes(m)
        masks = np.zeros((m, self.n_segments), dtype=np.int64)
        for k in np.unique(sizes):
            rows = np.flatnonzero(sizes == k)
            masks[rows] = self._subsets(int(k), len(rows))
        return masks, self.expected_kernel / self.size_weights[sizes]


def make_design(sampling, n_segments, rng, kernel):
    """The design object of one image.

    Parameters
    ----------
    sampling : {"lime", "kernel", "paired", "sobol"}
    n_segments : int
    rng : numpy.random.RandomState
        The image's stream (lime's draws come from it directly; the other
        designs seed a Generator from it).
    kernel : callable
        Masks ``(m, d)`` to their kernel values (for ``"kernel"``).

    Returns
    -------
    design : object
        Its ``draw(m)`` returns ``m`` more rows: the masks ``(m, d)``, the
        cluster of each row (-1 for the fixed all-ones first row) and the
        importance ratio ``p(z) / q(z)`` of each.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._lime_sampling import make_design
    >>> design = make_design("paired", 4, np.random.RandomState(0), None)
    >>> masks, clusters, ratio = design.draw(5)
    >>> masks[0].tolist(), (masks[1] + masks[2]).tolist(), clusters.tolist()
    ([1, 1, 1, 1], [1, 1, 1, 1], [-1, 0, 0, 1, 1])
    """
    if sampling == "lime":
        return _LimeDesign(n_segments, rng)
    generator = np.random.default_rng(rng.randint(0, 2**32, dtype=np.uint64))
    if sampling == "paired":
        return _PairedDesign(n_segments, generator)
    if sampling == "balanced":
        return _BalancedDesign(n_segments, generator)
    if sampling == "sobol":
        if n_segments > _SOBOL_MAX_DIM:
            raise ValueError(
                f"sampling='sobol' supports at most {_SOBOL_MAX_DIM} superpixels "
                f"(scipy's Sobol' directions); the segmentation gave {n_segments}. "
                "Use sampling='paired' or fewer segments."
            )
        return _SobolDesign(n_segments, generator)
    if sampling == "kernel":
        return _KernelDesign(n_segments, generator, size_kernel(kernel, n_segments))
    raise ValueError(f"sampling must be one of {SAMPLINGS}; got {sampling!r}.")
