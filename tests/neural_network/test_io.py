import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from sklearn_xai.neural_network import CNNClassifier, load_model, save_model


@pytest.fixture(scope="module")
def fitted():
    d = load_digits()
    X = (d.images[:150] / 16).astype(np.float32)
    names = np.array(list("abcdefghij"))[d.target[:150]]
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


def test_file_holds_no_pickle(fitted, tmp_path):
    clf, _ = fitted
    path = tmp_path / "model.safetensors"
    save_model(clf, path)
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(path.read_bytes())


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


def test_unknown_module_needs_explicit_class(fitted, tmp_path):
    clf, X = fitted
    labels = clf.predict(X)

    class MyNet(torch.nn.Module):
        def __init__(self, in_channels=1, n_classes=2):
            super().__init__()
            self.lin = torch.nn.Linear(64 * in_channels, n_classes)

        def forward(self, x):
            return self.lin(x.flatten(1))

    custom = CNNClassifier(module=MyNet, max_epochs=1, random_state=0)
    custom.fit(X, labels)
    path = tmp_path / "custom.safetensors"
    save_model(custom, path)
    with pytest.raises(ValueError, match="pass its class as module"):
        load_model(path)
    loaded = load_model(path, module=MyNet)
    assert np.array_equal(loaded.predict(X), custom.predict(X))


def test_missing_file_and_bad_arguments(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "nope.safetensors")
    with pytest.raises(TypeError, match="must be a fitted CNNClassifier"):
        save_model(object(), tmp_path / "x.safetensors")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save_model(CNNClassifier(), tmp_path / "x.safetensors")
