"""Randomization metrics: does the explanation depend on what it should explain?

An explanation that stays the same when the network's weights are replaced by
random ones (Adebayo et al.) or when another class is explained (Sixt et
al.) cannot be explaining the model's decision. Both metrics report the
similarity between the original explanation and the one after the
randomization: **lower is better**. A constant original explanation (all
pixels equal, e.g. all zero) scores NaN, with one
``DegenerateExplanationWarning`` per call.

A random explainer (one with a ``random_state`` parameter: LIME, Kernel
SHAP, RISE, SmoothGrad, ...) is re-explained by a copy seeded from the
metric's ``random_state``, so the original and the randomized explanations
of an image share their random draws and the similarity measures the
randomization, not the method's sampling noise.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.utils import Bunch, check_random_state

from .._adapter import get_torch_model, unwrap_frozen
from ..utils._compat import StrOptions, validate_params
from ..utils._seeds import call_seed, image_rngs
from ..utils._torch_random import forked_rng
from ._checks import (
    degenerate_maps,
    direction,
    nan_where_degenerate,
    warn_degenerate,
)
from ._robustness import (
    _SIGNS,
    _check_explainer,
    _explain,
    _postprocess,
    _prepare,
    seeded_copy,
)

_SIMILARITIES = ("spearman", "ssim")
_ORDERS = ("cascading", "independent")


# -- similarities ---------------------------------------------------------------


def _spearman(a, b):
    """Spearman rank correlation of each pair of flattened maps ``(n,)``.

    Ties get average ranks (as scipy). A constant map carries no ranking:
    its correlation with a varying map is 0, with an equal constant map 1.
    """
    from scipy.stats import rankdata

    n = len(a)
    ra = rankdata(a.reshape(n, -1), axis=1)
    rb = rankdata(b.reshape(n, -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    na = np.linalg.norm(ra, axis=1)
    nb = np.linalg.norm(rb, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.einsum("ij,ij->i", ra, rb) / (na * nb)
    both_constant = (na == 0) & (nb == 0)
    same = np.all(a.reshape(n, -1) == b.reshape(n, -1), axis=1)
    rho = np.where((na > 0) & (nb > 0), rho, np.where(both_constant & same, 1.0, 0.0))
    return np.clip(rho, -1.0, 1.0)


def _ssim(a, b):
    """Structural similarity of each pair of 2-D maps ``(n,)``.

    ``data_range`` is the range of the pair's values (as Quantus); the
    window is 7 pixels, or the largest odd size the maps allow.
    """
    from skimage.metrics import structural_similarity

    height, width = a.shape[1:]
    win = min(7, height, width)
    win -= 1 - win % 2
    if win < 3:
        raise ValueError(
            f"similarity='ssim' needs maps of at least 3x3 pixels; got {height}x"
            f"{width}. Use similarity='spearman'."
        )
    out = np.empty(len(a))
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        data_range = float(max(x.max(), y.max()) - min(x.min(), y.min()))
        if data_range == 0:
            out[i] = 1.0
            continue
        out[i] = structural_similarity(x, y, win_size=win, data_range=data_range)
    return out


def _similarity_func(similarity):
    if similarity == "spearman":
        return _spearman
    if similarity == "ssim":
        return _ssim
    raise ValueError(
        f"similarity must be one of {list(_SIMILARITIES)}; got {similarity!r}."
    )


# -- the network ---------------------------------------------------------------


def _torch_module(explainer, name="model_parameter_randomization"):
    """The torch network the explainer's model runs (TypeError without one)."""
    try:
        return get_torch_model(explainer.estimator_).network
    except TypeError:
        raise TypeError(
            f"{name} re-initializes the weights of a torch network, so the "
            "explainer's estimator must be a CNNClassifier or a Pipeline ending "
            "in one (optionally in a FrozenEstimator); got "
            f"{type(unwrap_frozen(explainer.estimator_)).__name__}, which has no "
            "torch parameters."
        ) from None


def _parameterized_layers(module):
    """``(name, layer)`` of the layers that own parameters.

    In registration order (the forward order of a sequential network). The
    network itself is included (named ``""``) when it owns parameters
    directly, e.g. a vision transformer's class token and position
    embedding.
    """
    return [
        (name, layer)
        for name, layer in module.named_modules()
        if any(True for _ in layer.parameters(recurse=False))
    ]


