"""Scikit-image's bundled LFW subset as a face / non-face classification set."""

from __future__ import annotations

import numpy as np
from skimage.data import lfw_subset
from sklearn.utils import Bunch

from ..utils._compat import validate_params
from ._base import _check_size, _to_float_images

_N_FACES = 100

_DESCR = """\
Face / non-face images
======================

The 200 grayscale 25x25 patches of :func:`skimage.data.lfw_subset`, the copy
bundled with scikit-image of a subset of the Labeled Faces in the Wild (LFW)
database; nothing is downloaded. The first 100 patches are faces picked at
random from LFW, the last 100 are non-faces cut from the backgrounds of the
same photographs, all resized to 25x25 pixels.

In :func:`sklearn_xai.datasets.load_face_images` they form a balanced binary
classification set: target 1 = face, 0 = non-face. Images are float32 in
[0, 1]; when ``size`` is given they are resized with OpenCV's bicubic
interpolation and clipped back to [0, 1]; ``as_rgb=True`` repeats the gray
level over three channels.

Source: G. B. Huang, M. Mattar, H. Lee and E. Learned-Miller, "Learning to
align from scratch", NIPS 2012; http://vis-www.cs.umass.edu/lfw/
"""


@validate_params(
    {"size": "no_validation", "as_rgb": ["boolean"], "return_X_y": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_face_images(
    *,
    size: int | tuple[int, int] | None = None,
    as_rgb: bool = False,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load scikit-image's LFW subset as a face / non-face image set.

    200 real grayscale photographs of 25x25 pixels: 100 faces and 100
    background patches, a small binary task on natural images where a good
    explanation should highlight the facial features. Offline: the data ships
    with scikit-image.

    Parameters
    ----------
    size : int, tuple (H, W) of int or None, default=None
        Size of the returned images: an int gives square ``size x size``
        images, a tuple ``(H, W)``. The 25x25 originals are resized with
        bicubic interpolation (``cv2.INTER_CUBIC``) and clipped to [0, 1].
        None keeps 25x25.
    as_rgb : bool, default=False
        If True, repeat the gray level over three channels, giving
        ``(n, H, W, 3)`` images.
    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        images : float32 ndarray of shape (200, H, W) or (200, H, W, 3)
            The patches, values in [0, 1]; faces first, then non-faces.
        target : int ndarray of shape (200,)
            1 for a face, 0 for a non-face.
        target_names : str ndarray of shape (2,)
            ``["non-face", "face"]``, indexed by ``target``.
        DESCR : str
            Description of the data set.

    (images, target) : tuple of ndarray
        Returned instead of the Bunch when ``return_X_y`` is True.

    References
    ----------
    .. [1] G. B. Huang, M. Mattar, H. Lee and E. Learned-Miller, "Learning to
       align from scratch", Advances in Neural Information Processing Systems
       25, pp. 764-772, 2012.
    .. [2] G. B. Huang, M. Ramesh, T. Berg and E. Learned-Miller, "Labeled
       Faces in the Wild: A Database for Studying Face Recognition in
       Unconstrained Environments", University of Massachusetts, Amherst,
       Technical Report 07-49, 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.datasets import load_face_images
    >>> faces = load_face_images(size=32)
    >>> faces.images.shape, faces.images.dtype
    ((200, 32, 32), dtype('float32'))
    >>> faces.target_names[faces.target[[0, -1]]]
    array(['face', 'non-face'], dtype='<U8')
    >>> np.bincount(faces.target)
    array([100, 100])
    """
    size = _check_size(size)
    patches = lfw_subset()
    images = _to_float_images(np.clip(patches, 0.0, 1.0), size, as_rgb)
    # skimage documents the order: the first 100 patches are faces.
    target = np.zeros(len(images), dtype=np.int64)
    target[:_N_FACES] = 1
    if return_X_y:
        return images, target
    return Bunch(
        images=images,
        target=target,
        target_names=np.array(["non-face", "face"]),
        DESCR=_DESCR,
    )
