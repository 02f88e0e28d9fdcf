"""Checks shared by the classifiers that wrap a model trained elsewhere.

:class:`~sklearn_xai.neural_network.TorchClassifier` and
:class:`~sklearn_xai.neural_network.OnnxClassifier` take the same description
of a trained model (the label of each output column, the per-channel
normalization, the intensity range) and check what it gave them the same way,
with the same messages. Nothing here imports torch or onnxruntime.
"""

from __future__ import annotations

import warnings

import numpy as np


def describe_classes(classes):
    """The first labels of ``classes``, for messages.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.neural_network._wrapped import describe_classes
    >>> describe_classes(np.arange(10))
    '[0, 1, 2, 3, 4] ...'
    """
    shown = classes[:5].tolist()
    return f"{shown}{' ...' if len(classes) > 5 else ''}"


def check_classes(classes):
    """``classes`` as a 1-D array of at least 2 distinct labels.

    Parameters
    ----------
    classes : array-like of shape (n_classes,) or None
        The label of each output column, in the model's order.

    Returns
    -------
    classes : ndarray of shape (n_classes,)

    Raises
    ------
    ValueError
        When ``classes`` is None, not 1-D, shorter than 2 or repeats a label.

    Examples
    --------
    >>> from sklearn_xai.neural_network._wrapped import check_classes
    >>> check_classes(["cat", "dog"])
    array(['cat', 'dog'], dtype='<U3')
    """
    if classes is None:
        raise ValueError(
            "classes is required: the label of each of the network's output "
            "columns, in the network's order (e.g. classes=range(1000) or a "
            "list of names)."
        )
    classes = np.asarray(classes)
    if classes.ndim != 1 or len(classes) < 2:
        raise ValueError(
            "classes must be a 1-D list of at least 2 labels, one per output "
            f"column; got an array of shape {classes.shape}."
        )
    if len(np.unique(classes)) != len(classes):
        raise ValueError("classes must not repeat a label.")
    return classes


def check_normalization(mean, std, n_channels):
    """``(mean, std)`` as float64 arrays of one value per channel, or Nones.

    A single value is repeated over the channels.

    Raises
    ------
    ValueError
        When only one of them is given, a value count differs from
        ``n_channels``, a value is not finite, or a ``std`` is not positive.

    Examples
    --------
    >>> from sklearn_xai.neural_network._wrapped import check_normalization
    >>> check_normalization(0.5, [0.2, 0.2, 0.2], 3)[0]
    array([0.5, 0.5, 0.5])
    """
    if (mean is None) != (std is None):
        raise ValueError("mean and std must be given together, or neither.")
    if mean is None:
        return None, None
    stats = []
    for name, given in (("mean", mean), ("std", std)):
        value = np.asarray(given, dtype=np.float64).reshape(-1)
        if len(value) == 1:
            value = np.repeat(value, n_channels)
        if len(value) != n_channels or not np.all(np.isfinite(value)):
            raise ValueError(
                f"{name} must hold one finite value per channel ({n_channels});"
                f" got {np.asarray(given).tolist()}."
            )
        stats.append(value)
    if np.any(stats[1] <= 0):
        raise ValueError(f"std must be positive; got {stats[1].tolist()}.")
    return stats[0], stats[1]


def check_input_range(input_range):
    """``input_range`` as a pair of floats ``low < high``.

    Raises
    ------
    ValueError
        When it is not a pair of finite numbers in increasing order.

    Examples
    --------
    >>> from sklearn_xai.neural_network._wrapped import check_input_range
    >>> check_input_range([0, 255])
    (0.0, 255.0)
    """
    try:
        lo, hi = (float(v) for v in input_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"input_range must be a pair (low, high) of numbers; got {input_range!r}."
        ) from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"input_range must satisfy low < high; got {input_range!r}.")
    return (lo, hi)


def check_labels(y, classes, *, n_images=None):
    """Refuse labels ``y`` (if given) not in ``classes`` or not one per image.

    Raises
    ------
    ValueError
        Naming the unknown labels, or the two lengths.
    """
    if y is None:
        return
    if n_images is not None:
        check_label_count(y, n_images)
    unknown = np.setdiff1d(np.asarray(y), classes)
    if unknown.size:
        raise ValueError(
            f"y contains labels {unknown.tolist()[:5]} that are not in "
            f"classes ({describe_classes(classes)})."
        )


def check_label_count(y, n_images):
    """Refuse labels ``y`` that are not one per image, naming both arguments."""
    if np.ndim(y) == 0 or len(y) != n_images:
        got = "a single value" if np.ndim(y) == 0 else f"{len(y)} labels"
        raise ValueError(
            f"y has {got}, but X has {n_images} images; give one label per image."
        )


class AccuracyScoreMixin:
    """``score(X, y)``: scikit-learn's accuracy, with ``y``'s length named."""

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict` on ``X`` against the labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images.
        y : array-like of shape (n,)
            Their true labels.
        sample_weight : array-like of shape (n,) or None, default=None
            Weights of the images.

        Returns
        -------
        score : float
            The fraction of images whose predicted label is ``y``.
        """
        from sklearn.metrics import accuracy_score

        predicted = self.predict(X)
        check_label_count(y, len(predicted))
        return float(accuracy_score(y, predicted, sample_weight=sample_weight))


def check_output_width(width, classes, *, what="the network"):
    """Refuse a model output whose width is not one column per class.

    Raises
    ------
    ValueError
        When ``width != len(classes)``.
    """
    if width != len(classes):
        raise ValueError(
            f"{what} outputs {width} class scores per image, but classes has "
            f"{len(classes)} labels ({describe_classes(classes)}); give one label "
            "per output column."
        )


def warn_if_probabilities(values, output, *, stacklevel=2):
    """Warn when outputs declared as logits look like probabilities.

    Parameters
    ----------
    values : ndarray of shape (n, k)
        The model's raw output.
    output : str
        The declared output kind.
    stacklevel : int, default=2
        Passed to :func:`warnings.warn` (plus one for this function).
    """
    if output != "logits":
        return
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < 2:
        return
    if np.all(values >= 0) and np.allclose(values.sum(axis=1), 1.0, atol=1e-4):
        warnings.warn(
            "the network's outputs are non-negative and sum to 1, like "
            "probabilities, but output='logits'; pass "
            "output='probabilities' if the network ends in a softmax.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
