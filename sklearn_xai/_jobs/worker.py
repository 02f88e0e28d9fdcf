"""One shard of ``sklearn-xai explain``, as a worker runs it.

:func:`explain_shard` reads its files, explains and scores them, writes the
attributions and per-image scores to ``OUT/shards/`` and returns only a small
summary to the driver.
"""

from __future__ import annotations

import csv
import os
import sys
from collections import defaultdict

import numpy as np

from .inputs import _load, input_spec, read_image
from .methods import METHODS


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
    explainers, attributions, seconds, uncertainty = explain_methods(
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
        quick=quick, random_state=random_state, uncertainty=uncertainty,
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
    quick, random_state, uncertainty,
):  # fmt: skip
    """Score every method's maps into ``summary``; return the per-image rows."""
    from .scoring import FAST_FAMILIES, score_explanations

    rows = []
    for label, explainer in explainers.items():
        scores, curves, _ = score_explanations(
            explainer, X, attributions[label], families=FAST_FAMILIES,
            quick=quick, random_state=random_state,
            uncertainty=uncertainty[label],
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
