"""The main job behind ``sklearn-xai demo``."""

from __future__ import annotations

import os
import time

import numpy as np

from .methods import check_methods

#: Epochs (full and --quick) and CNN parameters per dataset. Shapes need a
#: third block: at 32x32 two blocks see too little context to tell a square
#: from a circle among distractors (0.76 vs 0.96 held-out accuracy).
_SETTINGS = {
    "digits": {"epochs": 15, "quick_epochs": 5, "params": {}},
    "faces": {"epochs": 30, "quick_epochs": 10, "params": {}},
    "shapes": {"epochs": 25, "quick_epochs": 8, "params": {"module__n_blocks": 3}},
}


def load_demo_data(dataset, *, quick=False, random_state=0):
    """Load one of the bundled data sets the demo trains on.

    Parameters
    ----------
    dataset : {"digits", "faces", "shapes"}
        Which data: scikit-learn's digits upscaled to 32x32, scikit-image's
        face / non-face patches, or synthetic shapes with ground-truth masks.
    quick : bool, default=False
        Use fewer synthetic images.
    random_state : int, default=0
        Seed of the synthetic generator.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images``, ``target``, ``target_names`` (and ``masks`` for shapes).
    """
    from ..datasets import load_digit_images, load_face_images, make_shape_images

    if dataset == "digits":
        return load_digit_images(size=32)
    if dataset == "faces":
        return load_face_images()
    if dataset == "shapes":
        return make_shape_images(
            600 if quick else 2000, image_size=32, random_state=random_state
        )
    raise ValueError(f"dataset must be one of {sorted(_SETTINGS)}; got {dataset!r}.")


def _train(dataset, data, *, quick, epochs, random_state, progress, log):
    from sklearn.model_selection import train_test_split

    from ..neural_network import CNNClassifier, EpochProgressBar

    settings = _SETTINGS[dataset]
    if epochs is None:
        epochs = settings["quick_epochs"] if quick else settings["epochs"]
    arrays = [data.images, data.target]
    if "masks" in data:
        arrays.append(data.masks)
    split = train_test_split(
        *arrays, test_size=0.25, stratify=data.target, random_state=random_state
    )
    X_train, X_test, y_train, y_test = split[:4]
    masks_test = split[5] if "masks" in data else None
    log(
        f"sklearn-xai demo: {dataset}, {len(X_train)} training and "
        f"{len(X_test)} held-out images of shape {data.images.shape[1:]}, "
        f"{len(data.target_names)} classes"
    )
    clf = CNNClassifier(
        max_epochs=epochs,
        batch_size=32,
        random_state=random_state,
        **settings["params"],
        callbacks=[EpochProgressBar(desc="training CNN", disable=not progress)],
    )
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return clf, epochs, seconds, (X_train, X_test, y_train, y_test, masks_test)


def _tune_lime(model, X, *, quick, random_state, log):
    """GridSearchCV over LIME's settings scored by deletion AUC."""
    import pandas as pd
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.utils import Bunch

    from ..attribution import LimeExplainer
    from ..metrics import deletion_auc, get_explanation_scorer, make_explanation_scorer
    from .scoring import FILL

    grid = {
        "n_samples": [128, "auto"] if quick else [128, 256, "auto"],
        "segmentation": ["slic", "grid"],
    }
    n_candidates = int(np.prod([len(v) for v in grid.values()]))
    log(f"tuning LIME: {n_candidates} settings x 2 folds, scored by deletion AUC")
    scoring = {
        "deletion": make_explanation_scorer(deletion_auc, baseline=FILL, n_steps=16),
        "sparseness": get_explanation_scorer("sparseness"),
    }
    search = GridSearchCV(
        LimeExplainer(model, random_state=random_state),
        grid,
        scoring=scoring,
        refit="deletion",
        cv=KFold(2),  # the explainer is not refitted: folds average the score
    ).fit(X)
    cv = search.cv_results_
    table = pd.DataFrame(cv["params"])
    table["deletion AUC"] = -cv["mean_test_deletion"]
    table["sparseness"] = cv["mean_test_sparseness"]
    table["seconds per fold"] = cv["mean_score_time"]
    table["rank"] = cv["rank_test_deletion"]
    table = table.sort_values("rank").set_index("rank")
    return Bunch(
        table=table,
        best_params={k: str(v) for k, v in search.best_params_.items()},
        scoring="deletion AUC (lower is better; blurred pixels) with sparseness "
        "reported beside it",
    )


def _fit_surrogate(model, X_train, X_test, *, quick, random_state):
    from sklearn.utils import Bunch

    from ..surrogate import SurrogateTreeClassifier

    surrogate = SurrogateTreeClassifier(
        model, grid_size=8, max_depth=6 if quick else 8, random_state=random_state
    ).fit(X_train)
    return Bunch(
        estimator=surrogate,
        rules=surrogate.export_text(),
        fidelity=surrogate.fidelity_,
        held_out_fidelity=surrogate.score(X_test),
    )


