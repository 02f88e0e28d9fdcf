"""The superpixel perturbation engine shared by LIME-style methods.

Segmentation (:func:`make_segmenter`, with segment counts that follow the
image size, :func:`auto_n_segments`), what hidden superpixels become
(:func:`hide_image`; numbers checked by :func:`check_fill`, the fill rule
every perturbation method and metric follows), perturbed images built
vectorised from keep/hide masks (:func:`perturbed_images`, or on a torch
model's device by :func:`device_perturbation_proba`) and the model's
probabilities on them in bounded batches (:func:`perturbation_proba`, the
function the explainers' ``memory=`` caches). Used by LimeExplainer and
KernelShapExplainer.

The fill rule
-------------
What hidden or removed pixels become (LIME's and Kernel SHAP's
``hide_color``, occlusion's and RISE's ``baseline``, the faithfulness
metrics' ``baseline``) is a value of the images:

* a number must be finite and lie in the images' range: the dtype's range
  for integer images (0-255 for uint8), [0, 1] for floating-point images in
  [0, 1] (the intensity range recorded in ``fit``,
  :mod:`sklearn_xai.utils._intensity`), any finite number for other
  floating-point images (standardized ones have no known range). Outside
  it, a ValueError naming the argument: nothing wraps (-1 becoming 255),
  saturates or overflows;
* perturbed images are exact: they keep the images' dtype when the fill is
  exactly representable in it (an integer fill on uint8 images) and are
  built in floating point otherwise (127.6, a mean or a blur on uint8
  images); nothing is rounded or truncated.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
from sklearn.base import clone

from .._adapter import bare_model, batched_predict_proba
from ..preprocessing import SuperpixelSegmenter, _superpixels
from ..utils._blur import blur_images
from ..utils._intensity import (
    explaining_float_copies,
    fitted_intensity_range,
    uint8_copies_to_model_scale,
)
from ..utils._warnings import warn_degenerate_setup

#: The segmentation methods an explainer accepts by name.
SEGMENTATIONS = ("quickshift", "slic", "felzenszwalb", "grid")
#: The most superpixels a named "slic" or "grid" segmentation asks for: SLIC
#: with this many segments gives a useful number of superpixels at every
#: image size from 32x32 up (quickshift with lime's defaults finds only 2-8
#: segments on 64x64 images).
DEFAULT_N_SEGMENTS = 50
#: The smallest superpixel area (in pixels) the automatic segment count
#: allows: 2x2. One-pixel superpixels hidden with their own mean change
#: nothing, and SLIC asked for more than a quarter of the pixels cuts
#: one-pixel segments.
MIN_SEGMENT_AREA = 4


def auto_n_segments(height, width):
    """The segment count of a named "slic" or "grid" segmentation.

    ``min(50, H * W // 4)``, at least 1: about 50 superpixels, but none
    smaller than about 2x2 pixels (16 on 8x8 digits, 50 from 15x15 up).

    Examples
    --------
    >>> from sklearn_xai.attribution._perturbation import auto_n_segments
    >>> auto_n_segments(8, 8), auto_n_segments(16, 16), auto_n_segments(224, 224)
    (16, 50, 50)
    """
    return max(1, min(DEFAULT_N_SEGMENTS, (height * width) // MIN_SEGMENT_AREA))


def fill_range(dtype, input_range):
    """``(low, high)`` a fill may take for images of ``dtype``.

    The dtype's range for integer (and boolean) images; ``input_range``
    (the intensity range recorded in ``fit``: (0, 1) for floats in [0, 1])
    for floating-point ones, unbounded when it is None.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return 0.0, 1.0
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    if input_range is None:
        return -np.inf, np.inf
    return float(input_range[0]), float(input_range[1])


def check_fill(value, *, name, dtype, input_range, owner=None):
    """A numeric fill checked against the images' range (the fill rule).

    Parameters
    ----------
    value : float
        The fill.
    name : str
        The argument, for the message (e.g. ``"hide_color"``).
    dtype : dtype
        The images' dtype.
    input_range : tuple of 2 float or None
        The images' intensity range (``input_range_``).
    owner : str or None, default=None
        The explainer, for the message.

    Returns
    -------
    value : float

    Raises
    ------
    ValueError
        For NaN, infinity, or a value outside the images' range.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._perturbation import check_fill
    >>> check_fill(127.6, name="hide_color", dtype=np.uint8, input_range=None,
    ...            owner="LimeExplainer")
    127.6
    >>> check_fill(-1.0, name="hide_color", dtype=np.uint8, input_range=None,
    ...            owner="LimeExplainer")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: LimeExplainer: hide_color=-1.0 is outside the images' range ...
    """
    value = float(value)
    low, high = fill_range(dtype, input_range)
    prefix = f"{owner}: " if owner else ""
    if not np.isfinite(value):
        raise ValueError(f"{prefix}{name} must be a finite number; got {value!r}.")
    if not low <= value <= high:
        kind = (
            "floating-point images with intensities in that range"
            if np.dtype(dtype).kind == "f"
            else f"{np.dtype(dtype).name} images"
        )
        raise ValueError(
            f"{prefix}{name}={value!r} is outside the images' range "
            f"[{low:g}, {high:g}] ({kind}); a fill must be a value the images "
            "can take (0 is black). Use a value in that range, or convert the "
            "images to the scale the fill is meant for."
        )
    return value


def exact_fill(values, dtype):
    """``values`` in ``dtype`` when that holds them exactly, else float64.

    Integer images keep their dtype under an integer fill in their range and
    get a floating-point fill otherwise, so a fill is never rounded, wrapped
    or clipped; floating-point images get the fill in their own dtype.
    """
    values = np.asarray(values, dtype=np.float64)
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        low, high = fill_range(dtype, None)
        exact = np.array_equal(values, np.round(values))
        if not (exact and low <= values.min() and values.max() <= high):
            return values
    return values.astype(dtype)


#: Bounds of the in-process segmentation cache (least recently used entries
#: go first): label maps are int32, 0.2 MB at 224x224, so about 300 images
#: at that size.
SEGMENTATION_CACHE_BYTES = 64 * 2**20
SEGMENTATION_CACHE_ENTRIES = 512


class _SegmentationCache:
    """A bounded, thread-safe, least-recently-used store of label maps.

    Keys hold everything a label map depends on (see :func:`make_segmenter`);
    values are private read-only arrays, and every lookup returns a copy, so
    no caller can change what another one gets.
    """

    def __init__(self, max_bytes, max_entries):
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._entries = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key, compute):
        with self._lock:
            labels = self._entries.get(key)
            if labels is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return labels.copy()
            self.misses += 1
        labels = np.array(compute())  # outside the lock: segmenting is slow
        if labels.nbytes <= self.max_bytes:
            stored = labels.copy()
            stored.setflags(write=False)
            with self._lock:
                if key not in self._entries:
                    self._entries[key] = stored
                    self._bytes += stored.nbytes
                while (
                    self._bytes > self.max_bytes
                    or len(self._entries) > self.max_entries
                ):
                    _, old = self._entries.popitem(last=False)
                    self._bytes -= old.nbytes
        return labels

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def info(self):
        """``{"hits", "misses", "entries", "bytes"}`` since the last clear."""
        with self._lock:
            return {
                "hits": self.hits,
                "misses": self.misses,
                "entries": len(self._entries),
                "bytes": self._bytes,
            }


