"""The pixel-selection example: attribution-chosen pixels beat random ones."""

import importlib.util
from pathlib import Path

import pytest
import torch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "select_pixels.py"
ATTRIBUTION_COLUMNS = ["IG (CNN)", "Saliency (CNN)", "Occlusion (logreg)"]


def load_example():
    spec = importlib.util.spec_from_file_location("select_pixels", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def one_torch_thread():
    # The example trains and explains a CNN many times; two OpenMP threads
    # competing with other processes on a small machine run many times slower.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.mark.slow
def test_attribution_pixels_beat_random_pixels(capsys, one_torch_thread):
    table = load_example().main(["--quick"])
    assert "Held-out accuracy" in capsys.readouterr().out
    assert list(table.index) == [4, 8, 16, 32]
    for column in [*ATTRIBUTION_COLUMNS, "SelectKBest(mutual_info)"]:
        assert (table[column] > table["random (mean)"]).all(), column
        assert table[column].mean() > table["random (mean)"].mean() + 0.03, column
    # More pixels, more accuracy.
    assert table[ATTRIBUTION_COLUMNS].diff().iloc[1:].gt(0).all().all()
