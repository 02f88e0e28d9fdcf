import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from sklearn_xai.surrogate import SurrogateClassifier, SurrogateTreeClassifier
from sklearn_xai.visualization import SurrogateTreeDisplay


@pytest.fixture(scope="module")
def surrogate(digits):
    X, y = digits
    return SurrogateTreeClassifier(
        LogisticRegression(max_iter=300),
        grid_size=4,
        max_depth=2,
        image_shape=(8, 8),
        random_state=0,
    ).fit(X, y)


def _cells(surrogate, max_depth=None):
    """Grid cells used by the drawn splits, and those used by none."""
    tree = surrogate.surrogate_.tree_
    depth = {0: 0}
    for node in range(tree.node_count):
        for child in (tree.children_left[node], tree.children_right[node]):
            if child >= 0:
                depth[child] = depth[node] + 1
    used = {
        int(tree.feature[node])
        for node in range(tree.node_count)
        if tree.children_left[node] >= 0
        and (max_depth is None or depth[node] <= max_depth)
    }
    return used, sorted(set(range(16)) - used)


def _cell_point(cell):
    """A point inside grid cell ``cell`` of an 8x8 image, off its centre label."""
    row, col = divmod(cell, 4)
    return 2 * col - 0.3, 2 * row - 0.3  # (x, y) near the cell's top-left pixel


def test_split_regions_are_coloured_on_a_blank_canvas(surrogate, render, pixel_at):
    display = SurrogateTreeDisplay.from_estimator(surrogate)
    pixels = render(display.figure_)
    ax_image = display.axes_[1]
    used, unused = _cells(surrogate)
    root = int(surrogate.surrogate_.tree_.feature[0])
    assert root in used and unused
    for cell in used:
        colour = pixel_at(pixels, ax_image, *_cell_point(cell))
        assert (colour < 250).any(), f"cell {cell} of a split is not coloured"
    red, green, blue = pixel_at(pixels, ax_image, *_cell_point(root))
    assert red > green + 50 and red > blue + 50  # the root's region is red
    for cell in unused:
        np.testing.assert_array_equal(
            pixel_at(pixels, ax_image, *_cell_point(cell)), [255, 255, 255]
        )


def test_tree_is_drawn_with_region_names_and_node_numbers(surrogate):
    display = SurrogateTreeDisplay.from_estimator(surrogate)
    texts = [t.get_text() for t in display.axes_[0].texts]
    root = surrogate._short_feature_names()[surrogate.surrogate_.tree_.feature[0]]
    assert any(text.startswith("node #0") and root in text for text in texts)
    labels = [t.get_text() for t in display.axes_[1].texts]
    assert f"{root}\n#0" in labels or any(
        label.startswith(f"{root}\n#0,") for label in labels
    )


def test_image_is_the_background(surrogate, digits, render, pixel_at):
    X, _ = digits
    image = X[1].reshape(8, 8)
    display = SurrogateTreeDisplay.from_estimator(surrogate, image=X[1])
    pixels = render(display.figure_)
    _, unused = _cells(surrogate)
    for cell in unused:
        x, y = _cell_point(cell)
        expected = np.rint(image[round(y), round(x)] * 255)
        np.testing.assert_allclose(
            pixel_at(pixels, display.axes_[1], x, y), [expected] * 3, atol=1
        )


def test_max_depth_limits_the_regions(surrogate, render, pixel_at):
    display = SurrogateTreeDisplay.from_estimator(surrogate, max_depth=0)
    pixels = render(display.figure_)
    (root,) = _cells(surrogate, max_depth=0)[0]
    used, _ = _cells(surrogate)
    assert (pixel_at(pixels, display.axes_[1], *_cell_point(root)) < 250).any()
    for cell in used - {root}:
        np.testing.assert_array_equal(
            pixel_at(pixels, display.axes_[1], *_cell_point(cell)), [255] * 3
        )


def test_plot_on_a_given_figure(surrogate):
    figure = plt.figure()
    display = SurrogateTreeDisplay.from_estimator(surrogate, fig=figure)
    assert display.figure_ is figure
    assert display.axes_.shape == (2,)
    assert display.plot(fig=plt.figure()) is display


def test_superpixel_features_are_outlined(digits, render):
    from sklearn_xai.preprocessing import SuperpixelSegmenter

    X, y = digits
    surrogate = SurrogateTreeClassifier(
        LogisticRegression(max_iter=300),
        features="superpixels",
        segmentation=SuperpixelSegmenter(method="grid", n_segments=4),
        max_depth=1,
        image_shape=(8, 8),
        random_state=0,
    ).fit(X, y)
    display = SurrogateTreeDisplay.from_estimator(surrogate)
    render(display.figure_)
    assert display.feature_names[0] == "sp0"


def test_unfitted_or_wrong_surrogate_raises(surrogate, digits):
    X, y = digits
    with pytest.raises(NotFittedError):
        SurrogateTreeDisplay.from_estimator(clone(surrogate))
    linear = SurrogateClassifier(
        LogisticRegression(max_iter=300),
        surrogate=LogisticRegression(max_iter=300),
        grid_size=2,
        image_shape=(8, 8),
    ).fit(X[:100], y[:100])
    with pytest.raises(TypeError, match="surrogate_ decision tree"):
        SurrogateTreeDisplay.from_estimator(linear)


@pytest.mark.parametrize(
    "image",
    [np.zeros((4, 4)), np.zeros(10), np.zeros((2, 8, 8))],
    ids=["wrong-size", "wrong-flat-size", "batch"],
)
def test_image_of_the_wrong_shape_raises(surrogate, image):
    with pytest.raises(ValueError, match="image must be one image of the surrogate"):
        SurrogateTreeDisplay.from_estimator(surrogate, image=image)


def test_bad_region_masks_raise(surrogate):
    display = SurrogateTreeDisplay(
        surrogate.surrogate_,
        np.zeros((3, 8, 8), dtype=bool),
        feature_names=["a", "b", "c"],
        class_names=["0"],
    )
    with pytest.raises(ValueError, match="region_masks must have shape"):
        display.plot()
