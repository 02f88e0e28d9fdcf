"""Occlusion: slide a baseline patch over the image, record the drop in probability."""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial
from numbers import Integral, Real

import numpy as np

from .._adapter import bare_model, batched_predict_proba
from ..base import BaseExplainer
from ..utils._compat import Interval, StrOptions
from ..utils._intensity import explaining_float_copies, uint8_copies_to_model_scale
from ..utils._warnings import warn_constant_explanations, warn_degenerate_setup
from ._perturbation import check_explainer_fill, exact_fill, hide_image


def _pair(value, name):
    """``value`` as a pair ``(h, w)`` of positive ints."""
    pair = (value, value) if isinstance(value, Integral) else tuple(value)
    if len(pair) != 2 or not all(
        isinstance(v, Integral) and not isinstance(v, bool) and v >= 1 for v in pair
    ):
        raise ValueError(
            f"{name} must be a positive int or a pair (h, w) of positive ints; "
            f"got {value!r}."
        )
    return int(pair[0]), int(pair[1])


def auto_window(height, width):
    """The default occlusion window side for ``height x width`` images.

    ``max(2, min(H, W) // 8)`` pixels, but at most half the shorter side (at
    least 1): 2 on 8x8 to 31x31 images, 4 on 32x32, 28 on 224x224; 1 on
    images under 4 pixels a side. Windows at least two positions per axis
    apart, so the map is never one constant value.

    Examples
    --------
    >>> from sklearn_xai.attribution._occlusion import auto_window
    >>> auto_window(8, 8), auto_window(32, 32), auto_window(224, 224)
    (2, 4, 28)
    """
    short = min(height, width)
    return min(max(2, short // 8), max(1, short // 2))


def window_starts(size, window, stride):
    """First index of every window position along one axis, as captum places them.

    ``ceil((size - window) / stride) + 1`` positions ``0, stride, 2 * stride,
    ...``; when ``(size - window) % stride != 0`` the last window reaches past
    the border and is cut there, so every pixel is covered.

    Examples
    --------
    >>> from sklearn_xai.attribution._occlusion import window_starts
    >>> window_starts(10, 4, 4)
    array([0, 4, 8])
    """
    n = -(-(size - window) // stride) + 1
    return np.arange(n) * stride


def _coverage(size, window, stride):
    """Indicator ``(n_positions, size)`` of the pixels each window covers."""
    starts = window_starts(size, window, stride)
    index = np.arange(size)
    return (index >= starts[:, np.newaxis]) & (index < starts[:, np.newaxis] + window)


def baseline_image(image, baseline):
    """What occluded pixels of ``image (H, W, C)`` become.

    ``baseline`` is a number (checked beforehand against the images' range),
    ``"blur"`` or a mean image ``(H, W, C)``. The result is in the image's
    dtype when that holds it exactly, else floating point: a fractional or
    mean baseline on integer images is never rounded (the fill rule of
    :mod:`~sklearn_xai.attribution._perturbation`).
    """
    if isinstance(baseline, str):  # "blur"
        return hide_image(image, None, "blur")
    values = np.broadcast_to(np.asarray(baseline, dtype=np.float64), image.shape)
    return exact_fill(values, image.dtype)


def validated_proba(estimator, image):
    """A context giving ``proba(batch, check_scale=False)`` for batches built
    from ``image``, without ``predict_proba``'s per-call validation.

    For a bare torch-backed model (a CNNClassifier or TorchClassifier,
    optionally frozen) fitted on images of ``image``'s shape, its private
    ``_validated_proba``: the explainer has validated ``image`` (finite, of
    an image dtype; the shape is checked here) and the fill (in the images'
    range), so batches of the image's pixels and the fill skip
    ``check_array`` and the shape checks; the model still converts uint8
    batches to its scale, and checks the scale of float ones with
    ``check_scale=True``, as ``predict_proba`` does: the image itself (once)
    and float batches built from integer images (a fractional fill, RISE's
    soft masks), which the model must judge. The probabilities are the
    same, bit for bit. None for any other model (a pipeline, a subclass
    with its own ``predict_proba``, another classifier): ``predict_proba``
    and every check run.
    """
    model = bare_model(estimator)
    if (
        model is None
        or not hasattr(model, "_validated_proba")
        or tuple(getattr(model, "image_shape_", ())) != image.shape
    ):
        return None
    owner = next(c for c in type(model).__mro__ if "_validated_proba" in vars(c))
    if type(model).predict_proba is not vars(owner).get("predict_proba"):
        return None
    return model._validated_proba()


def _occlude_one(image, target, seed, explainer, baseline):
    """Occlusion map of one image: (attribution (H, W), details dict)."""
    del seed  # occlusion draws nothing at random
    height, width, channels = image.shape
    (h, w), (sh, sw) = explainer.window_, explainer.stride_
    rows = _coverage(height, h, sh)  # (n_rows, H)
    cols = _coverage(width, w, sw)  # (n_cols, W)
    row_starts = window_starts(height, h, sh)
    col_starts = window_starts(width, w, sw)
    fill = baseline_image(image, baseline)
    source = image
    if image.dtype == np.uint8 and fill.dtype != np.uint8:
        # A fractional fill of a uint8 image: float occluded images, on the
        # scale the model takes uint8 images on (a [0, 1] model's: / 255).
        scaled = uint8_copies_to_model_scale(fill, explainer.estimator_)
        if scaled is not fill:
            source = uint8_copies_to_model_scale(image, explainer.estimator_)
            fill = scaled
    batch_size = explainer._model_batch_size()

    def proba(batch):
        return batched_predict_proba(
            explainer.estimator_,
            batch,
            layout_ndim=explainer.input_ndim_,
            batch_size=batch_size,
        )[:, target]

    n_positions = len(rows) * len(cols)
    drops = np.empty(n_positions)
    # Each occluded image is the image with one rectangle of the fill (cut at
    # the border, as _coverage): a copy and a small assignment per window,
    # in the dtype np.where(hidden, fill, image) gives, in one buffer reused
    # for every batch (the model returns its probabilities before the next).
    buffer = np.empty(
        (min(batch_size, n_positions), height, width, channels),
        dtype=np.result_type(fill, source),
    )
    with (
        explaining_float_copies(image.dtype == np.uint8 and fill.dtype != np.uint8),
        validated_proba(explainer.estimator_, image) or nullcontext() as fast,
    ):
        if fast is None:
            base = proba(image[np.newaxis])[0]
        else:
            proba32 = fast(image[np.newaxis], check_scale=True)
            base = np.float64(proba32[0, target])
        if fast is not None and buffer.dtype != image.dtype:
            # Float copies of integer images (a fractional fill): the model
            # judges their scale, batch by batch, as predict_proba does.
            fast = partial(fast, check_scale=True)
        for start in range(0, n_positions, batch_size):
            stop = min(start + batch_size, n_positions)
            occluded = buffer[: stop - start]
            occluded[...] = source
            for row, k in enumerate(range(start, stop)):
                # Window k sits at row position k // n_cols, column k % n_cols.
                top, left = row_starts[k // len(cols)], col_starts[k % len(cols)]
                window = (slice(top, top + h), slice(left, left + w))
                occluded[(row, *window)] = fill[window]
            if fast is None:
                drops[start:stop] = base - proba(occluded)
            else:
                drops[start:stop] = base - np.asarray(
                    fast(occluded)[:, target], dtype=np.float64
                )
    # Sum of the drops of the windows covering each pixel, over their count.
    rows_f, cols_f = rows.astype(np.float64), cols.astype(np.float64)
    total = rows_f.T @ drops.reshape(len(rows), len(cols)) @ cols_f
    counts = np.outer(rows_f.sum(axis=0), cols_f.sum(axis=0))
    details = {"base_proba": float(base), "n_windows": n_positions}
    return (total / counts).astype(np.float32), details


class OcclusionExplainer(BaseExplainer):
    """Occlusion: the probability drop when a patch is hidden (Zeiler & Fergus, 2014).

    A ``window`` slides over the image in steps of ``stride``; at every
    position the patch is replaced by ``baseline`` (in all channels) and the
    model's probability of the target class is computed. A pixel's attribution
    is the mean, over the windows covering it, of ``p(x) - p(x occluded)``:
    positive where hiding the pixel lowers the probability.

    The windows are placed as in :class:`captum.attr.Occlusion` (with
    ``sliding_window_shapes=(C, h, w)`` and ``strides=(C, sh, sw)``), and the
    attributions equal captum's for a model whose forward returns
    probabilities: along an axis of size ``H`` there are
    ``ceil((H - h) / sh) + 1`` positions; when ``(H - h) % sh != 0`` the last
    window reaches past the border and is cut there, so border pixels are
    covered by fewer, smaller windows rather than left out. Only
    ``predict_proba`` is called, so any classifier can be explained; the
    occluded images are built vectorised and classified ``batch_size`` at a
    time, never all at once.

    Parameters
    ----------
    estimator : classifier
        Any classifier with ``predict_proba`` (a CNNClassifier, a pipeline, a
        forest on flattened images...), or a trained one in
        :class:`~sklearn.frozen.FrozenEstimator`.
    window : "auto", int or tuple (h, w) of int, default="auto"
        Height and width of the occluding patch; at most the image size.
        ``"auto"`` follows the image size: ``max(2, min(H, W) // 8)``, at
        most half the shorter side (at least 1), the same along both axes (2
        on 8x8 images, 4 on 32x32, 28 on 224x224). Resolved in ``fit`` into
        ``window_``.
    stride : "auto", int or tuple (h, w) of int, default="auto"
        Step between window positions; at most the window size (so that no
        pixel is skipped), along axes where the window is smaller than the
        image. ``"auto"`` is half the window (at least 1), resolved in
        ``fit`` into ``stride_``.
    baseline : float, "mean" or "blur", default=0.0
        What occluded pixels become: a constant (the default 0.0 is black on
        uint8 and [0, 1] images, not on [-1, 1] ones, where black is -1.0; as
        the deletion metrics' default ``baseline="black"``); ``"mean"``, the
        mean training image learned in ``fit``; ``"blur"``, a strongly
        blurred copy of the image (Gaussian, sigma a tenth of the image
        side). A number must lie in the images' range (0-255 for uint8,
        [0, 1] for floats in [0, 1], any finite value for other floats),
        else ``fit`` raises a ValueError. Occluded images keep the dtype of
        the images when it holds the baseline exactly and are floating point
        otherwise (a fractional or mean baseline on integer images): never
        rounded, clipped or wrapped.
    batch_size : int or None, default=None
        Occluded images per model call (bounds memory). None chooses by
        the kind of model: 32 for torch-backed models, up to 64 MiB of
        images (32 to 1024 rows) for others, whose per-call cost small
        batches multiply.
    n_jobs : int or None, default=None
        joblib workers over images.
    random_state : int, RandomState instance or None, default=None
        Unused: occlusion is deterministic. Kept for a uniform interface.
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
    baseline_ : ndarray of shape (H, W, C), float or str
        The mean training image when ``baseline="mean"``, else ``baseline``.
    window_ : tuple (h, w) of int
        The window used (``window`` resolved for the fitted image size).
    stride_ : tuple (h, w) of int
        The stride used.
    image_shape_ : tuple of int
        ``(H, W, C)`` seen in ``fit``.
    n_features_in_ : int
        ``H * W * C``.
    input_ndim_ : int
        Layout of the fitted images (2 flattened, 3 gray, 4 channels last).

    Warns
    -----
    DegenerateExplanationWarning
        In ``fit``, when the window covers the whole image (one position:
        every pixel gets the same drop), saying what to change; in
        ``explain``, when maps came out constant, with their count.

    See Also
    --------
    RISEExplainer : Occludes random smooth masks instead of one sliding patch.

    References
    ----------
    .. [1] M. D. Zeiler and R. Fergus, "Visualizing and understanding
       convolutional networks", ECCV 2014.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.attribution import OcclusionExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> X, y = load_digit_images(return_X_y=True)
    >>> X, y = X[:300].reshape(300, -1), y[:300]
    >>> clf = LogisticRegression(max_iter=500).fit(X, y)
    >>> occlusion = OcclusionExplainer(FrozenEstimator(clf), window=2, stride=1,
    ...                                image_shape=(8, 8))
    >>> occlusion.fit(X).explain(X[:2]).shape
    (2, 8, 8)
    """

    _parameter_constraints: dict = {
        **BaseExplainer._parameter_constraints,
        "window": [
            Interval(Integral, 1, None, closed="left"),
            tuple,
            StrOptions({"auto"}),
        ],
        "stride": [
            Interval(Integral, 1, None, closed="left"),
            tuple,
            StrOptions({"auto"}),
        ],
        "baseline": [Real, StrOptions({"mean", "blur"})],
    }

    def __init__(
        self,
        estimator,
        *,
        window="auto",
        stride="auto",
        baseline=0.0,
        batch_size=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
        image_shape=None,
    ):
        self.estimator = estimator
        self.window = window
        self.stride = stride
        self.baseline = baseline
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    def _geometry(self, image_shape):
        """``(window, stride)`` as pairs for the image size, checked."""
        size = tuple(image_shape[:2])
        if isinstance(self.window, str):  # "auto"
            window = (auto_window(*size),) * 2
        else:
            window = _pair(self.window, "window")
        if isinstance(self.stride, str):  # "auto": half the window
            stride = tuple(max(1, side // 2) for side in window)
        else:
            stride = _pair(self.stride, "stride")
        if window[0] > size[0] or window[1] > size[1]:
            raise ValueError(
                f"window={self.window!r} is larger than the images "
                f"({size[0]}x{size[1]}); use at most the image size."
            )
        for axis in range(2):
            if window[axis] < size[axis] and stride[axis] > window[axis]:
                raise ValueError(
                    f"stride={self.stride!r} must not exceed window="
                    f"{self.window!r}: larger steps leave pixels that no window "
                    "covers."
                )
        return window, stride

    def _fit_images(self, images):
        self.window_, self.stride_ = self._geometry(images.shape[1:])
        height, width = images.shape[1:3]
        if self.window_ == (height, width):
            warn_degenerate_setup(
                type(self).__name__,
                f"window={self.window!r} covers the whole {height}x{width} "
                "image: one occlusion, the same drop for every pixel",
                f"Use a smaller window, e.g. window='auto' "
                f"({auto_window(height, width)} here).",
            )
        check_explainer_fill(self, images, "baseline")
        if isinstance(self.baseline, str) and self.baseline == "mean":
            self.baseline_ = images.mean(axis=0, dtype=np.float64)
        else:
            self.baseline_ = self.baseline

    def _explain(self, images, targets, seeds):
        check_explainer_fill(self, images, "baseline")
        attributions, per_image = self._map_images(
            _occlude_one, images, targets, seeds, self, self.baseline_
        )
        details = {
            "base_proba": np.array([d["base_proba"] for d in per_image]),
            "n_windows": int(per_image[0]["n_windows"]) if per_image else 0,
        }
        warn_constant_explanations(attributions, owner=type(self).__name__)
        return attributions, details
