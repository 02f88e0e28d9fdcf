"""Gradient (and occlusion) explainers against calling captum directly.

Same model (a SmallCNN in a CNNClassifier trained briefly on synthetic shape
images), same images, same targets, measured in one run, interleaved (ours,
captum, ours, captum, ...) so that load from other processes hits both
alike; the median of the repeats is reported with the ratio ours / captum.

The captum side is what a user would write: convert the channels-last numpy
images to a channels-first tensor, put the network in eval mode, call the
captum method on all images at once, reduce channels as our explainer does
and convert back to numpy. Methods compared:

* ``SaliencyExplainer`` / ``captum.attr.Saliency`` (abs, max over channels);
* ``IntegratedGradientsExplainer`` / ``captum.attr.IntegratedGradients``
  (zero baseline, 50 Gauss-Legendre steps, channel sum), captum both with all
  path points in one pass and with ``internal_batch_size`` equal to ours;
* ``GradCAMExplainer`` / ``captum.attr.LayerGradCam`` at the last convolution,
  upsampled bilinearly to the input;
* ``OcclusionExplainer`` / ``captum.attr.Occlusion`` on the softmax output,
  when ``sklearn_xai.attribution.OcclusionExplainer`` exists;
* ``GradCAMPlusPlusExplainer`` and ``ScoreCAMExplainer`` against our own
  Grad-CAM (captum has neither);
* ``CaptumExplainer("DeepLift")`` and ``("GuidedBackprop")`` against the
  captum class called directly (the bridge's overhead);
* ``SmoothGradExplainer`` over saliency against captum's ``NoiseTunnel``
  (16 samples), when it exists;
* Kernel SHAP's table from ``benchmarks/_bench_kernel_shap.py``, when it
  exists.

Each line also shows the largest absolute difference between the two
results. Run ``python benchmarks/bench_attribution.py`` (``--quick`` for a
short run, ``--device cuda`` on a GPU machine, ``--threads 1`` for steadier
CPU timings on a loaded machine).
"""

from __future__ import annotations

import _environment  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before torch loads)

# isort: split

import argparse
import statistics
import time

import numpy as np
import torch
from captum.attr import (
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    Occlusion,
    Saliency,
)
from sklearn.frozen import FrozenEstimator

from sklearn_xai import attribution
from sklearn_xai.attribution import (
    GradCAMExplainer,
    IntegratedGradientsExplainer,
    SaliencyExplainer,
)
from sklearn_xai.datasets import make_shape_images
from sklearn_xai.neural_network import CNNClassifier


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _timed(fn, device):
    _sync(device)
    start = time.perf_counter()
    result = fn()
    _sync(device)
    return time.perf_counter() - start, result


def _tensor(images, device):
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).to(
        device
    )


