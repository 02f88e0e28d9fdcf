"""Layers of a network and their outputs as feature maps ``(n, K, h, w)``.

Class-activation methods (the Grad-CAM family, Score-CAM, captum's layer
methods) read a layer's output as ``K`` feature maps of ``h x w`` cells.
Networks store them differently: torch convolutions as ``(n, K, h, w)``,
Keras ones channels last ``(n, h, w, K)``, vision transformers as a token
sequence ``(n, [class tokens +] h * w, K)``. :func:`feature_maps` turns each
into ``(n, K, h, w)``; :func:`default_cam_layer` picks the layer the papers
and pytorch-grad-cam use when the user names none.
"""

from __future__ import annotations

import numpy as np

#: How many leading non-patch tokens (class, distillation) are looked for.
_MAX_PREFIX_TOKENS = 2


def named_layers(network, *, keras=False):
    """``(name, layer)`` pairs of a network, in definition order.

    Torch modules give their dotted ``named_modules`` names (the root left
    out); Keras 3 models give their layers under their Keras names.

    Examples
    --------
    >>> from torch import nn
    >>> from sklearn_xai._adapter import named_layers
    >>> [name for name, _ in named_layers(nn.Sequential(nn.Conv2d(1, 2, 3),
    ...                                                 nn.ReLU()))]
    ['0', '1']
    """
    if keras:
        return [(layer.name, layer) for layer in network.layers]
    return [(name, layer) for name, layer in network.named_modules() if name]


def token_grid(n_tokens, image_size):
    """``(n_prefix, h, w)`` reading ``n_tokens`` as prefix tokens + a grid.

    The grid must have the image's aspect ratio exactly (``h / w == H /
    W``); up to two leading tokens (class and distillation tokens) are
    dropped. Returns None when no such reading exists.

    Examples
    --------
    >>> from sklearn_xai._adapter._layers import token_grid
    >>> token_grid(197, (224, 224))
    (1, 14, 14)
    >>> token_grid(32, (32, 64))
    (0, 4, 8)
    """
    height, width = image_size
    for prefix in range(_MAX_PREFIX_TOKENS + 1):
        cells = n_tokens - prefix
        if cells < 2:
            break
        for rows in range(1, cells + 1):
            if cells % rows:
                continue
            cols = cells // rows
            if rows * width == cols * height:
                return prefix, rows, cols
    return None


def feature_maps(activations, *, channels_last, image_size, reshape=None, name=None):
    """A layer's output as feature maps ``(n, K, h, w)``.

    Parameters
    ----------
    activations : torch.Tensor
        The layer's output: ``(n, K, h, w)``, channels last ``(n, h, w, K)``
        (Keras), or tokens ``(n, T, K)``.
    channels_last : bool
        Whether 4-D outputs are channels last.
    image_size : tuple of 2 int
        ``(H, W)`` of the network input, to infer a token grid.
    reshape : callable or None, default=None
        The user's conversion of the layer output to ``(n, K, h, w)``; used
        instead of the rules when given.
    name : str or None, default=None
        The layer's name, for messages.

    Returns
    -------
    maps : torch.Tensor of shape (n, K, h, w)
        A view (or permuted view) of ``activations``: gradients flow back.

    Raises
    ------
    ValueError
        When the output cannot be read as feature maps.

    Examples
    --------
    >>> import torch
    >>> from sklearn_xai._adapter import feature_maps
    >>> tokens = torch.zeros(2, 1 + 4 * 4, 8)   # class token + 4x4 patches
    >>> feature_maps(tokens, channels_last=False, image_size=(32, 32)).shape
    torch.Size([2, 8, 4, 4])
    """
    where = f"layer {name!r}" if name else "the layer"
    if reshape is not None:
        maps = reshape(activations)
        if getattr(maps, "ndim", None) != 4:
            raise ValueError(
                f"reshape must turn the output of {where} into (n, K, h, w) "
                f"feature maps; it returned shape {tuple(np.shape(maps))}."
            )
        return maps
    if activations.ndim == 4:
        return activations.permute(0, 3, 1, 2) if channels_last else activations
    if activations.ndim == 3:
        n, n_tokens, dim = activations.shape
        grid = token_grid(n_tokens, image_size)
        if grid is None:
            raise ValueError(
                f"{where} outputs {n_tokens} tokens, which are not a grid of the "
                f"image's aspect ratio {image_size[0]}x{image_size[1]} after up to "
                f"{_MAX_PREFIX_TOKENS} class tokens; pass reshape= a function "
                "turning its output into (n, K, h, w)."
            )
        prefix, rows, cols = grid
        return (
            activations[:, prefix:, :].reshape(n, rows, cols, dim).permute(0, 3, 1, 2)
        )
    raise ValueError(
        f"{where} outputs a tensor of shape {tuple(activations.shape)}; "
        "class activation maps need (n, K, h, w) feature maps (a convolutional "
        "layer or block) or a token sequence (n, T, K) (a transformer block)."
    )


def _first_tensor(out):
    if hasattr(out, "shape"):
        return out
    if isinstance(out, (tuple, list)) and out and hasattr(out[0], "shape"):
        return out[0]
    return None


