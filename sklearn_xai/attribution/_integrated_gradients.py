"""Integrated Gradients: gradients integrated along a path from a baseline."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ..utils._blur import blur_images
from ..utils._compat import Interval, StrOptions
from ._gradient import CHANNEL_REDUCTION_CONSTRAINT, _GradientExplainer

#: Captum's integration rules.
_METHODS = (
    "gausslegendre",
    "riemann_left",
    "riemann_middle",
    "riemann_right",
    "riemann_trapezoid",
)
_BASELINES = ("zeros", "mean", "blur")


class IntegratedGradientsExplainer(_GradientExplainer):
    """Integrated Gradients (Sundararajan et al., 2017).

    The attribution of a pixel is its difference to a baseline image times
    the gradient of the network's logit (pre-softmax output) for the target
    class, averaged along the straight path from the baseline to the image,
    computed by captum's :class:`~captum.attr.IntegratedGradients` with
    ``n_steps`` points of the ``method`` quadrature, at the network input
    (after a pipeline's preprocessing). Summed over channels
    (``channel_reduction="sum"``, the default) and pixels, the attributions
    add up to ``logit(image) - logit(baseline)`` (completeness) up to the
    integration error, reported per image as ``delta`` by
    ``explain(..., return_details=True)``.

    The network runs in eval mode (restored afterwards) on its device,
    ``batch_size`` images at a time, and each forward and backward pass holds
    at most ``batch_size`` path points (captum's ``internal_batch_size``):
    ``batch_size // m`` steps of the ``m`` images of a batch. When a
    pipeline before the network resizes the images, the maps are resized
    back (bilinear) to the size of the explained images (which does not keep
    their sum exactly).

    Parameters
    ----------
    estimator : CNNClassifier, TorchClassifier or Pipeline
        A torch-backed classifier (:class:`~sklearn_xai.neural_network.CNNClassifier`,
        or :class:`~sklearn_xai.neural_network.TorchClassifier` for a
        network trained elsewhere) or a :class:`~sklearn.pipeline.Pipeline`
        ending in one, optionally in :class:`~sklearn.frozen.FrozenEstimator`.
    baseline : {"zeros", "mean", "blur"} or array-like, default="zeros"
        Where the path starts. ``"zeros"``: the all-zero network input
        (captum's default; after an
        :class:`~sklearn_xai.preprocessing.ImageNormalizer` this is the mean
        colour, not a black image). ``"mean"``: the mean training image
        learned in ``fit``. ``"blur"``: a Gaussian-blurred copy of each image
        (sigma a tenth of the image side), which removes edges and texture
        but keeps colours. An array: one image, shaped ``(H, W, C)``,
        ``(H, W)`` (gray) or flattened like the fitted images, e.g.
        ``np.zeros((H, W, C))`` for a black image. Images given here (mean,
        blur, array) are in the caller's pixel space and go through the
        pipeline's preprocessing like the explained images.
    n_steps : int, default=50
        Points of the path integral.
    method : {"gausslegendre", "riemann_left", "riemann_middle", \
"riemann_right", "riemann_trapezoid"}, default="gausslegendre"
        Quadrature rule, as captum's.
    channel_reduction : {"sum", "abs_sum", "l2", "max_abs"}, default="sum"
        How the attributions of a pixel's channels become one value;
        ``"sum"`` keeps signs and completeness.
    batch_size : int, default=64
        Images per batch, and path points (network rows) per forward and
        backward pass; bounds memory.
    n_jobs : int or None, default=None
        Accepted for API uniformity with the other explainers; gradient
        methods run batched in-process on the network's device.
    random_state : int, RandomState instance or None, default=None
        Accepted for API uniformity; Integrated Gradients is deterministic.
    verbose : int, default=0
        Show a progress bar over images.
    image_shape : tuple of int or None, default=None
        How to read flattened images.

    Attributes
    ----------
    baseline_ : ndarray of shape (H, W, C) or None
        The baseline image in the caller's pixel space for ``"mean"`` and an
        array baseline; None for ``"zeros"`` (a zero network input) and
        ``"blur"`` (one baseline per explained image).
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
    SaliencyExplainer : Plain gradients.
    GradCAMExplainer : Class activation maps at a convolutional layer.

    References
    ----------
    .. [1] M. Sundararajan, A. Taly and Q. Yan, "Axiomatic attribution for
       deep networks", ICML 2017.
    .. [2] P. Sturmfels, S. Lundberg and S.-I. Lee, "Visualizing the impact
       of feature attribution baselines", Distill 2020 (blurred baselines).

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import IntegratedGradientsExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = IntegratedGradientsExplainer(FrozenEstimator(clf),
    ...                                          baseline="mean").fit(X[:100])
    >>> attributions, details = explainer.explain(X[:2], return_details=True)
    >>> attributions.shape, details.delta.shape
    ((2, 8, 8), (2,))
    """

    _parameter_constraints: dict = {
        **_GradientExplainer._parameter_constraints,
        "baseline": [StrOptions(set(_BASELINES)), "array-like"],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions(set(_METHODS))],
        "channel_reduction": CHANNEL_REDUCTION_CONSTRAINT,
    }

    def __init__(
        self,
        estimator,
        *,
        baseline="zeros",
        n_steps=50,
        method="gausslegendre",
        channel_reduction="sum",
        batch_size=64,
        n_jobs=None,
        random_state=None,
        verbose=0,
        image_shape=None,
    ):
        self.estimator = estimator
        self.baseline = baseline
        self.n_steps = n_steps
        self.method = method
        self.channel_reduction = channel_reduction
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    def _fit_network(self, model, images):
        if isinstance(self.baseline, str):
            mean = self.baseline == "mean"
            self.baseline_ = images.mean(axis=0, dtype=np.float64) if mean else None
        else:
            self.baseline_ = self._check_baseline_array(self.baseline)
        if self.baseline_ is not None:
            self.baseline_ = self.baseline_.astype(np.float32)
            # Fail now, not at explain time, if the preprocessing rejects it.
            model.input_tensor(self.baseline_[np.newaxis], layout_ndim=self.input_ndim_)

    def _check_baseline_array(self, baseline):
        shape = self.image_shape_
        array = np.asarray(baseline, dtype=np.float64)
        accepted = {shape, (int(np.prod(shape)),)}
        if shape[2] == 1:
            accepted.add(shape[:2])
        if array.shape not in accepted:
            raise ValueError(
                "baseline must be 'zeros', 'mean', 'blur' or one image of the "
                f"fitted shape {shape} (or {shape[:2]} for gray images, or "
                f"flattened); got an array of shape {array.shape}."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError("baseline must not contain NaN or infinity.")
        return array.reshape(shape)

    def _baselines(self, model, inputs, images):
        if self.baseline_ is not None:
            image = self.baseline_[np.newaxis]
            tensor = model.input_tensor(image, layout_ndim=self.input_ndim_)
            return tensor.expand_as(inputs)
        if isinstance(self.baseline, str) and self.baseline == "blur":
            return model.input_tensor(blur_images(images), layout_ndim=self.input_ndim_)
        return 0.0

    def _attribute(self, model, inputs, targets, images):
        from captum.attr import IntegratedGradients

        attributions, delta = IntegratedGradients(model.forward).attribute(
            inputs,
            baselines=self._baselines(model, inputs, images),
            target=targets,
            n_steps=self.n_steps,
            method=self.method,
            internal_batch_size=self._model_batch_size(),
            return_convergence_delta=True,
        )
        return attributions, {"delta": delta}
