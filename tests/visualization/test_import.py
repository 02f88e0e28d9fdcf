import subprocess
import sys

import sklearn_xai.visualization as visualization


def test_import_does_not_import_matplotlib_or_opencv():
    code = (
        "import sys, sklearn_xai.visualization; "
        "heavy = [m for m in ('matplotlib', 'cv2', 'torch') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"importing sklearn_xai.visualization imported {out}"


def test_all_is_sorted_and_public():
    assert visualization.__all__ == sorted(visualization.__all__)
    for name in visualization.__all__:
        assert getattr(visualization, name).__module__.startswith(
            "sklearn_xai.visualization._"
        )
