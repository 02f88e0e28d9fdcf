"""The models users already have, explained as they are (issue 11's evidence).

Each network is trained for a few steps with a plain torch loop (or Keras's
own ``fit``) outside the library, then explained through
:class:`~sklearn_xai.neural_network.TorchClassifier`: a torchvision-shaped
ResNet-18, a skorch net on channels-first batches, a small vision
transformer, a Keras 3 CNN, networks with non-tensor outputs; and
``CNNClassifier(module=instance)`` on a user's module.
"""

import copy
import os
import pickle
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
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
from sklearn_xai.datasets import load_digit_images, make_shape_images
from sklearn_xai.neural_network import CNNClassifier, TorchClassifier
from sklearn_xai.preprocessing import ImageResizer
from tests._networks import VisionTransformer, resnet18, train_network

pytestmark = pytest.mark.filterwarnings(
    # Raised inside Keras 3.15's torch backend on numpy 2, not by us.
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

#: ImageNet's per-channel statistics, on the [0, 1] scale.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Two spinning OpenMP threads on a shared two-core machine are many times
    # slower than one; restored for the other modules.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _normalized_nchw(images):
    return (
        ((images - np.array(MEAN)) / np.array(STD))
        .astype(np.float32)
        .transpose(0, 3, 1, 2)
    )


class _Normalize(nn.Module):
    """The reference forward: ImageNet normalization, then the network."""

    def __init__(self, network):
        super().__init__()
        self.network = network
        self.register_buffer("mean", torch.tensor(MEAN).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).reshape(1, 3, 1, 1))

    def forward(self, x):
        return self.network((x - self.mean) / self.std)


def _nchw(images):
    # The channels-last view the classifiers hand over: a contiguous copy
    # picks other convolution kernels, whose rounding moves max-pool ties and
    # ReLU kinks (Integrated Gradients then differs by ~1e-3 of its maximum).
    return torch.from_numpy(images).permute(0, 3, 1, 2)


def _hooks(net):
    """Every hook dict of every module that is not empty."""
    return [
        (name, attr)
        for name, module in net.named_modules()
        for attr, value in vars(module).items()
        if attr.endswith("hooks") and isinstance(value, dict) and value
    ]


def _storages(module):
    return {t.untyped_storage().data_ptr() for t in module.state_dict().values()}


# -- a ResNet-18-shaped network ---------------------------------------------


@pytest.fixture(scope="module")
def shapes():
    data = make_shape_images(200, image_size=64, random_state=0)
    return data.images.astype(np.float32), data.target


@pytest.fixture(scope="module")
def resnet(shapes):
    X, y = shapes
    torch.manual_seed(0)
    net = resnet18(num_classes=4, width=8)
    return train_network(net, _normalized_nchw(X), y, steps=40, lr=0.003)


def _resnet_classifier(net):
    return TorchClassifier(net, classes=["a", "b", "c", "d"], mean=MEAN, std=STD)


def _all_methods(model):
    return {
        "lime": LimeExplainer(model, n_samples=40, random_state=0),
        "kernel_shap": KernelShapExplainer(model, n_samples=40, random_state=0),
        "occlusion": OcclusionExplainer(model, window=16, stride=16),
        "rise": RISEExplainer(model, n_masks=40, random_state=0),
        "saliency": SaliencyExplainer(model),
        "integrated_gradients": IntegratedGradientsExplainer(model, n_steps=8),
        "smoothgrad": SmoothGradExplainer(
            SaliencyExplainer(model), n_samples=3, random_state=0
        ),
        "gradcam": GradCAMExplainer(model),
        "gradcam_plus_plus": GradCAMPlusPlusExplainer(model),
        "score_cam": ScoreCAMExplainer(model),
        "captum": CaptumExplainer(model, method="InputXGradient"),
    }


def test_resnet_predict_proba_is_softmax_of_normalized_input(resnet, shapes):
    X, y = shapes
    clf = _resnet_classifier(resnet).fit(X)
    reference = _Normalize(copy.deepcopy(resnet)).eval()
    with torch.no_grad():
        expected = torch.softmax(reference(_nchw(X[:16])).double(), dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(X[:16]), expected, atol=1e-5)
    # The network was trained: the wrapper reads it the way it was trained.
    assert np.mean(clf.predict(X) == clf.classes_[y]) > 0.8


