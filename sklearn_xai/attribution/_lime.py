"""LIME on superpixels, with vectorised perturbations and batched model calls."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.metrics import pairwise_distances
from sklearn.utils.validation import check_memory

from ..base import BaseExplainer
from ..utils._compat import HasMethods, Interval, StrOptions
from ..utils._threads import single_threaded_blas
from ..utils._warnings import warn_constant_explanations
from ._convergence import is_settled
from ._lime_control import SurrogateControl, combine
from ._lime_sampling import SAMPLINGS, make_design, weighted_r2, weighted_ridge
from ._perturbation import (
    DEFAULT_N_SEGMENTS,
    SEGMENTATIONS,
    check_explainer_fill,
    fit_superpixels,
    hide_image,
    make_segmenter,
    perturbation_proba,
    superpixel_causes,
)

#: lime's ridge penalty.
RIDGE_ALPHA = 1.0


def lime_kernel(distances, kernel_width):
    """LIME's exponential kernel on distances: ``sqrt(exp(-d**2 / width**2))``."""
    return np.sqrt(np.exp(-(distances**2) / kernel_width**2))


#: ``n_samples="auto"``: the first round is the unperturbed image and
#: ``AUTO_DRAWS_PER_COEF * (d + 1)`` draws rounded up to a power of two, at
#: least ``AUTO_FIRST_DRAWS`` (``d`` superpixels: 256 for 32 to 63), so that
#: the standard errors rest on several draws per coefficient; each later
#: round ``AUTO_STEP`` more draws, until :func:`is_settled` or
#: ``max_samples``. Powers of two keep the balanced designs balanced after
#: every round.
AUTO_FIRST_DRAWS = 128
AUTO_DRAWS_PER_COEF = 4
AUTO_STEP = 64
#: The stopping rule's settings (see :mod:`._convergence`). Its default
#: ``tol=0.05`` stops LIME on photos after the first round with less than
#: lime's quality at 1000 samples; 0.01 reaches it (measured in the user
#: guide's table).
AUTO_RULE = {"top_k": 5, "tol": 0.01, "z": 1.96}
#: The control variate needs this many samples per coefficient (``d + 1``):
#: with fewer, the sample's ridge and the pool's estimate it at different
#: small-sample biases (measured on 16-segment digits: at 50 samples the two
#: estimates differed by up to 12 standard errors, at 100 by at most 3.6).
CONTROL_ROWS_PER_COEF = 4


def _selected_features(masks, column, weights, num_features, method):
    """lime's feature selection; every segment when it cannot drop any."""
    d = masks.shape[1]
    if method == "none" or (num_features >= d and method != "lasso_path"):
        return np.arange(d)
    from lime.lime_base import LimeBase

    used = LimeBase(kernel_fn=None).feature_selection(
        masks, column, weights, num_features, method
    )
    return np.sort(np.asarray(used, dtype=np.intp))


def _fit_surrogate(masks, proba, target, weights, clusters, explainer, control):
    """The weighted ridge on lime's selected segments, with the control
    variate when ``control`` is given and there are enough rows for it:
    (segments used, fit, controlled).

    ``control_variate="auto"`` keeps the controlled fit only when its
    standard errors are smaller in all (sum of squares) than the plain
    fit's: on a model the surrogate follows badly (a random forest's exact
    zeros and ones) the correction adds more variance than it removes.
    """
    d = masks.shape[1]
    column = proba[:, target]
    used = _selected_features(
        masks, column, weights, explainer.num_features or d, explainer.feature_selection
    )
    controlled = None
    if control is not None and len(masks) >= CONTROL_ROWS_PER_COEF * (len(used) + 1):
        controlled = _controlled(masks, proba, target, weights, clusters, used, control)
        if controlled is not None and _forced_control(explainer):
            return used, controlled, True
    fit = weighted_ridge(
        masks[:, used], column, weights, alpha=RIDGE_ALPHA, clusters=clusters
    )
    if controlled is not None and np.sum(controlled.stderr**2) < np.sum(fit.stderr**2):
        return used, controlled, True
    return used, fit, False


