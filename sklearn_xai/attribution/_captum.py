"""A bridge that gives any captum attribution method our estimator API."""

from __future__ import annotations

import inspect

import numpy as np

from .._adapter import check_cam_layer, default_cam_layer
from ..utils._compat import StrOptions
from ._gradient import CHANNEL_REDUCTION_CONSTRAINT, _GradientExplainer

#: The captum classes ``method`` accepts by name. Those taking a ``layer``
#: get ``layer`` (default: the last convolution); ``Layer*`` methods
#: attribute at that layer and are upsampled to the input.
SUPPORTED_METHODS = (
    "Deconvolution",
    "DeepLift",
    "DeepLiftShap",
    "FeatureAblation",
    "GradientShap",
    "GuidedBackprop",
    "GuidedGradCam",
    "InputXGradient",
    "IntegratedGradients",
    "InternalInfluence",
    "KernelShap",
    "LRP",
    "LayerActivation",
    "LayerConductance",
    "LayerDeepLift",
    "LayerDeepLiftShap",
    "LayerFeatureAblation",
    "LayerGradCam",
    "LayerGradientShap",
    "LayerGradientXActivation",
    "LayerIntegratedGradients",
    "LayerLRP",
    "Lime",
    "Occlusion",
    "Saliency",
    "ShapleyValueSampling",
    "ShapleyValues",
)
#: The supported methods that draw random numbers: they run one image at a
#: time with torch seeded from ``random_state``.
_STOCHASTIC = frozenset(
    {"GradientShap", "KernelShap", "LayerGradientShap", "Lime", "ShapleyValueSampling"}
)
#: The methods whose ``perturbations_per_eval`` is set from ``batch_size``
#: (captum 0.9 fails for values above 1 in ShapleyValues, ShapleyValueSampling
#: and LayerFeatureAblation in some cases).
_BATCHED_PERTURBATIONS = frozenset({"FeatureAblation", "Occlusion"})
#: Constructor arguments the bridge sets itself.
_RESERVED_INIT = ("forward_func", "model", "layer")
#: ``attribute`` arguments the bridge sets itself.
_RESERVED_ATTRIBUTE = ("inputs", "target")
_OUTPUTS = ("logits", "probabilities")


def _resolve_method(method):
    """``(name, class)`` of a captum method given by name or class."""
    import captum.attr

    if isinstance(method, str):
        if method not in SUPPORTED_METHODS:
            raise ValueError(
                f"method {method!r} is not a supported captum attribution "
                f"method; supported names are {list(SUPPORTED_METHODS)} (or "
                "pass a subclass of captum.attr.Attribution)."
            )
        return method, getattr(captum.attr, method)
    if not (isinstance(method, type) and issubclass(method, captum.attr.Attribution)):
        raise TypeError(
            "method must be the name of a captum attribution method or a "
            f"subclass of captum.attr.Attribution; got {method!r}."
        )
    return method.__name__, method


def _parameter_names(func, skip):
    return [
        name
        for name, p in inspect.signature(func).parameters.items()
        if name not in skip
        and p.kind
        not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


def _accepts_kwargs(func):
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        for p in inspect.signature(func).parameters.values()
    )


