"""Kernel SHAP benchmark: our KernelShapExplainer against captum's KernelShap.

Called by ``bench_attribution.py``; ``python benchmarks/_bench_kernel_shap.py
[--quick] [--device cuda]`` runs it alone.

Same everything on both sides, measured in one run:

* the model: the benchmarks' SmallResNet in a CNNClassifier (one epoch on
  the photos, fixed seed: real initialised weights; speed is the point);
* the images: the bundled photos at 224x224 (2 with ``quick``, else 4);
* the players: the same SLIC superpixels (``n_segments=50``, seed 0) as
  captum's ``feature_mask``;
* the game: the softmax probability of the predicted class, hidden
  superpixels set to their mean colour (our ``hide_color=None``; captum gets
  that image as ``baselines``);
* the budget: 1000 model evaluations per image (captum's ``n_samples=1000``
  counts the full and the empty coalition, our ``n_samples=998`` does not);
* batching: ``perturbations_per_eval`` for captum equal to our
  ``batch_size`` (32).

The captum side is what a user would write: segment the image, build the
baseline, wrap the network in eval mode with a softmax, call
``KernelShap.attribute`` on one channels-first image; its time includes the
segmentation and the baseline, as ours does.

Reported per image: seconds of each (wall and CPU time of this process),
``speedup`` (captum / ours), the
agreement of the two sets of superpixel values (Pearson, Spearman, largest
difference over our largest value) and how far each misses the efficiency
property ``sum(phi) = f(x) - f(baseline)`` (ours holds it exactly; captum
approximates it with a large weight on the two end coalitions).
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

N_EVALUATIONS = 1000
BATCH_SIZE = 32
N_SEGMENTS = 50


def _sync(device):
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _captum_kernel_shap(clf, segmenter, image, target, seed):
    """Segment values from captum's KernelShap, as a user would call it."""
    import torch
    from captum.attr import KernelShap

    from sklearn_xai.attribution._perturbation import hide_image

    device = clf.device_
    module = clf.module_.eval()
    segments = segmenter.fit_transform(image[np.newaxis])[0]
    baseline = hide_image(image, segments, None)

    def to_tensor(array):
        tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        return tensor.permute(2, 0, 1)[np.newaxis].to(device)

    def forward(x):
        return torch.softmax(module(x), dim=1)

    torch.manual_seed(seed)
    with torch.no_grad():
        values = KernelShap(forward).attribute(
            to_tensor(image),
            baselines=to_tensor(baseline),
            target=int(target),
            feature_mask=torch.from_numpy(segments)[None, None].long().to(device),
            n_samples=N_EVALUATIONS,
            perturbations_per_eval=BATCH_SIZE,
            return_input_shape=False,
        )
    return values.detach().cpu().numpy().ravel().astype(np.float64)


def run(quick: bool, device: str = "cpu"):
    """Time our Kernel SHAP and captum's on the same photos, game and budget.

    Parameters
    ----------
    quick : bool
        Two photos instead of four.
    device : str, default="cpu"
        Where the network runs (``"cuda"`` on a GPU machine).

    Returns
    -------
    table : pandas.DataFrame
        One row per photo and a ``mean`` row: ``image``, ``n_segments``,
        ``evaluations``, ``ours_s``, ``captum_s``, ``speedup`` (captum /
        ours; the mean row divides total times), the same in CPU time of
        this process (``ours_cpu_s``, ``captum_cpu_s``, ``cpu_speedup``:
        steadier than wall time on a shared machine), ``pearson``,
        ``spearman``, ``max_rel_diff`` (largest difference of the superpixel
        values over our largest), ``ours_efficiency_gap`` and
        ``captum_efficiency_gap`` (``|sum(phi) - (f(x) - f(baseline))|``).
    """
    import pandas as pd
    import torch
    from _models import resnet_classifier
    from scipy.stats import pearsonr, spearmanr
    from sklearn.frozen import FrozenEstimator

    from sklearn_xai.attribution import KernelShapExplainer
    from sklearn_xai.datasets import load_sample_photos
    from sklearn_xai.preprocessing import SuperpixelSegmenter

    warnings.filterwarnings("ignore")
    photos = load_sample_photos(size=224).images[: 2 if quick else 4]
    clf = resnet_classifier(photos)
    if device != "cpu":
        clf.set_params(device=device).fit(photos, np.arange(len(photos)) % 10)
    targets = clf.predict(photos)
    target_index = np.searchsorted(clf.classes_, targets)
    segmenter = SuperpixelSegmenter(
        method="slic", n_segments=N_SEGMENTS, random_state=0
    )
    explainer = KernelShapExplainer(
        FrozenEstimator(clf),
        segmentation=segmenter,
        n_samples=N_EVALUATIONS - 2,
        batch_size=BATCH_SIZE,
        hide_color=None,  # the mean-colour baseline captum gets too
        random_state=0,
    ).fit(photos)
    # Warm-up of both paths (thread pools, allocator, kernels), not timed.
    explainer.set_params(n_samples=30).explain(photos[:1], target=targets[:1])
    explainer.set_params(n_samples=N_EVALUATIONS - 2)
    with torch.no_grad():
        clf.module_.eval()(torch.zeros(BATCH_SIZE, 3, 224, 224, device=clf.device_))

    rows = []
    for i, image in enumerate(photos):
        _sync(clf.device_)
        start, cpu = time.perf_counter(), time.process_time()
        _, details = explainer.explain(
            image[np.newaxis], target=targets[i : i + 1], return_details=True
        )
        _sync(clf.device_)
        ours_s = time.perf_counter() - start
        ours_cpu_s = time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        theirs = _captum_kernel_shap(clf, segmenter, image, target_index[i], seed=i)
        _sync(clf.device_)
        captum_s = time.perf_counter() - start
        captum_cpu_s = time.process_time() - cpu
        mine = details.segment_values[0]
        gain = details.full_value[0] - details.base_value[0]
        rows.append(
            {
                "image": i,
                "n_segments": len(mine),
                "evaluations": int(details.n_evaluations[0]),
                "ours_s": ours_s,
                "captum_s": captum_s,
                "speedup": captum_s / ours_s,
                "ours_cpu_s": ours_cpu_s,
                "captum_cpu_s": captum_cpu_s,
                "cpu_speedup": captum_cpu_s / ours_cpu_s,
                "pearson": pearsonr(mine, theirs)[0],
                "spearman": spearmanr(mine, theirs)[0],
                "max_rel_diff": np.abs(mine - theirs).max() / np.abs(mine).max(),
                "ours_efficiency_gap": abs(mine.sum() - gain),
                "captum_efficiency_gap": abs(theirs.sum() - gain),
            }
        )
    table = pd.DataFrame(rows)
    mean = table.drop(columns="image").mean().to_dict()
    mean["speedup"] = table["captum_s"].sum() / table["ours_s"].sum()
    mean["cpu_speedup"] = table["captum_cpu_s"].sum() / table["ours_cpu_s"].sum()
    table = pd.concat([table, pd.DataFrame([{"image": "mean", **mean}])])
    return table.reset_index(drop=True)


if __name__ == "__main__":
    import argparse

    import pandas as pd
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two photos")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{N_EVALUATIONS} evaluations per 224x224 image, SLIC ~{N_SEGMENTS} "
        f"segments, batch {BATCH_SIZE}, device {args.device}"
    )
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(
            run(args.quick, args.device).to_string(
                index=False, float_format="{:.3g}".format
            )
        )
