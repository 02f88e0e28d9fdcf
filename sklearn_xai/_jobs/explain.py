"""The job behind ``sklearn-xai explain``: a saved model on the user's images.

Images are read lazily, by path, inside the workers, ``shard_size`` at a
time; each shard's attributions and per-image scores are written to
``OUT/shards/`` as soon as they are made, and only small summaries come back
to the driver, so memory stays flat however many images there are. Shards run
in parallel with joblib (``n_jobs``), or on a dask cluster under
``joblib.parallel_config(backend="dask")`` when a scheduler address is given
(the workers must see the model file and the output folder).

The model is a bare classifier or a whole pipeline saved by
:func:`~sklearn_xai.neural_network.save_model`; files are read the way the
model was fitted (:func:`input_spec`), so the job predicts what the model
predicts on the same images.
"""

from __future__ import annotations

import csv
import functools
import os
import sys
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
                missing.append((path, "holds no image files"))
            files.extend(found)
        elif os.path.isfile(path):
            files.append(path)
        else:
            missing.append((path, "does not exist"))
    return list(dict.fromkeys(files)), missing


def _load(model_path, module=None, device="cpu"):
    from ..neural_network import load_model

    key = (
        os.path.abspath(model_path),
        os.path.getmtime(model_path),
        module if module is None or isinstance(module, str) else id(module),
        device,
    )
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = load_model(model_path, module=module, device=device)
    return _MODELS[key]


#: Preprocessing steps that keep the images' intensity scale.
_SCALE_KEEPING = frozenset(("ImageResizer", "ImageDenoiser", "HistogramEqualizer"))


def _input_dtype(steps, final):
    """How to decode files for a pipeline's steps and final classifier."""
    for step in steps:
        name = type(step).__name__
        if name == "ImageNormalizer":
            # Its statistics tell the scale it was fitted on: a mean above 1
            # cannot come from [0, 1] images.
            return "uint8" if float(np.max(step.mean_)) > 1.0 else "float32"
        if name not in _SCALE_KEEPING and not (
            name == "ColorConverter" and step.to in ("gray", "rgb")
        ):
            return "float32"
    input_range = getattr(final, "input_range_", None)
    if input_range is None or tuple(input_range) == (0.0, 1.0):
        return "float32"
    return "uint8"


def input_spec(model):
    """How ``sklearn-xai explain`` reads image files for ``model``.

    Files are decoded as uint8 (0-255) when the model was fitted on uint8
    images -- the final classifier's ``input_range_`` is not (0, 1), or the
    pipeline's ``ImageNormalizer`` learned statistics on the 0-255 scale --
    and as float32 in [0, 1] otherwise. They get the channel count and size
    of the images the model (or its pipeline's first step) was fitted on. A
    pipeline that starts with an :class:`~sklearn_xai.preprocessing.ImageReader`
    reads files with that reader's settings, and the rest of the pipeline is
    explained.

    Parameters
    ----------
    model : estimator
        A fitted classifier or pipeline, as :func:`load_model` returns it.

    Returns
    -------
    spec : sklearn.utils.Bunch
        ``model`` (the estimator to explain), ``reader`` (an ImageReader or
        None), ``shape`` ``(H, W, C)`` and ``dtype`` (``"uint8"`` or
        ``"float32"``).
    """
    from sklearn.pipeline import Pipeline
    from sklearn.utils import Bunch

    from ..preprocessing import ImageReader

    reader = None
    if isinstance(model, Pipeline) and isinstance(model[0], ImageReader):
        reader = model[0]
        model = model[1:] if len(model) > 2 else model[-1]
    steps, final = [], model
    if isinstance(model, Pipeline):
        steps = [s for _, s in model.steps[:-1] if s is not None and s != "passthrough"]
        final = model[-1]
    first = steps[0] if steps else final
    dtype = reader.dtype if reader is not None else _input_dtype(steps, final)
    return Bunch(
        model=model, reader=reader, shape=tuple(first.image_shape_), dtype=dtype
    )


def read_image(path, image_shape, dtype="float32", *, reader=None):
    """Read one file for the model: ``(image, decoded)``, or None.

    ``decoded`` is the file at its own resolution (``dtype``, ``(H, W, C)``);
    ``image`` the same converted to the model's channel count (colour files
    to gray for a one-channel model, gray files to RGB for a three-channel
    one) and size ``image_shape`` (a file of that size is not resampled).
    Returns None when the file cannot be decoded.
    """
    import cv2

    from ..preprocessing._image_ops import check_size, resize_image
    from ..preprocessing._reader import _READ_FLAGS, _read_one, _to_dtype

    height, width, channels = image_shape
    if reader is not None:
        flag = _READ_FLAGS[reader.color]
    else:
        flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    raw = _read_one(path, flag)
    if raw is None:
        return None
    decoded = _to_dtype(raw, dtype)
    if decoded.ndim == 2:
        decoded = decoded[..., np.newaxis]
    if reader is not None and reader.size is not None:
        decoded = resize_image(decoded, check_size(reader.size), "auto")
    image = decoded
    if image.shape[-1] > channels:
        image = image[..., :channels]
    elif image.shape[-1] != channels:
        image = np.repeat(image[..., :1], channels, axis=-1)
    return resize_image(image, (height, width)), decoded


