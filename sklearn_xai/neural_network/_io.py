"""Save and load trained classifiers and pipelines without unpickling code.

A saved model is one safetensors file: tensors (the network's weights and
buffers, and the fitted arrays of preprocessing steps) plus JSON metadata
(the plain parameters of every step, the network's class by import path and
its constructor arguments, the class labels, the image shape, the intensity
range, the input layout, the normalization and the output kind). Loading
never runs code from the file, unlike :func:`pickle.load` or
``torch.load(weights_only=False)``: the only classes it builds are the
library's own, and a network class of the user's is imported only when the
caller names it (``load_model(path, module=...)``).

Format versions: 1 stored a bare :class:`CNNClassifier`; 2 (written now)
stores a bare :class:`CNNClassifier` or :class:`TorchClassifier`, or a
:class:`~sklearn.pipeline.Pipeline` of :mod:`sklearn_xai.preprocessing`
steps ending in one. Both are read.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
from numbers import Number

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as _save_bytes
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

from ._cnn import CNNClassifier, resolve_device
from ._forward import select_output
from ._modules import SmallCNN
from ._torch_classifier import TorchClassifier, _is_keras_model

_FORMAT = "sklearn-xai/cnn-classifier"
_VERSION = 2
#: The network classes load_model builds without being asked (version 1
#: files name them by class name, version 2 files by import path).
_BUNDLED = {"SmallCNN": SmallCNN}
#: CNNClassifier parameters stored as plain JSON values.
_CNN_PARAMS = ("lr", "max_epochs", "batch_size", "image_shape", "device")
#: TorchClassifier parameters stored as plain JSON values (``output`` and
#: ``input_range`` are stored resolved, ``classes`` as ``classes_``).
_TORCH_PARAMS = ("input_layout", "mean", "std", "output_key", "batch_size")
_MISSING = object()


# -- plain values -------------------------------------------------------------


def _encode(value, where):
    """A parameter value as JSON (tuples, dicts and arrays tagged), or a
    TypeError naming ``where``."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, Number) and not isinstance(value, complex):
        return value.item() if hasattr(value, "item") else value
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, where) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encode(v, where) for k, v in value.items()}}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufU":
        return {"ndarray": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.ndarray) and value.dtype == object:
        if all(isinstance(v, str) for v in value.ravel()):
            return {"ndarray": value.tolist(), "dtype": "O"}
    shown = repr(value)
    shown = shown if len(shown) <= 60 else f"a {type(value).__name__}"
    raise TypeError(
        f"cannot save {where} = {shown}: a model file stores only plain values "
        "(numbers, strings, booleans, None, and lists, tuples, dicts or numeric "
        "arrays of those), never objects or code."
    )


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "tuple" in value:
            return tuple(_decode(v) for v in value["tuple"])
        if "dict" in value:
            return {k: _decode(v) for k, v in value["dict"].items()}
        if "ndarray" in value:
            return np.asarray(value["ndarray"], dtype=np.dtype(value["dtype"]))
    return value