_SEGMENTATIONS = _SegmentationCache(
    SEGMENTATION_CACHE_BYTES, SEGMENTATION_CACHE_ENTRIES
)


def clear_segmentation_cache():
    """Empty the in-process segmentation cache of :func:`make_segmenter`."""
    _SEGMENTATIONS.clear()


def segmentation_cache_info():
    """Hits, misses, entries and bytes of the in-process segmentation cache."""
    return _SEGMENTATIONS.info()


def _content_key(image):
    """The image's dtype, shape and a 128-bit digest of its bytes."""
    values = np.ascontiguousarray(image)
    digest = hashlib.blake2b(values.view(np.uint8).reshape(-1), digest_size=16)
    return values.dtype.str, values.shape, digest.hexdigest()


def _uses_memory(memory):
    """Whether ``memory`` caches (a joblib.Memory without location does not)."""
    if memory is None:
        return False
    return getattr(memory, "location", True) is not None


def make_segmenter(segmentation, seed, n_segments=DEFAULT_N_SEGMENTS, *, memory=None):
    """A function ``image (H, W, C) -> int labels (H, W), 0..k-1``.

    ``n_segments`` is what a named "slic" or "grid" segmentation asks for
    (the explainers pass their ``n_segments_``, :func:`auto_n_segments`).

    A named segmentation or a
    :class:`~sklearn_xai.preprocessing.SuperpixelSegmenter` is computed once
    per image and reused, keyed by everything the labels depend on: the
    image's content (a digest of its bytes, dtype and shape, taken at each
    call, so an image edited in place is segmented again), the method, its
    parameters and the seed its ``random_state`` (or ``seed``) gives. So a
    grid search over LIME's or Kernel SHAP's other parameters (quickshift
    takes 0.3 s on a 224x224 image) segments each image once, and clones
    share the segmentations. With a joblib ``memory`` that has a location
    (the explainer's ``memory=``), the labels are cached there, across
    processes and sessions; otherwise in a bounded in-process cache
    (:data:`SEGMENTATION_CACHE_BYTES`, least recently used first out;
    :func:`clear_segmentation_cache` empties it). The labels are those of
    ``segmenter.fit_transform(image[np.newaxis])[0]``, bit for bit. A
    callable, or a subclass of the segmenter, is called every time: what
    its labels depend on is not known.

    Parameters
    ----------
    segmentation : str, SuperpixelSegmenter or callable
        The explainer's ``segmentation``.
    seed : int
        The seed of a segmenter without ``random_state``.
    n_segments : int, default=DEFAULT_N_SEGMENTS
        The segment count of a named "slic" or "grid" segmentation.
    memory : joblib.Memory, object with a ``cache`` method or None, \
default=None
        Where to cache the labels; None, or a joblib.Memory without
        location, uses the in-process cache.

    Returns
    -------
    segment : callable
        ``segment(image)`` returns a fresh int32 label map (the caller may
        modify it).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._perturbation import make_segmenter
    >>> segment = make_segmenter("grid", seed=0, n_segments=4)
    >>> segment(np.zeros((4, 4, 3))).tolist()
    [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    """
    if callable(segmentation) and not isinstance(segmentation, SuperpixelSegmenter):

        def segment(image):
            channels_last = image if image.shape[-1] != 1 else image[..., 0]
            labels = np.asarray(segmentation(channels_last))
            if labels.shape != image.shape[:2]:
                raise ValueError(
                    "segmentation must map an image of size "
                    f"{image.shape[0]}x{image.shape[1]} to labels of that size; "
                    f"it returned an array of shape {labels.shape}."
                )
            _, inverse = np.unique(labels, return_inverse=True)
            return inverse.reshape(labels.shape).astype(np.int32)

        return segment
    if isinstance(segmentation, str):
        segmenter = SuperpixelSegmenter(method=segmentation)
        if segmentation in ("slic", "grid"):
            segmenter.set_params(n_segments=int(n_segments))
    else:
        segmenter = clone(segmentation)
    if segmenter.random_state is None:
        segmenter.set_params(random_state=seed)
    segmenter.set_params(image_shape=None, n_jobs=None)
    if type(segmenter) is not SuperpixelSegmenter:

        def segment(image):
            return segmenter.fit_transform(image[np.newaxis])[0]

        return segment
    # What fit_transform does for one image, without its per-call validation
    # and joblib dispatch: the parameters are checked once, here.
    segmenter._validate_params()
    method, params, segment_seed = segmenter._segment_args()
    if _uses_memory(memory):
        cached = memory.cache(_superpixels._segment)

        def segment(image):
            return np.array(cached(image, method, params, segment_seed))

        return segment
    setting = (method, tuple(sorted(params.items())), segment_seed)

    def segment(image):
        return _SEGMENTATIONS.get(
            (_content_key(image), *setting),
            lambda: _superpixels._segment(image, method, params, segment_seed),
        )

    return segment


