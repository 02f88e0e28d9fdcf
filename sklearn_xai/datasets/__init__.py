"""Image data sets for explaining classifiers, all available offline.

Real images bundled with installed packages (scikit-learn's digits and sample
photos, scikit-image's face / non-face patches and photographs) and a
synthetic generator whose images come with ground-truth masks of the
class-deciding object, for localization metrics.
"""

from ._digits import load_digit_images
from ._faces import load_face_images
from ._photos import load_sample_photos
from ._shapes import make_shape_images

__all__ = [
    "load_digit_images",
    "load_face_images",
    "load_sample_photos",
    "make_shape_images",
]
