"""Finding, fitting and calling the model behind an explainer or a metric."""

from __future__ import annotations

import sys

import numpy as np
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags

from ..utils._validation import ImageLayout

#: Rows per model call chosen for a torch-backed model (``batch_size=None``):
#: the explainers' usual default, bounded by the device's memory.
TORCH_BATCH_SIZE = 32
#: Memory of one batch of float64 images chosen for any other model.
BATCH_BYTES = 64 * 2**20
#: The fewest and most rows per call chosen for any other model.
BATCH_ROWS = (32, 1024)


def unwrap_frozen(estimator):
    """Return the model inside a :class:`~sklearn.frozen.FrozenEstimator`.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai._adapter import unwrap_frozen
    >>> model = LogisticRegression()
    >>> unwrap_frozen(FrozenEstimator(model)) is model
    True
    """
    while isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    return estimator


def bare_model(estimator):
    """The model itself when ``estimator`` is no pipeline, else None.

    A classifier, optionally in a :class:`~sklearn.frozen.FrozenEstimator`,
    is returned unwrapped; a :class:`~sklearn.pipeline.Pipeline` (even of one
    step), whose preprocessing the explainers cannot see through, gives None.
    The fast paths that build inputs on the model's own scale or device ask
    this first.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_xai._adapter import bare_model
    >>> model = LogisticRegression()
    >>> bare_model(FrozenEstimator(model)) is model
    True
    >>> bare_model(make_pipeline(model)) is None
    True
    """
    model = unwrap_frozen(estimator)
    return None if isinstance(model, Pipeline) else model


def split_pipeline(estimator):
    """``(preprocessing, final model)`` of an estimator.

    ``preprocessing`` is the pipeline without its last step (None for a bare
    model or a one-step pipeline); the final model is unwrapped from
    :class:`~sklearn.frozen.FrozenEstimator`.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_xai._adapter import split_pipeline
    >>> pre, model = split_pipeline(make_pipeline(StandardScaler(),
    ...                                           LogisticRegression()))
    >>> type(pre).__name__, type(model).__name__
    ('Pipeline', 'LogisticRegression')
    """
    model = unwrap_frozen(estimator)
    preprocess = None
    if isinstance(model, Pipeline):
        preprocess = model[:-1] if len(model) > 1 else None
        model = unwrap_frozen(model[-1])
    return preprocess, model


def _is_torch_module(obj):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _is_foreign_skorch_net(obj):
    return (
        hasattr(obj, "module_")
        and hasattr(obj, "initialized_")
        and not hasattr(obj, "_explainable_network")
    )


def check_model(estimator, *, name="estimator", require_methods=True):
    """Refuse what is not an image classifier, with a one-line message.

    A bare ``torch.nn.Module`` (or Keras model) is not a classifier: it has
    no labels and no preprocessing contract, so it must be wrapped in
    :class:`~sklearn_xai.neural_network.TorchClassifier`. A skorch net that
    is not a :class:`~sklearn_xai.neural_network.CNNClassifier` takes torch's
    tensor layout, which must be declared the same way.

    Parameters
    ----------
    estimator : object
        The model given to an explainer, metric or surrogate.
    name : str, default="estimator"
        The argument's name, for the message.
    require_methods : bool, default=True
        Also require ``fit`` and ``predict_proba``.

    Raises
    ------
    TypeError
        When ``estimator`` cannot be used as it is.

    Examples
    --------
    >>> from torch import nn
    >>> from sklearn_xai._adapter import check_model
    >>> check_model(nn.Linear(2, 2))
    Traceback (most recent call last):
    ...
    TypeError: estimator is a torch.nn.Module (Linear), not a classifier; wrap ...
    """
    _, model = split_pipeline(estimator)
    kind = type(model).__name__
    if _is_foreign_skorch_net(model):
        raise TypeError(
            f"{name} is a skorch {kind}, which takes torch's tensor layout; wrap "
            f"it as TorchClassifier(net, input_layout='NCHW') (from "
            "sklearn_xai.neural_network) so that images (n, H, W, C) reach it "
            "in the layout it was trained on."
        )
    if _is_torch_module(model):
        raise TypeError(
            f"{name} is a torch.nn.Module ({kind}), not a classifier; wrap it as "
            "TorchClassifier(net, classes=[...]) from sklearn_xai.neural_network "
            "(with input_layout, mean, std and output as the network expects)."
        )
    missing = [m for m in ("fit", "predict_proba") if not hasattr(estimator, m)]
    if missing and require_methods:
        raise TypeError(
            f"{name} must be a classifier with fit and predict_proba (a "
            "scikit-learn classifier, a Pipeline ending in one, a "
            "TorchClassifier or OnnxClassifier); "
            f"{type(estimator).__name__} has no {' or '.join(missing)}."
        )


