"""Shared test configuration."""

import os

import pytest

# Before anything imports torch (oneDNN reads it once, when torch loads):
# its AVX-512 kernels can crash the backward pass of a ResNet at 224x224
# ("double free or corruption"). See Troubleshooting in the README.
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")

# Profiles of the property-based suite (tests/test_properties.py): the fast
# one runs in `make test` (reproducible: derandomized), the long one with
# SKLEARN_XAI_HYPOTHESIS=long (`pytest -m slow tests/test_properties.py`).
try:
    from hypothesis import HealthCheck, settings

    _suppressed = [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ]
    settings.register_profile(
        "sklearn-xai-fast",
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=_suppressed,
    )
    settings.register_profile(
        "sklearn-xai-long",
        max_examples=300,
        deadline=None,
        suppress_health_check=_suppressed,
    )
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass


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
