"""A bridge that gives any captum attribution method our estimator API."""

from __future__ import annotations

import contextlib
import inspect

import numpy as np

from .._adapter import check_cam_layer, default_cam_layer
from ..utils._compat import StrOptions
from ..utils._seeds import call_seed, image_seeds
from ..utils._torch_random import forked_rng
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
#: ``attribute`` arguments that may hold one row per image. A 4-D array's
#: first axis is the image axis: 1 row is shared by every image, n rows (the
#: number of explained images) are sliced with each batch, as targets are.
_PER_IMAGE = ("baselines", "feature_mask", "layer_baselines", "layer_mask")
#: Of these, the ones shaped like the network input ``(n, C, h, w)``.
_INPUT_SHAPED = ("baselines", "feature_mask")
#: The methods whose ``baselines`` are a distribution of references shared by
#: every image (GradientShap draws from them, DeepLiftShap averages over
#: them). Without ``baselines`` they get :func:`_reference_baselines`.
_DISTRIBUTIONS = (
    "DeepLiftShap",
    "GradientShap",
    "LayerDeepLiftShap",
    "LayerGradientShap",
)
#: Those that average over the references: captum needs two or more.
_AVERAGING = ("DeepLiftShap", "LayerDeepLiftShap")


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


def _is_one_of(cls, names):
    """Whether ``cls`` is (a subclass of) one of the captum methods ``names``."""
    import captum.attr

    return issubclass(cls, tuple(getattr(captum.attr, name) for name in names))


