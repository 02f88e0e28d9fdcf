import json
import os
import pickle
import textwrap

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_xai.neural_network import (
    CNNClassifier,
    SmallCNN,
    TorchClassifier,
    load_model,
    save_model,
)
from sklearn_xai.preprocessing import (
    ColorConverter,
    HistogramEqualizer,
    ImageNormalizer,
    ImageResizer,
)

# Network classes of a user's own package, importable by path
# ("xai_io_nets:TinyNet"): the file names them, never holds their code.
NETS = textwrap.dedent(
    '''
    import torch
    from torch import nn


    class TinyNet(nn.Module):
        """Keeps its constructor arguments as attributes."""

        def __init__(self, in_channels=1, n_classes=2, width=4):
            super().__init__()
            self.in_channels, self.n_classes, self.width = in_channels, n_classes, width
            self.conv = nn.Conv2d(in_channels, width, 3, padding=1)
            self.head = nn.Sequential(
                nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                nn.Linear(4 * width, n_classes),
            )

        def forward(self, x):
            return self.head(self.conv(x))


    class ChannelsLastSoftmax(TinyNet):
        """Takes NHWC tensors and returns probabilities."""

        def forward(self, x):
            return super().forward(x.permute(0, 3, 1, 2)).softmax(dim=1)


    class Forgetful(nn.Module):
        """Does not keep n_classes: an instance cannot be rebuilt."""

        def __init__(self, n_classes=1000):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                nn.Linear(16, n_classes),
            )

        def forward(self, x):
            return self.body(x)


    class Scaled(nn.Module):
        """Hides `scale`: rebuilt with the default, the same weights compute
        other outputs."""

        def __init__(self, n_classes=10, scale=1.0):
            super().__init__()
            self.n_classes = n_classes
            self._scale = scale
            self.lin = nn.Linear(64, n_classes)

        def forward(self, x):
            return self.lin(x.flatten(1)) * self._scale
    '''
)


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    root = tmp_path_factory.mktemp("nets")
    (root / "xai_io_nets.py").write_text(NETS)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        import xai_io_nets

        yield xai_io_nets


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X = (d.images[:150] / 16).astype(np.float32)
    names = np.array(list("abcdefghij"))[d.target[:150]]
    return X, names


@pytest.fixture(scope="module")
def fitted(digits):
    X, names = digits
    clf = CNNClassifier(max_epochs=2, module__n_filters=8, random_state=0)
    return clf.fit(X, names), X


def test_round_trip_gives_identical_predictions(fitted, tmp_path):
    clf, X = fitted
    path = tmp_path / "model.safetensors"
    save_model(clf, path)
    loaded = load_model(path)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.classes_.tolist() == clf.classes_.tolist()
    assert loaded.get_params()["module__n_filters"] == 8
    assert loaded.image_shape_ == clf.image_shape_
    assert loaded.input_range_ == clf.input_range_ == (0.0, 1.0)


def test_file_holds_no_pickle(fitted, tmp_path):
    clf, _ = fitted
    path = tmp_path / "model.safetensors"
    save_model(clf, path)
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(path.read_bytes())


