import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_xai.metrics import (
    deletion_auc,
    deletion_curve,
    insertion_auc,
    insertion_curve,
)
from sklearn_xai.visualization import FaithfulnessCurveDisplay


@pytest.fixture(scope="module")
def attributions(digits, classifier):
    X, _ = digits
    exact = (classifier.coef_[classifier.predict(X[:6])] * X[:6]).reshape(6, 8, 8)
    noise = np.random.default_rng(0).normal(size=(6, 8, 8))
    return {"exact": exact, "noise": noise}


@pytest.mark.parametrize(
    "kind, auc, curve",
    [
        ("deletion", deletion_auc, deletion_curve),
        ("insertion", insertion_auc, insertion_curve),
    ],
    ids=["deletion", "insertion"],
)
def test_legend_aucs_equal_the_metrics(
    digits, classifier, attributions, kind, auc, curve
):
    X, _ = digits
    display = FaithfulnessCurveDisplay.from_attributions(
        classifier, X[:6], attributions, kind=kind, n_steps=16, image_shape=(8, 8)
    )
    texts = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    for name, values in attributions.items():
        kwargs = {"n_steps": 16, "baseline": "black", "image_shape": (8, 8)}
        expected = auc(classifier, X[:6], values, **kwargs).mean()
        assert display.aucs[name] == pytest.approx(expected, rel=1e-12)
        assert f"{name} (AUC = {expected:.3f})" in texts
        scores = curve(classifier, X[:6], values, **kwargs)
        np.testing.assert_allclose(display.curves[name], scores.scores.mean(axis=0))
        np.testing.assert_allclose(display.lines_[name].get_xdata(), scores.fractions)
        np.testing.assert_allclose(
            display.lines_[name].get_ydata(), scores.scores.mean(axis=0)
        )
    verb = "deleted" if kind == "deletion" else "inserted"
    assert display.ax_.get_xlabel() == f"fraction of pixels {verb}"


def test_from_explainer_equals_from_attributions(digits, classifier, occlusion):
    X, _ = digits
    display = FaithfulnessCurveDisplay.from_explainer(
        occlusion, X[:4], n_steps=8, target=3
    )
    expected = deletion_auc(
        classifier,
        X[:4],
        occlusion.explain(X[:4], target=3),
        targets=3,
        n_steps=8,
        image_shape=(8, 8),
    ).mean()
    assert list(display.aucs) == ["Occlusion"]
    assert display.aucs["Occlusion"] == pytest.approx(expected, rel=1e-12)
    assert len(display.fractions) == 9


def test_from_explainer_with_a_dict_on_a_given_axes(digits, occlusion):
    X, _ = digits
    coarse = clone(occlusion).set_params(window=4, stride=4).fit(X)
    _, ax = plt.subplots()
    display = FaithfulnessCurveDisplay.from_explainer(
        {"fine": occlusion, "coarse": coarse},
        X[:3],
        kind="insertion",
        n_steps=4,
        baseline="mean",
        ax=ax,
    )
    assert display.ax_ is ax and display.figure_ is ax.figure
    assert set(display.lines_) == {"fine", "coarse"}
    assert "Insertion" in ax.get_title()


def test_curves_are_drawn(render, pixel_at):
    fractions = np.linspace(0, 1, 5)
    display = FaithfulnessCurveDisplay(
        fractions, {"m": np.full(5, 0.5)}, {"m": 0.5}, kind="deletion"
    ).plot()
    empty = FaithfulnessCurveDisplay(
        fractions, {"m": np.full(5, np.nan)}, {"m": 0.5}, kind="deletion"
    ).plot()
    drawn, blank = render(display.figure_), render(empty.figure_)
    on_line = pixel_at(drawn, display.ax_, 0.3, 0.5)
    assert np.abs(on_line - pixel_at(blank, empty.ax_, 0.3, 0.5)).sum() > 100
    np.testing.assert_array_equal(pixel_at(drawn, display.ax_, 0.3, 0.2), [255] * 3)


def test_unfitted_explainer_raises(digits, occlusion):
    X, _ = digits
    with pytest.raises(NotFittedError):
        FaithfulnessCurveDisplay.from_explainer(clone(occlusion), X[:2])


@pytest.mark.parametrize(
    "fractions, curves, aucs, kind, error, match",
    [
        ([0, 1], {"m": [1, 0]}, {"m": 0.5}, "erase", ValueError, "kind must be"),
        ([0, 1], {"m": [1, 0]}, {"n": 0.5}, "deletion", ValueError, "aucs must"),
        ([0, 1], {"m": [1, 0, 0]}, {"m": 0.5}, "deletion", ValueError, "curves"),
        ([0], {"m": [1]}, {"m": 0.5}, "deletion", ValueError, "fractions must"),
        ([0, 1], [1, 0], {"m": 0.5}, "deletion", TypeError, "curves must"),
    ],
    ids=["kind", "auc-keys", "curve-length", "one-fraction", "curves-not-dict"],
)
def test_bad_data_raises_a_clear_error(fractions, curves, aucs, kind, error, match):
    with pytest.raises(error, match=match):
        FaithfulnessCurveDisplay(fractions, curves, aucs, kind=kind).plot()


def test_bad_arguments_of_from_attributions(digits, classifier, attributions):
    X, _ = digits
    with pytest.raises(ValueError, match="kind must be"):
        FaithfulnessCurveDisplay.from_attributions(
            classifier, X[:6], attributions, kind="both", image_shape=(8, 8)
        )
    with pytest.raises(ValueError, match="empty dict"):
        FaithfulnessCurveDisplay.from_attributions(
            classifier, X[:6], {}, image_shape=(8, 8)
        )
    with pytest.raises(ValueError, match="attributions has 6 maps but X has 5"):
        FaithfulnessCurveDisplay.from_attributions(
            classifier, X[:5], attributions, image_shape=(8, 8)
        )
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        FaithfulnessCurveDisplay.from_attributions(
            classifier, X[:6], attributions["exact"], image_shape=(8, 8), ax="ax"
        )
