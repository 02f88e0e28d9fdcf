"""Explain a batch of images with several methods, for the command-line jobs."""

from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np

from .methods import METHODS, build_explainer


def explain_methods(
    model, X_fit, X, methods, *, quick=False, random_state=0, progress=True
):
    """Fit one explainer per method on ``X_fit`` and explain ``X``.

    Parameters
    ----------
    model : classifier
        The trained model, usually wrapped in ``FrozenEstimator``.
    X_fit : ndarray
        Images the explainers learn from (e.g. a mean-image baseline).
    X : ndarray
        Images to explain.
    methods : list of str
        Command-line method names (see ``methods.METHODS``).
    quick : bool
        Fewer samples per method.
    random_state : int
        Seed of the stochastic methods.
    progress : bool
        Show a progress bar over the methods.

    Returns
    -------
    explainers, attributions, seconds, uncertainty : dict
        Display name -> fitted explainer, ``(n, H, W)`` attributions, the
        seconds its fit and explanation took, and the per-image relative
        standard error of its map (:func:`relative_stderr`; None for methods
        that do not estimate one).
    """
    from tqdm.auto import tqdm

    size = int(min(X.shape[1:3]))
    explainers, attributions, seconds, uncertainty = {}, {}, {}, {}
    for name in tqdm(methods, desc="explaining", unit="method", disable=not progress):
        label = METHODS[name][0]
        start = time.perf_counter()
        explainer = build_explainer(
            name, model, image_size=size, quick=quick, random_state=random_state
        ).fit(X_fit)
        with quiet_captum():
            maps, details = explainer.explain(X, return_details=True)
        seconds[label] = time.perf_counter() - start
        explainers[label] = explainer
        attributions[label] = np.asarray(maps, dtype=np.float32)
        uncertainty[label] = relative_stderr(details)
    return explainers, attributions, seconds, uncertainty


def relative_stderr(details):
    """Per image, the largest segment standard error over the weights' range.

    For methods whose ``return_details`` carry ``segment_stderr`` (LIME and
    Kernel SHAP) with ``segment_weights`` or ``segment_values``: how settled
    the map is (Covert & Lee's convergence measure); NaN for an image whose
    weights are all equal. None for methods without standard errors.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from sklearn_xai._jobs.explaining import relative_stderr
    >>> details = Bunch(segment_weights=[np.array([0.0, 0.5, 1.0])],
    ...                 segment_stderr=[np.array([0.01, 0.02, 0.05])])
    >>> relative_stderr(details)
    array([0.05])
    >>> relative_stderr(Bunch(targets=np.array([1]))) is None
    True
    """
    stderr = details.get("segment_stderr")
    weights = details.get("segment_weights", details.get("segment_values"))
    if stderr is None or weights is None:
        return None
    from ..attribution._convergence import relative_stderr as ratio

    return np.array([ratio(w, se) for w, se in zip(weights, stderr, strict=True)])


@contextlib.contextmanager
def quiet_captum():
    """Hide captum's notice of Guided Backprop's ReLU hooks.

    captum announces on every call that it sets backward hooks on ReLU
    modules (and removes them afterwards): noise in a command's output.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Setting .*hooks", category=UserWarning
        )
        yield


def mean_curve(curve, auc):
    """A Bunch(fractions, scores, auc) of the mean of per-image curves."""
    from sklearn.utils import Bunch

    return Bunch(
        fractions=curve.fractions,
        scores=np.mean(curve.scores, axis=0),
        auc=float(np.mean(auc)),
    )
