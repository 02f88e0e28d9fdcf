"""The job behind ``sklearn-xai explain``: a saved model on the user's images.

Images are read lazily, by path, inside the workers, ``shard_size`` at a
time; each shard's attributions and per-image scores are written to
``OUT/shards/`` as soon as they are made, and only small summaries come back
to the driver, so memory stays flat however many images there are. Shards run
in parallel with joblib (``n_jobs``), or on a dask cluster under
``joblib.parallel_config(backend="dask")`` when a scheduler address is given
(the workers must see the model file and the output folder).
"""

from __future__ import annotations

import csv
import os
import time
from collections import defaultdict

import numpy as np

from .methods import METHODS, check_methods

#: File name extensions read from folders (files named explicitly are always
#: tried, whatever their name).
IMAGE_EXTENSIONS = frozenset(
    (
        ".bmp .dib .jpeg .jpg .jpe .jp2 .png .webp .pbm .pgm .ppm .pxm .pnm .tiff .tif"
    ).split()
)

_MODELS = {}  # per-process cache: (path, mtime) -> loaded model


def collect_image_paths(paths):
    """Expand files and folders (recursively) into a sorted list of files.

    Returns
    -------
    files : list of str
        Files named explicitly, then image files found in folders.
    missing : list of (str, str)
        Paths that do not exist, with the reason.
    """
    files, missing = [], []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            found = []
            for root, dirs, names in os.walk(path):
                dirs.sort()
                found.extend(
                    os.path.join(root, name)
                    for name in sorted(names)
                    if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
                )
            if not found:
                missing.append((path, "folder holds no image files"))
            files.extend(found)
        elif os.path.isfile(path):
            files.append(path)
        else:
            missing.append((path, "no such file or folder"))
    return list(dict.fromkeys(files)), missing


def _load(model_path):
    from ..neural_network import load_model

    key = (os.path.abspath(model_path), os.path.getmtime(model_path))
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = load_model(model_path)
    return _MODELS[key]


def read_image(path, image_shape):
    """Read one file as float32 ``(H, W, C)`` in [0, 1] fit for the model.

    Returns None when the file cannot be decoded. Colour files are converted
    to gray for a one-channel model and gray files to RGB for a three-channel
    one; the image is resized to the model's input size.
    """
    import cv2

    from ..preprocessing._image_ops import resize_image
    from ..preprocessing._reader import _read_one, _to_dtype

    height, width, channels = image_shape
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    raw = _read_one(path, flag)
    if raw is None:
        return None
    image = _to_dtype(raw, "float32")
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.shape[-1] != channels:
        image = np.repeat(image[..., :1], channels, axis=-1)
    return resize_image(image, (height, width)).astype(np.float32)


def explain_shard(
    index, paths, model_path, methods, out, *, quick, random_state, n_gallery
):
    """Explain and score one shard of image files; write its results.

    Returns a small summary: counts, skipped files, per-method sums of the
    scores and curves, seconds, and (for shard 0) the gallery images.
    """
    from sklearn.frozen import FrozenEstimator
    from sklearn.utils import Bunch

    from .explaining import explain_methods
    from .scoring import FAST_FAMILIES, score_explanations

    clf = _load(model_path)
    shape = tuple(clf.image_shape_)
    images, names, skipped = [], [], []
    for path in paths:
        image = read_image(path, shape)
        if image is None:
            skipped.append((path, "not a readable image"))
        else:
            images.append(image)
            names.append(path)
    summary = Bunch(
        index=index,
        n_images=len(images),
        skipped=skipped,
        sums=defaultdict(dict),
        counts=defaultdict(dict),
        curves=defaultdict(dict),
        seconds=defaultdict(float),
        gallery=None,
    )
    if not images:
        return summary
    X = np.stack(images)
    proba = clf.predict_proba(X)
    predicted = clf.classes_[proba.argmax(axis=1)]
    explainers, attributions, seconds = explain_methods(
        FrozenEstimator(clf), X, X, methods, quick=quick,
        random_state=random_state, progress=False,
    )  # fmt: skip
    shard_dir = os.path.join(out, "shards")
    os.makedirs(shard_dir, exist_ok=True)
    np.savez_compressed(
        os.path.join(shard_dir, f"attributions-{index:05d}.npz"),
        paths=np.asarray(names),
        predicted=predicted,
        probability=proba.max(axis=1),
        **{name: attributions[METHODS[name][0]] for name in methods},
    )
    rows = []
    for label, explainer in explainers.items():
        scores, curves, _ = score_explanations(
            explainer, X, attributions[label], families=FAST_FAMILIES,
            quick=quick, random_state=random_state,
        )  # fmt: skip
        summary.seconds[label] += seconds[label]
        for column, values in scores.items():
            summary.sums[label][column] = float(np.nansum(values))
            summary.counts[label][column] = int(np.isfinite(values).sum())
        for kind, curve in curves.items():
            summary.curves[kind][label] = (curve.fractions, curve.scores.sum(axis=0))
        for i, name in enumerate(names):
            rows.append(
                {
                    "file": name,
                    "method": label,
                    "predicted": predicted[i],
                    "probability": float(proba[i].max()),
                    **{column: float(values[i]) for column, values in scores.items()},
                }
            )
    with open(
        os.path.join(shard_dir, f"metrics-{index:05d}.csv"),
        "w",
        newline="",
        encoding="utf-8",
    ) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if n_gallery:
        keep = slice(0, n_gallery)
        summary.gallery = Bunch(
            images=X[keep],
            captions=[
                f"{os.path.basename(n)}: {p} ({q:.2f})"
                for n, p, q in zip(
                    names[keep], predicted[keep], proba[keep].max(axis=1), strict=True
                )
            ],
            attributions={label: maps[keep] for label, maps in attributions.items()},
        )
    summary.sums, summary.counts = dict(summary.sums), dict(summary.counts)
    summary.curves, summary.seconds = dict(summary.curves), dict(summary.seconds)
    return summary


