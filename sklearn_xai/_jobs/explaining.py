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
    explainers, attributions, seconds : dict
        Display name -> fitted explainer, ``(n, H, W)`` attributions and the
        seconds its fit and explanation took.
    """
    from tqdm.auto import tqdm

    size = int(min(X.shape[1:3]))
    explainers, attributions, seconds = {}, {}, {}
    for name in tqdm(methods, desc="explaining", unit="method", disable=not progress):
        label = METHODS[name][0]
        start = time.perf_counter()
        explainer = build_explainer(
            name, model, image_size=size, quick=quick, random_state=random_state
        ).fit(X_fit)
        with quiet_captum():
            maps = explainer.explain(X)
        seconds[label] = time.perf_counter() - start
        explainers[label] = explainer
        attributions[label] = np.asarray(maps, dtype=np.float32)
    return explainers, attributions, seconds


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