def test_file_gets_the_usual_permissions(fitted, tmp_path):
    clf, _ = fitted
    path = tmp_path / "model.safetensors"
    save_model(clf, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_refuses_a_pickle_file(fitted, tmp_path):
    clf, _ = fitted
    path = tmp_path / "model.pt"
    torch.save(clf.module_.state_dict(), path)
    with pytest.raises(ValueError, match="not a model saved by"):
        load_model(path)


def test_refuses_foreign_safetensors(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(ValueError, match="no sklearn-xai model description"):
        load_model(path)


def _save_version_1(clf, path):
    """A file as sklearn-xai wrote it before pipelines could be saved."""
    from safetensors.torch import save_file

    meta = {
        "format": "sklearn-xai/cnn-classifier",
        "version": 1,
        "module": "SmallCNN",
        "module_params": {"n_filters": 8},
        "params": {
            "lr": 0.001, "max_epochs": 2, "batch_size": 32, "image_shape": None,
            "device": "cpu",
        },
        "classes": clf.classes_.tolist(),
        "classes_dtype": clf.classes_.dtype.str,
        "image_shape_": list(clf.image_shape_),
    }  # fmt: skip
    tensors = {
        k: v.detach().cpu().contiguous() for k, v in clf.module_.state_dict().items()
    }
    save_file(tensors, str(path), metadata={"sklearn_xai": json.dumps(meta)})


def test_format_version_1_files_still_load(fitted, tmp_path):
    clf, X = fitted
    path = tmp_path / "old.safetensors"
    _save_version_1(clf, path)
    loaded = load_model(path)
    assert isinstance(loaded, CNNClassifier)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


# -- pipelines ------------------------------------------------------------------


def _fitted_attributes(step):
    return {k: v for k, v in vars(step).items() if k.endswith("_")}


@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_pipeline_round_trip(digits, tmp_path, dtype):
    X, names = digits
    if dtype == "uint8":
        X = np.rint(X * 255).astype(np.uint8)
    pipe = Pipeline(
        [
            ("resize", ImageResizer(size=(16, 16), interpolation="linear")),
            ("equalize", HistogramEqualizer(clip_limit=3.0, tile_grid_size=(2, 2))),
            ("normalize", ImageNormalizer()),
            ("cnn", CNNClassifier(max_epochs=1, module__n_filters=4, random_state=0)),
        ]
    ).fit(X, names)
    path = tmp_path / "pipe.safetensors"
    save_model(pipe, path)
    loaded = load_model(path)
    assert isinstance(loaded, Pipeline)
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
    assert np.array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    assert loaded.classes_.tolist() == pipe.classes_.tolist()
    for (_, old), (_, new) in zip(pipe.steps[:-1], loaded.steps[:-1], strict=True):
        assert type(new) is type(old)
        assert new.get_params() == old.get_params()
        old_fitted, new_fitted = _fitted_attributes(old), _fitted_attributes(new)
        assert old_fitted.keys() == new_fitted.keys()
        for key, value in old_fitted.items():
            assert type(new_fitted[key]) is type(value), key
            np.testing.assert_array_equal(new_fitted[key], value)
    normalizer = loaded.named_steps["normalize"]
    assert normalizer.mean_.dtype == np.float64
    assert loaded[-1].input_range_ == pipe[-1].input_range_


def test_pipeline_ending_in_a_torch_classifier(nets, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (12, 10, 10, 3), dtype=np.uint8)
    net = nets.ChannelsLastSoftmax(in_channels=3, n_classes=3, width=4)
    clf = TorchClassifier(
        net, classes=["cat", "dog", "eel"], input_layout="NHWC",
        mean=(120.0, 110.0, 100.0), std=(60.0, 60.0, 60.0),
        input_range=(0, 255), output="probabilities",
    )  # fmt: skip
    pipe = Pipeline(
        [
            ("rgb", ColorConverter(to="rgb")),
            ("resize", ImageResizer(size=8)),
            ("net", clf),
        ]
    ).fit(X)
    path = tmp_path / "torch.safetensors"
    save_model(FrozenEstimator(pipe), path)
    loaded = load_model(path, module=nets.ChannelsLastSoftmax)
    assert np.array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    final = loaded[-1]
    assert isinstance(final, TorchClassifier)
    assert final.classes_.tolist() == ["cat", "dog", "eel"]
    assert (final.input_layout, final.output_) == ("NHWC", "probabilities")
    assert final.input_range_ == (0.0, 255.0)
    assert list(final.mean) == [120.0, 110.0, 100.0]
    assert (final.module_.in_channels, final.module_.width) == (3, 4)


def test_foreign_step_is_refused_by_name(fitted, tmp_path):
    clf, _ = fitted
    pipe = Pipeline([("scale", StandardScaler()), ("cnn", clf)])
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=r"step 'scale', a StandardScaler"):
        save_model(pipe, path)
    assert not path.exists()


def test_non_plain_parameter_is_refused_by_name(fitted, tmp_path):
    clf, _ = fitted
    pipe = Pipeline([("resize", ImageResizer(size=object())), ("cnn", clf)])
    with pytest.raises(TypeError, match=r"step 'resize' parameter 'size'"):
        save_model(pipe, tmp_path / "x.safetensors")


def test_pipeline_must_end_in_a_torch_classifier(tmp_path):
    from sklearn.linear_model import LogisticRegression

    pipe = Pipeline([("resize", ImageResizer(size=4)), ("lr", LogisticRegression())])
    with pytest.raises(TypeError, match="a Pipeline ending in a LogisticRegression"):
        save_model(pipe, tmp_path / "x.safetensors")


# -- network classes ------------------------------------------------------------


def test_custom_class_is_imported_only_when_allowed(nets, digits, tmp_path):
    X, names = digits
    clf = CNNClassifier(
        module=nets.TinyNet, module__width=6, max_epochs=1, random_state=0
    ).fit(X, names)
    path = tmp_path / "custom.safetensors"
    save_model(clf, path)
    with pytest.raises(ValueError, match="pass its class as") as info:
        load_model(path)
    message = str(info.value)
    assert "\n" not in message
    assert "module=TinyNet" in message and "--module xai_io_nets:TinyNet" in message
    for module in (nets.TinyNet, "xai_io_nets:TinyNet"):
        loaded = load_model(path, module=module)
        assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("kind", ["cnn", "torch"])
def test_module_instance_records_its_constructor_arguments(
    nets, digits, tmp_path, kind
):
    X, names = digits
    net = nets.TinyNet(in_channels=1, n_classes=10, width=5)
    if kind == "cnn":
        clf = CNNClassifier(module=net, max_epochs=1, random_state=0).fit(X, names)
    else:
        clf = TorchClassifier(net, classes=list("abcdefghij")).fit(X)
    path = tmp_path / "instance.safetensors"
    save_model(clf, path)
    loaded = load_model(path, module=nets.TinyNet)
    assert type(loaded) is type(clf)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.module_.width == 5


def test_small_cnn_instance_round_trip(digits, tmp_path):
    X, names = digits
    net = SmallCNN(in_channels=1, n_classes=10, n_filters=4, pool_size=2, dropout=0.1)
    clf = CNNClassifier(module=net, max_epochs=1, random_state=0).fit(X, names)
    path = tmp_path / "small.safetensors"
    save_model(clf, path)
    loaded = load_model(path)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.get_params()["module__pool_size"] == 2


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda nets: nets.Forgetful(n_classes=10), r"n_classes could not be read"),
        (
            lambda nets: nets.Scaled(scale=3.0),
            r"scale could not be read.*computes other outputs",
        ),
    ],
    ids=["shapes-differ", "outputs-differ"],
)
def test_instance_that_cannot_be_rebuilt_is_refused_at_save(
    nets, digits, tmp_path, make, message
):
    X, names = digits
    clf = CNNClassifier(module=make(nets), max_epochs=0).fit(X, names)
    path = tmp_path / "instance.safetensors"
    with pytest.raises(TypeError, match=message):
        save_model(clf, path)
    assert not path.exists()
    with pytest.raises(TypeError, match="same-named attribute"):
        save_model(TorchClassifier(make(nets), classes=np.arange(10)).fit(X), path)


