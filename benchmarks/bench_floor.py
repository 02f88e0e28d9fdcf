"""The floor: each perturbation explainer's time over the work it cannot avoid.

For LIME, Kernel SHAP, occlusion, RISE and Score-CAM, on the benchmarks'
small ResNet (``benchmarks/_models.py``) in a CNNClassifier, at 64x64 and
224x224, measured in one run:

* **ours**: ``explainer.explain(image, target)`` for one image at a time
  (the target given, so no extra pass finds the predicted class);
* **the floor**: what any implementation of the method pays: the
  segmentation (LIME and Kernel SHAP: scikit-image's own function, called
  directly) plus the network's forward pass, softmax and transfer to the host
  of *exactly the inputs our explainer sent to the network*, in the same
  batches. These are recorded by a forward pre-hook on the network during a
  warm-up call of ours (building them is not timed in the floor), so the
  floor follows any change in the sampling: nothing is re-derived here;
* **the ratio** ours / floor (goal: at most 1.15).

What lies between the two is ours: validation, seeding, drawing the samples,
building the perturbed images or masks, the regression or the weighting,
bookkeeping. Ours and the floor alternate image by image and repetition by
repetition (ours, floor, floor, ours, ...), after the warm-up, so that the
load of other processes hits both alike; each image's median is taken and the
medians are summed over images. torch runs on one thread by default
(``--threads``), which makes the comparison steadier on a shared machine.
The segmentation cache (``make_segmenter``) is emptied before every call of
ours, so each call segments its image as a single explanation does; the last
table shows what the cache saves in a grid search over LIME settings.

Settings: 1000 samples for LIME and Kernel SHAP (``hide_color=None``, lime's
mean fill), quickshift with lime's defaults (``--segmentation slic`` for 50
SLIC segments); occlusion with its default window and stride (225 windows at
both sizes); RISE with 1000 masks (the inputs are recorded, so memory grows
with the count: 0.6 GB per 224x224 image); Score-CAM at its default layer.

Measured (2 CPU cores shared with other jobs, load average 4-10 for LIME and
Score-CAM, 4-5 for the others, default settings), ratio ours / floor at 64x64
and 224x224, CPU clock (two runs) and wall clock: LIME 1.12 / 1.12-1.14 (wall
1.05 / 1.11; 1.26 / 1.29 before the changes of issue 13, section 4), 1.14 /
1.14 with its control variate on by default (the surrogate's fits and pool:
quickshift's 3-7 superpixels at 64x64 are enumerated, 32-36 at 224x224 use
8,192 pool masks; load 2-3), then 1.11 / 1.11 with the standard errors'
clusters gathered without a split per cluster (load 1.2-1.8; the same day
and load: Kernel SHAP 1.14 / 1.11, occlusion 1.11 / 1.06); Kernel
SHAP 1.12-1.14 / 1.12-1.13 (wall 1.12 / 1.15; was 1.22 / 1.18, measured the
same day at load 1-2: the control variate's backward pass is now made only
for images whose sample is not exact, none at 64x64 where quickshift's 3-7
superpixels are enumerated, and its slopes come without one hidden image per
superpixel; what is left is at 64x64 the segmenter's set-up and the
explanation's own validation, at 224x224 building the perturbed images on the
device, about 0.1 s, and the control variate's backward pass); occlusion
1.10-1.12 / 1.04-1.06 (wall 1.07 / 1.01; was 1.24 / 1.09 the same day, 1.42 /
1.38 before section 4: the occluded batches skip ``predict_proba``'s per-call
validation); RISE 1.25 / 1.21 (one CPU run; wall 1.22 / 1.26; was
1.36-1.49 / 1.26-1.29; what is left is the scale check of each float batch
of uint8 images, which the model must judge, building the masks and
weighting them one by one);
Score-CAM 1.66-1.76 / 1.36-1.40 (was 1.61 / 1.37; fixed costs per call:
validation, the activation pass's hooks). The grid search segments each
224x224 image once instead of 6 times (4.6-7 s less over 18 explanations).

Run ``python benchmarks/bench_floor.py`` (``--quick`` for a smoke run of
under two minutes, ``--methods lime rise`` for some methods, ``--clock cpu``
to time this process's CPU time, steadier than wall time on a machine loaded
by other processes, ``--device cuda`` on a GPU machine).
"""

from __future__ import annotations

import _environment  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before torch loads)

# isort: split

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _models import resnet_classifier
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import ParameterGrid
from sklearn.utils import check_random_state

