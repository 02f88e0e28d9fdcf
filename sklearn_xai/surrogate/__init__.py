"""Global surrogates: interpretable models that mimic a black-box classifier.

A surrogate is fitted to the black box's *predictions* on interpretable
features of the images (mean intensities of grid cells or superpixels), and
reports its ``fidelity_``, the fraction of images on which it agrees with the
black box. :class:`SurrogateTreeClassifier` is the decision-tree case, with
its rules printed (:meth:`~SurrogateTreeClassifier.export_text`) and drawn on
the image (:meth:`~SurrogateTreeClassifier.plot_tree`).
"""

from ._features import GridFeatures, SuperpixelFeatures
from ._surrogate import SurrogateClassifier
from ._tree import SurrogateTreeClassifier

__all__ = [
    "GridFeatures",
    "SuperpixelFeatures",
    "SurrogateClassifier",
    "SurrogateTreeClassifier",
]