def _select_layers(available, layers):
    names = [name for name, _ in available]
    if layers is None:
        chosen = names
    else:
        if isinstance(layers, str):
            layers = [layers]
        unknown = [name for name in layers if name not in names]
        if unknown:
            raise ValueError(
                f"layers contains {unknown}, which are not parameterized layers "
                "of the network (layers that own parameters; a container's "
                "parameters belong to its sublayers: name those); its "
                f"parameterized layers are {names}."
            )
        if not layers:
            raise ValueError("layers must name at least one layer; got none.")
        chosen = [name for name in names if name in set(layers)]
    # From the output layer backwards.
    return chosen[::-1]


def _reset(layer, seed, device):
    """Re-initialize ``layer`` under a seeded, forked torch generator.

    ``layer.reset_parameters()`` when the layer has one (its own
    initialization); otherwise each parameter the layer owns is drawn anew
    from a normal distribution of mean 0 and the root mean square of its
    current values (its standard deviation about zero, the scale of the
    trained weights), in registration order.
    """
    import torch

    with forked_rng(seed, device=device), torch.no_grad():
        if callable(getattr(layer, "reset_parameters", None)):
            layer.reset_parameters()
            return
        for parameter in layer.parameters(recurse=False):
            scale = float(parameter.detach().double().square().mean().sqrt())
            noise = torch.randn(parameter.shape, device=parameter.device)
            parameter.copy_(noise * scale)


def _torch_seed(random_state):
    if isinstance(random_state, (int, np.integer)) and not isinstance(
        random_state, bool
    ):
        return int(random_state) % (2**63)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


# -- public metrics ------------------------------------------------------------


_PARAMS = {
    "explainer": "no_validation",
    "X": ["array-like"],
    "targets": "no_validation",
    "similarity": [StrOptions(set(_SIMILARITIES))],
    "normalize": ["boolean"],
    "sign": [StrOptions(set(_SIGNS))],
    "random_state": ["random_state"],
}


