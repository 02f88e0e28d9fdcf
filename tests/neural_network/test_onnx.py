"""OnnxClassifier: an exported network explained like the torch network it was."""

import pickle
import re
import sys

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)
from torch import nn

from sklearn_xai.attribution import (
    KernelShapExplainer,
    LimeExplainer,
    OcclusionExplainer,
    RISEExplainer,
    SaliencyExplainer,
)
from sklearn_xai.datasets import make_shape_images
from sklearn_xai.metrics import deletion_auc, sparseness
from sklearn_xai.neural_network import OnnxClassifier, TorchClassifier
from sklearn_xai.surrogate import SurrogateTreeClassifier

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")  # torch.onnx.export needs it

# torch's exporter calls a pytree API that torch itself deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec:FutureWarning")

CLASSES = ["square", "circle", "triangle"]
MEAN, STD = [0.5, 0.4, 0.3], [0.25, 0.2, 0.3]


def _cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, len(CLASSES)),
    )


class _ChannelsLast(nn.Module):
    """A network taking (n, H, W, C), as Keras and TensorFlow exports do."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.permute(0, 3, 1, 2))


def _export(module, example, path):
    torch.onnx.export(
        module.eval(),
        (example,),
        str(path),
        input_names=["x"],
        dynamic_shapes=({0: torch.export.Dim("n")},),
        verbose=False,
    )
    return str(path)


@pytest.fixture(scope="module")
def data():
    bunch = make_shape_images(48, image_size=16, n_classes=3, random_state=0)
    return bunch.images.astype(np.float32), bunch.target


@pytest.fixture(scope="module")
def net(data):
    X, y = data
    torch.manual_seed(0)
    module = _cnn()
    optimizer = torch.optim.Adam(module.parameters(), lr=0.01)
    inputs = torch.from_numpy(X).permute(0, 3, 1, 2)
    targets = torch.as_tensor(y)
    for _ in range(15):
        optimizer.zero_grad()
        nn.functional.cross_entropy(module(inputs), targets).backward()
        optimizer.step()
    return module.eval()


@pytest.fixture(scope="module")
def path(net, tmp_path_factory):
    return _export(
        net, torch.zeros(2, 3, 16, 16), tmp_path_factory.mktemp("onnx") / "cnn.onnx"
    )


@pytest.fixture(scope="module")
def pair(net, path, data):
    """The same trained network as a TorchClassifier and an OnnxClassifier."""
    X, _ = data
    return (
        TorchClassifier(net, classes=CLASSES).fit(X),
        OnnxClassifier(path, classes=CLASSES).fit(X),
    )


@pytest.mark.parametrize("kind", ["float", "normalized", "uint8", "range_0_255"])
def test_probabilities_match_torch_classifier(net, path, data, kind):
    X, _ = data
    params = {}
    if kind == "normalized":
        params = {"mean": MEAN, "std": STD}
    if kind in ("uint8", "range_0_255"):
        X = np.round(X * 255).astype(np.uint8)
    if kind == "range_0_255":
        params = {"input_range": (0, 255), "mean": [127.5] * 3, "std": [64.0] * 3}
    reference = TorchClassifier(net, classes=CLASSES, **params).fit(X)
    clf = OnnxClassifier(path, classes=CLASSES, batch_size=7, **params).fit(X)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba, reference.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(clf.predict(X), reference.predict(X))
    assert set(clf.predict(X)) <= set(CLASSES)
    assert clf.image_shape_ == (16, 16, 3) and clf.n_features_in_ == 16 * 16 * 3


@pytest.mark.parametrize(
    "make_explainer",
    [
        lambda m: LimeExplainer(m, segmentation="grid", n_samples=64, random_state=0),
        lambda m: KernelShapExplainer(
            m, segmentation="grid", n_samples=64, random_state=0
        ),
        lambda m: OcclusionExplainer(m, window=4, stride=4),
        lambda m: RISEExplainer(m, n_masks=64, mask_size=4, random_state=0),
    ],
    ids=["lime", "kernel_shap", "occlusion", "rise"],
)
def test_model_agnostic_explainers_match_torch_classifier(
    net, path, data, make_explainer
):
    X, _ = data
    # Unfitted models: the explainer fits a clone of each, without y.
    torch_maps = make_explainer(TorchClassifier(net, classes=CLASSES))
    onnx_maps = make_explainer(OnnxClassifier(path, classes=CLASSES))
    expected = torch_maps.fit(X).explain(X[:3])
    maps = onnx_maps.fit(X).explain(X[:3])
    assert maps.shape == (3, 16, 16) and maps.dtype == np.float32
    assert np.abs(maps).max() > 0
    np.testing.assert_allclose(maps, expected, rtol=1e-3, atol=1e-5)


def test_metrics_and_surrogate_work_without_y(pair, data):
    X, _ = data
    reference, clf = pair
    maps = OcclusionExplainer(clf, window=4, stride=4).fit(X).explain(X[:4])
    auc = deletion_auc(clf, X[:4], maps, n_steps=8)
    np.testing.assert_allclose(
        auc, deletion_auc(reference, X[:4], maps, n_steps=8), atol=1e-5
    )
    assert np.all((auc >= 0) & (auc <= 1))
    assert np.all(np.isfinite(sparseness(maps)))
    tree = SurrogateTreeClassifier(clf, grid_size=4, max_depth=3, random_state=0)
    tree.fit(X)
    torch_tree = SurrogateTreeClassifier(
        reference, grid_size=4, max_depth=3, random_state=0
    ).fit(X)
    assert 0 <= tree.fidelity_ <= 1
    assert tree.fidelity_ == pytest.approx(torch_tree.fidelity_)


def test_gradient_explainers_refuse_it(path, data):
    X, _ = data
    with pytest.raises(TypeError, match="Model-agnostic explainers"):
        SaliencyExplainer(OnnxClassifier(path, classes=CLASSES)).fit(X).explain(X[:1])


def test_clone_and_pickle_predict_the_same(pair, data):
    X, _ = data
    _, clf = pair
    expected = clf.predict_proba(X)
    copy = clone(clf)
    assert copy.get_params()["path"] == clf.path and not hasattr(copy, "classes_")
    np.testing.assert_array_equal(copy.fit(X).predict_proba(X), expected)
    state = clf.__getstate__()
    assert "_session" not in state and "_session" in vars(clf)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), expected)
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))


def test_channels_last_export(net, data, tmp_path):
    X, _ = data
    module = _ChannelsLast(net)
    path = _export(module, torch.zeros(2, 16, 16, 3), tmp_path / "nhwc.onnx")
    reference = TorchClassifier(module, classes=CLASSES, input_layout="NHWC").fit(X)
    clf = OnnxClassifier(path, classes=CLASSES, input_layout="NHWC").fit(X)
    np.testing.assert_allclose(
        clf.predict_proba(X), reference.predict_proba(X), atol=1e-5
    )
    with pytest.raises(ValueError, match="check input_layout"):
        OnnxClassifier(path, classes=CLASSES).fit(X)


def test_output_width_must_match_classes(path, data):
    X, _ = data
    with pytest.raises(ValueError, match=r"outputs 3 class scores .* 2 labels"):
        OnnxClassifier(path, classes=["a", "b"]).fit(X)


def test_missing_or_unreadable_file_names_the_path(data, tmp_path):
    X, _ = data
    missing = tmp_path / "nowhere" / "model.onnx"
    with pytest.raises(FileNotFoundError, match=re.escape(repr(str(missing)))):
        OnnxClassifier(missing, classes=CLASSES).fit(X)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ValueError, match=re.escape(repr(str(garbage)))):
        OnnxClassifier(garbage, classes=CLASSES).fit(X)


def test_missing_onnxruntime_says_what_to_install(path, data, monkeypatch):
    X, _ = data
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=re.escape("pip install sklearn-xai[onnx]")):
        OnnxClassifier(path, classes=CLASSES).fit(X)


# -- small hand-built ONNX graphs: flatten -> matmul (-> activation) --------


def _linear_model(path, weights, *, batch="n", activation=None, elem=np.float32):
    """An ONNX file computing ``activation(flatten(x) @ weights)`` for
    ``x`` of shape ``(batch, 3, 4, 4)``."""
    from onnx import helper, numpy_helper

    elem_type = helper.np_dtype_to_tensor_dtype(np.dtype(elem))
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["scores" if activation else "y"]),
    ]
    if activation:
        nodes.append(helper.make_node(activation, ["scores"], ["y"]))
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("x", elem_type, [batch, 3, 4, 4])],
        [helper.make_tensor_value_info("y", elem_type, [batch, weights.shape[1]])],
        initializer=[numpy_helper.from_array(weights.astype(elem), "w")],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8
    )
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture
def small_images():
    return np.random.default_rng(0).random((5, 4, 4, 3), dtype=np.float32)


def _flat(images):
    return images.transpose(0, 3, 1, 2).reshape(len(images), -1).astype(np.float64)


@pytest.mark.parametrize(
    ("output", "activation"),
    [("logits", None), ("probabilities", "Sigmoid")],
)
def test_one_column_binary_model(tmp_path, small_images, output, activation):
    weights = np.random.default_rng(1).normal(size=(48, 1))
    path = _linear_model(tmp_path / "binary.onnx", weights, activation=activation)
    clf = OnnxClassifier(path, classes=[0, 1], output=output).fit(small_images)
    positive = 1 / (1 + np.exp(-_flat(small_images) @ weights[:, 0]))
    np.testing.assert_allclose(
        clf.predict_proba(small_images)[:, 1], positive, atol=1e-5
    )
    np.testing.assert_allclose(clf.predict_proba(small_images).sum(axis=1), 1)


@pytest.mark.parametrize(
    ("batch", "elem"),
    [(1, np.float32), (2, np.float32), ("n", np.float64)],
    ids=["fixed_batch_1", "fixed_batch_2", "double_input"],
)
def test_fixed_batch_and_input_type(tmp_path, small_images, batch, elem):
    weights = np.random.default_rng(2).normal(size=(48, 3))
    path = _linear_model(tmp_path / "m.onnx", weights, batch=batch, elem=elem)
    clf = OnnxClassifier(path, classes=CLASSES, batch_size=4).fit(small_images)
    logits = _flat(small_images) @ weights
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(small_images), expected, atol=1e-5)


def test_softmax_output_declared_as_logits_warns(tmp_path, small_images):
    weights = np.random.default_rng(3).normal(size=(48, 3))
    path = _linear_model(tmp_path / "soft.onnx", weights, activation="Softmax")
    with pytest.warns(UserWarning, match="output='probabilities'"):
        OnnxClassifier(path, classes=CLASSES).fit(small_images)


def test_images_of_another_size_are_refused(tmp_path, small_images):
    path = _linear_model(tmp_path / "m.onnx", np.ones((48, 3)))
    big = np.zeros((2, 8, 8, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"of shape \['n', 3, 4, 4\]"):
        OnnxClassifier(path, classes=CLASSES).fit(big)


@pytest.mark.parametrize(
    "check",
    [
        check_estimator_cloneable,
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
    ],
    ids=lambda c: c.__name__,
)
def test_api_checks(check):
    check("OnnxClassifier", OnnxClassifier("model.onnx", classes=CLASSES))
