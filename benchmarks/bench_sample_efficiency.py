"""Sample efficiency of LIME and Kernel SHAP: quality per model evaluation.

Not a timing benchmark: every number is an explanation's quality at a given
number of model evaluations per image, which machine load does not change.

Set-up, the same for every method compared:

* images: square crops of the 8 photos bundled with scikit-learn and
  scikit-image (:func:`sklearn_xai.datasets.load_sample_photos`: china,
  flower, astronaut, chelsea, coffee, rocket, immunohistochemistry,
  hubble_deep_field; nothing downloaded): 20 at 64x64 (of 3 windows per
  photo) and 8 at 224x224 (the central square of each photo);
* model: the benchmarks' SmallResNet in a CNNClassifier, trained for a few
  epochs to tell which photo a random crop (35-100% of the shorter side,
  random flips) comes from, 8 classes; it becomes confident on the explained
  crops (the accuracy on other random crops and the mean probability of the
  explained class are printed). The explained class is the predicted one;
* LIME: SLIC superpixels (``n_segments=50``), hidden superpixels black
  (``--fill black``, ``hide_color=0``, our default) or their mean colour
  (``--fill mean``, ``hide_color=None``, lime's default), lime's kernel
  (width 0.25) and regression. The lime package gets our segmentation as
  its ``segmentation_fn`` and the same fill. The run prints the linear
  share of the model's response (the weighted R^2 of the reference's
  surrogate): paired, balanced designs remove the sampling error of the
  linear part and of even-order interactions, so the lower that share, the
  less they gain over lime's draws (black fill drives a confident network's
  probability across its whole range: 0.53 on average, against 0.88 with
  the mean fill).

LIME, for ours at 125, 250, 500 and 1000 samples (the default ``sampling``
and lime's draws; ``--every-sampling`` for every one LimeExplainer offers,
read from its ``_parameter_constraints``; at 224x224 the default only), the
default without its control variate at 250, ours with
``n_samples="auto"`` where it exists (with the default ``sampling``;
``--auto-every-sampling`` for all), and
``lime.lime_image.LimeImageExplainer`` at 1000:

* stability: the mean pairwise Jaccard index of the top-5 segments (largest
  signed weights) over 10 seeds (each seed a different ``random_state``);
* accuracy: Spearman correlation and top-5 Jaccard against a 16,000-sample
  reference of lime's estimand (ours with ``sampling="lime"``, which draws
  and regresses as lime does, one other seed).

Goal lines (PASS/FAIL with the numbers): at 250 samples ours is at least as
stable as lime at 1000 and at least as close to the reference (Spearman and
top-5 Jaccard); ``n_samples="auto"`` does as well with at most 400 model
evaluations per image on average.

Kernel SHAP, on games of at most 12 players (SLIC with as many segments as
fit in 12, :func:`_sample_efficiency.segment_small`), same black fill, on
the 8 64x64 images with the most superpixels (11-12), 5 seeds. The exact
Shapley values come from our explainer with ``n_samples >= 2**12`` (exact)
and are checked against a brute-force enumeration of all coalitions here.
Then the relative L2 error of each estimator at 64 to 1024 model
evaluations per image: ours (each ``sampling``, with and without
``control_variate`` where it exists, and ``n_samples="auto"``), captum's
``KernelShap`` (the same segments as ``feature_mask``, the black image as
``baselines``) and, when the ``shap`` package is installed (not a dependency
of the project: ``pip install shap``), ``shap.KernelExplainer`` on the
binary keep/hide vectors (background all hidden, ``l1_reg=False``).

Run ``python benchmarks/bench_sample_efficiency.py --fill black`` and
``--fill mean --kernel-shap-size 0`` (about 40 minutes of CPU each, on one
thread; two processes use two cores) or with ``--quick`` (a smoke run of
about a minute of CPU: 64x64 only, 4 images, 2 seeds, 250 samples, a
1,000-sample reference).
``--csv-dir DIR`` also writes the tables as CSV.
torch runs on one thread unless ``--threads`` says otherwise: on a shared
machine more threads mostly wait for each other, and no number here
depends on it.
"""

