"""TorchClassifier: a trained torch network as a classifier, never modified."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from sklearn_xai.attribution import (
    GradCAMExplainer,
    IntegratedGradientsExplainer,
    LimeExplainer,
    SaliencyExplainer,
)
from sklearn_xai.neural_network import CNNClassifier, TorchClassifier

H, W, C = 6, 6, 3


def _conv_net(n_classes=3, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(C, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, n_classes),
    )


def _logits_of(net, X):
    """The network's own output for channels-last float images (reference)."""
    with torch.no_grad():
        return net(torch.from_numpy(X).permute(0, 3, 1, 2)).double().numpy()


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((8, H, W, C), dtype=np.float32)


# -- parameters ------------------------------------------------------------


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"classes": None}, ValueError, "classes is required"),
        ({"classes": [0, 1]}, ValueError, r"outputs 3 class scores .* classes has 2"),
        ({"classes": [0, 1, 2, 3]}, ValueError, r"outputs 3 .* classes has 4"),
        ({"classes": [[0, 1, 2]]}, ValueError, "classes must be a 1-D list"),
        ({"classes": [0, 1, 1]}, ValueError, "classes must not repeat"),
        ({"mean": [0.5] * 3}, ValueError, "mean and std must be given together"),
        ({"std": [0.5] * 3}, ValueError, "mean and std must be given together"),
        (
            {"mean": [0.5, 0.5], "std": [0.2] * 3},
            ValueError,
            r"mean must hold one finite value per channel \(3\)",
        ),
        (
            {"mean": [0.5] * 3, "std": [0.2] * 4},
            ValueError,
            r"std must hold one finite value per channel \(3\)",
        ),
        ({"mean": [0.5] * 3, "std": [0.2, 0.0, 0.2]}, ValueError, "std must be pos"),
        ({"mean": [0.5] * 3, "std": [-1.0] * 3}, ValueError, "std must be positive"),
        ({"input_range": (1.0, 0.0)}, ValueError, "input_range must satisfy low <"),
        ({"input_range": (0.0, 0.0)}, ValueError, "input_range must satisfy low <"),
        ({"input_range": ("a", "b")}, ValueError, "input_range must be a pair"),
        ({"input_range": (0.0, 1.0, 2.0)}, ValueError, "input_range must be a pair"),
        ({"output": "softmax"}, InvalidParameterError, "'output' parameter"),
        ({"input_layout": "CHW"}, InvalidParameterError, "'input_layout' parameter"),
        ({"batch_size": 0}, InvalidParameterError, "'batch_size' parameter"),
    ],
    ids=[
        "no-classes",
        "too-few-classes",
        "too-many-classes",
        "2d-classes",
        "repeated-classes",
        "mean-alone",
        "std-alone",
        "mean-length",
        "std-length",
        "std-zero",
        "std-negative",
        "range-reversed",
        "range-empty",
        "range-not-numbers",
        "range-three",
        "bad-output",
        "bad-layout",
        "bad-batch-size",
    ],
)
def test_parameter_errors_name_the_argument(images, params, error, match):
    params = {"classes": [0, 1, 2], **params}
    with pytest.raises(error, match=match):
        TorchClassifier(_conv_net(), **params).fit(images)


def test_module_must_be_a_torch_module(images):
    with pytest.raises(TypeError, match=r"module must be a trained torch\.nn\.Module"):
        TorchClassifier("resnet18", classes=[0, 1]).fit(images)


@pytest.mark.parametrize(
    "criterion, output",
    [(nn.CrossEntropyLoss, "logits"), (nn.NLLLoss, "probabilities")],
    ids=["cross-entropy", "nll"],
)
def test_skorch_net_gives_its_classes_and_output(images, criterion, output):
    skorch = pytest.importorskip("skorch")
    module = _conv_net()
    if output == "probabilities":  # skorch's NLLLoss convention: a softmax head
        module = nn.Sequential(module, nn.Softmax(dim=1))
    net = skorch.NeuralNetClassifier(
        module, criterion=criterion, classes=["a", "b", "c"], max_epochs=0
    ).initialize()
    clf = TorchClassifier(net).fit(images)
    assert clf.classes_.tolist() == ["a", "b", "c"]
    assert clf.output_ == output
    body = net.module_[0] if output == "probabilities" else net.module_
    expected = _softmax(_logits_of(body, images))
    np.testing.assert_allclose(clf.predict_proba(images), expected, atol=1e-6)
    with pytest.raises(ValueError, match="not initialized"):
        TorchClassifier(skorch.NeuralNetClassifier(_conv_net())).fit(images)


