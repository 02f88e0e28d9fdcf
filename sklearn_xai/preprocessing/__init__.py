"""Image preprocessing transformers built on OpenCV and scikit-image.

Every transformer is a scikit-learn transformer for image batches
``(n, H, W, C)``, ``(n, H, W)`` or flattened ``(n, H * W * C)`` (read with its
``image_shape`` parameter), and returns its result in the layout it was given.
:class:`ImageReader` turns file paths into such a batch and
:class:`ImageFlattener` turns a batch into named tabular columns, so a
``Pipeline`` can go from paths to any scikit-learn model.
"""

from ._color import ColorConverter
from ._denoiser import ImageDenoiser
from ._equalizer import HistogramEqualizer
from ._flattener import ImageFlattener
from ._normalizer import ImageNormalizer
from ._reader import ImageReader
from ._resizer import ImageResizer
from ._superpixels import SuperpixelSegmenter

__all__ = [
    "ColorConverter",
    "HistogramEqualizer",
    "ImageDenoiser",
    "ImageFlattener",
    "ImageNormalizer",
    "ImageReader",
    "ImageResizer",
    "SuperpixelSegmenter",
]