def _required_names(func, skip):
    """Arguments of ``func`` without a default, except ``skip``."""
    return [
        name
        for name, p in inspect.signature(func).parameters.items()
        if name not in skip
        and p.default is inspect.Parameter.empty
        and p.kind
        not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


def _reference_baselines(model, images, layout_ndim, batch_size):
    """The default references of the SHAP methods: ``(2, C, h, w)`` float32.

    A zero network input (the default baseline of captum's
    IntegratedGradients and DeepLift) and the mean network input over
    ``images`` (the mean training image as the network sees it, after the
    pipeline's preprocessing), accumulated ``batch_size`` images at a time.
    """
    import torch

    total = None
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            inputs = model.input_tensor(
                images[start : start + batch_size], layout_ndim=layout_ndim
            )
            batch_sum = inputs.double().sum(dim=0)
            total = batch_sum if total is None else total + batch_sum
    mean = (total / len(images)).float().cpu().numpy()
    return np.stack([np.zeros_like(mean), mean])


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
    (which captum's ``GradientShap`` draws from) seeded before each image
    with the image's seed (from ``random_state`` and the image's content),
    and both generators' states restored afterwards: an image's attribution
    depends only on the image and ``random_state``.

    Modified-backpropagation methods (``DeepLift``, ``GuidedBackprop``,
    ``Deconvolution``, ``LRP``) hook the network's modules, so each
    non-linearity must be a module of its own, used once;
    :class:`~sklearn_xai.neural_network.SmallCNN` satisfies this. captum's
    ``LRP`` has no rule for :class:`torch.nn.Flatten`, which SmallCNN uses,
    and raises a ``TypeError`` for it; networks that flatten in ``forward``
    work.

    The SHAP methods (``GradientShap``, ``DeepLiftShap`` and their
    ``Layer*`` versions) compare each image with a distribution of
    references, their ``baselines``. Without ``baselines`` in
    ``attribute_params`` they get two, learned in ``fit`` (``baselines_``):
    a zero network input (the default baseline of captum's
    ``IntegratedGradients`` and ``DeepLift``) and the mean training image as
    the network sees it (the mean network input over the images passed to
    ``fit``, after the pipeline's preprocessing). An argument that a method
    requires and the bridge does not choose (``Occlusion``'s
    ``sliding_window_shapes``) is a ValueError at ``fit``.

    ``explain`` changes nothing on the explainer and leaves the global
    generators as it found them: a call's seeds and per-image arguments are
    handed to each batch, never stored, and the random methods run on
    torch's and numpy's generators forked for each image
    (:func:`~sklearn_xai.utils._torch_random.forked_rng`).

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
        float32), in the network's channels-first input layout ``(n, C, h,
        w)`` (after the pipeline's preprocessing; not the images'
        ``(n, H, W, C)``): ``baselines`` and ``feature_mask`` are ``(1, C, h,
        w)``, shared by every image, or ``(n_images, C, h, w)``, one row per
        explained image (C, h, w may be 1 to broadcast, e.g. a
        ``feature_mask`` ``(1, 1, h, w)`` shared by channels and images).
        Such per-image arrays, and 4-D ``layer_baselines`` and ``layer_mask``
        with ``n_images`` rows, are sliced with each batch as the targets
        are; a first axis of any other length is a ValueError naming the
        key. The ``baselines`` of the SHAP methods are instead a
        distribution ``(n_references, C, h, w)`` shared by every image (at
        least 2 for ``DeepLiftShap``). Unless given, ``internal_batch_size`` is
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
    baselines_ : ndarray of shape (2, C, h, w) or None
        The default references of a SHAP method given no ``baselines``: a
        zero network input and the mean network input of the training
        images; None otherwise.
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
        params = self.attribute_params or {}
        distribution = _is_one_of(cls, _DISTRIBUTIONS)
        missing = [
            key
            for key in _required_names(cls.attribute, ("self", *_RESERVED_ATTRIBUTE))
            if key not in params and not (key == "baselines" and distribution)
        ]
        if missing:
            raise ValueError(
                f"{name}.attribute requires {missing}, which CaptumExplainer "
                "does not choose; pass them in attribute_params."
            )
        inputs = model.input_tensor(images[:1], layout_ndim=self.input_ndim_)
        self._check_array_shapes(name, cls, params, tuple(inputs.shape[1:]))
        self.method_class_ = cls
        self.layer_ = self._resolve_layer(model, images, name, takes_layer)
        self.baselines_ = None
        if distribution and "baselines" not in params:
            self.baselines_ = _reference_baselines(
                model, images, self.input_ndim_, self._model_batch_size()
            )

    def _check_array_shapes(self, name, cls, params, input_shape):
        """Refuse arrays of ``attribute_params`` the network input cannot take.

        The image axis is checked in ``explain``, where the number of images
        is known (:meth:`_per_image_rows`).
        """
        expected = "(" + ", ".join(str(s) for s in input_shape) + ")"
        for key in _INPUT_SHAPED:
            shape = getattr(params.get(key), "shape", None)
            if shape is None or len(shape) == 0:
                continue  # a number, or None: captum broadcasts it
            shape = tuple(int(s) for s in shape)
            if key == "baselines" and _is_one_of(cls, _DISTRIBUTIONS):
                least = 2 if _is_one_of(cls, _AVERAGING) else 1
                if len(shape) != 4 or shape[1:] != input_shape or shape[0] < least:
                    raise ValueError(
                        f"attribute_params['baselines'] of {name} is a "
                        "distribution of references shared by every image: an "
                        f"array (n_references, C, h, w) with C, h, w = {expected}, "
                        "the network input (channels first, after the pipeline's "
                        f"preprocessing), and n_references >= {least}; got an "
                        f"array of shape {shape}."
                    )
                continue
            if len(shape) > 4 or any(
                got not in (1, want)
                for got, want in zip(shape[::-1], input_shape[::-1], strict=False)
            ):
                raise ValueError(
                    f"attribute_params[{key!r}] has shape {shape}, which does not "
                    f"fit the network input (n, C, h, w) with C, h, w = {expected} "
                    "(channels first, after the pipeline's preprocessing): give "
                    "(1, C, h, w) shared by every image or (n_images, C, h, w) "
                    "with one row per image; C, h and w may also be 1 (broadcast)."
                )

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
        return 1 if self._stochastic() else self._model_batch_size()

    def _per_image_rows(self, n_images):
        """The arrays of ``attribute_params`` with one row per image.

        A 4-D array of a :data:`_PER_IMAGE` key (except the reference
        distribution of the SHAP methods) has images on its first axis: one
        row is shared by every image, ``n_images`` rows are returned here to
        be sliced with the batches, any other count is a ValueError.
        """
        rows = {}
        distribution = _is_one_of(self.method_class_, _DISTRIBUTIONS)
        for key, value in (self.attribute_params or {}).items():
            shape = getattr(value, "shape", None)
            if key not in _PER_IMAGE or shape is None or len(shape) != 4:
                continue
            if key == "baselines" and distribution:
                continue
            if int(shape[0]) == n_images:
                rows[key] = value
            elif int(shape[0]) != 1:
                raise ValueError(
                    f"attribute_params[{key!r}] has shape "
                    f"{tuple(int(s) for s in shape)}: its first axis holds "
                    "images and must have 1 row (shared by every image) or one "
                    f"row per explained image ({n_images}); got {int(shape[0])}."
                )
        return rows

    def _explain(self, images, targets, seeds):
        # The call's seeds and per-image rows reach each batch through its
        # slice of the images: explain changes nothing on the explainer.
        rows = self._per_image_rows(len(images))
        stochastic = self._stochastic()

        def attribute(model, inputs, batch_targets, batch, span):
            return self._attribute_batch(
                model,
                inputs,
                batch_targets,
                seed=seeds[span.start] if stochastic else None,
                rows={key: value[span] for key, value in rows.items()},
            )

        return self._explain_batches(images, targets, attribute=attribute)

    def _build(self, model):
        from torch import nn

        forward = model.forward
        if self.output == "probabilities":
            forward = nn.Sequential(model.forward, nn.Softmax(dim=1)).eval()
        args = [forward]
        if self.layer_ is not None:
            args.append(model.layer(self.layer_))
        return self.method_class_(*args, **(self.method_params or {}))

    def _attribute_kwargs(self, method, inputs, targets, rows):
        import torch

        accepted = _parameter_names(method.attribute, ("self",))
        params = {**(self.attribute_params or {}), **rows}
        if getattr(self, "baselines_", None) is not None:
            params.setdefault("baselines", self.baselines_)
        kwargs = {}
        for key, value in params.items():
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
            kwargs.setdefault("internal_batch_size", self._model_batch_size())
        if "perturbations_per_eval" in accepted and self._batches_perturbations():
            kwargs.setdefault(
                "perturbations_per_eval",
                max(1, self._model_batch_size() // len(inputs)),
            )
        return kwargs

    def _attribute(self, model, inputs, targets, images):
        # The hook, for callers that run the batches themselves
        # (SmoothGradExplainer, over noisy copies): no per-image rows; a
        # random method (one image per batch) is seeded from random_state and
        # the image's content, as in explain.
        try:
            self._per_image_rows(1)
        except ValueError:
            raise ValueError(
                "attribute_params holds arrays with one row per explained "
                "image, which only CaptumExplainer.explain can slice; inside "
                "another explainer (e.g. SmoothGradExplainer) give arrays of "
                "1 row, shared by every image."
            ) from None
        seed = None
        if self._stochastic():
            seed = image_seeds(call_seed(self.random_state), images)[0]
        return self._attribute_batch(model, inputs, targets, seed=seed, rows={})

    def _attribute_batch(self, model, inputs, targets, *, seed, rows):
        """Attributions of one batch: ``rows`` are its per-image arguments.

        With a ``seed`` (a random method, one image per batch), the method
        runs on torch's and numpy's global generators forked and seeded
        with it, which captum's random methods draw from.
        """
        from captum.attr import GradientAttribution, LayerAttribution

        method = self._build(model)
        kwargs = self._attribute_kwargs(method, inputs, targets, rows)
        if isinstance(method, GradientAttribution):
            inputs = inputs.detach().requires_grad_()
        generators = (
            contextlib.nullcontext()
            if seed is None
            else forked_rng(seed, device=inputs.device, numpy_global=True)
        )
        with generators:
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