def _class_path(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


def _to_tensor(array):
    return torch.from_numpy(np.array(array, copy=True, order="C"))


# -- preprocessing steps ------------------------------------------------------


def _library_step_class(name):
    from .. import preprocessing

    if name not in preprocessing.__all__:
        return None
    return getattr(preprocessing, name)


def _describe_step(name, step, tensors, index):
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return {"name": name, "class": None, "value": step}
    cls = type(step)
    if _library_step_class(cls.__name__) is not cls:
        raise TypeError(
            f"cannot save the pipeline step {name!r}, a {cls.__name__}: a model "
            "file holds no code, so it stores only sklearn_xai.preprocessing "
            "transformers before the classifier."
        )
    params = {
        key: _encode(value, f"step {name!r} parameter {key!r}")
        for key, value in step.get_params(deep=False).items()
    }
    attributes, arrays = {}, []
    for key, value in vars(step).items():
        if not key.endswith("_") or key.startswith("_"):
            continue
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            tensors[f"steps.{index}.{key}"] = _to_tensor(value)
            arrays.append(key)
        else:
            attributes[key] = _encode(value, f"step {name!r} fitted attribute {key!r}")
    return {
        "name": name,
        "class": cls.__name__,
        "params": params,
        "attributes": attributes,
        "arrays": arrays,
    }


def _build_step(record, tensors, index):
    if record["class"] is None:
        return record["name"], record["value"]
    cls = _library_step_class(record["class"])
    if cls is None:
        raise ValueError(
            f"the file's pipeline step {record['name']!r} is a {record['class']}, "
            "which this version of sklearn_xai.preprocessing does not have."
        )
    step = cls(**{k: _decode(v) for k, v in record["params"].items()})
    for key, value in record["attributes"].items():
        setattr(step, key, _decode(value))
    for key in record["arrays"]:
        setattr(step, key, tensors[f"steps.{index}.{key}"].numpy())
    return record["name"], step


# -- network classes and their constructor arguments ---------------------------


def import_network_class(spec):
    """The network class named by ``"package.module:QualName"``.

    Parameters
    ----------
    spec : str
        The import path of a :class:`torch.nn.Module` subclass, as a file
        written by :func:`save_model` names it.

    Returns
    -------
    cls : type

    Raises
    ------
    ValueError
        When ``spec`` is malformed, cannot be imported or is not a
        :class:`torch.nn.Module` class.

    Examples
    --------
    >>> from sklearn_xai.neural_network._io import import_network_class
    >>> import_network_class("torch.nn:Linear")
    <class 'torch.nn.modules.linear.Linear'>
    """
    module_name, _, qualname = str(spec).partition(":")
    if not module_name or not qualname:
        raise ValueError(
            f"a network class is named 'package.module:ClassName'; got {spec!r}."
        )
    try:
        found = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"cannot import the network class {spec!r}: {exc} (is its module on "
            "PYTHONPATH?)"
        ) from None
    for part in qualname.split("."):
        found = getattr(found, part, _MISSING)
        if found is _MISSING:
            raise ValueError(
                f"cannot import the network class {spec!r}: module {module_name!r} "
                f"has no {qualname!r}."
            )
    if not (isinstance(found, type) and issubclass(found, torch.nn.Module)):
        raise ValueError(f"{spec!r} is not a torch.nn.Module class.")
    return found


def _small_cnn_args(net):
    """SmallCNN's constructor arguments, read from its layers."""
    blocks = list(net.features)
    first = blocks[0].conv
    return {
        "in_channels": first.in_channels,
        "n_classes": net.classifier[-1].out_features,
        "n_filters": first.out_channels,
        "n_blocks": len(blocks),
        "kernel_size": first.kernel_size[0],
        "pool_size": _encode(net.pool.output_size, "pool_size"),
        "dropout": net.classifier[1].p,
        "batch_norm": hasattr(blocks[0], "norm"),
    }


def _plain_or_missing(value, name):
    if value is _MISSING:
        return _MISSING
    try:
        return _encode(value, name)
    except TypeError:
        return _MISSING


def _constructor_args(net, hints=None):
    """``(args, missing)``: the arguments that rebuild ``net``'s class as it
    is, read from same-named attributes (or ``hints``), defaults where not
    found; ``missing`` names the arguments not read from the instance."""
    cls = type(net)
    if cls is SmallCNN:
        return _small_cnn_args(net), []
    hints = hints or {}
    args, missing = {}, []
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind is p.POSITIONAL_ONLY:
            missing.append(p.name)
            continue
        value = hints.get(p.name, getattr(net, p.name, _MISSING))
        value = _plain_or_missing(value, p.name)
        if value is _MISSING:
            missing.append(p.name)
            if p.default is not p.empty:
                # A default that is not plain is left out: the constructor
                # applies it itself.
                value = _plain_or_missing(p.default, p.name)
        if value is not _MISSING:
            args[p.name] = value
    return args, missing


def _rebuild(cls, args):
    return cls(**{k: _decode(v) for k, v in args.items()})