def test_keras_model_is_refused(tmp_path):
    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras was imported with another backend")
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    X = np.zeros((2, 8, 8, 1), dtype=np.float32)
    clf = TorchClassifier(model, classes=[0, 1], input_layout="NHWC").fit(X)
    with pytest.raises(TypeError, match=r"Keras' own format.*\.keras"):
        save_model(clf, tmp_path / "k.safetensors")


def test_missing_file_and_bad_arguments(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "nope.safetensors")
    with pytest.raises(TypeError, match="must be a fitted CNNClassifier"):
        save_model(object(), tmp_path / "x.safetensors")
    with pytest.raises(NotFittedError):
        save_model(CNNClassifier(), tmp_path / "x.safetensors")
    clf, _ = fitted
    path = tmp_path / "m.safetensors"
    save_model(clf, path)
    with pytest.raises(TypeError, match=r"module must be a torch\.nn\.Module class"):
        load_model(path, module=42)
    with pytest.raises(ValueError, match="cannot import the network class"):
        load_model(path, module="no_such_package_xyz:Net")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_one_line(fitted, tmp_path):
    clf, _ = fitted
    path = tmp_path / "m.safetensors"
    save_model(clf, path)
    with pytest.raises(ValueError, match="CUDA is not available") as info:
        load_model(path, device="cuda")
    assert "\n" not in str(info.value)
