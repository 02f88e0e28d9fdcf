"""Synthetic shape images with ground-truth masks of the class-deciding object."""

from __future__ import annotations

from numbers import Integral, Real

import cv2
import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..utils._compat import Interval, validate_params

#: Class shapes, in class order: ``n_classes=k`` uses the first k.
SHAPE_NAMES = ("square", "circle", "triangle", "cross", "diamond", "star", "ring")

#: Objects and lines are drawn in fixed point with this many fractional bits.
_SHIFT = 4
_ONE = 1 << _SHIFT

#: Half-extent of the class object, as a fraction of the image side; the
#: objects then span about 36% to 54% of the side.
_RADIUS_RANGE = (0.18, 0.27)
#: Rotation range in degrees, per shape. Squares, crosses and diamonds turn
#: only a little, so that a square never becomes a diamond nor a cross an "x";
#: triangles and stars turn freely; circles and rings are invariant.
_ROTATION = {
    "square": 20.0,
    "circle": 0.0,
    "triangle": 180.0,
    "cross": 20.0,
    "diamond": 20.0,
    "star": 180.0,
    "ring": 0.0,
}
#: Smallest gray-level difference between a drawn object and the mean
#: background level.
_CONTRAST = 0.45
#: Amplitude of the smooth background texture.
_TEXTURE = 0.12
#: Image side below which the shapes are too small to tell apart.
_MIN_IMAGE_SIZE = 16


def _polygon(radii, angles_deg):
    angles = np.deg2rad(angles_deg)
    return np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])


def _unit_outlines(name):
    """Outlines of a shape in a unit frame: ``(fill, holes)`` lists of (k, 2)."""
    if name == "square":
        return [np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)], []
    if name == "circle":
        return [_polygon(1.0, np.arange(0, 360, 7.5))], []
    if name == "triangle":
        return [_polygon(1.2, np.array([-90.0, 30.0, 150.0]))], []
    if name == "cross":
        a, w = 1.0, 0.34
        cross = [
            [-w, -a], [w, -a], [w, -w], [a, -w], [a, w], [w, w],
            [w, a], [-w, a], [-w, w], [-a, w], [-a, -w], [-w, -w],
        ]  # fmt: skip
        return [np.array(cross, float)], []
    if name == "diamond":
        return [np.array([[0, -1.2], [0.68, 0], [0, 1.2], [-0.68, 0]], float)], []
    if name == "star":
        radii = np.tile([1.2, 0.48], 5)
        return [_polygon(radii, -90.0 + 36.0 * np.arange(10))], []
    # ring
    return [_polygon(1.05, np.arange(0, 360, 7.5))], [
        _polygon(0.58, np.arange(0, 360, 7.5))
    ]


