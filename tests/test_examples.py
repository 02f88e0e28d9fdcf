"""Every gallery example (``examples/plot_*.py``) runs offline, in its quick mode.

The documentation build (``make docs``) executes the examples in their full
mode; these tests prove that they run even where the docs are not built.
"""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ALL_EXAMPLES = sorted(path.name for path in EXAMPLES.glob("plot_*.py"))
#: Examples whose quick mode takes more than a few seconds (4-9 s each on one
#: thread); the others are fast enough to run unmarked.
SLOW = {
    "plot_cluster_explanations.py",
    "plot_compare_methods.py",
    "plot_select_pixels.py",
    "plot_tune_explainer.py",
}


@pytest.fixture
def run_example(monkeypatch):
    """Run an example as ``python examples/NAME --quick``; return its globals."""
    import matplotlib
    import torch
    from threadpoolctl import threadpool_limits

    monkeypatch.setenv("MPLBACKEND", "Agg")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # The examples train and explain CNNs: on a small machine shared with
    # other test workers, competing OpenMP/BLAS threads run many times slower.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)

    def run(name):
        monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), "--quick"])
        with threadpool_limits(1):
            return runpy.run_path(str(EXAMPLES / name), run_name="__main__")

    yield run
    plt.close("all")
    torch.set_num_threads(n_threads)


def check_tune_explainer(module, out):
    assert out.count("winning settings") >= 2
    assert set(module["lime_search"].best_params_) == {"n_samples", "segmentation"}
    assert module["ig_search"].best_params_["baseline"] in ("zeros", "mean", "blur")


def check_select_pixels(module, out):
    # Attribution-chosen pixels beat random ones.
    assert "Held-out accuracy" in out
    table = module["table"]
    assert list(table.index) == [4, 8, 16, 32]
    attribution_columns = ["IG (CNN)", "Saliency (CNN)", "Occlusion (logreg)"]
    for column in [*attribution_columns, "SelectKBest(mutual_info)"]:
        assert (table[column] > table["random (mean)"]).all(), column
        assert table[column].mean() > table["random (mean)"].mean() + 0.03, column
    # More pixels, more accuracy.
    assert table[attribution_columns].diff().iloc[1:].gt(0).all().all()


def check_cluster_explanations(module, out):
    # The explanations of watermarked and clean images fall in two clusters.
    assert module["ari"] > 0.5


def check_compare_methods(module, out):
    table = module["table"]
    assert list(table.index) == list(module["explainers"])
    assert table.notna().all().all()


#: Checks of an example's results beyond "it runs": (globals, stdout) -> None.
CHECKS = {
    "plot_cluster_explanations.py": check_cluster_explanations,
    "plot_compare_methods.py": check_compare_methods,
    "plot_select_pixels.py": check_select_pixels,
    "plot_tune_explainer.py": check_tune_explainer,
}


def test_every_example_is_tested():
    assert ALL_EXAMPLES, "no examples/plot_*.py found"
    assert SLOW <= set(ALL_EXAMPLES)
    assert set(CHECKS) <= set(ALL_EXAMPLES)
    assert (EXAMPLES / "README.txt").exists()  # the gallery's header


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name
        for name in ALL_EXAMPLES
    ],
)
def test_example_runs(run_example, capsys, name):
    module = run_example(name)
    assert module["QUICK"] is True
    if name in CHECKS:
        CHECKS[name](module, capsys.readouterr().out)


def test_examples_honour_the_environment_variable(monkeypatch):
    # Without --quick, the environment variable alone selects the quick mode.
    monkeypatch.setattr(sys, "argv", ["plot_pipeline_quickstart.py"])
    monkeypatch.setenv("SKLEARN_XAI_EXAMPLES_QUICK", "1")
    source = (EXAMPLES / "plot_pipeline_quickstart.py").read_text()
    header = source.split("X, y = load_digit_images")[0]
    namespace = {"__name__": "__main__"}
    exec(compile(header, "plot_pipeline_quickstart.py", "exec"), namespace)
    assert namespace["QUICK"] is True
    monkeypatch.setenv("SKLEARN_XAI_EXAMPLES_QUICK", "0")
    namespace = {"__name__": "__main__"}
    exec(compile(header, "plot_pipeline_quickstart.py", "exec"), namespace)
    assert namespace["QUICK"] is False