def build_cases(clf, images, targets, *, batch_size, n_steps, window, stride):
    """``{name: (ours, captum)}`` of zero-argument callables returning maps."""
    module = clf.module_
    device = clf.device_
    target_tensor = torch.as_tensor(targets, device=device)
    frozen = FrozenEstimator(clf)
    size = images.shape[1:3]
    n_channels = images.shape[3]

    def fitted(explainer):
        return explainer.fit(images[:2])

    saliency = fitted(SaliencyExplainer(frozen, batch_size=batch_size))

    def captum_saliency():
        inputs = _tensor(images, device).requires_grad_()
        grads = Saliency(module.eval()).attribute(inputs, target=target_tensor)
        return grads.max(dim=1).values.cpu().numpy()

    ig = fitted(
        IntegratedGradientsExplainer(frozen, n_steps=n_steps, batch_size=batch_size)
    )

    def captum_ig(internal_batch_size=None):
        def run():
            attributions = IntegratedGradients(module.eval()).attribute(
                _tensor(images, device),
                target=target_tensor,
                n_steps=n_steps,
                internal_batch_size=internal_batch_size,
            )
            return attributions.sum(dim=1).detach().cpu().numpy()

        return run

    gradcam = fitted(GradCAMExplainer(frozen, batch_size=batch_size))

    def captum_gradcam():
        layer = module.get_submodule(gradcam.layer_)
        cam = LayerGradCam(module.eval(), layer).attribute(
            _tensor(images, device), target=target_tensor, relu_attributions=True
        )
        cam = LayerAttribution.interpolate(cam, size, interpolate_mode="bilinear")
        return cam[:, 0].detach().cpu().numpy()

    cases = {
        "saliency": (lambda: saliency.explain(images, targets), captum_saliency),
        "integrated_gradients": (lambda: ig.explain(images, targets), captum_ig()),
        "integrated_gradients (captum batched)": (
            lambda: ig.explain(images, targets),
            captum_ig(internal_batch_size=batch_size),
        ),
        "gradcam": (lambda: gradcam.explain(images, targets), captum_gradcam),
    }

    cases.update(_new_method_cases(clf, images, targets, batch_size=batch_size))

    occlusion_cls = getattr(attribution, "OcclusionExplainer", None)
    if occlusion_cls is None:
        print(
            "skipping occlusion: sklearn_xai.attribution.OcclusionExplainer "
            "does not exist yet"
        )
        return cases
    occlusion = fitted(
        occlusion_cls(frozen, window=window, stride=stride, batch_size=batch_size)
    )

    def probabilities(x):
        return torch.softmax(module(x), dim=1)

    def captum_occlusion():
        with torch.no_grad():
            maps = Occlusion(probabilities).attribute(
                _tensor(images, device),
                sliding_window_shapes=(n_channels, window, window),
                strides=(n_channels, stride, stride),
                baselines=0.0,
                target=target_tensor,
                perturbations_per_eval=batch_size,
            )
        return maps.mean(dim=1).cpu().numpy()

    module.eval()
    cases["occlusion"] = (lambda: occlusion.explain(images, targets), captum_occlusion)
    return cases


