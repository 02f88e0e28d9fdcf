"""Natural colour photographs shipped inside scikit-learn and scikit-image."""

from __future__ import annotations

import cv2
import numpy as np
import skimage.data
from sklearn.datasets import load_sample_images
from sklearn.utils import Bunch

from ..utils._compat import validate_params
from ._base import _check_size, _resize_batch

#: Photographs bundled with scikit-image, by loader name; all ship inside the
#: installed package (no download).
_SKIMAGE_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
)

_DESCR = """\
Sample photographs
==================

Natural RGB photographs that ship inside installed packages; nothing is
downloaded:

* ``china`` and ``flower`` (427x640), from scikit-learn
  (:func:`sklearn.datasets.load_sample_images`);
* ``astronaut`` (512x512), ``chelsea`` (300x451), ``coffee`` (400x600),
  ``rocket`` (427x640), ``immunohistochemistry`` (512x512) and
  ``hubble_deep_field`` (872x1000), from scikit-image (:mod:`skimage.data`).

Images are uint8 RGB. With ``size`` given, every photo is resized with
OpenCV's area interpolation to the same ``(H, W)``, ignoring its aspect ratio.
Licences and credits are listed in the documentation of each source function.
"""


def _load_photos():
    names, photos = [], []
    sample = load_sample_images()
    for filename, image in zip(sample.filenames, sample.images, strict=True):
        names.append(filename.replace("\\", "/").rsplit("/", 1)[-1].split(".")[0])
        photos.append(image)
    for name in _SKIMAGE_PHOTOS:
        names.append(name)
        photos.append(getattr(skimage.data, name)())
    return names, [np.ascontiguousarray(p[..., :3], dtype=np.uint8) for p in photos]


@validate_params({"size": "no_validation"}, prefer_skip_nested_validation=True)
def load_sample_photos(*, size: int | tuple[int, int] | None = None) -> Bunch:
    """Load the natural colour photographs bundled with scikit-learn and skimage.

    Eight photographs of varied content (landscape, flower, portrait, cat,
    food, rocket, microscopy, deep sky) for trying image transformers,
    superpixel segmentations and explainers on real pictures. Offline: all
    ship inside the installed scikit-learn and scikit-image packages.

    Parameters
    ----------
    size : int, tuple (H, W) of int or None, default=None
        If given, resize every photo to ``size x size`` (int) or ``(H, W)``
        with area interpolation (``cv2.INTER_AREA``) and return one array.
        None keeps the native sizes, which differ, and returns a list.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        images : list of uint8 ndarray of shape (H_i, W_i, 3), or uint8 \
ndarray of shape (8, H, W, 3)
            The RGB photographs: a list when ``size`` is None, one array
            otherwise.
        names : str ndarray of shape (8,)
            The name of each photo: ``china``, ``flower``, ``astronaut``,
            ``chelsea``, ``coffee``, ``rocket``, ``immunohistochemistry``,
            ``hubble_deep_field``.
        DESCR : str
            Description of the photographs and their sources.

    See Also
    --------
    sklearn.datasets.load_sample_images : The two scikit-learn photographs.

    Examples
    --------
    >>> from sklearn_xai.datasets import load_sample_photos
    >>> photos = load_sample_photos()
    >>> photos.names[:3].tolist()
    ['china', 'flower', 'astronaut']
    >>> photos.images[0].shape, photos.images[0].dtype
    ((427, 640, 3), dtype('uint8'))
    >>> load_sample_photos(size=(48, 64)).images.shape
    (8, 48, 64, 3)
    """
    size = _check_size(size)
    names, photos = _load_photos()
    if size is not None:
        photos = np.stack(
            [_resize_batch(p[np.newaxis], size, cv2.INTER_AREA)[0] for p in photos]
        )
    return Bunch(images=photos, names=np.array(names), DESCR=_DESCR)
