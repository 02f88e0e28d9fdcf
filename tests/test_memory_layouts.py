"""Any memory layout of an image batch works and gives the C-ordered answer.

Issue 12, section 4: a one-image batch sliced from a reversed array
(``X[::-1][:1]``: ``np.ascontiguousarray`` keeps its negative stride, which
torch refuses), non-contiguous slices, Fortran-ordered and read-only arrays go
through the classifiers, every gradient explainer, LIME and the metrics with
the results of ``np.ascontiguousarray(X)``.
"""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from torch import nn

from sklearn_xai.attribution import (
    CaptumExplainer,
    GradCAMExplainer,
    GradCAMPlusPlusExplainer,
    IntegratedGradientsExplainer,
    KernelShapExplainer,
    LimeExplainer,
    OcclusionExplainer,
    RISEExplainer,
    SaliencyExplainer,
    ScoreCAMExplainer,
    SmoothGradExplainer,
)
from sklearn_xai.metrics import deletion_auc, faithfulness_correlation, max_sensitivity
from sklearn_xai.neural_network import CNNClassifier, TorchClassifier


def _reversed(a):
    """Same values, negative stride on the batch axis (even for one image)."""
    return a[::-1].copy()[::-1]


def _flipped_rows(a):
    return a[:, ::-1].copy()[:, ::-1]


def _strided(a):
    """Every other pixel of an image twice the size."""
    big = np.repeat(np.repeat(a, 2, axis=1), 2, axis=2)
    return big[:, ::2, ::2]


def _channel_slice(a):
    return np.stack([a, -a], axis=-1)[..., 0]


def _transposed(a):
    axes = (0, 2, 1, *range(3, a.ndim))
    return np.ascontiguousarray(a.transpose(axes)).transpose(axes)


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _read_only_reversed(a):
    a = _reversed(a)
    a.flags.writeable = False
    return a


LAYOUTS = {
    "reversed": _reversed,
    "flipped-rows": _flipped_rows,
    "strided": _strided,
    "channel-slice": _channel_slice,
    "transposed": _transposed,
    "fortran": np.asfortranarray,
    "read-only": _read_only,
    "read-only-reversed": _read_only_reversed,
}


@pytest.fixture(scope="module")
def gray():
    d = load_digits()
    return (d.images[:120] / 16).astype(np.float32), d.target[:120]