@pytest.mark.parametrize("frozen", [False, True], ids=["bare", "frozen"])
def test_resnet_every_method_explains(resnet, shapes, frozen):
    X, _ = shapes
    net = resnet
    net.train()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    for parameter in net.parameters():
        parameter.grad = None
    clf = _resnet_classifier(net)
    model = FrozenEstimator(clf.fit(X[:20])) if frozen else clf
    for name, explainer in _all_methods(model).items():
        maps = explainer.fit(X[:20]).explain(X[:2])
        assert maps.shape == (2, 64, 64), name
        assert np.all(np.isfinite(maps)), name
        if name == "gradcam":
            assert explainer.layer_ == "layer4"
    # The user's network is as it was: weights, buffers, gradients, hooks,
    # and the train flag of every module.
    after = net.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)
    assert all(p.grad is None for p in net.parameters())
    assert _hooks(net) == []
    assert all(module.training for module in net.modules())


def test_resnet_integrated_gradients_equals_captum(resnet, shapes):
    from captum.attr import IntegratedGradients

    X, _ = shapes
    clf = _resnet_classifier(resnet)
    targets = np.array(["a", "c", "d"])
    maps = (
        IntegratedGradientsExplainer(clf, n_steps=16)
        .fit(X[:10])
        .explain(X[:3], targets)
    )
    reference = _Normalize(copy.deepcopy(resnet)).eval()
    expected = IntegratedGradients(reference).attribute(
        _nchw(X[:3]),
        baselines=0.0,
        target=torch.tensor([0, 2, 3]),
        n_steps=16,
        method="gausslegendre",
    )
    expected = expected.sum(dim=1).detach().numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(maps, expected, atol=1e-5 * scale, rtol=0)


def test_resnet_gradcam_equals_captum_layer_gradcam(resnet, shapes):
    from captum.attr import LayerAttribution, LayerGradCam

    X, _ = shapes
    explainer = GradCAMExplainer(_resnet_classifier(resnet), layer="layer4")
    maps = explainer.fit(X[:10]).explain(X[:3], np.array(["b", "b", "a"]))
    reference = _Normalize(copy.deepcopy(resnet)).eval()
    cam = LayerGradCam(reference, reference.network.layer4).attribute(
        _nchw(X[:3]), target=torch.tensor([1, 1, 0]), relu_attributions=True
    )
    expected = LayerAttribution.interpolate(cam, (64, 64), interpolate_mode="bilinear")
    expected = expected[:, 0].detach().numpy()
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(maps, expected, atol=1e-5 * np.abs(expected).max())


def test_resnet_reused_relu_is_refused(resnet, shapes):
    X, _ = shapes
    explainer = GradCAMExplainer(_resnet_classifier(resnet), layer="layer1.0.relu")
    with pytest.raises(ValueError, match=r"'layer1.0.relu' is called 2 times"):
        explainer.fit(X[:4])


def test_resnet_clone_and_pickle_share_no_tensor_with_the_users_net(resnet, shapes):
    X, _ = shapes
    users = _storages(resnet)
    clf = _resnet_classifier(resnet).fit(X[:4])
    assert _storages(clf.module_).isdisjoint(users)
    assert _storages(clone(clf).module).isdisjoint(users)
    restored = pickle.loads(pickle.dumps(clf))
    assert _storages(restored.module).isdisjoint(users)
    assert _storages(restored.module_).isdisjoint(users)
    np.testing.assert_array_equal(
        restored.predict_proba(X[:4]), clf.predict_proba(X[:4])
    )


# -- a bare module and non-tensor outputs ------------------------------------


@pytest.mark.parametrize("explainer", [LimeExplainer, GradCAMExplainer])
def test_bare_module_gets_one_line_type_error(explainer):
    X = np.zeros((4, 16, 16, 3), dtype=np.float32)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(2))
    with pytest.raises(TypeError, match="TorchClassifier") as info:
        explainer(net).fit(X)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300


@dataclass
class _ClassifierOutput:
    """A Hugging Face style output: an object with a ``logits`` attribute."""

    logits: torch.Tensor
    hidden_states: torch.Tensor


