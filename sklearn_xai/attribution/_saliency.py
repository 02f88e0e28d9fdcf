"""Saliency maps: the gradient of the class logit with respect to the pixels."""

from __future__ import annotations

from ._gradient import CHANNEL_REDUCTION_CONSTRAINT, _GradientExplainer


class SaliencyExplainer(_GradientExplainer):
    """Saliency maps: gradients of the class logit (Simonyan et al., 2014).

    The attribution of a pixel is the gradient of the network's logit
    (pre-softmax output) for the target class with respect to that pixel of
    the network input, computed by captum's
    :class:`~captum.attr.Saliency` on signed gradients and reduced over
    channels with ``channel_reduction``. The default ``"max_abs"``, the
    largest gradient magnitude over channels, is Simonyan et al.'s map (and
    captum's ``abs=True`` followed by a maximum over channels).

    The network runs in eval mode (restored afterwards), ``batch_size``
    images at a time, on the device it lives on. When a pipeline before the
    network resizes the images, the maps are resized back (bilinear) to the
    size of the explained images; gradients are taken with respect to the
    network input, i.e. after the pipeline's preprocessing.

    Parameters
    ----------
    estimator : CNNClassifier, TorchClassifier or Pipeline
        A torch-backed classifier (:class:`~sklearn_xai.neural_network.CNNClassifier`,
        or :class:`~sklearn_xai.neural_network.TorchClassifier` for a
        network trained elsewhere) or a :class:`~sklearn.pipeline.Pipeline`
        ending in one, optionally in :class:`~sklearn.frozen.FrozenEstimator`.
    channel_reduction : {"max_abs", "sum", "abs_sum", "l2"}, default="max_abs"
        How the gradients of a pixel's channels become one value:
        the largest magnitude, the signed sum, the sum of magnitudes or the
        Euclidean norm.
    batch_size : int, default=32
        Images per forward and backward pass (bounds memory).
    n_jobs : int or None, default=None
        Accepted for API uniformity with the other explainers; gradient
        methods run batched in-process on the network's device.
    random_state : int, RandomState instance or None, default=None
        Accepted for API uniformity; saliency is deterministic.
    verbose : int, default=0
        Show a progress bar over images.
    image_shape : tuple of int or None, default=None
        How to read flattened images.

    Attributes
    ----------
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
    IntegratedGradientsExplainer : Gradients integrated along a path from a
        baseline, which satisfy completeness.
    GradCAMExplainer : Class activation maps at a convolutional layer.

    References
    ----------
    .. [1] K. Simonyan, A. Vedaldi and A. Zisserman, "Deep inside
       convolutional networks: Visualising image classification models and
       saliency maps", ICLR Workshop 2014.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import SaliencyExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = SaliencyExplainer(FrozenEstimator(clf)).fit(X[:100])
    >>> explainer.explain(X[:2]).shape
    (2, 8, 8)
    """

    _parameter_constraints: dict = {
        **_GradientExplainer._parameter_constraints,
        "channel_reduction": CHANNEL_REDUCTION_CONSTRAINT,
    }

    def __init__(
        self,
        estimator,
        *,
        channel_reduction="max_abs",
        batch_size=32,
        n_jobs=None,
        random_state=None,
        verbose=0,
        image_shape=None,
    ):
        self.estimator = estimator
        self.channel_reduction = channel_reduction
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    def _attribute(self, model, inputs, targets, images):
        from captum.attr import Saliency

        inputs = inputs.requires_grad_()
        saliency = Saliency(model.forward)
        gradients = saliency.attribute(inputs, target=targets, abs=False)
        return gradients, {}
