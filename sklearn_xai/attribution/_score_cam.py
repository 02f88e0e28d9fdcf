"""Score-CAM: class activation maps weighted by the scores of masked images."""

from __future__ import annotations

from ..utils._compat import StrOptions
from ._gradcam import GradCAMExplainer

_SCORES = ("softmax", "increase")


class _MaskedInputs:
    """``inputs[i] * masks`` for batches of maps, computed faster.

    Network inputs made from channels-last images are channels-last tensors
    ``(n, C, H, W)``, on which the product broadcasts each mask value over
    the ``C`` channels of a pixel, a few values per loop. For such inputs
    (``C > 1``, masks of their dtype), each batch is made in one buffer
    reused for every batch (the network has returned before the next): the
    images' rows are copied in, the masks are gathered into the same
    channels-last order and the two are multiplied over whole rows. The
    numbers and the strides are those of ``inputs[i] * masks`` (1.6 times
    faster at 224x224); other inputs get that expression.
    """

    def __init__(self, inputs, batch_size):
        import torch

        n, channels, height, width = inputs.shape
        self.inputs = inputs
        pixels = inputs.permute(0, 2, 3, 1)
        self.fast = channels > 1 and pixels.is_contiguous()
        if self.fast:
            self.rows = pixels.reshape(n, -1)  # a view: (n, H * W * C)
            self.pixel = torch.arange(
                height * width, device=inputs.device
            ).repeat_interleave(channels)
            self.images = torch.empty(
                (batch_size, self.rows.shape[1]),
                dtype=inputs.dtype,
                device=inputs.device,
            )
            self.masks = torch.empty_like(self.images)

    def __call__(self, i, masks):
        import torch

        if not self.fast or masks.dtype != self.inputs.dtype:
            return self.inputs[i] * masks
        m = len(i)
        _, channels, height, width = self.inputs.shape
        images = torch.index_select(self.rows, 0, i, out=self.images[:m])
        spread = torch.index_select(
            masks.reshape(m, -1), 1, self.pixel, out=self.masks[:m]
        )
        images.mul_(spread)
        return images.view(m, height, width, channels).permute(0, 3, 1, 2)


class ScoreCAMExplainer(GradCAMExplainer):
    r"""Score-CAM: activation maps weighted by the model's score of the image
    they mask (Wang et al., 2020).

    Grad-CAM without gradients: the layer selection, the rectification and
    the upsampling are :class:`GradCAMExplainer`'s, the weights of the
    feature maps ``A_k`` of ``layer`` are found by running the network again.
    Each map is upsampled (bilinear) to the network input, min-max
    normalized to ``[0, 1]`` and multiplies the input, ``X * H_k``; the
    logit of the target class for each masked input gives the weight:

    * ``weighting="softmax"`` (the paper's Algorithm 1, and
      ``pytorch-grad-cam``'s ``ScoreCAM``): ``w = softmax_k(S(X * H_k))``,
      the softmax over the maps of the target logits. It equals the softmax
      of the increases ``S(X * H_k) - S(X_b)`` over any baseline ``X_b``.
    * ``weighting="increase"`` (the paper's Eq. 3, "increase of confidence"):
      ``w_k = p(X * H_k) - p(0)``, the target's softmax probability for the
      masked input minus that for the all-zero input (the image masked by
      nothing).

    A constant map carries no location and is skipped (weight 0, not in the
    softmax), as in the authors' code. The map is then
    ``relu(sum_k w_k A_k)``, upsampled like Grad-CAM's. Masking happens at
    the network input, after a pipeline's preprocessing (after an
    :class:`~sklearn_xai.preprocessing.ImageNormalizer`, a 0 is the mean
    colour).

    One image costs one forward pass per non-constant map: ``batch_size``
    masked inputs (maps times images) go through the network at a time.

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
    weighting : {"softmax", "increase"}, default="softmax"
        How the logits of the masked inputs become weights (see above).
    batch_size : int, default=32
        Images per batch, and masked inputs per forward pass (bounds
        memory).
    n_jobs : int or None, default=None
        Accepted for API uniformity with the other explainers; gradient
        methods run batched in-process on the network's device.
    random_state : int, RandomState instance or None, default=None
        Accepted for API uniformity; Score-CAM is deterministic.
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
    GradCAMPlusPlusExplainer : Maps weighted by positive gradients.

    References
    ----------
    .. [1] H. Wang, Z. Wang, M. Du, F. Yang, Z. Zhang, S. Ding, P. Mardziel
       and X. Hu, "Score-CAM: Score-weighted visual explanations for
       convolutional neural networks", CVPR Workshops 2020.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import ScoreCAMExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = ScoreCAMExplainer(FrozenEstimator(clf)).fit(X[:100])
    >>> explainer.explain(X[:2]).shape
    (2, 8, 8)
    """

    _parameter_constraints: dict = {
        **GradCAMExplainer._parameter_constraints,
        "weighting": [StrOptions(set(_SCORES))],
    }

    _needs_gradients = False

    def __init__(
        self,
        estimator,
        *,
        layer=None,
        relu=True,
        reshape=None,
        weighting="softmax",
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
        self.weighting = weighting
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    def _weights(self, module, inputs, targets, activations, gradients):
        import torch
        from captum.attr import LayerAttribution

        m, k = activations.shape[:2]
        size = tuple(inputs.shape[2:])
        weights = torch.zeros(m, k, dtype=activations.dtype, device=inputs.device)
        with torch.no_grad():
            flat = activations.detach().flatten(2)
            varying = flat.amax(dim=2) > flat.amin(dim=2)
            rows, channels = torch.nonzero(varying, as_tuple=True)
            logits = []
            batch_size = self._model_batch_size()
            masked = _MaskedInputs(inputs, min(batch_size, len(rows)))
            for start in range(0, len(rows), batch_size):
                i = rows[start : start + batch_size]
                c = channels[start : start + batch_size]
                maps = activations[i, c][:, None]
                maps = LayerAttribution.interpolate(maps, size, "bilinear")
                low, high = torch.aminmax(maps.flatten(1), dim=1)
                low, high = low[:, None, None, None], high[:, None, None, None]
                # Bilinear upsampling keeps a varying map varying.
                masks = maps.sub_(low).div_(high - low)
                outputs = module(masked(i, masks))
                if self.weighting == "increase":
                    outputs = torch.softmax(outputs, dim=1)
                logits.append(outputs[torch.arange(len(i)), targets[i]])
            scores = torch.full_like(weights, float("nan"))
            if logits:
                scores[rows, channels] = torch.cat(logits).to(scores.dtype)
            if self.weighting == "softmax":
                # Constant maps (NaN here) take no part in the softmax.
                scores = torch.where(varying, scores, -torch.inf)
                weights = torch.softmax(scores, dim=1)
                weights = torch.nan_to_num(weights, nan=0.0)
            else:
                base = torch.softmax(module(torch.zeros_like(inputs[:1])), dim=1)
                base = base[0, targets][:, None].to(scores.dtype)
                weights = torch.where(varying, scores - base, 0)
        return weights[:, :, None, None]
