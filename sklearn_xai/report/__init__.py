"""Self-contained HTML reports of explanations.

:class:`Report` builds a page of sections, tables and embedded images that
opens from disk with no network access; :func:`write_report` writes the
standard report of a run (the one ``sklearn-xai demo`` and ``sklearn-xai
explain`` leave): galleries of heatmaps per method, the metrics table with
the best values highlighted, deletion / insertion curves, tuning results,
the surrogate tree, settings and timings, plus ``metrics.csv`` and PNGs.
"""

from ._explanation import write_report
from ._html import Report

__all__ = ["Report", "write_report"]