def _new_method_cases(clf, images, targets, *, batch_size):
    """Grad-CAM++, Score-CAM, CaptumExplainer and SmoothGrad cases.

    captum has no Grad-CAM++ or Score-CAM: those are timed against our own
    Grad-CAM (their ``max |diff|`` is NaN: different maps by design).
    CaptumExplainer is timed against the same captum class called directly;
    SmoothGrad against captum's NoiseTunnel over Saliency (random noise:
    no diff).
    """
    from captum.attr import DeepLift, GuidedBackprop, NoiseTunnel

    module = clf.module_
    device = clf.device_
    target_tensor = torch.as_tensor(targets, device=device)
    frozen = FrozenEstimator(clf)
    nan = np.full(images.shape[:3], np.nan)

    def fitted(explainer):
        return explainer.fit(images[:2])

    gradcam = fitted(attribution.GradCAMExplainer(frozen, batch_size=batch_size))
    plus = fitted(attribution.GradCAMPlusPlusExplainer(frozen, batch_size=batch_size))
    score = fitted(attribution.ScoreCAMExplainer(frozen, batch_size=batch_size))

    def ours_gradcam():
        gradcam.explain(images, targets)
        return nan

    cases = {
        "gradcam++ (ref: our gradcam)": (
            lambda: plus.explain(images, targets),
            ours_gradcam,
        ),
        "score_cam (ref: our gradcam)": (
            lambda: score.explain(images, targets),
            ours_gradcam,
        ),
    }
    for name, cls in (("DeepLift", DeepLift), ("GuidedBackprop", GuidedBackprop)):
        bridge = fitted(
            attribution.CaptumExplainer(frozen, method=name, batch_size=batch_size)
        )

        def direct(cls=cls):
            inputs = _tensor(images, device).requires_grad_()
            maps = cls(module.eval()).attribute(inputs, target=target_tensor)
            return maps.sum(dim=1).detach().cpu().numpy()

        cases[f"captum_explainer {name}"] = (
            lambda bridge=bridge: bridge.explain(images, targets),
            direct,
        )
    smoothgrad_cls = getattr(attribution, "SmoothGradExplainer", None)
    if smoothgrad_cls is None:
        print("skipping smoothgrad: SmoothGradExplainer does not exist yet")
        return cases
    n_samples = 16
    smooth = fitted(
        smoothgrad_cls(
            attribution.SaliencyExplainer(frozen, batch_size=batch_size),
            n_samples=n_samples,
            random_state=0,
        )
    )

    def noise_tunnel():
        inputs = _tensor(images, device).requires_grad_()
        maps = NoiseTunnel(Saliency(module.eval())).attribute(
            inputs,
            nt_type="smoothgrad",
            nt_samples=n_samples,
            # noisy copies per image and call: the same rows per network
            # call (batch_size) as ours
            nt_samples_batch_size=max(1, batch_size // len(images)),
            stdevs=0.15,
            target=target_tensor,
            abs=False,
        )
        maps.detach()
        return nan

    cases["smoothgrad (captum NoiseTunnel)"] = (
        lambda: smooth.explain(images, targets),
        noise_tunnel,
    )
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--n-images", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (1 is steadier on a loaded machine)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    n_images = args.n_images or (16 if args.quick else 32)
    image_size = args.image_size or (32 if args.quick else 64)
    repeats = args.repeats or (3 if args.quick else 5)
    n_steps = 50

    data = make_shape_images(200, image_size=image_size, random_state=0)
    clf = CNNClassifier(
        max_epochs=1 if args.quick else 3,
        lr=0.01,
        random_state=0,
        device=args.device,
    ).fit(data.images, data.target)
    images = data.images[:n_images]
    targets = clf.predict(images)

    print(
        f"{n_images} images {image_size}x{image_size}x3, SmallCNN "
        f"({sum(p.numel() for p in clf.module_.parameters())} parameters), "
        f"device={clf.device_}, torch threads={torch.get_num_threads()}, "
        f"batch_size={args.batch_size}, median of {repeats} interleaved repeats"
    )
    cases = build_cases(
        clf,
        images,
        targets,
        batch_size=args.batch_size,
        n_steps=n_steps,
        window=max(2, image_size // 8),
        stride=max(1, image_size // 16),
    )
    header = f"{'method':40s} {'ours (s)':>10s} {'captum (s)':>11s} {'ratio':>7s}"
    print(header + f" {'max |diff|':>11s}")
    print("-" * (len(header) + 12))
    ratios = {}
    for name, (ours, theirs) in cases.items():
        # One untimed call each warms caches and allocators.
        ours_maps, theirs_maps = ours(), theirs()
        ours_times, theirs_times = [], []
        for _ in range(repeats):
            ours_times.append(_timed(ours, clf.device_)[0])
            theirs_times.append(_timed(theirs, clf.device_)[0])
        ours_s = statistics.median(ours_times)
        theirs_s = statistics.median(theirs_times)
        ratios[name] = ours_s / theirs_s
        diff = float(np.abs(np.asarray(ours_maps) - np.asarray(theirs_maps)).max())
        print(
            f"{name:40s} {ours_s:10.4f} {theirs_s:11.4f} "
            f"{ratios[name]:7.2f} {diff:11.2e}"
        )
    # Rows timed against our own Grad-CAM have no captum counterpart.
    against_captum = {k: v for k, v in ratios.items() if "ref: our" not in k}
    worst = max(against_captum, key=against_captum.get)
    print(f"worst ratio ours/captum: {ratios[worst]:.2f} ({worst}); goal <= 1.1")
    try:
        from _bench_kernel_shap import run as run_kernel_shap
    except ImportError:
        print("skipping kernel shap: benchmarks/_bench_kernel_shap.py not found")
    else:
        print(run_kernel_shap(args.quick, args.device).to_string(index=False))


if __name__ == "__main__":
    main()