def _segmentation_name(segmentation):
    if isinstance(segmentation, str):
        return repr(segmentation)
    if isinstance(segmentation, SuperpixelSegmenter):
        return f"SuperpixelSegmenter(method={segmentation.method!r})"
    return "the segmentation callable"


def explainer_range(explainer, images):
    """The intensity range a fitted explainer holds images to (``input_range_``)."""
    if hasattr(explainer, "input_range_"):
        return explainer.input_range_
    return fitted_intensity_range(images)


def check_explainer_fill(explainer, images, name):
    """An explainer's numeric fill parameter ``name`` checked on ``images``.

    Strings (``"blur"``, ``"mean"``) and None (a superpixel's mean) are
    values of the images by construction and pass.
    """
    value = getattr(explainer, name)
    if value is None or isinstance(value, str):
        return
    check_fill(
        value,
        name=name,
        dtype=images.dtype,
        input_range=explainer_range(explainer, images),
        owner=type(explainer).__name__,
    )


def fit_superpixels(explainer, images):
    """What LIME and Kernel SHAP resolve in ``fit``: ``n_segments_``, fill checks.

    ``n_segments_`` is what a "slic" or "grid" segmentation asks for:
    :func:`auto_n_segments` of the image size for a name, the segmenter's own
    ``n_segments`` for a :class:`~sklearn_xai.preprocessing.SuperpixelSegmenter`
    instance, None for methods whose count depends on the image (quickshift,
    felzenszwalb, a callable). A numeric ``hide_color`` is checked with
    :func:`check_fill`. Set-ups that can only give constant maps warn with a
    :class:`~sklearn_xai.utils._warnings.DegenerateExplanationWarning`: one
    superpixel, or one-pixel superpixels hidden with their own mean.
    """
    owner = type(explainer).__name__
    height, width = images.shape[1:3]
    hide_color = explainer.hide_color
    check_explainer_fill(explainer, images, "hide_color")
    segmentation = explainer.segmentation
    if isinstance(segmentation, str):
        method = segmentation
        n_segments = (
            auto_n_segments(height, width) if method in ("slic", "grid") else None
        )
    elif isinstance(segmentation, SuperpixelSegmenter):
        method = segmentation.method
        n_segments = segmentation.n_segments if method in ("slic", "grid") else None
    else:
        method, n_segments = None, None
    explainer.n_segments_ = n_segments
    if n_segments == 1:
        warn_degenerate_setup(
            owner,
            f"segmentation={_segmentation_name(segmentation)} cuts the "
            f"{height}x{width} images into one superpixel (n_segments_=1)",
            "Ask for more segments, or explain these small images with "
            "OcclusionExplainer(window=1) instead.",
        )
    elif hide_color is None and n_segments is not None:
        one_pixel = n_segments >= height * width or (
            method == "slic" and 2 * n_segments >= height * width
        )
        if one_pixel:
            warn_degenerate_setup(
                owner,
                f"n_segments={n_segments} cuts the {height}x{width} images into "
                "one-pixel superpixels, and hide_color=None hides each with "
                "its own mean colour, which is the pixel itself: no "
                "perturbation changes the image",
                f"Use at most {height * width // MIN_SEGMENT_AREA} segments "
                "(superpixels of 4 pixels or more), or hide_color=0.0.",
            )


