"""Process settings every benchmark script applies before it imports torch.

Each ``bench_*.py`` imports this module first (``import _environment``).

On CPUs with AVX-512, torch's oneDNN kernels can crash the backward pass of
the benchmark ResNet at 224x224 ("double free or corruption", a segmentation
fault). Capping oneDNN at AVX2 avoids it; oneDNN reads the variable once,
when torch loads, so it must be set before the first ``import torch``. An
explicit ``ONEDNN_MAX_CPU_ISA`` in the environment wins.
"""

import os

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
