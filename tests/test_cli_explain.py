"""``sklearn-xai explain``: a saved model on a folder of image files."""

import textwrap

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.pipeline import Pipeline

from sklearn_xai.cli import main
from sklearn_xai.datasets import load_digit_images
from sklearn_xai.neural_network import CNNClassifier, TorchClassifier, save_model
from sklearn_xai.preprocessing import ImageNormalizer, ImageReader, ImageResizer

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
    # The gallery shows the files at their own 32x32 resolution (the maps,
    # made at the network's 16x16, are resized onto them), and says how many.
    n_shown = 5 * (1 + 2)
    assert [im.shape[:2] for im in parsed.images[:n_shown]] == [(32, 32)] * n_shown
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Showing 5 of 5 explained images" in html


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


def test_missing_images_folder_does_not_exist(model_and_images, tmp_path, capsys):
    model_path, _ = model_and_images
    code = _explain(model_path, tmp_path / "missing", tmp_path / "out")
    err = capsys.readouterr().err
    assert code == 1
    assert "missing' does not exist" in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_one_line(model_and_images, tmp_path, capsys):
    model_path, folder = model_and_images
    code = _explain(model_path, folder, tmp_path, "--device", "cuda")
    err = capsys.readouterr().err
    assert code == 1
    assert "CUDA is not available" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def _predicted(out):
    """File name -> predicted label, from per_image_metrics.csv."""
    table = pd.read_csv(out / "per_image_metrics.csv", dtype={"predicted": str})
    return dict(zip(table["file"], table["predicted"], strict=True))


@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_saved_pipeline_predicts_what_the_pipeline_predicts(tmp_path, dtype):
    """The files are read as the pipeline was fitted (uint8 or [0, 1]) and go
    through its preprocessing: the labels are the pipeline's own."""
    X, y = load_digit_images(return_X_y=True)  # 8x8 floats in [0, 1]
    X8 = np.rint(X * 255).astype(np.uint8)
    pipe = Pipeline(
        [
            ("resize", ImageResizer(size=16)),
            ("normalize", ImageNormalizer()),
            ("cnn", CNNClassifier(max_epochs=2, random_state=0)),
        ]
    ).fit(X8[:500] if dtype == "uint8" else X[:500], y[:500])
    model_path = tmp_path / "pipe.safetensors"
    save_model(pipe, model_path)
    folder = tmp_path / "images"
    folder.mkdir()
    files = [str(folder / f"digit{i}.png") for i in range(12)]
    for i, name in enumerate(files):
        cv2.imwrite(name, X8[1000 + i])
    out = tmp_path / "out"
    code = main(
        ["explain", "--model", str(model_path), "--images", str(folder),
         "--method", "saliency", "--out", str(out), "--no-progress"]
    )  # fmt: skip
    assert code == 0
    decoded = ImageReader(color="gray", dtype=dtype).fit_transform(files)
    expected = dict(zip(files, pipe.predict(decoded).astype(str), strict=True))
    assert _predicted(out) == expected


NETS = textwrap.dedent(
    """
    from torch import nn


    class TinyNet(nn.Module):
        def __init__(self, in_channels=1, n_classes=2, width=4):
            super().__init__()
            self.in_channels, self.n_classes, self.width = in_channels, n_classes, width
            self.conv = nn.Conv2d(in_channels, width, 3, padding=1)
            self.head = nn.Sequential(
                nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                nn.Linear(4 * width, n_classes),
            )

        def forward(self, x):
            return self.head(self.conv(x))
    """
)


@pytest.fixture(scope="module")
def tiny_net(tmp_path_factory):
    """A network class of the user's own, importable as xai_cli_nets:TinyNet."""
    root = tmp_path_factory.mktemp("nets")
    (root / "xai_cli_nets.py").write_text(NETS)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        import xai_cli_nets

        yield xai_cli_nets.TinyNet


@pytest.mark.parametrize("kind", ["class", "instance"])
def test_custom_network_class_with_module_option(
    model_and_images, tiny_net, tmp_path, capsys, kind
):
    _, folder = model_and_images
    X, y = load_digit_images(size=16, return_X_y=True)
    if kind == "class":
        clf = CNNClassifier(module=tiny_net, max_epochs=1, random_state=0)
        clf.fit(X[:300], y[:300])
    else:
        torch.manual_seed(0)
        net = tiny_net(in_channels=1, n_classes=10, width=3)
        clf = TorchClassifier(net, classes=np.arange(10)).fit(X[:8])
    model_path = tmp_path / "tiny.safetensors"
    save_model(clf, model_path)

    code = _explain(model_path, folder, tmp_path / "refused")
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "--module xai_cli_nets:TinyNet" in err and "module=TinyNet" in err

    out = tmp_path / "out"
    extra = ["--module", "xai_cli_nets:TinyNet"]
    if kind == "class":
        extra += ["--n-jobs", "2"]  # the workers import the class too
    assert _explain(model_path, folder, out, *extra) == 0
    files = sorted(_predicted(out))
    decoded = [
        cv2.resize(cv2.imread(name, cv2.IMREAD_GRAYSCALE), (16, 16)) for name in files
    ]
    decoded = np.stack(decoded).astype(np.float32) / 255
    expected = dict(zip(files, clf.predict(decoded).astype(str), strict=True))
    assert _predicted(out) == expected


def test_module_option_that_cannot_be_imported(model_and_images, tmp_path, capsys):
    model_path, folder = model_and_images
    code = _explain(model_path, folder, tmp_path, "--module", "no_such_pkg_xyz:Net")
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "--module: cannot import the network class" in err


def test_unreachable_scheduler_is_an_error(model_and_images, tmp_path, capsys):
    pytest.importorskip("distributed")
    model_path, folder = model_and_images
    code = _explain(model_path, folder, tmp_path, "--scheduler", "tcp://127.0.0.1:1")
    assert code == 1
    assert "cannot reach the dask scheduler" in capsys.readouterr().err


def test_pipeline_starting_with_an_image_reader(model_and_images, tmp_path):
    """The reader's settings decode the files; the rest is explained."""
    _, folder = model_and_images
    files = sorted(str(p) for p in folder.rglob("digit*.png"))
    pipe = Pipeline(
        [
            ("read", ImageReader(color="gray", size=16)),
            ("normalize", ImageNormalizer()),
            ("cnn", CNNClassifier(max_epochs=1, random_state=0)),
        ]
    ).fit(files, [0, 1, 2, 3, 4])
    model_path = tmp_path / "reader.safetensors"
    save_model(pipe, model_path)
    assert _explain(model_path, folder, tmp_path / "out") == 0
    expected = dict(zip(files, pipe.predict(files).astype(str), strict=True))
    assert _predicted(tmp_path / "out") == expected


def test_bare_model_fitted_on_standardized_images_warns(
    model_and_images, tmp_path, capsys
):
    _, folder = model_and_images
    X, y = load_digit_images(size=16, return_X_y=True)
    clf = CNNClassifier(max_epochs=1, random_state=0).fit((X[:200] - 0.5) * 4, y[:200])
    assert clf.input_range_ is None
    model_path = tmp_path / "standardized.safetensors"
    save_model(clf, model_path)
    assert _explain(model_path, folder, tmp_path / "out") == 0
    assert "save_model(pipeline)" in capsys.readouterr().err