def superpixel_causes(explainer, n_segments, unchanged):
    """Known reasons for constant LIME / Kernel SHAP maps, per image.

    Parameters
    ----------
    explainer : LimeExplainer or KernelShapExplainer
    n_segments : ndarray of int of shape (n,)
        Superpixels per image.
    unchanged : ndarray of bool of shape (n,)
        Whether hiding every superpixel left the image as it was.

    Returns
    -------
    causes : list of (ndarray of bool, str)
        For :func:`~sklearn_xai.utils._warnings.warn_constant_explanations`.
    """
    name = _segmentation_name(explainer.segmentation)
    return [
        (
            np.asarray(n_segments) == 1,
            f"segmentation={name} found a single superpixel in them, so every "
            "pixel gets the same value (quickshift and felzenszwalb find one "
            "on small or flat images); use segmentation='slic' or 'grid', "
            "whose segment count follows the image size.",
        ),
        (
            np.asarray(unchanged, dtype=bool),
            f"hiding their superpixels changes no pixel (hide_color="
            f"{explainer.hide_color!r}: with None, superpixels of one pixel "
            "or of one colour are filled with themselves); use hide_color=0.0 "
            "or larger superpixels.",
        ),
    ]


def hide_image(image, segments, hide_color):
    """The image hidden superpixels are replaced with.

    Parameters
    ----------
    image : ndarray of shape (H, W, C)
        The image.
    segments : ndarray of shape (H, W)
        Superpixel labels ``0..k-1``.
    hide_color : None, "blur" or float
        None: each superpixel's mean colour (lime's default); "blur": the
        library's Gaussian blur (:func:`~sklearn_xai.utils._blur.blur_images`,
        sigma a tenth of the longer image side); a number:
        that constant (checked beforehand with :func:`check_fill`).

    Returns
    -------
    fudged : ndarray of shape (H, W, C)
        In the dtype of ``image`` when that holds the fill exactly, else
        floating point (a mean, a blur or a fractional number on integer
        images): never rounded, wrapped or clipped (lime truncates means of
        integer images; on floating-point images both agree).
    """
    if hide_color is None:
        k = int(segments.max()) + 1
        counts = np.bincount(segments.ravel(), minlength=k)
        flat = image.reshape(-1, image.shape[-1]).astype(np.float64)
        sums = np.stack(
            [
                np.bincount(segments.ravel(), weights=flat[:, c], minlength=k)
                for c in range(image.shape[-1])
            ],
            axis=1,
        )
        means = sums / np.maximum(counts, 1)[:, np.newaxis]
        return exact_fill(means[segments], image.dtype)
    if isinstance(hide_color, str):  # "blur"
        blurred = blur_images(image[np.newaxis])[0]
        if np.issubdtype(image.dtype, np.floating):
            return blurred.astype(image.dtype)
        return blurred
    return np.broadcast_to(exact_fill(hide_color, image.dtype), image.shape).copy()