class _Outputs(nn.Module):
    """The same small network returning its logits in another form."""

    def __init__(self, network, form):
        super().__init__()
        self.network = network
        self.form = form

    def forward(self, x):
        logits = self.network(x)
        other = 2 * logits + 1
        if self.form == "tuple":
            return logits, other
        if self.form == "dict":
            return {"hidden": other, "logits": logits}
        if self.form == "object":
            return _ClassifierOutput(logits=logits, hidden_states=other)
        return logits


@pytest.mark.parametrize("form", ["tuple", "dict", "object"])
def test_non_tensor_outputs_give_the_plain_probabilities(form):
    X = np.random.default_rng(0).random((6, 12, 12, 3), dtype=np.float32)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 3),
    )
    plain = TorchClassifier(_Outputs(net, "tensor"), classes=[0, 1, 2]).fit(X)
    wrapped = TorchClassifier(_Outputs(net, form), classes=[0, 1, 2]).fit(X)
    expected = plain.predict_proba(X)
    np.testing.assert_allclose(wrapped.predict_proba(X), expected, atol=1e-7)
    # output_key picks the other entry: softmax of 2 * logits + 1.
    key = {"tuple": 1, "dict": "hidden", "object": "hidden_states"}[form]
    other = TorchClassifier(_Outputs(net, form), classes=[0, 1, 2], output_key=key)
    logits = np.log(expected)
    sharpened = np.exp(2 * logits) / np.exp(2 * logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(other.fit(X).predict_proba(X), sharpened, atol=1e-6)
    maps = GradCAMExplainer(wrapped).fit(X).explain(X[:2])
    assert maps.shape == (2, 12, 12)


# -- a channels-first skorch net ---------------------------------------------


@pytest.fixture(scope="module")
def digits64():
    X, y = load_digit_images(size=64, as_rgb=True, return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def skorch_net(digits64):
    skorch = pytest.importorskip("skorch")
    X, y = digits64
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv2d(3, 8, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(128, 10),
    )
    net = skorch.NeuralNetClassifier(
        module,
        criterion=nn.CrossEntropyLoss,
        max_epochs=2,
        lr=0.5,
        train_split=None,
        batch_size=50,
        verbose=0,
    )
    return net.fit(np.ascontiguousarray(X.transpose(0, 3, 1, 2)), y)


def test_skorch_net_bare_gets_one_line_type_error(skorch_net, digits64):
    X, _ = digits64
    for model in (skorch_net, FrozenEstimator(skorch_net)):
        with pytest.raises(
            TypeError, match=r"TorchClassifier\(net, input_layout='NCHW'\)"
        ) as info:
            LimeExplainer(model, n_samples=10).fit(X[:4])
        assert "\n" not in str(info.value)


def test_skorch_net_channels_first_data_is_refused(skorch_net, digits64):
    X, _ = digits64
    Xc = np.ascontiguousarray(X[:4].transpose(0, 3, 1, 2))
    clf = TorchClassifier(skorch_net, input_layout="NCHW")
    with pytest.raises(ValueError, match="channels-first"):
        clf.fit(Xc)
    with pytest.raises(ValueError, match="channels-first"):
        LimeExplainer(clf, n_samples=10).fit(Xc)


def test_skorch_net_explained_through_torch_classifier(skorch_net, digits64):
    X, _ = digits64
    Xc = np.ascontiguousarray(X.transpose(0, 3, 1, 2))
    expected = skorch_net.predict_proba(Xc)  # skorch leaves its module in eval
    module = skorch_net.module_.train()
    state = {k: v.clone() for k, v in module.state_dict().items()}
    clf = TorchClassifier(skorch_net, input_layout="NCHW").fit(X)
    np.testing.assert_array_equal(clf.classes_, skorch_net.classes_)
    np.testing.assert_allclose(clf.predict_proba(X), expected, atol=1e-6)
    lime = LimeExplainer(clf, n_samples=30, random_state=0).fit(X[:10])
    assert lime.explain(X[:2]).shape == (2, 64, 64)
    gradcam = GradCAMExplainer(clf).fit(X[:10])
    assert gradcam.layer_ == "1"
    maps = gradcam.explain(X[:2])
    assert maps.shape == (2, 64, 64) and np.all(np.isfinite(maps))
    after = module.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)
    assert all(m.training for m in module.modules())
    assert _hooks(module) == []


def test_skorch_net_clone_is_fitted_and_shares_no_tensor(skorch_net, digits64):
    # clone() used to hand back the skorch net unfitted ("not initialized").
    X, _ = digits64
    clf = TorchClassifier(skorch_net, input_layout="NCHW")
    copied = clone(clf)
    assert _storages(copied.module.module_).isdisjoint(_storages(skorch_net.module_))
    np.testing.assert_array_equal(
        copied.fit(X[:8]).predict_proba(X[:8]), clf.fit(X[:8]).predict_proba(X[:8])
    )


def test_skorch_net_at_the_end_of_a_pipeline(skorch_net, digits64):
    X, _ = digits64
    small = X[:10, ::2, ::2]  # 32 x 32, resized to the network's 64 x 64
    pipe = Pipeline(
        [
            ("resize", ImageResizer(size=64)),
            ("net", TorchClassifier(skorch_net, input_layout="NCHW")),
        ]
    )
    for explainer in (
        LimeExplainer(pipe, n_samples=30, random_state=0),
        GradCAMExplainer(pipe),
        IntegratedGradientsExplainer(pipe, n_steps=4),
    ):
        maps = explainer.fit(small).explain(small[:2])
        assert maps.shape == (2, 32, 32) and np.all(np.isfinite(maps))


# -- a small vision transformer ----------------------------------------------


@pytest.fixture(scope="module")
def vit(shapes):
    X, y = shapes
    torch.manual_seed(0)
    net = VisionTransformer(img_size=32, patch_size=8, num_classes=4, depth=2)
    return train_network(net, _normalized_nchw(X[:, ::2, ::2]), y, steps=30, lr=0.003)


def _hand_gradcam(forward, layer, inputs, targets, as_maps):
    """Grad-CAM by hand: a hook on ``layer``, its output as maps ``(n, K, h,
    w)`` by ``as_maps``, mean-gradient weights, ReLU, bilinear upsampling (as
    captum's ``LayerAttribution.interpolate``)."""
    saved = {}
    handle = layer.register_forward_hook(lambda m, i, out: saved.update(out=out))
    try:
        logits = forward(inputs)
    finally:
        handle.remove()
    (gradients,) = torch.autograd.grad(
        logits[torch.arange(len(inputs)), torch.as_tensor(targets)].sum(),
        saved["out"],
    )
    weights = as_maps(gradients).mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * as_maps(saved["out"])).sum(dim=1, keepdim=True))
    cam = nn.functional.interpolate(cam, size=inputs.shape[2:], mode="bilinear")
    return cam[:, 0].detach().numpy()


