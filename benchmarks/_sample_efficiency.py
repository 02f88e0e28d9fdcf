"""Pieces of ``bench_sample_efficiency.py``: data, model, metrics, runners.

Nothing here times anything: every number is a quality per model evaluation.
"""

from __future__ import annotations

import inspect
from itertools import combinations
from math import factorial

import _environment
import numpy as np

#: Segments compared by the top-k Jaccard indices.
TOP_K = 5
#: The most superpixels of the Kernel SHAP games (2**12 coalitions).
MAX_PLAYERS = 12

# -- what the explainers offer today ---------------------------------------


def has_param(cls, name):
    """Whether the estimator class takes ``name`` in its constructor."""
    return name in inspect.signature(cls.__init__).parameters


def param_default(cls, name):
    """The constructor's default for ``name``, or None when there is none."""
    parameter = inspect.signature(cls.__init__).parameters.get(name)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None
    return parameter.default


def str_options(cls, name):
    """The strings ``_parameter_constraints[name]`` accepts, sorted.

    None when the class has no such parameter (a feature not landed yet).
    """
    from sklearn.utils._param_validation import StrOptions

    constraints = getattr(cls, "_parameter_constraints", {}).get(name)
    if constraints is None:
        return None
    options = set()
    for constraint in constraints:
        if isinstance(constraint, StrOptions):
            options |= set(constraint.options) - set(constraint.deprecated or ())
    return sorted(options)


# -- photos and the network --------------------------------------------------

#: Fixed crops (centre row, centre column, side as a fraction of the photo's
#: shorter side) of each photo: the explained images.
WINDOWS = ((0.5, 0.5, 1.0), (0.3, 0.3, 0.55), (0.7, 0.65, 0.55), (0.35, 0.7, 0.5))


def _crop(photo, centre_row, centre_col, fraction, size):
    import cv2

    height, width = photo.shape[:2]
    side = max(8, int(min(height, width) * fraction))
    top = int(np.clip(centre_row * height - side / 2, 0, height - side))
    left = int(np.clip(centre_col * width - side / 2, 0, width - side))
    window = photo[top : top + side, left : left + side]
    return cv2.resize(window, (size, size), interpolation=cv2.INTER_AREA)


def photo_crops(size, per_photo):
    """``per_photo`` fixed square crops of each bundled photo, at ``size``.

    Returns the uint8 images ``(8 * per_photo, size, size, 3)`` and the index
    of the photo each comes from.
    """
    from sklearn_xai.datasets import load_sample_photos

    photos = load_sample_photos().images
    images, labels = [], []
    for label, photo in enumerate(photos):
        for window in WINDOWS[:per_photo]:
            images.append(_crop(photo, *window, size))
            labels.append(label)
    return np.stack(images), np.array(labels)


def random_crops(size, n, seed):
    """``n`` random square crops (35-100% of the shorter side, random
    horizontal flips) of the bundled photos, labelled by photo."""
    from sklearn_xai.datasets import load_sample_photos

    photos = load_sample_photos().images
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        label = i % len(photos)
        image = _crop(
            photos[label], rng.random(), rng.random(), rng.uniform(0.35, 1.0), size
        )
        images.append(image[:, ::-1] if rng.random() < 0.5 else image)
        labels.append(label)
    return np.ascontiguousarray(np.stack(images)), np.array(labels)


def train_photo_classifier(size, n_train, max_epochs, device="cpu", seed=0):
    """The benchmarks' SmallResNet taught which photo a crop comes from.

    A CNNClassifier (Adam, lr 3e-3) on ``n_train`` random crops of the 8
    bundled photos (8 classes). Returns the classifier and its accuracy on
    400 other random crops.
    """
    from _models import SmallResNet

    from sklearn_xai.neural_network import CNNClassifier

    X, y = random_crops(size, n_train, seed)
    clf = CNNClassifier(
        module=SmallResNet,
        max_epochs=max_epochs,
        batch_size=32,
        lr=3e-3,
        device=device,
        random_state=seed,
    ).fit(X, y)
    X_test, y_test = random_crops(size, 400, seed + 1)
    return clf, float(np.mean(clf.predict(X_test) == y_test))


# -- segmentations -----------------------------------------------------------


def slic_segmenter(n_segments=50):
    from sklearn_xai.preprocessing import SuperpixelSegmenter

    return SuperpixelSegmenter(method="slic", n_segments=n_segments, random_state=0)


_SMALL_SEGMENTS = {}