def _controlled(masks, proba, target, weights, clusters, used, control):
    """The weighted ridge with the surrogate control variate
    (:mod:`._lime_control`), or None with too few rows to cross-fit."""
    residuals, surrogates = control.residuals(masks, proba, target, weights, clusters)
    if not surrogates:
        return None
    return combine(
        control.pool_weights(surrogates, target, len(masks), used, RIDGE_ALPHA),
        weighted_ridge(
            masks[:, used], residuals, weights, alpha=RIDGE_ALPHA, clusters=clusters
        ),
    )


def _forced_control(explainer):
    """``control_variate=True`` (or a numpy True), not ``"auto"``."""
    return not isinstance(explainer.control_variate, str) and bool(
        explainer.control_variate
    )


def _uses_control(explainer, n_classes):
    """The surrogate control variate: ``"auto"`` with every design but
    lime's own draws (whose point is lime's exact weights)."""
    if n_classes < 2:
        return False
    if explainer.control_variate == "auto":
        return explainer.sampling != "lime"
    return bool(explainer.control_variate)


def _explain_one(image, target, seed, explainer, memory):
    """LIME for one image: (attribution (H, W), details dict)."""
    # One RandomState per image, as lime: first a seed for the segmentation,
    # then (sampling="lime") k bits per sample, the first sample being the
    # unperturbed image; the other designs seed their own generator from it.
    rng = np.random.RandomState(seed)
    segmentation_seed = rng.randint(0, 1000)
    segments = make_segmenter(
        explainer.segmentation,
        segmentation_seed,
        explainer.n_segments_ or DEFAULT_N_SEGMENTS,
        memory=memory,
    )(image)
    n_segments = int(segments.max()) + 1
    fudged = hide_image(image, segments, explainer.hide_color)
    width = explainer.kernel_width
    ones = np.ones((1, n_segments))

    def kernel(masks):
        distances = pairwise_distances(
            masks, ones, metric=explainer.distance_metric
        ).ravel()
        return lime_kernel(distances, width)

    design = make_design(explainer.sampling, n_segments, rng, kernel)
    predict = memory.cache(perturbation_proba, ignore=["batch_size"])
    if explainer.n_samples == "auto":
        budget = explainer.max_samples
        per_coef = AUTO_DRAWS_PER_COEF * (n_segments + 1)
        draws = max(AUTO_FIRST_DRAWS, 1 << int(np.ceil(np.log2(per_coef))))
        rows = min(budget, 1 + draws)
    else:
        budget = rows = explainer.n_samples
    masks, weights, clusters, probas = [], [], [], []
    control = None
    n_done = 0
    while True:
        new_masks, new_clusters, ratio = design.draw(rows)
        masks.append(new_masks)
        clusters.append(new_clusters)
        weights.append(kernel(new_masks) * ratio)
        probas.append(
            predict(
                explainer.estimator_,
                image,
                fudged,
                segments,
                new_masks,
                explainer._model_batch_size(),
                explainer.input_ndim_,
            )
        )
        n_done += rows
        all_masks = np.concatenate(masks)
        all_proba = np.concatenate(probas)
        all_weights = np.concatenate(weights)
        all_clusters = np.concatenate(clusters)
        if control is None and _uses_control(explainer, all_proba.shape[1]):
            control = SurrogateControl(n_segments, seed, kernel)
        with single_threaded_blas():
            used, fit, controlled = _fit_surrogate(
                all_masks,
                all_proba,
                int(target),
                all_weights,
                all_clusters,
                explainer,
                control,
            )
        coef, stderr = np.zeros(n_segments), np.zeros(n_segments)
        coef[used], stderr[used] = fit.coef, fit.stderr
        if n_done >= budget or (
            explainer.n_samples == "auto" and is_settled(coef, stderr, **AUTO_RULE)
        ):
            break
        rows = min(AUTO_STEP, budget - n_done)
    column = all_proba[:, int(target)]
    intercept = float(fit.intercept)
    score = (
        fit.score
        if not controlled
        else weighted_r2(
            column - all_weights @ column / all_weights.sum(),
            column - intercept - all_masks @ coef,
            all_weights,
        )
    )
    details = {
        "segments": segments,
        "segment_weights": coef,
        "segment_stderr": stderr,
        "intercept": intercept,
        "score": float(score),
        # The surrogate on the unperturbed image (all segments kept).
        "local_pred": float(intercept + coef.sum()),
        "n_evaluations": n_done,
        "control_variate": controlled,
        # Why a map may come out constant (for the warning; not returned).
        "_n_segments": n_segments,
        "_unchanged": bool(np.array_equal(fudged, image)),
    }
    return coef[segments].astype(np.float32), details