def perturbed_images(image, fudged, segments, masks):
    """Images keeping the superpixels where ``masks`` is 1, hiding the others.

    Parameters
    ----------
    image, fudged : ndarray of shape (H, W, C)
        The image and what hidden superpixels become.
    segments : ndarray of shape (H, W)
        Superpixel labels ``0..k-1``.
    masks : ndarray of shape (m, k)
        One row of keep (1) / hide (0) flags per perturbation.

    Returns
    -------
    images : ndarray of shape (m, H, W, C)
        In the dtype of ``image``, or floating point when ``fudged`` is (the
        fill rule: nothing is rounded).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._perturbation import perturbed_images
    >>> image, fudged = np.ones((2, 2, 1)), np.zeros((2, 2, 1))
    >>> segments = np.array([[0, 0], [1, 1]])
    >>> perturbed_images(image, fudged, segments, np.array([[1, 0]]))[0, ..., 0]
    array([[1., 1.],
           [0., 0.]])
    """
    keep = np.take(np.asarray(masks, dtype=bool), segments, axis=1)
    return np.where(keep[..., np.newaxis], image, fudged)


def device_perturbation_proba(network, image, fudged, segments, masks, batch_size):
    """Probabilities of a torch-backed model for perturbations built on its device.

    The same numbers as the model's ``predict_proba`` of
    :func:`perturbed_images` (to one float32 rounding of the inputs for
    non-8-bit images), but only the image, the segments and the masks travel
    to the device: each batch is assembled there by a gather and a fused
    multiply-add, which on a GPU removes the host-side building and the
    transfer of every perturbed image.

    Parameters
    ----------
    network : dict
        The model's ``_explainable_network()``: its pixel conversion
        (``to_tensor``, which also applies the model's intensity range) and
        its ``forward`` to logits.
    image, fudged : ndarray of shape (H, W, C)
    segments : ndarray of shape (H, W)
    masks : ndarray of shape (m, k)
    batch_size : int

    Returns
    -------
    proba : ndarray of shape (m, n_classes), float64
    """
    import torch

    forward = network["forward"]
    # (2, C, H, W) channels-last views on the device, on the model's scale.
    pair = network["to_tensor"](np.stack([image, fudged])).permute(0, 2, 3, 1)
    height, width, channels = pair.shape[1:]
    img, fud = pair[0], pair[1]
    device = img.device
    diff = img - fud
    # The dtype addcmul(fud, float32 keep, diff) computes in.
    dtype = torch.promote_types(fud.dtype, torch.float32)
    fud, diff = fud.reshape(-1).to(dtype), diff.reshape(-1).to(dtype)
    # Each batch is one flat (H * W * C) row per perturbation: its keep flags
    # gathered from the masks repeated over channels (element j of the row
    # reads flag segments[j // C] of channel j % C), then fudged + keep *
    # (image - fudged) in place. Over whole rows both ops run vectorised;
    # broadcasting the flags over channels last (C = 3 values per loop) took
    # 1.6 times as long, and a fresh batch tensor per call its page faults.
    seg = torch.as_tensor(segments.ravel(), dtype=torch.long, device=device)
    index = (seg[:, None] * channels + torch.arange(channels, device=device)).ravel()
    keep_all = torch.as_tensor(np.asarray(masks), device=device).to(dtype)
    keep_all = keep_all.repeat_interleave(channels, dim=1)
    # One buffer for every batch: the network only reads its input during
    # the call, and each batch's probabilities are copied out before the next.
    buffer = torch.empty(
        (min(batch_size, len(keep_all)), len(index)), dtype=dtype, device=device
    )
    out = []
    with network["running"](), torch.inference_mode():
        for start in range(0, len(keep_all), batch_size):
            rows = keep_all[start : start + batch_size]
            batch = torch.index_select(rows, 1, index, out=buffer[: len(rows)])
            # fudged + keep * (image - fudged): exact for 8-bit images (the
            # product is diff or 0), within one float32 rounding of a select
            # otherwise.
            torch.addcmul(fud, batch, diff, out=batch)
            batch = batch.view(-1, height, width, channels)
            logits = forward(batch.permute(0, 3, 1, 2))
            out.append(torch.softmax(logits.double(), dim=1).cpu().numpy())
    return np.concatenate(out)


