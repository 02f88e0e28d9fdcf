"""A gradient control variate for Kernel SHAP on torch-backed models.

A control variate is a second game ``g``, evaluated on the same coalitions
as the model's game ``v`` and with Shapley values known to high precision:
Kernel SHAP's error on ``g`` says how far its estimate for ``v`` is off, to
the extent that both errors move together (ControlSHAP, Goldwasser and
Hooker, 2024).

Which ``g``? The first-order Taylor expansion of the target probability,
``g(z) = f(x) - sum_j (1 - z_j) c_j``, is additive, and Kernel SHAP recovers
an additive game exactly from any coalitions that span the space: its error
on ``g`` is zero, whatever the coalitions, and says nothing. With paired
sampling the same holds for the second-order expansion: a pair's residuals
under a game with only pairwise interactions are equal, so the pair adds a
multiple of ``(1, ..., 1)`` to the normal equations, which the efficiency
constraint absorbs. A Taylor control variate must therefore carry
interactions of order three and more. The one here does, at the cost of one
gradient: it expands the target's **logit margin** ``m = l_t - log sum_{k !=
t} exp(l_k)`` (the target probability is ``sigmoid(m)`` exactly) to first
order and keeps the sigmoid::

    g(z) = sigmoid(m(x) - sum_j (1 - z_j) b_j),   b_j = grad m(x) . d_j,

``d_j`` the image minus the image with superpixel ``j`` hidden (at the
network input). Its Shapley values have no closed form but cost no model
call: they are enumerated over all ``2**M`` coalitions up to 16 superpixels
and estimated from antithetic permutations beyond, with that estimate's
variance reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np
from scipy.special import expit

from .._adapter import get_torch_model
from ..utils._intensity import uint8_copies_to_model_scale

#: Up to this many players the control variate's Shapley values are
#: enumerated; beyond, estimated from permutations.
MAX_ENUMERATED = 16
#: Antithetic permutation pairs for more players.
N_PERMUTATIONS = 2048


def is_torch_backed(estimator):
    """Whether the model has a torch network to differentiate."""
    try:
        get_torch_model(estimator)
    except TypeError:
        return False
    return True


@dataclass
class SigmoidGame:
    """``g(z) = sigmoid(margin - (1 - z) . slopes)``, a game of ``M`` players.

    Attributes
    ----------
    margin : float
        The target's logit margin at the image: ``g(1) = sigmoid(margin)``.
    slopes : ndarray of shape (M,)
        ``b``, the margin's first-order change per superpixel.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._control_variate import SigmoidGame
    >>> game = SigmoidGame(2.0, np.array([1.5, 0.5, 1.0]))
    >>> phi, variance = game.shapley_values()
    >>> bool(np.isclose(phi.sum(), game.full_value - game.base_value))
    True
    >>> variance
    array([0., 0., 0.])
    """

    margin: float
    slopes: np.ndarray

    def values(self, masks):
        """``g(z)`` of each row of ``masks`` ``(m, M)``."""
        hidden = 1.0 - np.asarray(masks, dtype=np.float64)
        return expit(self.margin - hidden @ self.slopes)

    @property
    def full_value(self):
        """``g(1)``: the target probability of the image."""
        return float(expit(self.margin))

    @property
    def base_value(self):
        """``g(0)``: every superpixel hidden."""
        return float(expit(self.margin - self.slopes.sum()))

    def shapley_values(self, rng=None):
        """The Shapley values of ``g`` and the variance of their estimate.

        Enumerated (variance 0) up to :data:`MAX_ENUMERATED` players; else
        the mean marginal contribution over :data:`N_PERMUTATIONS`
        permutations and their reverses (unbiased, efficient exactly).

        Parameters
        ----------
        rng : numpy.random.Generator or None
            For the permutations.

        Returns
        -------
        phi, variance : ndarray of shape (M,)
        """
        m = len(self.slopes)
        if m <= MAX_ENUMERATED:
            return self._enumerated(), np.zeros(m)
        rng = np.random.default_rng(rng)
        start = self.margin - self.slopes.sum()
        orders = np.argsort(rng.random((N_PERMUTATIONS, m)), axis=1)
        marginal = np.zeros((2, N_PERMUTATIONS, m))
        for k, order in enumerate((orders, orders[:, ::-1])):
            path = expit(start + np.cumsum(self.slopes[order], axis=1))
            path = np.concatenate([np.full((len(path), 1), expit(start)), path], 1)
            np.put_along_axis(marginal[k], order, np.diff(path, axis=1), axis=1)
        pairs = marginal.mean(axis=0)
        return pairs.mean(axis=0), pairs.var(axis=0, ddof=1) / N_PERMUTATIONS

    def _enumerated(self):
        m = len(self.slopes)
        codes = np.arange(2**m)
        bits = ((codes[:, np.newaxis] >> np.arange(m)) & 1).astype(bool)
        values = self.values(bits)
        # Shapley weight of joining a coalition of each size: s! (M-s-1)! / M!.
        weight = np.array(
            [factorial(s) * factorial(m - s - 1) / factorial(m) for s in range(m)]
            + [0.0]
        )[bits.sum(axis=1)]
        gains = values[codes[:, np.newaxis] | (1 << np.arange(m))] - values[:, None]
        return np.where(bits, 0.0, weight[:, np.newaxis] * gains).sum(axis=0)


def margin_gradients(estimator, images, targets, *, ndim, batch_size):
    """The target's logit margin and its gradient at the network input.

    ``m = l_t - log sum_{k != t} exp(l_k)``, whose sigmoid is the target
    probability, for ``batch_size`` images per forward and backward pass.
    The gradient is taken with ``torch.autograd.grad`` on a detached copy of
    the network input, with the network in eval mode (its train flags
    restored afterwards): no parameter's ``.grad`` is touched and no hook
    registered.

    Parameters
    ----------
    estimator : classifier
        A fitted torch-backed model (possibly in a pipeline or frozen).
    images : ndarray of shape (n, H, W, C)
    targets : ndarray of shape (n,)
        Columns of ``predict_proba`` explained.
    ndim : {2, 3, 4}
        Layout the model was fitted on.
    batch_size : int

    Returns
    -------
    margins : ndarray of shape (n,)
    gradients : ndarray of shape (n, C', H', W')
        At the network input (after a pipeline's preprocessing).
    """
    import torch

    model = get_torch_model(estimator)
    margins, gradients = [], []
    with model.evaluating(), torch.enable_grad():
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            inputs = model.input_tensor(batch, layout_ndim=ndim).detach()
            inputs.requires_grad_(True)
            logits = model.forward(inputs).double()
            rows = torch.arange(len(batch), device=logits.device)
            target = torch.as_tensor(
                np.asarray(targets[start : start + batch_size], dtype=np.int64),
                device=logits.device,
            )
            others = logits.clone()
            others[rows, target] = -torch.inf
            margin = logits[rows, target] - torch.logsumexp(others, dim=1)
            (gradient,) = torch.autograd.grad(margin.sum(), inputs)
            margins.append(margin.detach().cpu().numpy())
            gradients.append(gradient.detach().cpu().double().numpy())
    return np.concatenate(margins), np.concatenate(gradients)


def sigmoid_game(estimator, image, fudged, segments, margin, gradient, *, ndim):
    """The control variate of one image: the linearised margin, through a sigmoid.

    Parameters
    ----------
    estimator : classifier
        A fitted torch-backed model (possibly in a pipeline or frozen).
    image, fudged : ndarray of shape (H, W, C)
        The image and what hidden superpixels become.
    segments : ndarray of shape (H, W)
        Superpixel labels ``0..M-1``.
    margin : float
        The target's logit margin at the image.
    gradient : ndarray of shape (C', H', W')
        Its gradient at the network input (:func:`margin_gradients`).
    ndim : {2, 3, 4}
        Layout the model was fitted on.

    Returns
    -------
    game : SigmoidGame
        With ``b_j = gradient . d_j``, ``d_j`` the network input of the
        image minus that of the image with superpixel ``j`` hidden (after a
        pipeline's preprocessing, so any pipeline works).

    References
    ----------
    .. [1] J. Goldwasser and G. Hooker, "Stabilizing estimates of Shapley
       values with control variates", World Conference on Explainable
       Artificial Intelligence (xAI), 2024.
    """
    if image.dtype == np.uint8 and fudged.dtype != np.uint8:
        # As perturbation_proba: float hidden images of a uint8 image, on the
        # scale the model takes uint8 images on.
        image = uint8_copies_to_model_scale(image, estimator)
        fudged = uint8_copies_to_model_scale(fudged, estimator)
    model = get_torch_model(estimator)
    m = int(segments.max()) + 1
    point = model.input_tensor(image[np.newaxis], layout_ndim=ndim)
    if _pixelwise_input(estimator):
        directions = _pixelwise_directions(
            model, point, image, fudged, segments, ndim=ndim
        )
    else:
        from ._perturbation import perturbed_images

        hidden = perturbed_images(image, fudged, segments, ~np.eye(m, dtype=bool))
        directions = (point - model.input_tensor(hidden, layout_ndim=ndim)).detach()
        directions = directions.cpu().double().numpy().reshape(m, -1)
    return SigmoidGame(float(margin), directions @ gradient.reshape(-1))


def _pixelwise_input(estimator):
    """Whether the network input converts each pixel value on its own.

    True for a bare CNNClassifier or TorchClassifier (optionally frozen),
    whose ``input_tensor`` only changes the dtype and the intensity scale;
    not for a pipeline, whose preprocessing may mix pixels.
    """

    from .._adapter import bare_model
    from ..neural_network import CNNClassifier, TorchClassifier

    model = bare_model(estimator)
    if model is None:
        return False
    methods = ("_to_tensor", "_tensor_of", "_nchw")
    return any(
        isinstance(model, cls)
        and all(
            getattr(type(model), name, None) is getattr(cls, name, None)
            for name in methods
        )
        for cls in (CNNClassifier, TorchClassifier)
    )


def _pixelwise_directions(model, point, image, fudged, segments, *, ndim):
    """``d_j`` of every superpixel, ``(M, C' H' W')`` float64, without
    building the ``M`` hidden images.

    For a model that converts each pixel on its own (:func:`_pixelwise_input`)
    the network input of the image with superpixel ``j`` hidden is, pixel by
    pixel, that of the image or that of ``fudged`` (both in the dtype the
    hidden images take): so ``d_j`` is ``point - input(fudged)`` inside
    superpixel ``j`` and ``point - input(image)`` elsewhere (zero, unless the
    hidden images' dtype converts differently), the same float32 differences
    as from the hidden images, bit for bit.
    """
    pair = model.input_tensor(np.stack([image, fudged]), layout_ndim=ndim)
    differences = (point - pair).detach().cpu().double().numpy()  # (2, C, H, W)
    kept, hidden = differences
    channels = kept.shape[0]
    kept = np.ascontiguousarray(kept).reshape(channels, -1)
    hidden = np.ascontiguousarray(hidden).reshape(channels, -1)
    m = int(segments.max()) + 1
    labels = segments.reshape(-1)
    if kept.any():
        directions = np.repeat(kept[np.newaxis], m, axis=0)
    else:
        directions = np.zeros((m, *kept.shape))
    directions[labels, :, np.arange(len(labels))] = hidden.T
    return directions.reshape(m, -1)
