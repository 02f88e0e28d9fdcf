"""RISE: saliency as the probability-weighted mean of random smooth masks."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._adapter import batched_predict_proba
from ..base import BaseExplainer
from ..utils._compat import Interval

#: Grid bits are drawn this many masks at a time, bounding the float64
#: temporary of the draw whatever ``n_masks`` is (the stream of draws is the
#: same as one big draw).
_DRAW_CHUNK = 1024


def draw_masks(rng, n_masks, mask_size, p_keep, image_size):
    """The random part of RISE's masks: grid bits and shifts.

    The draws of the reference implementation of Petsiuk et al.: first
    ``rng.rand(n_masks, s, s) < p_keep``, then, mask by mask, a row shift
    ``rng.randint(0, ceil(H / s))`` and a column shift
    ``rng.randint(0, ceil(W / s))``.

    Returns
    -------
    grids : ndarray of shape (n_masks, s, s), bool
    shifts : ndarray of shape (n_masks, 2), int
    """
    s = mask_size
    grids = np.empty((n_masks, s, s), dtype=bool)
    for start in range(0, n_masks, _DRAW_CHUNK):
        stop = min(start + _DRAW_CHUNK, n_masks)
        grids[start:stop] = rng.random_sample((stop - start, s, s)) < p_keep
    cells = [-(-image_size[0] // s), -(-image_size[1] // s)]
    shifts = rng.randint(0, cells, size=(n_masks, 2))
    return grids, shifts


def build_masks(grids, shifts, image_size):
    """Upsample bits ``(m, s, s)`` bilinearly and crop to ``(m, H, W)`` float32.

    Each ``s x s`` grid is resized with :func:`cv2.resize`
    (``INTER_LINEAR``) to ``(s + 1) * ceil(H / s)`` by
    ``(s + 1) * ceil(W / s)`` and cropped to ``H x W`` starting at its
    shift ``(dy, dx)`` (in pixels).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._rise import build_masks
    >>> grids = np.ones((3, 2, 2), dtype=bool)
    >>> build_masks(grids, np.zeros((3, 2), dtype=int), (5, 5)).shape
    (3, 5, 5)
    """
    import cv2

    height, width = image_size
    s = grids.shape[1]
    up_height = (s + 1) * -(-height // s)
    up_width = (s + 1) * -(-width // s)
    masks = np.empty((len(grids), height, width), dtype=np.float32)
    for i, (grid, (dy, dx)) in enumerate(zip(grids, shifts, strict=True)):
        upsampled = cv2.resize(
            grid.astype(np.float32),
            (up_width, up_height),
            interpolation=cv2.INTER_LINEAR,
        )
        masks[i] = upsampled[dy : dy + height, dx : dx + width]
    return masks


def _rise_one(image, target, seed, explainer):
    """RISE saliency of one image: (attribution (H, W), details dict)."""
    height, width, _ = image.shape
    n_masks, p_keep = explainer.n_masks, explainer.p_keep
    rng = np.random.RandomState(seed)
    grids, shifts = draw_masks(
        rng, n_masks, explainer.mask_size, p_keep, (height, width)
    )
    dtype = image.dtype if np.issubdtype(image.dtype, np.floating) else np.float32
    baseline = np.asarray(explainer.baseline, dtype=dtype)
    # image * M + baseline * (1 - M) == (image - baseline) * M + baseline
    difference = image.astype(dtype) - baseline

    def proba(batch):
        return batched_predict_proba(
            explainer.estimator_,
            batch,
            layout_ndim=explainer.input_ndim_,
            batch_size=explainer.batch_size,
        )[:, target]

    base = proba(image[np.newaxis])[0]
    saliency = np.zeros((height, width))
    for start in range(0, n_masks, explainer.batch_size):
        stop = min(start + explainer.batch_size, n_masks)
        masks = build_masks(grids[start:stop], shifts[start:stop], (height, width))
        masked = masks[..., np.newaxis] * difference
        masked += baseline
        scores = proba(masked)
        del masked
        # Mask by mask, in a fixed order: the sum does not depend on batch_size.
        for score, mask in zip(scores, masks, strict=True):
            saliency += score * mask
    saliency /= n_masks * p_keep
    return saliency.astype(np.float32), {"base_proba": float(base)}


class RISEExplainer(BaseExplainer):
    """RISE: randomized input sampling for explanation (Petsiuk et al., 2018).

    ``n_masks`` random smooth masks ``M_i`` are drawn: binary ``s x s`` grids
    (``s = mask_size``) whose cells are kept with probability ``p_keep``,
    upsampled bilinearly to ``(s + 1) * ceil(H / s)`` by
    ``(s + 1) * ceil(W / s)`` and cropped to ``H x W`` at a random shift of
    less than one cell. Each masked image ``I * M_i + baseline * (1 - M_i)``
    is classified, and the saliency is the probability-weighted mean mask,

    .. math:: S = \\frac{1}{N p_{keep}} \\sum_i p_{target}(I \\odot M_i) M_i,

    so a pixel scores high when keeping it goes with a high probability. The
    map has the scale of a probability (a classifier of constant probability
    ``c`` gets ``c`` everywhere, up to the sampling noise of the masks).

    Only ``predict_proba`` is called, so any classifier can be explained.
    The grid bits and shifts (a few bytes per mask) are drawn up front from
    the image's seed, with the draws of the authors' reference code; the
    upsampled masks and masked images are built ``batch_size`` at a time, so
    memory is bounded by ``batch_size``, not ``n_masks``, and the result does
    not depend on ``batch_size``. Masked images are floating point (float32
    for integer images).

    Parameters
    ----------
    estimator : classifier
        Any classifier with ``predict_proba`` (a CNNClassifier, a pipeline, a
        forest on flattened images...), or a trained one in
        :class:`~sklearn.frozen.FrozenEstimator`.
    n_masks : int, default=2000
        Number of random masks per image.
    mask_size : int, default=8
        Side ``s`` of the random ``s x s`` grid before upsampling.
    p_keep : float, default=0.5
        Probability that a grid cell is kept (in (0, 1]).
    baseline : float, default=0.0
        The value masked pixels are blended towards.
    batch_size : int, default=32
        Masked images per model call (bounds memory).
    n_jobs : int or None, default=None
        joblib workers over images.
    random_state : int, RandomState instance or None, default=None
        Seed of the masks. Each image draws its masks from a seed derived
        from ``random_state`` and the image's content, so an explanation
        depends only on the image and ``random_state``, and different images
        do not share their sampling error.
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

    See Also
    --------
    OcclusionExplainer : Hides one sliding patch at a time.

    References
    ----------
    .. [1] V. Petsiuk, A. Das and K. Saenko, "RISE: Randomized input sampling
       for explanation of black-box models", BMVC 2018.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.attribution import RISEExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> X, y = load_digit_images(return_X_y=True)
    >>> X, y = X[:300].reshape(300, -1), y[:300]
    >>> clf = LogisticRegression(max_iter=500).fit(X, y)
    >>> rise = RISEExplainer(FrozenEstimator(clf), n_masks=200, mask_size=4,
    ...                      image_shape=(8, 8), random_state=0)
    >>> rise.fit(X).explain(X[:2]).shape
    (2, 8, 8)
    """

    _parameter_constraints: dict = {
        **BaseExplainer._parameter_constraints,
        "n_masks": [Interval(Integral, 1, None, closed="left")],
        "mask_size": [Interval(Integral, 1, None, closed="left")],
        "p_keep": [Interval(Real, 0, 1, closed="right")],
        "baseline": [Real],
    }

    def __init__(
        self,
        estimator,
        *,
        n_masks=2000,
        mask_size=8,
        p_keep=0.5,
        baseline=0.0,
        batch_size=32,
        n_jobs=None,
        random_state=None,
        verbose=0,
        image_shape=None,
    ):
        self.estimator = estimator
        self.n_masks = n_masks
        self.mask_size = mask_size
        self.p_keep = p_keep
        self.baseline = baseline
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    def _explain(self, images, targets, seeds):
        attributions, per_image = self._map_images(
            _rise_one, images, targets, seeds, self
        )
        return attributions, {
            "base_proba": np.array([d["base_proba"] for d in per_image])
        }