def perturbation_proba(estimator, image, fudged, segments, masks, batch_size, ndim):
    """Model probabilities for every perturbation, ``batch_size`` at a time.

    A bare torch-backed model (a
    :class:`~sklearn_xai.neural_network.CNNClassifier` or
    :class:`~sklearn_xai.neural_network.TorchClassifier`, optionally frozen)
    gets its perturbations built on its device
    (:func:`device_perturbation_proba`); any other classifier gets
    :func:`perturbed_images` batches through ``predict_proba``. Only one
    batch of perturbed images exists at a time.

    Parameters
    ----------
    estimator : classifier
        The fitted (or frozen) model.
    image, fudged : ndarray of shape (H, W, C)
    segments : ndarray of shape (H, W)
    masks : ndarray of shape (m, k)
    batch_size : int
    ndim : {2, 3, 4}
        The layout the model was fitted on.

    Returns
    -------
    proba : ndarray of shape (m, n_classes), float64
    """
    if image.dtype == np.uint8 and fudged.dtype != np.uint8:
        # A fill no uint8 holds (a mean colour, a blur): the perturbations are
        # float, on the scale the model takes uint8 images on.
        image = uint8_copies_to_model_scale(image, estimator)
        fudged = uint8_copies_to_model_scale(fudged, estimator)
    model = bare_model(estimator)
    if (
        model is not None
        and hasattr(model, "_explainable_network")
        and tuple(model.image_shape_) == image.shape
    ):
        # A bare torch-backed model: build the perturbations on its device.
        return device_perturbation_proba(
            model._explainable_network(), image, fudged, segments, masks, batch_size
        )
    out = []
    with explaining_float_copies(image.dtype == np.uint8 and fudged.dtype != np.uint8):
        for start in range(0, len(masks), batch_size):
            batch = perturbed_images(
                image,
                fudged,
                segments,
                masks[start : start + batch_size],
            )
            out.append(
                batched_predict_proba(
                    estimator, batch, layout_ndim=ndim, batch_size=batch_size
                )
            )
    return np.concatenate(out)
