import numpy as np
import pandas as pd
import pytest

from sklearn_xai.report import Report

from ._parse import best_cells, parse_report, table_values


def test_table_highlights_best_per_direction_and_keeps_exact_values(tmp_path):
    frame = pd.DataFrame(
        {"auc": [0.3, 0.1, 0.2], "score": [1.0, 5.0, np.nan], "note": ["a", "b", "c"]},
        index=pd.Index(["x", "y", "z"], name="method"),
    )
    report = Report("t")
    report.add_table(
        frame, greater_is_better={"auc": False, "score": True}, table_id="m"
    )
    parsed = parse_report(report.write(tmp_path / "r.html"))
    assert best_cells(parsed, "m") == {"auc": ["y"], "score": ["y"]}
    values = table_values(parsed, "m")
    assert values["x", "auc"] == 0.3 and values["y", "score"] == 5.0
    assert np.isnan(values["z", "score"])


def test_images_and_figures_are_embedded_and_decode(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rgb = np.zeros((6, 7, 3), np.uint8)
    rgb[..., 0] = 255  # red
    gray = np.arange(20, dtype=np.uint8).reshape(4, 5)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    report = Report("images")
    report.add_image(rgb, caption="red")
    report.add_gallery([gray, gray], ["a", "b"])
    report.add_image_grid({"row": [rgb, rgb]}, column_captions=["c1", "c2"])
    report.add_image(fig)
    plt.close(fig)
    parsed = parse_report(report.write(tmp_path / "r.html"))
    assert len(parsed.images) == 6
    assert all(image is not None for image in parsed.images)
    # OpenCV reads BGR: the red image comes back red.
    assert parsed.images[0].shape == (6, 7, 3)
    assert parsed.images[0][..., 2].min() == 255 and parsed.images[0][..., 0].max() == 0
    np.testing.assert_array_equal(parsed.images[1], gray)


def test_text_is_escaped():
    report = Report("<b>title</b>")
    report.add_section("s", text="<script>alert(1)</script>")
    report.add_code("a < b")
    page = report.to_html()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>title</b>" not in page


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda r: r.add_table(pd.DataFrame({"a": [1]}), greater_is_better={"b": 1}),
            "greater_is_better names column 'b'",
        ),
        (lambda r: r.add_image(np.zeros((2, 2))), "uint8 array or a matplotlib"),
        (lambda r: r.add_image(np.zeros((2, 2, 5), np.uint8)), r"\(H, W, 3\)"),
        (
            lambda r: r.add_gallery([np.zeros((2, 2), np.uint8)], ["a", "b"]),
            "one entry per image",
        ),
        (
            lambda r: r.add_image_grid(
                {"r": [np.zeros((2, 2), np.uint8)]}, column_captions=[]
            ),
            "one entry per column",
        ),
    ],
    ids=["unknown-column", "float-image", "five-channels", "captions", "grid-captions"],
)
def test_bad_input_raises(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(Report("t"))