def _check_rebuilds(net, args, missing, probe, *, output_key=None, hint=""):
    """Refuse to save ``net`` unless its class built with ``args`` takes its
    weights and computes the same outputs on ``probe``."""
    cls = type(net)
    name = cls.__name__
    why = (
        f"{', '.join(missing)} could not be read from the instance (no "
        "same-named attribute holding a plain value)"
        if missing
        else "the arguments read from the instance do not rebuild it"
    )
    advice = (
        f"store each __init__ argument as a same-named attribute "
        f"(e.g. self.{missing[0] if missing else 'n_classes'} = "
        f"{missing[0] if missing else 'n_classes'}){hint}"
    )
    try:
        rebuilt = _rebuild(cls, args)
        rebuilt.load_state_dict(net.state_dict())
    except Exception as exc:  # any failure means the file would not reload
        detail = " ".join(str(exc).split())
        detail = detail if len(detail) <= 200 else detail[:197] + "..."
        raise TypeError(
            f"cannot save a {name} instance so that it reloads: {why}, and "
            f"{name}(**{ {k: _decode(v) for k, v in args.items()} }) does not "
            f"take its weights ({type(exc).__name__}: {detail}). To save "
            f"it, {advice}."
        ) from None
    rebuilt.to(probe.device)
    flags = [(m, m.training) for m in (net, rebuilt)]
    try:
        net.eval()
        rebuilt.eval()
        with torch.no_grad():
            a = select_output(net(probe), output_key)
            b = select_output(rebuilt(probe), output_key)
    finally:
        for module, flag in flags:
            module.train(flag)
    same = a.shape == b.shape and torch.allclose(
        a, b, rtol=1e-4, atol=1e-5, equal_nan=True
    )
    if not same:
        raise TypeError(
            f"cannot save a {name} instance so that it reloads: {why}, and "
            f"{name} rebuilt with the arguments found computes other outputs "
            f"from the same weights. To save it, {advice}."
        )


def _describe_network(net, *, cls_args=None, probe=None, output_key=None, hint=""):
    """The metadata of a network: class path and constructor arguments."""
    cls = type(net)
    record = {"name": cls.__name__, "path": _class_path(cls)}
    if cls_args is not None:  # built by CNNClassifier from a class
        record["params"] = cls_args
        return record
    args, missing = _constructor_args(net)
    _check_rebuilds(net, args, missing, probe, output_key=output_key, hint=hint)
    record["params"] = args
    return record


def _network_class(record, module, path):
    """The class to build the file's network with (or a one-line error)."""
    if module is not None:
        if isinstance(module, str):
            module = import_network_class(module)
        if not (isinstance(module, type) and issubclass(module, torch.nn.Module)):
            raise TypeError(
                "module must be a torch.nn.Module class or its import path "
                f"'package.module:ClassName'; got {module!r}."
            )
        return module
    name, spec = record["name"], record.get("path")
    bundled = _BUNDLED.get(name)
    if bundled is not None and spec in (None, _class_path(bundled)):
        return bundled
    if spec is None:  # format version 1: the class name only
        raise ValueError(
            f"{path!r} holds a {name} network, which is not one of the library's "
            f"modules {sorted(_BUNDLED)}; pass its class as module=..."
        )
    movable = "__main__" in spec or "<locals>" in spec
    raise ValueError(
        f"{path!r} holds a {name} network ({spec}); a model file holds no code, "
        "so its class is imported only when you allow it: pass its class as "
        f"load_model(path, module={name}) or module={spec!r}, or on the command "
        f"line --module {spec}"
        + (
            f" ({name} was defined in a script or a function: move it into an "
            "importable module for --module)."
            if movable
            else "."
        )
    )


def _load_weights(net, tensors, record, path):
    try:
        net.load_state_dict(tensors)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise ValueError(
            f"the weights in {path!r} do not fit a {record['name']} built with "
            f"{_decode(record.get('params', {}))}: {detail[:300]}"
        ) from None


# -- classifiers --------------------------------------------------------------