def _token_grid(tokens):
    """ViT tokens ``(n, 1 + h * w, d)``: class token dropped, a square grid."""
    n, t, d = tokens.shape
    side = round((t - 1) ** 0.5)
    return tokens[:, 1:, :].reshape(n, side, side, d).permute(0, 3, 1, 2)


def test_vit_gradcam_on_a_block_equals_token_grid_gradcam(vit, shapes):
    X, _ = shapes
    X = X[:, ::2, ::2]
    clf = TorchClassifier(vit, classes=np.arange(4), mean=MEAN, std=STD)
    explainer = GradCAMExplainer(clf, layer="blocks.1.norm1").fit(X[:10])
    targets = [1, 3, 0]
    maps = explainer.explain(X[:3], np.array(targets))
    reference = _Normalize(copy.deepcopy(vit)).eval()
    expected = _hand_gradcam(
        reference,
        reference.network.blocks[1].norm1,
        _nchw(X[:3]),
        targets,
        _token_grid,
    )
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(maps, expected, atol=1e-5 * np.abs(expected).max())

    # A reshape callable is used instead of the token rule: reading the
    # grid transposed transposes the maps.
    custom = GradCAMExplainer(
        clf, layer="blocks.1.norm1", reshape=lambda t: _token_grid(t).transpose(2, 3)
    )
    np.testing.assert_allclose(
        custom.fit(X[:10]).explain(X[:3], np.array(targets)),
        maps.transpose(0, 2, 1),
        atol=1e-6,
    )


@pytest.mark.parametrize("explainer", [GradCAMPlusPlusExplainer, ScoreCAMExplainer])
def test_vit_other_cams_run(vit, shapes, explainer):
    X = shapes[0][:, ::2, ::2]
    clf = TorchClassifier(vit, classes=np.arange(4), mean=MEAN, std=STD)
    maps = explainer(clf, layer="blocks.1.norm1").fit(X[:10]).explain(X[:2])
    assert maps.shape == (2, 32, 32) and np.all(np.isfinite(maps))


