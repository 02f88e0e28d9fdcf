"""One BLAS thread for the small linear algebra of the explainers."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache

#: The limit in force and how many nested blocks of the main thread are
#: inside it (the outermost sets it and restores the user's setting).
_STATE = {"limiter": None, "inside": 0}
_LOCK = threading.Lock()


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

    BLAS's thread count belongs to the process, and OpenBLAS reads and sets
    it differently from threads other than the main one: under joblib's
    threading backend, blocks that limited and restored it from worker
    threads left numpy on one thread for the rest of the process. So only
    the main thread (of each process: loky's workers have their own) limits
    it; a worker thread runs the block as it is. Nested blocks are counted:
    the outermost restores the user's setting. The controller is built once
    (:mod:`threadpoolctl` scans the loaded libraries then); entering the
    block costs about 20 microseconds.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _LOCK:
        if _STATE["inside"] == 0:
            _STATE["limiter"] = _controller().limit(limits=1, user_api="blas")
        _STATE["inside"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["inside"] -= 1
            if _STATE["inside"] == 0:
                _STATE["limiter"].restore_original_limits()
                _STATE["limiter"] = None