def _plain_classes(classes):
    if classes.dtype.kind not in "biufU":
        raise TypeError(
            "only numeric or string class labels can be saved; got labels of "
            f"dtype {classes.dtype}."
        )
    return {"classes": classes.tolist(), "classes_dtype": classes.dtype.str}


def _describe_cnn(est):
    params = {k: _encode(getattr(est, k), f"parameter {k!r}") for k in _CNN_PARAMS}
    if isinstance(est.random_state, (int, np.integer)) or est.random_state is None:
        params["random_state"] = _encode(est.random_state, "random_state")
    criterion = est.criterion
    if getattr(torch.nn, getattr(criterion, "__name__", ""), None) is not criterion:
        raise TypeError(
            f"cannot save the parameter criterion = {criterion!r}: a model file "
            "names only torch.nn losses (it decides the predicted probabilities)."
        )
    params["criterion"] = criterion.__name__
    nonlinearity = getattr(est, "predict_nonlinearity", "auto")
    params["predict_nonlinearity"] = _encode(nonlinearity, "predict_nonlinearity")
    net = est.module_
    if isinstance(est.module, type):
        module_params = {
            k: _encode(v, f"parameter module__{k}")
            for k, v in est.get_params_for("module").items()
        }
        network = _describe_network(net, cls_args=module_params)
    else:
        h, w, c = est.image_shape_
        probe = torch.rand((2, c, h, w), generator=torch.Generator().manual_seed(0)).to(
            est.device_
        )
        network = _describe_network(
            net,
            probe=probe,
            hint=f", or pass the class: CNNClassifier(module={type(net).__name__}, "
            "module__...=...)",
        )
    range_ = getattr(est, "input_range_", None)
    return {
        "class": "CNNClassifier",
        "network": network,
        "params": params,
        **_plain_classes(est.classes_),
        "image_shape_": list(est.image_shape_),
        "input_range_": None if range_ is None else [float(v) for v in range_],
    }


def _describe_torch(est):
    net = est.module_
    if _is_keras_model(net):
        raise TypeError(
            "cannot save a TorchClassifier of a Keras model: save the model in "
            "Keras' own format (model.save('model.keras')) and wrap the model "
            "that keras.saving.load_model returns in TorchClassifier again."
        )
    params = {k: _encode(getattr(est, k), f"parameter {k!r}") for k in _TORCH_PARAMS}
    params["image_shape"] = _encode(est.image_shape, "parameter 'image_shape'")
    params["output"] = est.output_
    params["input_range"] = [float(v) for v in est.input_range_]
    h, w, c = est.image_shape_
    lo, hi = est.input_range_
    generator = torch.Generator().manual_seed(0)
    pixels = torch.rand((2, c, h, w), generator=generator) * (hi - lo) + lo
    probe = est.forward_.prepare(pixels.to(est.device_))
    source = est.module
    hints = None
    if hasattr(source, "get_params_for") and isinstance(
        getattr(source, "module", None), type
    ):  # a skorch net built its module from a class with module__* arguments
        hints = source.get_params_for("module")
    cls = type(net)
    record = {"name": cls.__name__, "path": _class_path(cls)}
    args, missing = _constructor_args(net, hints)
    _check_rebuilds(net, args, missing, probe, output_key=est.output_key)
    record["params"] = args
    return {
        "class": "TorchClassifier",
        "network": record,
        "params": params,
        **_plain_classes(np.asarray(est.classes_)),
        "image_shape_": list(est.image_shape_),
    }


def _state_tensors(net):
    return {
        f"network.{k}": v.detach().cpu().clone().contiguous()
        for k, v in net.state_dict().items()
    }