def test_vit_has_no_default_layer(vit, shapes):
    X = shapes[0][:, ::2, ::2]
    clf = TorchClassifier(vit, classes=np.arange(4))
    with pytest.raises(ValueError, match="pass layer="):
        GradCAMExplainer(clf).fit(X[:4])


# -- a Keras 3 CNN on the torch backend ---------------------------------------


@pytest.fixture(scope="module")
def keras_cnn(shapes):
    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras was imported with another backend")
    X, y = shapes
    X = X[:, ::2, ::2]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(8, 3, name="conv"),
            keras.layers.ReLU(name="relu"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(4, activation="softmax", name="dense"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy"
    )
    model.fit(X, y, epochs=6, batch_size=32, verbose=0)
    return model


@pytest.mark.parametrize("output", ["probabilities", "auto"])
def test_keras_predict_proba_equals_keras_predict(keras_cnn, shapes, output):
    X, y = shapes
    X = X[:, ::2, ::2]
    clf = TorchClassifier(
        keras_cnn, classes=np.arange(4), input_layout="NHWC", output=output
    ).fit(X)
    assert clf.output_ == "probabilities"
    expected = keras_cnn.predict(X[:16], verbose=0)
    np.testing.assert_allclose(clf.predict_proba(X[:16]), expected, atol=1e-6)
    assert np.mean(clf.predict(X) == y) > 0.5


def test_keras_every_method_explains(keras_cnn, shapes):
    X = shapes[0][:20, ::2, ::2]
    weights = [w.copy() for w in keras_cnn.get_weights()]
    clf = TorchClassifier(
        keras_cnn, classes=np.arange(4), input_layout="NHWC", output="probabilities"
    )
    for name, explainer in _all_methods(clf).items():
        maps = explainer.fit(X).explain(X[:2])
        assert maps.shape == (2, 32, 32), name
        assert np.all(np.isfinite(maps)), name
        if name in ("gradcam", "gradcam_plus_plus", "score_cam"):
            assert explainer.layer_ == "relu", name
    after = keras_cnn.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(weights, after, strict=True))
    assert _hooks(keras_cnn) == []


def test_keras_gradcam_at_a_named_layer(keras_cnn, shapes):
    X = shapes[0][:10, ::2, ::2]
    clf = TorchClassifier(
        keras_cnn, classes=np.arange(4), input_layout="NHWC", output="probabilities"
    )
    maps = (
        GradCAMExplainer(clf, layer="conv").fit(X).explain(X[:3], np.array([0, 1, 2]))
    )
    # By hand on the Keras model: channels-last maps, log-probabilities.
    model = copy.deepcopy(keras_cnn)
    expected = _hand_gradcam(
        lambda x: torch.log(model(x.permute(0, 2, 3, 1))),
        model.get_layer("conv"),
        _nchw(X[:3]),
        [0, 1, 2],
        lambda maps: maps.permute(0, 3, 1, 2),
    )
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(maps, expected, atol=1e-5 * np.abs(expected).max())
    with pytest.raises(ValueError, match="'nope' is not a layer"):
        GradCAMExplainer(clf, layer="nope").fit(X)


# -- CNNClassifier on a user's module instance -------------------------------


def test_cnn_classifier_on_a_module_instance():
    # The right values of ../shared/cases/2026-11-30/trained_module.py.
    X, y = load_digit_images(size=32, return_X_y=True)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(128, 10),
    )
    state = {k: v.clone() for k, v in net.state_dict().items()}
    clf = CNNClassifier(module=net, max_epochs=1, random_state=0)
    p1 = clf.fit(X[:300], y[:300]).predict_proba(X[:3])
    assert clf.module_ is not net
    p2 = clf.fit(X[:300], y[:300]).predict_proba(X[:3])
    np.testing.assert_array_equal(p1, p2)
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    # max_epochs=0: the network as it is, untrained.
    untrained = CNNClassifier(module=net, max_epochs=0).fit(X[:50], y[:50])
    assert all(
        torch.equal(state[k], v) for k, v in untrained.module_.state_dict().items()
    )
    assert untrained.predict_proba(X[:3]).shape == (3, 10)