def _needs_y(estimator):
    _, model = split_pipeline(estimator)
    if isinstance(unwrap_frozen(estimator), Pipeline) and isinstance(
        unwrap_frozen(estimator)[-1], FrozenEstimator
    ):
        return False
    return get_tags(model).target_tags.required


def fit_model(estimator, X, y=None, *, owner, **fit_params):
    """The fitted model a meta-estimator explains, never the user's object.

    A :class:`~sklearn.frozen.FrozenEstimator` is used as it is; a model
    that needs no labels (a trained network in a ``TorchClassifier`` or an
    ``OnnxClassifier``, alone or ending a pipeline) is cloned and fitted
    without ``y``; any other is cloned and fitted on ``(X, y)``.

    Parameters
    ----------
    estimator : classifier
        The model.
    X : array-like
        Training images, as the model takes them.
    y : array-like or None, default=None
        Labels; required for models that learn from them.
    owner : str
        Name of the meta-estimator, for the message.
    **fit_params
        Passed to the model's ``fit``.

    Returns
    -------
    fitted : classifier

    Raises
    ------
    ValueError
        When ``y`` is needed and missing, or the fitted model is not a
        single-output classifier.
    """
    check_model(estimator)
    if isinstance(estimator, FrozenEstimator):
        fitted = estimator
    elif y is None and not _needs_y(estimator):
        fitted = clone(estimator).fit(X, **fit_params)
    elif y is None:
        raise ValueError(
            f"{owner} requires y to be passed, but the target y is None: it fits "
            f"a clone of {type(estimator).__name__} on (X, y). To use an already "
            "trained model without refitting it, wrap it in "
            "sklearn.frozen.FrozenEstimator (or a trained torch network in "
            "TorchClassifier)."
        )
    else:
        fitted = clone(estimator).fit(X, y, **fit_params)
    model_classes(fitted)
    return fitted


def model_classes(estimator):
    """The 1-D ``classes_`` of a fitted single-output classifier.

    Raises
    ------
    TypeError
        When the model has no ``classes_``.
    ValueError
        When it is a multi-output classifier (one array of classes per
        output).
    """
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        raise TypeError(
            "estimator must be a classifier with a classes_ attribute once "
            f"fitted; {type(unwrap_frozen(estimator)).__name__} has none."
        )
    if isinstance(classes, list) and classes and np.ndim(classes[0]) == 1:
        shapes = ", ".join(f"(n_images, {len(c)})" for c in classes)
        raise ValueError(
            "estimator is a multi-output classifier: its predict_proba returns "
            f"a list of {len(classes)} arrays of shapes {shapes} (classes_ holds "
            "one array per output), not one array of shape (n_images, "
            "n_classes); explain one output at a time."
        )
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(
            "estimator.classes_ must be 1-D (one label per predict_proba "
            f"column); got shape {classes.shape}."
        )
    return classes


def _describe_output(proba):
    """What a non-array ``predict_proba`` output holds, for messages."""
    if isinstance(proba, (list, tuple)):
        try:
            shapes = ", ".join(str(np.shape(p)) for p in proba[:5])
        except ValueError:
            shapes = "ragged"
        more = ", ..." if len(proba) > 5 else ""
        kind = type(proba).__name__
        return f"a {kind} of {len(proba)} items of shapes {shapes}{more}"
    return f"a {type(proba).__name__}"


