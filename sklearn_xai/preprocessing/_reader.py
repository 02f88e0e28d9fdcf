"""Read image files into an image batch."""

from __future__ import annotations

import os
from numbers import Integral

import cv2
import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._compat import Interval, StrOptions
from ._image_ops import check_size, resize_image

_READ_FLAGS = {
    "rgb": cv2.IMREAD_COLOR,
    "gray": cv2.IMREAD_GRAYSCALE,
    "unchanged": cv2.IMREAD_UNCHANGED,
}


def _check_paths(X, input_name="X"):
    """Return the paths of ``X`` (1-D, or one column) as a list of str."""
    if hasattr(X, "to_numpy"):  # pandas Series / DataFrame
        X = X.to_numpy()
    if isinstance(X, (str, bytes, os.PathLike)):
        raise ValueError(
            f"{input_name} must be a 1-D sequence of image paths or an (n, 1) "
            f"column of them; got a single path {X!r}. Wrap it in a list."
        )
    paths = np.asarray(X, dtype=object)
    if paths.ndim == 2 and paths.shape[1] == 1:
        paths = paths[:, 0]
    if paths.ndim != 1:
        raise ValueError(
            f"{input_name} must be a 1-D sequence of image paths or an (n, 1) "
            f"column of them; got an array of shape {paths.shape}."
        )
    if paths.shape[0] == 0:
        raise ValueError(f"{input_name} holds no image paths (empty input).")
    bad = [p for p in paths if not isinstance(p, (str, os.PathLike))]
    if bad:
        raise TypeError(
            f"{input_name} must hold image paths (str or os.PathLike); got "
            f"{type(bad[0]).__name__} values such as {bad[0]!r}."
        )
    return [os.fspath(p) for p in paths]


def _read_one(path, flag):
    """Decode one file to RGB(A) or gray, or return None if impossible."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    image = cv2.imdecode(data, flag)
    if image is None:
        return None
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def _to_dtype(image, dtype):
    """uint8 or float32 in [0, 1], whatever the file's bit depth."""
    if image.dtype == np.uint8:
        return image if dtype == "uint8" else image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        if dtype == "uint8":
            return (image >> 8).astype(np.uint8)
        return image.astype(np.float32) / 65535.0
    # float (e.g. EXR / 32-bit TIFF) files are kept as floats, or clipped.
    image = image.astype(np.float32)
    if dtype == "uint8":
        return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    return image


