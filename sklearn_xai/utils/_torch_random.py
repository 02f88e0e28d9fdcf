"""Seeded torch draws that leave torch's (and numpy's) generators as found.

Code that must draw reproducible numbers from a library that takes no
generator (skorch's training loop, a layer's ``reset_parameters``, captum's
random methods) seeds the global generators those libraries read, inside
:func:`forked_rng`: on exit every generator it touched is restored, so the
caller's streams continue as if nothing had been drawn.

torch is imported on call: importing this module loads no torch.
"""

from __future__ import annotations

import contextlib

import numpy as np

__all__ = ["forked_rng"]


def _accelerator(device):
    """``(type, module, index)`` of a torch accelerator device; None for the CPU.

    A device without an index (``"cuda"``) is the module's current device.
    A device type torch has no generator module for counts as the CPU.
    """
    import torch

    device = torch.device("cpu" if device is None else device)
    module = getattr(torch, device.type, None)
    if device.type == "cpu" or not callable(getattr(module, "get_rng_state", None)):
        return None
    if device.index is not None:
        return device.type, module, device.index
    current = getattr(module, "current_device", None)
    return device.type, module, current() if callable(current) else 0


def _seed_accelerator(module, index, seed):
    """Seed the default generator of accelerator ``index`` (and no other)."""
    select = getattr(module, "device", None)
    with select(index) if callable(select) else contextlib.nullcontext():
        module.manual_seed(seed)


@contextlib.contextmanager
def forked_rng(seed=None, *, device=None, numpy_global=False):
    """Run a block on forked, optionally seeded, global generators.

    torch's CPU generator and the default generator of ``device`` (when it
    is an accelerator: ``"cuda"``, ``"cuda:1"``, ...) are saved on entry,
    seeded with ``seed`` (as :func:`torch.manual_seed` seeds them), and
    restored on exit, also when the block raises. Other devices' generators
    are neither seeded nor touched, so a model on the CPU never initializes
    CUDA here.

    Parameters
    ----------
    seed : int or None, default=None
        The seed; None forks without seeding (the block draws from the
        current streams, which are rewound afterwards).
    device : str, torch.device or None, default=None
        The device the block draws on, e.g. a model's device; None is the
        CPU.
    numpy_global : bool, default=False
        Also fork numpy's legacy global generator (``np.random.*``) and seed
        it as :func:`numpy.random.seed` would, for code that draws from it
        (captum's ``GradientShap``).

    Examples
    --------
    >>> import torch
    >>> from sklearn_xai.utils._torch_random import forked_rng
    >>> before = torch.get_rng_state()
    >>> with forked_rng(0):
    ...     first = torch.rand(2)
    >>> with forked_rng(0):
    ...     second = torch.rand(2)
    >>> torch.equal(first, second), torch.equal(before, torch.get_rng_state())
    (True, True)
    """
    import torch

    accelerator = _accelerator(device)
    kind, module, index = ("cuda", None, None) if accelerator is None else accelerator
    devices = [] if index is None else [index]
    numpy_state = np.random.get_state() if numpy_global else None  # noqa: NPY002
    try:
        with torch.random.fork_rng(devices=devices, device_type=kind):
            if seed is not None:
                torch.random.default_generator.manual_seed(seed)
                if module is not None:
                    _seed_accelerator(module, index, seed)
                if numpy_global:
                    np.random.seed(seed)  # noqa: NPY002
            yield
    finally:
        if numpy_state is not None:
            np.random.set_state(numpy_state)  # noqa: NPY002
