"""Save and load trained classifiers without unpickling code.

A saved model is one safetensors file: the network's tensors, plus JSON
metadata naming the module class (from an allow-list), its parameters, the
classifier's plain parameters, the class labels and the image shape. Loading
never runs code from the file, unlike :func:`pickle.load` or
``torch.load(weights_only=False)``.
"""

from __future__ import annotations

import json
import os
from numbers import Number

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

from ._cnn import CNNClassifier, resolve_device
from ._modules import SmallCNN

_FORMAT = "sklearn-xai/cnn-classifier"
_VERSION = 1
#: Module classes that load_model builds by name; others must be passed in.
_KNOWN_MODULES = {"SmallCNN": SmallCNN}
#: CNNClassifier parameters stored as plain JSON values.
_PLAIN_PARAMS = ("lr", "max_epochs", "batch_size", "image_shape", "device")


def _plain(value):
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, Number):
        return value.item() if hasattr(value, "item") else value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    raise TypeError(f"cannot store the parameter value {value!r} as plain JSON")


def save_model(estimator: CNNClassifier, path) -> None:
    """Save a fitted :class:`CNNClassifier` to a safetensors file.

    The file holds the network's weights and buffers and JSON metadata, and
    can be read back by :func:`load_model` without executing any code from
    it. Callbacks, criterion and optimizer state are not saved: a loaded
    model is for prediction and explanation.

    Parameters
    ----------
    estimator : CNNClassifier
        A fitted classifier whose module parameters are plain values
        (numbers, strings, booleans, None, tuples of those).
    path : str or path-like
        Where to write the file (conventionally ``*.safetensors``).

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.neural_network import CNNClassifier, load_model, save_model
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> path = os.path.join(tempfile.mkdtemp(), "digits.safetensors")
    >>> save_model(clf, path)
    >>> (load_model(path).predict(X[:5]) == clf.predict(X[:5])).all()
    np.True_
    """
    if not isinstance(estimator, CNNClassifier):
        raise TypeError(
            f"estimator must be a fitted CNNClassifier; got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    module_cls = estimator.module
    if not isinstance(module_cls, type):
        module_cls = type(module_cls)
    module_params = {
        k: _plain(v) for k, v in estimator.get_params_for("module").items()
    }
    classes = estimator.classes_
    if classes.dtype.kind not in "biufU":
        raise TypeError(
            "only numeric or string class labels can be saved; got labels of "
            f"dtype {classes.dtype}."
        )
    meta = {
        "format": _FORMAT,
        "version": _VERSION,
        "module": module_cls.__name__,
        "module_params": module_params,
        "params": {k: _plain(getattr(estimator, k)) for k in _PLAIN_PARAMS},
        "classes": classes.tolist(),
        "classes_dtype": classes.dtype.str,
        "image_shape_": list(estimator.image_shape_),
    }
    tensors = {
        k: v.detach().cpu().contiguous()
        for k, v in estimator.module_.state_dict().items()
    }
    save_file(tensors, os.fspath(path), metadata={"sklearn_xai": json.dumps(meta)})


def load_model(path, *, module=None, device="cpu") -> CNNClassifier:
    """Load a classifier written by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
        The safetensors file.
    module : torch.nn.Module class or None, default=None
        The network class, required when the file names a class other than
        the library's own (the file stores a name, never code).
    device : str, default="cpu"
        Where to put the network (``"cpu"``, ``"cuda"``, ``"auto"``).

    Returns
    -------
    estimator : CNNClassifier
        A fitted classifier ready to predict and be explained.

    Examples
    --------
    See :func:`save_model`.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file {path!r} does not exist.")
    try:
        tensors = load_file(path)
        with safe_open(path, framework="pt") as f:
            raw = (f.metadata() or {}).get("sklearn_xai")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(
            f"{path!r} is not a model saved by sklearn_xai.neural_network."
            f"save_model (not a readable safetensors file: {exc})."
        ) from None
    meta = json.loads(raw) if raw else {}
    if meta.get("format") != _FORMAT:
        raise ValueError(
            f"{path!r} is not a model saved by sklearn_xai.neural_network."
            "save_model (its metadata has no sklearn-xai model description)."
        )
    if meta["version"] > _VERSION:
        raise ValueError(
            f"{path!r} was saved by a newer sklearn-xai (format version "
            f"{meta['version']}); this version reads up to {_VERSION}."
        )
    if module is None:
        if meta["module"] not in _KNOWN_MODULES:
            raise ValueError(
                f"{path!r} holds a {meta['module']} network, which is not one of "
                f"the library's modules {sorted(_KNOWN_MODULES)}; pass its class "
                "as module=..."
            )
        module = _KNOWN_MODULES[meta["module"]]
    params = dict(meta["params"])
    if params.get("image_shape") is not None:
        params["image_shape"] = tuple(params["image_shape"])
    params["device"] = device
    module_params = {f"module__{k}": v for k, v in meta["module_params"].items()}
    estimator = CNNClassifier(module=module, **params, **module_params)
    classes = np.asarray(meta["classes"], dtype=np.dtype(meta["classes_dtype"]))
    estimator.label_encoder_ = LabelEncoder().fit(classes)
    shape = tuple(meta["image_shape_"])
    estimator.image_shape_ = shape
    estimator.n_features_in_ = int(np.prod(shape))
    estimator.device_ = resolve_device(device)
    with estimator._on_device():
        estimator.initialize()
    try:
        estimator.module_.load_state_dict(
            {k: v.to(estimator.device_) for k, v in tensors.items()}
        )
    except RuntimeError as exc:
        raise ValueError(
            f"the weights in {path!r} do not fit a {meta['module']} built with "
            f"{meta['module_params']}: {exc}"
        ) from None
    estimator.module_.eval()
    return estimator
