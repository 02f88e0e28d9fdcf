"""Shared test configuration."""

import os

import pytest

# Before anything imports torch (oneDNN reads it once, when torch loads):
# its AVX-512 kernels can crash the backward pass of a ResNet at 224x224
# ("double free or corruption"). See Troubleshooting in the README.
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")


def pytest_configure(config):
    # Under pytest-xdist each worker gets one torch thread: two workers with
    # two spinning OpenMP threads each on two cores run many times slower.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:  # pragma: no cover
            pass


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
