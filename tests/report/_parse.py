"""Read back what a report page holds (standard-library HTML parser)."""

import base64
from html.parser import HTMLParser

import cv2
import numpy as np


class ReportParser(HTMLParser):
    """Collects embedded images and the cells of tables with an ``id``."""

    def __init__(self):
        super().__init__()
        self.images = []  # decoded arrays (None when not decodable)
        self.tables = {}  # id -> list of rows (list of (attrs, text))
        self.sections = []
        self._table = None
        self._row = None
        self._cell = None
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            src = attrs.get("src", "")
            prefix = "data:image/png;base64,"
            assert src.startswith(prefix), src[:40]
            data = np.frombuffer(base64.b64decode(src[len(prefix) :]), np.uint8)
            self.images.append(cv2.imdecode(data, cv2.IMREAD_UNCHANGED))
        elif tag == "table" and "id" in attrs:
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = [attrs, ""]
        elif tag == "h2":
            self._in_h2 = True
            self.sections.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(tuple(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data
        if self._in_h2:
            self.sections[-1] += data


def parse_report(path):
    parser = ReportParser()
    with open(path, encoding="utf-8") as handle:
        parser.feed(handle.read())
    parser.close()
    return parser


def table_values(parser, table_id):
    """{(row label, column name): float} of a table's numeric cells."""
    rows = parser.tables[table_id]
    header = [text.strip().rstrip("↑↓ ").strip() for _, text in rows[0]]
    values = {}
    for row in rows[1:]:
        label = row[0][1].strip()
        for name, (attrs, _) in zip(header[1:], row[1:], strict=True):
            if "data-value" in attrs:
                values[label, name] = float(attrs["data-value"])
    return values


def best_cells(parser, table_id):
    """{column: row label} of the highlighted cells."""
    rows = parser.tables[table_id]
    header = [text.strip().rstrip("↑↓ ").strip() for _, text in rows[0]]
    best = {}
    for row in rows[1:]:
        for name, (attrs, _) in zip(header[1:], row[1:], strict=True):
            if attrs.get("class") == "best":
                best.setdefault(name, []).append(row[0][1].strip())
    return best
