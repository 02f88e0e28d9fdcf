"""RISE: saliency as the probability-weighted mean of random smooth masks."""

from __future__ import annotations

from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np

from .._adapter import batched_predict_proba
from ..base import BaseExplainer
from ..utils._compat import Interval, StrOptions
from ..utils._intensity import explaining_float_copies, uint8_copies_to_model_scale
from ..utils._warnings import warn_constant_explanations, warn_degenerate_setup
from ._occlusion import validated_proba
from ._perturbation import check_explainer_fill

#: Grid bits are drawn this many masks at a time, bounding the float64
#: temporary of the draw whatever ``n_masks`` is (the stream of draws is the
#: same as one big draw).
_DRAW_CHUNK = 1024


def auto_mask_size(height, width):
    """The default RISE grid side ``s`` for ``height x width`` images.

    ``min(8, max(2, min(H, W) // 4))``: cells of about 4 pixels on images up
    to 32x32 (a 2x2 grid on 8x8 digits, 4x4 on 16x16) and the authors' 8x8
    grid from 32x32 up (cells of 28 pixels at 224x224).

    Examples
    --------
    >>> from sklearn_xai.attribution._rise import auto_mask_size
    >>> auto_mask_size(8, 8), auto_mask_size(16, 16), auto_mask_size(224, 224)
    (2, 4, 8)
    """
    return min(8, max(2, min(height, width) // 4))


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


def build_masks(grids, shifts, image_size, out=None):
    """Upsample bits ``(m, s, s)`` bilinearly and crop to ``(m, H, W)`` float32.

    Each ``s x s`` grid is resized with :func:`cv2.resize`
    (``INTER_LINEAR``) to ``(s + 1) * ceil(H / s)`` by
    ``(s + 1) * ceil(W / s)`` and cropped to ``H x W`` starting at its
    shift ``(dy, dx)`` (in pixels), into ``out`` (a float32 ``(m, H, W)``
    array) when given.

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
    masks = (
        np.empty((len(grids), height, width), dtype=np.float32) if out is None else out
    )
    for i, (grid, (dy, dx)) in enumerate(zip(grids, shifts, strict=True)):
        upsampled = cv2.resize(
            grid.astype(np.float32),
            (up_width, up_height),
            interpolation=cv2.INTER_LINEAR,
        )
        masks[i] = upsampled[dy : dy + height, dx : dx + width]
    return masks


def masked_images(masks, difference, baseline, out, spread=None):
    """``masks[..., None] * difference + baseline``, written into ``out``.

    The same numbers as that expression, computed faster: each mask is first
    copied into every channel (:func:`cv2.merge`, into ``spread``, a float32
    array shaped like ``out``, or ``out`` itself when that is float32), so
    that the product runs over whole contiguous rows instead of broadcasting
    over 3 channels (2 to 3 times faster at 224x224).

    Parameters
    ----------
    masks : ndarray of shape (m, H, W), float32
    difference : ndarray of shape (H, W, C)
        ``image - baseline``, float32 or float64.
    baseline : ndarray of shape ()
    out : ndarray of shape (m, H, W, C)
        In the dtype of the product.
    spread : ndarray of shape (m, H, W, C), float32, or None
        Room for the masks copied into every channel; None uses ``out``.

    Returns
    -------
    out : ndarray of shape (m, H, W, C)
    """
    import cv2

    m, height, width = masks.shape
    channels = difference.shape[-1]
    if channels == 1 or channels > 4:
        np.multiply(masks[..., np.newaxis], difference, out=out)
    else:
        room = out if spread is None else spread
        planes = [masks.reshape(m * height, width)] * channels
        room = cv2.merge(planes, dst=room.reshape(m * height, width, channels))
        np.multiply(room.reshape(out.shape), difference, out=out)
    out += baseline
    return out


def _rise_one(image, target, seed, explainer):
    """RISE saliency of one image: (attribution (H, W), details dict)."""
    height, width, _ = image.shape
    n_masks, p_keep = explainer.n_masks, explainer.p_keep
    rng = np.random.RandomState(seed)
    grids, shifts = draw_masks(
        rng, n_masks, explainer.mask_size_, p_keep, (height, width)
    )
    dtype = image.dtype if np.issubdtype(image.dtype, np.floating) else np.float32
    baseline = np.asarray(explainer.baseline, dtype=dtype)
    # image * M + baseline * (1 - M) == (image - baseline) * M + baseline
    difference = image.astype(dtype) - baseline
    batch_size = explainer._model_batch_size()

    def proba(batch):
        return batched_predict_proba(
            explainer.estimator_,
            batch,
            layout_ndim=explainer.input_ndim_,
            batch_size=batch_size,
        )[:, target]

    saliency = np.zeros((height, width))
    coverage = np.zeros((height, width))  # sum_i M_i, for the centring
    score_sum = 0.0
    # Masks and masked images go into buffers reused for every batch (the
    # model returns its probabilities before the next one is built).
    rows = min(batch_size, n_masks)
    mask_buffer = np.empty((rows, height, width), dtype=np.float32)
    masked_dtype = np.result_type(np.float32, difference)
    masked_buffer = np.empty((rows, *image.shape), dtype=masked_dtype)
    spread = (
        None if masked_dtype == np.float32 else np.empty_like(masked_buffer, np.float32)
    )
    # The image and its masked copies through the model's private
    # validated_proba where it has one (see _occlusion.validated_proba).
    with (
        explaining_float_copies(image.dtype == np.uint8),
        validated_proba(explainer.estimator_, image) or nullcontext() as fast,
    ):
        if fast is None:
            base = proba(image[np.newaxis])[0]
        else:
            base = np.float64(fast(image[np.newaxis], check_scale=True)[0, target])
        for start in range(0, n_masks, batch_size):
            stop = min(start + batch_size, n_masks)
            masks = build_masks(
                grids[start:stop],
                shifts[start:stop],
                (height, width),
                out=mask_buffer[: stop - start],
            )
            masked = masked_images(
                masks,
                difference,
                baseline,
                masked_buffer[: stop - start],
                None if spread is None else spread[: stop - start],
            )
            if image.dtype == np.uint8:
                # Soft-masked uint8 images are float with 0-255 values: on
                # the scale the model takes uint8 images on (a copy only for
                # a model that maps them elsewhere, e.g. / 255).
                masked = uint8_copies_to_model_scale(masked, explainer.estimator_)
            if fast is None:
                scores = proba(masked)
            else:
                # Float batches of integer images: the model checks their scale.
                scores = np.asarray(
                    fast(masked, check_scale=masked.dtype != image.dtype)[:, target],
                    dtype=np.float64,
                )
            # Mask by mask, in a fixed order: the sum does not depend on batch_size.
            for score, mask in zip(scores, masks, strict=True):
                saliency += score * mask
                coverage += mask
                score_sum += float(score)
    mean_score = score_sum / n_masks
    if explainer.center:
        # sum_i (p_i - mean p) M_i: each mask weighted by how much its score
        # beats the average masked score.
        saliency -= mean_score * coverage
    saliency /= n_masks * p_keep
    details = {"base_proba": float(base), "mean_score": mean_score}
    return saliency.astype(np.float32), details


class RISEExplainer(BaseExplainer):
    """RISE: randomized input sampling for explanation (Petsiuk et al., 2018).

    ``n_masks`` random smooth masks ``M_i`` are drawn: binary ``s x s`` grids
    (``s = mask_size_``) whose cells are kept with probability ``p_keep``,
    upsampled bilinearly to ``(s + 1) * ceil(H / s)`` by
    ``(s + 1) * ceil(W / s)`` and cropped to ``H x W`` at a random shift of
    less than one cell. Each masked image ``I * M_i + baseline * (1 - M_i)``
    is classified, giving scores :math:`p_i = p_{target}(I \\odot M_i)`, and
    the paper's saliency is the probability-weighted mean mask,

    .. math:: S = \\frac{1}{N p_{keep}} \\sum_i p_i M_i.

    :math:`S` carries a large constant offset: every pixel gets about the
    mean masked score :math:`\\bar p = \\frac{1}{N} \\sum_i p_i` (a classifier
    of constant probability ``c`` gets ``c`` everywhere), and the part that
    tells pixels apart is a few percent on top of it (a CNN on 32x32 faces:
    maps from 0.58 to 0.66). Shown as they are, such maps are one solid colour and
    every map looks equally dense to the complexity metrics. By default
    (``center=True``) the map is therefore the saliency *relative to the
    mean masked score*, each mask weighted by how much its score beats the
    average:

    .. math::

        S_c = \\frac{1}{N p_{keep}} \\sum_i (p_i - \\bar p) M_i
            = S - \\bar p \\, \\frac{\\bar M}{p_{keep}},
        \\qquad \\bar M = \\frac{1}{N} \\sum_i M_i,

    that is :math:`\\widehat{\\mathrm{Cov}}(p_i, M_i(x)) / p_{keep}`: positive
    where keeping the pixel goes with a higher probability, negative where
    it goes with a lower one, 0 where the pixel does not matter (a classifier
    of constant probability gets an all-zero map). As :math:`E[M] = p_{keep}`,
    :math:`S_c \\approx S - \\bar p`; subtracting :math:`\\bar M / p_{keep}`
    rather than 1 also removes the sampling noise of the masks' coverage.
    For a target probability linear in the pixels, :math:`f(J) = c + \\sum_y
    w_y J_y`, :math:`S_c(x) = \\frac{1}{p_{keep}} \\sum_y w_y (I_y - b)
    \\widehat{\\mathrm{Cov}}(M(y), M(x))`; with independent pixels this is
    :math:`w_x (I_x - E[\\text{masked } I_x])`, gradient times input relative
    to the average masked image, and RISE's smooth masks blur it by their
    covariance. ``center=False`` returns the paper's :math:`S`, and
    ``details.mean_score`` holds :math:`\\bar p`.

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
    mask_size : "auto" or int, default="auto"
        Side ``s`` of the random ``s x s`` grid before upsampling (a cell is
        about ``H / s`` pixels). ``"auto"`` follows the image size:
        ``min(8, max(2, min(H, W) // 4))``, cells of about 4 pixels up to
        32x32 images (a 2x2 grid on 8x8 digits) and the authors' 8x8 grid
        from 32x32 up. Resolved in ``fit`` into ``mask_size_``. ``s = 1``
        gives uniform masks and so a constant map (a warning).
    p_keep : float, default=0.5
        Probability that a grid cell is kept (in (0, 1]; 1 keeps everything
        and gives a constant map, with a warning).
    baseline : float, default=0.0
        The value masked pixels are blended towards (0.0 is black on uint8
        and [0, 1] images, not on [-1, 1] ones, where black is -1.0; as the
        deletion metrics' default ``baseline="black"``). It must lie in the
        images' range (0-255 for uint8, [0, 1] for floats in [0, 1], any
        finite value for other floats), else ``fit`` raises a ValueError.
    center : bool, default=True
        Return the saliency relative to the mean masked score, :math:`S_c`
        above (what the method means, shown and scored without its
        offset); False returns the paper's raw :math:`S`.
    batch_size : int or None, default=None
        Masked images per model call (bounds memory). None chooses by
        the kind of model: 32 for torch-backed models, up to 64 MiB of
        images (32 to 1024 rows) for others, whose per-call cost small
        batches multiply.
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
    mask_size_ : int
        The grid side used (``mask_size`` resolved for the image size).

    Warns
    -----
    DegenerateExplanationWarning
        In ``fit``, when every mask is uniform (``mask_size_=1`` or
        ``p_keep=1``), saying what to change; in ``explain``, when maps came
        out constant, with their count.

    See Also
    --------
    OcclusionExplainer : Hides one sliding patch at a time.

    Notes
    -----
    ``explain(X, return_details=True)`` also returns ``base_proba`` (the
    target's probability on the unmasked image) and ``mean_score`` (the
    mean masked score :math:`\\bar p`), one per image.

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
        "mask_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "p_keep": [Interval(Real, 0, 1, closed="right")],
        "baseline": [Real],
        "center": ["boolean"],
    }

    def __init__(
        self,
        estimator,
        *,
        n_masks=2000,
        mask_size="auto",
        p_keep=0.5,
        baseline=0.0,
        center=True,
        batch_size=None,
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
        self.center = center
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    def _fit_images(self, images):
        height, width = images.shape[1:3]
        if isinstance(self.mask_size, str):  # "auto"
            self.mask_size_ = auto_mask_size(height, width)
        else:
            self.mask_size_ = int(self.mask_size)
        check_explainer_fill(self, images, "baseline")
        owner = type(self).__name__
        if self.mask_size_ == 1:
            warn_degenerate_setup(
                owner,
                "mask_size=1 makes every mask uniform (one grid cell stretched "
                "over the image)",
                f"Use mask_size='auto' ({auto_mask_size(height, width)} here) "
                "or at least 2.",
            )
        elif self.p_keep == 1:
            warn_degenerate_setup(
                owner,
                "p_keep=1 keeps every grid cell, so every masked image is the "
                "image itself",
                "Use p_keep < 1 (the authors use 0.5).",
            )

    def _explain(self, images, targets, seeds):
        check_explainer_fill(self, images, "baseline")
        attributions, per_image = self._map_images(
            _rise_one, images, targets, seeds, self
        )
        warn_constant_explanations(attributions, owner=type(self).__name__)
        return attributions, {
            key: np.array([d[key] for d in per_image])
            for key in ("base_proba", "mean_score")
        }