@pytest.fixture(scope="module")
def cnn(gray):
    X, y = gray
    return CNNClassifier(max_epochs=1, lr=0.01, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def torch_clf():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    X = np.random.default_rng(0).random((6, 8, 8, 3), dtype=np.float32)
    return TorchClassifier(
        net, classes=["a", "b", "c"], mean=[0.5] * 3, std=[0.2] * 3
    ).fit(X)


def test_the_layouts_are_what_they_say(gray):
    X, _ = gray
    one = X[:1]
    assert _reversed(one).strides[0] < 0
    assert not _strided(X).flags.c_contiguous
    assert np.asfortranarray(X).flags.f_contiguous
    assert not _read_only(X).flags.writeable
    for name, make in LAYOUTS.items():
        np.testing.assert_array_equal(make(X[:3]), X[:3], err_msg=name)


# -- the failing case of cases/2026-11-30/negative_strides_one_image.py ----------


def test_one_image_of_a_reversed_batch(gray, cnn):
    X, _ = gray
    one = X[::-1][:1]
    expected = cnn.predict_proba(X[-1:])
    np.testing.assert_array_equal(cnn.predict_proba(one), expected)
    saliency = SaliencyExplainer(FrozenEstimator(cnn)).fit(X)
    np.testing.assert_array_equal(saliency.explain(one), saliency.explain(X[-1:]))


# -- classifiers ------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("n", [1, 3])
def test_cnn_predict_proba(gray, cnn, layout, n):
    X, _ = gray
    view = LAYOUTS[layout](X[:n])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even torch's "not writable" warning
        proba = cnn.predict_proba(view)
    np.testing.assert_array_equal(proba, cnn.predict_proba(np.ascontiguousarray(view)))
    # Flattened and (n, H, W, 1) layouts of the same view.
    flat = LAYOUTS[layout](X[:n].reshape(n, -1)[:, :, None])[..., 0]
    np.testing.assert_array_equal(cnn.predict_proba(flat), proba)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("n", [1, 3])
def test_torch_classifier(torch_clf, layout, n):
    X = np.random.default_rng(1).random((n, 8, 8, 3), dtype=np.float32)
    view = LAYOUTS[layout](X)
    expected = torch_clf.predict_proba(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(torch_clf.predict_proba(view), expected)
    saliency = SaliencyExplainer(torch_clf).fit(X)
    np.testing.assert_array_equal(saliency.explain(view), saliency.explain(X))
    u8 = LAYOUTS[layout]((X * 255).astype(np.uint8))
    np.testing.assert_array_equal(
        torch_clf.predict_proba(u8),
        torch_clf.predict_proba(np.ascontiguousarray(u8)),
    )


# -- explainers --------------------------------------------------------------------

GRADIENT_EXPLAINERS = {
    "saliency": lambda m: SaliencyExplainer(m),
    "integrated-gradients": lambda m: IntegratedGradientsExplainer(m, n_steps=4),
    "gradcam": lambda m: GradCAMExplainer(m),
    "gradcam++": lambda m: GradCAMPlusPlusExplainer(m),
    "scorecam": lambda m: ScoreCAMExplainer(m),
    "captum": lambda m: CaptumExplainer(m, method="InputXGradient"),
    "smoothgrad": lambda m: SmoothGradExplainer(
        SaliencyExplainer(m), n_samples=3, random_state=0
    ),
}

PERTURBATION_EXPLAINERS = {
    "lime": lambda m: LimeExplainer(
        m, segmentation="grid", n_samples=30, random_state=0
    ),
    "kernel-shap": lambda m: KernelShapExplainer(
        m, segmentation="grid", n_samples=30, random_state=0
    ),
    "occlusion": lambda m: OcclusionExplainer(m, window=2, stride=2),
    "rise": lambda m: RISEExplainer(m, n_masks=20, mask_size=2, random_state=0),
}

EXPLAINERS = {**GRADIENT_EXPLAINERS, **PERTURBATION_EXPLAINERS}


@pytest.fixture(scope="module")
def fitted_explainers(gray, cnn):
    X, _ = gray
    return {
        name: make(FrozenEstimator(cnn)).fit(X[:20])
        for name, make in EXPLAINERS.items()
    }


@pytest.mark.parametrize("explainer", list(EXPLAINERS))
@pytest.mark.parametrize(
    "layout", ["reversed", "strided", "fortran", "read-only-reversed"]
)
@pytest.mark.parametrize("n", [1, 2])
def test_explainers(gray, fitted_explainers, explainer, layout, n):
    X, _ = gray
    view = LAYOUTS[layout](X[5 : 5 + n])
    explainer = fitted_explainers[explainer]
    expected = explainer.explain(np.ascontiguousarray(view))  # predicted class
    np.testing.assert_array_equal(explainer.explain(view), expected)
    targets = np.array([3, 7])[:n]
    np.testing.assert_array_equal(
        explainer.explain(view, targets),
        explainer.explain(np.ascontiguousarray(view), targets),
    )


def test_explainers_fit_on_any_layout(gray, cnn):
    X, _ = gray
    for name, make in EXPLAINERS.items():
        reference = make(FrozenEstimator(cnn)).fit(X[:20]).explain(X[:2])
        for layout in ("reversed", "fortran", "read-only"):
            explainer = make(FrozenEstimator(cnn)).fit(LAYOUTS[layout](X[:20]))
            np.testing.assert_array_equal(
                explainer.explain(X[:2]), reference, err_msg=f"{name} {layout}"
            )


# -- metrics ------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("n", [1, 3])
def test_metrics(gray, cnn, fitted_explainers, layout, n):
    X, _ = gray
    images = X[10 : 10 + n]
    maps = np.random.default_rng(0).random((n, 8, 8)).astype(np.float32)
    view, maps_view = LAYOUTS[layout](images), LAYOUTS[layout](maps)
    for metric in (
        lambda x, a: deletion_auc(cnn, x, a),
        lambda x, a: deletion_auc(cnn, x, a, targets=[1, 2, 3][:n]),
        lambda x, a: faithfulness_correlation(cnn, x, a, n_runs=5, random_state=0),
    ):
        np.testing.assert_array_equal(metric(view, maps_view), metric(images, maps))
    saliency = fitted_explainers["saliency"]
    np.testing.assert_array_equal(
        max_sensitivity(saliency, view, n_samples=2, random_state=0),
        max_sensitivity(saliency, images, n_samples=2, random_state=0),
    )


# -- property test over compositions of layouts -------------------------------------


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    layouts=st.lists(st.sampled_from(sorted(LAYOUTS)), min_size=1, max_size=3),
    n=st.integers(1, 3),
    start=st.integers(0, 50),
)
def test_any_composition_of_layouts(gray, cnn, fitted_explainers, layouts, n, start):
    X, _ = gray
    images = X[start : start + n]
    view = images
    for layout in layouts:
        view = LAYOUTS[layout](view)
    np.testing.assert_array_equal(view, images)
    np.testing.assert_array_equal(cnn.predict_proba(view), cnn.predict_proba(images))
    for name in ("saliency", "gradcam", "lime"):
        explainer = fitted_explainers[name]
        np.testing.assert_array_equal(
            explainer.explain(view), explainer.explain(images), err_msg=name
        )
