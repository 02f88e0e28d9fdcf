"""Grad-CAM: class activation maps weighted by pooled gradients."""

from __future__ import annotations

from .._adapter import check_cam_layer, default_cam_layer, feature_maps
from ._gradient import _GradientExplainer


def layer_output(model, name, inputs):
    """The output of layer ``name`` on ``inputs`` (captum's LayerActivation)."""
    from captum.attr import LayerActivation

    return LayerActivation(model.forward, model.layer(name)).attribute(inputs)


def conv_layer_names(module):
    """Dotted names of the :class:`torch.nn.Conv2d` layers of a module, in order.

    Examples
    --------
    >>> from sklearn_xai.attribution._gradcam import conv_layer_names
    >>> from sklearn_xai.neural_network import SmallCNN
    >>> conv_layer_names(SmallCNN())
    ['features.block0.conv', 'features.block1.conv']
    """
    from torch import nn

    return [
        name for name, layer in module.named_modules() if isinstance(layer, nn.Conv2d)
    ]


class GradCAMExplainer(_GradientExplainer):
    """Grad-CAM: gradient-weighted class activation maps (Selvaraju et al., 2017).

    At a convolutional ``layer`` with feature maps ``A_k``, each map is
    weighted by the spatial mean of the gradient of the network's logit
    (pre-softmax output) for the target class with respect to it, and the
    weighted maps are summed: ``relu(sum_k w_k A_k)``. The map is upsampled
    (bilinear, captum's
    :meth:`~captum.attr.LayerAttribution.interpolate`) to the network input
    size and, when a pipeline before the network resized the images, to the
    size of the explained images.

    Activations and gradients come from captum's layer-gradient routine,
    the one :class:`~captum.attr.LayerGradCam` is built on (its forward hook
    is removed even when the model raises), and the result equals
    ``LayerGradCam(...).attribute(..., relu_attributions=relu)``; the
    weighting is one method, ``_channel_weights``, so Grad-CAM variants
    (:class:`GradCAMPlusPlusExplainer`) override only it; those that re-run
    the network (:class:`ScoreCAMExplainer`) override ``_weights``.

    The network runs in eval mode (restored afterwards), ``batch_size``
    images at a time, on the device it lives on.

    Parameters
    ----------
    estimator : CNNClassifier, TorchClassifier or Pipeline
        A torch-backed classifier (:class:`~sklearn_xai.neural_network.CNNClassifier`,
        or :class:`~sklearn_xai.neural_network.TorchClassifier` for a
        network trained elsewhere) or a :class:`~sklearn.pipeline.Pipeline`
        ending in one, optionally in :class:`~sklearn.frozen.FrozenEstimator`.
    layer : str or None, default=None
        The layer whose output is explained: a dotted name as in
        ``network.get_submodule(layer)`` (e.g. ``"layer4"`` of a torchvision
        ResNet, ``"blocks.3.norm1"`` of a ViT), or a Keras layer name. Its
        output is read as feature maps: ``(n, K, h, w)``; channels last for
        Keras; a token sequence ``(n, [1 +] h * w, K)`` becomes ``(n, K, h,
        w)`` (class tokens dropped, the grid from the token count and the
        image's aspect ratio). None picks the output of the last
        convolutional stage or block after its nonlinearity (see
        :func:`sklearn_xai._adapter.default_cam_layer`: ``layer4`` of a
        ResNet, the last block's ReLU of
        :class:`~sklearn_xai.neural_network.SmallCNN`); a vision transformer
        has no default. A layer called more than once in ``forward`` (a
        reused in-place ReLU) is refused: name its block instead.
    reshape : callable or None, default=None
        A function turning the layer's output into ``(n, K, h, w)`` feature
        maps, for outputs the rules above do not read (e.g. a Swin stage's
        ``(n, h, w, K)``).
    relu : bool, default=True
        Keep only positive evidence, as in the paper (captum's
        ``relu_attributions``); False keeps the signed map.
    batch_size : int, default=32
        Images per forward and backward pass (bounds memory).
    n_jobs : int or None, default=None
        Accepted for API uniformity with the other explainers; gradient
        methods run batched in-process on the network's device.
    random_state : int, RandomState instance or None, default=None
        Accepted for API uniformity; Grad-CAM is deterministic.
    verbose : int, default=0
        Show a progress bar over images.
    image_shape : tuple of int or None, default=None
        How to read flattened images.

    Attributes
    ----------
    layer_ : str
        The dotted name of the explained layer.
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
    SaliencyExplainer : Gradients at the pixels.
    IntegratedGradientsExplainer : Gradients integrated from a baseline.

    References
    ----------
    .. [1] R. R. Selvaraju, M. Cogswell, A. Das, R. Vedantam, D. Parikh and
       D. Batra, "Grad-CAM: Visual explanations from deep networks via
       gradient-based localization", ICCV 2017.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import GradCAMExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = GradCAMExplainer(FrozenEstimator(clf)).fit(X[:100])
    >>> explainer.layer_
    'features.block1.relu'
    >>> explainer.explain(X[:2]).shape
    (2, 8, 8)
    """

    _parameter_constraints: dict = {
        **_GradientExplainer._parameter_constraints,
        "layer": [None, str],
        "relu": ["boolean"],
        "reshape": [None, callable],
    }

    def __init__(
        self,
        estimator,
        *,
        layer=None,
        relu=True,
        reshape=None,
        batch_size=32,
        n_jobs=None,
        random_state=None,
        verbose=0,
        image_shape=None,
    ):
        self.estimator = estimator
        self.layer = layer
        self.relu = relu
        self.reshape = reshape
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    # -- the hook of Grad-CAM variants -------------------------------------

    def _channel_weights(self, activations, gradients):
        """Weights ``(m, K, 1, 1)`` of the layer's ``K`` feature maps.

        Parameters
        ----------
        activations, gradients : torch.Tensor of shape (m, K, h, w)
            The layer's output and the gradient of the target logits with
            respect to it.

        Returns
        -------
        weights : torch.Tensor of shape (m, K, 1, 1)
            Grad-CAM's: the spatial mean of the gradients.
        """
        return gradients.mean(dim=(2, 3), keepdim=True)

    def _weights(self, module, inputs, targets, activations, gradients):
        """Weights ``(m, K, 1, 1)`` given the network, its input and targets.

        The general hook: ``_channel_weights(activations, gradients)`` by
        default. Variants that re-run the network on its input (Score-CAM)
        override this one and set ``_needs_gradients = False``, in which case
        ``gradients`` is None and no backward pass is made.
        """
        return self._channel_weights(activations, gradients)

    #: Whether the weighting needs the gradients at the layer (a backward pass).
    _needs_gradients = True

    # -- machinery ---------------------------------------------------------

    def _fit_network(self, model, images):
        inputs = model.input_tensor(images[:1], layout_ndim=self.input_ndim_)
        if self.layer is None:
            self.layer_ = default_cam_layer(model, inputs)
        else:
            check_cam_layer(model, inputs, self.layer)
            self.layer_ = self.layer
        # Check now that the layer's output reads as feature maps.
        with model.evaluating():
            activations = layer_output(model, self.layer_, inputs)
        self._feature_maps(model, activations, inputs)

    def _feature_maps(self, model, tensor, inputs):
        return feature_maps(
            tensor,
            channels_last=model.channels_last,
            image_size=tuple(inputs.shape[2:]),
            reshape=self.reshape,
            name=self.layer_,
        )

    def _attribute(self, model, inputs, targets, images):
        import torch
        from captum.attr import LayerAttribution

        from ..utils._compat import compute_layer_gradients_and_eval

        layer = model.layer(self.layer_)
        if self._needs_gradients:
            gradients, activations = compute_layer_gradients_and_eval(
                model.forward, layer, (inputs,), targets
            )
            gradients = self._feature_maps(model, gradients[0], inputs)
            activations = self._feature_maps(model, activations[0], inputs)
        else:
            gradients = None
            activations = self._feature_maps(
                model, layer_output(model, self.layer_, inputs), inputs
            )
        weights = self._weights(model.forward, inputs, targets, activations, gradients)
        cam = torch.sum(weights * activations, dim=1, keepdim=True)
        if self.relu:
            cam = torch.relu(cam)
        cam = LayerAttribution.interpolate(
            cam.detach(), tuple(inputs.shape[2:]), interpolate_mode="bilinear"
        )
        return cam, {}

    def _to_maps(self, attributions):
        return attributions[:, 0]