def _network_tensors(tensors):
    prefix = "network."
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _load_cnn(record, tensors, module, device, path):
    cls = _network_class(record["network"], module, path)
    params = {k: _decode(v) for k, v in record["params"].items()}
    params["criterion"] = getattr(torch.nn, params.get("criterion", "CrossEntropyLoss"))
    params["device"] = device
    module_params = {
        f"module__{k}": _decode(v) for k, v in record["network"]["params"].items()
    }
    est = CNNClassifier(module=cls, **params, **module_params)
    classes = np.asarray(record["classes"], dtype=np.dtype(record["classes_dtype"]))
    est.label_encoder_ = LabelEncoder().fit(classes)
    shape = tuple(record["image_shape_"])
    est.image_shape_ = shape
    est.n_features_in_ = int(np.prod(shape))
    if "input_range_" in record:
        range_ = record["input_range_"]
        est.input_range_ = None if range_ is None else tuple(range_)
    est.device_ = resolve_device(device)
    with est._on_device():
        est.initialize()
    _load_weights(
        est.module_,
        {k: v.to(est.device_) for k, v in tensors.items()},
        record["network"],
        path,
    )
    est.module_.eval()
    return est


def _load_torch(record, tensors, module, device, path):
    cls = _network_class(record["network"], module, path)
    try:
        net = _rebuild(cls, record["network"]["params"])
    except Exception as exc:  # the user's class refused the arguments
        raise ValueError(
            f"cannot build the {record['network']['name']} network of {path!r} "
            f"with {_decode(record['network']['params'])}: {exc}"
        ) from None
    _load_weights(net, tensors, record["network"], path)
    params = {k: _decode(v) for k, v in record["params"].items()}
    params["input_range"] = tuple(params["input_range"])
    classes = np.asarray(record["classes"], dtype=np.dtype(record["classes_dtype"]))
    est = TorchClassifier(net.eval(), classes=classes, device=device, **params)
    # fit trains nothing: it checks the network once and records the shape.
    return est.fit(np.zeros((1, *record["image_shape_"]), dtype=np.uint8))


# -- public API ---------------------------------------------------------------


def _split(estimator):
    """``(steps, final step's name or None, final classifier)`` of what
    save_model was given."""
    model = estimator
    while isinstance(model, FrozenEstimator):
        model = model.estimator
    steps, final_name = [], None
    if isinstance(model, Pipeline):
        steps = list(model.steps[:-1])
        final_name, model = model.steps[-1]
        while isinstance(model, FrozenEstimator):
            model = model.estimator
    if not isinstance(model, (CNNClassifier, TorchClassifier)):
        raise TypeError(
            "estimator must be a fitted CNNClassifier or TorchClassifier, or a "
            "Pipeline of sklearn_xai.preprocessing steps ending in one; got "
            + (
                f"a Pipeline ending in a {type(model).__name__}."
                if isinstance(estimator, Pipeline)
                else f"{type(model).__name__}."
            )
        )
    check_is_fitted(model)
    return steps, final_name, model


