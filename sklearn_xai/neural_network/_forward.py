"""The network as the explainers see it: channels-first pixels in, logits out.

:class:`ModelForward` wraps a user's network (never modifying it) so that every
gradient method differentiates the same function: the caller's pixels (on
the model's intensity scale, channels first) go through the declared
per-channel normalization and layout change to the network, and its output,
whatever its form (a tensor, a tuple, a dict, a Hugging Face output object,
probabilities), comes back as logits ``(n, n_classes)``.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Mapping

import torch
from torch import nn

#: The kinds of network output TorchClassifier accepts.
OUTPUT_KINDS = ("logits", "probabilities", "log_probabilities")

#: Smallest probability taken the log of, so that log(0) stays finite.
_TINY = 1e-12


#: Networks inside :func:`eval_mode` now: entries and the flags to restore.
_IN_EVAL = weakref.WeakKeyDictionary()
_IN_EVAL_LOCK = threading.Lock()


@contextlib.contextmanager
def eval_mode(module):
    """Eval mode for the duration; every submodule's flag as it was afterwards.

    Only the modules that were training are switched back (each flag is set
    on its own module, not recursively), so a network whose submodules had
    mixed flags gets exactly those flags back. A network already in eval
    mode, the usual case, is not walked twice: ``eval()`` and ``train()``
    cost about 0.3 ms on a ResNet-18, 2-3% of a small ``predict_proba``.

    Entries are counted per network, under a lock: with threads explaining
    through one network (joblib's threading backend), the flags come back
    only when the last of them leaves, so no thread's forward pass runs in
    train mode (dropout on, batch norm updating its running statistics)
    because another thread finished first.

    Examples
    --------
    >>> from torch import nn
    >>> from sklearn_xai.neural_network._forward import eval_mode
    >>> net = nn.Sequential(nn.Dropout(), nn.Dropout())
    >>> _ = net[1].eval()
    >>> with eval_mode(net):
    ...     [m.training for m in net.modules()]
    [False, False, False]
    >>> [m.training for m in net.modules()]
    [True, True, False]
    """
    with _IN_EVAL_LOCK:
        entry = _IN_EVAL.get(module)
        if entry is None:
            training = [m for m in module.modules() if m.training]
            if training:
                module.eval()
            entry = _IN_EVAL[module] = [0, training]
        entry[0] += 1
    try:
        yield module
    finally:
        with _IN_EVAL_LOCK:
            entry[0] -= 1
            if entry[0] == 0:
                del _IN_EVAL[module]
                for m in entry[1]:
                    m.training = True


def select_output(out, output_key=None):
    """The class-score tensor of a network's ``forward`` result.

    The rule: a tensor is used as is; with ``output_key`` (a str key or an
    int index) that entry is taken; otherwise a mapping (a dict, or a Hugging
    Face ``ModelOutput``) gives its ``"logits"`` entry, an object with a
    ``logits`` attribute gives that attribute, and a tuple or list gives its
    first element.

    Parameters
    ----------
    out : object
        What the network's ``forward`` returned.
    output_key : str, int or None, default=None
        Which entry holds the class scores.

    Returns
    -------
    scores : torch.Tensor

    Raises
    ------
    ValueError
        When no class-score tensor is found.

    Examples
    --------
    >>> import torch
    >>> from sklearn_xai.neural_network._forward import select_output
    >>> select_output({"logits": torch.zeros(2, 3), "aux": 1}).shape
    torch.Size([2, 3])
    """
    if isinstance(out, torch.Tensor) and output_key is None:
        return out
    if output_key is not None:
        try:
            scores = out[output_key]
        except (KeyError, IndexError, TypeError):
            scores = getattr(out, str(output_key), None)
            if scores is None:
                raise ValueError(
                    f"output_key={output_key!r} selects nothing from the "
                    f"network's output, a {type(out).__name__}"
                    + (f" with keys {list(out)}" if isinstance(out, Mapping) else "")
                    + "."
                ) from None
    elif isinstance(out, Mapping):
        if "logits" not in out:
            raise ValueError(
                "the network returns a mapping without a 'logits' entry (keys "
                f"{list(out)}); pass output_key= naming the class scores."
            )
        scores = out["logits"]
    elif hasattr(out, "logits"):
        scores = out.logits
    elif isinstance(out, (tuple, list)) and out:
        scores = out[0]
    else:
        scores = out
    if not isinstance(scores, torch.Tensor):
        raise ValueError(
            "the network's class scores must be a tensor; its output gave a "
            f"{type(scores).__name__}. Pass output_key= naming the tensor of "
            "class scores."
        )
    return scores


class ModelForward(nn.Module):
    """A network wrapped to take channels-first pixels and return logits.

    Parameters
    ----------
    network : torch.nn.Module
        The user's network (any ``forward`` output :func:`select_output`
        understands).
    input_layout : {"NCHW", "NHWC"}, default="NCHW"
        The layout ``network`` expects; the wrapper always takes NCHW.
    mean, std : sequence of float or None, default=None
        Per-channel normalization ``(x - mean) / std`` applied before the
        network.
    output : {"logits", "probabilities", "log_probabilities"}, default="logits"
        What the network returns. Probabilities become log-probabilities,
        which are logits up to a per-image constant: their softmax is the
        network's probabilities.
    output_key : str, int or None, default=None
        See :func:`select_output`.
    n_classes : int or None, default=None
        With 2 classes, a network with one output column (a sigmoid unit)
        gets two columns ``(-z / 2, z / 2)`` whose softmax is ``(1 - p, p)``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sklearn_xai.neural_network._forward import ModelForward
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    >>> ModelForward(net, mean=[0.5, 0.5, 0.5], std=[0.2, 0.2, 0.2])(
    ...     torch.zeros(2, 3, 2, 2)).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        network,
        *,
        input_layout="NCHW",
        mean=None,
        std=None,
        output="logits",
        output_key=None,
        n_classes=None,
    ):
        super().__init__()
        self.network = network
        self.input_layout = input_layout
        self.output = output
        self.output_key = output_key
        self.n_classes = n_classes
        if mean is not None:
            shape = (1, -1, 1, 1)
            self.register_buffer(
                "mean", torch.as_tensor(mean, dtype=torch.float32).reshape(shape)
            )
            self.register_buffer(
                "std", torch.as_tensor(std, dtype=torch.float32).reshape(shape)
            )
        else:
            self.mean = self.std = None

    def prepare(self, x):
        """The network's input for pixels ``(n, C, H, W)``: normalized, in
        the network's layout."""
        if self.mean is not None:
            x = (x - self.mean.to(x.device)) / self.std.to(x.device)
        if self.input_layout == "NHWC":
            x = x.permute(0, 2, 3, 1)
        return x

    def forward(self, x):
        """Logits ``(n, n_classes)`` of pixels ``(n, C, H, W)``."""
        scores = select_output(self.network(self.prepare(x)), self.output_key)
        if scores.ndim == 1:
            scores = scores[:, None]
        if scores.ndim != 2:
            raise ValueError(
                "the network's class scores must have shape (n, n_classes); "
                f"got shape {tuple(scores.shape)}."
            )
        binary = self.n_classes == 2 and scores.shape[1] == 1
        if self.output == "probabilities":
            if binary:
                scores = torch.cat([1 - scores, scores], dim=1)
            return torch.log(scores.clamp_min(_TINY))
        if self.output == "log_probabilities":
            if binary:
                scores = torch.cat(
                    [torch.log1p(-scores.exp().clamp_max(1 - _TINY)), scores], dim=1
                )
            return scores
        if binary:
            scores = torch.cat([-scores / 2, scores / 2], dim=1)
        return scores
