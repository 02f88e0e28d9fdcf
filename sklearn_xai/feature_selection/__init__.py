"""Feature selection driven by attributions.

:class:`SelectFromAttributions` keeps the pixels that an explainer finds most
relevant over the training images. For mutual information, correlation and
F-tests, compose scikit-learn's own :class:`~sklearn.feature_selection.SelectKBest`
with :class:`~sklearn_xai.preprocessing.ImageFlattener`.
"""

from ._from_attributions import SelectFromAttributions

__all__ = ["SelectFromAttributions"]
