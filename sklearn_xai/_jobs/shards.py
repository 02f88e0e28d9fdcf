"""Running the shards of ``sklearn-xai explain`` and merging what they return.

Shards run with joblib, or on a dask cluster when a scheduler address is
given (:func:`_run_shards`); their summaries are added up as they arrive
(:func:`_gather_shards`), and their outputs merged: the report's first images,
the per-image metrics file, the mean metrics and curves.
"""

from __future__ import annotations

import os
from collections import defaultdict

import numpy as np


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


def _merge_shard_metrics(out, done):
    """Merge the ``done`` shards' per-image metrics into per_image_metrics.csv."""
    _merge_csv(
        [os.path.join(out, "shards", f"metrics-{i:05d}.csv") for i in sorted(done)],
        os.path.join(out, "per_image_metrics.csv"),
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