def explain_shard(
    index,
    paths,
    model_path,
    methods,
    out,
    *,
    quick,
    random_state,
    n_gallery,
    module=None,
    device="cpu",
    sys_path=(),
):
    """Explain and score one shard of image files; write its results.

    Returns a small summary: counts, skipped files, per-method sums of the
    scores and curves, seconds, and its first ``n_gallery`` images for the
    report, at their own resolution up to the report's cap.
    """
    from sklearn.frozen import FrozenEstimator

    from .explaining import explain_methods

    _extend_sys_path(sys_path)
    spec = input_spec(_load(model_path, module, device))
    clf = spec.model
    images, names, skipped, originals = _read_shard(paths, spec, n_gallery)
    summary = _empty_summary(index, len(images), skipped)
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
    rows = _score_shard(
        summary, explainers, X, attributions, seconds, names, predicted, proba,
        quick=quick, random_state=random_state,
    )  # fmt: skip
    _write_rows(os.path.join(shard_dir, f"metrics-{index:05d}.csv"), rows)
    if n_gallery:
        summary.gallery = _shard_gallery(
            originals, names, predicted, proba, attributions, n_gallery
        )
    summary.sums, summary.counts = dict(summary.sums), dict(summary.counts)
    summary.curves, summary.seconds = dict(summary.curves), dict(summary.seconds)
    return summary


def _extend_sys_path(sys_path):
    """Append the driver's import folders that this process lacks to sys.path."""
    for entry in sys_path:  # where the driver found the network's class
        if entry not in sys.path:
            sys.path.append(entry)


def _read_shard(paths, spec, n_gallery):
    """Read a shard's files: images, their paths, skipped files, gallery originals."""
    from ..report._explanation import cap_image_size

    images, names, skipped, originals = [], [], [], []
    for path in paths:
        read = read_image(path, spec.shape, spec.dtype, reader=spec.reader)
        if read is None:
            skipped.append((path, "not a readable image"))
            continue
        images.append(read[0])
        names.append(path)
        if len(originals) < n_gallery:
            originals.append(cap_image_size(read[1]))
    return images, names, skipped, originals


def _empty_summary(index, n_images, skipped):
    """A shard's summary before any scores are added."""
    from sklearn.utils import Bunch

    return Bunch(
        index=index,
        n_images=n_images,
        skipped=skipped,
        sums=defaultdict(dict),
        counts=defaultdict(dict),
        curves=defaultdict(dict),
        seconds=defaultdict(float),
        gallery=None,
    )


def _score_shard(
    summary, explainers, X, attributions, seconds, names, predicted, proba, *,
    quick, random_state,
):  # fmt: skip
    """Score every method's maps into ``summary``; return the per-image rows."""
    from .scoring import FAST_FAMILIES, score_explanations

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
    return rows


