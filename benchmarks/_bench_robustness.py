"""Robustness and randomization metrics against Quantus 0.6, same everything.

Called by ``bench_metrics.py``; ``python benchmarks/_bench_robustness.py
[--quick]`` runs it alone.

The model is the benchmarks' SmallResNet in a CNNClassifier; our explainer is
``SaliencyExplainer(FrozenEstimator(clf))`` and Quantus's ``explain_func``
calls that same explainer (for MPRT, on the randomized network Quantus hands
it, swapped into the classifier for the call), so both sides pay for the same
explanations and the comparison measures the metric machinery around them.

For equal values, not just close ones:

* the bundled photos are turned to grayscale (Quantus flattens channels
  first, we channels last: with one channel both draw the noise of the same
  pixel from the same place) and each is stretched to exactly [0, 1], where
  our noise (relative to each image's range) is Quantus's absolute noise;
* max-sensitivity: Quantus draws a batch's noise from ``np.random``, we
  each image's from its own stream (the seed and the image); Quantus is
  handed our perturbations through its ``perturb_func``, so both explain the
  same perturbed images;
* MPRT: Quantus resets every layer after ``torch.manual_seed(seed + 1)``, our
  ``random_state=s`` after ``torch.manual_seed(s)``; both normalize per map
  (Quantus's ``normalise_axes=(1, 2, 3)``).

Each pair runs once after a warm-up call of both paths; the ratio is
Quantus's time over ours. Most of Quantus's extra time is its own
bookkeeping around each explanation call (``assert_attributions`` alone took
about 0.5 s per call of 16 images at 224x224 on 2 CPU cores) and, for MPRT,
explaining the unrandomized model twice.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _images(n_images, size):
    from sklearn_xai.datasets import load_sample_photos

    photos = load_sample_photos(size=size).images
    photos = np.concatenate([photos, photos[:, :, ::-1]])  # mirrored: 16 photos
    photos = np.concatenate([photos] * -(-n_images // len(photos)))[:n_images]
    gray = photos.mean(axis=-1)
    lo = gray.min(axis=(1, 2), keepdims=True)
    hi = gray.max(axis=(1, 2), keepdims=True)
    return ((gray - lo) / (hi - lo)).astype(np.float32)  # each exactly [0, 1]


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _explain_func(clf, X_fit):
    """Quantus's explain_func: our saliency on the network Quantus passes."""
    from sklearn.frozen import FrozenEstimator

    from sklearn_xai.attribution import SaliencyExplainer

    def explain_func(model, inputs, targets, **kwargs):
        trained = clf.module_
        clf.module_ = model
        try:
            explainer = SaliencyExplainer(FrozenEstimator(clf), random_state=0)
            explainer.fit(X_fit[:1])
            images = np.moveaxis(np.asarray(inputs), 1, -1)
            return explainer.explain(images, target=np.asarray(targets))
        finally:
            clf.module_ = trained

    return explain_func


def _row(name, ours_s, quantus_s, ours, theirs):
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    return {
        "name": name,
        "ours_s": round(ours_s, 3),
        "quantus_s": round(quantus_s, 3),
        "ratio": round(quantus_s / ours_s, 2),
        "max_abs_diff": float(np.max(np.abs(ours - theirs))),
        "our_value_mean": float(ours.mean()),
        "quantus_value_mean": float(theirs.mean()),
    }


def run(n_images=16, size=224, quick=False):
    """Time our robustness/randomization metrics and Quantus's on the same inputs.

    Returns
    -------
    rows : list of dict
        ``name``, ``ours_s``, ``quantus_s``, ``ratio`` (Quantus / ours),
        ``max_abs_diff``, ``our_value_mean``, ``quantus_value_mean``.
    """
    import quantus
    from _models import resnet_classifier
    from sklearn.frozen import FrozenEstimator

    from sklearn_xai.attribution import SaliencyExplainer
    from sklearn_xai.metrics import max_sensitivity, model_parameter_randomization
    from sklearn_xai.metrics._checks import check_images
    from sklearn_xai.metrics._robustness import _perturbations
    from sklearn_xai.utils._seeds import image_rngs

    warnings.filterwarnings("ignore")
    images = _images(n_images, size)
    clf = resnet_classifier(images)
    module = clf.module_.eval()
    labels = clf.predict(images)
    explainer = SaliencyExplainer(FrozenEstimator(clf), random_state=0).fit(images)
    x_batch = images[:, np.newaxis]
    explain_func = _explain_func(clf, images)
    # Warm-up of both paths (the batch shapes each will use), not timed.
    max_sensitivity(explainer, images, n_samples=2, random_state=0)
    quantus.MaxSensitivity(nr_samples=1, disable_warnings=True)(
        model=module,
        x_batch=x_batch,
        y_batch=labels,
        channel_first=True,
        explain_func=explain_func,
        batch_size=len(images),
    )
    rows = []

    for n_samples in (5,) if quick else (20, 50):
        ours_s, ours = _timed(
            lambda n_samples=n_samples: max_sensitivity(
                explainer,
                images,
                targets=labels,
                radius=0.2,
                n_samples=n_samples,
                random_state=0,
            )
        )
        validated = check_images(images)[0]
        rounds = iter(
            list(
                _perturbations(
                    validated,
                    radius=0.2,
                    noise="uniform",
                    n_rounds=n_samples,
                    rngs=image_rngs(0, validated),
                )
            )
        )

        def perturb_func(arr, indices, rounds=rounds, **kwargs):
            return next(rounds).reshape(arr.shape).astype(arr.dtype)

        metric = quantus.MaxSensitivity(
            nr_samples=n_samples, perturb_func=perturb_func, disable_warnings=True
        )
        quantus_s, theirs = _timed(
            lambda metric=metric: metric(
                model=module,
                x_batch=x_batch,
                y_batch=labels,
                channel_first=True,
                explain_func=explain_func,
                batch_size=len(images),
            )
        )
        rows.append(
            _row(
                f"max_sensitivity ({n_samples} samples)",
                ours_s,
                quantus_s,
                ours,
                theirs,
            )
        )

    ours_s, ours = _timed(
        lambda: model_parameter_randomization(
            explainer, images, targets=labels, random_state=43
        )
    )
    metric = quantus.MPRT(
        layer_order="top_down",
        seed=42,
        normalise_func_kwargs={"normalise_axes": (1, 2, 3)},
        disable_warnings=True,
    )
    import torch

    rng_state = torch.get_rng_state()  # Quantus reseeds torch's global stream
    quantus_s, theirs = _timed(
        lambda: metric(
            model=module,
            x_batch=x_batch,
            y_batch=labels,
            channel_first=True,
            explain_func=explain_func,
            batch_size=len(images),
        )
    )
    torch.set_rng_state(rng_state)
    theirs = np.array([theirs[name] for name in ours.layers])
    rows.append(
        _row(
            f"model_parameter_randomization ({len(ours.layers)} layers, cascading)",
            ours_s,
            quantus_s,
            ours.scores,
            theirs,
        )
    )
    return rows


if __name__ == "__main__":
    import argparse

    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, smaller images")
    args = parser.parse_args()
    n, s = (4, 64) if args.quick else (16, 224)
    print(
        pd.DataFrame(run(n_images=n, size=s, quick=args.quick)).to_string(index=False)
    )
