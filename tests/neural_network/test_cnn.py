import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from sklearn_xai.neural_network import CNNClassifier, SmallCNN, resolve_device


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X = (d.images[:300] / 16).astype(np.float32)
    y = d.target[:300]
    return X, y


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return CNNClassifier(max_epochs=3, lr=0.01, random_state=0).fit(X, y)


def test_learns_digits(digits):
    X, y = digits
    clf = CNNClassifier(max_epochs=8, lr=0.01, random_state=0).fit(X[:200], y[:200])
    assert clf.score(X[200:], y[200:]) > 0.8
    assert clf.predict_proba(X[:5]).sum(axis=1) == pytest.approx(1, abs=1e-5)


def test_string_labels_and_classes_order(digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four"] * 2)[y]
    clf = CNNClassifier(max_epochs=2, random_state=0).fit(X, names)
    assert clf.classes_.tolist() == sorted(set(names.tolist()))
    assert set(clf.predict(X[:20])) <= set(names.tolist())
    # predict agrees with the most probable column of predict_proba.
    proba = clf.predict_proba(X[:20])
    assert (clf.predict(X[:20]) == clf.classes_[proba.argmax(1)]).all()


def test_module_gets_channels_and_classes_from_data(digits):
    X, y = digits
    rgb = np.repeat(X[..., None], 3, axis=-1)
    clf = CNNClassifier(max_epochs=1, random_state=0).fit(rgb, y % 3)
    conv = clf.module_.features.block0.conv
    assert conv.in_channels == 3
    assert clf.module_.classifier[-1].out_features == 3


def test_bitwise_identical_refits_and_global_rng_untouched(digits):
    X, y = digits
    before = torch.random.get_rng_state()
    a = CNNClassifier(max_epochs=2, random_state=7).fit(X, y).predict_proba(X)
    b = CNNClassifier(max_epochs=2, random_state=7).fit(X, y).predict_proba(X)
    c = CNNClassifier(max_epochs=2, random_state=8).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float64], ids=str)
def test_any_numeric_dtype(digits, dtype):
    X, y = digits
    Xd = (X * 255).astype(dtype)
    clf = CNNClassifier(max_epochs=1, random_state=0).fit(Xd, y)
    assert clf.predict_proba(Xd[:4]).dtype == np.float32


def test_layouts_give_identical_predictions(fitted, digits):
    X, _ = digits
    p3 = fitted.predict_proba(X[:10])
    p4 = fitted.predict_proba(X[:10, :, :, None])
    flat = CNNClassifier(image_shape=(8, 8))
    flat_fit = clone(fitted).set_params(image_shape=(8, 8))
    flat_fit.fit(X.reshape(len(X), -1), digits[1])
    assert np.array_equal(p3, p4)
    assert np.array_equal(
        flat_fit.predict_proba(X[:10].reshape(10, -1)),
        flat_fit.predict_proba(X[:10]),
    )
    assert flat.image_shape == (8, 8)
    # Without image_shape at predict time, the fitted shape reads flat input.
    assert np.array_equal(fitted.predict_proba(X[:10].reshape(10, -1)), p3)


def test_pickle_round_trip(fitted, digits):
    X, _ = digits
    again = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(again.predict_proba(X), fitted.predict_proba(X))


def test_input_not_modified(digits):
    X, y = digits
    X_copy, y_copy = X.copy(), y.copy()
    CNNClassifier(max_epochs=1, random_state=0).fit(X, y).predict(X)
    assert np.array_equal(X, X_copy) and np.array_equal(y, y_copy)


def test_partial_fit_continues_training(digits):
    X, y = digits
    clf = CNNClassifier(max_epochs=1, random_state=0)
    clf.partial_fit(X, y)
    first = clf.module_.features.block0.conv.weight.detach().clone()
    clf.partial_fit(X, y)
    assert len(clf.history_) == 2
    assert not torch.equal(first, clf.module_.features.block0.conv.weight)
    with pytest.raises(ValueError, match="unseen in fit"):
        clf.partial_fit(X[:5], np.array([99] * 5))


