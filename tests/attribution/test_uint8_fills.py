"""uint8 images, a model that maps them onto [0, 1], fills no uint8 holds.

LIME's mean colour or blur, Kernel SHAP's, RISE's soft masks and occlusion's
fractional fills turn a uint8 image into float perturbations with 0-255
values. A TorchClassifier with ``input_range=(0, 1)`` takes uint8 images by
dividing by 255; it refused those floats ("divide by 255"), although the user
passed uint8 as asked. The reference here is the same network behind a
division by 255, declared ``input_range=(0, 255)``: it takes the 0-255
floats as they are, so both models see the same inputs and every explainer
must give the same maps.
"""

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_xai.attribution import (
    KernelShapExplainer,
    LimeExplainer,
    OcclusionExplainer,
    RISEExplainer,
)
from sklearn_xai.datasets import load_sample_photos
from sklearn_xai.neural_network import TorchClassifier


class _Divide(nn.Module):
    def forward(self, x):
        return x / 255.0


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16 * 16 * 3, 3)).eval()
    unit = TorchClassifier(net, classes=[0, 1, 2])
    wide = TorchClassifier(
        nn.Sequential(_Divide(), net).eval(), classes=[0, 1, 2], input_range=(0, 255)
    )
    images = np.stack(load_sample_photos(size=16).images)[:2]
    assert images.dtype == np.uint8
    return unit, wide, images


@pytest.mark.parametrize(
    "explainer, params",
    [
        (LimeExplainer, {"hide_color": None, "n_samples": 60}),
        (LimeExplainer, {"hide_color": "blur", "n_samples": 60}),
        (KernelShapExplainer, {"hide_color": None, "n_samples": 60}),
        (KernelShapExplainer, {"hide_color": "blur", "n_samples": 60}),
        (RISEExplainer, {"n_masks": 40}),
        (OcclusionExplainer, {"baseline": "mean"}),
        (OcclusionExplainer, {"baseline": 127.6}),
    ],
)
def test_float_perturbations_of_uint8_images(models, explainer, params):
    unit, wide, images = models
    maps = explainer(unit, random_state=0, **params).fit(images).explain(images)
    expected = explainer(wide, random_state=0, **params).fit(images).explain(images)
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "explainer, params",
    [
        (LimeExplainer, {"hide_color": None, "n_samples": 20}),
        (KernelShapExplainer, {"hide_color": "blur", "n_samples": 20}),
        (RISEExplainer, {"n_masks": 10}),
        (OcclusionExplainer, {"baseline": "mean"}),
    ],
)
def test_through_a_pipeline_the_error_says_where_the_floats_came_from(
    models, explainer, params
):
    # A pipeline's preprocessing is unknown: the float perturbations cannot
    # be converted, and the model's "pass them as uint8" would mislead a user
    # who did; the error says the explainer built them and what to do.
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    unit, _, images = models
    pipe = FrozenEstimator(make_pipeline(FunctionTransformer(), unit).fit(images))
    fitted = explainer(pipe, random_state=0, **params).fit(images)
    with pytest.raises(ValueError, match="built by the explainer from the uint8"):
        fitted.explain(images[:1])
