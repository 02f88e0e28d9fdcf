"""LIME benchmark: sklearn-xai's LimeExplainer against the lime package.

Same model (a small ResNet in a CNNClassifier), same photos, same
segmentation (quickshift with lime's defaults), 1000 samples, measured in one
run:

1. per-image time of ``lime.lime_image.LimeImageExplainer.explain_instance`` at
   its default batch size (10) and at its best batch size, of our
   ``LimeExplainer``, and the ratios;
2. our overhead: our total time over (segmentation + the pure batched forward
   pass of the same perturbed images), the floor any LIME implementation pays;
3. the saving of the prediction cache (``memory=``) when the same images are
   explained with several ``kernel_width`` / ``feature_selection`` values, as
   a grid search does;
4. a check that both give the same segment weights on the first image
   (ours with ``sampling="lime"``, lime's draws, and both with black fill:
   1e-7 of the largest weight, float32 network inputs against lime's
   float64; our default design estimates the same quantity from other
   draws).

Run ``python benchmarks/bench_lime.py`` (``--quick`` for a short run,
``--device cuda`` on a GPU machine).
"""

from __future__ import annotations

import _environment  # (sets ONEDNN_MAX_CPU_ISA before torch loads)

# isort: split

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _models import resnet_classifier
from lime.lime_image import LimeImageExplainer
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator

from sklearn_xai.attribution import LimeExplainer
from sklearn_xai.attribution._perturbation import (
    hide_image,
    perturbed_images,
)
from sklearn_xai.datasets import load_sample_photos
from sklearn_xai.preprocessing import SuperpixelSegmenter

N_SAMPLES = 1000


def time_lime(clf, images, batch_size, segment):
    """Seconds per image of lime's explain_instance."""
    start = time.perf_counter()
    for image in images:
        explainer = LimeImageExplainer(random_state=0)
        _environment.quiet(
            explainer.explain_instance,
            image,
            clf.predict_proba,
            top_labels=1,
            num_samples=N_SAMPLES,
            batch_size=batch_size,
            segmentation_fn=segment,
        )
    return (time.perf_counter() - start) / len(images)


def time_ours(explainer, images):
    start = time.perf_counter()
    explainer.explain(images)
    return (time.perf_counter() - start) / len(images)


def time_floor(clf, images, batch_size, segmenter):
    """Seconds per image of segmentation + the pure forward pass.

    The perturbed images are built beforehand (not timed), converted to the
    network's channels-last float tensor, and fed to the module in batches.
    """
    module, device = clf.module_.eval(), clf.device_
    seg_time = fwd_time = 0.0
    rng = np.random.RandomState(0)
    for image in images:
        start = time.perf_counter()
        segments = segmenter.fit_transform(image[np.newaxis])[0]
        seg_time += time.perf_counter() - start
        k = segments.max() + 1
        masks = rng.randint(0, 2, (N_SAMPLES, k))
        batch = perturbed_images(
            image, hide_image(image, segments, None), segments, masks
        )
        x = torch.from_numpy(batch.astype(np.float32)).permute(0, 3, 1, 2)
        x = x.to(device)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, N_SAMPLES, batch_size):
                torch.softmax(module(x[i : i + batch_size]), dim=1).cpu()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        fwd_time += time.perf_counter() - start
    return seg_time / len(images), fwd_time / len(images)


def agreement(clf, image, segmenter):
    """Max |ours - lime| / max |lime| of the segment weights, first image."""
    explainer = LimeExplainer(
        FrozenEstimator(clf),
        segmentation=segmenter,
        n_samples=N_SAMPLES,
        sampling="lime",  # lime's own draws (the default design differs)
        # Black: a fill both hold exactly (lime writes its mean fill into the
        # uint8 image, rounding it; ours keeps the float means).
        hide_color=0.0,
        random_state=0,
    ).fit(image[np.newaxis])
    # lime draws from seed 0 itself; ours derives a seed per image by default.
    explainer._image_seeds = lambda images: [0] * len(images)
    _, details = explainer.explain(image[np.newaxis], return_details=True)
    segments = details.segments[0]
    label = int(np.flatnonzero(clf.classes_ == details.targets[0])[0])
    lime_exp = _environment.quiet(
        LimeImageExplainer(random_state=0).explain_instance,
        image,
        clf.predict_proba,
        labels=(label,),
        top_labels=None,
        hide_color=0,
        num_samples=N_SAMPLES,
        segmentation_fn=lambda _: segments,
    )
    reference = np.zeros(segments.max() + 1)
    for feature, weight in lime_exp.local_exp[label]:
        reference[feature] = weight
    return (
        np.abs(details.segment_weights[0] - reference).max() / np.abs(reference).max()
    )


