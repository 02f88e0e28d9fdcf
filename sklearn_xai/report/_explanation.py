"""The explanation report that ``sklearn-xai demo`` and ``explain`` write."""

from __future__ import annotations

import functools
import os
import re

import numpy as np
from sklearn.utils import Bunch

from ._html import Report, png_bytes

__all__ = ["write_report"]

#: Longest side, in pixels, of an image shown in the report's gallery: larger
#: images are scaled down (keeping their aspect ratio), smaller ones are
#: shown at their own resolution.
MAX_SIDE = 256

_FAMILY_TEXT = (
    "Faithfulness: deletion AUC (lower is better: the class probability should "
    "collapse when the most relevant pixels are removed first), insertion AUC "
    "(higher is better) and faithfulness correlation. Robustness: max "
    "sensitivity to small input noise (lower is better). Complexity: "
    "sparseness (higher is better) and entropy complexity (lower is better). "
    "Randomization: similarity to the explanation of the model with its layers "
    "re-initialized from the output backwards (the sanity check of Adebayo et "
    "al. 2018: a method whose map stays alike is not explaining the model) or "
    "of another class (lower is better). Localization (when ground truth is "
    "known): how much relevance falls on the object. Uncertainty (sampling "
    "methods that estimate it: LIME, Kernel SHAP): relative SE, the largest "
    "per-segment standard error as a fraction of the range of the segment "
    "weights (lower is more settled; a dash for methods without one). Arrows "
    "give each column's direction; the best value of each column is "
    "highlighted."
)


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def cap_image_size(image, max_side=MAX_SIDE):
    """``image`` ``(H, W[, C])`` scaled down so its long side is at most
    ``max_side`` pixels (area interpolation); a smaller image as it is.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xai.report._explanation import cap_image_size
    >>> cap_image_size(np.zeros((600, 300, 3), dtype=np.uint8)).shape
    (256, 128, 3)
    >>> cap_image_size(np.zeros((8, 8))).shape
    (8, 8)
    """
    import cv2

    image = np.asarray(image)
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    out = cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)
    return out.reshape(size[1], size[0], *image.shape[2:])


def _check_results(results):
    required = ("title", "images", "attributions", "metrics")
    missing = [key for key in required if key not in results]
    if missing:
        raise ValueError(
            f"results must have the keys {list(required)}; missing {missing}."
        )
    n = len(results["images"])
    for method, maps in results["attributions"].items():
        if len(maps) != n:
            raise ValueError(
                f"results['attributions'][{method!r}] has {len(maps)} maps for "
                f"{n} images; expected one per image."
            )