def test_grid_search_over_module_and_optimizer_params(digits):
    X, y = digits
    grid = GridSearchCV(
        CNNClassifier(random_state=0),
        {"module__n_filters": [4, 8], "lr": [0.01], "max_epochs": [1, 2]},
        cv=2,
    )
    grid.fit(X[:120], y[:120])
    assert set(grid.best_params_) == {"module__n_filters", "lr", "max_epochs"}
    assert grid.best_estimator_.module_.features.block0.conv.out_channels in (4, 8)


def test_get_params_lists_module_params():
    clf = CNNClassifier(module__n_filters=8, module__dropout=0.1)
    params = clf.get_params()
    assert params["module__n_filters"] == 8
    assert params["module"] is SmallCNN
    assert params["train_split"] is None
    assert clone(clf).get_params()["module__dropout"] == 0.1


def test_unfitted_raises(digits):
    with pytest.raises(NotFittedError):
        CNNClassifier().predict(digits[0])
    with pytest.raises(AttributeError, match="not fitted"):
        CNNClassifier().classes_


@pytest.mark.parametrize(
    "make_X, match",
    [
        (lambda X: np.where(X > 0.5, np.nan, X), "NaN"),
        (lambda X: np.where(X > 0.5, np.inf, X), "infinity"),
        (lambda X: X[:0], "0 sample"),
        (lambda X: X[..., None, None], "dimension"),
    ],
    ids=["nan", "inf", "empty", "5d"],
)
def test_fit_rejects_bad_X(digits, make_X, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        CNNClassifier(max_epochs=1).fit(make_X(X), y[: len(make_X(X))])


def test_fit_rejects_bad_y(digits):
    X, y = digits
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        CNNClassifier(max_epochs=1).fit(X, y[:-1])
    with pytest.raises(ValueError, match="requires y"):
        CNNClassifier(max_epochs=1).fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type"):
        CNNClassifier(max_epochs=1).fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="not in classes"):
        CNNClassifier(max_epochs=1, classes=[0, 1]).fit(X, y)


def test_predict_rejects_other_shapes(fitted, digits):
    X, _ = digits
    with pytest.raises(ValueError, match="3 channel"):
        fitted.predict(np.repeat(X[..., None], 3, axis=-1))
    with pytest.raises(ValueError, match="size 9x9"):
        fitted.predict(np.zeros((2, 9, 9), np.float32))
    with pytest.raises(ValueError, match="features"):
        fitted.predict(np.zeros((2, 65), np.float32))


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"max_epochs": -1}, ValueError, "max_epochs must be an integer >= 0"),
        ({"batch_size": 1.5}, ValueError, "batch_size must be an integer >= 1"),
        ({"lr": -1.0}, ValueError, "lr must be a positive number"),
        ({"image_shape": (8, 0)}, ValueError, "image_shape must be a tuple"),
        ({"device": "gpu0"}, ValueError, "device must be"),
    ],
    ids=["epochs", "batch_size", "lr", "image_shape", "device"],
)
def test_bad_parameters(digits, params, error, match):
    X, y = digits
    with pytest.raises(error, match=match):
        CNNClassifier(**params).fit(X, y)


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device(torch.device("cpu")) == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    with pytest.raises(TypeError, match="device must be"):
        resolve_device(3)


def test_auto_device_kept_as_parameter(digits):
    X, y = digits
    clf = CNNClassifier(max_epochs=1, device="auto", random_state=0).fit(X, y)
    assert clf.device == "auto"
    assert clf.device_ == resolve_device("auto")
    again = pickle.loads(pickle.dumps(clf))
    assert again.device == "auto"
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))


@pytest.mark.gpu
def test_trains_on_cuda(digits):
    X, y = digits
    clf = CNNClassifier(max_epochs=3, lr=0.01, device="cuda", random_state=0)
    clf.fit(X, y)
    assert next(clf.module_.parameters()).is_cuda
    assert clf.score(X, y) > 0.5