from __future__ import annotations

import _environment  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before torch loads)

# isort: split

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _sample_efficiency as se

from sklearn_xai.attribution import KernelShapExplainer, LimeExplainer

LIME_SAMPLES = (125, 250, 500, 1000)
REFERENCE_SEED = 10_000
GOAL_SAMPLES = 250
AUTO_BUDGET = 400
SHAP_TARGET_ERROR = 0.1

#: Per image size: crops per photo, seeds, reference samples, training.
FULL = {
    64: {
        "per_photo": 3,
        "n_images": 20,
        "seeds": 10,
        "reference": 16_000,
        "samples": LIME_SAMPLES,
        "train": (1600, 10),
    },
    224: {
        "per_photo": 1,
        "n_images": 8,
        "seeds": 10,
        "reference": 16_000,
        "samples": LIME_SAMPLES,
        "train": (400, 8),
        # At 224x224 only the default design (lime's draws give the
        # reference): the designs' ranking is the 64x64 table's.
        "default_sampling_only": True,
    },
}
QUICK = {
    64: {
        "per_photo": 1,
        "n_images": 4,
        "seeds": 2,
        "reference": 1_000,
        "samples": (GOAL_SAMPLES,),
        "train": (600, 5),
    },
    224: {
        "per_photo": 1,
        "n_images": 1,
        "seeds": 2,
        "reference": 1_000,
        "samples": (GOAL_SAMPLES,),
        "train": (160, 4),
    },
}
#: Kernel SHAP: images (those with the most superpixels), seeds, budgets.
SHAP_FULL = {"n_images": 8, "seeds": 5, "budgets": (64, 128, 256, 512, 1024)}
SHAP_QUICK = {"n_images": 3, "seeds": 2, "budgets": (64, 256)}


def _fmt(value, spec):
    return "-" if value is None or value != value else format(value, spec)


LIME_COLUMNS = [
    "method",
    "n_samples",
    "stability",
    "spearman_ref",
    "jaccard_ref",
    "evals_per_image",
]
LIME_FORMATS = {
    "method": str,
    "n_samples": str,
    "stability": lambda v: _fmt(v, ".3f"),
    "spearman_ref": lambda v: _fmt(v, ".3f"),
    "jaccard_ref": lambda v: _fmt(v, ".3f"),
    "evals_per_image": lambda v: _fmt(v, ".0f"),
}
SHAP_COLUMNS = ["method", "budget", "evals_per_image", "rel_l2_error", "rmse"]
SHAP_FORMATS = {
    "method": str,
    "budget": str,
    "evals_per_image": lambda v: _fmt(v, ".0f"),
    "rel_l2_error": lambda v: _fmt(v, ".4f"),
    "rmse": lambda v: _fmt(v, ".2e"),
}


def features(auto_every_sampling=False):
    """What the explainers offer in this checkout, read at run time.

    ``n_samples="auto"`` runs with LimeExplainer's default ``sampling`` (what
    a user gets), or with every one when ``auto_every_sampling``.
    """
    lime_sampling = se.str_options(LimeExplainer, "sampling")
    default = se.param_default(LimeExplainer, "sampling")
    shap_sampling = se.str_options(KernelShapExplainer, "sampling") or [None]
    found = {
        "lime_sampling": (
            sorted(lime_sampling, key=lambda s: (s != "lime", s))
            if lime_sampling
            else [None]
        ),
        "lime_auto": "auto" in (se.str_options(LimeExplainer, "n_samples") or []),
        "lime_auto_sampling": (
            [default]
            if lime_sampling and default in lime_sampling and not auto_every_sampling
            else sorted(lime_sampling, key=lambda s: (s != "lime", s))
            if lime_sampling
            else [None]
        ),
        "lime_max_samples": se.has_param(LimeExplainer, "max_samples"),
        "lime_control_variate": se.has_param(LimeExplainer, "control_variate"),
        "shap_sampling": shap_sampling,
        "shap_auto": "auto" in (se.str_options(KernelShapExplainer, "n_samples") or []),
        "control_variate": se.has_param(KernelShapExplainer, "control_variate"),
    }
    print("features found in this checkout:")
    print(
        "  LimeExplainer sampling: "
        + (
            ", ".join(found["lime_sampling"])
            if lime_sampling
            else "no `sampling` parameter yet (lime's draws only)"
        )
    )
    print(
        f"  LimeExplainer n_samples='auto': {'yes' if found['lime_auto'] else 'no'}"
        f"; max_samples: {'yes' if found['lime_max_samples'] else 'no'}"
        + (
            f" (default sampling {default!r}; 'auto' runs with "
            f"{', '.join(map(str, found['lime_auto_sampling']))})"
            if found["lime_auto"] and lime_sampling
            else ""
        )
    )
    print(f"  KernelShapExplainer sampling: {', '.join(map(str, shap_sampling))}")
    print(
        "  KernelShapExplainer n_samples='auto': "
        f"{'yes' if found['shap_auto'] else 'no'}; control_variate: "
        f"{'yes' if found['control_variate'] else 'no'}"
    )
    return found


