"""Attribution explainers: one scikit-learn meta-estimator per method.

Every explainer is a :class:`~sklearn_xai.base.BaseExplainer`:
``fit(X, y=None)`` prepares the model (a ``FrozenEstimator`` is used as is),
``explain(X, target=None)`` returns float32 attributions ``(n, H, W)`` and
``transform`` their flattened form.
"""

from ._captum import CaptumExplainer
from ._gradcam import GradCAMExplainer
from ._gradcam_plus_plus import GradCAMPlusPlusExplainer
from ._integrated_gradients import IntegratedGradientsExplainer
from ._kernel_shap import KernelShapExplainer
from ._lime import LimeExplainer
from ._occlusion import OcclusionExplainer
from ._rise import RISEExplainer
from ._saliency import SaliencyExplainer
from ._score_cam import ScoreCAMExplainer
from ._smoothgrad import SmoothGradExplainer

__all__ = [
    "CaptumExplainer",
    "GradCAMExplainer",
    "GradCAMPlusPlusExplainer",
    "IntegratedGradientsExplainer",
    "KernelShapExplainer",
    "LimeExplainer",
    "OcclusionExplainer",
    "RISEExplainer",
    "SaliencyExplainer",
    "ScoreCAMExplainer",
    "SmoothGradExplainer",
]
