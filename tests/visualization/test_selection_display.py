import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_selection import SelectKBest, f_classif

from sklearn_xai.feature_selection import SelectFromAttributions
from sklearn_xai.visualization import SelectionDisplay


@pytest.fixture(scope="module")
def selector(digits, occlusion):
    X, y = digits
    return SelectFromAttributions(occlusion, max_features=10).fit(X[:100], y[:100])


def test_kept_pixels_are_coloured_and_the_others_not(
    selector, digits, render, pixel_at
):
    X, _ = digits
    display = SelectionDisplay.from_estimator(selector, X[0])
    np.testing.assert_array_equal(display.mask, selector.support_image_)
    plain = SelectionDisplay(X[0].reshape(8, 8), np.zeros((8, 8), dtype=bool)).plot()
    masked, unmasked = render(display.figure_), render(plain.figure_)
    image = np.rint(X[0].reshape(8, 8) * 255)
    for row in range(8):
        for col in range(8):
            got = pixel_at(masked, display.ax_, col, row)
            background = pixel_at(unmasked, plain.ax_, col, row)
            np.testing.assert_allclose(background, [image[row, col]] * 3, atol=1)
            if selector.support_image_[row, col]:
                expected = np.rint(0.5 * image[row, col] + 0.5 * np.array([255, 0, 0]))
                np.testing.assert_allclose(got, expected, atol=1)
            else:
                np.testing.assert_array_equal(got, background)
    assert display.ax_.get_title() == "10 of 64 pixels kept"


def test_colour_images_and_any_selector(render, pixel_at):
    rng = np.random.default_rng(0)
    images = rng.random((40, 6, 6, 3))
    y = np.arange(40) % 2
    images[y == 1, 2, 3, :] += 2.0  # pixel (2, 3) tells the classes apart
    kbest = SelectKBest(f_classif, k=3).fit(images.reshape(40, -1), y)
    _, ax = plt.subplots()
    display = SelectionDisplay.from_estimator(
        kbest, images[0], color="blue", alpha=1.0, ax=ax
    )
    assert display.ax_ is ax and display.figure_ is ax.figure
    assert display.mask[2, 3]
    pixels = render(display.figure_)
    np.testing.assert_allclose(pixel_at(pixels, ax, 3, 2), [0, 0, 255], atol=1)


def test_inputs_are_not_modified(selector, digits):
    X, _ = digits
    image = X[0].copy()
    image.flags.writeable = False
    display = SelectionDisplay.from_estimator(selector, image)
    np.testing.assert_array_equal(image, X[0])
    assert display.plot() is display


def test_unfitted_selector_raises(selector, digits):
    X, _ = digits
    with pytest.raises(NotFittedError):
        SelectionDisplay.from_estimator(clone(selector), X[0])


@pytest.mark.parametrize(
    "image, kwargs, match",
    [
        (np.zeros((4, 4)), {}, "image size 8x8"),
        (np.zeros(10), {}, "flattened image needs"),
        (np.zeros((1, 8, 8, 1)), {}, "image must be one image"),
        (np.zeros((8, 8)), {"color": (300, 0, 0)}, "color must be"),
        (np.zeros((8, 8)), {"color": "no-such-colour"}, "color must be"),
        (np.zeros((8, 8)), {"alpha": -0.1}, "alpha must be"),
    ],
    ids=["wrong-size", "wrong-flat-size", "4d", "color-range", "color-name", "alpha"],
)
def test_bad_input_raises_a_clear_error(selector, image, kwargs, match):
    with pytest.raises(ValueError, match=match):
        SelectionDisplay.from_estimator(selector, image, **kwargs)


def test_bad_mask_raises():
    with pytest.raises(ValueError, match="mask must have the image's size"):
        SelectionDisplay(np.zeros((8, 8)), np.zeros((4, 4), dtype=bool)).plot()
    with pytest.raises(ValueError, match="mask must be boolean"):
        SelectionDisplay(np.zeros((2, 2)), np.full((2, 2), 2)).plot()