def _write_rows(path, rows):
    """Write ``rows`` (dicts with the same keys) as a CSV file with a header."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _shard_gallery(originals, names, predicted, proba, attributions, n_gallery):
    """The shard's first ``n_gallery`` images, captions and maps for the report."""
    from sklearn.utils import Bunch

    keep = slice(0, n_gallery)
    return Bunch(
        images=originals,
        captions=[
            f"{os.path.basename(n)}: {p} ({q:.2f})"
            for n, p, q in zip(
                names[keep], predicted[keep], proba[keep].max(axis=1), strict=True
            )
        ],
        attributions={label: maps[keep] for label, maps in attributions.items()},
    )


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
    module=None,
    device="cpu",
):
    """Explain a saved model's predictions on image files and write a report.

    Files are read as the model was fitted (see :func:`input_spec`): a saved
    pipeline predicts here what it predicts on the same decoded images.

    Parameters
    ----------
    model_path : str or path-like
        A classifier or pipeline written by
        :func:`sklearn_xai.neural_network.save_model` (safetensors weights
        and JSON metadata; nothing is unpickled).
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
        Images shown per method in the report (at their own resolution, at
        most 256 pixels on the long side).
    module : torch.nn.Module class, str or None, default=None
        The network class (or its ``"package.module:ClassName"`` import path)
        when the file names one other than the library's own; see
        :func:`~sklearn_xai.neural_network.load_model`.
    device : str, default="cpu"
        Where the network runs (``"cpu"``, ``"cuda"``, ``"auto"``).

    Returns
    -------
    results : dict
        What the report shows, plus ``n_images`` and ``paths``.
    """
    from ..report import write_report
    from .scoring import METRICS

    started = time.perf_counter()
    model_path = os.fspath(model_path)
    loaded, spec, notes = _load_for_explaining(model_path, module, device)
    methods = check_methods(methods)
    if shard_size < 1:
        raise ValueError(f"shard_size must be a positive integer; got {shard_size}.")
    files, skipped = _files_to_explain(image_paths)
    out = os.fspath(out)
    os.makedirs(out, exist_ok=True)
    module, sys_path = _module_for_workers(module)
    shards = [files[i : i + shard_size] for i in range(0, len(files), shard_size)]
    _announce(files, shards, methods)
    task = functools.partial(
        explain_shard, model_path=model_path, methods=methods, out=out,
        quick=quick, random_state=random_state, n_gallery=n_gallery,
        module=module, device=device, sys_path=sys_path,
    )  # fmt: skip
    labels = [METHODS[name][0] for name in methods]
    totals = _gather_shards(
        task, shards, labels, skipped, n_gallery,
        n_jobs=n_jobs, scheduler=scheduler, progress=progress,
    )  # fmt: skip
    n_images = totals.n_images
    _check_read(skipped, n_images, len(files))
    gallery = _first_images(totals.galleries, labels, n_gallery)
    _merge_shard_metrics(out, totals.done)
    metrics = _mean_metrics(totals, labels)
    curves = _mean_curves(totals.curve_sums, metrics, n_images)
    _print_table(metrics)
    timings = {"total": time.perf_counter() - started}
    timings.update({f"explaining: {k}": v for k, v in totals.seconds.items()})
    results = {
        "title": "sklearn-xai explain",
        "subtitle": f"{os.path.basename(model_path)} on {n_images} images",
        "summary": _model_summary(model_path, loaded, spec, n_images, len(skipped)),
        "images": gallery.images,
        "captions": gallery.captions,
        "attributions": gallery.attributions,
        "metrics": metrics,
        "greater_is_better": {
            column: METRICS[column][1] for column in metrics if column in METRICS
        },
        "curves": curves,
        "skipped": skipped,
        "notes": notes,
        "settings": _run_settings(
            methods, quick, random_state, shard_size, n_jobs, scheduler
        ),
        "timings": timings,
        "n_images": n_images,
    }
    results["paths"] = write_report(results, out, max_images=n_gallery)
    print(f"report: {os.path.abspath(results['paths'].html)}", flush=True)
    return results


def _load_for_explaining(model_path, module, device):
    """Load the model (failing early, with one clear message) and its input spec.

    Returns the loaded model, its :func:`input_spec` and the report's notes
    (a warning, also printed, when the files cannot be read as it was fitted).
    """
    from ..neural_network import load_model

    loaded = load_model(model_path, module=module, device=device)
    spec = input_spec(loaded)
    notes = []
    if "input_range_" in vars(spec.model) and spec.model.input_range_ is None:
        notes.append(
            "The model was fitted on images outside [0, 1] and not uint8 (e.g. "
            "standardized by an ImageNormalizer), but the file holds no "
            "preprocessing: files are read as [0, 1] floats and the "
            "predictions are likely wrong. Save the whole fitted pipeline "
            "with save_model(pipeline) instead."
        )
        print(f"warning: {notes[-1]}", file=sys.stderr, flush=True)
    return loaded, spec, notes


def _files_to_explain(image_paths):
    """The image files under ``image_paths`` and the missing paths; raise if none."""
    files, skipped = collect_image_paths(image_paths)
    if not files:
        raise ValueError(
            "nothing to explain: "
            + "; ".join(f"{name!r} {reason}" for name, reason in skipped)
            + "."
        )
    return files, skipped


def _module_for_workers(module):
    """The network class as workers get it, and the folders to import it from.

    Workers get the class by import path, and the folders the driver
    imported it from: no unpickling of a class before that path is set (a
    class defined in a script or a function goes as it is).
    """
    sys_path = ()
    if module is not None and not isinstance(module, str):
        path = f"{module.__module__}:{module.__qualname__}"
        if "<locals>" not in path and module.__module__ != "__main__":
            module, sys_path = path, tuple(sys.path)
    return module, sys_path


def _announce(files, shards, methods):
    """Print what the run explains: how many files, shards and which methods."""
    print(
        f"sklearn-xai explain: {len(files)} files in {len(shards)} shards, "
        f"methods: {', '.join(methods)}",
        flush=True,
    )


