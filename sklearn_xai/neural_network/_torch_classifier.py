"""A trained torch network as a scikit-learn classifier, without training it."""

from __future__ import annotations

import contextlib
import copy
import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
)

from ..utils._compat import Interval, StrOptions
from ..utils._intensity import to_intensity_range
from ..utils._validation import validate_images
from ._cnn import resolve_device
from ._forward import OUTPUT_KINDS, ModelForward, eval_mode
from ._wrapped import (
    AccuracyScoreMixin,
    check_classes,
    check_input_range,
    check_labels,
    check_normalization,
    check_output_width,
    warn_if_probabilities,
)

__all__ = ["TorchClassifier"]


def _is_skorch_net(obj):
    # initialized_ is set in skorch's __init__; module_ only once initialized.
    return hasattr(obj, "initialized_") and hasattr(obj, "initialize")


def _is_keras_model(obj):
    return type(obj).__module__.startswith("keras") and hasattr(obj, "get_layer")


def _auto_output(source, network):
    """What the network returns, when ``output="auto"``."""
    if _is_skorch_net(source):
        criterion = getattr(source, "criterion", None)
        name = getattr(criterion, "__name__", type(criterion).__name__)
        return "probabilities" if name == "NLLLoss" else "logits"
    if _is_keras_model(network):
        layers = getattr(network, "layers", None) or []
        activation = getattr(layers[-1], "activation", None) if layers else None
        name = getattr(activation, "__name__", "")
        return "probabilities" if name in ("softmax", "sigmoid") else "logits"
    return "logits"


