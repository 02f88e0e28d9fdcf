"""Occlusion: slide a baseline patch over the image, record the drop in probability."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._adapter import batched_predict_proba
from ..base import BaseExplainer
from ..utils._compat import Interval, StrOptions
from ._perturbation import hide_image


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
    """What occluded pixels of ``image (H, W, C)`` become, in its dtype.

    ``baseline`` is a number, ``"blur"`` or a mean image ``(H, W, C)``.
    Integer images get the baseline rounded and clipped to their range.
    """
    if isinstance(baseline, str):  # "blur"
        return hide_image(image, None, "blur")
    values = np.broadcast_to(np.asarray(baseline, dtype=np.float64), image.shape)
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    return values.astype(image.dtype)


def _occlude_one(image, target, seed, explainer, baseline):
    """Occlusion map of one image: (attribution (H, W), details dict)."""
    del seed  # occlusion draws nothing at random
    height, width, _ = image.shape
    (h, w), (sh, sw) = explainer._geometry(image.shape)
    rows = _coverage(height, h, sh)  # (n_rows, H)
    cols = _coverage(width, w, sw)  # (n_cols, W)
    fill = baseline_image(image, baseline)

    def proba(batch):
        return batched_predict_proba(
            explainer.estimator_,
            batch,
            layout_ndim=explainer.input_ndim_,
            batch_size=explainer.batch_size,
        )[:, target]

    base = proba(image[np.newaxis])[0]
    n_positions = len(rows) * len(cols)
    drops = np.empty(n_positions)
    for start in range(0, n_positions, explainer.batch_size):
        # Window k sits at row position k // n_cols, column position k % n_cols.
        k = np.arange(start, min(start + explainer.batch_size, n_positions))
        hidden = rows[k // len(cols), :, np.newaxis] & cols[k % len(cols), np.newaxis]
        occluded = np.where(hidden[..., np.newaxis], fill, image)
        drops[start : start + len(k)] = base - proba(occluded)
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
    window : int or tuple (h, w) of int, default=8
        Height and width of the occluding patch; at most the image size.
    stride : int or tuple (h, w) of int, default=4
        Step between window positions; at most the window size (so that no
        pixel is skipped), along axes where the window is smaller than the
        image.
    baseline : float, "mean" or "blur", default=0.0
        What occluded pixels become: a constant; ``"mean"``, the mean
        training image learned in ``fit``; ``"blur"``, a strongly blurred copy
        of the image (Gaussian, sigma a tenth of the image side). Occluded
        images keep the dtype of the images (integer images get the baseline
        rounded and clipped).
    batch_size : int, default=32
        Occluded images per model call (bounds memory).
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
    image_shape_ : tuple of int
        ``(H, W, C)`` seen in ``fit``.
    n_features_in_ : int
        ``H * W * C``.
    input_ndim_ : int
        Layout of the fitted images (2 flattened, 3 gray, 4 channels last).

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
        "window": [Interval(Integral, 1, None, closed="left"), tuple],
        "stride": [Interval(Integral, 1, None, closed="left"), tuple],
        "baseline": [Real, StrOptions({"mean", "blur"})],
    }

    def __init__(
        self,
        estimator,
        *,
        window=8,
        stride=4,
        baseline=0.0,
        batch_size=32,
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
        """``(window, stride)`` as pairs, checked against the image size."""
        window = _pair(self.window, "window")
        stride = _pair(self.stride, "stride")
        size = tuple(image_shape[:2])
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
        self._geometry(images.shape[1:])
        if isinstance(self.baseline, str) and self.baseline == "mean":
            self.baseline_ = images.mean(axis=0, dtype=np.float64)
        else:
            self.baseline_ = self.baseline

    def _explain(self, images, targets, seeds):
        self._geometry(images.shape[1:])
        attributions, per_image = self._map_images(
            _occlude_one, images, targets, seeds, self, self.baseline_
        )
        details = {
            "base_proba": np.array([d["base_proba"] for d in per_image]),
            "n_windows": int(per_image[0]["n_windows"]) if per_image else 0,
        }
        return attributions, details
