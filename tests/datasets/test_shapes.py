import numpy as np
import pytest
from scipy import ndimage

from sklearn_xai.datasets import make_shape_images
from sklearn_xai.datasets._shapes import SHAPE_NAMES


@pytest.fixture(scope="module")
def shapes():
    return make_shape_images(140, n_classes=7, random_state=0)


def test_shapes_dtypes_and_ranges(shapes):
    assert shapes.images.shape == (140, 32, 32, 3)
    assert shapes.images.dtype == np.float32
    assert shapes.images.min() >= 0.0 and shapes.images.max() <= 1.0
    assert shapes.masks.shape == (140, 32, 32)
    assert shapes.masks.dtype == bool
    assert shapes.target.dtype.kind == "i"
    np.testing.assert_array_equal(shapes.target_names, SHAPE_NAMES)
    assert "ring" in shapes.DESCR


def test_grayscale_and_image_size():
    shapes = make_shape_images(6, image_size=48, color=False, random_state=1)
    assert shapes.images.shape == (6, 48, 48)
    assert shapes.masks.shape == (6, 48, 48)
    assert shapes.images.dtype == np.float32


def test_default_classes_are_the_first_four():
    shapes = make_shape_images(8, random_state=0)
    np.testing.assert_array_equal(
        shapes.target_names, ["square", "circle", "triangle", "cross"]
    )


@pytest.mark.parametrize(
    ("n_samples", "n_classes", "counts"),
    [(60, 3, [20, 20, 20]), (50, 3, [17, 17, 16]), (14, 7, [2] * 7)],
    ids=["even", "uneven", "all-shapes"],
)
def test_balanced_classes_all_present(n_samples, n_classes, counts):
    target = make_shape_images(
        n_samples, n_classes=n_classes, distractors=0, random_state=0
    ).target
    np.testing.assert_array_equal(np.bincount(target, minlength=n_classes), counts)


def test_targets_are_shuffled(shapes):
    assert not np.array_equal(shapes.target, np.sort(shapes.target))


def test_deterministic_for_a_seed():
    first = make_shape_images(10, random_state=3)
    second = make_shape_images(10, random_state=3)
    other = make_shape_images(10, random_state=4)
    for key in ("images", "masks", "target"):
        np.testing.assert_array_equal(first[key], second[key])
    assert not np.array_equal(first.images, other.images)
    assert not np.array_equal(first.masks, other.masks)


def test_masks_non_empty_and_inside_the_image(shapes):
    masks = shapes.masks
    assert masks.any(axis=(1, 2)).all()
    # Objects stay fully inside: nothing drawn on the outermost pixels.
    assert not masks[:, 0, :].any() and not masks[:, -1, :].any()
    assert not masks[:, :, 0].any() and not masks[:, :, -1].any()


def test_objects_are_large_enough(shapes):
    for mask in shapes.masks:
        rows, cols = np.nonzero(mask)
        extent = max(np.ptp(rows), np.ptp(cols)) + 1
        assert 0.3 * 32 <= extent <= 0.75 * 32


def test_only_rings_have_a_hole(shapes):
    for mask, label in zip(shapes.masks, shapes.target, strict=True):
        hole = ndimage.binary_fill_holes(mask) & ~mask
        assert hole.any() == (SHAPE_NAMES[label] == "ring")


def test_object_colour_is_uniform_over_its_mask():
    shapes = make_shape_images(30, noise=0.0, random_state=2)
    for image, mask in zip(shapes.images, shapes.masks, strict=True):
        colour = image[mask]
        np.testing.assert_array_equal(colour, np.broadcast_to(colour[0], colour.shape))
        # The object is drawn on top: no pixel outside its mask has its colour
        # everywhere (the background texture is continuous).
        outside = image[~mask]
        assert not np.all(outside == colour[0], axis=-1).any()


def test_object_contrasts_with_the_background():
    shapes = make_shape_images(30, noise=0.0, distractors=0, random_state=5)
    for image, mask in zip(shapes.images, shapes.masks, strict=True):
        gray = image.mean(axis=-1)
        assert abs(gray[mask].mean() - gray[~mask].mean()) > 0.2


def test_background_without_distractors_is_smooth():
    shapes = make_shape_images(10, noise=0.0, distractors=0, random_state=6)
    for image, mask in zip(shapes.images, shapes.masks, strict=True):
        # Pixel-to-pixel steps away from the object are small (texture only).
        away = ~ndimage.binary_dilation(mask, iterations=2)
        step = np.abs(np.diff(image, axis=1)).max(axis=-1)
        assert step[away[:, 1:] & away[:, :-1]].max() < 0.1
        assert image[away].std() > 0.005  # but not flat


def test_distractors_add_sharp_clutter():
    shapes = make_shape_images(20, noise=0.0, distractors=4, random_state=6)
    steps = []
    for image, mask in zip(shapes.images, shapes.masks, strict=True):
        away = ~ndimage.binary_dilation(mask, iterations=2)
        step = np.abs(np.diff(image, axis=1)).max(axis=-1)
        steps.append(step[away[:, 1:] & away[:, :-1]].max())
    assert np.mean(np.array(steps) > 0.1) > 0.5


def test_noise_level():
    clean = make_shape_images(1, noise=0.0, random_state=7).images[0]
    noisy = make_shape_images(1, noise=0.05, random_state=7).images[0]
    inside = (clean > 0.2) & (clean < 0.8)  # away from clipping
    assert 0.04 < (noisy - clean)[inside].std() < 0.06


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_samples": 0}, ValueError, "'n_samples' parameter"),
        ({"n_samples": 2.5}, TypeError, "'n_samples' parameter"),
        ({"image_size": 8}, ValueError, "image_size must be at least 16"),
        ({"image_size": "32"}, TypeError, "'image_size' parameter"),
        ({"n_classes": 1}, ValueError, "'n_classes' parameter"),
        ({"n_classes": 8}, ValueError, r"range \[2, 7\]"),
        ({"noise": -0.1}, ValueError, "'noise' parameter"),
        ({"noise": float("nan")}, ValueError, "Got nan instead"),
        ({"distractors": -1}, ValueError, "'distractors' parameter"),
        ({"color": "rgb"}, ValueError, "'color' parameter"),
        ({"random_state": "seed"}, ValueError, "'random_state' parameter"),
    ],
    ids=[
        "n_samples-zero",
        "n_samples-float",
        "image_size-small",
        "image_size-str",
        "n_classes-one",
        "n_classes-too-many",
        "noise-negative",
        "noise-nan",
        "distractors-negative",
        "color",
        "random_state",
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_shape_images(**{"n_samples": 5, **kwargs})