class TorchClassifier(AccuracyScoreMixin, ClassifierMixin, BaseEstimator):
    """A trained torch network as a classifier of image batches.

    Wraps a network trained anywhere -- a torchvision or timm model, a
    Hugging Face image classifier, a Keras 3 model on the torch backend, or
    a fitted skorch net -- so that every explainer, metric, surrogate and
    selector of the library can use it as it is. ``fit`` trains nothing: it
    checks the images, runs the network once to check that its output has
    one column per class, and records the image shape. Explainers take a
    ``TorchClassifier`` directly, without ``y`` and without
    :class:`~sklearn.frozen.FrozenEstimator`.

    Images arrive in the library's layout (``(n, H, W, C)``, uint8 or float);
    the classifier converts them to the network's intensity range
    (``input_range``), normalizes them per channel with ``mean`` and ``std``
    and hands them over in ``input_layout``. The normalization is part of the
    forward pass, so gradient attributions are with respect to the caller's
    pixels. Predictions always run in eval mode.

    The user's network is never modified: ``fit`` works on a deep copy
    (``module_``), so its weights, buffers, hooks, device and train/eval flag
    stay as they were, and clones and pickles share no state with it.

    Parameters
    ----------
    module : torch.nn.Module or fitted skorch.NeuralNet
        The trained network. A fitted skorch net stands for its ``module_``
        (and gives ``classes`` and ``output`` defaults).
    classes : array-like of shape (n_classes,) or None, default=None
        ``classes[i]`` is the label of the network's output column ``i``, in
        the network's order (not re-sorted). Required, except for a skorch
        net, whose ``classes_`` is used.
    input_layout : {"NCHW", "NHWC"}, default="NCHW"
        The tensor layout ``module`` takes: channels first (torch, timm,
        Hugging Face) or channels last (Keras).
    mean, std : array-like of shape (C,) or None, default=None
        Per-channel normalization ``(x - mean) / std``, in the scale of
        ``input_range`` (e.g. ImageNet's ``(0.485, 0.456, 0.406)`` and
        ``(0.229, 0.224, 0.225)`` for [0, 1]). Both or neither.
    input_range : tuple of 2 float, default=(0.0, 1.0)
        The intensity range the network takes before normalization. uint8
        images are mapped linearly from 0-255 onto it; floating-point images
        must be on its scale (within one range's width of it, which leaves
        room for noisy copies) or a ValueError says so.
    output : {"auto", "logits", "probabilities", "log_probabilities"}, \
            default="auto"
        What the network returns. ``"auto"``: probabilities for a skorch net
        trained with ``NLLLoss`` and for a Keras model whose last layer has a
        softmax or sigmoid activation, logits otherwise. Gradient methods
        explain the logits, or the log-probabilities of a network that
        returns probabilities.
    output_key : str, int or None, default=None
        Which entry of a network's non-tensor output holds the class scores.
        None follows the rule: a mapping's ``"logits"``, an object's
        ``logits`` attribute (Hugging Face), a tuple's first element.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the network copy runs. ``"cuda"`` without CUDA is a ValueError.
    batch_size : int, default=32
        Images per forward pass.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` for reading flattened images.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of the output columns.
    module_ : torch.nn.Module
        The copy of the network that runs, in eval mode, on ``device_``.
    forward_ : torch.nn.Module
        ``module_`` with normalization, layout and output handling: takes
        ``(n, C, H, W)`` pixels in ``input_range``, returns logits.
    output_ : str
        The resolved ``output``.
    input_range_ : tuple of 2 float
        The network's intensity range.
    device_ : str
        The resolved device.
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in ``fit``.
    n_features_in_ : int
        ``H * W * C``.

    See Also
    --------
    CNNClassifier : Train a network on images inside scikit-learn.
    OnnxClassifier : An ONNX file as a classifier.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from torch import nn
    >>> from sklearn_xai.attribution import GradCAMExplainer
    >>> from sklearn_xai.neural_network import TorchClassifier
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
    ...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ...                     nn.Linear(4, 2))
    >>> X = np.random.default_rng(0).random((6, 8, 8, 3), dtype=np.float32)
    >>> clf = TorchClassifier(net, classes=["cat", "dog"], mean=[0.5] * 3,
    ...                       std=[0.25] * 3).fit(X)
    >>> clf.predict_proba(X).shape
    (6, 2)
    >>> GradCAMExplainer(clf).fit(X).explain(X[:2]).shape
    (2, 8, 8)
    """

    _parameter_constraints: dict = {
        "module": "no_validation",
        "classes": ["array-like", None],
        "input_layout": [StrOptions({"NCHW", "NHWC"})],
        "mean": ["array-like", None],
        "std": ["array-like", None],
        "input_range": [tuple, list],
        "output": [StrOptions({"auto", *OUTPUT_KINDS})],
        "output_key": [str, Integral, None],
        "device": "no_validation",
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "image_shape": [None, tuple],
    }

    def __init__(
        self,
        module,
        *,
        classes=None,
        input_layout="NCHW",
        mean=None,
        std=None,
        input_range=(0.0, 1.0),
        output="auto",
        output_key=None,
        device="cpu",
        batch_size=32,
        image_shape=None,
    ):
        self.module = module
        self.classes = classes
        self.input_layout = input_layout
        self.mean = mean
        self.std = std
        self.input_range = input_range
        self.output = output
        self.output_key = output_key
        self.device = device
        self.batch_size = batch_size
        self.image_shape = image_shape

    # -- fitting ------------------------------------------------------------

    def _network_source(self):
        source = self.module
        if _is_skorch_net(source):
            if not getattr(source, "initialized_", False):
                raise ValueError(
                    "module is a skorch net that is not initialized; fit it "
                    "first, or pass its torch module."
                )
            return source, source.module_
        if not isinstance(source, torch.nn.Module):
            raise TypeError(
                "module must be a trained torch.nn.Module (a Keras 3 model on "
                "the torch backend is one) or a fitted skorch net; got "
                f"{type(source).__name__}."
            )
        return source, source

    def _check_classes(self, source):
        classes = self.classes
        if classes is None:
            classes = getattr(source, "classes_", None) if source is not None else None
        return check_classes(classes)

    def fit(self, X, y=None):
        """Check the network on images; no training.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images the network takes (their shape is recorded).
        y : array-like of shape (n,) or None, default=None
            Ignored, except that labels not in ``classes`` are an error.

        Returns
        -------
        self : TorchClassifier
            The classifier, ready to predict and be explained.

        Raises
        ------
        ValueError
            When the network's output does not have one column per class,
            the images do not match ``mean``/``std`` or ``input_range``, or
            ``device`` is not available.
        """
        self._validate_params()
        source, network = self._network_source()
        classes = self._check_classes(source)
        input_range = check_input_range(self.input_range)
        output = self.output
        if output == "auto":
            output = _auto_output(source, network)
        images, _ = validate_images(self, X, reset=True, image_shape=self.image_shape)
        mean, std = check_normalization(self.mean, self.std, images.shape[-1])
        self.classes_ = classes
        self.input_range_ = input_range
        self.output_ = output
        self.device_ = resolve_device(self.device)
        if y is not None:  # y is ignored, but must be labels for X
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
        check_labels(y, classes, n_images=len(images))
        module = _private_copy(network)
        if module is not network:
            module = module.to(self.device_).eval()
        self.module_ = module
        self.forward_ = ModelForward(
            self.module_,
            input_layout=self.input_layout,
            mean=mean,
            std=std,
            output=output,
            output_key=self.output_key,
            n_classes=len(classes),
        )
        self._probe(images[:1])
        return self

    def _probe(self, images):
        """Run the network once; check it gives one column per class."""
        tensor = self._tensor_of(images)
        with self._running(), torch.inference_mode():
            try:
                raw = self.forward_.network(self.forward_.prepare(tensor))
            except RuntimeError as exc:  # e.g. a channel count it cannot take
                raise ValueError(
                    f"{type(self).__name__}: the network cannot run on X: images "
                    f"of shape {tuple(images.shape[1:])} make input tensors "
                    f"of shape {tuple(tensor.shape)} "
                    f"(input_layout={self.input_layout!r}) and it raised "
                    f"{type(exc).__name__}; check the images' size and channels."
                ) from exc
            try:
                logits = self.forward_(tensor)
            except ValueError as exc:
                raise ValueError(f"{type(self).__name__}: {exc}") from None
        check_output_width(logits.shape[1], self.classes_)
        if isinstance(raw, torch.Tensor):
            warn_if_probabilities(
                raw.detach().float().cpu().numpy(), self.output_, stacklevel=3
            )

    # -- input handling -----------------------------------------------------

    def _tensor_of(self, images):
        """Float32 NCHW tensor on the device from validated ``(n, H, W, C)``."""
        images = to_intensity_range(
            images, self.input_range_, owner=type(self).__name__
        )
        return self._nchw(images)

    def _nchw(self, images):
        """:meth:`_tensor_of` of images already on the model's scale."""
        array = np.ascontiguousarray(images, dtype=np.float32)
        if array.flags.writeable:
            tensor = torch.from_numpy(array)
        else:
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore", "The given NumPy array is not writable"
                )
                tensor = torch.from_numpy(array)
        return tensor.permute(0, 3, 1, 2).to(self.device_)

    def _to_tensor(self, X):
        images, _ = validate_images(self, X, reset=False, image_shape=self.image_shape)
        return self._tensor_of(images)

    def _running(self):
        """Eval mode for the duration (flags restored if the copy is shared)."""
        return eval_mode(self.module_)

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
            The softmax of the logits; columns ordered as ``classes_``.
        """
        check_is_fitted(self)
        tensor = self._to_tensor(X)
        with self._running(), torch.inference_mode():
            return self._proba_of(tensor)

    def _proba_of(self, tensor):
        """``predict_proba`` of an NCHW tensor, in eval mode."""
        out = []
        for start in range(0, len(tensor), self.batch_size):
            logits = self.forward_(tensor[start : start + self.batch_size])
            out.append(torch.softmax(logits.double(), dim=1).cpu().numpy())
        return np.concatenate(out)

    @contextlib.contextmanager
    def _validated_proba(self):
        """``predict_proba`` for arrays its caller has already validated.

        As :meth:`CNNClassifier._validated_proba
        <sklearn_xai.neural_network.CNNClassifier._validated_proba>`: yields
        ``proba(images, check_scale=False)`` for finite ``(n, H, W, C)``
        arrays of the fitted shape (uint8, float32 or float64), without the
        per-call validation, in eval mode set once; uint8 images converted,
        floating-point ones checked against the scale on ``check_scale``;
        the same probabilities, bit for bit.
        """
        check_is_fitted(self)

        def proba(images, check_scale=False):
            if check_scale or images.dtype == np.uint8:
                images = to_intensity_range(
                    images, self.input_range_, owner=type(self).__name__
                )
            return self._proba_of(self._nchw(images))

        with self._running(), torch.inference_mode():
            yield proba

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
        proba = self.predict_proba(X)  # NotFittedError before classes_
        return self.classes_[np.argmax(proba, axis=1)]

    # -- the adapter's view -------------------------------------------------

    def _explainable_network(self):
        """What gradient explainers need (read by the model adapter)."""
        check_is_fitted(self)
        return {
            "network": self.module_,
            "forward": self.forward_,
            "device": self.device_,
            "input_layout": self.input_layout,
            "to_tensor": self._to_tensor,
            "running": self._running,
            "keras": _is_keras_model(self.module_),
        }

    def __sklearn_clone__(self):
        # The module is a trained network, not a hyper-parameter to build
        # again: scikit-learn's clone would give a fitted skorch net back
        # unfitted. Deep-copy it (as clone does a torch module); clone the rest.
        # A network that cannot be deep-copied (unpicklable state) is shared:
        # TorchClassifier never trains it, and each use restores its flag.
        params = {
            name: clone(value, safe=False)
            for name, value in self.get_params(deep=False).items()
            if name != "module"
        }
        try:
            module = copy.deepcopy(self.module)
        except Exception:  # e.g. modules holding a lock or a file handle
            module = self.module
        return type(self)(module, **params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.non_deterministic = False
        tags.input_tags.allow_nan = False
        return tags

    def _xfail_checks(self):
        """scikit-learn common checks that cannot pass, with the reason.

        Read by ``tests/test_common.py``.
        """
        trained = (
            "fit does not learn from y: the network is trained elsewhere and "
            "classes fixes the labels, so "
        )
        return {
            "check_classifiers_train": trained + "the accuracy on y is chance",
            "check_classifiers_classes": trained
            + "labels outside classes (the checks' strings) are refused",
            "check_estimators_overwrite_params": (
                "joblib.hash of a deep copy of a torch module differs from the "
                "module's (parameters pickle differently), so the check reports "
                "an untouched module as mutated; tests/neural_network/"
                "test_torch_classifier.py checks the module's state instead"
            ),
        }


def _private_copy(network):
    """A deep copy of the user's network (the network itself if it cannot be
    copied; the classifier then restores its train/eval flag after each use)."""
    try:
        return copy.deepcopy(network)
    except Exception:  # e.g. modules holding unpicklable state
        warnings.warn(
            f"{type(network).__name__} cannot be deep-copied, so TorchClassifier "
            "runs the network itself (its train/eval flag is restored after "
            "each use, and its device is changed to the device parameter).",
            UserWarning,
            stacklevel=3,
        )
        return network
