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

import functools
import os
import sys
import time

from .inputs import collect_image_paths, input_spec
from .methods import METHODS, check_methods
from .shards import (
    _first_images,
    _gather_shards,
    _mean_curves,
    _mean_metrics,
    _merge_shard_metrics,
)
from .worker import explain_shard


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


def _check_read(skipped, n_images, n_files):
    """Print the skipped files; raise if none of the ``n_files`` could be read."""
    for name, reason in skipped:
        print(f"skipped {name}: {reason}", flush=True)
    if n_images == 0:
        raise ValueError(f"none of the {n_files} files could be read as an image.")


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