def segment_small(image, max_players=MAX_PLAYERS):
    """SLIC superpixels of ``image``, as many as possible up to ``max_players``.

    Tries ``n_segments`` from 40 down and keeps the first cut with at most
    ``max_players`` segments (10-12 on most 64x64 crops): a deterministic
    function of the image, so every method compared gets the same players.
    Cached by the image's bytes (the explainers segment on every call).
    """
    key = (image.shape, image.dtype.str, image.tobytes(), max_players)
    if key not in _SMALL_SEGMENTS:
        labels = np.zeros(image.shape[:2], dtype=np.int32)
        for n_segments in range(40, 1, -1):
            cut = slic_segmenter(n_segments).fit_transform(image[np.newaxis])[0]
            if cut.max() + 1 <= max_players:
                labels = cut
                break
        _SMALL_SEGMENTS[key] = labels
    return _SMALL_SEGMENTS[key]


# -- metrics -----------------------------------------------------------------


def top_set(weights, k=TOP_K):
    """The ``k`` segments with the largest signed weights."""
    return frozenset(np.argsort(-np.asarray(weights), kind="stable")[:k].tolist())


def jaccard(a, b):
    return len(a & b) / len(a | b) if a | b else 1.0


def mean_pairwise_jaccard(weight_sets, k=TOP_K):
    """Mean top-``k`` Jaccard index over all pairs of seeds (one image)."""
    tops = [top_set(w, k) for w in weight_sets]
    return float(np.mean([jaccard(a, b) for a, b in combinations(tops, 2)]))


def spearman(a, b):
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(spearmanr(a, b)[0])


def lime_quality(per_seed, reference):
    """Stability and agreement with the reference of one LIME configuration.

    Parameters
    ----------
    per_seed : list over seeds of list over images of ndarray
        Segment weights.
    reference : list over images of ndarray

    Returns
    -------
    dict with ``stability`` (mean over images of the mean pairwise top-5
    Jaccard over seeds), ``spearman_ref`` and ``jaccard_ref`` (means over
    images and seeds).
    """
    n_images = len(reference)
    stability = np.mean(
        [mean_pairwise_jaccard([seed[i] for seed in per_seed]) for i in range(n_images)]
    )
    rho = [
        spearman(seed[i], reference[i]) for seed in per_seed for i in range(n_images)
    ]
    jac = [
        jaccard(top_set(seed[i]), top_set(reference[i]))
        for seed in per_seed
        for i in range(n_images)
    ]
    return {
        "stability": float(stability),
        "spearman_ref": float(np.nanmean(rho)),
        "jaccard_ref": float(np.mean(jac)),
    }


# -- LIME runners --------------------------------------------------------------


#: What hidden superpixels become, by the benchmark's ``--fill``: black (our
#: default) or each superpixel's mean colour (lime's default).
FILLS = {"black": 0.0, "mean": None}


def ours_lime(clf, images, targets, seed, fill="black", **params):
    """Our LimeExplainer's segment weights and evaluations, one seed.

    ``params`` go to LimeExplainer (``n_samples``, ``sampling``...); the
    segmentation is SLIC with 50 segments, hidden superpixels are black or
    their mean colour (``fill``).
    Returns (list of weight arrays, evaluations per image, segments, the
    weighted R^2 of each image's surrogate).
    """
    from sklearn.frozen import FrozenEstimator

    from sklearn_xai.attribution import LimeExplainer

    explainer = LimeExplainer(
        FrozenEstimator(clf),
        segmentation=slic_segmenter(),
        hide_color=FILLS[fill],
        random_state=seed,
        **params,
    ).fit(images)
    _, details = explainer.explain(images, target=targets, return_details=True)
    n_eval = details.get("n_evaluations")
    if n_eval is None:
        n_eval = np.full(len(images), params.get("n_samples", explainer.n_samples))
    weights = [np.asarray(w, dtype=np.float64) for w in details.segment_weights]
    return (
        weights,
        np.asarray(n_eval, dtype=np.float64),
        details.segments,
        np.asarray(details.score, dtype=np.float64),
    )


def lime_package(clf, images, targets, segments, seed, n_samples=1000, fill="black"):
    """The lime package's segment weights on the same superpixels and fill."""
    from lime.lime_image import LimeImageExplainer

    label_index = np.searchsorted(clf.classes_, targets)
    weights = []
    for i, image in enumerate(images):
        labels = segments[i]
        explanation = _environment.quiet(
            LimeImageExplainer(random_state=seed * 1000 + i).explain_instance,
            image,
            clf.predict_proba,
            labels=(int(label_index[i]),),
            top_labels=None,
            hide_color=None if FILLS[fill] is None else 0,
            num_samples=n_samples,
            batch_size=100,
            segmentation_fn=lambda _, labels=labels: labels,
        )
        w = np.zeros(int(labels.max()) + 1)
        for feature, value in explanation.local_exp[int(label_index[i])]:
            w[feature] = value
        weights.append(w)
    return weights, np.full(len(images), float(n_samples))


# -- Kernel SHAP: the game, its exact values and the estimators -----------------


