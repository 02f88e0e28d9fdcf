"""One BLAS thread for the small linear algebra of the explainers."""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache


@lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def single_threaded_blas():
    """Run the block with numpy's BLAS on one thread.

    LIME's and Kernel SHAP's regressions multiply matrices of a few thousand
    rows by about fifty columns, work that one thread does in a millisecond.
    A multi-threaded OpenBLAS makes such products wait for all its threads,
    and on a machine whose cores are busy (the network's own threads, other
    processes) that wait took 30 to 170 times as long (a 4096 x 37 weighted
    ridge: 5 ms alone, 174 ms next to another process on 2 cores). The model
    calls stay outside this block: torch's thread pools are untouched.
    The controller is built once (:mod:`threadpoolctl` scans the loaded
    libraries then); entering the block costs about 20 microseconds.
    """
    with _controller().limit(limits=1, user_api="blas"):
        yield
