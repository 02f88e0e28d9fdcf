"""An ONNX model file as a scikit-learn classifier, run by onnxruntime."""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._compat import Interval, StrOptions
from ..utils._intensity import to_intensity_range
from ..utils._validation import validate_images
from ._forward import OUTPUT_KINDS
from ._wrapped import (
    AccuracyScoreMixin,
    check_classes,
    check_input_range,
    check_labels,
    check_normalization,
    check_output_width,
    warn_if_probabilities,
)

__all__ = ["OnnxClassifier"]

#: onnxruntime's element types that images are fed as.
_INPUT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
}

#: Smallest probability taken the log of (as in TorchClassifier).
_TINY = 1e-12


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError(
            "OnnxClassifier runs ONNX models with onnxruntime, which is not "
            "installed; install it with `pip install sklearn-xai[onnx]` (or "
            "`pip install onnxruntime`)."
        ) from exc
    return onnxruntime


def _open_session(path):
    """An onnxruntime session on the CPU for the model file at ``path``."""
    ort = _import_onnxruntime()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"OnnxClassifier: there is no ONNX model file at path {path!r}."
        )
    try:
        return ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types
        raise ValueError(
            f"OnnxClassifier: path {path!r} is not an ONNX model onnxruntime can "
            f"load: {str(exc).strip()}"
        ) from None


def _scores_to_proba(scores, output, n_classes):
    """Probabilities of a model's output, the way TorchClassifier computes
    them: the output as logits (probabilities through their log, one column
    of a binary model as two), then a softmax."""
    scores = np.asarray(scores, dtype=np.float64)
    binary = n_classes == 2 and scores.shape[1] == 1
    with np.errstate(divide="ignore", over="ignore"):
        if output == "probabilities":
            if binary:
                scores = np.concatenate([1 - scores, scores], axis=1)
            scores = np.log(np.maximum(scores, _TINY))
        elif output == "log_probabilities":
            if binary:
                rest = np.log1p(-np.minimum(np.exp(scores), 1 - _TINY))
                scores = np.concatenate([rest, scores], axis=1)
        elif binary:
            scores = np.concatenate([-scores / 2, scores / 2], axis=1)
    scores = scores - scores.max(axis=1, keepdims=True)
    proba = np.exp(scores)
    return proba / proba.sum(axis=1, keepdims=True)