def probe_layers(model, inputs):
    """Run the network once and record each layer's output shape and calls.

    Returns a list of ``(name, layer, shape or None, n_calls, pooled)`` in
    the order the layers *finished* (a block after its children); ``pooled``
    says whether the output is that of a pooling layer (a block ending in
    one hands it through).
    """
    import torch

    layers = model.layers()
    order, calls, shapes, outputs, pools = [], {}, {}, {}, set()
    # Outputs are kept alive during the probe, so that no later tensor reuses
    # the memory (the identity key) of a freed one.
    alive = []
    handles = []

    def hook_for(name):
        def hook(module, args, out):
            calls[name] = calls.get(name, 0) + 1
            if calls[name] == 1:
                order.append(name)
                tensor = _first_tensor(out)
                shapes[name] = tuple(tensor.shape) if tensor is not None else None
                key = (tensor.data_ptr(), shapes[name]) if tensor is not None else None
                outputs[name] = key
                alive.append(tensor)
                if key is not None and _is_pooling(module):
                    pools.add(key)

        return hook

    try:
        for name, layer in layers:
            handles.append(layer.register_forward_hook(hook_for(name)))
        with model.evaluating(), torch.no_grad():
            model.forward(inputs[:1])
    finally:
        for handle in handles:
            handle.remove()
    by_name = dict(layers)
    return [
        (name, by_name[name], shapes[name], calls[name], outputs[name] in pools)
        for name in order
    ]


def _is_pooling(layer):
    return "Pool" in type(layer).__name__


def _is_map(shape, channels_last):
    if shape is None or len(shape) != 4:
        return False
    h, w = (shape[1], shape[2]) if channels_last else (shape[2], shape[3])
    return h > 1 or w > 1


def _is_token_grid(shape, image_size):
    return (
        shape is not None
        and len(shape) == 3
        and token_grid(shape[1], image_size) is not None
    )


def default_cam_layer(model, inputs):
    """The layer a class activation map explains when none is named.

    The rule (the output of the last convolutional stage or block, after
    its nonlinearity, as the Grad-CAM paper and pytorch-grad-cam's users take
    it, e.g. ``layer4`` of a torchvision ResNet): run the network once and,
    among the layers that finished with feature maps ``(n, K, h, w)`` larger
    than 1x1, were called exactly once (a ReLU module reused inside a block
    has no single output) and do not output a pooling layer's result (a
    pooling layer, or a block ending in one), take the last to finish (so a
    block wins over the layers inside it). For
    :class:`~sklearn_xai.neural_network.SmallCNN` this is the last block's
    ReLU, for a torchvision ResNet ``layer4``.

    Parameters
    ----------
    model : TorchModel
        The network.
    inputs : torch.Tensor of shape (m, C, H, W)
        Example pixels.

    Returns
    -------
    name : str

    Raises
    ------
    ValueError
        When no layer qualifies, or the network carries on with token
        sequences after its last feature maps (a vision transformer, whose
        default would be the patch embedding): then the layer must be named.
    """
    image_size = tuple(inputs.shape[2:])
    records = probe_layers(model, inputs)
    chosen = fallback = None
    for index, (_, _, shape, n_calls, pooled) in enumerate(records):
        if n_calls == 1 and not pooled and shape is not None and len(shape) == 4:
            fallback = index
            if _is_map(shape, model.keras):
                chosen = index
    if chosen is None:
        # Images so small that every map is 1x1: the last such map (its CAM
        # is constant, which the metrics and the explainers report).
        chosen = fallback
    after = records[(chosen if chosen is not None else -1) + 1 :]
    later_tokens = [
        name for name, _, shape, _, _ in after if _is_token_grid(shape, image_size)
    ]
    if later_tokens:
        raise ValueError(
            "layer=None: the network carries on with token sequences after its "
            "last feature maps (a vision transformer?), so there is no default; "
            "pass layer= the block to explain, e.g. the last block's first norm "
            f"(candidates: {later_tokens[-3:]})."
        )
    if chosen is None:
        n_features = int(np.prod(inputs.shape[1:]))
        raise ValueError(
            "layer=None: no layer of the network outputs feature maps (n, K, h, "
            f"w) larger than 1x1 for images of {image_size[0]}x{image_size[1]} "
            f"pixels ({n_features} feature(s)); pass layer= the dotted name of "
            "one."
        )
    return records[chosen][0]


def check_cam_layer(model, inputs, name):
    """Check that a named layer runs exactly once in ``forward``.

    Raises
    ------
    ValueError
        When the layer is not used, or used several times (its output is
        then ambiguous: e.g. a ReLU module reused inside a ResNet block).
    """
    records = {r[0]: r for r in probe_layers(model, inputs)}
    model.layer(name)  # unknown names raise with the candidates
    if name not in records:
        raise ValueError(f"layer {name!r} is not called in the network's forward pass.")
    n_calls = records[name][3]
    if n_calls != 1:
        raise ValueError(
            f"layer {name!r} is called {n_calls} times in one forward pass (a "
            "module reused, e.g. an in-place ReLU inside a ResNet block), so its "
            "output is ambiguous; pass the block that contains it instead."
        )