def _gather_shards(task, shards, labels, skipped, n_gallery, **run_options):
    """Run ``task`` on every shard and add up the summaries as they arrive.

    Files the shards skip are appended to ``skipped``.
    """
    from joblib import delayed
    from sklearn.utils import Bunch

    totals = Bunch(
        n_images=0,
        sums={label: defaultdict(float) for label in labels},
        counts={label: defaultdict(int) for label in labels},
        curve_sums=defaultdict(dict),
        seconds=defaultdict(float),
        galleries={},
        done=[],
    )
    tasks = (delayed(task)(i, shard) for i, shard in enumerate(shards))
    for summary in _run_shards(tasks, len(shards), **run_options):
        totals.n_images += summary.n_images
        skipped.extend(summary.skipped)
        totals.done.append(summary.index)
        if summary.gallery is not None:
            totals.galleries[summary.index] = summary.gallery
            _drop_unneeded(totals.galleries, n_gallery)
        _add_scores(totals, summary)
    return totals


def _add_scores(totals, summary):
    """Add a shard's score sums, counts, curve sums and seconds to ``totals``."""
    for label, columns in summary.sums.items():
        for column, value in columns.items():
            totals.sums[label][column] += value
            totals.counts[label][column] += summary.counts[label][column]
    for kind, by_label in summary.curves.items():
        for label, (fractions, total) in by_label.items():
            old = totals.curve_sums[kind].get(label)
            totals.curve_sums[kind][label] = (
                fractions,
                total if old is None else old[1] + total,
            )
    for label, value in summary.seconds.items():
        totals.seconds[label] += value


def _check_read(skipped, n_images, n_files):
    """Print the skipped files; raise if none of the ``n_files`` could be read."""
    for name, reason in skipped:
        print(f"skipped {name}: {reason}", flush=True)
    if n_images == 0:
        raise ValueError(f"none of the {n_files} files could be read as an image.")


def _merge_shard_metrics(out, done):
    """Merge the ``done`` shards' per-image metrics into per_image_metrics.csv."""
    _merge_csv(
        [os.path.join(out, "shards", f"metrics-{i:05d}.csv") for i in sorted(done)],
        os.path.join(out, "per_image_metrics.csv"),
    )


def _mean_metrics(totals, labels):
    """The metrics table: each method's mean score per metric, and seconds per image."""
    import pandas as pd

    from .scoring import METRICS

    sums, counts, n_images = totals.sums, totals.counts, totals.n_images
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
        {label: totals.seconds[label] / n_images for label in labels}
    )
    return metrics


def _mean_curves(curve_sums, metrics, n_images):
    """The mean deletion and insertion curves of every method, with their AUC."""
    from sklearn.utils import Bunch

    return {
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


def _print_table(metrics):
    """Print the metrics table."""
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 50):
        print(metrics.to_string(float_format=lambda v: f"{v:.4g}"), flush=True)


def _model_summary(model_path, loaded, spec, n_images, n_skipped):
    """The report's "Model and data" mapping."""
    return {
        "model file": os.path.abspath(model_path),
        "model": _describe_model(loaded),
        "classes": ", ".join(map(str, spec.model.classes_)),
        "input shape": str(spec.shape),
        "files read as": "uint8 (0-255)"
        if spec.dtype == "uint8"
        else "float32 in [0, 1]",
        "images explained": n_images,
        "files skipped": n_skipped,
    }


def _run_settings(methods, quick, random_state, shard_size, n_jobs, scheduler):
    """The report's "Settings" mapping."""
    return {
        "methods": ", ".join(methods),
        "quick": quick,
        "random_state": random_state,
        "shard size": shard_size,
        "n_jobs": n_jobs,
        "scheduler": scheduler or "none (joblib)",
    }


def _drop_unneeded(galleries, n_gallery):
    """Keep only the shards' gallery images the report can still show: the
    first ``n_gallery`` in file order (shards arrive in any order)."""
    total = 0
    for index in sorted(galleries):
        if total >= n_gallery:
            del galleries[index]
        else:
            total += len(galleries[index].images)


def _first_images(galleries, labels, n_gallery):
    """The first ``n_gallery`` images of the shards' galleries, in order."""
    from sklearn.utils import Bunch

    parts = [galleries[index] for index in sorted(galleries)]
    return Bunch(
        images=[image for part in parts for image in part.images][:n_gallery],
        captions=[text for part in parts for text in part.captions][:n_gallery],
        attributions={
            label: np.concatenate([part.attributions[label] for part in parts])[
                :n_gallery
            ]
            for label in labels
        },
    )


def _describe_model(model):
    """``"Pipeline(resize: ImageResizer -> cnn: CNNClassifier)"`` or the
    classifier's class name."""
    steps = getattr(model, "steps", None)
    if steps is None:
        return type(model).__name__
    return (
        "Pipeline("
        + " -> ".join(f"{name}: {type(step).__name__}" for name, step in steps)
        + ")"
    )


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
