"""Random streams of one image, derived from a seed and the image's content.

Explainers and stochastic metrics give every image its own stream: seeded by
the call's seed *and* the image's bytes, so an image draws the same numbers
alone or in any batch, at any position, under any ``n_jobs``, and two
different images never share their sampling error (which would survive into
averages over images). Identical images get identical draws.
"""

from __future__ import annotations

import zlib
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["call_seed", "content_hash", "image_rngs", "image_seeds"]

_MAX_SEED = np.iinfo(np.uint32).max

#: Stream tags: the metrics' draws never coincide with an explainer's for
#: the same seed and image.
EXPLAINER, METRIC, TIES = 0, 1, 2


def call_seed(random_state):
    """The int seed of one call: an int ``random_state`` itself, else one draw.

    ``None`` draws from numpy's global stream, a ``RandomState`` from itself
    (one draw per call).
    """
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        return int(random_state) % (_MAX_SEED + 1)
    return int(check_random_state(random_state).randint(_MAX_SEED))


def content_hash(array):
    """CRC-32 of an array's values as float32, in C order.

    The values, not their storage: the same values in float32 or float64
    (or in any shape, in the same order) hash alike. An explainer seeds the
    images after converting uint8 ones to [0, 1] floats, so uint8 images and
    the same images divided by 255 get the same draws.
    """
    values = np.ascontiguousarray(array, dtype=np.float32)
    return zlib.crc32(values.view(np.uint8).reshape(-1))


def _sequences(seed, batches, tag):
    """One SeedSequence per item of the zipped ``batches``, hashed by content."""
    return [
        np.random.SeedSequence(
            [seed, *(content_hash(array) for array in arrays)], spawn_key=(tag,)
        )
        for arrays in zip(*batches, strict=True)
    ]


def image_seeds(seed, images, *, tag=EXPLAINER):
    """One uint32 seed per image, from ``seed`` and the image's content.

    Parameters
    ----------
    seed : int
        The call's seed (see :func:`call_seed`).
    images : sequence of ndarray
        The images (or any arrays), each hashed by content.
    tag : int, default=EXPLAINER
        Which stream (explainers, metrics, tie-breaking).

    Returns
    -------
    seeds : list of int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.utils._seeds import image_seeds
    >>> images = np.arange(12.0).reshape(3, 2, 2)
    >>> a = image_seeds(0, images)
    >>> a[1] == image_seeds(0, images[1:2])[0]  # position-free
    True
    >>> len(set(a))  # one seed per (different) image
    3
    """
    return [int(s.generate_state(1)[0]) for s in _sequences(seed, [images], tag)]


def image_rngs(seed, *batches, tag=METRIC):
    """One ``RandomState`` per image, seeded by ``seed`` and its content.

    ``batches`` are sequences of equal length (e.g. the images, or the images
    and their attribution maps); item ``i`` of each is hashed into stream
    ``i``.
    """
    return [
        np.random.RandomState(np.random.MT19937(s))
        for s in _sequences(seed, batches, tag)
    ]