def write_report(results, directory, *, max_images: int = 8) -> Bunch:
    """Write the explanation report of a run: HTML, PNGs and metrics CSV.

    Parameters
    ----------
    results : dict
        What a run produced, with the keys ``title`` (str), ``images``
        (``(n, H, W[, C])`` explained images, or a list of images of their
        own sizes, e.g. the files as decoded), ``attributions`` (method name
        -> ``(n, H', W')``, at the model's input resolution: each map is
        resized onto its image), ``metrics`` (pandas DataFrame, one row per method,
        one column per metric: the mean per-image score) and optionally
        ``subtitle``, ``summary`` (dict shown as the model section),
        ``captions`` (one per image, e.g. the predicted label and its
        probability), ``greater_is_better`` (column -> bool),
        ``curves`` ("deletion"/"insertion" -> method -> Bunch with
        ``fractions``, ``scores`` (mean curve) and ``auc``), ``tuning``
        (Bunch with ``table`` DataFrame, ``best_params`` dict and ``scoring``
        str), ``surrogate`` (Bunch with ``estimator`` (a fitted
        :class:`~sklearn_xai.surrogate.SurrogateTreeClassifier`), ``rules``,
        ``fidelity`` and ``held_out_fidelity``), ``notes`` (list of str),
        ``skipped`` (list of (name, reason)), ``settings`` and ``timings``
        (dicts), ``n_images`` (how many images were explained in all, when
        ``images`` holds only those to show).
    directory : str or path-like
        Output folder (created if needed).
    max_images : int, default=8
        Images per method shown in the gallery, each at its own resolution
        up to :data:`MAX_SIDE` (256) pixels on the long side; the page says
        how many of how many it shows.

    Returns
    -------
    paths : sklearn.utils.Bunch
        ``html`` (the report), ``metrics_csv`` and ``images`` (the PNGs).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_xai.report import write_report
    >>> rng = np.random.default_rng(0)
    >>> results = {
    ...     "title": "Two random maps",
    ...     "images": rng.random((2, 16, 16)),
    ...     "attributions": {"random": rng.random((2, 16, 16))},
    ...     "metrics": pd.DataFrame({"sparseness": [0.3]}, index=["random"]),
    ... }
    >>> paths = write_report(results, tempfile.mkdtemp())
    >>> paths.html.endswith("report.html")
    True
    """
    _use_agg_backend()
    _check_results(results)
    directory = os.fspath(directory)
    os.makedirs(os.path.join(directory, "overlays"), exist_ok=True)
    written = []
    save_png = functools.partial(_save_png, directory, written)

    report = Report(results["title"], subtitle=results.get("subtitle"))
    gallery = _gallery(results, max_images)
    _add_model_section(report, results)
    _add_explanations_section(report, results, gallery, save_png)
    csv_path = _add_quality_section(report, results, directory)
    _add_curves_section(report, results.get("curves") or {}, save_png)
    _add_tuning_section(report, results.get("tuning"))
    _add_surrogate_section(report, results, save_png)
    _add_notes_section(report, results.get("notes"))
    _add_settings_section(report, results)

    html_path = report.write(os.path.join(directory, "report.html"))
    return Bunch(html=html_path, metrics_csv=csv_path, images=written)


def _use_agg_backend():
    """Ask matplotlib for its Agg backend (ignored if it cannot switch)."""
    import matplotlib

    matplotlib.use("Agg", force=False)


def _save_png(directory, written, name, image):
    """Write ``image`` as ``directory/name``, record the path; return the PNG bytes.

    The page embeds the same bytes, so each image is encoded once; a figure
    is closed once encoded.
    """
    import matplotlib.pyplot as plt

    data = png_bytes(image)
    if hasattr(image, "savefig"):
        plt.close(image)
    path = os.path.join(directory, name)
    with open(path, "wb") as handle:
        handle.write(data)
    written.append(path)
    return data


def _gallery(results, max_images):
    """The images the gallery shows (capped in size), their captions and width."""
    from ..visualization._base import check_image

    images = [cap_image_size(image) for image in list(results["images"])[:max_images]]
    captions = list(results.get("captions") or [""] * len(results["images"]))
    captions = captions[: len(images)]
    # Small images are displayed enlarged (the PNGs keep their pixels).
    width = 96 if images and max(i.shape[1] for i in images) < 96 else None
    return Bunch(
        images=images,
        shown=[check_image(image) for image in images],
        captions=captions,
        width=width,
        n_total=int(results.get("n_images") or len(results["images"])),
    )


def _add_model_section(report, results):
    """Add the "Model and data" section: the summary and the skipped files."""
    report.add_section("Model and data")
    if results.get("summary"):
        report.add_mapping(results["summary"])
    if results.get("skipped"):
        report.add_heading(f"Skipped files ({len(results['skipped'])})")
        report.add_table(
            _frame([{"file": n, "reason": r} for n, r in results["skipped"]], "file")
        )


def _add_explanations_section(report, results, gallery, save_png):
    """Add the gallery: each image, then its overlay by every method."""
    from ..visualization import overlay_attribution

    report.add_section(
        "Explanations",
        text="Heatmaps of the positive evidence for the predicted class, "
        "over the image (red: most relevant). "
        f"Showing {len(gallery.images)} of {gallery.n_total} explained images, "
        f"each at its own resolution (at most {MAX_SIDE} pixels on the long side).",
    )
    grid = {"image": gallery.shown}
    for method, maps in results["attributions"].items():
        overlays = [
            overlay_attribution(image, attribution, sign="positive")
            for image, attribution in zip(
                gallery.images, np.asarray(maps), strict=False
            )
        ]
        grid[method] = [
            save_png(os.path.join("overlays", f"{_slug(method)}_{i}.png"), overlay)
            for i, overlay in enumerate(overlays)
        ]
    report.add_image_grid(grid, column_captions=gallery.captions, width=gallery.width)