def run_demo(
    *,
    dataset="digits",
    quick=False,
    epochs=None,
    methods=None,
    out="sklearn-xai-report",
    random_state=0,
    progress=True,
):
    """Run the main job: train, explain, score, tune, summarize, report.

    Trains the library's CNN on a bundled data set; explains held-out images
    with every method; scores every explanation with every metric family
    (localization on ``shapes``, which has ground-truth masks); tunes LIME by
    deletion AUC in a small ``GridSearchCV``; fits a surrogate tree; prints
    the results table and writes ``report.html``, ``metrics.csv`` and PNGs
    to ``out``.

    Parameters
    ----------
    dataset : {"digits", "faces", "shapes"}, default="digits"
        The bundled data set.
    quick : bool, default=False
        Fewer epochs, images and samples, for a smoke run.
    epochs : int or None, default=None
        Training epochs; None uses the data set's default.
    methods : list of str or None, default=None
        Explanation methods by command-line name; None runs all.
    out : str or path-like or None, default="sklearn-xai-report"
        Output folder; None writes no report.
    random_state : int, default=0
        Seed of the split, the network and the explainers.
    progress : bool, default=True
        Show progress bars.

    Returns
    -------
    results : dict
        Everything the report shows, plus ``accuracy`` and ``paths``.
    """
    from sklearn.frozen import FrozenEstimator

    from .scoring import METRICS

    if dataset not in _SETTINGS:
        raise ValueError(
            f"dataset must be one of {sorted(_SETTINGS)}; got {dataset!r}."
        )
    methods = check_methods(methods)
    started = time.perf_counter()
    timings = {}

    data = load_demo_data(dataset, quick=quick, random_state=random_state)
    clf, epochs, timings["training"], split = _train(
        dataset, data, quick=quick, epochs=epochs, random_state=random_state,
        progress=progress, log=_log,
    )  # fmt: skip
    X_train, X_test, _, y_test, masks_test = split
    accuracy = _evaluate(clf, X_test, y_test, epochs, timings["training"])

    model = FrozenEstimator(clf)
    n_explain = 8 if quick else 16
    X_explain = X_test[:n_explain]
    masks = None if masks_test is None else masks_test[:n_explain]
    names = np.asarray(data.target_names)
    captions = _captions(clf, X_explain, y_test[:n_explain], names)
    attributions, metrics, curves = _explain_and_score(
        model, X_train[:64], X_explain, masks, methods, timings,
        quick=quick, random_state=random_state, progress=progress,
    )  # fmt: skip
    tuning = _timed_tuning(model, X_test, quick, random_state, timings)
    surrogate = _timed_surrogate(model, X_train, X_test, quick, random_state, timings)
    _log_metrics(metrics)

    results = {
        "title": f"sklearn-xai demo: {dataset}",
        "subtitle": f"CNNClassifier on {dataset}, {len(X_explain)} held-out "
        f"images explained by {len(methods)} methods",
        "summary": _summary(dataset, data, names, clf, split, epochs, accuracy),
        "images": X_explain,
        "captions": captions,
        "attributions": attributions,
        "metrics": metrics,
        "greater_is_better": {
            name: METRICS[name][1] for name in metrics.columns if name in METRICS
        },
        "curves": curves,
        "tuning": tuning,
        "surrogate": surrogate,
        "settings": _settings(
            dataset, quick, epochs, random_state, methods, len(X_explain)
        ),
        "timings": timings,
        "accuracy": accuracy,
    }
    _write_report(results, out, started)
    return results


def _log(message):
    """Print one line of the demo's progress at once."""
    print(message, flush=True)