def _run_shards(tasks, n_shards, *, n_jobs, scheduler, progress):
    """Yield shard summaries as they finish (joblib, or dask with a scheduler)."""
    from contextlib import ExitStack

    from joblib import Parallel, parallel_config
    from tqdm.auto import tqdm

    with ExitStack() as stack:
        if scheduler:
            try:
                from distributed import Client
            except ImportError:
                raise ValueError(
                    "--scheduler needs dask.distributed; install it with "
                    "pip install 'sklearn-xai[distributed]'."
                ) from None
            try:
                stack.enter_context(Client(scheduler, timeout="10s"))
            except OSError as exc:
                raise ValueError(
                    f"cannot reach the dask scheduler at {scheduler!r}: {exc}"
                ) from None
            stack.enter_context(
                parallel_config(backend="dask", wait_for_workers_timeout=60)
            )
            # joblib's dask backend returns the results as a list, at the end.
            parallel = Parallel(n_jobs=-1)
        else:
            parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        bar = stack.enter_context(
            tqdm(total=n_shards, desc="explaining", unit="shard", disable=not progress)
        )
        for summary in parallel(tasks):
            bar.update()
            yield summary


def run_explain(
    model_path,
    image_paths,
    *,
    methods=None,
    out="sklearn-xai-report",
    n_jobs=None,
    scheduler=None,
    shard_size=256,
    quick=False,
    random_state=0,
    progress=True,
    n_gallery=8,
):
    """Explain a saved model's predictions on image files and write a report.

    Parameters
    ----------
    model_path : str or path-like
        A model written by :func:`sklearn_xai.neural_network.save_model`
        (safetensors weights and JSON metadata; nothing is unpickled).
    image_paths : list of str
        Image files and folders (searched recursively).
    methods : list of str or None, default=None
        Explanation methods by command-line name; None runs all.
    out : str or path-like, default="sklearn-xai-report"
        Output folder: ``report.html``, ``metrics.csv``,
        ``per_image_metrics.csv``, PNGs and ``shards/``.
    n_jobs : int or None, default=None
        joblib workers over shards.
    scheduler : str or None, default=None
        A dask scheduler address; shards then run on that cluster.
    shard_size : int, default=256
        Images per shard (bounds the memory of one worker).
    quick : bool, default=False
        Fewer samples per method.
    random_state : int, default=0
        Seed of the stochastic methods.
    progress : bool, default=True
        Show a progress bar over shards.
    n_gallery : int, default=8
        Images shown per method in the report.

    Returns
    -------
    results : dict
        What the report shows, plus ``n_images`` and ``paths``.
    """
    import pandas as pd
    from joblib import delayed
    from sklearn.utils import Bunch

    from ..neural_network import load_model
    from ..report import write_report
    from .scoring import METRICS

    started = time.perf_counter()
    model_path = os.fspath(model_path)
    clf = load_model(model_path)  # fails early, with one clear message
    methods = check_methods(methods)
    if shard_size < 1:
        raise ValueError(f"shard_size must be a positive integer; got {shard_size}.")
    files, skipped = collect_image_paths(image_paths)
    if not files:
        raise ValueError(
            "no image files to explain in "
            + ", ".join(repr(os.fspath(p)) for p in image_paths)
            + "."
        )
    out = os.fspath(out)
    os.makedirs(out, exist_ok=True)
    shards = [files[i : i + shard_size] for i in range(0, len(files), shard_size)]
    print(
        f"sklearn-xai explain: {len(files)} files in {len(shards)} shards, "
        f"methods: {', '.join(methods)}",
        flush=True,
    )
    tasks = (
        delayed(explain_shard)(
            i,
            shard,
            model_path,
            methods,
            out,
            quick=quick,
            random_state=random_state,
            n_gallery=n_gallery if i == 0 else 0,
        )
        for i, shard in enumerate(shards)
    )
    labels = [METHODS[name][0] for name in methods]
    sums = {label: defaultdict(float) for label in labels}
    counts = {label: defaultdict(int) for label in labels}
    curve_sums = defaultdict(dict)
    seconds = defaultdict(float)
    n_images, gallery, done = 0, None, []
    for summary in _run_shards(
        tasks, len(shards), n_jobs=n_jobs, scheduler=scheduler, progress=progress
    ):
        n_images += summary.n_images
        skipped.extend(summary.skipped)
        done.append(summary.index)
        if summary.gallery is not None:
            gallery = summary.gallery
        for label, columns in summary.sums.items():
            for column, value in columns.items():
                sums[label][column] += value
                counts[label][column] += summary.counts[label][column]
        for kind, by_label in summary.curves.items():
            for label, (fractions, total) in by_label.items():
                old = curve_sums[kind].get(label)
                curve_sums[kind][label] = (
                    fractions,
                    total if old is None else old[1] + total,
                )
        for label, value in summary.seconds.items():
            seconds[label] += value
    for name, reason in skipped:
        print(f"skipped {name}: {reason}", flush=True)
    if n_images == 0:
        raise ValueError(f"none of the {len(files)} files could be read as an image.")

    _merge_csv(
        [os.path.join(out, "shards", f"metrics-{i:05d}.csv") for i in sorted(done)],
        os.path.join(out, "per_image_metrics.csv"),
    )
    metrics = pd.DataFrame(
        {
            label: {
                column: sums[label][column] / counts[label][column]
                if counts[label][column]
                else np.nan
                for column in METRICS
                if column in sums[label]
            }
            for label in labels
        }
    ).T
    metrics.index.name = "method"
    metrics["explain s/image"] = pd.Series(
        {label: seconds[label] / n_images for label in labels}
    )
    curves = {
        kind: {
            label: Bunch(
                fractions=fractions,
                scores=total / n_images,
                auc=float(metrics.loc[label, f"{kind} AUC"]),
            )
            for label, (fractions, total) in by_label.items()
        }
        for kind, by_label in curve_sums.items()
    }
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        print(metrics.to_string(float_format=lambda v: f"{v:.4g}"), flush=True)
    timings = {"total": time.perf_counter() - started}
    timings.update({f"explaining: {k}": v for k, v in seconds.items()})
    results = {
        "title": "sklearn-xai explain",
        "subtitle": f"{os.path.basename(model_path)} on {n_images} images",
        "summary": {
            "model file": os.path.abspath(model_path),
            "classes": ", ".join(map(str, clf.classes_)),
            "input shape": str(tuple(clf.image_shape_)),
            "images explained": n_images,
            "files skipped": len(skipped),
        },
        "images": gallery.images,
        "captions": gallery.captions,
        "attributions": gallery.attributions,
        "metrics": metrics,
        "greater_is_better": {
            column: METRICS[column][1] for column in metrics if column in METRICS
        },
        "curves": curves,
        "skipped": skipped,
        "settings": {
            "methods": ", ".join(methods),
            "quick": quick,
            "random_state": random_state,
            "shard size": shard_size,
            "n_jobs": n_jobs,
            "scheduler": scheduler or "none (joblib)",
        },
        "timings": timings,
        "n_images": n_images,
    }
    results["paths"] = write_report(results, out, max_images=n_gallery)
    print(f"report: {os.path.abspath(results['paths'].html)}", flush=True)
    return results


def _merge_csv(sources, target):
    """Concatenate CSV files with one header, streaming line by line."""
    with open(target, "w", encoding="utf-8", newline="") as out:
        header_written = False
        for source in sources:
            if not os.path.exists(source):
                continue
            with open(source, encoding="utf-8", newline="") as handle:
                header = handle.readline()
                if not header_written:
                    out.write(header)
                    header_written = True
                for line in handle:
                    out.write(line)
