"""Image files and the model's input spec for ``sklearn-xai explain``.

Which files a run explains (:func:`collect_image_paths`), how a saved model is
loaded once per process (:func:`_load`), and how its files are decoded so the
model sees what it was fitted on (:func:`input_spec`, :func:`read_image`).
"""

from __future__ import annotations

import os

import numpy as np

#: File name extensions read from folders (files named explicitly are always
#: tried, whatever their name).
IMAGE_EXTENSIONS = frozenset(
    (
        ".bmp .dib .jpeg .jpg .jpe .jp2 .png .webp .pbm .pgm .ppm .pxm .pnm .tiff .tif"
    ).split()
)


_MODELS = {}  # per-process cache: (path, mtime) -> loaded model


def collect_image_paths(paths):
    """Expand files and folders (recursively) into a sorted list of files.

    Returns
    -------
    files : list of str
        Files named explicitly, then image files found in folders.
    missing : list of (str, str)
        Paths that do not exist, with the reason.
    """
    files, missing = [], []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            found = []
            for root, dirs, names in os.walk(path):
                dirs.sort()
                found.extend(
                    os.path.join(root, name)
                    for name in sorted(names)
                    if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
                )
            if not found:
                missing.append((path, "holds no image files"))
            files.extend(found)
        elif os.path.isfile(path):
            files.append(path)
        else:
            missing.append((path, "does not exist"))
    return list(dict.fromkeys(files)), missing


def _load(model_path, module=None, device="cpu"):
    from ..neural_network import load_model

    key = (
        os.path.abspath(model_path),
        os.path.getmtime(model_path),
        module if module is None or isinstance(module, str) else id(module),
        device,
    )
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = load_model(model_path, module=module, device=device)
    return _MODELS[key]


#: Preprocessing steps that keep the images' intensity scale.
_SCALE_KEEPING = frozenset(("ImageResizer", "ImageDenoiser", "HistogramEqualizer"))


def _input_dtype(steps, final):
    """How to decode files for a pipeline's steps and final classifier."""
    for step in steps:
        name = type(step).__name__
        if name == "ImageNormalizer":
            # Its statistics tell the scale it was fitted on: a mean above 1
            # cannot come from [0, 1] images.
            return "uint8" if float(np.max(step.mean_)) > 1.0 else "float32"
        if name not in _SCALE_KEEPING and not (
            name == "ColorConverter" and step.to in ("gray", "rgb")
        ):
            return "float32"
    input_range = getattr(final, "input_range_", None)
    if input_range is None or tuple(input_range) == (0.0, 1.0):
        return "float32"
    return "uint8"


def input_spec(model):
    """How ``sklearn-xai explain`` reads image files for ``model``.

    Files are decoded as uint8 (0-255) when the model was fitted on uint8
    images -- the final classifier's ``input_range_`` is not (0, 1), or the
    pipeline's ``ImageNormalizer`` learned statistics on the 0-255 scale --
    and as float32 in [0, 1] otherwise. They get the channel count and size
    of the images the model (or its pipeline's first step) was fitted on. A
    pipeline that starts with an :class:`~sklearn_xai.preprocessing.ImageReader`
    reads files with that reader's settings, and the rest of the pipeline is
    explained.

    Parameters
    ----------
    model : estimator
        A fitted classifier or pipeline, as :func:`load_model` returns it.

    Returns
    -------
    spec : sklearn.utils.Bunch
        ``model`` (the estimator to explain), ``reader`` (an ImageReader or
        None), ``shape`` ``(H, W, C)`` and ``dtype`` (``"uint8"`` or
        ``"float32"``).
    """
    from sklearn.pipeline import Pipeline
    from sklearn.utils import Bunch

    from ..preprocessing import ImageReader

    reader = None
    if isinstance(model, Pipeline) and isinstance(model[0], ImageReader):
        reader = model[0]
        model = model[1:] if len(model) > 2 else model[-1]
    steps, final = [], model
    if isinstance(model, Pipeline):
        steps = [s for _, s in model.steps[:-1] if s is not None and s != "passthrough"]
        final = model[-1]
    first = steps[0] if steps else final
    dtype = reader.dtype if reader is not None else _input_dtype(steps, final)
    return Bunch(
        model=model, reader=reader, shape=tuple(first.image_shape_), dtype=dtype
    )


def read_image(path, image_shape, dtype="float32", *, reader=None):
    """Read one file for the model: ``(image, decoded)``, or None.

    ``decoded`` is the file at its own resolution (``dtype``, ``(H, W, C)``);
    ``image`` the same converted to the model's channel count (colour files
    to gray for a one-channel model, gray files to RGB for a three-channel
    one) and size ``image_shape`` (a file of that size is not resampled).
    Returns None when the file cannot be decoded.
    """
    import cv2

    from ..preprocessing._image_ops import check_size, resize_image
    from ..preprocessing._reader import _READ_FLAGS, _read_one, _to_dtype

    height, width, channels = image_shape
    if reader is not None:
        flag = _READ_FLAGS[reader.color]
    else:
        flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    raw = _read_one(path, flag)
    if raw is None:
        return None
    decoded = _to_dtype(raw, dtype)
    if decoded.ndim == 2:
        decoded = decoded[..., np.newaxis]
    if reader is not None and reader.size is not None:
        decoded = resize_image(decoded, check_size(reader.size), "auto")
    image = decoded
    if image.shape[-1] > channels:
        image = image[..., :channels]
    elif image.shape[-1] != channels:
        image = np.repeat(image[..., :1], channels, axis=-1)
    return resize_image(image, (height, width)), decoded