def _object_mask(rng, name, size):
    """Draw one class object at a random pose; return its boolean mask."""
    radius = rng.uniform(*_RADIUS_RANGE) * size
    max_angle = _ROTATION[name]
    theta = np.deg2rad(rng.uniform(-max_angle, max_angle)) if max_angle else 0.0
    rotation = np.array(
        [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
    )
    fill, holes = _unit_outlines(name)
    fill = [radius * p @ rotation.T for p in fill]
    holes = [radius * p @ rotation.T for p in holes]
    # Place the object so that its whole outline stays one pixel inside.
    points = np.vstack(fill)
    low = 1.0 - points.min(axis=0)
    high = size - 2.0 - points.max(axis=0)
    centre = rng.uniform(low, np.maximum(low, high))
    mask = np.zeros((size, size), np.uint8)
    for outlines, value in ((fill, 1), (holes, 0)):
        for outline in outlines:
            fixed = np.round((outline + centre) * _ONE).astype(np.int32)
            cv2.fillPoly(mask, [fixed], value, lineType=cv2.LINE_8, shift=_SHIFT)
    return mask.astype(bool)


def _distractor_alpha(rng, size):
    """Opacity map of a thin line, a thin arc or a soft blob, none a class."""
    mask = np.zeros((size, size), np.uint8)
    kind = rng.randint(3)
    centre = tuple(int(v) for v in np.round(rng.uniform(0, size - 1, 2) * _ONE))
    thickness = max(1, round(size / 32))
    if kind == 0:  # line segment
        angle = rng.uniform(0, 2 * np.pi)
        offset = rng.uniform(0.3, 0.7) * size * np.array([np.cos(angle), np.sin(angle)])
        end = tuple(int(v) for v in np.round(offset * _ONE) + centre)
        cv2.line(mask, centre, end, 1, thickness, cv2.LINE_8, _SHIFT)
    elif kind == 1:  # open arc of a circle
        radius = round(rng.uniform(0.1, 0.25) * size * _ONE)
        start = rng.uniform(0, 360)
        cv2.ellipse(
            mask,
            centre,
            (radius, radius),
            0.0,
            start,
            start + rng.uniform(60, 200),
            1,
            thickness,
            cv2.LINE_8,
            _SHIFT,
        )
    else:  # small soft blob: a Gaussian spot, with no sharp outline
        rows, cols = np.mgrid[0:size, 0:size]
        sigma = rng.uniform(0.04, 0.07) * size
        x, y = np.asarray(centre, float) / _ONE
        squared = (cols - x) ** 2 + (rows - y) ** 2
        return np.exp(-squared / (2 * sigma**2)).astype(np.float32)
    return mask.astype(np.float32)


def _contrasting_colour(rng, level, n_channels):
    """A colour whose gray level differs from ``level`` by at least _CONTRAST."""
    can_be_dark = level - _CONTRAST >= 0.0
    can_be_bright = level + _CONTRAST <= 1.0
    bright = can_be_bright and (not can_be_dark or rng.rand() < 0.5)
    if bright:
        value = rng.uniform(level + _CONTRAST, 1.0)
    else:
        value = rng.uniform(0.0, level - _CONTRAST)
    if n_channels == 1:
        return np.array([value])
    # Colour: random per-channel deviations around the gray level.
    return np.clip(value + rng.uniform(-0.2, 0.2, n_channels), 0.0, 1.0)


def _draw_image(rng, name, size, n_channels, noise, distractors):
    """One image and the mask of its class object."""
    level = rng.uniform(0.15, 0.85)
    tint = rng.uniform(-0.08, 0.08, n_channels) if n_channels > 1 else 0.0
    coarse = rng.uniform(-_TEXTURE, _TEXTURE, (4, 4, n_channels))
    texture = cv2.resize(
        coarse.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC
    ).reshape(size, size, n_channels)
    image = (level + tint + texture).astype(np.float32)
    # Distractors first, so that the class object sits on top of them.
    for _ in range(distractors):
        alpha = _distractor_alpha(rng, size)[..., np.newaxis]
        colour = _contrasting_colour(rng, level, n_channels).astype(np.float32)
        image += alpha * (colour - image)
    mask = _object_mask(rng, name, size)
    image[mask] = _contrasting_colour(rng, level, n_channels)
    if noise > 0:
        image += rng.normal(0.0, noise, image.shape).astype(np.float32)
    np.clip(image, 0.0, 1.0, out=image)
    return image, mask


_DESCR = """\
Synthetic shape images
======================

Generated by :func:`sklearn_xai.datasets.make_shape_images`. The class of each
image is decided by one object, a filled {shapes}, drawn with OpenCV at a
random position (always fully inside the image), a random scale (36% to 54% of
the image side) and, where it keeps the shape's identity, a random rotation.
The object sits on a smooth random background texture, on top of
class-independent distractors (thin line segments and arcs, small soft
blobs); object and distractor colours are random and independent of the class,
so only the shape decides it. Pixel noise is added last.

``masks`` holds exactly the pixels of the class-deciding object: the ground
truth for localization metrics of explanations.
"""


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "image_size": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 2, len(SHAPE_NAMES), closed="both")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "distractors": [Interval(Integral, 0, None, closed="left")],
        "color": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_shape_images(
    n_samples: int = 500,
    *,
    image_size: int = 32,
    n_classes: int = 4,
    noise: float = 0.05,
    distractors: int = 2,
    color: bool = True,
    random_state: int | np.random.RandomState | None = None,
) -> Bunch:
    """Generate images whose class is the shape of one object, with its mask.

    Each image shows one class object (a square, circle, triangle, cross,
    diamond, star or ring, in this class order) at a random position, scale
    and rotation, over a smooth random texture, with ``distractors``
    class-independent clutter objects (thin line segments and arcs, small
    soft blobs) drawn underneath it and Gaussian pixel noise on top. Colours
    are random and independent of the class, so a model must find the object
    and read its shape. The returned masks mark exactly the object's pixels: the ground
    truth an explanation of the class should highlight.

    Parameters
    ----------
    n_samples : int, default=500
        Number of images. Classes are balanced: their counts differ by at
        most one (classes beyond ``n_samples`` are absent).
    image_size : int, default=32
        Side of the square images in pixels, at least 16 (smaller objects
        would be only a few pixels wide and the shapes indistinguishable).
    n_classes : int, default=4
        Number of classes, 2 to 7: the first ``n_classes`` of ``square``,
        ``circle``, ``triangle``, ``cross``, ``diamond``, ``star``, ``ring``.
    noise : float, default=0.05
        Standard deviation of the Gaussian pixel noise added to every pixel
        (before clipping to [0, 1]).
    distractors : int, default=2
        Number of distractor objects per image.
    color : bool, default=True
        If True, RGB images ``(n, S, S, 3)`` with random colours; if False,
        grayscale images ``(n, S, S)``.
    random_state : int, RandomState instance or None, default=None
        Seed of the generator; an int gives reproducible output.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        images : float32 ndarray of shape (n_samples, S, S, 3) or \
(n_samples, S, S)
            The images, values in [0, 1].
        target : int ndarray of shape (n_samples,)
            The class of each image, an index into ``target_names``;
            shuffled.
        target_names : str ndarray of shape (n_classes,)
            The shape of each class.
        masks : bool ndarray of shape (n_samples, S, S)
            The pixels of each image's class object; never empty.
        DESCR : str
            Description of the generator.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.datasets import make_shape_images
    >>> shapes = make_shape_images(60, n_classes=3, random_state=0)
    >>> shapes.images.shape, shapes.images.dtype, shapes.masks.shape
    ((60, 32, 32, 3), dtype('float32'), (60, 32, 32))
    >>> shapes.target_names
    array(['square', 'circle', 'triangle'], dtype='<U8')
    >>> np.bincount(shapes.target)
    array([20, 20, 20])
    >>> bool(shapes.masks.any(axis=(1, 2)).all())
    True
    """
    if image_size < _MIN_IMAGE_SIZE:
        raise ValueError(
            f"image_size must be at least {_MIN_IMAGE_SIZE}: below that the "
            f"objects are only a few pixels wide and their shapes cannot be "
            f"told apart; got {image_size!r}."
        )
    rng = check_random_state(random_state)
    n_channels = 3 if color else 1
    target = rng.permutation(np.arange(n_samples) % n_classes).astype(np.int64)
    images = np.empty((n_samples, image_size, image_size, n_channels), np.float32)
    masks = np.empty((n_samples, image_size, image_size), bool)
    for i, label in enumerate(target):
        images[i], masks[i] = _draw_image(
            rng, SHAPE_NAMES[label], image_size, n_channels, float(noise), distractors
        )
    if not color:
        images = images[..., 0]
    names = SHAPE_NAMES[:n_classes]
    return Bunch(
        images=images,
        target=target,
        target_names=np.array(names),
        masks=masks,
        DESCR=_DESCR.format(shapes=", ".join(names)),
    )
