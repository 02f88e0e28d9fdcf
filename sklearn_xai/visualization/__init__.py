"""Overlays of attributions on images and scikit-learn style Display objects.

:func:`overlay_attribution` blends one attribution map onto an image with
OpenCV and returns an RGB array (for reports, or any image viewer). The
Displays draw with matplotlib, as scikit-learn's do: build one with
``from_explainer`` / ``from_estimator`` / ``from_attributions``, which
compute what is needed and call ``plot``; the drawn objects end in ``_``
(``figure_``, ``ax_`` or ``axes_``).

- :class:`AttributionDisplay`: a grid of overlays, images by methods, with
  the predicted label and probability.
- :class:`FaithfulnessCurveDisplay`: deletion or insertion curves with
  their AUC in the legend.
- :class:`SurrogateTreeDisplay`: a surrogate tree next to the image regions
  its splits test.
- :class:`SelectionDisplay`: the pixels a selector keeps, as a mask.

Importing this module imports neither matplotlib nor OpenCV; they are
imported when something is drawn.
"""

from ._attribution_display import AttributionDisplay
from ._curve_display import FaithfulnessCurveDisplay
from ._overlay import overlay_attribution
from ._selection_display import SelectionDisplay
from ._tree_display import SurrogateTreeDisplay

__all__ = [
    "AttributionDisplay",
    "FaithfulnessCurveDisplay",
    "SelectionDisplay",
    "SurrogateTreeDisplay",
    "overlay_attribution",
]
