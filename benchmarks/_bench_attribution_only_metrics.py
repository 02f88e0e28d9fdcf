"""Complexity and localization metrics against Quantus 0.6, same inputs.

Called by ``bench_metrics.py``; ``python benchmarks/_bench_attribution_only_metrics.py
[--quick]`` runs it alone.

These metrics need no model, so the inputs are synthetic and identical for
both sides: float32 attribution maps ``(n, size, size)`` (a few Gaussian
bumps plus noise, as a smooth explainer produces) and boolean masks (one
ellipse per image, the bump on it for half the images). Quantus gets the same
maps with ``model=None``, dummy ``x_batch``/``y_batch`` and the masks as
``s_batch``, and the settings under which it computes the same quantity as
our call (per-map normalization where it would otherwise divide the whole
batch by one maximum; ``sign="signed"`` for relevance mass, Quantus's
``abs=False``). Quantus computes in the float32 of the maps it gets, hence
differences near 1e-6 for sparseness and complexity (the tests, in float64,
agree to 1e-6). Each repeat runs ours then Quantus's, interleaved so that
load from other processes hits both alike; the medians are reported. Both
sides are single-threaded numpy, so the BLAS/OpenMP pools are held to one
thread while timing: on a small machine, pool threads still spinning after a
Quantus call would otherwise steal the core of the next measurement. The goal
is at most 1 ms per image at 224x224 for every function here.
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np


def make_inputs(n_images=16, size=224, seed=0):
    """Float32 attribution maps and boolean masks ``(n_images, size, size)``."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / size
    attributions = np.empty((n_images, size, size), dtype=np.float32)
    masks = np.empty((n_images, size, size), dtype=bool)
    for i in range(n_images):
        center = rng.uniform(0.25, 0.75, size=2)
        radii = rng.uniform(0.1, 0.25, size=2)
        masks[i] = ((rows - center[0]) / radii[0]) ** 2 + (
            (cols - center[1]) / radii[1]
        ) ** 2 <= 1
        bumps = rng.uniform(0.1, 0.9, size=(3, 2))
        if i % 2 == 0:
            bumps[0] = center  # half the maps point at the object
        width = rng.uniform(0.03, 0.1)
        heat = sum(
            np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * width**2))
            for r, c in bumps
        )
        attributions[i] = heat + 0.05 * rng.normal(size=(size, size))
    return attributions, masks


def _cases(n_pixels):
    """(name, our function, our kwargs, Quantus class name, Quantus kwargs)."""
    per_map = {"normalise_func_kwargs": {"normalise_axes": (1, 2, 3)}}
    k = min(1000, n_pixels - 1)
    return [
        ("sparseness", "sparseness", {}, "Sparseness", per_map),
        ("complexity", "complexity", {}, "Complexity", {}),
        (
            "effective_complexity",
            "effective_complexity",
            {},
            "EffectiveComplexity",
            per_map,
        ),
        ("pointing_game", "pointing_game", {}, "PointingGame", {}),
        (
            "relevance_mass_accuracy (signed)",
            "relevance_mass_accuracy",
            {"sign": "signed"},
            "RelevanceMassAccuracy",
            {},
        ),
        (
            "relevance_rank_accuracy",
            "relevance_rank_accuracy",
            {},
            "RelevanceRankAccuracy",
            {},
        ),
        (
            f"top_k_intersection (k={k})",
            "top_k_intersection",
            {"k": k},
            "TopKIntersection",
            {"k": k},
        ),
        ("attribution_localization_auc", "attribution_localization_auc", {}, "AUC", {}),
    ]


def run(n_images=16, size=224, repeats=3):
    """Time our complexity/localization metrics and Quantus's on the same maps.

    Returns
    -------
    rows : list of dict
        ``name``, ``ours_s`` and ``quantus_s`` (median seconds per call on the
        whole batch), ``ratio`` (Quantus's time / ours), ``max_abs_diff``
        (between the two score arrays), ``ms_per_image`` (ours),
        ``our_value_mean`` and ``quantus_value_mean``.
    """
    import quantus
    from threadpoolctl import threadpool_limits

    from sklearn_xai import metrics

    attributions, masks = make_inputs(n_images, size)
    x_batch = np.zeros((n_images, 1, size, size), dtype=np.float32)
    y_batch = np.zeros(n_images, dtype=int)
    s_batch = masks[:, np.newaxis]
    rows = []
    for name, ours_name, kwargs, quantus_name, quantus_kwargs in _cases(size * size):
        ours_fn = getattr(metrics, ours_name)
        localization = ours_name not in (
            "sparseness",
            "complexity",
            "effective_complexity",
        )
        args = (attributions, masks) if localization else (attributions,)
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore")
            metric = getattr(quantus, quantus_name)(
                disable_warnings=True, **quantus_kwargs
            )
            ours_times, quantus_times = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                ours = ours_fn(*args, **kwargs)
                ours_times.append(time.perf_counter() - start)
                a_batch = attributions.copy()  # Quantus gets its own copy
                start = time.perf_counter()
                theirs = metric(
                    model=None,
                    x_batch=x_batch,
                    y_batch=y_batch,
                    a_batch=a_batch,
                    s_batch=s_batch if localization else None,
                )
                quantus_times.append(time.perf_counter() - start)
        theirs = np.asarray(theirs, dtype=np.float64)
        ours_s = statistics.median(ours_times)
        quantus_s = statistics.median(quantus_times)
        rows.append(
            {
                "name": name,
                "ours_s": ours_s,
                "quantus_s": quantus_s,
                "ratio": quantus_s / ours_s,
                "max_abs_diff": float(np.max(np.abs(ours - theirs))),
                "ms_per_image": 1e3 * ours_s / n_images,
                "our_value_mean": float(np.mean(ours)),
                "quantus_value_mean": float(np.mean(theirs)),
            }
        )
    return rows


if __name__ == "__main__":
    import argparse

    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 images 64x64")
    cli = parser.parse_args()
    n_images, size = (4, 64) if cli.quick else (16, 224)
    print(pd.DataFrame(run(n_images=n_images, size=size)).to_string(index=False))
