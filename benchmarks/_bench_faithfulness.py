"""Faithfulness metrics against Quantus 0.6: same model, images, attributions.

Called by ``bench_metrics.py``; ``python benchmarks/_bench_faithfulness.py
[--quick]`` runs it alone.

The model is the benchmarks' SmallResNet in a CNNClassifier; Quantus gets its
``module_`` (in eval mode, ``softmax=True``). The bundled photos are turned
to grayscale so that Quantus, which samples and flips single channel values,
perturbs the same pixels as we do (we perturb whole pixels), and the values
can be equal, not just close. Baselines are 0 on both sides (Quantus's
``"black"`` would be each image's minimum). Attributions are seeded random
maps (their quality does not change the cost).

* faithfulness correlation: timed with Quantus's own subsets (one
  ``np.random.choice``, a full permutation of the pixels, per image and
  run); the values are compared on one more Quantus run whose
  ``np.random.choice`` hands out the subsets we drew;
* pixel flipping: our ``deletion_curve`` against ``PixelFlipping`` with
  ``features_in_step = H * W / n_steps``;
* region perturbation: our ``pixel_flipping(region_size=16)`` against
  ``RegionPerturbation(patch_size=16)`` (its drops are ``p0 - scores``).

Each pair runs twice, interleaved (ours, Quantus, ours, Quantus), and the
best time of each side counts; the ratio is Quantus's time over ours. Both
sides run the same number of forward passes, so on a CPU, where those
dominate, the ratio measures everything else: Quantus's per-step copies,
checks and index building against our vectorised batches.
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
    return (photos.mean(axis=-1) / 255).astype(np.float32)  # (n, H, W) gray


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, np.asarray(result, dtype=np.float64)


def run(n_images=16, size=224, quick=False, repeats=2):
    """Time our faithfulness metrics and Quantus's on the same inputs.

    Returns
    -------
    rows : list of dict
        ``name``, ``ours_s``, ``quantus_s``, ``ratio`` (Quantus / ours),
        ``max_abs_diff``, ``our_value_mean``, ``quantus_value_mean``; times
        are the best of ``repeats`` interleaved runs.
    """
    import quantus
    from _models import resnet_classifier

    from sklearn_xai.metrics import (
        deletion_curve,
        faithfulness_correlation,
        pixel_flipping,
    )
    from sklearn_xai.metrics._checks import check_images
    from sklearn_xai.metrics._faithfulness_correlation import _SubsetStream
    from sklearn_xai.utils._seeds import image_rngs

    warnings.filterwarnings("ignore")
    images = _images(n_images, size)
    clf = resnet_classifier(images)
    module = clf.module_.eval()
    labels = clf.predict(images)
    a = np.random.default_rng(0).normal(size=images.shape).astype(np.float32)
    n_pixels = size * size
    n_runs = 20 if quick else 100
    subset_size = min(224, n_pixels // 4)
    n_steps = 16 if quick else 64
    patch = 16 if size >= 64 else 4
    n_regions = min(16 if quick else 64, (-(-size // patch)) ** 2)
    common = dict(abs=False, normalise=False, return_aggregate=False)
    common.update(disable_warnings=True, perturb_baseline=0.0)
    call = dict(
        model=module,
        x_batch=images[:, np.newaxis],
        y_batch=np.asarray(labels),
        a_batch=a[:, np.newaxis],
        softmax=True,
        channel_first=True,
        device="cpu",
        batch_size=max(64, n_images),
    )

    def quantus_fc(subsets=None):
        metric = quantus.FaithfulnessCorrelation(
            nr_runs=n_runs, subset_size=subset_size, **common
        )
        if subsets is None:  # Quantus's own draws: what its users pay
            return metric(**call)
        choice = np.random.choice
        np.random.choice = lambda *args, **kwargs: next(subsets)
        try:
            return metric(**call)
        finally:
            np.random.choice = choice

    def quantus_fc_same_subsets():
        # Ours draw each image's subsets from its own stream (seed 0 and the
        # image); Quantus takes them run by run, image by image.
        per_image = [
            _SubsetStream(rng, n_pixels, subset_size).take(n_runs)
            for rng in image_rngs(0, check_images(images)[0])
        ]
        return quantus_fc(
            iter([rows[run] for run in range(n_runs) for rows in per_image])
        )

    cases = {
        f"faithfulness_correlation (n_runs={n_runs}, subset={subset_size})": (
            lambda: faithfulness_correlation(
                clf, images, a, n_runs=n_runs, subset_size=subset_size,
                baseline=0.0, random_state=0,
            ),
            quantus_fc,
            lambda ours, theirs: (ours, theirs),
            quantus_fc_same_subsets,
        ),
        f"pixel flipping = deletion_curve (n_steps={n_steps})": (
            lambda: deletion_curve(
                clf, images, a, n_steps=n_steps, baseline=0.0
            ).scores,
            lambda: quantus.PixelFlipping(
                features_in_step=n_pixels // n_steps, **common
            )(**call),
            lambda ours, theirs: (ours[:, 1:], theirs),
        ),
        f"region perturbation (region {patch}, n_regions={n_regions})": (
            lambda: pixel_flipping(
                clf, images, a, region_size=patch, n_regions=n_regions,
                baseline=0.0, return_curve=True,
            ).scores,
            lambda: quantus.RegionPerturbation(
                patch_size=patch, regions_evaluation=n_regions, order="morf",
                **common,
            )(**call),
            lambda ours, theirs: (ours[:, :1] - ours[:, 1:], theirs),
        ),
    }  # fmt: skip
    rows = []
    for name, (ours, theirs, align, *same_draws) in cases.items():
        # Interleaved, best of `repeats`: the first call of each side also
        # pays for oneDNN building kernels for new batch shapes.
        ours_s = quantus_s = np.inf
        for _ in range(repeats):
            seconds, our_values = _timed(ours)
            ours_s = min(ours_s, seconds)
            seconds, quantus_values = _timed(theirs)
            quantus_s = min(quantus_s, seconds)
        if same_draws:  # values from Quantus fed our random subsets
            quantus_values = np.asarray(same_draws[0](), dtype=np.float64)
        our_values, quantus_values = align(our_values, quantus_values)
        rows.append(
            dict(
                name=name,
                ours_s=round(ours_s, 3),
                quantus_s=round(quantus_s, 3),
                ratio=round(quantus_s / ours_s, 2),
                max_abs_diff=float(np.nanmax(np.abs(our_values - quantus_values))),
                our_value_mean=float(np.nanmean(our_values)),
                quantus_value_mean=float(np.nanmean(quantus_values)),
            )
        )
    return rows


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    n_images, size = (4, 64) if quick else (16, 224)
    for row in run(n_images=n_images, size=size, quick=quick):
        print(row)
