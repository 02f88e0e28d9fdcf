"""SmoothGrad, SmoothGrad-squared and VarGrad: gradients averaged over noise."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone

from ..base import BaseExplainer
from ..utils._attribution import resize_maps
from ..utils._compat import HasMethods, Interval, StrOptions
from ..utils._validation import validate_images
from ._gradient import _GradientExplainer, progress_bar

#: The aggregations of the noisy attributions, by name.
_VARIANTS = ("smoothgrad", "smoothgrad_sq", "vargrad")


def _standard_noise(seed, n_samples, image_shape):
    """Standard normal noise ``(n_samples, H, W, C)`` of one image, float64.

    The noise of an image depends only on its seed: the noisy copies of an
    image are the image plus this noise times the image's noise std.
    """
    return np.random.default_rng(seed).standard_normal((n_samples, *image_shape))


def _aggregate(attributions, variant):
    """Aggregate ``(m, n_samples, ...)`` attributions over the samples axis."""
    attributions = np.asarray(attributions, dtype=np.float64)
    if variant == "smoothgrad":
        return attributions.mean(axis=1)
    if variant == "smoothgrad_sq":
        return (attributions * attributions).mean(axis=1)
    # E[a^2] - E[a]^2, the population variance (as captum's NoiseTunnel).
    return attributions.var(axis=1)


def _check_gradient_explainer(explainer):
    if not isinstance(explainer, _GradientExplainer):
        raise TypeError(
            "explainer must be an unfitted gradient explainer of the library "
            "(SaliencyExplainer, IntegratedGradientsExplainer, GradCAMExplainer "
            "or another subclass of _GradientExplainer), whose estimator is "
            f"the model to explain; got {type(explainer).__name__}. "
            "Perturbation methods (LIME, occlusion, RISE) have no gradient to "
            "smooth."
        )


class SmoothGradExplainer(BaseExplainer):
    """SmoothGrad, SmoothGrad-squared and VarGrad over a gradient explainer.

    A meta-explainer: each image is explained by the gradient ``explainer``
    on ``n_samples`` noisy copies ``x + eps_k``, ``eps_k ~ N(0, sigma^2)``,
    and the attributions ``a_k`` of the copies are aggregated per pixel and
    channel (Smilkov et al., 2017; Adebayo et al., 2018 for VarGrad):

    - ``"smoothgrad"``: the mean ``E[a_k]``, which averages away the
      high-frequency fluctuations of raw gradients;
    - ``"smoothgrad_sq"``: the mean of squares ``E[a_k^2]`` (Hooker et al.,
      2019), non-negative;
    - ``"vargrad"``: the variance ``E[a_k^2] - E[a_k]^2``, non-negative.

    **The model** is ``explainer.estimator``: ``fit`` clones ``explainer``
    into ``explainer_`` and fits it, so the inner explainer's rules apply
    unchanged (a model wrapped in :class:`~sklearn.frozen.FrozenEstimator`
    is used as is, any other is cloned and fitted on ``X, y``), and
    ``estimator_`` is the inner explainer's. The inner explainer's
    parameters are tunable as ``explainer__<name>`` (e.g.
    ``explainer__n_steps`` in :class:`~sklearn.model_selection.GridSearchCV`).

    **The noise** of an image has standard deviation
    ``sigma = noise_level * (max - min)`` of that image's values (over all
    pixels and channels), Smilkov et al.'s convention, and is added in the
    caller's pixel space, before a pipeline's preprocessing. (captum's
    :class:`~captum.attr.NoiseTunnel` takes an absolute ``stdevs`` at the
    network input: for a bare CNNClassifier the two coincide with
    ``stdevs = sigma``.) The standard normal draws of an image depend only
    on ``random_state`` and the image's content (its seed mixes both, as for
    every explainer of the library): an image's explanation never depends on
    the other images, their order, or batch sizes.

    **The aggregation** is over the inner explainer's attributions at the
    network input, per channel, before its ``channel_reduction`` (as
    captum's ``NoiseTunnel``, which squares per channel): with
    ``channel_reduction=r`` the result is ``r(E[a_k])``, ``r(E[a_k^2])`` or
    ``r(Var[a_k])``. For ``"smoothgrad"`` and ``r="sum"`` this equals the mean
    of the inner explainer's maps; for the ``"max_abs"`` default of
    :class:`SaliencyExplainer` it is ``max_c |E[a_k,c]|``, not the mean of
    the noisy Simonyan maps. Grad-CAM maps (one channel) are aggregated
    after upsampling. The maps are then resized to the explained images
    when a pipeline resized them.

    **Batches**: the noisy copies of several images are built as one array
    and go through the network in batches of the inner explainer's
    ``batch_size`` rows (``explainer__batch_size``; Integrated Gradients'
    path points are batched within, as in the inner explainer), with the
    network in eval mode; memory grows with ``max(batch_size, n_samples)``
    images.

    Parameters
    ----------
    explainer : SaliencyExplainer, IntegratedGradientsExplainer, \
GradCAMExplainer or another gradient explainer
        An unfitted gradient explainer whose ``estimator`` is the model to
        explain, e.g. ``SaliencyExplainer(FrozenEstimator(cnn))``. A clone is
        fitted in ``fit``; perturbation explainers (LIME, occlusion, RISE)
        raise a TypeError.
    n_samples : int, default=50
        Noisy copies per image (``nt_samples`` in captum). With
        ``n_samples=1`` and ``noise_level=0``, ``"smoothgrad"`` is the inner
        explainer itself.
    noise_level : float, default=0.15
        Noise standard deviation as a fraction of each image's value range;
        Smilkov et al. recommend 0.1 to 0.2. 0 gives no noise.
    variant : {"smoothgrad", "smoothgrad_sq", "vargrad"}, default="smoothgrad"
        How the attributions of the noisy copies are aggregated.
    random_state : int, RandomState instance or None, default=None
        Seed of the noise. An int gives the same explanation on every call;
        None draws new noise at every call.
    verbose : int, default=0
        Show a progress bar over images.
    image_shape : tuple of int or None, default=None
        How to read flattened images. None uses the inner explainer's;
        given here while the inner explainer has none, it is passed on to
        its clone.

    Attributes
    ----------
    explainer_ : gradient explainer
        The fitted clone of ``explainer``.
    estimator_ : classifier
        The fitted (or frozen) model, ``explainer_.estimator_``.
    classes_ : ndarray
        Its class labels.
    image_shape_ : tuple of int
        ``(H, W, C)`` seen in ``fit``.
    n_features_in_ : int
        ``H * W * C``.
    input_ndim_ : int
        Layout of the fitted images (2 flattened, 3 gray, 4 channels last).

    See Also
    --------
    SaliencyExplainer : Plain gradients, the usual inner explainer.
    IntegratedGradientsExplainer : Path-integrated gradients.
    GradCAMExplainer : Class activation maps.

    Notes
    -----
    ``explain(..., return_details=True)`` also returns ``noise_std``, the
    ``sigma`` of every image. The inner explainer's details (e.g. Integrated
    Gradients' ``delta``) are per noisy copy and are not returned.

    Inside, a :class:`CaptumExplainer` explains each noisy copy as an image
    of its own: a random captum method draws from the inner explainer's
    ``random_state`` and the copy's content, and ``attribute_params`` arrays
    must be shared by every image (one row).

    In the remove-and-retrain benchmark of Hooker et al. (2019),
    SmoothGrad-squared and VarGrad over gradients were the only estimators
    that degraded retrained accuracy more than a random ranking;
    ``benchmarks/bench_roar.py`` repeats that study on synthetic shapes.

    References
    ----------
    .. [1] D. Smilkov, N. Thorat, B. Kim, F. Viegas and M. Wattenberg,
       "SmoothGrad: removing noise by adding noise", ICML Workshop on
       Visualization for Deep Learning, 2017.
    .. [2] J. Adebayo, J. Gilmer, I. Goodfellow and B. Kim, "Local
       explanation methods for deep neural networks lack sensitivity to
       parameter values", ICLR Workshop 2018 (VarGrad).
    .. [3] S. Hooker, D. Erhan, P.-J. Kindermans and B. Kim, "A benchmark
       for interpretability methods in deep neural networks", NeurIPS 2019
       (SmoothGrad-squared, remove and retrain).

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_xai.attribution import SaliencyExplainer, SmoothGradExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> from sklearn_xai.neural_network import CNNClassifier
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:100], y[:100])
    >>> explainer = SmoothGradExplainer(
    ...     SaliencyExplainer(FrozenEstimator(clf)),
    ...     n_samples=10, variant="vargrad", random_state=0,
    ... ).fit(X[:100])
    >>> attributions = explainer.explain(X[:2])
    >>> attributions.shape, bool((attributions >= 0).all())
    ((2, 8, 8), True)
    >>> sorted(explainer.get_params())[:3]
    ['explainer', 'explainer__batch_size', 'explainer__channel_reduction']
    """

    _parameter_constraints: dict = {
        "explainer": [HasMethods(["fit", "explain"])],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "variant": [StrOptions(set(_VARIANTS))],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "image_shape": [None, tuple],
    }

    def __init__(
        self,
        explainer,
        *,
        n_samples=50,
        noise_level=0.15,
        variant="smoothgrad",
        random_state=None,
        verbose=0,
        image_shape=None,
    ):
        self.explainer = explainer
        self.n_samples = n_samples
        self.noise_level = noise_level
        self.variant = variant
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    @property
    def batch_size(self):
        """Rows per network call: the inner explainer's ``batch_size``.

        Read-only; set it with ``explainer__batch_size``. Metrics that explain
        perturbed copies (robustness, randomization) batch with it.
        """
        return self.explainer.batch_size

    def fit(self, X, y=None, **fit_params):
        """Fit a clone of the inner explainer (and its model, unless frozen).

        Parameters
        ----------
        X : array-like of shape (n, H, W, C), (n, H, W) or (n, H * W * C)
            Training images.
        y : array-like of shape (n,) or None, default=None
            Labels to fit a clone of the inner explainer's estimator; not
            needed when it is a :class:`~sklearn.frozen.FrozenEstimator`.
        **fit_params
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : object
            The fitted explainer.
        """
        self._validate_params()
        _check_gradient_explainer(self.explainer)
        explainer = clone(self.explainer)
        if self.image_shape is not None and explainer.image_shape is None:
            explainer.set_params(image_shape=self.image_shape)
        image_shape = explainer.image_shape
        if self.image_shape is not None and tuple(self.image_shape) != tuple(
            image_shape
        ):
            raise ValueError(
                f"image_shape={self.image_shape} differs from the inner "
                f"explainer's image_shape={image_shape}; give one of them."
            )
        self.explainer_ = explainer.fit(X, y, **fit_params)
        validate_images(self, X, reset=True, image_shape=image_shape)
        self.estimator_ = self.explainer_.estimator_
        self.classes_ = self.explainer_.classes_
        self.input_ndim_ = self.explainer_.input_ndim_
        self.input_range_ = self.explainer_.input_range_
        return self

    def _predict_proba(self, images):
        # The predicted classes come from the inner explainer's batches.
        return self.explainer_._predict_proba(images)

    def _noisy_copies(self, images, noise_std, seeds, standard):
        """The ``n_samples`` noisy copies of each image, image-major.

        ``standard`` caches the standard noise of a seed (identical images
        share their seed and their noise).
        """
        noise = []
        for seed, std in zip(seeds, noise_std, strict=True):
            if seed not in standard:
                standard[seed] = _standard_noise(seed, self.n_samples, images.shape[1:])
            noise.append((standard[seed] * std).astype(images.dtype))
        noisy = np.repeat(images, self.n_samples, axis=0)
        noisy += np.concatenate(noise)
        return noisy

    def _explain(self, images, targets, seeds):
        inner = self.explainer_
        model = inner._torch_model()
        n_samples = self.n_samples
        size = images.shape[1:3]
        # Images per chunk: their noisy copies fill about one batch.
        chunk = max(1, inner._images_per_batch() // n_samples)
        dtype = images.dtype if images.dtype.kind == "f" else np.float32
        flat = images.reshape(len(images), -1).astype(np.float64)
        noise_std = self.noise_level * (flat.max(axis=1) - flat.min(axis=1))
        standard = {}  # an image seed's standard noise, drawn once per call
        maps = []
        with model.evaluating(), progress_bar(self, len(images)) as progress:
            for start in range(0, len(images), chunk):
                stop = min(start + chunk, len(images))
                noisy = self._noisy_copies(
                    images[start:stop].astype(dtype),
                    noise_std[start:stop],
                    seeds[start:stop],
                    standard,
                )
                noisy_targets = np.repeat(
                    np.asarray(targets[start:stop], dtype=np.int64), n_samples
                )
                # The inner explainer's batch loop, over the noisy copies.
                attributions = np.concatenate(
                    [
                        batch
                        for batch, _ in inner._attribute_batches(
                            model, noisy, noisy_targets
                        )
                    ]
                )
                attributions = attributions.reshape(
                    stop - start, n_samples, *attributions.shape[1:]
                )
                aggregated = _aggregate(attributions, self.variant)
                maps.append(resize_maps(inner._to_maps(aggregated), size))
                progress.update(stop - start)
        return np.concatenate(maps), {"noise_std": noise_std}
