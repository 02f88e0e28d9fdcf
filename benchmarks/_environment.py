"""Process settings every benchmark script applies before it imports torch.

Each ``bench_*.py`` imports this module first (``import _environment``); it
also holds :func:`quiet`, which the scripts comparing with lime share.

On CPUs with AVX-512, torch's oneDNN kernels can crash the backward pass of
the benchmark ResNet at 224x224 ("double free or corruption", a segmentation
fault). Capping oneDNN at AVX2 avoids it; oneDNN reads the variable once,
when torch loads, so it must be set before the first ``import torch``. An
explicit ``ONEDNN_MAX_CPU_ISA`` in the environment wins.
"""

import os
import sys

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")


def quiet(fn, *args, **kwargs):
    """Call ``fn`` with stderr silenced (lime draws a progress bar)."""
    with open(os.devnull, "w") as devnull:
        saved, sys.stderr = sys.stderr, devnull
        try:
            return fn(*args, **kwargs)
        finally:
            sys.stderr = saved
