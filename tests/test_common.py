"""scikit-learn's common estimator checks over every public estimator.

Checks that cannot apply to an estimator are listed by the estimator itself in
a ``_xfail_checks()`` method, one written reason each.
"""

import warnings

import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
    parametrize_with_checks,
)

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
from sklearn_xai.feature_selection import SelectFromAttributions
from sklearn_xai.neural_network import CNNClassifier, TorchClassifier
from sklearn_xai.preprocessing import (
    ColorConverter,
    HistogramEqualizer,
    ImageDenoiser,
    ImageFlattener,
    ImageNormalizer,
    ImageReader,
    ImageResizer,
    SuperpixelSegmenter,
)
from sklearn_xai.surrogate import SurrogateClassifier, SurrogateTreeClassifier


def _torch_classifier():
    """A trained network of any input width: the checks' rows are one-row
    images of any length (pooled to 4 columns), their values any floats."""
    torch.manual_seed(0)
    network = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d((1, 4)),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 4),
    )
    return TorchClassifier(network, classes=[0, 1, 2, 3], input_range=(-1000.0, 1000.0))


ESTIMATORS = [
    ColorConverter(),
    ColorConverter(to="hsv"),
    HistogramEqualizer(),
    ImageDenoiser(),
    ImageDenoiser(method="median"),
    ImageFlattener(),
    ImageNormalizer(),
    ImageResizer(),
    SuperpixelSegmenter(method="slic", random_state=0),
    SuperpixelSegmenter(method="grid", n_segments=4),
    # Enough epochs and learning rate for the checks' accuracy thresholds.
    CNNClassifier(max_epochs=5, lr=0.01, random_state=0),
    _torch_classifier(),
    # Explainers fit a clone of their model on the checks' data (tabular rows
    # read as one-row images) and explain it.
    LimeExplainer(
        LogisticRegression(), segmentation="grid", n_samples=50, random_state=0
    ),
    OcclusionExplainer(LogisticRegression(), window=1, stride=1),
    RISEExplainer(LogisticRegression(), n_masks=50, mask_size=2, random_state=0),
    SaliencyExplainer(CNNClassifier(max_epochs=1, random_state=0)),
    IntegratedGradientsExplainer(
        CNNClassifier(max_epochs=1, random_state=0), n_steps=8
    ),
    GradCAMExplainer(CNNClassifier(max_epochs=1, random_state=0)),
    GradCAMPlusPlusExplainer(CNNClassifier(max_epochs=1, random_state=0)),
    ScoreCAMExplainer(CNNClassifier(max_epochs=1, random_state=0)),
    CaptumExplainer(
        CNNClassifier(max_epochs=1, random_state=0), method="InputXGradient"
    ),
    SmoothGradExplainer(
        SaliencyExplainer(CNNClassifier(max_epochs=1, random_state=0)),
        n_samples=4,
        random_state=0,
    ),
    KernelShapExplainer(
        LogisticRegression(), segmentation="grid", n_samples=50, random_state=0
    ),
    # A trained network is explained as it is (fitted without training).
    SaliencyExplainer(_torch_classifier()),
    LimeExplainer(
        _torch_classifier(), segmentation="grid", n_samples=50, random_state=0
    ),
    # Surrogates mimic a clone of their model, fitted on the checks' data.
    SurrogateTreeClassifier(LogisticRegression(), grid_size=1, random_state=0),
    SurrogateClassifier(
        LogisticRegression(), features="superpixels", grid_size=1, random_state=0
    ),
    SelectFromAttributions(
        OcclusionExplainer(LogisticRegression(), window=1, stride=1), max_features=1
    ),
]


def _expected_failed_checks(estimator):
    failed = getattr(estimator, "_xfail_checks", dict)()
    inner = getattr(estimator, "estimator", None)
    if isinstance(inner, TorchClassifier):
        # The explainer's parameter estimator__module is a torch module too.
        check = "check_estimators_overwrite_params"
        failed[check] = inner._xfail_checks()[check]
    return failed


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        check(estimator)


@pytest.mark.parametrize(
    "check",
    [
        check_estimator_cloneable,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_get_params_invariance,
        check_set_params,
    ],
    ids=lambda c: c.__name__,
)
def test_image_reader_api_checks(check):
    # ImageReader takes file paths: the numeric-data checks cannot apply, the
    # data-free API checks must pass.
    check("ImageReader", ImageReader())


def test_every_estimator_declares_reasons():
    for estimator in ESTIMATORS:
        for check, reason in _expected_failed_checks(estimator).items():
            assert check.startswith("check_")
            assert len(reason) > 20, (type(estimator).__name__, check)
