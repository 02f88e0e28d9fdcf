"""When a sampled explanation is settled: the stopping rule of ``n_samples="auto"``.

LIME and Kernel SHAP estimate one weight per superpixel from random
perturbations; with per-segment standard errors they can stop sampling as
soon as the answer a user reads from the map no longer depends on more
samples. Two criteria, either of which stops:

* **ranking**: the top-``k`` segments are separated from the rest: every
  top-``k`` weight exceeds every other weight by more than ``z`` standard
  errors of their difference (a one-sided test per boundary pair, as S-LIME's
  test of the ranking, Zhou et al., 2021);
* **precision**: the largest standard error is below ``tol`` times the range
  of the weights (Covert & Lee's convergence rule, 2021).
"""

from __future__ import annotations

import numpy as np

#: Default number of top segments whose ranking must be settled.
TOP_K = 5
#: Default relative tolerance of the precision criterion.
TOLERANCE = 0.05
#: Default z-value of the ranking test (one-sided 97.5%).
Z_VALUE = 1.96


def top_k_settled(weights, stderr, *, top_k=TOP_K, z=Z_VALUE):
    """Whether the ``top_k`` largest weights are separated from the others.

    Parameters
    ----------
    weights, stderr : ndarray of shape (d,)
        Estimated weights and their standard errors.
    top_k : int
        How many of the largest (signed) weights form the set to settle;
        with ``top_k >= d`` the set is everything and trivially settled.
    z : float
        Standard errors of each difference that separate two weights.

    Returns
    -------
    settled : bool

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._convergence import top_k_settled
    >>> top_k_settled(np.array([3.0, 2.0, 0.0]), np.full(3, 0.1), top_k=2)
    True
    >>> top_k_settled(np.array([3.0, 0.1, 0.0]), np.full(3, 0.1), top_k=2)
    False
    """
    weights = np.asarray(weights, dtype=np.float64)
    stderr = np.asarray(stderr, dtype=np.float64)
    d = weights.size
    if top_k >= d:
        return True
    if not (np.isfinite(weights).all() and np.isfinite(stderr).all()):
        return False
    order = np.argsort(-weights, kind="stable")
    top, rest = order[:top_k], order[top_k:]
    gaps = weights[top][:, None] - weights[rest][None, :]
    spread = np.sqrt(stderr[top][:, None] ** 2 + stderr[rest][None, :] ** 2)
    return bool((gaps > z * spread).all())


def relative_stderr(weights, stderr):
    """The largest standard error over the range of the weights.

    How settled a sampled explanation is (Covert & Lee's convergence
    measure); NaN when the weights are all equal or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._convergence import relative_stderr
    >>> float(relative_stderr(np.array([0.0, 0.5, 1.0]), np.array([0.01, 0.02, 0.05])))
    0.05
    """
    weights = np.asarray(weights, dtype=np.float64)
    stderr = np.asarray(stderr, dtype=np.float64)
    if not (np.isfinite(weights).all() and np.isfinite(stderr).all()):
        return np.nan
    spread = float(weights.max() - weights.min()) if weights.size else 0.0
    return float(stderr.max()) / spread if spread > 0 else np.nan


def precise(weights, stderr, *, tol=TOLERANCE):
    """Whether the largest standard error is below ``tol`` x the weights' range.

    A constant set of weights (range 0) is never precise: its stopping is
    left to ``max_samples``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._convergence import precise
    >>> precise(np.array([0.0, 1.0]), np.array([0.01, 0.04]), tol=0.05)
    True
    >>> precise(np.array([0.0, 0.0]), np.array([0.0, 0.0]))
    False
    """
    ratio = relative_stderr(weights, stderr)
    return bool(ratio < tol)  # False for NaN


def is_settled(weights, stderr, *, top_k=TOP_K, tol=TOLERANCE, z=Z_VALUE):
    """The stopping rule: the top-``k`` ranking is settled or the weights precise.

    Parameters
    ----------
    weights, stderr : ndarray of shape (d,)
    top_k : int, default=5
    tol : float, default=0.05
    z : float, default=1.96

    Returns
    -------
    settled : bool

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.attribution._convergence import is_settled
    >>> w = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0, 0.0])
    >>> is_settled(w, np.full(7, 0.1)), is_settled(w, np.full(7, 2.0))
    (True, False)
    """
    return top_k_settled(weights, stderr, top_k=top_k, z=z) or precise(
        weights, stderr, tol=tol
    )
