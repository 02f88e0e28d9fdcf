"""Grad-CAM++: class activation maps weighted by positive gradients."""

from __future__ import annotations

from ._gradcam import GradCAMExplainer


class GradCAMPlusPlusExplainer(GradCAMExplainer):
    r"""Grad-CAM++: activation maps weighted by pixel-wise positive gradients
    (Chattopadhay et al., 2018).

    Grad-CAM with another weighting of the feature maps ``A_k`` of ``layer``;
    the layer selection, the rectification and the upsampling are
    :class:`GradCAMExplainer`'s. With ``g = dS / dA`` the gradient of the
    target logit ``S`` (pre-softmax output), the weight of map ``k`` is

    .. math::

        w_k = \sum_{ij} \alpha_{kij} \, \mathrm{relu}(g_{kij}), \qquad
        \alpha_{kij} = \frac{g_{kij}^2}
        {2 g_{kij}^2 + \bigl(\sum_{ab} A_{kab}\bigr) g_{kij}^3},

    the paper's closed form (its Eq. 19) for the score ``exp(S)``, whose
    second and third derivatives are powers of the first ones for a network
    that is piecewise linear in ``A`` (ReLU networks); the common factor
    ``exp(S)`` is left out, as in the authors' and in ``pytorch-grad-cam``'s
    code, since it only scales each map. Where the denominator is 0 (e.g.
    ``g = 0``), ``alpha`` is 0. The formula assumes non-negative activations
    (a layer after a ReLU); at a convolution before batch normalization and
    ReLU, ``sum A`` can be negative and so can ``alpha``.

    In a network whose head is global average pooling and a linear layer
    (``S = sum_k W_k mean(A_k)``), ``w_k = relu(W_k) / (2 + W_k mean(A_k))``,
    against Grad-CAM's ``W_k / (h w)``: the two differ as soon as the maps do.

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
        Keep only positive evidence in the final map, as in the paper.
    batch_size : int, default=32
        Images per forward and backward pass (bounds memory).
    n_jobs : int or None, default=None
        Accepted for API uniformity with the other explainers; gradient
        methods run batched in-process on the network's device.
    random_state : int, RandomState instance or None, default=None
        Accepted for API uniformity; Grad-CAM++ is deterministic.
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
    GradCAMExplainer : Maps weighted by the mean gradient.
    ScoreCAMExplainer : Maps weighted by the score of the masked image.

    References
    ----------
    .. [1] A. Chattopadhay, A. Sarkar, P. Howlader and V. N. Balasubramanian,
       "Grad-CAM++: Generalized gradient-based visual explanations for deep
       convolutional networks", WACV 2018.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import GradCAMPlusPlusExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = GradCAMPlusPlusExplainer(FrozenEstimator(clf)).fit(X[:100])
    >>> explainer.explain(X[:2]).shape
    (2, 8, 8)
    """

    def _channel_weights(self, activations, gradients):
        """Grad-CAM++'s weights ``(m, K, 1, 1)`` (the closed form above)."""
        import torch

        squared = gradients * gradients
        totals = activations.sum(dim=(2, 3), keepdim=True)
        denominator = 2 * squared + totals * squared * gradients
        nonzero = denominator != 0
        alpha = torch.where(nonzero, squared / torch.where(nonzero, denominator, 1), 0)
        return torch.sum(alpha * torch.relu(gradients), dim=(2, 3), keepdim=True)
