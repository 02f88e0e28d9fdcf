import subprocess
import sys

import pandas as pd
import pytest

from sklearn_xai.cli import build_parser, main


def test_help_lists_demo(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "explain", "benchmark"):
        assert command in out


def test_demo_help_documents_options(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = capsys.readouterr().out
    for option in ("--dataset", "--quick", "--epochs", "--random-state"):
        assert option in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--bogus"], "unrecognized arguments: --bogus"),
        (["demo", "--dataset", "cifar"], "invalid choice: 'cifar'"),
        (["demo", "--epochs", "0"], "expected a positive integer"),
        (["demo", "--method", "magic"], "invalid choice: 'magic'"),
        (["explain", "--images", "x"], "the following arguments are required: --model"),
        (
            ["explain", "--model", "m", "--images", "x", "--shard-size", "0"],
            "expected a positive integer",
        ),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required"),
    ],
    ids=[
        "unknown-option",
        "bad-dataset",
        "bad-epochs",
        "bad-method",
        "no-model",
        "bad-shard-size",
        "bad-command",
        "none",
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_demo_runs_the_main_job_and_writes_the_report(capsys, tmp_path):
    out_dir = tmp_path / "out"
    code = main(
        ["demo", "--quick", "--epochs", "2", "--no-progress", "--out", str(out_dir),
         "--method", "saliency", "--method", "gradcam", "--method", "occlusion"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    line = next(s for s in out.splitlines() if s.startswith("held-out accuracy"))
    accuracy = float(line.split(":")[1])
    # Two epochs on digits are far above the 10% of guessing.
    assert 0.5 < accuracy <= 1.0
    assert "best LIME settings" in out and "surrogate tree: fidelity" in out
    metrics = pd.read_csv(out_dir / "metrics.csv", index_col="method")
    assert list(metrics.index) == ["Saliency", "Grad-CAM", "Occlusion"]
    families = {"deletion AUC", "max sensitivity", "sparseness", "random logit"}
    assert families <= set(metrics.columns)
    assert "pointing game" not in metrics.columns  # digits have no masks
    # None of these methods estimates a standard error: a dash, not a number.
    assert metrics["relative SE"].isna().all()
    assert (
        metrics.drop(columns=["param. randomization", "relative SE"])
        .notna()
        .all()
        .all()
    )
    # the printed table shows the CSV's numbers
    assert f"{metrics.loc['Grad-CAM', 'deletion AUC']:.4g}" in out
    assert (out_dir / "report.html").is_file()
    assert len(list((out_dir / "overlays").glob("*.png"))) == 3 * 8


def test_demo_on_shapes_scores_localization(capsys, tmp_path):
    code = main(
        ["demo", "--dataset", "shapes", "--quick", "--epochs", "2", "--no-progress",
         "--out", str(tmp_path), "--method", "gradcam"]
    )  # fmt: skip
    assert code == 0
    metrics = pd.read_csv(tmp_path / "metrics.csv", index_col="method")
    for column in ("pointing game", "relevance mass", "localization AUC"):
        assert 0.0 <= metrics.loc["Grad-CAM", column] <= 1.0


def test_python_dash_m_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_xai", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("sklearn-xai ")


def test_parser_defaults():
    args = build_parser().parse_args(["demo"])
    assert (args.dataset, args.quick, args.epochs) == ("digits", False, None)


def test_explain_help_documents_module_and_device(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    out = capsys.readouterr().out
    for option in ("--module", "PACKAGE.MODULE:CLASS", "--device"):
        assert option in out
