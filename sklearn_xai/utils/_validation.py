"""Validation of image batches, shared by every estimator of the library.

Every estimator accepts three layouts of the same data:

* ``(n, H, W, C)``: a batch of channels-last images;
* ``(n, H, W)``: a batch of grayscale images;
* ``(n, H * W * C)``: flattened images, read with the estimator's
  ``image_shape`` parameter. Without ``image_shape`` a 2-D array is read as
  tabular data, i.e. each row is a grayscale image of one row of pixels
  ``(1, n_features)``; this keeps every estimator usable on plain tabular
  input (and by scikit-learn's common estimator checks).

Flattened images are never reshaped by guesswork, nor silently read as
one-row images: in ``fit``, a 2-D array without ``image_shape`` whose rows
have the length of flattened square images, ``s * s`` or ``3 * s * s``
features with ``s >= 4`` (784 = 28 * 28, 3072 = 3 * 32 * 32), gets a
warning that suggests ``image_shape=(s, s)`` or ``(s, s, 3)``, and
``image_shape=(1, n_features)`` to keep one-row images. Estimators whose
result depends on which pixels neighbour which (``ImageResizer``,
``ImageDenoiser``, ``HistogramEqualizer``, ``SuperpixelSegmenter``) raise a
ValueError instead, since resizing or filtering one-row "images" turns
flattened images into garbage. The widths of scikit-learn's common checks
(1 to 10 and 20 features) are far from these, and tabular data of such a
width reads as before with ``image_shape=(1, n_features)``.

A single image passed where a batch is expected, ``(H, W, C)`` (or ``(H,
W)`` for gray images) of the fitted image shape, is a ValueError that
suggests ``X[None]``.

Internally an estimator always works on ``(n, H, W, C)`` and hands its result
back in the caller's layout through :class:`ImageLayout`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_array

from ._compat import validate_data

#: dtypes kept as they are; anything else numeric becomes float64.
IMAGE_DTYPES = (np.float64, np.float32, np.uint8)
#: The smallest side of the square images a flattened row is taken for.
_MIN_FLAT_SIDE = 4


def check_image_shape(image_shape, *, name="image_shape"):
    """Validate an ``image_shape`` argument.

    Parameters
    ----------
    image_shape : tuple of int or None
        ``(H, W)`` or ``(H, W, C)`` with positive entries, or None.
    name : str, default="image_shape"
        Name of the argument, used in error messages.

    Returns
    -------
    shape : tuple of 3 int or None
        ``(H, W, C)`` (``C = 1`` when two entries were given), or None.

    Examples
    --------
    >>> from sklearn_xai.utils import check_image_shape
    >>> check_image_shape((8, 8))
    (8, 8, 1)
    """
    if image_shape is None:
        return None
    try:
        shape = tuple(image_shape)
    except TypeError:
        raise TypeError(
            f"{name} must be a tuple (H, W) or (H, W, C) of positive integers; "
            f"got {image_shape!r}."
        ) from None
    if len(shape) not in (2, 3) or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in shape
    ):
        raise ValueError(
            f"{name} must be a tuple (H, W) or (H, W, C) of positive integers; "
            f"got {image_shape!r}."
        )
    shape = tuple(int(s) for s in shape)
    return shape if len(shape) == 3 else (*shape, 1)


@dataclass(frozen=True)
class ImageLayout:
    """How a caller laid out an image batch, to hand results back the same way.

    Parameters
    ----------
    ndim : int
        Number of dimensions of the caller's array: 2 (flattened), 3
        (grayscale) or 4 (channels last).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.utils import ImageLayout
    >>> ImageLayout(ndim=2).restore(np.zeros((5, 4, 4, 3))).shape
    (5, 48)
    """

    ndim: int

    def restore(self, images):
        """Return ``images`` of shape ``(n, H, W, C)`` in the caller's layout.

        A grayscale caller gets ``(n, H, W)`` back while the result has a
        single channel, and ``(n, H, W, C)`` when the transformation added
        channels (e.g. gray to RGB).
        """
        if self.ndim == 2:
            return images.reshape(images.shape[0], -1)
        if self.ndim == 3 and images.ndim == 4 and images.shape[-1] == 1:
            return images[..., 0]
        return images

    def restore_maps(self, maps):
        """Return per-pixel maps of shape ``(n, H, W)`` in the caller's layout.

        Flattened callers get ``(n, H * W)``; the others ``(n, H, W)``.
        """
        if self.ndim == 2:
            return maps.reshape(maps.shape[0], -1)
        return maps


def _describe(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def flat_image_shape(n_features):
    """The square image shape a row of ``n_features`` values may flatten.

    Parameters
    ----------
    n_features : int
        The length of a row.

    Returns
    -------
    shape : tuple of int or None
        ``(s, s)`` for ``s * s`` features, else ``(s, s, 3)`` for
        ``3 * s * s`` features, with ``s >= 4``; None for other lengths.

    Examples
    --------
    >>> from sklearn_xai.utils._validation import flat_image_shape
    >>> flat_image_shape(784), flat_image_shape(3072), flat_image_shape(10)
    ((28, 28), (32, 32, 3), None)
    """
    for channels in (1, 3):
        side = math.isqrt(n_features // channels)
        if side >= _MIN_FLAT_SIDE and channels * side * side == n_features:
            return (side, side) if channels == 1 else (side, side, channels)
    return None


def _check_flat_rows(estimator, n_features, flat_images, input_name):
    """Warn about (or refuse) flattened square images read as one-row images."""
    guess = flat_image_shape(n_features)
    if guess is None or flat_images == "ignore":
        return
    shape = _describe(guess)
    advice = (
        f"If the rows are flattened {guess[0]}x{guess[1]}"
        f"{' RGB' if len(guess) == 3 else ''} images, pass image_shape={shape}; "
        f"to read one-row images, pass image_shape=(1, {n_features})."
    )
    start = f"{input_name} is 2-D with {n_features} features per row and no image_shape"
    if flat_images == "raise":
        raise ValueError(
            f"{start}: {type(estimator).__name__} works on neighbouring pixels, so "
            f"it does not guess (one-row images would give garbage). {advice}"
        )
    message = (
        f"{start}, so each row is read as an image of one row of {n_features} "
        f"pixels. {advice}"
    )
    warnings.warn(message, UserWarning, stacklevel=3)


def _check_not_one_image(estimator, shape, input_name):
    """Refuse one image ``(H, W, C)`` (or gray ``(H, W)``) given as a batch."""
    fitted = getattr(estimator, "image_shape_", None)
    if fitted is None or len(shape) not in (2, 3):
        return
    fitted = tuple(int(s) for s in fitted)
    if shape != fitted and not (fitted[2] == 1 and shape == fitted[:2]):
        return
    # Read as a batch (rows of flattened images, or gray images), would X
    # hold images of the fitted shape? Then it is a batch after all.
    if len(shape) == 2:
        if shape[1] == int(np.prod(fitted)):
            return
    elif (*shape[1:], 1) == fitted:
        return
    raise ValueError(
        f"{input_name} has shape {_describe(shape)}: one image, where a batch "
        f"of images is expected ({type(estimator).__name__} was fitted on images "
        f"of shape {_describe(fitted)}). Pass a batch of one image: "
        f"{input_name}[None] (or {input_name}[np.newaxis])."
    )


def validate_images(
    estimator,
    X,
    *,
    reset,
    image_shape=None,
    dtype=IMAGE_DTYPES,
    same_size=True,
    copy=False,
    input_name="X",
    flat_images="warn",
):
    """Validate an image batch for ``estimator`` and bring it to ``(n, H, W, C)``.

    On ``reset=True`` (in ``fit``) the estimator gets ``n_features_in_`` and
    ``image_shape_`` (``(H, W, C)``); otherwise the batch is checked against
    them: the channel count must match, and the height and width too when
    ``same_size`` is true. Flattened input always needs the fitted number of
    features.

    Parameters
    ----------
    estimator : estimator instance
        The estimator being fitted or applied.
    X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
        The image batch. Must be numeric, finite and non-empty.
    reset : bool
        Whether this is a call of ``fit`` (learn the image shape) or of a
        later method (check against it).
    image_shape : tuple of int or None, default=None
        How to read a 2-D ``X``: ``(H, W)`` or ``(H, W, C)``. When None, a 2-D
        ``X`` uses the shape learned in ``fit`` or, in ``fit``, reads each row
        as a ``(1, n_features)`` grayscale image.
    dtype : type, tuple of types or None, default=(float64, float32, uint8)
        Accepted dtypes: a dtype in the tuple is kept, any other is converted
        to the first one. None keeps any numeric dtype.
    same_size : bool, default=True
        Whether later calls must use the height and width seen in ``fit``.
    copy : bool, default=False
        Whether to always return a copy (otherwise the input may be shared).
    input_name : str, default="X"
        Name of the argument, used in error messages.
    flat_images : {"warn", "raise", "ignore"}, default="warn"
        What ``fit`` (``reset=True``) does with a 2-D ``X`` without
        ``image_shape`` whose rows look like flattened square images (see
        the module docstring): warn, raise a ValueError (estimators that
        work on neighbouring pixels), or nothing (when the reading cannot
        change the result, e.g. flattening).

    Returns
    -------
    images : ndarray of shape (n, H, W, C)
        The validated batch.
    layout : ImageLayout
        The caller's layout, to restore results with.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator
    >>> from sklearn_xai.utils import validate_images
    >>> est = BaseEstimator()
    >>> images, layout = validate_images(est, np.zeros((2, 4, 4)), reset=True)
    >>> images.shape, layout.ndim, est.image_shape_
    ((2, 4, 4, 1), 3, (4, 4, 1))
    """
    shape = check_image_shape(image_shape)
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        X = np.asarray(X)
        ndim = X.ndim
    _check_numeric_batch(X, input_name)
    if not reset:
        _check_not_one_image(estimator, tuple(np.shape(X)), input_name)

    if ndim == 2:
        X = validate_data(
            estimator,
            X,
            reset=reset,
            dtype=dtype,
            copy=copy,
        )
        n, d = X.shape
        if shape is None:
            fitted = getattr(estimator, "image_shape_", None)
            if not reset and fitted is not None and int(np.prod(fitted)) == d:
                shape = fitted
            else:
                if reset:
                    _check_flat_rows(estimator, d, flat_images, input_name)
                shape = (1, d, 1)
        elif int(np.prod(shape)) != d:
            raise ValueError(
                f"{input_name} has {d} features per row, but image_shape="
                f"{_describe(shape)} needs H * W * C = {int(np.prod(shape))}."
            )
        images = X.reshape(n, *shape)
    elif ndim in (3, 4):
        X = check_array(
            X,
            allow_nd=True,
            dtype=dtype,
            copy=copy,
            input_name=input_name,
            ensure_min_samples=1,
        )
        images = X[..., np.newaxis] if ndim == 3 else X
        if min(images.shape[1:]) == 0:
            raise ValueError(
                f"{input_name} must hold images of non-zero size; got an array "
                f"of shape {_describe(X.shape)}."
            )
        if reset:
            estimator.n_features_in_ = int(np.prod(images.shape[1:]))
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
    else:
        hint = (
            " Reshape your data with X.reshape(1, -1) if it holds one flattened image."
            if ndim == 1
            else ""
        )
        raise ValueError(
            f"{input_name} must be an image batch of shape (n, H, W, C), "
            "(n, H, W) or flattened (n, H * W * C); got an array with "
            f"{ndim} dimension(s) of shape {_describe(np.shape(X))}.{hint}"
        )

    if ndim == 4:
        _check_not_channels_first(images, input_name)
    if any(stride < 0 for stride in images.strides):
        # np.ascontiguousarray keeps negative strides on length-1 axes (one
        # image of a reversed batch), which torch refuses: copy such views.
        images = images.copy()
    if reset:
        estimator.image_shape_ = tuple(int(s) for s in images.shape[1:])
    else:
        _check_against_fit(estimator, images, same_size, input_name)
    return images, ImageLayout(ndim=ndim)


def _check_numeric_batch(X, input_name):
    """Refuse strings, complex numbers and empty batches, naming the argument.

    scikit-learn's ``check_array`` would convert strings of numbers silently
    and word the other refusals without the argument's name.
    """
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind == "c":
        raise ValueError(
            f"Complex data not supported: {input_name} must hold real image "
            f"intensities; got an array of dtype {X.dtype}."
        )
    if kind is not None and kind in "USVMm":
        raise ValueError(
            f"{input_name} must hold numbers (image intensities); got an array "
            f"of dtype {X.dtype}."
        )
    shape = np.shape(X)
    if len(shape) >= 2 and shape[0] == 0:
        raise ValueError(
            f"{input_name} is an empty batch: found an array with 0 sample(s) "
            f"(shape {_describe(shape)}); give at least one image."
        )


def check_rows(X, *, n_features, input_name="X"):
    """Refuse what cannot be ``(n, n_features)`` rows, naming the argument.

    For methods taking flattened images or selected columns
    (``inverse_transform``), before scikit-learn's own checks.

    Parameters
    ----------
    X : array-like
        The rows.
    n_features : int
        The number of columns expected, for the message.
    input_name : str, default="X"
        Name of the argument, used in error messages.

    Returns
    -------
    X : array-like
        ``X``, as an array when it was a list.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.utils._validation import check_rows
    >>> check_rows(np.zeros((2, 3)), n_features=3).shape
    (2, 3)
    """
    if getattr(X, "ndim", None) is None:
        X = np.asarray(X)
    _check_numeric_batch(X, input_name)
    if X.ndim != 2:
        raise ValueError(
            f"{input_name} must be a 2-D array of rows (n, {n_features}); got an "
            f"array of shape {_describe(np.shape(X))}."
        )
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise ValueError(f"{input_name} contains NaN or infinity.")
    return X


def _check_not_channels_first(images, input_name):
    """Refuse a batch that looks channels-first ``(n, C, H, W)``."""
    _, height, _, channels = images.shape
    if height in (1, 3) and channels > 4:
        raise ValueError(
            f"{input_name} has shape {_describe(images.shape)}, which looks "
            f"channels-first (n, C, H, W) with C={height}; this library takes "
            "channels-last images (n, H, W, C). Transpose them with "
            "X.transpose(0, 2, 3, 1), and wrap a network that expects "
            "channels-first tensors as TorchClassifier(net, "
            "input_layout='NCHW', ...), which transposes for it."
        )


def _check_against_fit(estimator, images, same_size, input_name):
    fitted = estimator.image_shape_
    got = images.shape[1:]
    name = type(estimator).__name__
    if got[2] != fitted[2]:
        raise ValueError(
            f"{input_name} has images with {got[2]} channel(s), but {name} was "
            f"fitted on images with {fitted[2]} channel(s) (shape "
            f"{_describe(fitted)})."
        )
    if same_size and got[:2] != fitted[:2]:
        raise ValueError(
            f"{input_name} has images of size {got[0]}x{got[1]}, but {name} was "
            f"fitted on images of size {fitted[0]}x{fitted[1]}."
        )


def label_indices(classes, labels, n_images, *, name="target", owner="classes_"):
    """Column indices in ``classes`` of one class label per image.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
        The classifier's labels, in ``predict_proba`` column order.
    labels : scalar or array-like of shape (n_images,)
        One label for all images, or one per image (strings included).
    n_images : int
        The number of images.
    name : str, default="target"
        Argument name for error messages.
    owner : str, default="classes_"
        What ``classes`` is called in error messages.

    Returns
    -------
    indices : ndarray of shape (n_images,), dtype intp

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.utils._validation import label_indices
    >>> label_indices(np.array(["cat", "dog"]), ["dog", "cat", "dog"], 3)
    array([1, 0, 1])
    """
    try:
        shape = np.shape(classes)
    except ValueError:  # a ragged list: one array of labels per output
        shape = None
    if shape is None or len(shape) != 1:
        got = "ragged arrays" if shape is None else f"an array of shape {shape}"
        raise ValueError(
            f"{owner} must be 1-D, one label per predict_proba column; it holds "
            f"{got}: a multi-output classifier (whose predict_proba returns one "
            "array per output) cannot be explained; explain one output at a time."
        )
    classes = np.asarray(classes)
    labels = np.asarray(labels)
    if labels.ndim == 0:
        labels = np.full(n_images, labels.item(), dtype=labels.dtype)
    if labels.shape != (n_images,):
        raise ValueError(
            f"{name} must be None, one class label, or one label per image "
            f"({n_images}); got an array of shape {labels.shape}."
        )
    order = np.argsort(classes, kind="stable")
    try:
        positions = np.searchsorted(classes[order], labels)
    except TypeError:  # e.g. string labels for integer classes
        raise ValueError(
            f"{name} contains labels {sorted(set(labels.tolist()), key=str)} that "
            f"are not among {owner} {classes.tolist()}."
        ) from None
    indices = order[positions.clip(0, len(classes) - 1)]
    unknown = classes[indices] != labels
    if np.any(unknown):
        missing = sorted(set(labels[unknown].tolist()))
        raise ValueError(
            f"{name} contains labels {missing} that are not among {owner} "
            f"{classes.tolist()}."
        )
    return indices.astype(np.intp)
