"""The README's Python snippets run, in order, and explain for real.

Every ```python block of README.md runs, in order, in one fresh process, as
a reader would paste them, except those marked by an HTML comment on the line
before the fence (invisible on GitHub)::

    <!-- readme-test: skip (why) -->

for snippets that download weights, read the reader's own files or change
global settings. Every attribution map an explainer returns while they run
must be a real explanation: a constant map (all pixels equal, e.g. the
all-zero LIME maps the quickstart used to give on 8x8 digits) fails the test,
and so does any ``DegenerateExplanationWarning`` (from an explainer's set-up,
its maps or a metric), which the run turns into an error.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b.*?-->")
FENCE = re.compile(r"^```(\w*)\s*$")

#: Run before the README's code: explanations are checked as they are made.
PRELUDE = """
import warnings

import numpy as np

from sklearn_xai.base import BaseExplainer
from sklearn_xai.metrics import DegenerateExplanationWarning
from sklearn_xai.metrics._checks import degenerate_maps

warnings.simplefilter("error", DegenerateExplanationWarning)
EXPLAINED = []
_explain = BaseExplainer.explain


def _checked_explain(self, X, *args, **kwargs):
    result = _explain(self, X, *args, **kwargs)
    maps = np.asarray(result[0] if isinstance(result, tuple) else result)
    constant = degenerate_maps(maps)
    if constant.any():
        raise AssertionError(
            f"{type(self).__name__} returned {int(constant.sum())} constant "
            f"map(s) of {len(maps)} in a README snippet"
        )
    EXPLAINED.append((type(self).__name__, len(maps)))
    return result


BaseExplainer.explain = _checked_explain
"""

EPILOGUE = """
print("EXPLAINED", sorted({name for name, _ in EXPLAINED}))
"""


def readme_blocks(text):
    """``(python blocks to run, skipped python blocks)`` of a README's text."""
    run, skipped = [], []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        language = match.group(1)
        previous = next((line for line in reversed(lines[:i]) if line.strip()), "")
        end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        code = "\n".join(lines[i + 1 : end])
        if language == "python":
            (skipped if SKIP.search(previous) else run).append(code)
        i = end + 1
    return run, skipped


def test_readme_blocks_are_found():
    run, skipped = readme_blocks(README.read_text(encoding="utf-8"))
    assert len(run) >= 4
    # What runs explains with LIME (the quickstart's former all-zero maps).
    assert any("LimeExplainer(" in block for block in run)
    # Snippets that download weights or read the reader's files are marked.
    assert not any("pretrained=True" in block or "from_pretrained" in block
                   for block in run)  # fmt: skip
    assert skipped


def test_marker_skips_only_the_next_block():
    text = (
        "<!-- readme-test: skip (downloads) -->\n```python\na = 1\n```\n\n"
        "```python\nb = 2\n```\n```bash\nls\n```\n"
    )
    assert readme_blocks(text) == (["b = 2"], ["a = 1"])


@pytest.mark.slow
def test_readme_snippets_run_and_explain_for_real(tmp_path):
    run, _ = readme_blocks(README.read_text(encoding="utf-8"))
    script = tmp_path / "readme.py"
    script.write_text(PRELUDE + "\n\n".join(run) + EPILOGUE, encoding="utf-8")
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA", "AVX2"),
        "PYTHONWARNINGS": "ignore::FutureWarning",
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # the quickstart saves a model file
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    explained = [line for line in result.stdout.splitlines() if "EXPLAINED" in line]
    assert explained, result.stdout[-2000:]
    for name in ("LimeExplainer", "IntegratedGradientsExplainer", "GradCAMExplainer"):
        assert name in explained[0], explained[0]