def game_values(clf, image, segments, target_index, masks, batch_size=256):
    """``v(z)``: the target's probability with the segments off in ``masks``
    hidden (black), through the model's ``predict_proba``."""
    out = []
    for start in range(0, len(masks), batch_size):
        keep = masks[start : start + batch_size][:, segments]
        batch = np.where(keep[..., np.newaxis], image, 0).astype(image.dtype)
        out.append(clf.predict_proba(batch)[:, target_index])
    return np.concatenate(out)


def brute_force_shapley(clf, image, segments, target_index):
    """Shapley values by enumerating all ``2**M`` coalitions (M <= 12).

    ``phi_j = sum_{S not containing j} |S|! (M - |S| - 1)! / M!
    (v(S + j) - v(S))``.
    """
    m = int(segments.max()) + 1
    index = np.arange(2**m)
    masks = ((index[:, np.newaxis] >> np.arange(m)) & 1).astype(bool)
    values = game_values(clf, image, segments, target_index, masks)
    sizes = masks.sum(axis=1)
    weight = np.array(
        [factorial(s) * factorial(m - s - 1) / factorial(m) for s in range(m)]
    )
    phi = np.empty(m)
    for j in range(m):
        without = index[~masks[:, j]]
        phi[j] = np.sum(
            weight[sizes[without]] * (values[without | (1 << j)] - values[without])
        )
    return phi


def ours_kernel_shap(clf, images, targets, seed, **params):
    """Our KernelShapExplainer on the <= 12-segment games, one seed.

    Returns (list of value arrays, evaluations per image, details).
    """
    from sklearn.frozen import FrozenEstimator

    from sklearn_xai.attribution import KernelShapExplainer

    explainer = KernelShapExplainer(
        FrozenEstimator(clf),
        segmentation=segment_small,
        hide_color=0.0,
        random_state=seed,
        **params,
    ).fit(images)
    _, details = explainer.explain(images, target=targets, return_details=True)
    values = [np.asarray(v, dtype=np.float64) for v in details.segment_values]
    return values, np.asarray(details.n_evaluations, dtype=np.float64), details


def captum_kernel_shap(clf, image, segments, target_index, n_samples, seed):
    """captum's KernelShap on the same game; (values, model evaluations)."""
    import torch
    from captum.attr import KernelShap

    network = clf._explainable_network()
    counter = [0]

    def forward(x):
        counter[0] += len(x)
        return torch.softmax(network["forward"](x), dim=1)

    inputs = network["to_tensor"](image[np.newaxis])
    baseline = network["to_tensor"](np.zeros_like(image)[np.newaxis])
    mask = torch.from_numpy(segments.astype(np.int64))[None, None].to(inputs.device)
    torch.manual_seed(seed)
    with network["running"](), torch.no_grad():
        values = KernelShap(forward).attribute(
            inputs,
            baselines=baseline,
            target=int(target_index),
            feature_mask=mask,
            n_samples=int(n_samples),
            perturbations_per_eval=32,
            return_input_shape=False,
        )
    return values.detach().cpu().numpy().ravel().astype(np.float64), counter[0]


def shap_kernel_explainer(clf, image, segments, target_index, n_samples, seed):
    """The shap package's KernelExplainer on the same game.

    The players are the segments: the model sees a binary vector ``z``
    (1 keep, 0 hide), the background is the all-hidden vector, the
    explained point the all-kept one. ``l1_reg=False``: shap's default
    (``"num_features(10)"``) would keep only 10 of up to 12 players.
    Returns (values, model evaluations).
    """
    import shap

    m = int(segments.max()) + 1
    counter = [0]

    def game(z):
        counter[0] += len(z)
        return game_values(clf, image, segments, target_index, np.asarray(z) > 0.5)

    np.random.seed(seed)  # noqa: NPY002  (shap draws from numpy's global RNG)
    explainer = shap.KernelExplainer(game, np.zeros((1, m)))
    values = explainer.shap_values(
        np.ones((1, m)), nsamples=int(n_samples), l1_reg=False, silent=True
    )
    return np.asarray(values, dtype=np.float64).ravel(), counter[0]


def shap_errors(estimates, truth):
    """Relative L2 error and RMSE of each estimate against the exact values."""
    rel, rmse = [], []
    for phi, exact in zip(estimates, truth, strict=True):
        rel.append(np.linalg.norm(phi - exact) / max(np.linalg.norm(exact), 1e-12))
        rmse.append(np.sqrt(np.mean((phi - exact) ** 2)))
    return float(np.mean(rel)), float(np.mean(rmse))


def print_table(rows, columns, formats):
    """A fixed-width table of dict rows."""
    widths = {c: max(len(c), *(len(formats[c](r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(formats[c](row[c]).ljust(widths[c]) for c in columns))
