"""A convolutional image classifier that is a scikit-learn estimator."""

from __future__ import annotations

import contextlib
import copy
import inspect
import warnings

import numpy as np
import torch
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d
from skorch import NeuralNetClassifier

from ..utils._intensity import fitted_intensity_range, to_intensity_range
from ..utils._torch_random import forked_rng
from ..utils._validation import check_image_shape, validate_images
from ._forward import ModelForward, eval_mode
from ._modules import SmallCNN
from ._wrapped import AccuracyScoreMixin

_DEVICES = ("cpu", "cuda", "auto")


def resolve_device(device) -> str:
    """Turn a ``device`` parameter into the device torch should use.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
        ``"cuda:N"`` or a :class:`torch.device`.

    Returns
    -------
    device : str
        A device string torch accepts.

    Examples
    --------
    >>> from sklearn_xai.neural_network import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    if isinstance(device, torch.device):
        return str(device)
    if not isinstance(device, str):
        raise TypeError(
            f"device must be 'cpu', 'cuda', 'cuda:N', 'auto' or a torch.device; "
            f"got {device!r}."
        )
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'cuda:N', 'auto' or a torch.device; "
            f"got {device!r}."
        ) from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r}, but CUDA is not available (this machine has no "
            "CUDA device or this torch build has no CUDA support); use "
            "device='cpu' or device='auto'."
        )
    return device


class CNNClassifier(AccuracyScoreMixin, NeuralNetClassifier):
    """A convolutional neural network classifier for image batches.

    A :class:`skorch.NeuralNetClassifier` that speaks the library's image
    layout: it takes ``(n, H, W, C)``, ``(n, H, W)`` or flattened images (with
    ``image_shape``) of any numeric dtype (cast to float32; channels last is
    converted to the channels-first tensors torch expects), labels of any type
    (``classes_`` as for any scikit-learn classifier, strings included), and is
    reproducible through ``random_state``. The network's input channels and
    number of classes are inferred from the data, and every architecture
    parameter is tunable with ``module__*`` (e.g. ``module__n_filters``) in
    :class:`~sklearn.model_selection.GridSearchCV`.

    Defaults differ from skorch's where skorch's would surprise a
    scikit-learn user: cross-entropy on logits, Adam, shuffled training
    batches and *no* internal validation split (``train_split=None``).

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=SmallCNN
        The network. When it is a class whose ``__init__`` accepts
        ``in_channels`` and ``n_classes``, those are set from the data unless
        given as ``module__in_channels`` / ``module__n_classes``. An instance
        is deep-copied before each fit: the user's object is never trained,
        and seeded refits start from the same weights. To explain a network
        trained elsewhere without training it, use :class:`TorchClassifier`.
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        The loss, applied to the module's logits.
    optimizer : torch optimizer class, default=torch.optim.Adam
        The optimizer.
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=10
        Number of passes over the training images (0 keeps the initial
        weights, e.g. those of a module instance).
    batch_size : int, default=32
        Images per training and prediction batch. On small CPUs batches of
        16-32 train faster per image than larger ones (measured in
        ``benchmarks/bench_training.py``: 32 beat 64 by about 20% on 2 cores).
    train_split : callable or None, default=None
        skorch's internal validation split; None trains on all the data.
    classes : array-like or None, default=None
        All class labels, when ``y`` may not show them all.
    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(H, W, C)`` for reading flattened input.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling and dropout. An int gives
        bitwise-identical refits on the CPU. The global torch random state is
        left as it was.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the network runs; ``"auto"`` picks CUDA when available.
    verbose : int, default=0
        0 prints nothing; 1 prints skorch's table of epochs. For a progress
        bar, add ``skorch.callbacks.ProgressBar()`` to ``callbacks``.
    callbacks : list or None, default=None
        Extra skorch callbacks.
    iterator_train__shuffle : bool, default=True
        Whether training batches are shuffled.
    **kwargs
        Any other skorch parameter, e.g. ``module__n_filters=32`` or
        ``optimizer__weight_decay=1e-4``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    image_shape_ : tuple of int
        ``(H, W, C)`` of the training images.
    n_features_in_ : int
        ``H * W * C``.
    device_ : str
        The device the fitted network lives on.
    input_range_ : tuple of 2 float or None
        The intensity range of the training images: ``(0, 255)`` for uint8,
        ``(0, 1)`` for floats in [0, 1], None for others. Later images of the
        other kind are converted (uint8 to [0, 1]) or refused with a
        ValueError, never silently misread (see
        :mod:`sklearn_xai.utils._intensity`).
    module_ : torch.nn.Module
        The trained network.
    history_ : skorch.History
        Losses and timings per epoch.

    See Also
    --------
    SmallCNN : The default network.
    save_model, load_model : Store and restore a trained classifier safely.

    Examples
    --------
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=2, random_state=0).fit(X[:200], y[:200])
    >>> clf.predict_proba(X[:3]).shape
    (3, 10)
    """

    def __init__(
        self,
        module=SmallCNN,
        *,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=10,
        batch_size=32,
        train_split=None,
        classes=None,
        image_shape=None,
        random_state=None,
        device="cpu",
        verbose=0,
        callbacks=None,
        iterator_train__shuffle=True,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            classes=classes,
            device=device,
            verbose=verbose,
            callbacks=callbacks,
            iterator_train__shuffle=iterator_train__shuffle,
            **kwargs,
        )
        self.image_shape = image_shape
        self.random_state = random_state

    # -- fitted state -------------------------------------------------------

    @property
    def classes_(self):
        """The class labels, in the order of the columns of ``predict_proba``."""
        try:
            return self.label_encoder_.classes_
        except AttributeError:
            raise AttributeError(
                f"This {type(self).__name__} instance is not fitted yet: it has no "
                "attribute 'classes_'."
            ) from None

    def _get_param_names(self):
        # skorch lists every public-looking instance attribute as a parameter,
        # its private bookkeeping (``_params_to_validate``) included.
        return [k for k in super()._get_param_names() if not k.startswith("_")]

    def __sklearn_is_fitted__(self):
        return "label_encoder_" in vars(self) and "module_" in vars(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

    def _xfail_checks(self):
        """scikit-learn common checks that cannot pass, with the reason.

        Read by ``tests/test_common.py``.
        """
        return {
            "check_no_attributes_set_in_init": (
                "skorch's NeuralNet.__init__ sets history_, initialized_ and "
                "virtual_params_ by design; CNNClassifier must stay a skorch net"
            ),
            "check_do_not_raise_errors_in_init_or_set_params": (
                "skorch's set_params re-initializes callbacks at once, so an "
                "invalid `callbacks` value raises in set_params, not in fit"
            ),
        }

    # -- input handling -----------------------------------------------------

    def _check_params(self):
        check_image_shape(self.image_shape)
        if isinstance(self.device, str) and self.device not in _DEVICES:
            resolve_device(self.device)
        for name, low in (("max_epochs", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if (
                not isinstance(value, (int, np.integer))
                or isinstance(value, bool)
                or value < low
            ):
                raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a positive number; got {self.lr!r}.")

    def _to_tensor(self, X, *, reset):
        images, _ = validate_images(self, X, reset=reset, image_shape=self.image_shape)
        if reset:
            self.input_range_ = fitted_intensity_range(images)
        elif "input_range_" in vars(self):
            images = to_intensity_range(
                images, self.input_range_, owner=type(self).__name__
            )
        return self._nchw(images)

    @staticmethod
    def _nchw(images):
        """Float32 ``(n, C, H, W)`` tensor of ``(n, H, W, C)`` images on the
        model's scale."""
        images = np.ascontiguousarray(images.astype(np.float32, copy=False))
        # (n, H, W, C) -> (n, C, H, W) as a view: a channels-last tensor, the
        # memory format that makes CPU convolutions fastest, without a copy.
        if images.flags.writeable:
            return torch.from_numpy(images).permute(0, 3, 1, 2)
        with warnings.catch_warnings():
            # Read-only input is fine: the tensor is only ever read.
            warnings.filterwarnings("ignore", "The given NumPy array is not writable")
            tensor = torch.from_numpy(images)
        return tensor.permute(0, 3, 1, 2)

    def _encode_y(self, y):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        encoder = LabelEncoder()
        if self.classes is not None:
            encoder.fit(np.asarray(self.classes))
            unknown = np.setdiff1d(np.unique(y), encoder.classes_)
            if unknown.size:
                raise ValueError(
                    f"y contains labels {unknown.tolist()} that are not in "
                    f"classes={encoder.classes_.tolist()}."
                )
        else:
            encoder.fit(y)
        return encoder, encoder.transform(y).astype(np.int64)

    @contextlib.contextmanager
    def _on_device(self):
        """Hand skorch the resolved device while it runs, then restore the
        user's ``device`` parameter (e.g. ``"auto"``)."""
        requested = self.device
        self.device = getattr(self, "device_", None) or resolve_device(requested)
        try:
            yield
        finally:
            self.device = requested

    @contextlib.contextmanager
    def _batch_of_one(self, images):
        """Explain torch's refusal to batch-normalize one 1x1 feature map."""
        try:
            yield
        except ValueError as exc:
            if "Expected more than 1 value per channel" not in str(exc):
                raise
            n, _, height, width = images.shape
            raise ValueError(
                f"{type(self).__name__}: X has {n} images of {height}x{width} "
                f"pixels, and with batch_size={self.batch_size} a training batch "
                "holds one image whose feature maps shrink to 1x1 at a batch-norm "
                "layer, which needs more than one value per channel. Use larger "
                "images, a batch_size that leaves no batch of one image, or "
                "module__batch_norm=False."
            ) from exc

    @contextlib.contextmanager
    def _seeded(self, offset=0):
        """Seed torch for a reproducible fit without touching the global state.

        The CPU's generator and that of the device the network trains on
        are forked and seeded (:func:`~sklearn_xai.utils._torch_random.forked_rng`).
        """
        if self.random_state is None:
            yield
            return
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        seed = (int(seed) + offset) % np.iinfo(np.int32).max
        with forked_rng(seed, device=self.device_):
            yield

    def initialize_module(self):
        """Build the module, inferring ``in_channels`` and ``n_classes``."""
        kwargs = self.get_params_for("module")
        if isinstance(self.module, torch.nn.Module):
            # Train a copy: the user's instance keeps its weights, and every
            # (seeded) fit starts from the same ones.
            self.module_ = copy.deepcopy(self.module)
            if kwargs:
                raise ValueError(
                    "module__* parameters apply to a module class; module is an "
                    f"instance of {type(self.module).__name__}, so pass module="
                    f"{type(self.module).__name__} with module__* instead."
                )
            return self
        if isinstance(self.module, type) and hasattr(self, "image_shape_"):
            accepted = inspect.signature(self.module).parameters
            if "in_channels" in accepted:
                kwargs.setdefault("in_channels", self.image_shape_[2])
            if "n_classes" in accepted:
                kwargs.setdefault("n_classes", len(self.classes_))
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    # -- public API ---------------------------------------------------------

    def fit(self, X, y, **fit_params):
        """Train the network from scratch on an image batch.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Training images of any numeric dtype.
        y : array-like of shape (n,)
            Class labels of any type.
        **fit_params
            Passed on to skorch's ``fit``.

        Returns
        -------
        self : CNNClassifier
            The trained classifier.
        """
        self._check_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        Xt = self._to_tensor(X, reset=True)
        encoder, yt = self._encode_y(y)
        if len(yt) != len(Xt):
            raise ValueError(
                f"X and y have inconsistent numbers of samples: X has {len(Xt)} "
                f"images, y has {len(yt)} labels."
            )
        self.label_encoder_ = encoder
        self.device_ = resolve_device(self.device)
        with self._on_device(), self._seeded(), self._batch_of_one(Xt):
            if not (self.warm_start and self.initialized_):
                self.initialize()
            super().partial_fit(Xt, yt, **fit_params)
        return self

    def partial_fit(self, X, y, classes=None, **fit_params):
        """Continue training on a batch (initializes the network on first use).

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Training images.
        y : array-like of shape (n,)
            Class labels; on the first call they (or ``classes``) fix
            ``classes_``.
        classes : array-like or None, default=None
            All class labels, needed on the first call when ``y`` lacks some.
        **fit_params
            Passed on to skorch's ``partial_fit``.

        Returns
        -------
        self : CNNClassifier
            The classifier, trained for ``max_epochs`` more epochs.
        """
        if not self.__sklearn_is_fitted__():
            if classes is not None and self.classes is None:
                self.set_params(classes=classes)
            return self.fit(X, y, **fit_params)
        Xt = self._to_tensor(X, reset=False)
        yt = self._encode_known(y)
        offset = len(self.history_)
        with self._on_device(), self._seeded(offset=offset), self._batch_of_one(Xt):
            super().partial_fit(Xt, yt, **fit_params)
        return self

    def _encode_known(self, y):
        y = column_or_1d(y, warn=True)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()} unseen in fit; classes_ is "
                f"{self.classes_.tolist()}."
            )
        return self.label_encoder_.transform(y).astype(np.int64)

    def predict_proba(self, X):
        """Class probabilities of an image batch.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the fitted size and channel count.

        Returns
        -------
        proba : ndarray of shape (n, n_classes)
            Probabilities, columns ordered as ``classes_``.
        """
        check_is_fitted(self)
        Xt = self._to_tensor(X, reset=False)
        nonlinearity = self._get_predict_nonlinearity()
        with self._running() as module, torch.inference_mode():
            return self._proba_of(Xt, module, nonlinearity)

    def _proba_of(self, Xt, module, nonlinearity):
        """``predict_proba`` of an ``(n, C, H, W)`` tensor, in eval mode."""
        # Batches are slices of the channels-last view, fed to the network
        # without the per-sample collation (and copies) of a DataLoader; the
        # numbers are those of skorch's predict_proba.
        out = []
        for start in range(0, len(Xt), self.batch_size):
            batch = Xt[start : start + self.batch_size].to(self.device_)
            logits = module(batch)
            logits = logits[0] if isinstance(logits, tuple) else logits
            out.append(nonlinearity(logits).float().cpu().numpy())
        return np.concatenate(out)

    @contextlib.contextmanager
    def _validated_proba(self):
        """``predict_proba`` for arrays its caller has already validated.

        For explainers that send many batches built from one image (its
        occluded or masked copies): the context yields ``proba(images,
        check_scale=False)`` for ``(n, H, W, C)`` arrays of the fitted shape,
        finite, of dtype uint8, float32 or float64 (what the caller's own
        :func:`~sklearn_xai.utils.validate_images` ensured), and sets eval
        mode once for all calls. It skips ``predict_proba``'s validation
        (``check_array``, the shape checks) but not its conversion: uint8
        images are brought to the model's scale, and ``check_scale=True``
        checks floating-point ones against it as ``predict_proba`` does (the
        same error). The probabilities are those of ``predict_proba``, bit
        for bit.
        """
        check_is_fitted(self)
        nonlinearity = self._get_predict_nonlinearity()
        # As _to_tensor converts (for floats it only checks the scale).
        convert = "input_range_" in vars(self)

        def proba(images, check_scale=False):
            if convert and (check_scale or images.dtype == np.uint8):
                images = to_intensity_range(
                    images, self.input_range_, owner=type(self).__name__
                )
            return self._proba_of(self._nchw(images), module, nonlinearity)

        with self._running() as module, torch.inference_mode():
            yield proba

    def _explainable_network(self):
        """What gradient explainers need (read by the model adapter)."""
        check_is_fitted(self)
        return {
            "network": self.module_,
            "forward": ModelForward(self.module_, output="logits"),
            "device": self.device_,
            "input_layout": "NCHW",
            "to_tensor": lambda X: self._to_tensor(X, reset=False).to(self.device_),
            "running": self._running,
            "keras": False,
        }

    def _running(self):
        """Eval mode for the duration, then every flag as it was."""
        return eval_mode(self.module_)

    def predict(self, X):
        """Predicted class labels of an image batch.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the fitted size and channel count.

        Returns
        -------
        y_pred : ndarray of shape (n,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __setstate__(self, state):
        requested = state.get("device", "cpu")
        if requested == "auto":
            state["device"] = resolve_device(requested)
        super().__setstate__(state)
        if "device_" in state:
            # The network is wherever skorch's unpickler put it.
            self.device_ = str(self.device)
        self.device = requested