class CaptumExplainer(_GradientExplainer):
    """Any captum attribution method as an explainer.

    A bridge: ``method``, a captum attribution class given by name (e.g.
    ``"DeepLift"``, ``"GuidedBackprop"``, ``"FeatureAblation"``) or as a
    class, is built on the network of the estimator and its ``attribute``
    is called for the target classes, ``batch_size`` images at a time on the
    network's device, in eval mode. What captum returns goes through the
    same steps as the other gradient explainers' attributions: channels
    are reduced with ``channel_reduction`` and the maps resized to the
    explained images. The result equals calling captum directly on the
    network input (after a pipeline's preprocessing).

    Methods that take a ``layer`` (``GuidedGradCam``, the ``Layer*``
    methods, ``InternalInfluence``) get the layer named by ``layer`` (by
    default the last :class:`torch.nn.Conv2d`); the attributions of the
    ``Layer*`` methods and ``InternalInfluence``, shaped like the layer's
    output ``(n, K, h, w)``, are upsampled (bilinear, captum's
    :meth:`~captum.attr.LayerAttribution.interpolate`) to the network input
    before the channels are reduced.

    Methods that draw random numbers (``GradientShap``,
    ``LayerGradientShap``, ``ShapleyValueSampling``, ``KernelShap``,
    ``Lime``, and any class passed directly that is not a supported name)
    run one image at a time, with torch's generator and numpy's global one
    (which captum's ``GradientShap`` draws from) seeded from
    ``random_state`` before each image, and both generators' states restored
    afterwards: an image's attribution depends only on the image and the
    seed.

    Modified-backpropagation methods (``DeepLift``, ``GuidedBackprop``,
    ``Deconvolution``, ``LRP``) hook the network's modules, so each
    non-linearity must be a module of its own, used once;
    :class:`~sklearn_xai.neural_network.SmallCNN` satisfies this. captum's
    ``LRP`` has no rule for :class:`torch.nn.Flatten`, which SmallCNN uses,
    and raises a ``TypeError`` for it; networks that flatten in ``forward``
    work.

    Parameters
    ----------
    estimator : CNNClassifier, TorchClassifier or Pipeline
        A torch-backed classifier (:class:`~sklearn_xai.neural_network.CNNClassifier`,
        or :class:`~sklearn_xai.neural_network.TorchClassifier` for a
        network trained elsewhere) or a :class:`~sklearn.pipeline.Pipeline`
        ending in one, optionally in :class:`~sklearn.frozen.FrozenEstimator`.
    method : str or captum.attr.Attribution subclass, default="Saliency"
        One of the supported names (``"Deconvolution"``, ``"DeepLift"``,
        ``"DeepLiftShap"``, ``"FeatureAblation"``, ``"GradientShap"``,
        ``"GuidedBackprop"``, ``"GuidedGradCam"``, ``"InputXGradient"``,
        ``"IntegratedGradients"``, ``"InternalInfluence"``,
        ``"KernelShap"``, ``"LRP"``, ``"LayerActivation"``,
        ``"LayerConductance"``, ``"LayerDeepLift"``,
        ``"LayerDeepLiftShap"``, ``"LayerFeatureAblation"``,
        ``"LayerGradCam"``, ``"LayerGradientShap"``,
        ``"LayerGradientXActivation"``, ``"LayerIntegratedGradients"``,
        ``"LayerLRP"``, ``"Lime"``, ``"Occlusion"``, ``"Saliency"``,
        ``"ShapleyValueSampling"``, ``"ShapleyValues"``) or a captum
        attribution class whose constructor takes the network (and a
        ``layer``) first.
    method_params : dict or None, default=None
        Extra constructor arguments, e.g. ``{"multiply_by_inputs": False}``.
    attribute_params : dict or None, default=None
        Extra arguments of ``attribute``, e.g. ``{"baselines": 0.5}``,
        ``{"n_steps": 32}`` or ``{"sliding_window_shapes": (3, 4, 4)}``.
        numpy arrays become tensors on the network's device (floating ones
        float32), in the network's channels-first input layout: a baseline
        batch ``(b, C, h, w)``, a ``feature_mask`` ``(1, 1, h, w)`` shared by
        channels and images. Unless given, ``internal_batch_size`` is
        ``batch_size``, and the ``perturbations_per_eval`` of
        ``FeatureAblation`` and ``Occlusion`` is ``batch_size`` divided by
        the images of the batch (at least 1), so that ``batch_size`` bounds
        the rows of a network call; other methods keep captum's default of
        1 (larger values fail in captum 0.9 for ``ShapleyValues``,
        ``ShapleyValueSampling`` and ``LayerFeatureAblation``).
    layer : str or None, default=None
        Dotted name of the layer of the methods that take one; None picks
        the last :class:`torch.nn.Conv2d`. An error for other methods.
    output : {"logits", "probabilities"}, default="logits"
        What is attributed: the network's logit of the target class, or its
        softmax probability (the network followed by
        :class:`torch.nn.Softmax`, e.g. for perturbation methods).
    channel_reduction : {"sum", "abs_sum", "l2", "max_abs"}, default="sum"
        How the attributions of a pixel's channels become one value;
        ``"sum"`` keeps signs (and completeness for ``DeepLift`` and
        ``IntegratedGradients``).
    batch_size : int, default=32
        Images per ``attribute`` call (one for the random methods), and
        rows per network call where captum allows it.
    n_jobs : int or None, default=None
        Accepted for API uniformity with the other explainers; the methods
        run batched in-process on the network's device.
    random_state : int, RandomState instance or None, default=None
        Seeds the random methods (an int gives the same answer on every
        call); unused by the deterministic ones.
    verbose : int, default=0
        Show a progress bar over images.
    image_shape : tuple of int or None, default=None
        How to read flattened images.

    Attributes
    ----------
    method_class_ : type
        The captum attribution class.
    layer_ : str or None
        The dotted name of the layer given to the method, or None.
    estimator_ : classifier
        The fitted (or frozen) model.
    classes_ : ndarray
        Its class labels.
    image_shape_ : tuple of int
        ``(H, W, C)`` seen in ``fit``.
    n_features_in_ : int
        ``H * W * C``.
    input_ndim_ : int
        Layout of the fitted images (2 flattened, 3 gray, 4 channels last).

    See Also
    --------
    SaliencyExplainer, IntegratedGradientsExplainer, GradCAMExplainer :
        The library's own gradient methods.

    References
    ----------
    .. [1] N. Kokhlikyan et al., "Captum: A unified and generic model
       interpretability library for PyTorch", arXiv:2009.07896, 2020.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import CaptumExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = CaptumExplainer(FrozenEstimator(clf), method="DeepLift")
    >>> explainer.fit(X[:100]).explain(X[:2]).shape
    (2, 8, 8)
    >>> CaptumExplainer(FrozenEstimator(clf), method="Magic").fit(X[:100])
    Traceback (most recent call last):
    ...
    ValueError: method 'Magic' is not a supported captum attribution method; ...
    """

    _parameter_constraints: dict = {
        **_GradientExplainer._parameter_constraints,
        "method": [str, type],
        "method_params": [None, dict],
        "attribute_params": [None, dict],
        "layer": [None, str],
        "output": [StrOptions(set(_OUTPUTS))],
        "channel_reduction": CHANNEL_REDUCTION_CONSTRAINT,
    }

    def __init__(
        self,
        estimator,
        *,
        method="Saliency",
        method_params=None,
        attribute_params=None,
        layer=None,
        output="logits",
        channel_reduction="sum",
        batch_size=32,
        n_jobs=None,
        random_state=None,
        verbose=0,
        image_shape=None,
    ):
        self.estimator = estimator
        self.method = method
        self.method_params = method_params
        self.attribute_params = attribute_params
        self.layer = layer
        self.output = output
        self.channel_reduction = channel_reduction
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    # -- fitting -----------------------------------------------------------

    def _fit_network(self, model, images):
        name, cls = _resolve_method(self.method)
        init_names = _parameter_names(cls.__init__, ("self",))
        takes_layer = "layer" in init_names
        self._check_params_of(
            "method_params",
            self.method_params,
            f"{name}()",
            cls.__init__,
            ("self", *_RESERVED_INIT),
            _RESERVED_INIT,
        )
        self._check_params_of(
            "attribute_params",
            self.attribute_params,
            f"{name}.attribute",
            cls.attribute,
            ("self", *_RESERVED_ATTRIBUTE),
            _RESERVED_ATTRIBUTE,
        )
        self.method_class_ = cls
        self.layer_ = self._resolve_layer(model, images, name, takes_layer)

    @staticmethod
    def _check_params_of(argument, params, where, func, skip, reserved):
        if not params:
            return
        taken = sorted(set(params) & set(reserved))
        if taken:
            raise ValueError(
                f"{argument} must not set {taken}: CaptumExplainer sets them "
                "(the network, the layer from `layer`, the images and the "
                "targets from explain)."
            )
        if _accepts_kwargs(func):
            return
        accepted = _parameter_names(func, skip)
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise ValueError(
                f"{argument} has {unknown}, which {where} does not take; it "
                f"takes {accepted}."
            )

    def _resolve_layer(self, model, images, name, takes_layer):
        if not takes_layer:
            if self.layer is not None:
                raise ValueError(
                    f"layer={self.layer!r} was given, but {name} takes no layer; "
                    "leave layer=None."
                )
            return None
        inputs = model.input_tensor(images[:1], layout_ndim=self.input_ndim_)
        if self.layer is None:
            # The class-activation default (see GradCAMExplainer).
            return default_cam_layer(model, inputs)
        check_cam_layer(model, inputs, self.layer)
        return self.layer

    # -- explaining ----------------------------------------------------------

    def _stochastic(self):
        return not isinstance(self.method, str) or self.method in _STOCHASTIC

    def _batches_perturbations(self):
        return isinstance(self.method, str) and self.method in _BATCHED_PERTURBATIONS

    def _images_per_batch(self):
        return 1 if self._stochastic() else self.batch_size

    def _explain(self, images, targets, seeds):
        import torch

        device = str(self._torch_model().device)
        devices = []
        if device.startswith("cuda"):
            index = torch.device(device).index
            devices = [torch.cuda.current_device() if index is None else index]
        # One seed per call (BaseExplainer gives every image the same).
        self._call_seed = seeds[0] if len(seeds) else 0
        # captum's GradientShap draws from numpy's global generator too.
        numpy_state = np.random.get_state()  # noqa: NPY002
        try:
            with torch.random.fork_rng(devices=devices):
                return super()._explain(images, targets, seeds)
        finally:
            np.random.set_state(numpy_state)  # noqa: NPY002
            del self._call_seed

    def _build(self, model):
        from torch import nn

        forward = model.forward
        if self.output == "probabilities":
            forward = nn.Sequential(model.forward, nn.Softmax(dim=1)).eval()
        args = [forward]
        if self.layer_ is not None:
            args.append(model.layer(self.layer_))
        return self.method_class_(*args, **(self.method_params or {}))

    def _attribute_kwargs(self, method, inputs, targets):
        import torch

        accepted = _parameter_names(method.attribute, ("self",))
        kwargs = {}
        for key, value in (self.attribute_params or {}).items():
            if isinstance(value, np.ndarray):
                value = torch.as_tensor(
                    value.astype(np.float32)
                    if np.issubdtype(value.dtype, np.floating)
                    else value,
                    device=inputs.device,
                )
            kwargs[key] = value
        if "target" in accepted:
            kwargs["target"] = targets
        if "internal_batch_size" in accepted:
            kwargs.setdefault("internal_batch_size", self.batch_size)
        if "perturbations_per_eval" in accepted and self._batches_perturbations():
            kwargs.setdefault(
                "perturbations_per_eval", max(1, self.batch_size // len(inputs))
            )
        return kwargs

    def _attribute(self, model, inputs, targets, images):
        import torch
        from captum.attr import GradientAttribution, LayerAttribution

        method = self._build(model)
        kwargs = self._attribute_kwargs(method, inputs, targets)
        if self._stochastic():
            torch.manual_seed(self._call_seed)
            np.random.seed(self._call_seed)  # noqa: NPY002
        if isinstance(method, GradientAttribution):
            inputs = inputs.detach().requires_grad_()
        result = method.attribute(inputs, **kwargs)
        details = {}
        if (
            isinstance(result, tuple)
            and len(result) == 2
            and kwargs.get("return_convergence_delta")
        ):
            result, details["delta"] = result
        if isinstance(result, tuple):
            result = result[0]
        result = result.detach()
        if isinstance(method, LayerAttribution):
            if result.ndim != 4:
                raise ValueError(
                    f"{type(method).__name__} at layer {self.layer_!r} returned "
                    f"attributions of shape {tuple(result.shape)}; CaptumExplainer "
                    "needs (n, K, h, w) maps, e.g. at a convolutional layer."
                )
            result = LayerAttribution.interpolate(
                result, tuple(inputs.shape[2:]), interpolate_mode="bilinear"
            )
        return result, details
