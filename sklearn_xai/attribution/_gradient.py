"""Shared machinery of the gradient explainers: the network, batches, devices.

Every gradient explainer differentiates the torch network of a fitted
:class:`~sklearn_xai.neural_network.CNNClassifier` (alone, frozen, or last
step of a :class:`~sklearn.pipeline.Pipeline`). The attribution math is
captum's; what lives here is done once for all of them: finding the network,
building its input tensor (through the pipeline's preprocessing) on its
device, running the method ``batch_size`` images at a time with the network
in eval mode, reducing channels and mapping the maps back to the caller's
image size.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .._adapter import get_torch_model
from ..base import BaseExplainer
from ..utils._attribution import CHANNEL_REDUCTIONS, reduce_channels, resize_maps
from ..utils._compat import StrOptions

#: The constraint of the ``channel_reduction`` parameter of the explainers
#: whose attributions have one value per input channel.
CHANNEL_REDUCTION_CONSTRAINT = [StrOptions(set(CHANNEL_REDUCTIONS))]


class _GradientExplainer(BaseExplainer):
    """Base class of the explainers that differentiate the network.

    Subclasses implement ``_attribute(model, inputs, targets, images)``:
    given the :class:`~sklearn_xai.utils._model.TorchModel`, the network input
    ``inputs`` (a float32 tensor ``(m, C, h, w)`` on the network's device), the
    class indices ``targets`` (an int64 tensor ``(m,)`` on the same device) and
    the caller's images ``(m, H, W, C)`` of the batch, return
    ``(attributions, details)``: a tensor ``(m, C', h, w)`` of attributions of
    the target logits at the network input, and a dict of per-image tensors or
    arrays. They may also implement ``_fit_network(model, images)`` to learn
    what they need in ``fit``, ``_images_per_batch()`` when one image costs
    several network rows, and ``_to_maps(attributions)`` when the channel
    axis is not reduced with ``channel_reduction``.

    One loop feeds the network, :meth:`_attribute_batches`; it serves
    ``explain`` (through :meth:`_explain_batches`) and meta-explainers that
    run the hooks on other images (SmoothGrad's noisy copies). Per-call
    state (seeds, per-image arguments) reaches a batch through the
    ``attribute`` callable and the batch's slice, never through attributes.
    """

    _parameter_constraints: dict = {**BaseExplainer._parameter_constraints}

    # -- hooks --------------------------------------------------------------

    def _fit_network(self, model, images):
        """Learn what the method needs from the training images."""

    def _attribute(self, model, inputs, targets, images):
        """Return ``(attributions (m, C', h, w) tensor, details dict)``."""
        raise NotImplementedError

    def _images_per_batch(self):
        """How many images one batch holds (one network row each by default)."""
        return self._model_batch_size()

    def _to_maps(self, attributions):
        """``(m, C', h, w)`` attributions to ``(m, h, w)`` maps."""
        return reduce_channels(attributions, self.channel_reduction, axis=1)

    # -- BaseExplainer hooks ------------------------------------------------

    def _torch_model(self):
        # TypeError naming what is supported for models without a network.
        return get_torch_model(self.estimator_)

    def _fit_images(self, images):
        self._fit_network(self._torch_model(), images)

    def _explain(self, images, targets, seeds):
        return self._explain_batches(images, targets)

    # -- the batch loop -----------------------------------------------------

    def _explain_batches(self, images, targets, attribute=None):
        """Maps ``(n, H, W)`` and details of ``images``, batch by batch.

        The network runs in eval mode and a progress bar counts images; each
        batch of :meth:`_attribute_batches` is reduced over channels
        (:meth:`_to_maps`) and resized to the images at once, so that no
        more than a batch of full attributions is held.
        """
        model = self._torch_model()
        size = images.shape[1:3]
        maps = []
        details = defaultdict(list)
        with model.evaluating(), progress_bar(self, len(images)) as progress:
            for attributions, extra in self._attribute_batches(
                model, images, targets, attribute=attribute
            ):
                maps.append(resize_maps(self._to_maps(attributions), size))
                for key, value in extra.items():
                    details[key].append(value)
                progress.update(len(attributions))
        return np.concatenate(maps), {
            key: np.concatenate(values) for key, values in details.items()
        }

    def _attribute_batches(self, model, images, targets, *, attribute=None):
        """Attributions of ``images``, :meth:`_images_per_batch` at a time.

        The one loop that feeds the network: for each batch it builds the
        network input on the network's device (through the pipeline's
        preprocessing) and the target tensor, calls ``attribute`` and yields
        ``(attributions, details)`` as numpy arrays: ``(m, C', h, w)`` and
        a dict of per-image arrays. The caller sets eval mode.

        Parameters
        ----------
        model : TorchModel
            The network of the fitted estimator.
        images : ndarray of shape (n, H, W, C)
            The images, in the caller's pixel space.
        targets : array-like of shape (n,)
            Class indices.
        attribute : callable or None, default=None
            ``attribute(model, inputs, targets, images, span)``, ``span``
            being the batch's slice of ``images``; None calls the
            :meth:`_attribute` hook.

        Yields
        ------
        attributions : ndarray of shape (m, C', h, w)
            The batch's attributions at the network input.
        details : dict of ndarray
            Per-image extras of the batch (e.g. a convergence ``delta``).
        """
        import torch

        step = self._images_per_batch()
        for start in range(0, len(images), step):
            span = slice(start, min(start + step, len(images)))
            batch = images[span]
            inputs = model.input_tensor(batch, layout_ndim=self.input_ndim_)
            batch_targets = torch.as_tensor(
                np.asarray(targets[span], dtype=np.int64), device=inputs.device
            )
            if attribute is None:
                result = self._attribute(model, inputs, batch_targets, batch)
            else:
                result = attribute(model, inputs, batch_targets, batch, span)
            attributions, extra = result
            yield (
                _to_numpy(attributions),
                {key: _to_numpy(value) for key, value in extra.items()},
            )


def progress_bar(explainer, total):
    """A tqdm bar over ``total`` images, shown when ``explainer.verbose`` is set."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=type(explainer).__name__,
        unit="image",
        disable=not explainer.verbose,
    )


def _to_numpy(value):
    """A tensor (on any device) or array as a numpy array."""
    detach = getattr(value, "detach", None)
    if detach is not None:
        return detach().cpu().numpy()
    return np.asarray(value)
