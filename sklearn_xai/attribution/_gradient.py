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
        import torch
        from tqdm.auto import tqdm

        model = self._torch_model()
        size = images.shape[1:3]
        step = self._images_per_batch()
        maps = []
        details = defaultdict(list)
        with (
            model.evaluating(),
            tqdm(
                total=len(images),
                desc=type(self).__name__,
                unit="image",
                disable=not self.verbose,
            ) as progress,
        ):
            for start in range(0, len(images), step):
                batch = images[start : start + step]
                inputs = model.input_tensor(batch, layout_ndim=self.input_ndim_)
                batch_targets = torch.as_tensor(
                    np.asarray(targets[start : start + step], dtype=np.int64),
                    device=inputs.device,
                )
                attributions, extra = self._attribute(
                    model, inputs, batch_targets, batch
                )
                attributions = _to_numpy(attributions)
                maps.append(resize_maps(self._to_maps(attributions), size))
                for key, value in extra.items():
                    details[key].append(_to_numpy(value))
                progress.update(len(batch))
        return np.concatenate(maps), {
            key: np.concatenate(values) for key, values in details.items()
        }


def _to_numpy(value):
    """A tensor (on any device) or array as a numpy array."""
    detach = getattr(value, "detach", None)
    if detach is not None:
        return detach().cpu().numpy()
    return np.asarray(value)