def _evaluate(clf, X_test, y_test, epochs, seconds):
    """Log the training time and held-out (balanced) accuracy; return the accuracy."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    y_pred = clf.predict(X_test)
    accuracy = accuracy_score(y_test, y_pred)
    _log(f"trained {epochs} epochs in {seconds:.1f} s")
    _log(f"held-out accuracy: {accuracy:.4f}")
    _log(f"held-out balanced accuracy: {balanced_accuracy_score(y_test, y_pred):.4f}")
    return accuracy


def _captions(clf, X, y, names):
    """One caption per image: its true and predicted class and the probability."""
    proba = clf.predict_proba(X)
    predicted = clf.classes_[proba.argmax(axis=1)]
    return [
        f"true {names[t]}, predicted {names[p]} ({q.max():.2f})"
        for t, p, q in zip(y, predicted, proba, strict=True)
    ]


def _explain_and_score(
    model, X_fit, X, masks, methods, timings, *, quick, random_state, progress
):
    """Explain ``X`` with every method and score the maps; time both."""
    import pandas as pd

    from .explaining import explain_methods

    explainers, attributions, explain_seconds, uncertainty = explain_methods(
        model, X_fit, X, methods, quick=quick,
        random_state=random_state, progress=progress,
    )  # fmt: skip
    metrics, curves, score_seconds = _score_methods(
        explainers, attributions, uncertainty, X, masks,
        quick=quick, random_state=random_state, progress=progress,
    )  # fmt: skip
    metrics["explain s"] = pd.Series(explain_seconds)
    timings["explaining (all methods)"] = sum(explain_seconds.values())
    timings["scoring (all methods)"] = sum(score_seconds.values())
    return attributions, metrics, curves


def _score_methods(
    explainers, attributions, uncertainty, X, masks, *, quick, random_state, progress
):
    """Score every method's maps: the metrics table, mean curves and seconds."""
    import pandas as pd
    from tqdm.auto import tqdm

    from .explaining import mean_curve
    from .scoring import score_explanations

    rows, curves = {}, {"deletion": {}, "insertion": {}}
    score_seconds = {}
    for label in tqdm(explainers, desc="scoring", unit="method", disable=not progress):
        start = time.perf_counter()
        scores, method_curves, _ = score_explanations(
            explainers[label], X, attributions[label], masks=masks,
            quick=quick, random_state=random_state,
            uncertainty=uncertainty[label],
        )  # fmt: skip
        score_seconds[label] = time.perf_counter() - start
        rows[label] = {name: _mean(values) for name, values in scores.items()}
        for kind, curve in method_curves.items():
            curves[kind][label] = mean_curve(curve, scores[f"{kind} AUC"])
    metrics = pd.DataFrame.from_dict(rows, orient="index")
    metrics.index.name = "method"
    return metrics, curves, score_seconds


def _mean(values):
    """Mean of the finite values; NaN (no warning) when there are none."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _timed_tuning(model, X_test, quick, random_state, timings):
    """Tune LIME on the first held-out images; time it and log the best settings."""
    start = time.perf_counter()
    tuning = _tune_lime(
        model, X_test[: 8 if quick else 16], quick=quick,
        random_state=random_state, log=_log,
    )  # fmt: skip
    timings["tuning LIME"] = time.perf_counter() - start
    _log(f"best LIME settings: {tuning.best_params}")
    return tuning


def _timed_surrogate(model, X_train, X_test, quick, random_state, timings):
    """Fit the surrogate tree; time it and log its fidelity."""
    start = time.perf_counter()
    surrogate = _fit_surrogate(
        model, X_train[: 500 if quick else None], X_test, quick=quick,
        random_state=random_state,
    )  # fmt: skip
    timings["surrogate tree"] = time.perf_counter() - start
    _log(
        f"surrogate tree: fidelity {surrogate.fidelity:.3f} (training), "
        f"{surrogate.held_out_fidelity:.3f} (held out)"
    )
    return surrogate


def _log_metrics(metrics):
    """Print the explanation quality table."""
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 50):
        _log("\nExplanation quality (mean over explained images; arrows in the "
             "report give each column's direction)")  # fmt: skip
        _log(metrics.to_string(float_format=lambda v: f"{v:.4g}"))


def _summary(dataset, data, names, clf, split, epochs, accuracy):
    """The report's "Model and data" mapping."""
    X_train, X_test = split[:2]
    return {
        "data set": dataset,
        "classes": ", ".join(map(str, names)),
        "training images": len(X_train),
        "held-out images": len(X_test),
        "image shape": str(data.images.shape[1:]),
        "model": f"CNNClassifier ({clf.module_.__class__.__name__}, "
        f"{sum(p.numel() for p in clf.module_.parameters())} parameters)",
        "epochs": epochs,
        "held-out accuracy": accuracy,
    }


def _settings(dataset, quick, epochs, random_state, methods, n_explained):
    """The report's "Settings" mapping."""
    from .scoring import FILL_DESCRIPTION

    return {
        "data set": dataset,
        "quick": quick,
        "epochs": epochs,
        "random_state": random_state,
        "methods": ", ".join(methods),
        "explained images": n_explained,
        "removed pixels": FILL_DESCRIPTION,
    }


def _write_report(results, out, started):
    """Write the report to ``out`` (unless None), time it and log the total."""
    timings = results["timings"]
    if out is not None:
        from ..report import write_report

        start = time.perf_counter()
        timings["total"] = time.perf_counter() - started
        results["paths"] = write_report(results, out)
        timings["report"] = time.perf_counter() - start
        _log(f"\nreport: {os.path.abspath(results['paths'].html)}")
    timings["total"] = time.perf_counter() - started
    _log(f"done in {timings['total']:.1f} s")
