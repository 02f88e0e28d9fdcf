"""The meta-estimator every attribution method derives from."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._adapter import batched_predict_proba, check_model, fit_model, model_classes
from .utils._compat import HasMethods, Interval
from .utils._intensity import fitted_intensity_range, to_intensity_range
from .utils._seeds import call_seed, image_seeds
from .utils._validation import label_indices, validate_images

__all__ = ["BaseExplainer"]


class BaseExplainer(TransformerMixin, BaseEstimator):
    """Base class of the explainers: a meta-estimator around a classifier.

    ``fit(X, y)`` fits a clone of ``estimator`` into ``estimator_`` -- or,
    for a trained model wrapped in :class:`~sklearn.frozen.FrozenEstimator`,
    uses it as is, so explaining a trained model costs no refit -- and learns
    what the method needs from the images (e.g. a mean-image baseline).
    ``explain(X, target=None)`` returns float32 attributions ``(n, H, W)``,
    one relevance value per pixel for one class per image, positive meaning
    evidence for the class. ``transform`` flattens them, so an explainer is a
    pipeline step (e.g. explanations followed by clustering).

    ``fit`` also records the intensity range of the images (``input_range_``:
    (0, 255) for uint8, (0, 1) for floats in [0, 1], None otherwise) and
    checks the model's ``predict_proba`` on one of them. ``explain`` holds
    later images to that range as the library's classifiers do (see
    :mod:`sklearn_xai.utils._intensity`): uint8 images for [0, 1] training
    images are divided by 255, so a method's fills, masks and baselines and
    its maps are those of the float images; images of the wrong kind are a
    ValueError.

    Subclasses implement one hook, ``_explain(images, targets, seeds)``, and
    optionally ``_fit_images(images)``; for per-image methods
    :meth:`_map_images` runs a function over images with joblib and a
    progress bar.

    Parameters shared by every explainer: ``estimator``, ``batch_size`` (the
    most images per model call), ``n_jobs`` (joblib workers over images;
    runs on a dask cluster under ``joblib.parallel_config(backend="dask")``),
    ``random_state``, ``verbose`` (a progress bar over images) and
    ``image_shape`` (to read flattened images).

    Examples
    --------
    A new method is one small class overriding ``_explain``; here the
    attribution of a pixel is its intensity (a toy, for illustration):

    >>> import numpy as np
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.base import BaseExplainer
    >>> class IntensityExplainer(BaseExplainer):
    ...     def __init__(self, estimator, *, batch_size=32, n_jobs=None,
    ...                  random_state=None, verbose=0, image_shape=None):
    ...         self.estimator = estimator
    ...         self.batch_size = batch_size
    ...         self.n_jobs = n_jobs
    ...         self.random_state = random_state
    ...         self.verbose = verbose
    ...         self.image_shape = image_shape
    ...     def _explain(self, images, targets, seeds):
    ...         return images.mean(axis=-1), {}
    >>> X = np.random.default_rng(0).random((20, 4, 4))
    >>> y = np.arange(20) % 2
    >>> clf = LogisticRegression().fit(X.reshape(20, -1), y)
    >>> explainer = IntensityExplainer(FrozenEstimator(clf), image_shape=(4, 4))
    >>> explainer.fit(X.reshape(20, -1)).explain(X[:3].reshape(3, -1)).shape
    (3, 4, 4)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "batch_size": [None, Interval(Integral, 1, None, closed="left")],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "image_shape": [None, tuple],
    }

    # -- hooks --------------------------------------------------------------

    def _fit_images(self, images):
        """Learn what the method needs from the training images."""

    def _explain(self, images, targets, seeds):
        """Return ``(attributions (n, H, W), details dict of arrays)``."""
        raise NotImplementedError

    # -- fitting ------------------------------------------------------------

    def fit(self, X, y=None, **fit_params):
        """Fit the model to explain (unless frozen) and the method.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Training images.
        y : array-like of shape (n,) or None, default=None
            Labels to fit a clone of ``estimator``; not needed when the
            estimator is a :class:`~sklearn.frozen.FrozenEstimator` or a
            trained network (:class:`~sklearn_xai.neural_network.TorchClassifier`,
            :class:`~sklearn_xai.neural_network.OnnxClassifier`, alone or
            ending a pipeline), which are used without training.
        **fit_params
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : object
            The fitted explainer.
        """
        check_model(self.estimator, require_methods=False)
        self._validate_params()
        images, layout = validate_images(
            self, X, reset=True, image_shape=self.image_shape
        )
        self.estimator_ = fit_model(
            self.estimator, X, y, owner=type(self).__name__, **fit_params
        )
        self.classes_ = model_classes(self.estimator_)
        self.input_ndim_ = layout.ndim
        self.input_range_ = fitted_intensity_range(images)
        # One image through predict_proba: a wrong output shape fails at fit.
        self._predict_proba(images[:1])
        self._fit_images(images)
        return self

    # -- explaining ---------------------------------------------------------

    def explain(self, X, target=None, *, return_details=False):
        """Attributions of images for their predicted or given class.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the size seen in ``fit``.
        target : array-like of shape (n,), scalar or None, default=None
            Class labels (as in ``classes_``, strings included) to explain,
            one per image or one for all; None explains the predicted class.
        return_details : bool, default=False
            Also return a :class:`~sklearn.utils.Bunch` of method-specific
            extras, with ``targets`` (the explained labels) always in it.

        Returns
        -------
        attributions : ndarray of shape (n, H, W), float32
            One relevance value per pixel; positive = evidence for the class.
            The unit is the method's (see Notes).
        details : Bunch
            Only with ``return_details=True``.

        Notes
        -----
        Methods explain different outputs, so their maps come in different
        units and are comparable across methods only by scale-free metrics
        (ranks, correlations, or :func:`~sklearn_xai.metrics.infidelity`'s
        default rescaling):

        * gradient methods (saliency, Integrated Gradients, SmoothGrad,
          Grad-CAM, Grad-CAM++, :class:`~sklearn_xai.attribution.CaptumExplainer`
          with its default ``output="logits"``): the target's **logit** (per
          unit of pixel intensity for gradients; Integrated Gradients' maps
          sum to a logit difference);
        * LIME, Kernel SHAP, RISE and occlusion: the target's **probability**
          (Kernel SHAP's and occlusion's values are probability differences,
          RISE's a probability-weighted mask average, LIME's the weights of a
          linear model of the probability);
        * Score-CAM: feature maps weighted by a softmax over the masks
          (weights sum to 1), in the layer's activation units.

        Random methods (LIME, Kernel SHAP, RISE, SmoothGrad, stochastic captum
        methods) draw each image's numbers from a seed derived from
        ``random_state`` and the image's content: the same image gets the same
        draws alone or in any batch, and different images different ones.
        """
        return self._explain_seeded(X, target, return_details=return_details)

    def _explain_seeded(self, X, target=None, *, seeds_from=None, return_details=False):
        """:meth:`explain`, drawing image i's random numbers as for ``seeds_from[i]``.

        ``seeds_from`` (images like ``X``, default ``X`` itself) lets a
        robustness metric re-explain a perturbed copy with the draws of its
        original, so that the metric measures the method and not its sampling
        noise.
        """
        check_is_fitted(self)
        images, _ = validate_images(self, X, reset=False, image_shape=self.image_shape)
        if hasattr(self, "input_range_"):
            # uint8 images for [0, 1] training images become exactly those
            # floats, so every method (fills, masks, baselines) sees one scale.
            images = to_intensity_range(
                images, self.input_range_, owner=type(self).__name__
            )
        targets = self._target_indices(images, target)
        if seeds_from is None:
            seeds = self._image_seeds(images)
        else:
            originals, _ = validate_images(
                self, seeds_from, reset=False, image_shape=self.image_shape
            )
            if hasattr(self, "input_range_"):
                originals = to_intensity_range(
                    originals, self.input_range_, owner=type(self).__name__
                )
            if len(originals) != len(images):
                raise ValueError(
                    f"seeds_from has {len(originals)} images but X has "
                    f"{len(images)}; they must match one to one."
                )
            seeds = self._image_seeds(originals)
        attributions, details = self._explain(images, targets, seeds)
        attributions = np.asarray(attributions, dtype=np.float32)
        if not return_details:
            return attributions
        return attributions, Bunch(targets=self.classes_[targets], **details)

    def transform(self, X):
        """Flattened attributions ``(n, H * W)`` of the predicted classes.

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Images of the size seen in ``fit``.

        Returns
        -------
        attributions : ndarray of shape (n, H * W), float32
        """
        attributions = self.explain(X)
        return attributions.reshape(len(attributions), -1)

    # -- helpers for subclasses ---------------------------------------------

    def _model_batch_size(self):
        """Rows per model call: ``batch_size``, or by the kind of model if None.

        See :func:`~sklearn_xai._adapter._predict.model_batch_size`: 32 for
        torch-backed models, up to 64 MiB of images (32 to 1024) for others.
        """
        from ._adapter._predict import model_batch_size

        return model_batch_size(self.estimator_, self.image_shape_, self.batch_size)

    def _predict_proba(self, images):
        """Batched probabilities of ``(m, H, W, C)`` images."""
        return batched_predict_proba(
            self.estimator_,
            images,
            layout_ndim=self.input_ndim_,
            batch_size=self._model_batch_size(),
        )

    def _target_indices(self, images, target):
        if target is None:
            return np.argmax(self._predict_proba(images), axis=1)
        return label_indices(self.classes_, target, len(images))

    def _image_seeds(self, images):
        """The seed of each image, from ``random_state`` and the image's content.

        An int ``random_state`` is the call's seed; otherwise one is drawn
        per call. Each image's seed mixes the call's seed with a hash of the
        image's values (:func:`~sklearn_xai.utils._seeds.image_seeds`), so an
        image's explanation depends only on the image and ``random_state``,
        never on its position, the other images or ``n_jobs``, and different
        images make independent sampling errors (with one seed for all, a
        random method's error would repeat on every image and survive
        averaging over images).
        """
        return image_seeds(call_seed(self.random_state), images)

    def _map_images(self, func, images, targets, seeds, *args):
        """Run ``func(image, target, seed, *args)`` over images with joblib.

        ``func`` returns ``(attribution (H, W), details dict)`` for one image.
        Returns the stacked attributions ``(n, H, W)`` and the list of
        per-image details dicts, in order. A tqdm bar shows progress when
        ``verbose`` is set.
        """
        from joblib import Parallel, delayed
        from tqdm.auto import tqdm

        tasks = (
            delayed(func)(image, target, seed, *args)
            for image, target, seed in zip(images, targets, seeds, strict=True)
        )
        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(tasks)
        results = list(
            tqdm(
                results,
                total=len(images),
                desc=type(self).__name__,
                unit="image",
                disable=not self.verbose,
            )
        )
        return np.stack([r[0] for r in results]), [r[1] for r in results]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        # Attributions are float32 whatever the images' dtype.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
