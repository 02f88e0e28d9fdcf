"""The explanation methods the command-line jobs run, by command-line name."""

from __future__ import annotations

#: Command-line name -> (display name, kind). ``kind`` is "gradient" for the
#: methods that need the torch network, "black-box" for those that only call
#: ``predict_proba``.
METHODS = {
    "lime": ("LIME", "black-box"),
    "kernel_shap": ("Kernel SHAP", "black-box"),
    "occlusion": ("Occlusion", "black-box"),
    "rise": ("RISE", "black-box"),
    "saliency": ("Saliency", "gradient"),
    "integrated_gradients": ("Integrated Gradients", "gradient"),
    "smoothgrad": ("SmoothGrad", "gradient"),
    "gradcam": ("Grad-CAM", "gradient"),
    "gradcam_plus_plus": ("Grad-CAM++", "gradient"),
    "score_cam": ("Score-CAM", "gradient"),
    "guided_backprop": ("Guided Backprop", "gradient"),
}


def check_methods(names):
    """Validate command-line method names; None means every method."""
    if names is None:
        return list(METHODS)
    unknown = [name for name in names if name not in METHODS]
    if unknown:
        raise ValueError(
            f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}."
        )
    return list(dict.fromkeys(names))


def build_explainer(name, model, *, image_size, quick=False, random_state=0):
    """An unfitted explainer of ``model`` for the method ``name``.

    Settings scale with ``image_size`` (the shorter image side) and ``quick``
    (fewer samples); everything else is the library's default.
    """
    from .. import attribution as xai

    # LIME's balanced design and Kernel SHAP's paired, stratified one reach
    # at 256 samples the stability of lime's 1000 draws
    # (benchmarks/bench_sample_efficiency.py), at a quarter of the model calls.
    samples = 128 if quick else 256
    if name == "lime":
        return xai.LimeExplainer(model, n_samples=samples, random_state=random_state)
    if name == "kernel_shap":
        return xai.KernelShapExplainer(
            model, n_samples=samples, random_state=random_state
        )
    if name == "occlusion":
        window = max(2, image_size // 8)
        return xai.OcclusionExplainer(
            model, window=window, stride=max(1, window // 2), baseline=0.0
        )
    if name == "rise":
        return xai.RISEExplainer(
            model,
            n_masks=500 if quick else 2000,
            mask_size=max(2, min(8, image_size // 4)),
            random_state=random_state,
        )
    if name == "saliency":
        return xai.SaliencyExplainer(model)
    if name == "integrated_gradients":
        return xai.IntegratedGradientsExplainer(model, n_steps=16 if quick else 50)
    if name == "smoothgrad":
        return xai.SmoothGradExplainer(
            xai.SaliencyExplainer(model),
            n_samples=10 if quick else 25,
            random_state=random_state,
        )
    if name == "gradcam":
        return xai.GradCAMExplainer(model)
    if name == "gradcam_plus_plus":
        return xai.GradCAMPlusPlusExplainer(model)
    if name == "score_cam":
        return xai.ScoreCAMExplainer(model)
    if name == "guided_backprop":
        return xai.CaptumExplainer(model, method="GuidedBackprop")
    raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}.")
