"""GradCAMExplainer: agreement with captum's LayerGradCam, layers, variants."""

import numpy as np
import pytest
import torch
from captum.attr import LayerAttribution, LayerGradCam
from sklearn.frozen import FrozenEstimator

from sklearn_xai.attribution import GradCAMExplainer
from sklearn_xai.attribution._gradcam import conv_layer_names
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier, TorchClassifier


@pytest.fixture(scope="module")
def data():
    X, y = load_digit_images(size=16, as_rgb=True, return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def cnn(data):
    return CNNClassifier(
        max_epochs=2, lr=0.01, module__n_filters=8, random_state=0
    ).fit(*data)


def captum_gradcam(cnn, X, targets, layer, relu):
    """LayerGradCam straight from captum, upsampled bilinearly to the input."""
    module = cnn.module_.eval()
    inputs = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))
    cam = LayerGradCam(module, module.get_submodule(layer)).attribute(
        inputs, target=torch.as_tensor(targets), relu_attributions=relu
    )
    cam = LayerAttribution.interpolate(cam, inputs.shape[2:], "bilinear")
    return cam[:, 0].detach().numpy()


@pytest.mark.parametrize("relu", [True, False], ids=["relu", "signed"])
@pytest.mark.parametrize(
    "layer", [None, "features.block0.conv", "features.block1.relu"]
)
def test_equals_captum(layer, relu, data, cnn):
    X, y = data
    explainer = GradCAMExplainer(FrozenEstimator(cnn), layer=layer, relu=relu)
    ours = explainer.fit(X).explain(X[:12], y[:12])
    expected = captum_gradcam(cnn, X[:12], y[:12], explainer.layer_, relu)
    assert ours.shape == (12, 16, 16)
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-8)
    assert np.abs(expected).max() > 1e-4
    if relu:
        assert ours.min() >= 0
    else:
        assert ours.min() < 0


def test_default_layer_is_the_last_blocks_rectified_output(data, cnn):
    # The papers weight rectified feature maps: the default is the last
    # block's ReLU (its pooling output would halve the resolution), not the
    # raw last convolution before batch normalization.
    X, _ = data
    explainer = GradCAMExplainer(FrozenEstimator(cnn)).fit(X)
    assert conv_layer_names(cnn.module_) == [
        "features.block0.conv",
        "features.block1.conv",
    ]
    assert explainer.layer_ == "features.block1.relu"
    module = cnn.module_.eval()
    inputs = torch.from_numpy(np.ascontiguousarray(X[:20].transpose(0, 3, 1, 2)))
    with torch.no_grad():
        block1 = module.features.block1
        maps = block1.relu(block1.norm(block1.conv(module.features.block0(inputs))))
    assert maps.min() >= 0 and maps.shape[-1] > 1


def test_unknown_layer(data, cnn):
    explainer = GradCAMExplainer(FrozenEstimator(cnn), layer="features.block7")
    with pytest.raises(
        ValueError,
        match=r"'features.block7' is not a layer of SmallCNN; its layers are "
        r"\['features', 'features.block0'",
    ):
        explainer.fit(data[0])


def test_layer_without_feature_maps(data, cnn):
    X, _ = data
    explainer = GradCAMExplainer(FrozenEstimator(cnn), layer="classifier.2")
    with pytest.raises(ValueError, match=r"need \(n, K, h, w\) feature maps"):
        explainer.fit(X)


def test_reused_layer_is_refused(data):
    # A module called twice in forward (as torchvision's ResNet blocks reuse
    # one in-place ReLU) has no single output.
    X, _ = data

    class Reused(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.conv2 = torch.nn.Conv2d(4, 4, 3, padding=1)
            self.relu = torch.nn.ReLU()
            self.head = torch.nn.Sequential(
                torch.nn.AdaptiveAvgPool2d(1),
                torch.nn.Flatten(),
                torch.nn.Linear(4, 10),
            )

        def forward(self, x):
            return self.head(self.relu(self.conv2(self.relu(self.conv1(x)))))

    clf = TorchClassifier(Reused(), classes=np.arange(10)).fit(X[:4])
    with pytest.raises(ValueError, match="'relu' is called 2 times"):
        GradCAMExplainer(clf, layer="relu").fit(X[:4])
    # The default skips it and takes the last map with one output.
    assert GradCAMExplainer(clf).fit(X[:4]).layer_ == "conv2"


def test_variants_override_the_weighting(data, cnn):
    # A variant changes only _channel_weights: uniform weights give the
    # (rectified) sum of the feature maps.
    class UniformCAM(GradCAMExplainer):
        def _channel_weights(self, activations, gradients):
            return torch.ones_like(activations[:, :, :1, :1])

    X, y = data
    ours = UniformCAM(FrozenEstimator(cnn), layer="features.block1.conv")
    ours = ours.fit(X).explain(X[:3], y[:3])
    module = cnn.module_.eval()
    inputs = torch.from_numpy(np.ascontiguousarray(X[:3].transpose(0, 3, 1, 2)))
    with torch.no_grad():
        maps = module.features.block1.conv(module.features.block0(inputs))
    expected = torch.relu(maps.sum(1, keepdim=True))
    expected = LayerAttribution.interpolate(expected, (16, 16), "bilinear")[:, 0]
    np.testing.assert_allclose(ours, expected.numpy(), rtol=1e-5, atol=1e-6)
