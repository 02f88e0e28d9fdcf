import subprocess
import sys

import pytest

from sklearn_xai.cli import build_parser, main


def test_help_lists_demo(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "demo" in capsys.readouterr().out


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
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required"),
    ],
    ids=["unknown-option", "bad-dataset", "bad-epochs", "bad-command", "none"],
)
def test_usage_errors_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_demo_trains_and_prints_accuracy(capsys):
    code = main(["demo", "--quick", "--epochs", "1", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    line = next(s for s in out.splitlines() if s.startswith("held-out accuracy"))
    accuracy = float(line.split(":")[1])
    # One epoch on digits is far above the 10% of guessing.
    assert 0.3 < accuracy <= 1.0


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