def _checked_proba(proba, n_images, n_classes):
    try:
        proba = np.asarray(proba, dtype=np.float64)
    except (ValueError, TypeError):
        raise ValueError(
            "predict_proba must return an array of shape (n_images, n_classes); "
            f"it returned {_describe_output(proba)}, not a rectangular numeric "
            "array (a multi-output classifier returns one array per output)."
        ) from None
    expected = (n_images, n_classes) if n_classes is not None else None
    if (
        proba.ndim != 2
        or proba.shape[0] != n_images
        or (expected is not None and proba.shape != expected)
    ):
        raise ValueError(
            "predict_proba must return an array of shape (n_images, n_classes) "
            f"= ({n_images}, {n_classes if n_classes is not None else 'k'}); it "
            f"returned shape {proba.shape}."
        )
    return proba


def model_batch_size(estimator, image_shape, batch_size=None):
    """Rows per model call: ``batch_size`` if given, else chosen by the model.

    A given ``batch_size`` is always honoured. ``None`` ("auto") picks by the
    kind of model, since what a call costs differs: a torch-backed model
    (:class:`~sklearn_xai.neural_network.CNNClassifier`,
    :class:`~sklearn_xai.neural_network.TorchClassifier`, alone or ending a
    pipeline) gets :data:`TORCH_BATCH_SIZE` (32) rows, bounded by the
    device's memory; any other model (a random forest, a linear model, an
    ONNX model run on CPU) pays a fixed cost per ``predict_proba`` call
    that small batches multiply (LIME on a random forest is an order of
    magnitude slower at 32 rows than at 512 with the same maps), so it gets
    as many images as fit in :data:`BATCH_BYTES` (64 MiB) as float64,
    between 32 and 1024 rows: 1024 for images up to 90x90x1 or 52x52x3,
    about 55 for 224x224x3.

    Parameters
    ----------
    estimator : classifier
        The fitted (or frozen) model, possibly a pipeline.
    image_shape : tuple of int
        ``(H, W, C)`` of the images sent to it.
    batch_size : int or None, default=None
        The explicit batch size, or None to choose.

    Returns
    -------
    batch_size : int

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn_xai._adapter._predict import model_batch_size
    >>> forest = RandomForestClassifier()
    >>> model_batch_size(forest, (8, 8, 1)), model_batch_size(forest, (224, 224, 3))
    (1024, 55)
    >>> model_batch_size(forest, (8, 8, 1), batch_size=16)
    16
    """
    if batch_size is not None:
        return int(batch_size)
    _, model = split_pipeline(estimator)
    if hasattr(model, "_explainable_network"):
        return TORCH_BATCH_SIZE
    image_bytes = 8 * max(1, int(np.prod(image_shape)))
    fewest, most = BATCH_ROWS
    return int(min(most, max(fewest, BATCH_BYTES // image_bytes)))


def batched_predict_proba(estimator, images, *, layout_ndim, batch_size):
    """Class probabilities of ``(m, H, W, C)`` images, ``batch_size`` at a time.

    Each call's output is checked: an array of shape ``(len(batch),
    len(classes_))``, else a ValueError naming ``predict_proba`` and the
    shape received.

    Parameters
    ----------
    estimator : classifier
        A fitted classifier with ``predict_proba``.
    images : ndarray of shape (m, H, W, C)
        The images.
    layout_ndim : {2, 3, 4}
        The layout the classifier was fitted on (flattened, gray, channels
        last); images are handed over in that layout.
    batch_size : int or None
        Images per call of ``predict_proba``; None chooses by the kind of
        model (:func:`model_batch_size`).

    Returns
    -------
    proba : ndarray of shape (m, n_classes)
        float64 probabilities.

    Raises
    ------
    ValueError
        When ``predict_proba`` returns the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn_xai._adapter import batched_predict_proba
    >>> clf = DummyClassifier().fit(np.zeros((4, 3)), [0, 1, 1, 1])
    >>> batched_predict_proba(clf, np.zeros((5, 1, 3, 1)), layout_ndim=2,
    ...                       batch_size=2).shape
    (5, 2)
    """
    layout = ImageLayout(ndim=layout_ndim)
    batch_size = model_batch_size(estimator, images.shape[1:], batch_size)
    n_classes = None
    if getattr(estimator, "classes_", None) is not None:
        n_classes = len(model_classes(estimator))  # refuses multi-output models
    out = [
        _checked_proba(
            estimator.predict_proba(layout.restore(images[i : i + batch_size])),
            len(images[i : i + batch_size]),
            n_classes,
        )
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(out) if out else np.empty((0, n_classes or 0))