def _add_quality_section(report, results, directory):
    """Write metrics.csv and add the metrics table; return the CSV's path."""
    metrics = results["metrics"]
    csv_path = os.path.join(directory, "metrics.csv")
    metrics.to_csv(csv_path, index_label="method")
    report.add_section("Explanation quality", text=_FAMILY_TEXT)
    directions = {
        column: greater
        for column, greater in (results.get("greater_is_better") or {}).items()
        if column in metrics.columns
    }
    report.add_table(
        metrics,
        greater_is_better=directions,
        caption="Mean over the explained images; the same numbers are in metrics.csv.",
        table_id="metrics",
    )
    return csv_path


def _add_curves_section(report, curves, save_png):
    """Add the deletion and insertion curves, one figure per kind (if any)."""
    from ..visualization import FaithfulnessCurveDisplay

    if not curves:
        return
    report.add_section(
        "Deletion and insertion curves",
        text="The predicted class's probability as the most relevant pixels "
        "are removed (deletion) or revealed on a blurred image (insertion); "
        "the legend gives each curve's area.",
    )
    figures = []
    for kind, by_method in curves.items():
        names = list(by_method)
        display = FaithfulnessCurveDisplay(
            by_method[names[0]].fractions,
            {name: by_method[name].scores for name in names},
            {name: float(by_method[name].auc) for name in names},
            kind=kind,
        ).plot()
        if len(names) > 4:  # keep the curves visible: legend outside
            display.ax_.legend(
                loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small"
            )
        figures.append(save_png(f"{kind}_curves.png", display.figure_))
    report.add_gallery(figures, [f"{kind} curves" for kind in curves])


def _add_tuning_section(report, tuning):
    """Add the LIME tuning table and the selected settings (if any)."""
    if tuning is None:
        return
    report.add_section(
        "Tuning LIME by explanation quality",
        text=f"GridSearchCV over LIME's settings, scored by {tuning.scoring}; "
        "the model is frozen, only the explainer's settings change.",
    )
    report.add_table(tuning.table, table_id="tuning")
    report.add_mapping(
        {f"best {k}": v for k, v in tuning.best_params.items()},
        caption="the selected settings",
    )


def _add_surrogate_section(report, results, save_png):
    """Add the surrogate tree: its fidelity, its figure and its rules (if any)."""
    from ..visualization import SurrogateTreeDisplay

    surrogate = results.get("surrogate")
    if surrogate is None:
        return
    report.add_section(
        "Global surrogate tree",
        text="A decision tree trained to mimic the CNN on interpretable "
        "region features; fidelity is how often it agrees with the CNN.",
    )
    report.add_mapping(
        {
            "fidelity on training images": surrogate.fidelity,
            "fidelity on held-out images": surrogate.held_out_fidelity,
            "depth": surrogate.estimator.surrogate_.get_depth(),
            "leaves": surrogate.estimator.surrogate_.get_n_leaves(),
        }
    )
    display = SurrogateTreeDisplay.from_estimator(
        surrogate.estimator, image=np.asarray(results["images"][0]), max_depth=3
    )
    report.add_image(
        save_png("surrogate_tree.png", display.figure_),
        caption="the tree (top levels) and its regions",
    )
    n_lines = len(surrogate.rules.splitlines())
    report.add_code(surrogate.rules, summary=f"the tree's rules ({n_lines} lines)")


def _add_notes_section(report, notes):
    """Add the notes, one paragraph each (if any)."""
    if notes:
        report.add_section("Notes")
        for note in notes:
            report.add_text(note)


def _add_settings_section(report, results):
    """Add the "Settings and timings" section."""
    report.add_section("Settings and timings")
    if results.get("settings"):
        report.add_heading("Settings")
        report.add_mapping(results["settings"])
    if results.get("timings"):
        report.add_heading("Timings (seconds)")
        report.add_mapping(results["timings"])


def _frame(rows, index):
    """``rows`` (a list of dicts) as a DataFrame indexed by ``index``."""
    import pandas as pd

    return pd.DataFrame(rows).set_index(index)