class LimeExplainer(BaseExplainer):
    """LIME: local linear surrogates on superpixels (Ribeiro et al., 2016).

    Each image is segmented into superpixels; ``n_samples`` random subsets of
    superpixels are kept while the others are hidden (``hide_color``); the
    model's probability of the target class on these perturbed images is fit
    by a weighted ridge regression on the keep/hide indicators, weighted by an
    exponential kernel of the cosine distance to the unperturbed image. Each
    pixel gets its superpixel's coefficient, and ``explain(...,
    return_details=True)`` gives each coefficient's standard error.

    The default design (``sampling="balanced"``: paired, balanced masks)
    with its control variate (``control_variate="auto"``) estimates lime's
    quantity with fewer samples: how many fewer depends on how far hiding
    superpixels moves the model. On photos with a CNN, its segment weights
    at 250 samples are as stable over seeds as lime's at 1000 when hidden
    superpixels take their mean colour (the network barely changes its
    mind); with black fill, which drives the network's probability across
    its whole range, it needs about 500 (see the user guide's table).
    ``n_samples="auto"`` stops sampling once the top segments are settled.
    With ``sampling="lime"``, the same
    segmentation, seed and ``hide_color`` (lime's default is
    ``hide_color=None``, ours 0.0), the segment weights equal those of
    :meth:`lime.lime_image.LimeImageExplainer.explain_instance` (the same
    random draws and the same regression). Either way perturbed images are
    built vectorised and classified in ``batch_size`` batches, never all at
    once, and a seeded explainer gives the same answer on every call (lime's
    does not).

    Parameters
    ----------
    estimator : classifier
        Any classifier with ``predict_proba`` (a CNNClassifier, a pipeline, a
        forest on flattened images...), or a trained one in
        :class:`~sklearn.frozen.FrozenEstimator`.
    segmentation : {"slic", "quickshift", "felzenszwalb", "grid"}, \
SuperpixelSegmenter or callable, default="slic"
        How to cut images into superpixels. A name uses
        :class:`~sklearn_xai.preprocessing.SuperpixelSegmenter` with that
        method. ``"slic"`` and ``"grid"`` ask for a number of segments that
        follows the image size, ``n_segments_ = min(50, H * W // 4)`` (at
        least 1): about 50 superpixels, none smaller than about 2x2 pixels
        (16 on 8x8 digits; 50 from 15x15 up). ``"quickshift"`` and
        ``"felzenszwalb"`` keep lime's and scikit-image's defaults, whose
        segment count depends on the image (on images under about 32x32
        they often find a single superpixel). A segmenter instance is used
        as configured; a callable maps one image ``(H, W, C)`` (or
        ``(H, W)`` for gray) to an integer label map.
    n_samples : int or "auto", default=1000
        Perturbed images (model evaluations) per explained image, the
        unperturbed image first. ``"auto"`` samples in rounds until the
        explanation is settled: a first round of the unperturbed image and
        ``4 * (d + 1)`` draws rounded up to a power of two, at least 128
        (``d`` superpixels: 256 for 32 to 63), then rounds of 64 draws,
        refitting after each, until the top-5 segments are separated from
        the others by 1.96 standard errors of each difference or the
        largest standard error is below 1% of the weights' range
        (:func:`~sklearn_xai.attribution._convergence.is_settled`, after
        Zhou et al.'s S-LIME test and Covert & Lee's rule), or
        ``max_samples`` are used; ``details.n_evaluations`` says how many
        each image took.
    sampling : {"lime", "kernel", "paired", "sobol", "balanced"}, \
default="balanced"
        How the keep/hide masks are drawn. Every design estimates the same
        quantity, lime's kernel-weighted ridge over uniform random masks, at
        lime's ridge penalty scale (rows of a design that does not draw
        lime's masks carry importance weights ``p(z) / q(z)``); they differ
        in how many samples reach a given precision:

        - ``"lime"``: independent uniform keep/hide bits, lime's exact draws
          (the segment weights equal the ``lime`` package's);
        - ``"kernel"``: masks drawn in proportion to the kernel times lime's
          distribution (sizes stratified, subsets of a size without
          replacement), the regression reweighted by importance weights;
        - ``"paired"``: uniform masks, each followed by its complement
          (antithetic sampling, Covert & Lee, 2021);
        - ``"sobol"``: scrambled Sobol' points thresholded at 1/2: paired
          and balanced (every segment kept in half the samples, every two
          together in a quarter); its standard errors are conservative;
        - ``"balanced"``: paired and balanced like ``"sobol"``, from a random
          regular fraction, whose standard errors are calibrated.

        See :mod:`sklearn_xai.attribution._lime_sampling` and the user guide
        for the measured sample efficiency of each.
    control_variate : "auto" or bool, default="auto"
        Whether to correct the estimate with a fitted surrogate of the model
        as control variate (:mod:`sklearn_xai.attribution._lime_control`):
        a multinomial logit in the masks, fitted to the classes'
        log-probabilities on the samples (cross-fitted over 5 folds, so each
        row's residual uses a surrogate fitted without it), whose own LIME
        weights are computed on masks that cost no model call (every mask up
        to 12 superpixels, exactly; 8,192 drawn ones beyond); only
        the model's departure from the surrogate is then estimated from the
        samples. It estimates the same quantity, needs no gradient and
        works with any classifier; it costs about 10-30 ms per image.
        Measured at 250 samples: the weights' spread over seeds falls
        about five-fold on digits with a logistic regression (whose logits
        are linear in the masks), and the top-5 stability on photos with a
        CNN rises from 0.879 to 0.893 (64x64, mean fill), 0.547 to 0.579
        (64x64, black fill) and 0.734 to 0.884 (224x224, black fill). It
        needs at least 4 samples per coefficient (``n_samples >= 4 * (d +
        1)`` for the ``d`` superpixels regressed on, after any
        ``num_features`` selection: with fewer, the
        sample's ridge and the surrogate's differ in their small-sample
        bias). ``"auto"``: with every ``sampling`` but ``"lime"`` (whose
        purpose is lime's exact weights), kept for an image only when its
        standard errors come out smaller than without it (on a random
        forest, whose probabilities are steps with exact zeros, the
        surrogate follows the model badly and the correction would add
        variance); True: always when there are enough samples, also with
        ``"lime"``, with a warning for the images it could not correct;
        never for a one-class model. ``details.control_variate`` says where
        it was used. Its standard errors leave out the
        surrogate's own fitting noise: they match the observed spread on the
        photos (ratio 1.01-1.02) and understate it by up to a fifth where
        the surrogate is nearly exact (1.13-1.21 on the digits).
    max_samples : int, default=2000
        The most samples per image with ``n_samples="auto"``; ignored
        otherwise.
    kernel_width : float, default=0.25
        Width of the exponential kernel on cosine distances.
    hide_color : None, "blur" or float, default=0.0
        What hidden superpixels become: a number, that constant (the default
        0.0 is black on uint8 and [0, 1] images, mid-grey on [-1, 1] ones,
        where black is -1.0; 0.0 is also what
        :func:`~sklearn_xai.metrics.deletion_auc` and the other deletion
        metrics remove pixels with by default, so the explanation and its
        score mean the same removal); None, each
        superpixel's mean colour (the ``lime`` package's default: it hides
        texture but keeps colour, and hides nothing in superpixels of one
        pixel or one colour); ``"blur"``, a strongly blurred image (a sigma
        of a tenth of the image side). A number must lie in the images'
        range (0-255 for uint8, [0, 1] for floats in [0, 1], any finite
        value for other floats), else ``fit`` raises a ValueError; perturbed
        images are built in floating point when the fill is not exactly an
        image value (a mean or 127.6 on uint8 images), never rounded or
        wrapped. On uint8 images such float perturbations are on the 0-255
        scale: a bare model that maps uint8 images onto another range (a
        TorchClassifier with ``input_range=(0, 1)``, a CNNClassifier fitted
        on [0, 1] floats) gets them mapped the same way; a pipeline, whose
        preprocessing is not known, gets them as they are (a [0, 1] model
        behind it refuses them: explain float images on its scale, or use a
        uint8 fill such as 0).
    feature_selection : {"auto", "none", "forward_selection", \
"highest_weights", "lasso_path"}, default="auto"
        lime's feature selection before the regression.
    num_features : int or None, default=None
        How many superpixels the selection may keep; None keeps all.
    distance_metric : str, default="cosine"
        Distance of each perturbation's mask to the unperturbed one.
    memory : str, joblib.Memory or None, default=None
        Caches the model's predictions on the perturbations, so explaining the
        same images with other ``kernel_width`` / ``feature_selection`` values
        (what a grid search does) makes no new model calls.
    batch_size : int or None, default=None
        Perturbed images per model call (bounds memory). None chooses by
        the kind of model: 32 for torch-backed models, up to 64 MiB of
        images (32 to 1024 rows) for others, whose per-call cost small
        batches multiply. For torch models, measured on a
        2-core CPU (``benchmarks/bench_lime.py``), 16 was fastest at 224x224
        and 64 at 64x64; on a GPU, 256 (an H200 explained a 224x224 image in
        0.064 s at 256 against 0.090 s at 32).
    n_jobs : int or None, default=None
        joblib workers over images.
    random_state : int, RandomState instance or None, default=None
        Seed of the perturbations (and of a segmentation that needs one).
        Each image's seed is derived from ``random_state`` and the image's
        content, so an explanation depends only on the image and
        ``random_state``, not on the rest of the batch.
    verbose : int, default=0
        Show a progress bar over images.
    image_shape : tuple of int or None, default=None
        How to read flattened images.

    Attributes
    ----------
    estimator_ : classifier
        The fitted (or frozen) model.
    classes_ : ndarray
        Its class labels.
    image_shape_ : tuple of int
        ``(H, W, C)`` seen in ``fit``.
    n_features_in_ : int
        ``H * W * C``.
    input_ndim_ : int
        Layout of the fitted images (2 flattened, 3 gray, 4 channels last).
    n_segments_ : int or None
        The segment count ``"slic"`` or ``"grid"`` asks for (see
        ``segmentation``); None for the methods whose count depends on the
        image.

    Warns
    -----
    DegenerateExplanationWarning
        In ``fit``, when the set-up can only give constant maps (one
        superpixel; one-pixel superpixels with ``hide_color=None``), saying
        what to change; in ``explain``, when maps came out constant, with
        their count and, where known, why (e.g. quickshift found a single
        superpixel).

    Notes
    -----
    ``explain(..., return_details=True)`` returns, besides ``targets``:
    ``segments`` (the superpixel labels of each image), ``segment_weights``
    (one array of weights per image), ``segment_stderr`` (their standard
    errors, one array per image: the sandwich of the weighted ridge,
    cluster-robust with the complementary pairs of ``"paired"`` and
    ``"sobol"`` as clusters, with the CR2 small-sample correction of Bell &
    McCaffrey, plus the control variate's pool error when it is used; zero
    for segments that ``num_features`` leaves out, and not accounting for
    that selection), ``intercept``, ``score`` (the weighted R^2),
    ``local_pred`` (the surrogate on the unperturbed image),
    ``n_evaluations`` (model evaluations per image) and ``control_variate``
    (whether the control variate corrected each image's weights).

    References
    ----------
    .. [1] M. T. Ribeiro, S. Singh and C. Guestrin, "Why should I trust you?:
       Explaining the predictions of any classifier", KDD 2016.
    .. [2] D. Garreau and U. von Luxburg, "Explaining the explainer: a first
       theoretical analysis of LIME", AISTATS 2020.
    .. [3] I. Covert and S.-I. Lee, "Improving KernelSHAP: practical Shapley
       value estimation using linear regression", AISTATS 2021.
    .. [4] Z. Zhou, G. Hooker and F. Wang, "S-LIME: stabilized-LIME for model
       explanation", KDD 2021.
    .. [5] R. M. Bell and D. F. McCaffrey, "Bias reduction in standard errors
       for linear regression with multi-stage samples", Survey Methodology
       28(2), 2002.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_xai.attribution import LimeExplainer
    >>> from sklearn_xai.datasets import load_digit_images
    >>> X, y = load_digit_images(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=500).fit(X.reshape(len(X), -1), y)
    >>> lime = LimeExplainer(FrozenEstimator(clf), segmentation="grid",
    ...                      n_samples=200, image_shape=(8, 8), random_state=0)
    >>> lime.fit(X.reshape(len(X), -1)).explain(X[:2].reshape(2, -1)).shape
    (2, 8, 8)

    Sampling until the top segments are settled, with standard errors:

    >>> auto = LimeExplainer(FrozenEstimator(clf), segmentation="grid",
    ...                      n_samples="auto", image_shape=(8, 8), random_state=0)
    >>> _, details = auto.fit(X.reshape(len(X), -1)).explain(
    ...     X[:2].reshape(2, -1), return_details=True)
    >>> details.segment_stderr[0].shape, details.n_evaluations.shape
    ((16,), (2,))
    >>> bool(((details.n_evaluations >= 129) & (details.n_evaluations <= 2000)).all())
    True
    """

    _parameter_constraints: dict = {
        **BaseExplainer._parameter_constraints,
        "segmentation": [
            StrOptions(set(SEGMENTATIONS)),
            HasMethods(["fit_transform"]),
            callable,
        ],
        "n_samples": [Interval(Integral, 2, None, closed="left"), StrOptions({"auto"})],
        "sampling": [StrOptions(set(SAMPLINGS))],
        "max_samples": [Interval(Integral, 2, None, closed="left")],
        "control_variate": ["boolean", StrOptions({"auto"})],
        "kernel_width": [Interval(Real, 0, None, closed="neither")],
        "hide_color": [None, StrOptions({"blur"}), Real],
        "feature_selection": [
            StrOptions(
                {"auto", "none", "forward_selection", "highest_weights", "lasso_path"}
            )
        ],
        "num_features": [None, Interval(Integral, 1, None, closed="left")],
        "distance_metric": [str, callable],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(
        self,
        estimator,
        *,
        segmentation="slic",
        n_samples=1000,
        sampling="balanced",
        max_samples=2000,
        control_variate="auto",
        kernel_width=0.25,
        hide_color=0.0,
        feature_selection="auto",
        num_features=None,
        distance_metric="cosine",
        memory=None,
        batch_size=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
        image_shape=None,
    ):
        self.estimator = estimator
        self.segmentation = segmentation
        self.n_samples = n_samples
        self.sampling = sampling
        self.max_samples = max_samples
        self.control_variate = control_variate
        self.kernel_width = kernel_width
        self.hide_color = hide_color
        self.feature_selection = feature_selection
        self.num_features = num_features
        self.distance_metric = distance_metric
        self.memory = memory
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.image_shape = image_shape

    def _fit_images(self, images):
        fit_superpixels(self, images)

    def _explain(self, images, targets, seeds):
        memory = check_memory(self.memory)
        check_explainer_fill(self, images, "hide_color")
        attributions, per_image = self._map_images(
            _explain_one, images, targets, seeds, self, memory
        )
        details = {
            "segments": np.stack([d["segments"] for d in per_image]),
            "segment_weights": [d["segment_weights"] for d in per_image],
            "segment_stderr": [d["segment_stderr"] for d in per_image],
        }
        for key in (
            "intercept",
            "score",
            "local_pred",
            "n_evaluations",
            "control_variate",
        ):
            details[key] = np.array([d[key] for d in per_image])
        if _forced_control(self) and not details["control_variate"].all():
            missed = int((~details["control_variate"]).sum())
            warnings.warn(
                f"control_variate=True could not correct {missed} of "
                f"{len(per_image)} explanations: it needs at least "
                f"{CONTROL_ROWS_PER_COEF} samples per coefficient (n_samples >= "
                f"{CONTROL_ROWS_PER_COEF} * (superpixels + 1)) and a model with "
                "at least two classes; their weights are LIME's plain estimate "
                "(details.control_variate says which).",
                UserWarning,
                stacklevel=3,
            )
        warn_constant_explanations(
            attributions,
            owner=type(self).__name__,
            causes=superpixel_causes(
                self,
                [d["_n_segments"] for d in per_image],
                [d["_unchanged"] for d in per_image],
            ),
        )
        return attributions, details
