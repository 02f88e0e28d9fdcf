"""One adapter for every way an explainer calls the model.

* Model-agnostic methods (LIME, occlusion, RISE) only need class
  probabilities: :func:`batched_predict_proba` calls ``predict_proba`` of any
  scikit-learn classifier or pipeline in bounded batches.
* Gradient methods need the torch network: :func:`get_torch_model` finds the
  :class:`~sklearn_xai.neural_network.CNNClassifier` of an estimator (alone,
  frozen, or last step of a :class:`~sklearn.pipeline.Pipeline`) and returns a
  :class:`TorchModel` that runs the pipeline's preprocessing and hands back
  the network's input tensor.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from ._validation import ImageLayout


def unwrap_frozen(estimator):
    """Return the model inside a :class:`~sklearn.frozen.FrozenEstimator`.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.utils._model import unwrap_frozen
    >>> model = LogisticRegression()
    >>> unwrap_frozen(FrozenEstimator(model)) is model
    True
    """
    while isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    return estimator


def batched_predict_proba(estimator, images, *, layout_ndim, batch_size):
    """Class probabilities of ``(m, H, W, C)`` images, ``batch_size`` at a time.

    Parameters
    ----------
    estimator : classifier
        A fitted classifier with ``predict_proba``.
    images : ndarray of shape (m, H, W, C)
        The images.
    layout_ndim : {2, 3, 4}
        The layout the classifier was fitted on (flattened, gray, channels
        last); images are handed over in that layout.
    batch_size : int
        Images per call of ``predict_proba``.

    Returns
    -------
    proba : ndarray of shape (m, n_classes)
        float64 probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn_xai.utils._model import batched_predict_proba
    >>> clf = DummyClassifier().fit(np.zeros((4, 3)), [0, 1, 1, 1])
    >>> batched_predict_proba(clf, np.zeros((5, 1, 3, 1)), layout_ndim=2,
    ...                       batch_size=2).shape
    (5, 2)
    """
    layout = ImageLayout(ndim=layout_ndim)
    out = [
        np.asarray(
            estimator.predict_proba(layout.restore(images[i : i + batch_size])),
            dtype=np.float64,
        )
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(out) if out else np.empty((0, 0))


@dataclass
class TorchModel:
    """The torch side of a fitted estimator, for gradient methods.

    Attributes
    ----------
    module : torch.nn.Module
        The trained network (outputs logits).
    device : str
        Where the network lives.
    preprocess : Pipeline or None
        The steps before the network, applied with ``transform``.
    network : CNNClassifier
        The classifier holding ``module``.
    """

    module: object
    device: str
    preprocess: object
    network: object

    def input_tensor(self, images, *, layout_ndim):
        """The network input for ``(n, H, W, C)`` images, on the device.

        Returns a float32 tensor ``(n, C', H', W')``: the images after the
        pipeline's preprocessing, converted as the classifier converts them.
        """
        X = ImageLayout(ndim=layout_ndim).restore(images)
        if self.preprocess is not None:
            X = self.preprocess.transform(X)
        return self.network._to_tensor(X, reset=False).to(self.device)

    @contextlib.contextmanager
    def evaluating(self):
        """Put the network in eval mode, and back as it was afterwards."""
        was_training = self.module.training
        self.module.eval()
        try:
            yield self.module
        finally:
            self.module.train(was_training)


def get_torch_model(estimator) -> TorchModel:
    """Find the torch network of a fitted estimator for a gradient method.

    Parameters
    ----------
    estimator : estimator
        A fitted :class:`~sklearn_xai.neural_network.CNNClassifier`, or a
        :class:`~sklearn.pipeline.Pipeline` ending in one, optionally wrapped
        in :class:`~sklearn.frozen.FrozenEstimator`.

    Returns
    -------
    model : TorchModel

    Raises
    ------
    TypeError
        When the estimator has no torch network.
    """
    from ..neural_network import CNNClassifier

    model = unwrap_frozen(estimator)
    preprocess = None
    if isinstance(model, Pipeline):
        preprocess = model[:-1] if len(model) > 1 else None
        model = unwrap_frozen(model[-1])
    if not isinstance(model, CNNClassifier):
        raise TypeError(
            "this explainer needs gradients, so estimator must be a "
            "CNNClassifier or a Pipeline ending in one (optionally in a "
            f"FrozenEstimator); got {type(unwrap_frozen(estimator)).__name__}. "
            "Model-agnostic explainers (LimeExplainer, OcclusionExplainer, "
            "RISEExplainer) work with any classifier."
        )
    return TorchModel(
        module=model.module_,
        device=model.device_,
        preprocess=preprocess,
        network=model,
    )
