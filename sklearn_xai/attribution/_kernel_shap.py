"""Kernel SHAP on superpixels, on LIME's vectorised perturbation engine."""

from __future__ import annotations

from itertools import combinations
from math import comb
from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_memory

from ..base import BaseExplainer
from ..utils._compat import HasMethods, Interval, StrOptions
from ..utils._warnings import warn_constant_explanations
from ._perturbation import (
    DEFAULT_N_SEGMENTS,
    SEGMENTATIONS,
    check_explainer_fill,
    fit_superpixels,
    hide_image,
    make_segmenter,
    perturbation_proba,
    superpixel_causes,
)

# Pair counts (Python ints of any size) become floats capped here: C(M, s)
# overflows a float beyond about a thousand segments, and no budget comes
# near such counts.
_BIG = 10**300


def _strata(n_segments, sampling):
    """The coalition sizes paired with their complements' sizes.

    Stratum ``j`` holds the coalitions of size ``s = j + 1`` and of size
    ``M - s`` (one size when ``2 s = M``), as pairs ``(z, complement)``.

    Returns
    -------
    sizes : ndarray of int, 1..M // 2
    n_pairs : list of int
        Distinct pairs per stratum (Python ints, exact).
    mass : ndarray of float
        Total Shapley-kernel weight of the stratum's coalitions.
    target : ndarray of float
        How to share the budget between strata: ``mass`` for ``"kernel"``
        sampling, one unit per coalition size for ``"leverage"``.
    """
    m = n_segments
    sizes = np.arange(1, m // 2 + 1)
    n_pairs, mass, target = [], [], []
    for s in sizes:
        n_sizes = 1 if 2 * s == m else 2
        n_pairs.append(comb(m, s) // 2 if n_sizes == 1 else comb(m, s))
        # The kernel gives each coalition of size s the weight
        # (M - 1) / (C(M, s) s (M - s)): each size weighs (M - 1) / (s (M - s)).
        mass.append(n_sizes * (m - 1) / (s * (m - s)))
        target.append(mass[-1] if sampling == "kernel" else float(n_sizes))
    return sizes, n_pairs, np.array(mass), np.array(target)


def _expected_pairs(n_pairs, target, budget):
    """Expected pairs drawn per stratum: ``min(n_pairs, c * target)``.

    ``c`` is set so that the expectations add up to ``budget``: strata the
    budget covers are enumerated in full, the rest share what is left in
    proportion to ``target`` (water filling).
    """
    capacity = np.array([float(min(n, _BIG)) for n in n_pairs])
    full = np.zeros(len(capacity), dtype=bool)
    while True:
        if full.all():
            return capacity, full
        left = budget - capacity[full].sum()
        scale = left / target[~full].sum()
        newly = ~full & (scale * target >= capacity)
        if not newly.any():
            break
        full |= newly
    return np.where(full, capacity, scale * target), full


def _draw_stratum(n_segments, size, n_draws, rng):
    """``n_draws`` distinct coalitions of ``size``, one per pair, uniformly.

    When ``2 size = M`` a coalition and its complement are the same pair,
    represented by the member holding segment 0.
    """
    m = n_segments
    half = 2 * size == m
    n_items, k = (m - 1, size - 1) if half else (m, size)
    masks = np.zeros((n_draws, m), dtype=bool)
    total = comb(n_items, k)
    if total <= 4 * n_draws + 1000:
        # Few enough to list: draw their indices without replacement.
        pool = np.array(list(combinations(range(n_items), k)), dtype=np.intp)
        picks = pool.reshape(total, k)[rng.choice(total, n_draws, replace=False)]
        rows = np.zeros((n_draws, n_items), dtype=bool)
        np.put_along_axis(rows, picks, True, axis=1)
    else:
        # Many more than drawn (over 3/4 of draws are new): uniform random
        # subsets, rejecting repeats.
        rows = np.zeros((0, n_items), dtype=bool)
        seen = set()
        while len(rows) < n_draws:
            keys = rng.random((n_draws - len(rows), n_items))
            picks = np.argpartition(keys, k - 1, axis=1)[:, :k]
            new = np.zeros(keys.shape, dtype=bool)
            np.put_along_axis(new, picks, True, axis=1)
            keep = []
            for i, row in enumerate(np.packbits(new, axis=1)):
                key = row.tobytes()
                if key not in seen:
                    seen.add(key)
                    keep.append(i)
            rows = np.concatenate([rows, new[keep]])
    if half:
        masks[:, 0] = True
        masks[:, 1:] = rows
    else:
        masks[:] = rows
    return masks


def sample_coalitions(n_segments, n_samples, rng, sampling="kernel"):
    """Coalitions for Kernel SHAP, each with its complement, and their weights.

    Pairs ``(z, 1 - z)`` are drawn without replacement, stratified by size:
    each pair is drawn with probability ``min(1, c q(z))`` with ``q`` the
    Shapley kernel (``"kernel"``) or the leverage score (``"leverage"``: each
    coalition size equally likely), ``c`` set so that ``n_samples // 2``
    pairs are drawn on average; a pair's regression weight is its kernel
    weight over that probability (exactly the kernel weight for sizes drawn in
    full; the same for every sampled coalition with ``"kernel"``). How many
    pairs each size gets is rounded systematically, so the total is exact.
    When the budget covers all ``2**M - 2`` coalitions they are all listed
    and the solution is exactly the Shapley values.

    Parameters
    ----------
    n_segments : int
        ``M``, the number of players (superpixels).
    n_samples : int
        Coalitions wanted besides the empty and the full one; paired, so an
        odd number draws one fewer.
    rng : numpy.random.Generator
    sampling : {"kernel", "leverage"}, default="kernel"

    Returns
    -------
    masks : ndarray of shape (m, M), bool
        The drawn coalitions, then their complements in the same order.
    weights : ndarray of shape (m,)
        Regression weights, summing to 1.
    exact : bool
        Whether every coalition is there.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._kernel_shap import sample_coalitions
    >>> masks, weights, exact = sample_coalitions(4, 100, np.random.default_rng(0))
    >>> masks.shape, exact
    ((14, 4), True)
    """
    m = n_segments
    budget = n_samples // 2
    if m < 2 or budget == 0:
        return np.zeros((0, m), dtype=bool), np.zeros(0), m < 2
    sizes, n_pairs, mass, target = _strata(m, sampling)
    expected, full = _expected_pairs(n_pairs, target, budget)
    exact = full.all()
    counts = np.where(full, expected, 0).astype(np.int64)
    if not full.all():
        # Systematic rounding: integer counts with these expectations that
        # add up to the budget exactly.
        share = np.cumsum(expected[~full])
        share *= (budget - counts.sum()) / share[-1]
        edges = np.floor(np.concatenate([[0.0], share]) + rng.random())
        counts[~full] = np.diff(edges).astype(np.int64)
    drawn, weights = [], []
    for size, count, stratum_mass, n_expected in zip(
        sizes, counts, mass, expected, strict=True
    ):
        if count == 0:
            continue
        drawn.append(_draw_stratum(m, int(size), int(count), rng))
        # Kernel weight over inclusion probability: the stratum's mass shared
        # by the 2 * n_expected coalitions it contributes on average.
        weights.append(np.full(count, stratum_mass / (2 * n_expected)))
    drawn = np.concatenate(drawn)
    weights = np.concatenate(weights)
    masks = np.concatenate([drawn, ~drawn])
    weights = np.concatenate([weights, weights])
    return masks, weights / weights.sum(), bool(exact)


def solve_shapley(masks, weights, values, base_value, full_value):
    """Weighted least squares with the efficiency constraint, solved exactly.

    Minimises ``sum_z w(z) (v(z) - v(0) - phi . z)**2`` subject to
    ``sum(phi) = v(1) - v(0)`` through its KKT system (Lundberg and Lee,
    2017; Covert and Lee, 2021); a least-squares solve gives the
    minimum-norm answer when too few coalitions leave it underdetermined.

    Parameters
    ----------
    masks : ndarray of shape (m, M)
    weights : ndarray of shape (m,)
    values : ndarray of shape (m,)
        ``v(z)`` of each coalition.
    base_value, full_value : float
        ``v(0)`` and ``v(1)``.

    Returns
    -------
    phi : ndarray of shape (M,)
    """
    n_players = masks.shape[1]
    total = full_value - base_value
    if n_players == 1 or len(masks) == 0:
        return np.full(n_players, total / max(n_players, 1))
    z = masks.astype(np.float64)
    weighted = z * weights[:, np.newaxis]
    kkt = np.zeros((n_players + 1, n_players + 1))
    kkt[:n_players, :n_players] = weighted.T @ z
    kkt[:n_players, n_players] = kkt[n_players, :n_players] = 1.0
    rhs = np.append(weighted.T @ (values - base_value), total)
    solution = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
    return solution[:n_players]


def _explain_one(image, target, seed, explainer, memory):
    """Kernel SHAP for one image: (attribution (H, W), details dict)."""
    # The segmentation seed is drawn as LimeExplainer draws it, so both cut
    # an image into the same superpixels for the same random_state.
    segmentation_seed = np.random.RandomState(seed).randint(0, 1000)
    segments = make_segmenter(
        explainer.segmentation,
        segmentation_seed,
        explainer.n_segments_ or DEFAULT_N_SEGMENTS,
    )(image)
    n_segments = int(segments.max()) + 1
    fudged = hide_image(image, segments, explainer.hide_color)
    coalitions, weights, exact = sample_coalitions(
        n_segments,
        explainer.n_samples,
        np.random.default_rng(seed),
        explainer.sampling,
    )
    ends = np.array([np.ones(n_segments, bool), np.zeros(n_segments, bool)])
    masks = np.concatenate([ends, coalitions]).astype(np.uint8)
    predict = memory.cache(perturbation_proba, ignore=["batch_size"])
    proba = predict(
        explainer.estimator_,
        image,
        fudged,
        segments,
        masks,
        explainer._model_batch_size(),
        explainer.input_ndim_,
    )
    values = proba[:, int(target)]
    full_value, base_value = float(values[0]), float(values[1])
    phi = solve_shapley(coalitions, weights, values[2:], base_value, full_value)
    details = {
        "segments": segments,
        "segment_values": phi,
        "base_value": base_value,
        "full_value": full_value,
        "n_evaluations": len(masks),
        "exact": exact,
        # Why a map may come out constant (for the warning; not returned).
        "_n_segments": n_segments,
        "_unchanged": bool(np.array_equal(fudged, image)),
    }
    return phi[segments].astype(np.float32), details


class KernelShapExplainer(BaseExplainer):
    """Kernel SHAP: Shapley values of superpixels (Lundberg and Lee, 2017).

    Each image is cut into ``M`` superpixels, the players of a cooperative
    game whose value ``v(z)`` is the model's probability of the target class
    when only the superpixels in coalition ``z`` are kept and the others are
    hidden (``hide_color``). Kernel SHAP estimates the Shapley values of this
    game by a linear regression over sampled coalitions, weighted by the
    Shapley kernel ``(M - 1) / (C(M, |z|) |z| (M - |z|))``, under the
    efficiency constraint ``sum(phi) = v(all) - v(none)``, which holds
    exactly. Each pixel gets its superpixel's value.

    The estimator:

    * **paired sampling**: every coalition is evaluated with its complement
      (Covert and Lee, 2021), which cancels much of the variance;
    * **without replacement**: no coalition is evaluated twice. Pairs are
      drawn by size, each pair with probability ``min(1, c q(z))``, ``q`` the
      Shapley kernel (``sampling="kernel"``, the sizes drawn as the kernel
      weighs them) or its leverage score (``sampling="leverage"``, every size
      equally; Musco and Witter, 2025); sizes whose coalitions the budget
      covers are listed in full (as the ``shap`` package does), and each
      coalition's regression weight is its kernel weight over its
      probability of being drawn (all equal for the sampled sizes with
      ``"kernel"``);
    * **exact when it can be**: when ``n_samples`` covers all ``2**M - 2``
      coalitions, all are listed and the result equals the Shapley values
      (to rounding), for instance 8 superpixels from ``n_samples=254``.

    Segmentation, hiding, perturbed images built vectorised (on the device
    for a CNNClassifier), ``batch_size``-bounded model calls and the
    prediction cache are LimeExplainer's; with the same ``random_state`` both
    cut an image into the same superpixels.

    Parameters
    ----------
    estimator : classifier
        Any classifier with ``predict_proba`` (a CNNClassifier, a pipeline, a
        forest on flattened images...), or a trained one in
        :class:`~sklearn.frozen.FrozenEstimator`.
    segmentation : {"slic", "quickshift", "felzenszwalb", "grid"}, \
SuperpixelSegmenter or callable, default="slic"
        How to cut images into superpixels, as in
        :class:`~sklearn_xai.attribution.LimeExplainer`: ``"slic"`` and
        ``"grid"`` ask for ``n_segments_ = min(50, H * W // 4)`` segments
        (at least 1; about 50, none smaller than about 2x2 pixels);
        ``"quickshift"`` and ``"felzenszwalb"`` keep their defaults, which
        often find one superpixel on small images; a callable maps one image
        ``(H, W, C)`` or ``(H, W)`` to an integer label map.
    n_samples : int, default=1000
        Coalitions evaluated besides the full image and the fully hidden one
        (so ``n_samples + 2`` model evaluations per image; an odd number
        evaluates one fewer, as coalitions come in pairs). Fewer when the
        superpixels have fewer coalitions than that: then all are evaluated.
    sampling : {"kernel", "leverage"}, default="kernel"
        How many pairs each coalition size gets: in proportion to its Shapley
        kernel weight, or equally (leverage scores).
    hide_color : None, "blur" or float, default=0.0
        What hidden superpixels become (the game's baseline): a number, that
        constant (the default 0.0 is black, the removal of
        :func:`~sklearn_xai.metrics.deletion_auc`'s default, so
        ``v(none)`` is the fully deleted image); None, each superpixel's
        mean colour (hides nothing in superpixels of one pixel or one
        colour); ``"blur"``, a strongly blurred image. A number must lie in
        the images' range (0-255 for uint8, [0, 1] for floats in [0, 1]),
        else ``fit`` raises a ValueError; perturbed images are built in
        floating point when the fill is not exactly an image value, never
        rounded or wrapped (as for :class:`LimeExplainer`).
    memory : str, joblib.Memory or None, default=None
        Caches the model's predictions on the perturbations, so explaining the
        same images again (for another target, say) makes no new model calls.
    batch_size : int or None, default=None
        Perturbed images per model call (bounds memory). None chooses by
        the kind of model: 32 for torch-backed models, up to 64 MiB of
        images (32 to 1024 rows) for others, whose per-call cost small
        batches multiply.
    n_jobs : int or None, default=None
        joblib workers over images.
    random_state : int, RandomState instance or None, default=None
        Seed of the coalitions (and of a segmentation that needs one). Each
        image's seed is derived from ``random_state`` and the image's
        content, so an explanation depends only on the image and
        ``random_state``.
    verbose : int, default=0
        Show a progress bar over images.
    image_shape : tuple of int or None, default=None
        How to read flattened images.

    Attributes
    ----------
    estimator_ : classifier
        The fitted (or frozen) model.
    classes_ : ndarray
        Its class labels.
    image_shape_ : tuple of int
        ``(H, W, C)`` seen in ``fit``.
    n_features_in_ : int
        ``H * W * C``.
    input_ndim_ : int
        Layout of the fitted images (2 flattened, 3 gray, 4 channels last).
    n_segments_ : int or None
        The segment count ``"slic"`` or ``"grid"`` asks for; None for the
        methods whose count depends on the image.

    Warns
    -----
    DegenerateExplanationWarning
        In ``fit``, when the set-up can only give constant maps (one
        superpixel; one-pixel superpixels with ``hide_color=None``), saying
        what to change; in ``explain``, when maps came out constant, with
        their count and, where known, why.

    See Also
    --------
    LimeExplainer : Local linear surrogates on the same superpixels.

    Notes
    -----
    ``explain(X, return_details=True)`` also returns ``segments`` (the
    superpixel labels, ``(n, H, W)``), ``segment_values`` (the Shapley value
    of each superpixel, one array per image), ``base_value`` and
    ``full_value`` (``v(none)`` and ``v(all)``, so ``segment_values`` of an
    image add up to ``full_value - base_value``), ``n_evaluations`` (model
    evaluations per image) and ``exact`` (whether every coalition was
    evaluated).

    References
    ----------
    .. [1] S. M. Lundberg and S.-I. Lee, "A unified approach to interpreting
       model predictions", NeurIPS 2017.
    .. [2] I. Covert and S.-I. Lee, "Improving KernelSHAP: Practical Shapley
       value estimation using linear regression", AISTATS 2021.
    .. [3] C. Musco and R. T. Witter, "Provably accurate Shapley value
       estimation via leverage score sampling", ICLR 2025.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.attribution import KernelShapExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> X, y = load_digit_images(return_X_y=True)
    >>> X, y = X[:300], y[:300]
    >>> clf = LogisticRegression(max_iter=500).fit(X.reshape(len(X), -1), y)
    >>> shap = KernelShapExplainer(FrozenEstimator(clf), segmentation="grid",
    ...                            hide_color=0.0, image_shape=(8, 8),
    ...                            random_state=0)
    >>> maps, details = shap.fit(X.reshape(len(X), -1)).explain(
    ...     X[:2].reshape(2, -1), return_details=True)
    >>> maps.shape
    (2, 8, 8)
    >>> phi = details.segment_values[0]
    >>> bool(abs(phi.sum() - (details.full_value[0] - details.base_value[0])) < 1e-9)
    True
    """

    _parameter_constraints: dict = {
        **BaseExplainer._parameter_constraints,
        "segmentation": [
            StrOptions(set(SEGMENTATIONS)),
            HasMethods(["fit_transform"]),
            callable,
        ],
        "n_samples": [Interval(Integral, 2, None, closed="left")],
        "sampling": [StrOptions({"kernel", "leverage"})],
        "hide_color": [None, StrOptions({"blur"}), Real],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(
        self,
        estimator,
        *,
        segmentation="slic",
        n_samples=1000,
        sampling="kernel",
        hide_color=0.0,
        memory=None,
        batch_size=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
        image_shape=None,
    ):
        self.estimator = estimator
        self.segmentation = segmentation
        self.n_samples = n_samples
        self.sampling = sampling
        self.hide_color = hide_color
        self.memory = memory
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    def _fit_images(self, images):
        fit_superpixels(self, images)

    def _explain(self, images, targets, seeds):
        memory = check_memory(self.memory)
        check_explainer_fill(self, images, "hide_color")
        attributions, per_image = self._map_images(
            _explain_one, images, targets, seeds, self, memory
        )
        details = {
            "segments": np.stack([d["segments"] for d in per_image]),
            "segment_values": [d["segment_values"] for d in per_image],
        }
        for key in ("base_value", "full_value", "n_evaluations", "exact"):
            details[key] = np.array([d[key] for d in per_image])
        warn_constant_explanations(
            attributions,
            owner=type(self).__name__,
            causes=superpixel_causes(
                self,
                [d["_n_segments"] for d in per_image],
                [d["_unchanged"] for d in per_image],
            ),
        )
        return attributions, details