@direction(greater_is_better=False)
@validate_params(
    {
        **_PARAMS,
        "order": [StrOptions(set(_ORDERS))],
        "layers": [list, tuple, str, None],
    },
    prefer_skip_nested_validation=True,
)
def model_parameter_randomization(
    explainer,
    X,
    *,
    targets=None,
    order="cascading",
    layers=None,
    similarity="spearman",
    normalize=True,
    sign="absolute",
    random_state=None,
):
    r"""Model parameter randomization test: similarity to explanations of a
    randomized network.

    On a deep copy of the explainer (the user's model is never touched), the
    parameterized layers of the network (those that own weights:
    convolutions, batch norms, linear layers, custom layers, ...) are
    re-initialized one after the other, **from the output layer
    backwards**: by the layer's ``reset_parameters()`` when it has one, and
    otherwise by drawing each of its parameters from a normal distribution
    of mean 0 and the root mean square of the trained values (so a custom
    layer, e.g. a learned scale or a position embedding, is randomized at
    its own scale rather than silently kept). After each layer :math:`l`
    the images are re-explained for the same classes and compared with the
    original explanations:

    .. math::

        s_l(x) = \operatorname{sim}\bigl(a(x; \theta),\,
        a(x; \tilde\theta_l)\bigr),
        \qquad \text{mean}(x) = \frac{1}{L} \sum_{l=1}^{L} s_l(x),

    where :math:`\tilde\theta_l` randomizes layer :math:`l` and every layer
    above it (``order="cascading"``) or layer :math:`l` alone
    (``order="independent"``). An explanation that depends on the learned
    weights changes: **lower similarity is better** (the ``mean`` is the
    scorer's value). Constant maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`): an image
    whose original explanation is constant scores NaN at every layer.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted explainer whose estimator is a
        :class:`~sklearn_xai.neural_network.CNNClassifier` or a
        :class:`~sklearn.pipeline.Pipeline` ending in one, possibly in a
        :class:`~sklearn.frozen.FrozenEstimator`. Gradient and
        model-agnostic explainers both work. Never modified.
    X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
        The images. Never modified.
    targets : array-like of shape (n,), scalar or None, default=None
        Class labels to explain; None uses the class the trained model
        predicts (kept for the randomized networks).
    order : {"cascading", "independent"}, default="cascading"
        Cumulative randomization from the top, or one layer at a time with
        the others trained.
    layers : list of str or None, default=None
        Names (as in ``module.named_modules()``) of the layers to randomize;
        None takes every layer that owns parameters (``""`` names the
        network itself when it owns some directly). They are always visited from
        the output backwards, whatever the order of the list.
    similarity : {"spearman", "ssim"}, default="spearman"
        Spearman rank correlation of the flattened maps (a constant map
        correlates 0 with a varying one), or the structural similarity of
        the 2-D maps (:func:`skimage.metrics.structural_similarity`, window
        7, ``data_range`` the pair's value range).
    normalize : bool, default=True
        Divide each map by its largest magnitude first (Quantus's default,
        per map).
    sign : {"absolute", "signed", "positive"}, default="absolute"
        Compare the magnitudes of the maps (Quantus's default ``abs=True``;
        Adebayo et al. report both), the maps as they are, or their positive
        parts (the ``sign`` of the localization metrics).
    random_state : int, RandomState instance or None, default=None
        Seeds a random explainer (one with a ``random_state`` parameter,
        re-explained by a copy seeded from this one, so that its original
        and randomized explanations share their draws) and the new weights:
        each layer is reset right after torch's generators (the CPU's and
        the network's device's) are seeded as ``torch.manual_seed(seed)``
        seeds them, inside a fork that restores them (the global torch state
        is left alone), ``seed`` being an int
        ``random_state`` itself or drawn from it. A layer therefore gets the
        same random weights in both orders and whichever other layers are
        chosen; this is Quantus's scheme, whose ``seed=s`` is
        ``random_state=s + 1`` here.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        layers : list of str
            The randomized layers, from the output backwards.
        scores : ndarray of shape (n_layers, n)
            Similarity of each image's explanation after each layer.
        mean : ndarray of shape (n,)
            Mean similarity over the layers (lower is better).

    Raises
    ------
    TypeError
        When the explainer's model has no torch network.

    See Also
    --------
    random_logit : The same question asked of the explained class.

    Notes
    -----
    Agrees with ``quantus.MPRT`` (0.6; ``ModelParameterRandomisation`` is
    its deprecated name) to floating-point precision with Spearman
    similarity, ``layer_order="top_down"``/``"independent"`` and per-map
    normalization. Deviations, following the paper: SSIM compares the 2-D
    maps (Quantus compares flattened 1-D vectors); the per-image mean
    leaves out the similarity of the unrandomized model with itself (which
    Quantus's ``return_average_correlation`` includes, an always-1 term);
    layers without parameters of their own are skipped, and layers with
    parameters but no ``reset_parameters`` are randomized as described
    above (Quantus skips them); and Quantus's batch-wide normalization is
    per map here.

    References
    ----------
    .. [1] J. Adebayo, J. Gilmer, M. Muelly, I. Goodfellow, M. Hardt and B.
       Kim, "Sanity checks for saliency maps", NeurIPS 2018.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import SaliencyExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.metrics import model_parameter_randomization
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = SaliencyExplainer(FrozenEstimator(clf)).fit(X[:100])
    >>> result = model_parameter_randomization(explainer, X[:4], random_state=0)
    >>> result.layers[:2]
    ['classifier.2', 'features.block1.norm']
    >>> result.scores.shape, result.mean.shape
    ((5, 4), (4,))
    """
    sim = _similarity_func(similarity)
    _check_explainer(explainer)
    _torch_module(explainer)
    images, layout_ndim, labels, _ = _prepare(explainer, X, targets)
    # The same draws for the original and every randomized network.
    explainer = seeded_copy(explainer, call_seed(random_state))
    original = _explain(explainer, images, layout_ndim, labels)
    degenerate = degenerate_maps(original)
    original = _postprocess(original, normalize=normalize, sign=sign)

    work = copy.deepcopy(explainer)
    model = get_torch_model(work.estimator_)
    module = model.network
    available = dict(_parameterized_layers(module))
    names = _select_layers(list(available.items()), layers)
    seed = _torch_seed(random_state)
    trained = (
        {k: v.detach().clone() for k, v in module.state_dict().items()}
        if order == "independent"
        else None
    )

    scores = np.empty((len(names), len(images)))
    for i, name in enumerate(names):
        if trained is not None:
            module.load_state_dict(trained)
        _reset(available[name], seed, model.device)
        randomized = _postprocess(
            _explain(work, images, layout_ndim, labels), normalize=normalize, sign=sign
        )
        scores[i] = sim(original, randomized)
    warn_degenerate(degenerate, metric="model_parameter_randomization")
    scores = nan_where_degenerate(scores, degenerate, axis=1)
    return Bunch(layers=names, scores=scores, mean=scores.mean(axis=0))