def _label(sampling):
    return "ours" if sampling is None else f"ours sampling={sampling}"


def _attempt(what, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or None with a printed note when it raises.

    Options still being written may fail; the rest of the run goes on.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # reported, not hidden
        print(f"  NOTE: {what} failed, skipped: {type(exc).__name__}: {exc}")
        return None


def lime_row(method, n_samples, seeds, reference, run):
    """One table row: ``run(seed)`` gives (weights per image, evals per image)."""
    per_seed, evals = [], []
    for seed in seeds:
        out = _attempt(f"{method} n_samples={n_samples} seed {seed}", run, seed)
        if out is None:
            return None
        per_seed.append(out[0])
        evals.append(out[1])
    return {
        "method": method,
        "n_samples": str(n_samples),
        **se.lime_quality(per_seed, reference),
        "evals_per_image": float(np.mean(evals)),
    }


def bench_lime(size, settings, found, device, fill="black", every_sampling=False):
    images, _ = se.photo_crops(size, settings["per_photo"])
    # Spread over the photos when only some images are kept.
    keep = np.linspace(0, len(images) - 1, settings["n_images"])
    images = images[np.unique(keep.round().astype(int))]
    start = time.perf_counter()
    clf, accuracy = se.train_photo_classifier(size, *settings["train"], device=device)
    proba = clf.predict_proba(images)
    targets = clf.classes_[proba.argmax(axis=1)]
    seeds = list(range(settings["seeds"]))
    print(
        f"\n== LIME, {size}x{size}, {fill} fill: {len(images)} images, "
        f"{len(seeds)} seeds, reference {settings['reference']} samples ==\n"
        f"model: SmallResNet trained {time.perf_counter() - start:.0f} s on "
        f"{settings['train'][0]} random crops ({settings['train'][1]} epochs), "
        f"accuracy on 400 other crops {accuracy:.2f}; mean probability of the "
        f"explained class {proba.max(axis=1).mean():.2f}"
    )
    # The reference: lime's estimand (lime's draws and regression).
    sampling_kw = {"sampling": "lime"} if found["lime_sampling"] != [None] else {}
    ref_weights, ref_evals, segments, ref_r2 = se.ours_lime(
        clf,
        images,
        targets,
        REFERENCE_SEED,
        fill,
        n_samples=settings["reference"],
        **sampling_kw,
    )
    counts = [int(s.max()) + 1 for s in segments]
    print(
        f"SLIC n_segments=50: {min(counts)}-{max(counts)} segments per image; "
        f"reference: {ref_evals.mean():.0f} evaluations per image; linear share "
        f"of the model's response (the reference surrogate's weighted R^2): "
        f"mean {ref_r2.mean():.2f}, {ref_r2.min():.2f}-{ref_r2.max():.2f} (the "
        "lower, the less the paired, balanced designs gain over lime's draws)"
    )
    rows = []
    samplings = found["lime_sampling"]
    if not every_sampling and found["lime_auto_sampling"]:
        # The default design and lime's own draws (the others with
        # --every-sampling); at 224x224 the default only.
        keep = set(found["lime_auto_sampling"])
        if not settings.get("default_sampling_only"):
            keep.add("lime")
        samplings = [s for s in samplings if s in keep]
    for sampling in samplings:
        kw = {} if sampling is None else {"sampling": sampling}
        for n in settings["samples"]:
            row = lime_row(
                _label(sampling),
                n,
                seeds,
                ref_weights,
                lambda seed, n=n, kw=kw: se.ours_lime(
                    clf, images, targets, seed, fill, n_samples=n, **kw
                )[:2],
            )
            if row is not None:
                rows.append(row)
        if found["lime_auto"] and sampling in found["lime_auto_sampling"]:
            row = lime_row(
                _label(sampling),
                "auto",
                seeds,
                ref_weights,
                lambda seed, kw=kw: se.ours_lime(
                    clf, images, targets, seed, fill, n_samples="auto", **kw
                )[:2],
            )
            if row is not None:
                rows.append(row)
    if found["lime_control_variate"]:
        # The default design without its control variate, at the goal's count.
        default = found["lime_auto_sampling"][0]
        row = lime_row(
            f"{_label(default)} control_variate=False",
            GOAL_SAMPLES,
            seeds,
            ref_weights,
            lambda seed: se.ours_lime(
                clf,
                images,
                targets,
                seed,
                fill,
                n_samples=GOAL_SAMPLES,
                sampling=default,
                control_variate=False,
            )[:2],
        )
        if row is not None:
            rows.append(row)
    row = lime_row(
        "lime package",
        1000,
        seeds,
        ref_weights,
        lambda seed: se.lime_package(clf, images, targets, segments, seed, fill=fill),
    )
    if row is not None:
        rows.append(row)
    print()
    se.print_table(rows, LIME_COLUMNS, LIME_FORMATS)
    print(
        f"(stability: mean pairwise top-{se.TOP_K} Jaccard over {len(seeds)} "
        f"seeds; *_ref: against the {settings['reference']}-sample reference)"
    )
    lime_goals(f"{size}, {fill} fill", rows, found)
    print(f"LIME {size}x{size}: {time.perf_counter() - start:.0f} s")
    return rows, clf, images, targets


def _verdict(ok):
    return "PASS" if ok else "FAIL"


def lime_goals(size, rows, found):
    lime = next((r for r in rows if r["method"] == "lime package"), None)
    if lime is None:
        print(f"GOAL [{size}]: no lime package result to compare with (failed)")
        return
    for sampling in found["lime_sampling"]:
        label = _label(sampling)
        if not any(r["method"] == label for r in rows):
            continue  # not run at this size
        ours = next(
            (
                r
                for r in rows
                if r["method"] == label and r["n_samples"] == str(GOAL_SAMPLES)
            ),
            None,
        )
        if ours is None:
            print(f"GOAL [{size}] {label} at {GOAL_SAMPLES}: no result (failed)")
            continue
        ok = all(ours[k] >= lime[k] for k in ("stability", "spearman_ref"))
        ok = ok and ours["jaccard_ref"] >= lime["jaccard_ref"]
        print(
            f"GOAL [{size}] {label} at {GOAL_SAMPLES} vs lime at 1000: stability "
            f"{ours['stability']:.3f} vs {lime['stability']:.3f}, Spearman vs "
            f"reference {ours['spearman_ref']:.3f} vs {lime['spearman_ref']:.3f}, "
            f"top-5 Jaccard vs reference {ours['jaccard_ref']:.3f} vs "
            f"{lime['jaccard_ref']:.3f}: {_verdict(ok)}"
        )
    if not found["lime_auto"]:
        print(
            f"GOAL [{size}] n_samples='auto' <= {AUTO_BUDGET} evaluations: "
            "SKIPPED (LimeExplainer has no n_samples='auto' in this checkout)"
        )
        return
    for sampling in found["lime_auto_sampling"]:
        label = _label(sampling)
        auto = next(
            (r for r in rows if r["method"] == label and r["n_samples"] == "auto"),
            None,
        )
        if auto is None:
            print(f"GOAL [{size}] {label} n_samples='auto': no result (failed)")
            continue
        ok = all(
            auto[k] >= lime[k] for k in ("stability", "spearman_ref", "jaccard_ref")
        )
        ok = ok and auto["evals_per_image"] <= AUTO_BUDGET
        print(
            f"GOAL [{size}] {label} n_samples='auto' vs lime at 1000: stability "
            f"{auto['stability']:.3f} vs {lime['stability']:.3f}, Spearman "
            f"{auto['spearman_ref']:.3f} vs {lime['spearman_ref']:.3f}, top-5 "
            f"Jaccard {auto['jaccard_ref']:.3f} vs {lime['jaccard_ref']:.3f}, "
            f"mean evaluations {auto['evals_per_image']:.0f} <= {AUTO_BUDGET}: "
            f"{_verdict(ok)}"
        )


def shap_variants(found):
    """(label, KernelShapExplainer keyword arguments) of each of ours."""
    variants = []
    for sampling in found["shap_sampling"]:
        kw = {} if sampling is None else {"sampling": sampling}
        if not found["control_variate"]:
            variants.append((_label(sampling), kw))
            continue
        for control in (False, True):
            variants.append(
                (
                    f"{_label(sampling)} control_variate={control}",
                    {**kw, "control_variate": control},
                )
            )
    return variants


def bench_kernel_shap(size, clf, images, targets, n_seeds, budgets, found):
    start = time.perf_counter()
    target_index = np.searchsorted(clf.classes_, targets)
    exact, evals, details = se.ours_kernel_shap(
        clf, images, targets, 0, n_samples=2**se.MAX_PLAYERS
    )
    segments = details.segments
    truth = [
        se.brute_force_shapley(clf, image, segments[i], target_index[i])
        for i, image in enumerate(images)
    ]
    gap = max(np.abs(a - b).max() for a, b in zip(exact, truth, strict=True))
    players = [len(t) for t in truth]
    print(
        f"\n== Kernel SHAP, {size}x{size}: {len(images)} images, "
        f"{min(players)}-{max(players)} superpixels (all coalitions: "
        f"{2 ** min(players)}-{2 ** max(players)} evaluations), {n_seeds} seeds "
        f"==\nexact Shapley values: ours with n_samples={2**se.MAX_PLAYERS} "
        f"(exact={bool(np.all(details.exact))}, {evals.mean():.0f} evaluations "
        f"per image) against brute-force enumeration: max |difference| "
        f"{gap:.1e} ({'OK' if gap < 1e-5 else 'MISMATCH'})"
    )
    seeds = range(n_seeds)
    rows = []
    for label, kw in shap_variants(found):
        plans = [(b, b - 2) for b in budgets]
        if found["shap_auto"]:
            plans.append(("auto", "auto"))
        for budget, n_samples in plans:
            results = []
            for seed in seeds:
                out = _attempt(
                    f"{label} n_samples={n_samples}",
                    se.ours_kernel_shap,
                    clf,
                    images,
                    targets,
                    seed,
                    n_samples=n_samples,
                    **kw,
                )
                if out is None:
                    break
                results.append(out)
            if len(results) < n_seeds:
                continue
            estimates = [v for values, _, _ in results for v in values]
            rel, rmse = se.shap_errors(estimates, truth * n_seeds)
            rows.append(
                {
                    "method": label,
                    "budget": str(budget),
                    "evals_per_image": float(np.mean([e for _, e, _ in results])),
                    "rel_l2_error": rel,
                    "rmse": rmse,
                }
            )
    others = [("captum KernelShap", se.captum_kernel_shap)]
    try:
        import shap  # noqa: F401

        others.append(("shap KernelExplainer", se.shap_kernel_explainer))
    except ImportError:
        print(
            "NOTE: the shap package is not installed (`pip install shap`; not a "
            "dependency of the project): its KernelExplainer is skipped"
        )
    for label, method in others:
        for budget in budgets:
            estimates, counts = [], []
            for seed in seeds:
                for i, image in enumerate(images):
                    out = _attempt(
                        f"{label} budget {budget}",
                        method,
                        clf,
                        image,
                        segments[i],
                        target_index[i],
                        budget,
                        seed,
                    )
                    if out is None:
                        break
                    estimates.append(out[0])
                    counts.append(out[1])
            if len(estimates) < n_seeds * len(images):
                continue
            rel, rmse = se.shap_errors(estimates, truth * n_seeds)
            rows.append(
                {
                    "method": label,
                    "budget": str(budget),
                    "evals_per_image": float(np.mean(counts)),
                    "rel_l2_error": rel,
                    "rmse": rmse,
                }
            )
    print()
    se.print_table(rows, SHAP_COLUMNS, SHAP_FORMATS)
    print(
        "(rel_l2_error: ||phi - phi_exact|| / ||phi_exact||, rmse: over "
        "superpixels; means over images and seeds; budget: model evaluations "
        "asked for, evals_per_image: made)"
    )
    if found["control_variate"]:
        print(
            "(control_variate=True also takes one forward and backward pass "
            "per image for its gradient, not counted in evals_per_image)"
        )
    for method in dict.fromkeys(r["method"] for r in rows):
        reached = [
            r["evals_per_image"]
            for r in rows
            if r["method"] == method
            and r["budget"] != "auto"
            and r["rel_l2_error"] <= SHAP_TARGET_ERROR
        ]
        print(
            f"{method}: relative error <= {SHAP_TARGET_ERROR} from "
            + (f"{min(reached):.0f} evaluations" if reached else "none of the budgets")
        )
    print(f"Kernel SHAP {size}x{size}: {time.perf_counter() - start:.0f} s")
    return rows


def _write_csv(directory, name, rows):
    if directory is None or not rows:
        return
    import pandas as pd

    os.makedirs(directory, exist_ok=True)
    pd.DataFrame(rows).to_csv(os.path.join(directory, name), index=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: fewer images and seeds, a smaller reference",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=None,
        help="image sizes of the LIME tables (default 64 224; 64 with --quick)",
    )
    parser.add_argument(
        "--kernel-shap-size",
        type=int,
        default=64,
        help="the image size of the Kernel SHAP comparison (one of --sizes; "
        "0 skips it)",
    )
    parser.add_argument("--csv-dir", default=None, help="also write the tables here")
    parser.add_argument(
        "--every-sampling",
        action="store_true",
        help="LIME tables for every sampling at 64x64 (default: the default "
        "design and lime's draws; about twice the time)",
    )
    parser.add_argument(
        "--fill",
        choices=sorted(se.FILLS),
        default="black",
        help="what hidden superpixels become in the LIME tables: black (our "
        "default, hide_color=0) or each superpixel's mean colour (lime's "
        "default, hide_color=None); the Kernel SHAP games are always black",
    )
    parser.add_argument(
        "--auto-every-sampling",
        action="store_true",
        help="run LIME's n_samples='auto' with every sampling, not only the "
        "default one (about 1 s of CPU per 64x64 image and seed each)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: on a shared machine more threads "
        "mostly wait for each other; the numbers do not depend on it)",
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress shows in a log file
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    total = time.perf_counter()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device "
        f"{args.device}{', quick run' if args.quick else ''}"
    )
    found = features(args.auto_every_sampling)
    table = QUICK if args.quick else FULL
    for size in args.sizes or ([64] if args.quick else [64, 224]):
        settings = table.get(size, table[224 if size >= 128 else 64])
        rows, clf, images, targets = bench_lime(
            size, settings, found, args.device, args.fill, args.every_sampling
        )
        _write_csv(args.csv_dir, f"lime_{size}_{args.fill}.csv", rows)
        if size == args.kernel_shap_size:
            plan = SHAP_QUICK if args.quick else SHAP_FULL
            # The images with the most players (stable sort: photo order).
            players = [int(se.segment_small(image).max()) + 1 for image in images]
            order = np.argsort(-np.array(players), kind="stable")
            keep = np.sort(order[: plan["n_images"]])
            shap_rows = bench_kernel_shap(
                size,
                clf,
                images[keep],
                targets[keep],
                n_seeds=plan["seeds"],
                budgets=plan["budgets"],
                found=found,
            )
            _write_csv(args.csv_dir, f"kernel_shap_{size}.csv", shap_rows)
    print(f"\ntotal: {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
