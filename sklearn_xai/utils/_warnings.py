"""The warning for explanations that explain nothing, shared by explainers and metrics.

A constant attribution map (every pixel equal, most often all zero) ranks no
pixel above another. Explainers warn when a set-up cannot produce anything
else (:func:`warn_degenerate_setup`, at ``fit``) and when maps of a call came
out constant (:func:`warn_constant_explanations`, at ``explain``); the
metrics score such maps NaN and warn with the same class.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

__all__ = [
    "DegenerateExplanationWarning",
    "warn_constant_explanations",
    "warn_degenerate_setup",
]


class DegenerateExplanationWarning(UserWarning):
    """Attribution maps that are constant, or a set-up that can only give such maps.

    A constant map (all pixels equal, e.g. all zero) ranks no pixel above
    another, so it explains nothing. Explainers warn with this class when
    their settings cannot produce anything else for the images seen in
    ``fit`` (one superpixel, one-pixel superpixels hidden with their own mean,
    an occlusion window as large as the image...), saying what to change, and
    when maps of an ``explain`` call came out constant, with their count.
    Every metric of :mod:`sklearn_xai.metrics` returns NaN for a constant map
    rather than a number that would reward it, and warns once per call with
    the count.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sklearn_xai.metrics import DegenerateExplanationWarning, sparseness
    >>> a = np.zeros((2, 4, 4)); a[1, 0, 0] = 1.0
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     scores = sparseness(a)
    >>> scores
    array([   nan, 0.9375])
    >>> caught[0].category is DegenerateExplanationWarning
    True
    """


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_stacklevel():
    """``stacklevel`` of the first frame outside sklearn_xai, joblib and sklearn."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        inside = filename.startswith(_PACKAGE) or (
            os.sep + "sklearn" + os.sep in filename
            or os.sep + "joblib" + os.sep in filename
        )
        if not inside:
            break
        frame, level = frame.f_back, level + 1
    return level


def warn_degenerate_setup(owner, problem, remedy):
    """Warn that a set-up can only give constant maps, and what to change.

    Parameters
    ----------
    owner : str
        The explainer's class name.
    problem : str
        What makes every map constant.
    remedy : str
        What to change.
    """
    warnings.warn(
        f"{owner}: {problem}, so every attribution map will be constant and "
        f"explain nothing. {remedy}",
        DegenerateExplanationWarning,
        stacklevel=_user_stacklevel(),
    )


def _shown(index):
    shown = ", ".join(str(i) for i in index[:10])
    return shown + (", ..." if len(index) > 10 else "")


def warn_constant_explanations(attributions, *, owner, causes=()):
    """Warn once, with the count, when maps of an ``explain`` call are constant.

    Parameters
    ----------
    attributions : ndarray of shape (n, H, W)
        The maps of the call.
    owner : str
        The explainer's class name.
    causes : sequence of (ndarray of bool of shape (n,), str), default=()
        Known reasons: which images each applies to, and a sentence saying
        why and what to change (mentioned when one of those maps is
        constant).

    Returns
    -------
    constant : ndarray of bool of shape (n,)
        Which maps are constant (the metrics' definition,
        :func:`~sklearn_xai.metrics._checks.degenerate_maps`).
    """
    from ..metrics._checks import degenerate_maps

    constant = degenerate_maps(np.asarray(attributions))
    count = int(np.count_nonzero(constant))
    if not count:
        return constant
    index = np.flatnonzero(constant)
    reasons = []
    for where, why in causes:
        hit = np.flatnonzero(np.asarray(where, dtype=bool) & constant)
        if len(hit):
            reasons.append(f"Images [{_shown(hit)}]: {why}")
    if not reasons:
        reasons.append(
            "The model's probability of the explained class did not change "
            "under the method's perturbations; hide more of the image (a "
            "fill further from the image, larger regions) or check the model."
        )
    warnings.warn(
        f"{owner}: {count} of {len(constant)} attribution maps are constant "
        f"(images [{_shown(index)}]): they rank no pixel above another and "
        f"explain nothing (metrics score them NaN). " + " ".join(reasons),
        DegenerateExplanationWarning,
        stacklevel=_user_stacklevel(),
    )
    return constant
