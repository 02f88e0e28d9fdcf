"""The runnable examples run offline and print their results."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_tune_explainer_example_picks_winners(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["tune_explainer.py", "--quick"])
    module = runpy.run_path(str(EXAMPLES / "tune_explainer.py"))
    lime_best, ig_best = module["main"](["--quick"])
    out = capsys.readouterr().out
    assert out.count("winning settings") >= 2
    assert set(lime_best) == {"n_samples", "segmentation"}
    assert ig_best["baseline"] in ("zeros", "mean", "blur")