def bench_size(size, n_images, device, lime_batch_sizes, our_batch_sizes, segmentation):
    photos = load_sample_photos(size=size).images[:n_images]
    clf = resnet_classifier(photos)
    if device != "cpu":
        clf.set_params(device=device).fit(photos, np.arange(len(photos)) % 10)
    segmenter = SuperpixelSegmenter(method=segmentation, n_segments=50, random_state=0)

    def segment(image):
        return segmenter.fit_transform(image[np.newaxis])[0]

    n_segments = [segment(p).max() + 1 for p in photos]
    print(
        f"\n== {size}x{size}, {len(photos)} photos, {N_SAMPLES} samples, "
        f"{segmentation}: {min(n_segments)}-{max(n_segments)} segments, "
        f"device {clf.device_} =="
    )
    lime_times = {bs: time_lime(clf, photos, bs, segment) for bs in lime_batch_sizes}
    ours = {}
    for bs in our_batch_sizes:
        explainer = LimeExplainer(
            FrozenEstimator(clf),
            segmentation=segmenter,
            n_samples=N_SAMPLES,
            batch_size=bs,
            hide_color=None,  # lime's default, same work as lime
            random_state=0,
        ).fit(photos)
        ours[bs] = time_ours(explainer, photos)
    seg, fwd = time_floor(clf, photos, min(ours, key=ours.get), segmenter)
    for bs, seconds in lime_times.items():
        print(f"lime, batch_size={bs:4d}:          {seconds:7.3f} s/image")
    for bs, seconds in ours.items():
        print(f"sklearn-xai, batch_size={bs:4d}:   {seconds:7.3f} s/image")
    best_ours = min(ours.values())
    print(
        f"speed-up over lime at its default batch size (10): "
        f"{lime_times[lime_batch_sizes[0]] / best_ours:5.2f}x"
    )
    print(
        f"speed-up over lime at its best batch size:          "
        f"{min(lime_times.values()) / best_ours:5.2f}x"
    )
    print(
        f"floor: segmentation {seg:.3f} s + forward pass {fwd:.3f} s = "
        f"{seg + fwd:.3f} s/image; our overhead ratio {best_ours / (seg + fwd):.3f}"
    )
    gap = agreement(clf, photos[0], segmenter)
    print(f"agreement with lime (max |diff| / max |w|): {gap:.2e}")
    return clf, photos


def bench_cache(clf, photos):
    grid = [(w, fs) for w in (0.1, 0.25, 0.5) for fs in ("auto", "none")]
    explainer = LimeExplainer(
        FrozenEstimator(clf), segmentation="slic", n_samples=N_SAMPLES, random_state=0
    ).fit(photos)
    start = time.perf_counter()
    for width, selection in grid:
        clone(explainer).set_params(
            kernel_width=width, feature_selection=selection
        ).fit(photos).explain(photos)
    uncached = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        for width, selection in grid:
            clone(explainer).set_params(
                kernel_width=width, feature_selection=selection, memory=cache
            ).fit(photos).explain(photos)
        cached = time.perf_counter() - start
    print(
        f"\n== prediction cache: {len(grid)} (kernel_width, feature_selection) "
        f"settings x {len(photos)} photos ==\n"
        f"without memory: {uncached:.2f} s, with memory: {cached:.2f} s "
        f"({uncached / cached:.1f}x less time; model called once per image)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 224])
    parser.add_argument(
        "--our-batch-sizes",
        type=int,
        nargs="+",
        default=None,
        help="LimeExplainer batch sizes to time (default 16 32 64; 32 with --quick)",
    )
    parser.add_argument(
        "--segmentation",
        default="quickshift",
        choices=["quickshift", "slic"],
        help="quickshift (lime's default) or slic (50 segments); both sides use it",
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    last = None
    for size in args.sizes:
        n_images = (2 if args.quick else 4) if size >= 128 else (4 if args.quick else 8)
        last = bench_size(
            size,
            n_images,
            args.device,
            lime_batch_sizes=[10, 32, 128] if not args.quick else [10, 32],
            our_batch_sizes=args.our_batch_sizes
            or ([16, 32, 64] if not args.quick else [32]),
            segmentation=args.segmentation,
        )
    if last is not None:
        bench_cache(*last)


if __name__ == "__main__":
    main()
