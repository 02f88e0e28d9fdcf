"""Deletion and insertion curves of one or several attribution methods."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ._base import check_ax, check_fitted_explainers

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..base import BaseExplainer

KINDS = ("deletion", "insertion")


def _check_kind(kind):
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}; got {kind!r}.")
    return kind


def _mean_curve(estimator, X, attributions, *, kind, **kwargs):
    """``(fractions, mean curve, mean AUC)`` over the images."""
    from ..metrics import deletion_curve, insertion_curve

    curve_func = deletion_curve if kind == "deletion" else insertion_curve
    curve = curve_func(estimator, X, attributions, **kwargs)
    # The mean of the per-image areas, exactly as deletion_auc / insertion_auc.
    aucs = np.trapezoid(curve.scores, curve.fractions, axis=1)
    return curve.fractions, curve.scores.mean(axis=0), float(aucs.mean())


def _numbers(values, name):
    """``values`` as a float64 array, or a ValueError naming them."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must hold numbers; got {str(values)[:60]!r}."
        ) from None


class FaithfulnessCurveDisplay:
    """Deletion or insertion curves, one per attribution method.

    A deletion curve is the mean probability of the explained class as the
    most relevant pixels are removed (:func:`~sklearn_xai.metrics.deletion_curve`);
    an insertion curve as they are revealed on a baseline
    (:func:`~sklearn_xai.metrics.insertion_curve`). Each method's legend
    entry gives its area under the curve, the mean over the images of
    :func:`~sklearn_xai.metrics.deletion_auc` (lower is better) or
    :func:`~sklearn_xai.metrics.insertion_auc` (higher is better). Create it
    with :meth:`from_explainer` or :meth:`from_attributions`; the
    constructor only stores the data.

    Parameters
    ----------
    fractions : array-like of shape (n_steps + 1,)
        Fraction of pixels deleted (or inserted) at each point, from 0 to 1.
    curves : dict of str to array-like of shape (n_steps + 1,)
        The mean probability of the explained class at each fraction, per
        method.
    aucs : dict of str to float
        The area under each method's curve (same keys as ``curves``).
    kind : {"deletion", "insertion"}
        Which curve this is.

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure holding the plot.
    ax_ : matplotlib Axes
        The Axes with the curves.
    lines_ : dict of str to matplotlib Line2D
        The curve of every method.

    See Also
    --------
    sklearn_xai.metrics.deletion_auc : The area under the deletion curve.
    sklearn_xai.metrics.insertion_auc : The area under the insertion curve.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.visualization import FaithfulnessCurveDisplay
    >>> X, y = load_digit_images(return_X_y=True)
    >>> X, y = X[:300].reshape(300, -1), y[:300]
    >>> clf = LogisticRegression(max_iter=300).fit(X, y)
    >>> exact = (clf.coef_[clf.predict(X[:5])] * X[:5]).reshape(5, 8, 8)
    >>> noise = np.random.default_rng(0).normal(size=(5, 8, 8))
    >>> display = FaithfulnessCurveDisplay.from_attributions(
    ...     clf, X[:5], {"exact": exact, "noise": noise}, n_steps=16,
    ...     image_shape=(8, 8))
    >>> bool(display.aucs["exact"] < display.aucs["noise"])
    True
    >>> display.ax_.get_legend().get_texts()[0].get_text()  # doctest: +ELLIPSIS
    'exact (AUC = 0...)'
    """

    def __init__(
        self,
        fractions: ArrayLike,
        curves: dict[str, ArrayLike],
        aucs: dict[str, float],
        *,
        kind: str,
    ) -> None:
        self.fractions = fractions
        self.curves = curves
        self.aucs = aucs
        self.kind = kind

    @classmethod
    def from_explainer(
        cls,
        explainer: BaseExplainer | dict[str, BaseExplainer],
        X: ArrayLike,
        *,
        kind: str = "deletion",
        target: ArrayLike | None = None,
        n_steps: int | None = None,
        baseline: str | float = "black",
        ax: Axes | None = None,
    ) -> FaithfulnessCurveDisplay:
        """Explain images with fitted explainers and plot their curves.

        Each explainer explains ``X`` (for ``target``) and its own model,
        ``explainer.estimator_``, is probed with the perturbed images, in
        batches of the explainer's ``batch_size``.

        Parameters
        ----------
        explainer : BaseExplainer or dict of str to BaseExplainer
            A fitted explainer (named by its class name without
            ``Explainer``), or several by name.
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            The images, in the layout the explainers were fitted on.
        kind : {"deletion", "insertion"}, default="deletion"
            Remove the most relevant pixels, or reveal them on the baseline.
        target : array-like of shape (n,), label or None, default=None
            The class to explain and to follow per image; None means the
            predicted class.
        n_steps : int or None, default=None
            Steps of the curve; None means 100, or one pixel per step for
            smaller images.
        baseline : {"black", "mean", "blur"} or float, default="black"
            What removed pixels become, or what pixels are revealed on.
        ax : matplotlib Axes or None, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : FaithfulnessCurveDisplay
        """
        kind = _check_kind(kind)
        explainers = check_fitted_explainers(explainer)
        curves, aucs, fractions = {}, {}, None
        for name, fitted in explainers.items():
            attributions = fitted.explain(X, target=target)
            fractions, curves[name], aucs[name] = _mean_curve(
                fitted.estimator_,
                X,
                attributions,
                kind=kind,
                targets=target,
                n_steps=n_steps,
                baseline=baseline,
                image_shape=tuple(fitted.image_shape_),
                batch_size=getattr(fitted, "batch_size", 64),
            )
        return cls(fractions, curves, aucs, kind=kind).plot(ax=ax)

    @classmethod
    def from_attributions(
        cls,
        estimator,
        X: ArrayLike,
        attributions: ArrayLike | dict[str, ArrayLike],
        *,
        kind: str = "deletion",
        targets: ArrayLike | None = None,
        n_steps: int | None = None,
        baseline: str | float = "black",
        ax: Axes | None = None,
        image_shape: tuple | None = None,
        batch_size: int = 64,
    ) -> FaithfulnessCurveDisplay:
        """Plot the curves of attributions computed beforehand.

        Parameters
        ----------
        estimator : classifier
            A fitted classifier with ``predict_proba``.
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            The images, in the layout the estimator was fitted on.
        attributions : array-like of shape (n, H, W) or dict of str to such
            One method's attributions (named ``"attribution"``), or several
            by name.
        kind : {"deletion", "insertion"}, default="deletion"
            Remove the most relevant pixels, or reveal them on the baseline.
        targets : array-like of shape (n,), label or None, default=None
            The class followed per image; None means the predicted class.
        n_steps : int or None, default=None
            Steps of the curve; None means 100, or one pixel per step for
            smaller images.
        baseline : {"black", "mean", "blur"} or float, default="black"
            What removed pixels become, or what pixels are revealed on.
        ax : matplotlib Axes or None, default=None
            Where to draw; None makes a new figure.
        image_shape : tuple of int or None, default=None
            ``(H, W)`` or ``(H, W, C)`` of flattened ``X``.
        batch_size : int, default=64
            Images per ``predict_proba`` call.

        Returns
        -------
        display : FaithfulnessCurveDisplay
        """
        kind = _check_kind(kind)
        if isinstance(attributions, dict):
            if not attributions:
                raise ValueError(
                    "attributions is an empty dict; give at least one method's "
                    "attributions."
                )
            named = {str(k): v for k, v in attributions.items()}
        else:
            named = {"attribution": attributions}
        curves, aucs, fractions = {}, {}, None
        for name, values in named.items():
            fractions, curves[name], aucs[name] = _mean_curve(
                estimator,
                X,
                values,
                kind=kind,
                targets=targets,
                n_steps=n_steps,
                baseline=baseline,
                image_shape=image_shape,
                batch_size=batch_size,
            )
        return cls(fractions, curves, aucs, kind=kind).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> FaithfulnessCurveDisplay:
        """Draw the curves, with each method's AUC in the legend.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        self : FaithfulnessCurveDisplay
            With ``figure_``, ``ax_`` and ``lines_`` set.
        """
        kind = _check_kind(self.kind)
        fractions = _numbers(self.fractions, "fractions")
        if fractions.ndim != 1 or len(fractions) < 2:
            raise ValueError(
                "fractions must be a 1-D array of at least two points; got an "
                f"array of shape {fractions.shape}."
            )
        if not isinstance(self.curves, dict) or not self.curves:
            raise TypeError(
                "curves must be a non-empty dict name -> curve; got "
                f"{type(self.curves).__name__}."
            )
        if not isinstance(self.aucs, dict) or set(self.aucs) != set(self.curves):
            got = (
                sorted(map(str, self.aucs))
                if isinstance(self.aucs, dict)
                else type(self.aucs).__name__
            )
            raise ValueError(
                "aucs must be a dict with the keys of curves "
                f"{sorted(map(str, self.curves))}; got {got}."
            )
        figure, ax = check_ax(ax)
        lines = {}
        # The colour cycle has 10 colours: later curves get a dashed style so
        # no two curves look alike.
        styles = ["-", "--", ":", "-."]
        for i, (name, curve) in enumerate(self.curves.items()):
            curve = _numbers(curve, f"curves[{name!r}]")
            if curve.shape != fractions.shape:
                raise ValueError(
                    f"curves[{name!r}] must have one value per fraction "
                    f"{fractions.shape}; got an array of shape {curve.shape}."
                )
            (lines[name],) = ax.plot(
                fractions,
                curve,
                linestyle=styles[(i // 10) % len(styles)],
                label=f"{name} (AUC = {float(self.aucs[name]):.3f})",
            )
        verb = "deleted" if kind == "deletion" else "inserted"
        better = "lower" if kind == "deletion" else "higher"
        ax.set_xlabel(f"fraction of pixels {verb}")
        ax.set_ylabel("probability of the explained class")
        ax.set_title(f"{kind.capitalize()} curve ({better} AUC is better)")
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(loc="best")
        self.figure_, self.ax_, self.lines_ = figure, ax, lines
        return self