from sklearn_xai.attribution import (
    KernelShapExplainer,
    LimeExplainer,
    OcclusionExplainer,
    RISEExplainer,
    ScoreCAMExplainer,
    _perturbation,
)
from sklearn_xai.datasets import load_sample_photos
from sklearn_xai.preprocessing import SuperpixelSegmenter, _superpixels

METHODS = ("lime", "kernel_shap", "occlusion", "rise", "score_cam")
#: ``--clock`` choices: wall time, or this process's CPU time (steadier on a
#: machine loaded by other processes, with one torch thread).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _clear_segmentation_cache():
    """Empty the in-process segmentation cache, where there is one."""
    clear = getattr(_perturbation, "clear_segmentation_cache", None)
    if clear is not None:
        clear()


def raw_segmentation(segmenter):
    """``image -> labels`` with scikit-image's function called directly.

    The segmentation part of the floor: quickshift with lime's call (as
    ``lime.wrappers.scikit_image.SegmentationAlgorithm`` makes it) or SLIC,
    without our validation or relabelling.
    """
    from skimage.segmentation import quickshift, slic

    seed = int(
        check_random_state(segmenter.random_state).randint(np.iinfo(np.int32).max)
    )
    if segmenter.method == "quickshift":
        return lambda image: quickshift(
            image,
            kernel_size=segmenter.kernel_size,
            max_dist=segmenter.max_dist,
            ratio=segmenter.ratio,
            convert2lab=True,
            rng=seed,
            channel_axis=-1,
        )
    return lambda image: slic(
        image,
        n_segments=segmenter.n_segments,
        compactness=segmenter.compactness,
        convert2lab=True,
        start_label=0,
        channel_axis=-1,
    )


class NetworkInputs:
    """A forward pre-hook on ``module`` keeping a copy of every input batch."""

    def __init__(self, module):
        self.module = module
        self.batches = []

    def __enter__(self):
        def keep(_, args):
            self.batches.append(args[0].detach().clone())

        self._handle = self.module.register_forward_pre_hook(keep)
        return self

    def __exit__(self, *exc):
        self._handle.remove()


def forward_floor(module, batches, device, clock):
    """Seconds of the network's pass over recorded batches (softmax, to host)."""
    _sync(device)
    start = clock()
    with torch.inference_mode():
        for x in batches:
            torch.softmax(module(x), dim=1).cpu()
    _sync(device)
    return clock() - start


def explainers(clf, segmenter, n_samples, n_masks):
    """``{name: (explainer, segments)}``; ``segments`` whether it segments."""
    frozen = FrozenEstimator(clf)
    # LIME and Kernel SHAP alike: the segmenter, the samples, lime's mean fill.
    superpixels = dict(
        segmentation=segmenter, n_samples=n_samples, hide_color=None, random_state=0
    )
    return {
        "lime": (LimeExplainer(frozen, **superpixels), True),
        "kernel_shap": (KernelShapExplainer(frozen, **superpixels), True),
        "occlusion": (OcclusionExplainer(frozen), False),
        "rise": (RISEExplainer(frozen, n_masks=n_masks, random_state=0), False),
        "score_cam": (ScoreCAMExplainer(frozen), False),
    }


def time_method(explainer, segments, clf, photos, targets, segmenter, repeats, clock):
    """``(ours, floor, segmentation, n_inputs)`` seconds, summed over images."""
    module, device = clf.module_, clf.device_
    segment = raw_segmentation(segmenter) if segments else None
    explainer.fit(photos)
    ours_total = floor_total = seg_total = 0.0
    n_inputs = 0
    for image, target in zip(photos, targets, strict=True):
        one, label = image[np.newaxis], [target]
        _clear_segmentation_cache()
        with NetworkInputs(module) as recorded:
            explainer.explain(one, label)  # warm-up, and the floor's inputs
        n_inputs += sum(len(x) for x in recorded.batches)
        ours, floor, seg = [], [], []
        for rep in range(repeats):
            for turn in ("ours", "floor") if rep % 2 == 0 else ("floor", "ours"):
                if turn == "ours":
                    _clear_segmentation_cache()
                    _sync(device)
                    start = clock()
                    explainer.explain(one, label)
                    _sync(device)
                    ours.append(clock() - start)
                else:
                    seconds = 0.0
                    if segment is not None:
                        start = clock()
                        segment(image)
                        seconds = clock() - start
                    seg.append(seconds)
                    floor.append(
                        seconds + forward_floor(module, recorded.batches, device, clock)
                    )
        del recorded
        ours_total += statistics.median(ours)
        floor_total += statistics.median(floor)
        seg_total += statistics.median(seg)
    return ours_total, floor_total, seg_total, n_inputs