@direction(greater_is_better=False)
@validate_params(_PARAMS, prefer_skip_nested_validation=True)
def random_logit(
    explainer,
    X,
    *,
    targets=None,
    similarity="ssim",
    normalize=True,
    sign="signed",
    random_state=None,
):
    r"""Random logit test: similarity to the explanation of another class.

    For each image, a class :math:`c'` is drawn uniformly among the classes
    other than the explained one :math:`c`, and the two explanations are
    compared:

    .. math::

        \text{RL}(x) = \operatorname{sim}\bigl(a_c(x),\, a_{c'}(x)\bigr).

    A class-sensitive explanation differs between classes: **lower is
    better**. Constant maps give NaN (with a
    :class:`~sklearn_xai.metrics.DegenerateExplanationWarning`): an image
    whose explanation of class :math:`c` is constant scores NaN.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted explainer of a model with at least two classes. Only called.
    X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
        The images. Never modified.
    targets : array-like of shape (n,), scalar or None, default=None
        Class labels to explain; None uses the predicted class of each image.
    similarity : {"ssim", "spearman"}, default="ssim"
        Structural similarity of the 2-D maps (as the paper and Quantus's
        default), or Spearman rank correlation of the flattened maps.
    normalize : bool, default=True
        Divide each map by its largest magnitude first (Quantus's default,
        per map).
    sign : {"signed", "absolute", "positive"}, default="signed"
        Compare the maps as they are, their magnitudes or their positive
        parts.
    random_state : int, RandomState instance or None, default=None
        Draws each image's other class from its own stream (seeded by
        ``random_state`` and the image's content, so an image's class and
        score do not depend on the rest of the batch), and seeds a random
        explainer: one with a ``random_state`` parameter is re-explained by a
        copy seeded from this one, so that both classes are explained with
        the same draws.

    Returns
    -------
    scores : ndarray of shape (n,), float64
        Similarity of each image's two explanations.

    See Also
    --------
    model_parameter_randomization : The same question asked of the weights.

    Notes
    -----
    Agrees with ``quantus.RandomLogit`` (0.6, ``num_classes`` the number of
    classes) to floating-point precision with Spearman similarity, given
    the same other classes (Quantus draws them for the whole batch from
    numpy's global stream, we per image). Deviations: SSIM compares the
    2-D maps as in the paper (Quantus's flattened 1-D vectors lose the image
    structure SSIM is made for); normalization is per map, not per batch.

    References
    ----------
    .. [1] L. Sixt, M. Granz and T. Landgraf, "When explanations lie: why many
       modified BP attributions fail", ICML 2020.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import SaliencyExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.metrics import random_logit
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = SaliencyExplainer(FrozenEstimator(clf)).fit(X[:100])
    >>> random_logit(explainer, X[:4], random_state=0).shape
    (4,)
    """
    sim = _similarity_func(similarity)
    images, layout_ndim, labels, index = _prepare(explainer, X, targets)
    classes = np.asarray(explainer.classes_)
    if len(classes) < 2:
        raise ValueError(
            "random_logit needs a model with at least two classes; got "
            f"classes_ {classes.tolist()}."
        )
    seed = call_seed(random_state)
    draw = np.array(
        [rng.randint(0, len(classes) - 1) for rng in image_rngs(seed, images)]
    )
    other = classes[draw + (draw >= index)]
    both = _explain(
        seeded_copy(explainer, seed),
        np.concatenate([images, images]),
        layout_ndim,
        np.concatenate([labels, other]),
    )
    n = len(images)
    degenerate = warn_degenerate(degenerate_maps(both[:n]), metric="random_logit")
    both = _postprocess(both, normalize=normalize, sign=sign)
    return nan_where_degenerate(sim(both[:n], both[n:]), degenerate)
