import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_xai.visualization import AttributionDisplay


def _block_map(n=2, size=16):
    a = np.zeros((n, size, size))
    a[:, 2:6, 9:13] = 1.0  # rows 2-5, cols 9-12
    return a


def test_from_explainer_shows_predicted_label_and_probability(
    digits, classifier, occlusion
):
    X, _ = digits
    display = AttributionDisplay.from_explainer(occlusion, X[:3])
    assert display.axes_.shape == (3, 2)
    assert display.method_names == ["Occlusion"]
    proba = classifier.predict_proba(X[:3])
    np.testing.assert_array_equal(display.labels, classifier.predict(X[:3]))
    np.testing.assert_allclose(display.probabilities, proba.max(axis=1))
    np.testing.assert_allclose(display.attributions[0], occlusion.explain(X[:3]))
    assert display.images.shape == (3, 8, 8)
    for i in range(3):
        title = display.axes_[i, 0].get_title()
        assert title == f"pred {display.labels[i]} ({proba[i].max():.2f})"
    assert display.axes_[0, 1].get_title() == "Occlusion"
    assert display.figure_ is display.axes_[0, 0].figure


def test_from_explainer_with_a_dict_and_a_target(digits, occlusion):
    X, _ = digits
    coarse = clone(occlusion).set_params(window=4, stride=4).fit(X)
    display = AttributionDisplay.from_explainer(
        {"fine": occlusion, "coarse": coarse}, X[:2], target=[1, 2]
    )
    assert display.axes_.shape == (2, 3)
    assert [ax.get_title() for ax in display.axes_[0, 1:]] == ["fine", "coarse"]
    np.testing.assert_allclose(
        display.attributions[1], coarse.explain(X[:2], target=[1, 2])
    )


def test_high_attribution_changes_the_rendered_pixels(render, pixel_at):
    images = np.full((2, 16, 16), 0.5)
    high = AttributionDisplay.from_attributions(images, _block_map())
    zero = AttributionDisplay.from_attributions(images, np.zeros((2, 16, 16)))
    pixels_high, pixels_zero = render(high.figure_), render(zero.figure_)
    assert pixels_high.shape == pixels_zero.shape
    for i in range(2):
        ax_high, ax_zero = high.axes_[i, 1], zero.axes_[i, 1]
        hot = pixel_at(pixels_high, ax_high, 10.5, 3.5)
        assert np.abs(hot - pixel_at(pixels_zero, ax_zero, 10.5, 3.5)).sum() > 60
        cold = pixel_at(pixels_high, ax_high, 3, 12)
        np.testing.assert_array_equal(cold, pixel_at(pixels_zero, ax_zero, 3, 12))
        np.testing.assert_array_equal(cold, [128, 128, 128])
        # The image column is the image itself.
        np.testing.assert_array_equal(
            pixel_at(pixels_high, high.axes_[i, 0], 10.5, 3.5), [128, 128, 128]
        )


def test_from_attributions_with_a_dict_of_resolutions():
    images = np.random.default_rng(0).random((2, 16, 16, 3))
    coarse = np.zeros((2, 4, 4))
    coarse[:, 0, 3] = 1.0
    display = AttributionDisplay.from_attributions(
        images,
        {"fine": _block_map(), "coarse": coarse},
        labels=["a", "b"],
        probabilities=[0.75, 0.5],
        sign="absolute",
        cmap="inferno",
        alpha=0.8,
    )
    assert display.attributions.shape == (2, 2, 16, 16)
    assert display.axes_.shape == (2, 3)
    assert display.axes_[1, 0].get_title() == "pred b (0.50)"
    assert display.axes_[0, 2].get_title() == "coarse"


def test_plot_again_on_a_given_figure():
    images = np.full((1, 16, 16), 0.5)
    display = AttributionDisplay(
        images, _block_map(1)[np.newaxis], method_names=["m"], probabilities=[0.9]
    )
    figure = plt.figure()
    assert display.plot(fig=figure, sign="all", cmap="bwr") is display
    assert display.figure_ is figure
    assert display.axes_.shape == (1, 2)
    assert display.axes_[0, 0].get_title() == "p = 0.90"


def test_inputs_are_not_modified():
    images = np.random.default_rng(0).random((2, 16, 16))
    maps = _block_map() - 0.5
    images_copy, maps_copy = images.copy(), maps.copy()
    images.flags.writeable = False
    maps.flags.writeable = False
    AttributionDisplay.from_attributions(images, {"m": maps}, sign="all")
    np.testing.assert_array_equal(images, images_copy)
    np.testing.assert_array_equal(maps, maps_copy)


def test_unfitted_or_wrong_explainer_raises(digits, occlusion):
    X, _ = digits
    with pytest.raises(NotFittedError):
        AttributionDisplay.from_explainer(clone(occlusion), X[:2])
    with pytest.raises(TypeError, match="explainer must be a fitted explainer"):
        AttributionDisplay.from_explainer({"x": object()}, X[:2])
    with pytest.raises(ValueError, match="empty dict"):
        AttributionDisplay.from_explainer({}, X[:2])


@pytest.mark.parametrize(
    "images, attributions, kwargs, match",
    [
        (np.zeros((2, 8, 8)), np.zeros((3, 8, 8)), {}, r"\(1, 2, H', W'\)"),
        (np.zeros((2, 8, 8)), np.zeros((2, 8)), {}, r"shape \(n, H, W\)"),
        (np.zeros((8, 8)), np.zeros((1, 8, 8)), {}, "images must be a batch"),
        (np.zeros((2, 8, 8)), np.full((2, 8, 8), np.nan), {}, "NaN or infinity"),
        (np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), {"labels": [1]}, "labels must"),
        (
            np.zeros((2, 8, 8)),
            np.zeros((2, 8, 8)),
            {"probabilities": [0.5, 0.5, 0.5]},
            "probabilities must",
        ),
        (np.zeros((2, 8, 8)), {}, {}, "empty dict"),
        (np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), {"sign": "both"}, "sign"),
        (np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), {"cmap": "nope"}, "cmap"),
        (np.zeros((2, 8, 8, 4)), np.zeros((2, 8, 8)), {}, r"images\[0\] must be"),
    ],
    ids=[
        "n-mismatch",
        "2d-attributions",
        "2d-images",
        "nan",
        "labels-length",
        "probabilities-length",
        "empty-dict",
        "bad-sign",
        "bad-cmap",
        "rgba-images",
    ],
)
def test_bad_input_raises_a_clear_error(images, attributions, kwargs, match):
    with pytest.raises(ValueError, match=match):
        AttributionDisplay.from_attributions(images, attributions, **kwargs)


def test_fig_must_be_a_figure():
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        AttributionDisplay.from_attributions(
            np.zeros((1, 8, 8)), np.zeros((1, 8, 8)), fig="figure"
        )