def test_labels_outside_classes_are_refused(images):
    clf = TorchClassifier(_conv_net(), classes=[0, 1, 2])
    clf.fit(images, [0, 1, 2, 2, 1, 0, 1, 2])  # y is ignored when it fits
    with pytest.raises(ValueError, match=r"y contains labels \[7\]"):
        clf.fit(images, [0, 1, 2, 7, 1, 0, 1, 2])


@pytest.mark.parametrize("estimator", ["TorchClassifier", "CNNClassifier"])
def test_cuda_without_cuda_is_a_one_line_error(images, estimator):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    if estimator == "TorchClassifier":
        clf = TorchClassifier(_conv_net(), classes=[0, 1, 2], device="cuda")
        y = None
    else:
        clf = CNNClassifier(max_epochs=0, device="cuda")
        y = np.arange(len(images)) % 2
    with pytest.raises(ValueError, match="CUDA is not available") as info:
        clf.fit(images, y)
    assert "\n" not in str(info.value)
    assert "device='cpu'" in str(info.value)


# -- output forms ------------------------------------------------------------


@pytest.mark.parametrize(
    "head, output",
    [
        (None, "logits"),
        (None, "auto"),
        (nn.Softmax(dim=1), "probabilities"),
        (nn.LogSoftmax(dim=1), "log_probabilities"),
    ],
    ids=["logits", "auto-logits", "softmax-head", "log-softmax-head"],
)
def test_output_forms_give_the_same_probabilities(images, head, output):
    base = _conv_net()
    expected = _softmax(_logits_of(base, images))
    net = base if head is None else nn.Sequential(base, head)
    clf = TorchClassifier(net, classes=[0, 1, 2], output=output).fit(images)
    proba = clf.predict_proba(images)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-7)
    # Gradient methods differentiate forward_, whose softmax is the same.
    with torch.no_grad():
        logits = clf.forward_(torch.from_numpy(images).permute(0, 3, 1, 2))
    np.testing.assert_allclose(
        torch.softmax(logits.double(), 1).numpy(), expected, rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize(
    "head, output",
    [
        (None, "logits"),
        (nn.Sigmoid(), "probabilities"),
        (nn.LogSigmoid(), "log_probabilities"),
    ],
    ids=["one-logit", "sigmoid", "log-sigmoid"],
)
def test_one_column_binary_network(images, head, output):
    base = _conv_net(n_classes=1)
    z = _logits_of(base, images)[:, 0]
    p = 1 / (1 + np.exp(-z))
    net = base if head is None else nn.Sequential(base, head)
    clf = TorchClassifier(net, classes=["neg", "pos"], output=output).fit(images)
    proba = clf.predict_proba(images)
    np.testing.assert_allclose(proba, np.column_stack([1 - p, p]), atol=1e-6)
    assert clf.predict(images).tolist() == np.where(p > 0.5, "pos", "neg").tolist()
    # One column for three classes is a width mismatch.
    with pytest.raises(ValueError, match="outputs 1 class scores"):
        TorchClassifier(net, classes=[0, 1, 2], output=output).fit(images)


@pytest.mark.parametrize("output", ["auto", "logits"])
def test_probabilities_declared_as_logits_warn(images, output):
    net = nn.Sequential(_conv_net(), nn.Softmax(dim=1))
    with pytest.warns(UserWarning, match="like probabilities.*output='probabilities'"):
        TorchClassifier(net, classes=[0, 1, 2], output=output).fit(images)


def test_no_warning_for_logits_or_declared_probabilities(images, recwarn):
    TorchClassifier(_conv_net(), classes=[0, 1, 2]).fit(images)
    net = nn.Sequential(_conv_net(), nn.Softmax(dim=1))
    TorchClassifier(net, classes=[0, 1, 2], output="probabilities").fit(images)
    assert not [w for w in recwarn if "like probabilities" in str(w.message)]


class _DictNet(nn.Module):
    def __init__(self, key):
        super().__init__()
        self.body = _conv_net()
        self.key = key

    def forward(self, x):
        return {self.key: self.body(x), "features": x.mean(dim=(2, 3))}


def test_mapping_output_without_logits_names_output_key(images):
    net = _DictNet("scores")
    with pytest.raises(ValueError, match=r"without a 'logits' entry.*output_key="):
        TorchClassifier(net, classes=[0, 1, 2]).fit(images)
    with pytest.raises(ValueError, match="output_key='nope' selects nothing"):
        TorchClassifier(net, classes=[0, 1, 2], output_key="nope").fit(images)
    clf = TorchClassifier(net, classes=[0, 1, 2], output_key="scores").fit(images)
    expected = _softmax(_logits_of(net.body, images))
    np.testing.assert_allclose(clf.predict_proba(images), expected, atol=1e-6)
    # The "logits" entry is found without output_key.
    clf = TorchClassifier(_DictNet("logits"), classes=[0, 1, 2]).fit(images)
    assert clf.predict_proba(images).shape == (len(images), 3)


# -- classes and layouts --------------------------------------------------------


def test_classes_keep_the_network_order(images):
    classes = ["zebra", "ant", "cat"]
    net = _conv_net()
    clf = TorchClassifier(net, classes=classes).fit(images)
    assert clf.classes_.tolist() == classes
    logits = _logits_of(net, images)
    assert clf.predict(images).tolist() == np.array(classes)[logits.argmax(1)].tolist()
    np.testing.assert_allclose(clf.predict_proba(images), _softmax(logits), atol=1e-6)


class _ChannelsLastNet(nn.Module):
    """A Keras-style network: takes (n, H, W, C)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(H * W * C, 3)

    def forward(self, x):
        if x.shape[1:] != (H, W, C):
            raise RuntimeError(f"expected (n, {H}, {W}, {C}); got {tuple(x.shape)}")
        return self.fc(x.flatten(1))


def test_nhwc_network(images):
    net = _ChannelsLastNet()
    clf = TorchClassifier(net, classes=[0, 1, 2], input_layout="NHWC").fit(images)
    with torch.no_grad():
        expected = _softmax(net(torch.from_numpy(images)).double().numpy())
    np.testing.assert_allclose(clf.predict_proba(images), expected, atol=1e-6)
    maps = SaliencyExplainer(clf).fit(images).explain(images[:2])
    assert maps.shape == (2, H, W)
    assert np.abs(maps).max() > 0


def test_normalization_is_inside_the_forward_pass(images):
    net = _conv_net()
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    clf = TorchClassifier(net, classes=[0, 1, 2], mean=mean, std=std).fit(images)
    normalized = ((images - np.float32(mean)) / np.float32(std)).astype(np.float32)
    expected = _softmax(_logits_of(net, normalized))
    np.testing.assert_allclose(clf.predict_proba(images), expected, atol=1e-6)


def test_flattened_images_with_image_shape(images):
    net = _conv_net()
    flat = images.reshape(len(images), -1)
    clf = TorchClassifier(net, classes=[0, 1, 2], image_shape=(H, W, C)).fit(flat)
    assert clf.image_shape_ == (H, W, C)
    assert clf.n_features_in_ == H * W * C
    expected = _softmax(_logits_of(net, images))
    np.testing.assert_allclose(clf.predict_proba(flat), expected, atol=1e-6)
    maps = SaliencyExplainer(clf, image_shape=(H, W, C)).fit(flat).explain(flat[:2])
    assert maps.shape == (2, H, W)


@pytest.mark.parametrize("batch_size", [1, 3, 100])
def test_batch_size_does_not_change_predictions(images, batch_size):
    net = _conv_net()
    expected = _softmax(_logits_of(net, images))
    clf = TorchClassifier(net, classes=[0, 1, 2], batch_size=batch_size).fit(images)
    np.testing.assert_allclose(clf.predict_proba(images), expected, atol=1e-6)


# -- the user's network is never touched ----------------------------------------


class _NormNet(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(C, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        x = torch.relu(self.norm(self.conv(x)))
        return self.head(self.drop(x.mean(dim=(2, 3))))


def _state(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _storages(net):
    return {t.untyped_storage().data_ptr() for t in net.state_dict().values()}


def test_user_module_is_untouched(images):
    net = _NormNet()
    with torch.no_grad():  # running statistics that are not the defaults
        net.train()(torch.from_numpy(images).permute(0, 3, 1, 2) * 3)
    net.train()
    calls = []
    handle = net.conv.register_forward_hook(lambda *args: calls.append(1))
    before = _state(net)
    hooks = (dict(net.conv._forward_hooks), dict(net._forward_hooks))
    backward = dict(net.conv._backward_hooks)
    device = next(net.parameters()).device

    clf = TorchClassifier(net, classes=[0, 1, 2]).fit(images)
    proba = clf.predict_proba(images)
    GradCAMExplainer(clf, layer="norm").fit(images).explain(images[:2])
    SaliencyExplainer(clf).fit(images).explain(images[:2])
    IntegratedGradientsExplainer(clf, n_steps=4).fit(images).explain(images[:2])

    after = _state(net)
    assert before.keys() == after.keys()
    for key in before:
        assert torch.equal(before[key], after[key]), key
    assert net.training and net.norm.training and net.drop.training
    assert (dict(net.conv._forward_hooks), dict(net._forward_hooks)) == hooks
    assert dict(net.conv._backward_hooks) == backward
    assert next(net.parameters()).device == device
    assert not _storages(net) & _storages(clf.module_)
    # Predictions use eval mode (running statistics, no dropout).
    reference = copy.deepcopy(net).eval()
    np.testing.assert_allclose(
        proba, _softmax(_logits_of(reference, images)), atol=1e-6
    )
    assert clf.predict_proba(images) == pytest.approx(proba)  # deterministic
    handle.remove()


def test_clone_and_pickle_share_no_tensors(images):
    net = _NormNet()
    user = _storages(net)
    clf = TorchClassifier(net, classes=[0, 1, 2]).fit(images)
    cloned = clone(clf)
    assert cloned.module is not net
    assert not user & _storages(cloned.module)
    refit = cloned.fit(images)
    assert not user & _storages(refit.module_)
    assert not _storages(clf.module_) & _storages(refit.module_)
    restored = pickle.loads(pickle.dumps(clf))
    assert not user & _storages(restored.module_)
    assert not _storages(clf.module_) & _storages(restored.module_)
    np.testing.assert_array_equal(
        restored.predict_proba(images), clf.predict_proba(images)
    )
    # Editing a copy's weights leaves the user's network and the others alone.
    before = _state(net)
    with torch.no_grad():
        restored.module_.head.weight.add_(1.0)
        refit.module_.head.weight.add_(1.0)
    assert torch.equal(net.head.weight, before["head.weight"])
    np.testing.assert_allclose(
        clf.predict_proba(images),
        _softmax(_logits_of(copy.deepcopy(net).eval(), images)),
        atol=1e-6,
    )


def test_explainers_take_it_without_y_or_frozen(images):
    clf = TorchClassifier(_conv_net(), classes=["a", "b", "c"])
    lime = LimeExplainer(clf, segmentation="grid", n_samples=20, random_state=0)
    maps, details = lime.fit(images).explain(images[:2], return_details=True)
    assert maps.shape == (2, H, W)
    assert set(details.targets) <= {"a", "b", "c"}
    assert "module_" not in vars(clf)  # the explainer fitted a clone


def test_a_network_that_cannot_be_copied_is_explained_without_freezing():
    # A module holding a lock cannot be deep-copied: TorchClassifier warns
    # and runs it itself; an explainer given it unfrozen clones the
    # classifier, which shares the network (it is never trained) instead of
    # failing with "cannot pickle '_thread.lock'". The network is untouched.
    import threading
    import warnings

    from sklearn.frozen import FrozenEstimator

    from sklearn_xai.attribution import OcclusionExplainer

    class Locked(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(8 * 8 * 3, 3)
            self.lock = threading.Lock()

        def forward(self, x):
            return self.linear(x.flatten(1))

    torch.manual_seed(0)
    net = Locked().train()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    X = np.random.default_rng(0).random((4, 8, 8, 3)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf = TorchClassifier(net, classes=[0, 1, 2])
        assert clone(clf).module is net
        maps = OcclusionExplainer(clf).fit(X).explain(X[:2], target=[0, 1])
        frozen = TorchClassifier(net, classes=[0, 1, 2]).fit(X)
        expected = (
            OcclusionExplainer(FrozenEstimator(frozen))
            .fit(X)
            .explain(X[:2], target=[0, 1])
        )
    np.testing.assert_array_equal(maps, expected)
    assert net.training
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key])
