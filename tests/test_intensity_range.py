"""The intensity-range rule (sklearn_xai.utils._intensity) across the library.

A model records the range of its training images; uint8 images given to a
[0, 1] model are divided by 255 (exactly as ``ImageReader`` and ``X / 255``
do), and images of the wrong kind are refused with a message that says what
to do, never silently misread.
"""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from torch import nn

from sklearn_xai.attribution import (
    GradCAMExplainer,
    IntegratedGradientsExplainer,
    KernelShapExplainer,
    LimeExplainer,
    OcclusionExplainer,
    RISEExplainer,
    SaliencyExplainer,
    SmoothGradExplainer,
)
from sklearn_xai.metrics import deletion_auc
from sklearn_xai.neural_network import CNNClassifier, TorchClassifier
from sklearn_xai.utils._intensity import fitted_intensity_range, to_intensity_range


@pytest.fixture(scope="module")
def digits_u8():
    d = load_digits()
    u8 = np.round(d.images[:200] / 16 * 255).astype(np.uint8)
    return u8, d.target[:200]


@pytest.fixture(scope="module")
def float_model(digits_u8):
    """A CNN fitted on [0, 1] floats that are exactly k / 255."""
    u8, y = digits_u8
    X = u8.astype(np.float32) / 255
    return CNNClassifier(max_epochs=2, lr=0.01, random_state=0).fit(X, y)


# -- the rule itself -------------------------------------------------------------


@pytest.mark.parametrize(
    "images, expected",
    [
        (np.zeros((1, 2, 2), np.uint8), (0.0, 255.0)),
        (np.full((1, 2, 2), 0.5, np.float32), (0.0, 1.0)),
        (np.zeros((1, 2, 2)), (0.0, 1.0)),
        (np.full((1, 2, 2), 1.0), (0.0, 1.0)),
        (np.full((1, 2, 2), 1.5), None),
        (np.full((1, 2, 2), -0.1), None),
        (np.full((1, 2, 2), 200.0), None),
    ],
    ids=["uint8", "half", "zeros", "ones", "above-1", "negative", "0-255-floats"],
)
def test_fitted_intensity_range(images, expected):
    assert fitted_intensity_range(images) == expected


def test_uint8_conversion_matches_division_by_255():
    k = np.arange(256, dtype=np.uint8)
    # Bit for bit what ImageReader(dtype="float32") and X / 255 give.
    np.testing.assert_array_equal(
        to_intensity_range(k, (0.0, 1.0), owner="m"), k.astype(np.float32) / 255
    )
    assert to_intensity_range(k, (0.0, 255.0), owner="m") is k
    out = to_intensity_range(k, (-1.0, 1.0), owner="m")
    assert out.dtype == np.float32
    assert (out[0], out[255]) == (-1.0, 1.0)
    np.testing.assert_allclose(out, k / 127.5 - 1, atol=1e-6)


@pytest.mark.parametrize(
    "values, input_range, ok",
    [
        ([-0.99, 1.99], (0.0, 1.0), True),  # noisy [0, 1] images are accepted
        ([-40.0, 41.0], (0.0, 1.0), True),  # zero-mean noise of any size too
        ([2.5, 3.0], (0.0, 1.0), False),
        ([-1.5, -1.2], (0.0, 1.0), False),
        ([-2.9, 2.9], (-1.0, 1.0), True),
        ([3.2, 3.5], (-1.0, 1.0), False),
        ([0.0, 255.0], (0.0, 255.0), True),
        ([0.0, 0.0], (0.0, 255.0), True),  # black images are black in any range
        ([0.0, 0.8], (0.0, 255.0), False),
    ],
    ids=[
        "unit-noisy",
        "unit-zero-mean-noise",
        "unit-over",
        "unit-under",
        "sym-noisy",
        "sym-over",
        "255-ok",
        "255-black",
        "255-given-unit",
    ],
)
def test_float_images_are_checked_against_the_range(values, input_range, ok):
    images = np.array(values, dtype=np.float32)
    if ok:
        assert to_intensity_range(images, input_range, owner="m") is images
    else:
        with pytest.raises(ValueError, match=r"X (has|holds).* values in \["):
            to_intensity_range(images, input_range, owner="m")


# -- CNNClassifier ------------------------------------------------------------------


