"""A small builder of self-contained HTML reports."""

from __future__ import annotations

import base64
import datetime
import html
import io
import math
import os
from numbers import Real

import numpy as np

__all__ = ["Report"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
color:#1d2330;background:#f6f7f9;line-height:1.45}
header{background:#1d2330;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:1.5em}header p{margin:4px 0 0;color:#c8cdd8}
main{max-width:1200px;margin:0 auto;padding:8px 32px 48px}
section{background:#fff;border-radius:8px;padding:12px 24px 20px;margin:18px 0;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{font-size:1.2em;border-bottom:1px solid #e3e6eb;padding-bottom:6px}
h3{font-size:1.02em;margin:18px 0 6px}
table{border-collapse:collapse;margin:8px 0;font-size:.92em}
th,td{border:1px solid #dfe3ea;padding:4px 10px;text-align:right}
th{background:#eef1f6}td.label,th.label{text-align:left}
td.best{background:#d7f5dc;font-weight:600}
caption{caption-side:bottom;text-align:left;color:#5b6475;font-size:.85em;padding-top:4px}
figure{display:inline-block;margin:6px;vertical-align:top;text-align:center}
figure img{image-rendering:pixelated;border:1px solid #dfe3ea;max-width:100%}
figcaption{font-size:.8em;color:#5b6475;max-width:220px;margin:auto}
pre{background:#f1f3f6;padding:10px;overflow-x:auto;font-size:.85em}
p.note{color:#5b6475;font-size:.9em}
summary{cursor:pointer;color:#2f5fb3;margin:6px 0}
div.scroll{overflow-x:auto}table.grid td.cell{padding:2px;border:none}
table.grid figure{margin:0}table.grid th{background:none;border:none}
table.grid th.caption{font-weight:normal;font-size:.75em;color:#5b6475;
text-align:center;max-width:110px}
"""


def png_bytes(image) -> bytes:
    """Encode an image (uint8 array or matplotlib figure) as PNG bytes.

    Bytes are taken as an already encoded PNG and returned as they are.
    """
    if isinstance(image, bytes):
        return image
    if hasattr(image, "savefig"):  # a matplotlib Figure
        buffer = io.BytesIO()
        image.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()
    import cv2

    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(
            f"image must be a uint8 array or a matplotlib Figure; got dtype "
            f"{array.dtype}."
        )
    if array.ndim == 3 and array.shape[-1] == 3:
        array = array[..., ::-1]  # OpenCV writes BGR
    elif not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 1)):
        raise ValueError(
            f"image must have shape (H, W), (H, W, 1) or (H, W, 3); got {array.shape}."
        )
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array))
    if not ok:  # pragma: no cover - OpenCV failure
        raise ValueError("could not encode the image as PNG.")
    return encoded.tobytes()


def format_value(value) -> str:
    """Format a table cell: floats to 4 significant digits, NaN as a dash."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, Real) and not isinstance(value, (int, np.integer)):
        value = float(value)
        if math.isnan(value):
            return "-"
        return f"{value:.4g}"
    return str(value)


class Report:
    """A self-contained HTML document: sections of text, tables and images.

    Every image is embedded as a base64 PNG, and the style sheet is inline,
    so the written file opens from disk with no network access. Tables of
    numbers can highlight the best value of each column, and each numeric
    cell carries its exact value in a ``data-value`` attribute, so what the
    page shows can be checked against the CSV it was made from.

    Parameters
    ----------
    title : str
        The page title.
    subtitle : str or None, default=None
        A line under the title (e.g. what produced the report).

    Attributes
    ----------
    sections : list of (str, list of str)
        Each section's title and HTML fragments, in order.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn_xai.report import Report
    >>> report = Report("Example")
    >>> report.add_section("Scores")
    >>> report.add_table(pd.DataFrame({"auc": [0.2, 0.5]}, index=["a", "b"]),
    ...                  greater_is_better={"auc": False})
    >>> report.add_image(np.zeros((8, 8, 3), np.uint8), caption="black")
    >>> page = report.to_html()
    >>> page.startswith("<!DOCTYPE html>"), 'class="best"' in page
    (True, True)
    """

    def __init__(self, title: str, *, subtitle: str | None = None):
        self.title = title
        self.subtitle = subtitle
        self.sections = []

    def _current(self):
        if not self.sections:
            self.add_section("Results")
        return self.sections[-1][1]

    def add_section(self, title: str, *, text: str | None = None) -> None:
        """Start a new section; later additions go into it.

        Parameters
        ----------
        title : str
            Its heading.
        text : str or None, default=None
            An optional first paragraph (plain text, escaped).
        """
        self.sections.append((str(title), []))
        if text:
            self.add_text(text)

    def add_heading(self, text: str) -> None:
        """Add a sub-heading to the current section."""
        self._current().append(f"<h3>{html.escape(str(text))}</h3>")

    def add_text(self, text: str, *, note: bool = False) -> None:
        """Add a paragraph of plain text (escaped) to the current section."""
        css = ' class="note"' if note else ""
        self._current().append(f"<p{css}>{html.escape(str(text))}</p>")

    def add_code(self, text: str, *, summary: str | None = None) -> None:
        """Add preformatted text (e.g. a decision tree's rules).

        Parameters
        ----------
        text : str
            The text, shown in a monospace block.
        summary : str or None, default=None
            When given, the block is folded under this clickable line.
        """
        block = f"<pre>{html.escape(str(text))}</pre>"
        if summary is not None:
            block = (
                f"<details><summary>{html.escape(summary)}</summary>{block}</details>"
            )
        self._current().append(block)

    def add_mapping(self, mapping, *, caption: str | None = None) -> None:
        """Add a two-column table of names and values.

        Parameters
        ----------
        mapping : dict
            Names to values; floats show 4 significant digits.
        caption : str or None, default=None
            Text under the table.
        """
        rows = "".join(
            f'<tr><th class="label">{html.escape(str(k))}</th>'
            f'<td class="label">{html.escape(format_value(v))}</td></tr>'
            for k, v in mapping.items()
        )
        self._current().append(f"<table>{_caption(caption)}{rows}</table>")

    def add_table(
        self,
        frame,
        *,
        greater_is_better: dict | None = None,
        caption: str | None = None,
        table_id: str | None = None,
    ) -> None:
        """Add a pandas DataFrame as a table, best value per column marked.

        Parameters
        ----------
        frame : pandas.DataFrame
            Rows and columns to show; the index is the first column.
        greater_is_better : dict or None, default=None
            Column name to direction; the best finite value of each listed
            column gets the ``best`` class (highlighted).
        caption : str or None, default=None
            Text under the table.
        table_id : str or None, default=None
            An ``id`` attribute, for finding the table in the page.
        """
        greater_is_better = greater_is_better or {}
        best = {}
        for column, greater in greater_is_better.items():
            if column not in frame.columns:
                raise ValueError(
                    f"greater_is_better names column {column!r}, which the table "
                    f"does not have; its columns are {list(frame.columns)}."
                )
            values = np.asarray(frame[column], dtype=float)
            finite = np.isfinite(values)
            if finite.any():
                pick = np.nanmax if greater else np.nanmin
                best[column] = pick(np.where(finite, values, np.nan))
        index_name = frame.index.name or ""
        head = f'<th class="label">{html.escape(str(index_name))}</th>' + "".join(
            f"<th>{html.escape(str(c))}{_arrow(greater_is_better.get(c))}</th>"
            for c in frame.columns
        )
        body = []
        for label, row in frame.iterrows():
            cells = [f'<th class="label">{html.escape(str(label))}</th>']
            for column, value in row.items():
                attrs = []
                if isinstance(value, Real) and not isinstance(value, bool):
                    attrs.append(f'data-value="{float(value)!r}"')
                    if column in best and float(value) == best[column]:
                        attrs.append('class="best"')
                else:
                    attrs.append('class="label"')
                attr_text = " ".join(attrs)
                cells.append(f"<td {attr_text}>{html.escape(format_value(value))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        ident = f' id="{html.escape(table_id)}"' if table_id else ""
        self._current().append(
            f"<table{ident}>{_caption(caption)}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
        )

    def add_image(self, image, *, caption: str | None = None, width=None) -> None:
        """Embed an image (uint8 array, RGB or gray, a Figure or PNG bytes).

        Parameters
        ----------
        image : ndarray of uint8, matplotlib.figure.Figure or bytes
            What to show; arrays are RGB ``(H, W, 3)`` or gray ``(H, W)``;
            bytes are an encoded PNG.
        caption : str or None, default=None
            Text under the image.
        width : int or None, default=None
            Display width in CSS pixels (small images are scaled up sharply).
        """
        self._current().append(_figure_html(image, caption, width))

    def add_gallery(self, images, captions=None, *, width=None) -> None:
        """Embed several images side by side.

        Parameters
        ----------
        images : sequence of ndarray, Figure or bytes
            The images (as for :meth:`add_image`).
        captions : sequence of str or None, default=None
            One caption per image.
        width : int or None, default=None
            Display width of each image in CSS pixels.
        """
        images = list(images)
        captions = [None] * len(images) if captions is None else list(captions)
        if len(captions) != len(images):
            raise ValueError(
                f"captions must have one entry per image ({len(images)}); got "
                f"{len(captions)}."
            )
        parts = "".join(
            _figure_html(image, caption, width)
            for image, caption in zip(images, captions, strict=True)
        )
        self._current().append(f"<div>{parts}</div>")

    def add_image_grid(self, rows, *, column_captions=None, width=None) -> None:
        """Embed a grid of images: one labelled row per entry of ``rows``.

        Parameters
        ----------
        rows : dict
            Row label (e.g. a method name) -> sequence of images (as for
            :meth:`add_image`), one per column.
        column_captions : sequence of str or None, default=None
            One caption per column, shown above the grid.
        width : int or None, default=None
            Display width of each image in CSS pixels.
        """
        rows = {str(label): list(images) for label, images in rows.items()}
        n_columns = max((len(images) for images in rows.values()), default=0)
        if column_captions is not None and len(column_captions) != n_columns:
            raise ValueError(
                f"column_captions must have one entry per column ({n_columns}); "
                f"got {len(column_captions)}."
            )
        head = ""
        if column_captions is not None:
            head = (
                "<thead><tr><th></th>"
                + "".join(
                    f'<th class="caption">{html.escape(str(c))}</th>'
                    for c in column_captions
                )
                + "</tr></thead>"
            )
        body = "".join(
            f'<tr><th class="label">{html.escape(label)}</th>'
            + "".join(
                f'<td class="cell">{_figure_html(image, None, width)}</td>'
                for image in images
            )
            + "</tr>"
            for label, images in rows.items()
        )
        self._current().append(
            f'<div class="scroll"><table class="grid">{head}<tbody>{body}</tbody>'
            "</table></div>"
        )

    def to_html(self) -> str:
        """The whole page as one HTML string."""
        subtitle = self.subtitle or (
            "generated " + datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        )
        toc = "".join(
            f'<li><a href="#s{i}">{html.escape(title)}</a></li>'
            for i, (title, _) in enumerate(self.sections)
        )
        body = "".join(
            f'<section id="s{i}"><h2>{html.escape(title)}</h2>{"".join(parts)}'
            "</section>"
            for i, (title, parts) in enumerate(self.sections)
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style>"
            f"</head><body><header><h1>{html.escape(self.title)}</h1>"
            f"<p>{html.escape(subtitle)}</p></header><main>"
            f"<section><h2>Contents</h2><ol>{toc}</ol></section>{body}"
            "</main></body></html>\n"
        )

    def write(self, path) -> str:
        """Write the page to ``path`` (UTF-8) and return the path."""
        path = os.fspath(path)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.to_html())
        return path


def _caption(caption):
    return f"<caption>{html.escape(caption)}</caption>" if caption else ""


def _arrow(greater):
    if greater is None:
        return ""
    return " ↑" if greater else " ↓"


def _figure_html(image, caption, width):
    data = base64.b64encode(png_bytes(image)).decode("ascii")
    alt = html.escape(caption or "image", quote=True)
    size = f' width="{int(width)}"' if width else ""
    text = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{alt}"{size}>'
        f"{text}</figure>"
    )