def save_model(estimator, path) -> None:
    """Save a fitted classifier or pipeline to a safetensors file.

    The file holds tensors (the network's weights and buffers, the fitted
    arrays of preprocessing steps such as an
    :class:`~sklearn_xai.preprocessing.ImageNormalizer`'s per-channel
    statistics) and JSON metadata: every step's parameters, the network's
    class by import path (``module:QualName``) with its constructor
    arguments, the class labels, the image shape, the intensity range the
    model takes, and for a :class:`TorchClassifier` its layout,
    normalization and output kind. :func:`load_model` reads it back without
    executing any code from it. Callbacks, criterion and optimizer state
    are not saved: a loaded model is for prediction and explanation.

    A network *instance* (``CNNClassifier(module=net)``,
    ``TorchClassifier(net)``) is saved with the constructor arguments read
    from its same-named attributes (``self.n_classes = n_classes``), its
    constructor's defaults for the others; the class rebuilt with them must
    take the weights and compute the same outputs, or ``save_model`` refuses,
    so a saved file always reloads.

    Parameters
    ----------
    estimator : CNNClassifier, TorchClassifier or Pipeline
        A fitted classifier, or a fitted
        :class:`~sklearn.pipeline.Pipeline` of
        :mod:`sklearn_xai.preprocessing` transformers ending in one
        (optionally in :class:`~sklearn.frozen.FrozenEstimator`). Parameters
        must be plain values (numbers, strings, booleans, None, and lists,
        tuples, dicts or numeric arrays of those).
    path : str or path-like
        Where to write the file (conventionally ``*.safetensors``), with the
        usual permissions (those of :func:`open`).

    Raises
    ------
    TypeError
        For anything that cannot be stored without code: a step not from
        :mod:`sklearn_xai.preprocessing`, a parameter that is not a plain
        value, a Keras model, a network instance whose class cannot be
        rebuilt from the arguments found. The message names the step or the
        parameter.

    See Also
    --------
    load_model : Read the file back.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.neural_network import CNNClassifier, load_model, save_model
    >>> from sklearn_xai.preprocessing import ImageNormalizer
    >>> X, y = load_digit_images(return_X_y=True)
    >>> pipe = make_pipeline(ImageNormalizer(),
    ...                      CNNClassifier(max_epochs=1, random_state=0))
    >>> pipe = pipe.fit(X[:100], y[:100])
    >>> path = os.path.join(tempfile.mkdtemp(), "digits.safetensors")
    >>> save_model(pipe, path)
    >>> (load_model(path).predict(X[:5]) == pipe.predict(X[:5])).all()
    np.True_
    """
    steps, final_name, model = _split(estimator)
    tensors = {}
    described = [
        _describe_step(name, step, tensors, i) for i, (name, step) in enumerate(steps)
    ]
    if isinstance(model, CNNClassifier):
        classifier = _describe_cnn(model)
    else:
        classifier = _describe_torch(model)
    classifier["step_name"] = final_name
    tensors.update(_state_tensors(model.module_))
    meta = {
        "format": _FORMAT,
        "version": _VERSION,
        "pipeline": final_name is not None,
        "steps": described,
        "classifier": classifier,
    }
    data = _save_bytes(tensors, metadata={"sklearn_xai": json.dumps(meta)})
    with open(os.fspath(path), "wb") as handle:
        handle.write(data)


def load_model(path, *, module=None, device="cpu"):
    """Load a classifier or pipeline written by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
        The safetensors file.
    module : torch.nn.Module class, str or None, default=None
        The network class, required when the file names a class other than
        the library's own :class:`SmallCNN` (the file stores the class's
        import path, never code), or its import path
        ``"package.module:ClassName"``. Without it such a file gives a
        ValueError that names the class.
    device : str, default="cpu"
        Where to put the network (``"cpu"``, ``"cuda"``, ``"auto"``);
        ``"cuda"`` without CUDA is a one-line ValueError.

    Returns
    -------
    estimator : CNNClassifier, TorchClassifier or Pipeline
        What was saved, fitted, ready to predict and be explained.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        When the file is not a model saved by :func:`save_model`, names a
        network class that was not allowed with ``module``, or holds weights
        that do not fit the class.

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
    if meta["version"] == 1:
        return _load_version_1(meta, tensors, module, device, path)
    resolve_device(device)  # a one-line error before anything is built
    record = meta["classifier"]
    weights = _network_tensors(tensors)
    if record["class"] == "CNNClassifier":
        model = _load_cnn(record, weights, module, device, path)
    else:
        model = _load_torch(record, weights, module, device, path)
    if not meta.get("pipeline"):
        return model
    steps = [_build_step(r, tensors, i) for i, r in enumerate(meta["steps"])]
    return Pipeline([*steps, (record["step_name"], model)])


def _load_version_1(meta, tensors, module, device, path):
    """A bare CNNClassifier in the first format (weights under their own
    names, the module class by name)."""
    record = {
        "class": "CNNClassifier",
        "network": {"name": meta["module"], "params": meta["module_params"]},
        "params": meta["params"],
        "classes": meta["classes"],
        "classes_dtype": meta["classes_dtype"],
        "image_shape_": meta["image_shape_"],
    }
    if record["params"].get("image_shape") is not None:
        record["params"]["image_shape"] = {"tuple": record["params"]["image_shape"]}
    return _load_cnn(record, tensors, module, device, path)