def test_float_model_predicts_the_same_on_uint8(digits_u8, float_model):
    u8, _ = digits_u8
    X = u8.astype(np.float32) / 255
    assert float_model.input_range_ == (0.0, 1.0)
    np.testing.assert_array_equal(
        float_model.predict_proba(u8), float_model.predict_proba(X)
    )
    # Gray (n, H, W), channels last (n, H, W, 1) and flattened alike.
    np.testing.assert_array_equal(
        float_model.predict_proba(u8[..., None]), float_model.predict_proba(X)
    )


def test_float_model_refuses_0_255_floats(digits_u8, float_model):
    u8, _ = digits_u8
    with pytest.raises(ValueError, match=r"\[0, 255\].*\[0, 1\].*divide by 255"):
        float_model.predict_proba(u8.astype(np.float32))


def test_uint8_model_refuses_unit_floats(digits_u8):
    u8, y = digits_u8
    clf = CNNClassifier(max_epochs=1, random_state=0).fit(u8, y)
    assert clf.input_range_ == (0.0, 255.0)
    assert clf.predict_proba(u8).shape == (len(u8), 10)
    # 0-255 floats are on the model's scale: same predictions as uint8.
    np.testing.assert_array_equal(
        clf.predict_proba(u8.astype(np.float64)), clf.predict_proba(u8)
    )
    with pytest.raises(ValueError, match=r"look like \[0, 1\] images.*multiply"):
        clf.predict_proba(u8 / 255)


def test_standardized_model_refuses_uint8(digits_u8):
    u8, y = digits_u8
    X = u8.astype(np.float32)
    X = (X - X.mean()) / X.std()
    clf = CNNClassifier(max_epochs=1, random_state=0).fit(X, y)
    assert clf.input_range_ is None
    assert clf.predict_proba(X * 3).shape == (len(X), 10)  # unknown range: as is
    with pytest.raises(ValueError, match=r"uint8 images.*scale is not known"):
        clf.predict_proba(u8)


def test_image_reader_uint8_on_a_float_model(tmp_path, digits_u8, float_model):
    # The Python part of cases/2026-11-30/uint8_range.py: ImageReader's
    # default uint8 output gives the predictions of the [0, 1] floats.
    cv2 = pytest.importorskip("cv2")
    from sklearn_xai.preprocessing import ImageReader

    u8, _ = digits_u8
    files = []
    for i in range(0, 60, 6):
        files.append(str(tmp_path / f"{i:03d}.png"))
        assert cv2.imwrite(files[-1], u8[i])
    read = ImageReader(color="gray").fit_transform(files)
    assert read.dtype == np.uint8
    np.testing.assert_array_equal(read, u8[:60:6])
    as_float = ImageReader(color="gray", dtype="float32").fit_transform(files)
    expected = float_model.predict_proba(u8[:60:6].astype(np.float32) / 255)
    np.testing.assert_array_equal(float_model.predict_proba(read), expected)
    np.testing.assert_array_equal(float_model.predict_proba(as_float), expected)


# -- TorchClassifier --------------------------------------------------------------


def _linear_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 3, 3))


@pytest.mark.parametrize(
    "input_range, to_scale",
    [
        ((0.0, 1.0), lambda u8: u8.astype(np.float32) / 255),
        ((0.0, 255.0), lambda u8: u8.astype(np.float32)),
        ((-1.0, 1.0), lambda u8: u8.astype(np.float32) / 127.5 - 1),
    ],
    ids=["unit", "0-255", "symmetric"],
)
def test_torch_classifier_maps_uint8_onto_its_range(input_range, to_scale):
    u8 = np.random.default_rng(0).integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    net = _linear_net()
    clf = TorchClassifier(net, classes=[0, 1, 2], input_range=input_range).fit(u8)
    scaled = to_scale(u8)
    with torch.no_grad():
        logits = net(torch.from_numpy(scaled).permute(0, 3, 1, 2)).double()
    expected = torch.softmax(logits, 1).numpy()
    np.testing.assert_allclose(clf.predict_proba(u8), expected, rtol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(scaled), expected, rtol=1e-5)


