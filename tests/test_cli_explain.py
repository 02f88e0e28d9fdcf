"""``sklearn-xai explain``: a saved model on a folder of image files."""

import cv2
import numpy as np
import pandas as pd
import pytest

from sklearn_xai.cli import main
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier, save_model

from .report._parse import parse_report, table_values


@pytest.fixture(scope="module")
def model_and_images(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain")
    X, y = load_digit_images(size=16, return_X_y=True)
    clf = CNNClassifier(max_epochs=2, random_state=0).fit(X[:600], y[:600])
    model_path = root / "digits.safetensors"
    save_model(clf, model_path)
    folder = root / "images"
    (folder / "nested").mkdir(parents=True)
    for i in range(5):
        # 8-bit files at twice the model's size, in colour: the command
        # converts them to the model's gray 16x16 input.
        image = (X[600 + i] * 255).astype(np.uint8)
        image = cv2.resize(image, (32, 32))
        target = folder / ("nested" if i == 4 else "") / f"digit{i}.png"
        cv2.imwrite(str(target), cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    (folder / "broken.png").write_bytes(b"not a png")
    (folder / "notes.txt").write_text("ignored: not an image name")
    return model_path, folder


def _explain(model_path, folder, out, *extra):
    return main(
        ["explain", "--model", str(model_path), "--images", str(folder),
         "--method", "saliency", "--method", "occlusion", "--out", str(out),
         "--no-progress", "--shard-size", "2", *extra]
    )  # fmt: skip


def test_explain_folder_writes_report_and_skips_unreadable(
    model_and_images, tmp_path, capsys
):
    model_path, folder = model_and_images
    assert _explain(model_path, folder, tmp_path) == 0
    out = capsys.readouterr().out
    assert "skipped" in out and "broken.png" in out and "notes.txt" not in out
    per_image = pd.read_csv(tmp_path / "per_image_metrics.csv")
    assert len(per_image) == 5 * 2
    assert per_image["file"].str.endswith("digit4.png").sum() == 2
    # 6 files in shards of 2: three shards of attributions
    shards = sorted((tmp_path / "shards").glob("attributions-*.npz"))
    assert len(shards) == 3
    with np.load(shards[0]) as shard:
        assert shard["saliency"].shape[1:] == (16, 16)
    # the summary table is the mean of the per-image scores
    metrics = pd.read_csv(tmp_path / "metrics.csv", index_col="method")
    means = per_image.groupby("method")["deletion AUC"].mean()
    np.testing.assert_allclose(metrics["deletion AUC"], means[metrics.index])
    parsed = parse_report(tmp_path / "report.html")
    shown = table_values(parsed, "metrics")
    assert shown["Occlusion", "sparseness"] == metrics.loc["Occlusion", "sparseness"]
    assert all(image is not None for image in parsed.images)


def test_explain_in_parallel_matches_serial(model_and_images, tmp_path):
    model_path, folder = model_and_images
    assert _explain(model_path, folder, tmp_path / "serial") == 0
    assert _explain(model_path, folder, tmp_path / "parallel", "--n-jobs", "2") == 0
    serial = pd.read_csv(tmp_path / "serial" / "per_image_metrics.csv")
    parallel = pd.read_csv(tmp_path / "parallel" / "per_image_metrics.csv")
    key = ["file", "method"]
    pd.testing.assert_frame_equal(
        serial.sort_values(key).reset_index(drop=True),
        parallel.sort_values(key).reset_index(drop=True),
    )


def test_explain_on_a_local_dask_cluster(model_and_images, tmp_path):
    distributed = pytest.importorskip("distributed")
    model_path, folder = model_and_images
    assert _explain(model_path, folder, tmp_path / "serial") == 0
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        code = _explain(
            model_path, folder, tmp_path / "dask", "--scheduler",
            cluster.scheduler_address,
        )  # fmt: skip
    assert code == 0
    serial = pd.read_csv(tmp_path / "serial" / "per_image_metrics.csv")
    on_dask = pd.read_csv(tmp_path / "dask" / "per_image_metrics.csv")
    key = ["file", "method"]
    pd.testing.assert_frame_equal(
        serial.sort_values(key).reset_index(drop=True),
        on_dask.sort_values(key).reset_index(drop=True),
    )


def _junk(path):
    path.write_text("junk")
    return path


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda root: root / "missing.safetensors", "does not exist"),
        (lambda root: _junk(root / "m.safetensors"), "is not a model saved by"),
    ],
    ids=["missing", "not-a-model"],
)
def test_bad_model_file_is_one_clear_line(
    model_and_images, tmp_path, capsys, setup, message
):
    _, folder = model_and_images
    code = _explain(setup(tmp_path), folder, tmp_path / "out")
    err = capsys.readouterr().err
    assert code == 1
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_no_images_is_an_error(model_and_images, tmp_path, capsys):
    model_path, _ = model_and_images
    empty = tmp_path / "empty"
    empty.mkdir()
    code = _explain(model_path, empty, tmp_path / "out")
    assert code == 1
    assert "no image files" in capsys.readouterr().err


def test_unreachable_scheduler_is_an_error(model_and_images, tmp_path, capsys):
    pytest.importorskip("distributed")
    model_path, folder = model_and_images
    code = _explain(model_path, folder, tmp_path, "--scheduler", "tcp://127.0.0.1:1")
    assert code == 1
    assert "cannot reach the dask scheduler" in capsys.readouterr().err
