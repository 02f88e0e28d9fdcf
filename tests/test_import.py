import subprocess
import sys


def test_import_is_light():
    code = (
        "import sys, sklearn_xai; "
        "heavy = [m for m in ('torch', 'cv2', 'matplotlib') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"importing sklearn_xai imported {out}"


def test_version():
    import sklearn_xai

    assert sklearn_xai.__version__.count(".") >= 2