@pytest.mark.parametrize(
    "input_range, images, match",
    [
        ((0.0, 1.0), np.full((1, 4, 4, 3), 200.0), "divide by 255"),
        ((-1.0, 1.0), np.full((1, 4, 4, 3), 200.0), r"in \[-1, 1\]"),
        ((0.0, 255.0), np.full((1, 4, 4, 3), 0.5), "look like \\[0, 1\\] images"),
    ],
    ids=["unit-given-255", "symmetric-given-255", "255-given-unit"],
)
def test_torch_classifier_refuses_the_wrong_scale(input_range, images, match):
    u8 = np.zeros((2, 4, 4, 3), np.uint8)
    clf = TorchClassifier(_linear_net(), classes=[0, 1, 2], input_range=input_range)
    clf.fit(u8)
    with pytest.raises(ValueError, match=match):
        clf.predict_proba(images)
    with pytest.raises(ValueError, match=match):  # fit checks its images too
        clf.fit(images)


# -- explainers and metrics on uint8 images of a [0, 1] model ----------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda m: SaliencyExplainer(m),
        lambda m: IntegratedGradientsExplainer(m, n_steps=8),
        lambda m: GradCAMExplainer(m),
        lambda m: SmoothGradExplainer(SaliencyExplainer(m), n_samples=4),
        lambda m: OcclusionExplainer(m, window=2, stride=2),
        lambda m: OcclusionExplainer(m, window=2, stride=2, baseline="mean"),
        lambda m: LimeExplainer(m, segmentation="grid", n_samples=40),
        lambda m: LimeExplainer(m, segmentation="grid", hide_color=0.5, n_samples=40),
        lambda m: KernelShapExplainer(m, segmentation="grid", n_samples=40),
        lambda m: RISEExplainer(m, n_masks=50),
    ],
    ids=[
        "saliency",
        "integrated-gradients",
        "gradcam",
        "smoothgrad",
        "occlusion",
        "occlusion-mean-baseline",
        "lime-mean-fill",
        "lime-gray-fill",
        "kernel-shap",
        "rise",
    ],
)
def test_explainers_give_the_same_maps_on_uint8(digits_u8, float_model, make):
    # An explainer fitted on [0, 1] images divides uint8 images by 255 first,
    # so fills, masks and baselines are those of the float images. Gradients
    # are then with respect to the [0, 1] pixels: no 1/255 chain-rule factor.
    u8, _ = digits_u8
    X = u8.astype(np.float32) / 255
    explainer = make(FrozenEstimator(float_model))
    if "random_state" in explainer.get_params():
        explainer.set_params(random_state=0)
    explainer.fit(X)
    assert explainer.explain(X[:3]).any()
    np.testing.assert_array_equal(explainer.explain(u8[:3]), explainer.explain(X[:3]))


def test_explainer_of_any_classifier_holds_images_to_its_range(digits_u8):
    # A scikit-learn model has no range of its own: the explainer's fit images
    # give it, so uint8 images are not fed as 0-255 to a [0, 1] model.
    u8, y = digits_u8
    X = u8.astype(np.float32) / 255
    flat = X.reshape(len(X), -1)
    clf = LogisticRegression(max_iter=200).fit(flat, y)
    occlusion = OcclusionExplainer(FrozenEstimator(clf), window=2, stride=2)
    occlusion.set_params(image_shape=(8, 8)).fit(flat)
    u8_flat = u8.reshape(len(u8), -1)
    np.testing.assert_array_equal(
        occlusion.explain(u8_flat[:3]), occlusion.explain(flat[:3])
    )
    with pytest.raises(ValueError, match="divide by 255"):
        occlusion.explain(u8_flat[:3].astype(np.float64))
    clf8 = LogisticRegression(max_iter=200).fit(u8_flat, y)
    occlusion8 = OcclusionExplainer(FrozenEstimator(clf8), window=2, stride=2)
    occlusion8.set_params(image_shape=(8, 8)).fit(u8_flat)
    with pytest.raises(ValueError, match="look like \\[0, 1\\] images"):
        occlusion8.explain(flat[:3])


def test_deletion_auc_is_the_same_on_uint8(digits_u8, float_model):
    u8, _ = digits_u8
    X = u8.astype(np.float32) / 255
    maps = np.random.default_rng(0).random((4, 8, 8))
    assert deletion_auc(float_model, u8[:4], maps) == pytest.approx(
        deletion_auc(float_model, X[:4], maps), rel=1e-6
    )
