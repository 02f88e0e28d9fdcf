import shutil
import subprocess

import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch

from sklearn_xai._jobs.explaining import mean_curve
from sklearn_xai._jobs.scoring import METRICS, score_explanations
from sklearn_xai.attribution import OcclusionExplainer
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.preprocessing import ImageFlattener
from sklearn_xai.report import write_report
from sklearn_xai.surrogate import SurrogateTreeClassifier

from ._parse import best_cells, parse_report, table_values


@pytest.fixture(scope="module")
def results():
    X, y = load_digit_images(return_X_y=True)
    clf = make_pipeline(ImageFlattener(), LogisticRegression(max_iter=300))
    model = FrozenEstimator(clf.fit(X[:500], y[:500]))
    X_explain = X[500:506]
    rows, attributions, curves = {}, {}, {"deletion": {}, "insertion": {}}
    for name, window in (("occlusion 2", 2), ("occlusion 4", 4)):
        explainer = OcclusionExplainer(model, window=window, stride=1).fit(X[:50])
        maps = explainer.explain(X_explain)
        scores, method_curves, _ = score_explanations(
            explainer, X_explain, maps, families=["faithfulness", "complexity"],
            quick=True,
        )  # fmt: skip
        rows[name] = {k: float(np.mean(v)) for k, v in scores.items()}
        attributions[name] = maps
        for kind, curve in method_curves.items():
            curves[kind][name] = mean_curve(curve, scores[f"{kind} AUC"])
    metrics = pd.DataFrame.from_dict(rows, orient="index")
    surrogate = SurrogateTreeClassifier(model, grid_size=4, max_depth=3).fit(X[:300])
    return {
        "title": "test report",
        "summary": {"model": "LogisticRegression", "accuracy": 0.9},
        "images": X_explain,
        "captions": [f"image {i}" for i in range(len(X_explain))],
        "attributions": attributions,
        "metrics": metrics,
        "greater_is_better": {c: METRICS[c][1] for c in metrics.columns},
        "curves": curves,
        "tuning": Bunch(
            table=pd.DataFrame({"window": [2, 4], "deletion AUC": [0.2, 0.3]}),
            best_params={"window": 2},
            scoring="deletion AUC",
        ),
        "surrogate": Bunch(
            estimator=surrogate,
            rules=surrogate.export_text(),
            fidelity=surrogate.fidelity_,
            held_out_fidelity=surrogate.score(X[500:]),
        ),
        "notes": ["a note"],
        "skipped": [("broken.png", "not a readable image")],
        "settings": {"quick": True},
        "timings": {"total": 1.5},
    }


@pytest.fixture(scope="module")
def written(results, tmp_path_factory):
    return write_report(results, tmp_path_factory.mktemp("report"))


def test_report_parses_and_every_image_decodes(written, results):
    parsed = parse_report(written.html)
    n_images, n_methods = len(results["images"]), len(results["attributions"])
    # originals + overlays, two curve figures, the surrogate figure
    assert len(parsed.images) == n_images * (1 + n_methods) + 3
    assert all(image is not None and image.size > 0 for image in parsed.images)
    for section in (
        "Model and data",
        "Explanations",
        "Explanation quality",
        "Deletion and insertion curves",
        "Tuning LIME by explanation quality",
        "Global surrogate tree",
        "Notes",
        "Settings and timings",
    ):
        assert section in parsed.sections


def test_numbers_in_page_equal_metrics_csv(written, results):
    parsed = parse_report(written.html)
    csv = pd.read_csv(written.metrics_csv, index_col="method")
    shown = table_values(parsed, "metrics")
    assert len(shown) == csv.size
    for (method, column), value in shown.items():
        assert value == csv.loc[method, column]
    # the highlighted cell of each column is its best value in the CSV
    for column, methods in best_cells(parsed, "metrics").items():
        greater = results["greater_is_better"][column]
        best = csv[column].idxmax() if greater else csv[column].idxmin()
        assert best in methods


def test_png_files_are_written(written, results):
    n = len(results["images"]) * len(results["attributions"])
    overlays = [p for p in written.images if "overlays" in p]
    assert len(overlays) == n
    for path in written.images:
        assert cv2.imread(path) is not None


def test_missing_keys_and_mismatched_maps_raise(results, tmp_path):
    with pytest.raises(ValueError, match="missing"):
        write_report({"title": "t"}, tmp_path)
    bad = {**results, "attributions": {"m": np.zeros((2, 8, 8))}}
    with pytest.raises(ValueError, match="one per image"):
        write_report(bad, tmp_path)


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_browser() is None, reason="no headless browser installed")
def test_report_renders_in_a_headless_browser(written, tmp_path):
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            _browser(), "--headless", "--no-sandbox", "--disable-gpu",
            "--hide-scrollbars", "--window-size=1200,3000",
            f"--screenshot={shot}", f"file://{written.html}",
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (3000, 1200)
    # A rendered page, not a blank one: the dark header, text and heatmaps
    # give many distinct colours.
    assert image[:40].mean() < 100
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 500


def test_gallery_shows_images_at_their_own_resolution_up_to_a_cap(tmp_path):
    rng = np.random.default_rng(0)
    results = {
        "title": "files of their own sizes",
        "images": [rng.random((20, 30, 3)), rng.random((600, 300))],
        "attributions": {"m": rng.random((2, 8, 8))},  # the network's 8x8
        "metrics": pd.DataFrame({"sparseness": [0.5]}, index=["m"]),
        "n_images": 10,
    }
    written = write_report(results, tmp_path)
    parsed = parse_report(written.html)
    # originals, then their overlays: a 600x300 image is capped at 256 px.
    shapes = [image.shape[:2] for image in parsed.images]
    assert shapes == [(20, 30), (256, 128), (20, 30), (256, 128)]
    html = open(written.html, encoding="utf-8").read()
    assert "Showing 2 of 10 explained images" in html