class OnnxClassifier(AccuracyScoreMixin, ClassifierMixin, BaseEstimator):
    """An ONNX model file as a classifier of image batches.

    Runs a network exported to ONNX -- from torch, Keras, TensorFlow,
    scikit-learn or any framework with an exporter -- on `onnxruntime
    <https://onnxruntime.ai>`_'s CPU provider, so that the model-agnostic
    explainers (:class:`~sklearn_xai.attribution.LimeExplainer`,
    :class:`~sklearn_xai.attribution.KernelShapExplainer`,
    :class:`~sklearn_xai.attribution.OcclusionExplainer`,
    :class:`~sklearn_xai.attribution.RISEExplainer`), the metrics, the
    surrogates and the selectors can use the model as it is deployed.
    ``fit`` trains nothing: it checks the images, opens the file, runs the
    model once to check that its output has one column per class, and
    records the image shape. Explainers take an ``OnnxClassifier`` directly,
    without ``y`` and without :class:`~sklearn.frozen.FrozenEstimator`.

    Images arrive in the library's layout (``(n, H, W, C)``, uint8 or float);
    the classifier converts them to the model's intensity range
    (``input_range``), normalizes them per channel with ``mean`` and ``std``
    and hands them over in ``input_layout``, in the element type the model's
    input declares (float32, float64 or float16), exactly as
    :class:`TorchClassifier` does for a torch network.

    The model's first input takes the images and its first output gives the
    class scores. A fixed batch dimension (e.g. a model exported for one
    image at a time) is honoured: images go in batches of that size, the last
    one padded. Gradient explainers need a differentiable network and refuse
    an ``OnnxClassifier``; wrap the torch network itself in
    :class:`TorchClassifier` for them.

    The estimator keeps only the path: clones and pickles reopen the file
    when they first predict (so the file must still be there).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.onnx`` file.
    classes : array-like of shape (n_classes,)
        ``classes[i]`` is the label of the model's output column ``i``, in
        the model's order (not re-sorted).
    input_layout : {"NCHW", "NHWC"}, default="NCHW"
        The tensor layout the model takes: channels first (torch exports) or
        channels last (Keras and TensorFlow exports).
    mean, std : array-like of shape (C,) or None, default=None
        Per-channel normalization ``(x - mean) / std`` applied before the
        model, in the scale of ``input_range`` (e.g. ImageNet's ``(0.485,
        0.456, 0.406)`` and ``(0.229, 0.224, 0.225)`` for [0, 1]), for models
        exported without their normalization. Both or neither.
    input_range : tuple of 2 float, default=(0.0, 1.0)
        The intensity range the model takes before normalization. uint8
        images are mapped linearly from 0-255 onto it; floating-point images
        must be on its scale (within one range's width of it) or a
        ValueError says so.
    output : {"logits", "probabilities", "log_probabilities"}, \
            default="logits"
        What the model's first output holds. With 2 classes, a single column
        is the positive class's logit, probability or log-probability.
    batch_size : int, default=32
        Images per run of the model (unless its batch dimension is fixed).
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` for reading flattened images.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of the output columns.
    input_range_ : tuple of 2 float
        The model's intensity range.
    input_name_ : str
        The name of the model input the images are fed to.
    output_name_ : str
        The name of the model output read as class scores.
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in ``fit``.
    n_features_in_ : int
        ``H * W * C``.

    See Also
    --------
    TorchClassifier : A trained torch network as a classifier (all explainers,
        gradient methods included).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import torch
    >>> from torch import nn
    >>> from sklearn_xai.attribution import OcclusionExplainer
    >>> from sklearn_xai.neural_network import OnnxClassifier
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ...                     nn.Linear(4, 2)).eval()
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "net.onnx")
    >>> _ = torch.onnx.export(  # a batch axis of any size
    ...     net, (torch.zeros(2, 3, 8, 8),), path, input_names=["x"],
    ...     dynamic_shapes=({0: torch.export.Dim("n")},), verbose=False)
    >>> X = np.random.default_rng(0).random((6, 8, 8, 3), dtype=np.float32)
    >>> clf = OnnxClassifier(path, classes=["cat", "dog"]).fit(X)
    >>> clf.predict_proba(X).shape
    (6, 2)
    >>> OcclusionExplainer(clf, window=4, stride=4).fit(X).explain(X[:2]).shape
    (2, 8, 8)
    >>> folder.cleanup()
    """

    _parameter_constraints: dict = {
        "path": [str, os.PathLike],
        "classes": ["array-like"],
        "input_layout": [StrOptions({"NCHW", "NHWC"})],
        "mean": ["array-like", None],
        "std": ["array-like", None],
        "input_range": [tuple, list],
        "output": [StrOptions(set(OUTPUT_KINDS))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "image_shape": [None, tuple],
    }

    def __init__(
        self,
        path,
        *,
        classes,
        input_layout="NCHW",
        mean=None,
        std=None,
        input_range=(0.0, 1.0),
        output="logits",
        batch_size=32,
        image_shape=None,
    ):
        self.path = path
        self.classes = classes
        self.input_layout = input_layout
        self.mean = mean
        self.std = std
        self.input_range = input_range
        self.output = output
        self.batch_size = batch_size
        self.image_shape = image_shape

    # -- fitting ------------------------------------------------------------

    def fit(self, X, y=None):
        """Check the model file on images; no training.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images the model takes (their shape is recorded).
        y : array-like of shape (n,) or None, default=None
            Ignored, except that labels not in ``classes`` are an error.

        Returns
        -------
        self : OnnxClassifier
            The classifier, ready to predict and be explained.

        Raises
        ------
        ImportError
            When onnxruntime is not installed.
        FileNotFoundError
            When there is no file at ``path``.
        ValueError
            When the file is not a model onnxruntime can load, its input does
            not take the images (rank, element type, fixed sizes), or its
            output does not have one column per class.
        """
        self._validate_params()
        classes = check_classes(self.classes)
        input_range = check_input_range(self.input_range)
        images, _ = validate_images(self, X, reset=True, image_shape=self.image_shape)
        mean, std = check_normalization(self.mean, self.std, images.shape[-1])
        check_labels(y, classes, n_images=len(images))
        session = _open_session(self.path)
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if not inputs or not outputs:
            raise ValueError(
                f"OnnxClassifier: the model at path {os.fspath(self.path)!r} has "
                "no input or no output."
            )
        self._session = session
        self.classes_ = classes
        self.input_range_ = input_range
        self.input_name_ = inputs[0].name
        self.output_name_ = outputs[0].name
        self._mean = None if mean is None else mean.astype(np.float32)
        self._std = None if std is None else std.astype(np.float32)
        self._input_spec = self._check_input(inputs[0], images.shape[1:])
        scores = self._run(images[:1])
        width = scores.shape[1]
        if len(classes) == 2 and width == 1:
            width = 2  # one column of a binary model: the positive class
        check_output_width(width, classes, what="the ONNX model")
        warn_if_probabilities(scores, self.output, stacklevel=2)
        return self

    def _check_input(self, node, image_shape):
        """``(dtype, fixed batch size or None)`` of the model's input."""
        where = f"the model at path {os.fspath(self.path)!r}"
        dtype = _INPUT_DTYPES.get(node.type)
        if dtype is None:
            raise ValueError(
                f"OnnxClassifier: {where} takes {node.name!r} as {node.type}; "
                "images are fed as float, double or float16 tensors."
            )
        shape = list(node.shape)
        height, width, channels = image_shape
        expected = (
            (channels, height, width)
            if self.input_layout == "NCHW"
            else (height, width, channels)
        )
        fixed = [(d if isinstance(d, Integral) else None) for d in shape]
        if len(shape) != 4 or any(
            d is not None and d != e for d, e in zip(fixed[1:], expected, strict=True)
        ):
            raise ValueError(
                f"OnnxClassifier: {where} takes {node.name!r} of shape {shape}, "
                f"but X holds images of {height}x{width} pixels with {channels} "
                "channel(s), which "
                f"in input_layout={self.input_layout!r} have shape "
                f"[n, {', '.join(map(str, expected))}]; check input_layout, or "
                "resize the images."
            )
        return dtype, fixed[0]

    # -- running the model --------------------------------------------------

    def _get_session(self):
        session = getattr(self, "_session", None)
        if session is None:
            session = _open_session(self.path)
            inputs = {node.name for node in session.get_inputs()}
            outputs = {node.name for node in session.get_outputs()}
            if self.input_name_ not in inputs or self.output_name_ not in outputs:
                raise ValueError(
                    f"OnnxClassifier: the model at path {os.fspath(self.path)!r} "
                    f"has no input {self.input_name_!r} or output "
                    f"{self.output_name_!r} any more; the file changed since "
                    "fit: fit again."
                )
            self._session = session
        return session

    def _model_input(self, images):
        """The model's input for validated ``(n, H, W, C)`` images."""
        dtype, _ = self._input_spec
        images = to_intensity_range(
            images, self.input_range_, owner=type(self).__name__
        )
        pixels = np.asarray(images, dtype=np.float32)
        if self._mean is not None:
            pixels = (pixels - self._mean) / self._std
        if self.input_layout == "NCHW":
            pixels = pixels.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(pixels, dtype=dtype)

    def _run(self, images):
        """The model's raw first output ``(n, k)`` for ``(n, H, W, C)`` images."""
        session = self._get_session()
        pixels = self._model_input(images)
        fixed = self._input_spec[1]
        step = fixed or self.batch_size
        out = []
        for start in range(0, len(pixels), step):
            batch = pixels[start : start + step]
            n = len(batch)
            if fixed and n < fixed:
                batch = np.concatenate([batch, np.repeat(batch[-1:], fixed - n, 0)])
            try:
                (scores,) = session.run([self.output_name_], {self.input_name_: batch})
            except Exception as exc:  # onnxruntime's own exception types
                raise ValueError(
                    f"OnnxClassifier: running the model at path "
                    f"{os.fspath(self.path)!r} on a batch of shape "
                    f"{list(batch.shape)} failed: {str(exc).strip()}"
                ) from None
            scores = np.asarray(scores)
            if scores.ndim == 1:
                scores = scores[:, None]
            if scores.ndim != 2 or len(scores) != len(batch):
                raise ValueError(
                    f"OnnxClassifier: the model's output {self.output_name_!r} "
                    f"must have shape (n, n_classes); for {len(batch)} images it "
                    f"has shape {list(scores.shape)}."
                )
            out.append(scores[:n])
        return np.concatenate(out)

    # -- prediction ---------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities of an image batch.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the fitted size and channel count.

        Returns
        -------
        proba : ndarray of shape (n, n_classes), float64
            The softmax of the model's output read as logits; columns ordered
            as ``classes_``.
        """
        check_is_fitted(self)
        images, _ = validate_images(self, X, reset=False, image_shape=self.image_shape)
        return _scores_to_proba(self._run(images), self.output, len(self.classes_))

    def predict(self, X):
        """Labels of the most probable classes.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the fitted size and channel count.

        Returns
        -------
        y_pred : ndarray of shape (n,)
            Labels from ``classes_``.
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # -- pickling -----------------------------------------------------------

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_session", None)  # reopened from path when next used
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.non_deterministic = False
        tags.input_tags.allow_nan = False
        return tags