def bench_size(size, args):
    n_images = args.n_images or ((1 if args.quick else 3) if size >= 128 else 4)
    every = load_sample_photos(size=size).images
    photos = every[:n_images]
    clf = resnet_classifier(every)
    if args.device != "cpu":
        clf.set_params(device=args.device).fit(photos, np.arange(len(photos)) % 10)
    clf.module_.eval()
    targets = clf.predict(photos)
    segmenter = SuperpixelSegmenter(
        method=args.segmentation, n_segments=50, random_state=0
    )
    n_seg = [int(segmenter.fit_transform(p[np.newaxis]).max()) + 1 for p in photos]
    print(
        f"\n== {size}x{size}, {len(photos)} photos ({args.segmentation}: "
        f"{min(n_seg)}-{max(n_seg)} segments), {args.repeats} repeats, "
        f"device {clf.device_}, {args.clock} clock =="
    )
    print(
        f"{'method':<12} {'inputs/img':>10} {'ours s/img':>11} "
        f"{'floor s/img':>12} {'(segment.)':>11} {'ratio':>7}"
    )
    rows = []
    built = explainers(clf, segmenter, args.n_samples, args.n_masks)
    for name in args.methods:
        explainer, segments = built[name]
        ours, floor, seg, n_inputs = time_method(
            explainer,
            segments,
            clf,
            photos,
            targets,
            segmenter,
            args.repeats,
            CLOCKS[args.clock],
        )
        n = len(photos)
        print(
            f"{name:<12} {n_inputs / n:10.0f} {ours / n:11.4f} {floor / n:12.4f} "
            f"{seg / n:11.4f} {ours / floor:7.3f}",
            flush=True,
        )
        rows.append((size, name, ours / n, floor / n, ours / floor))
    return rows, clf, photos, segmenter


def bench_grid_search(clf, photos, segmenter, n_samples):
    """LIME over a grid of settings: segmentations made, and seconds.

    Twice: with the segmentation cache emptied before each setting (each
    image segmented once per setting, as before the cache) and with it.
    """
    grid = ParameterGrid(
        {"kernel_width": [0.1, 0.25, 0.5], "feature_selection": ["auto", "none"]}
    )
    explainer = LimeExplainer(
        FrozenEstimator(clf),
        segmentation=segmenter,
        n_samples=n_samples,
        hide_color=None,
        random_state=0,
    ).fit(photos)
    calls = []
    original = _superpixels._segment

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    print(f"\n== LIME grid search: {len(grid)} settings x {len(photos)} photos ==")
    _superpixels._segment = counting
    try:
        for cached in (False, True):
            calls.clear()
            _clear_segmentation_cache()
            start = time.perf_counter()
            for params in grid:
                if not cached:
                    _clear_segmentation_cache()
                clone(explainer).set_params(**params).fit(photos).explain(photos)
            seconds = time.perf_counter() - start
            print(
                f"segmentation cache {'on ' if cached else 'off'}: {len(calls)} "
                f"segmentations ({len(calls) / len(photos):.0f} per image), "
                f"{seconds:.2f} s"
            )
    finally:
        _superpixels._segment = original


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 224])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS)
    parser.add_argument("--n-images", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--n-samples", type=int, default=None)
    parser.add_argument("--n-masks", type=int, default=None)
    parser.add_argument(
        "--segmentation", default="quickshift", choices=["quickshift", "slic"]
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall time, or process CPU time (steadier on a loaded machine)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: steadier on a loaded machine)",
    )
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (2 if args.quick else 5)
    args.n_samples = args.n_samples or (200 if args.quick else 1000)
    args.n_masks = args.n_masks or (200 if args.quick else 1000)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, load average {load}, "
        f"{args.n_samples} samples, {args.n_masks} RISE masks"
    )
    rows, last = [], None
    for size in args.sizes:
        size_rows, *last = bench_size(size, args)
        rows += size_rows
    if last and "lime" in args.methods:
        clf, photos, segmenter = last
        bench_grid_search(clf, photos, segmenter, args.n_samples)
    if load is not None:
        print(f"\nload average at the end: {os.getloadavg()}")
    try:
        print(subprocess.run(["uptime"], capture_output=True, text=True).stdout)
    except OSError:
        pass
    return rows


if __name__ == "__main__":
    main()
