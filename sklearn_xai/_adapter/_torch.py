"""The torch side of a fitted model, for gradient and class-activation methods."""

from __future__ import annotations

from dataclasses import dataclass

from ..utils._validation import ImageLayout
from ._layers import named_layers
from ._predict import split_pipeline, unwrap_frozen


@dataclass
class TorchModel:
    """What a gradient method needs of a model.

    Attributes
    ----------
    network : torch.nn.Module
        The trained network (the classifier's own copy): its layers are
        looked up and hooked here, and randomization tests re-initialize it.
    forward : torch.nn.Module
        The function the methods differentiate: channels-first pixels
        ``(n, C, H, W)`` on the model's intensity scale in, logits
        ``(n, n_classes)`` out, with the model's normalization, layout change
        and output handling inside.
    device : str
        Where the network lives.
    preprocess : Pipeline or None
        The pipeline steps before the classifier, applied with ``transform``.
    keras : bool
        Whether ``network`` is a Keras model (layers named the Keras way,
        4-D outputs channels last).
    """

    network: object
    forward: object
    device: str
    preprocess: object
    keras: bool
    _to_tensor: object
    _running: object

    @property
    def channels_last(self):
        """Whether the network's 4-D layer outputs are channels last."""
        return self.keras

    def input_tensor(self, images, *, layout_ndim):
        """The pixels ``forward`` takes for ``(n, H, W, C)`` images.

        Returns a float32 tensor ``(n, C', H', W')`` on the device: the
        images after the pipeline's preprocessing, converted to the model's
        intensity range as its ``predict_proba`` converts them.
        """
        X = ImageLayout(ndim=layout_ndim).restore(images)
        if self.preprocess is not None:
            X = self.preprocess.transform(X)
        return self._to_tensor(X)

    def evaluating(self):
        """Context manager: eval mode, and the flag as it was afterwards."""
        return self._running()

    def layers(self):
        """``(name, layer)`` pairs of the network (see :func:`named_layers`)."""
        return named_layers(self.network, keras=self.keras)

    def layer(self, name):
        """The layer called ``name``.

        Raises
        ------
        ValueError
            When the network has no such layer; the message lists some.
        """
        if self.keras:
            try:
                return self.network.get_layer(name)
            except ValueError:
                pass
        else:
            try:
                return self.network.get_submodule(name)
            except AttributeError:
                pass
        names = [n for n, _ in self.layers()]
        shown = names if len(names) <= 12 else [*names[:4], "...", *names[-8:]]
        raise ValueError(
            f"layer {name!r} is not a layer of {type(self.network).__name__}; "
            f"its layers are {shown}."
        )


def get_torch_model(estimator) -> TorchModel:
    """The torch side of a fitted estimator, for a gradient method.

    Parameters
    ----------
    estimator : estimator
        A fitted torch-backed classifier (a
        :class:`~sklearn_xai.neural_network.CNNClassifier` or
        :class:`~sklearn_xai.neural_network.TorchClassifier`), or a
        :class:`~sklearn.pipeline.Pipeline` ending in one, optionally in a
        :class:`~sklearn.frozen.FrozenEstimator`.

    Returns
    -------
    model : TorchModel

    Raises
    ------
    TypeError
        When the model has no torch network.
    """
    preprocess, model = split_pipeline(estimator)
    parts = getattr(model, "_explainable_network", None)
    if parts is None:
        raise TypeError(
            "this explainer needs gradients, so estimator must be torch-backed: "
            "a CNNClassifier, a TorchClassifier (a trained torch network, a "
            "Keras 3 model on the torch backend, a skorch net) or a Pipeline "
            "ending in one (optionally in a FrozenEstimator); got "
            f"{type(unwrap_frozen(estimator)).__name__}. Model-agnostic "
            "explainers (LimeExplainer, KernelShapExplainer, OcclusionExplainer, "
            "RISEExplainer) work with any classifier."
        )
    parts = parts()
    return TorchModel(
        network=parts["network"],
        forward=parts["forward"],
        device=parts["device"],
        preprocess=preprocess,
        keras=parts["keras"],
        _to_tensor=parts["to_tensor"],
        _running=parts["running"],
    )