class ImageReader(TransformerMixin, BaseEstimator):
    """Read image files into an image batch with OpenCV.

    ``X`` is a 1-D sequence of paths, or a one-column 2-D array or DataFrame
    of them (so the reader can follow a ``ColumnTransformer`` or a DataFrame
    column). Files are read with :func:`numpy.fromfile` and
    :func:`cv2.imdecode`, which also works with non-ASCII paths, and
    converted from OpenCV's BGR(A) to RGB(A).

    The reader is stateless: ``fit`` only validates ``X``.

    Parameters
    ----------
    color : {"rgb", "gray", "unchanged"}, default="rgb"
        ``"rgb"`` gives ``(n, H, W, 3)`` (an alpha channel is dropped),
        ``"gray"`` gives ``(n, H, W)``, ``"unchanged"`` keeps the files'
        channels (gray files give ``(n, H, W)``, RGBA files
        ``(n, H, W, 4)``); all files must then have the same channel count.
    size : int, tuple of (int, int) or None, default=None
        Resize every image to ``(H, W)`` (one int: square), with
        ``INTER_AREA`` when no side grows and ``INTER_LINEAR`` otherwise.
        None keeps the files' sizes, which must then all be equal.
    dtype : {"uint8", "float32"}, default="uint8"
        Output dtype. float32 values are scaled to ``[0, 1]``; 16-bit files
        are scaled down to uint8 (``>> 8``) or divided by 65535. Read images
        as the model was fitted: the library's classifiers record that range
        (``input_range_``) and convert uint8 images for a model fitted on
        [0, 1] floats, but preprocessing steps before them do not (an
        :class:`ImageNormalizer` fitted on [0, 1] floats needs
        ``dtype="float32"``, one fitted on uint8 needs ``"uint8"``).
    n_jobs : int or None, default=None
        Number of joblib workers reading files in parallel: threads, since
        decoding releases the GIL, unless a :func:`joblib.parallel_config`
        context chooses another backend. None means 1 unless in such a
        context, -1 all processors.

    Attributes
    ----------
    n_features_in_ : int
        Always 1: the one column of paths.
    feature_names_in_ : ndarray of shape (1,)
        Name of the path column, when ``X`` was a DataFrame with string column
        names.

    See Also
    --------
    ImageResizer : Resize an image batch already in memory.

    Examples
    --------
    >>> import cv2, numpy as np
    >>> from sklearn_xai.preprocessing import ImageReader
    >>> path = getfixture("tmp_path") / "red.png"
    >>> _ = cv2.imwrite(str(path), np.full((4, 6, 3), (0, 0, 255), np.uint8))
    >>> images = ImageReader().fit_transform([path, path])
    >>> images.shape, images.dtype, images[0, 0, 0].tolist()
    ((2, 4, 6, 3), dtype('uint8'), [255, 0, 0])
    >>> ImageReader(color="gray", size=2, dtype="float32").fit_transform([path]).shape
    (1, 2, 2)
    """

    _parameter_constraints = {
        "color": [StrOptions(set(_READ_FLAGS))],
        "size": [None, Interval(Integral, 1, None, closed="left"), tuple],
        "dtype": [StrOptions({"uint8", "float32"})],
        "n_jobs": [None, Integral],
    }

    def __init__(self, *, color="rgb", size=None, dtype="uint8", n_jobs=None):
        self.color = color
        self.size = size
        self.dtype = dtype
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Validate the parameters and the paths; no file is read.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 1)
            Image paths (str or :class:`os.PathLike`).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted reader.
        """
        self._validate_params()
        if self.size is not None:
            check_size(self.size)
        _check_paths(X)
        self.n_features_in_ = 1
        columns = getattr(X, "columns", None)
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(list(columns), dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def transform(self, X):
        """Read the images.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, 1)
            Image paths (str or :class:`os.PathLike`).

        Returns
        -------
        images : ndarray of shape (n, H, W, C) or (n, H, W)
            The images, RGB(A) channels last, ``(n, H, W)`` for grayscale,
            of dtype ``dtype``.
        """
        check_is_fitted(self)
        paths = _check_paths(X)
        flag = _READ_FLAGS[self.color]
        size = None if self.size is None else check_size(self.size)
        # Decoding releases the GIL: threads avoid copying images between
        # processes (a joblib backend set by the caller still wins).
        images = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(_read_one)(path, flag) for path in paths
        )
        failed = [
            path for path, image in zip(paths, images, strict=True) if image is None
        ]
        if failed:
            listed = "\n".join(f"  - {path}" for path in failed)
            raise ValueError(
                f"ImageReader could not read {len(failed)} of {len(paths)} "
                f"image file(s) (missing, unreadable or not an image):\n{listed}"
            )
        images = [_to_dtype(image, self.dtype) for image in images]
        if size is not None:
            images = [
                resize_image(image.reshape(*image.shape[:2], -1), size, "auto").reshape(
                    size + image.shape[2:]
                )
                for image in images
            ]
        shapes = sorted({image.shape for image in images})
        if len(shapes) > 1:
            found = ", ".join(
                "x".join(str(s) for s in shape[:2])
                + (f" with {shape[2]} channels" if len(shape) == 3 else " gray")
                for shape in shapes
            )
            raise ValueError(
                "ImageReader needs images of one size and channel count to "
                f"build a batch; X holds {found}. Pass size=(H, W) to resize "
                "them (and a color other than 'unchanged' to unify channels)."
            )
        return np.stack(images)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags
