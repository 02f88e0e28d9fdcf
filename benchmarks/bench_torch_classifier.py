"""TorchClassifier's overhead over calling a trained network directly.

A ResNet-18-shaped network (torchvision's layer names, ``BasicBlock`` modules and
depth, at a reduced width; ``benchmarks/_models.py``) is trained for a few
steps with a plain torch loop outside the library, on ImageNet-style
normalized inputs, then used two ways, measured in one run, interleaved
(ours, plain, ours, plain, ...) after one warm-up call each; the best of the
repeats (ten times as many for the cheap ``predict_proba``) is reported with
the ratio ours / plain:

* ``predict_proba``: ``TorchClassifier(net, mean=..., std=...)`` against the
  loop a user writes by hand: the channels-last numpy images as a
  channels-first tensor, normalization, the network and a softmax under
  ``torch.inference_mode``, the same batch size;
* Integrated Gradients: ``IntegratedGradientsExplainer(TorchClassifier(...))``
  against captum's ``IntegratedGradients`` on a module that includes the
  normalization (zero baseline, the same ``n_steps`` and Gauss-Legendre
  rule, ``internal_batch_size`` equal to our ``batch_size``, so both run the
  same rows per network call), summed over channels as ours.

Each line also shows the largest absolute difference between the two
results. Goal: ratios <= 1.05. Run ``python
benchmarks/bench_torch_classifier.py`` (``--quick`` for a short run,
``--full`` for 224x224 images at torchvision's width, ``--device cuda`` on a
GPU machine, ``--threads 1 --clock cpu`` for steadier CPU timings on a
machine loaded by other processes).

What ours adds per call is fixed per image byte, not per network layer: the
validation of the batch (sklearn's finiteness check, one sum), the
intensity-range check (the batch mean, in float64) and a check that the
network copy is in eval mode -- about 0.45 ms for 64 images of 64x64x3 with
a warm cache, 0.8-1.1 ms right after a forward pass, against 20 ms for the
width-16 network's forward pass. So the ``predict_proba`` ratio is largest
for tiny networks (about 1.1 under ``--quick``) and vanishes as the network
grows. Integrated Gradients also returns captum's convergence delta (two
extra forward passes per batch, which captum's default skips; 1-3 % at 50
steps).

Measured (2 CPU cores shared with other jobs, default sizes, ``--threads 1
--clock cpu``): predict_proba 0.0210 s vs 0.0199 s, ratio 1.057 (max |diff|
3.6e-08); Integrated Gradients 3.176 s vs 3.160 s, ratio 1.005 (max |diff|
4.7e-10). Wall clock, ``--threads 1``: 1.056 and 1.024. Wall clock with 2
threads on the loaded machine swings from 0.95 to 1.35 between runs.
"""

from __future__ import annotations

import _environment  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA before torch loads)

# isort: split

import argparse
import time

import numpy as np
import torch
from _models import ResNet18, train_briefly
from captum.attr import IntegratedGradients
from torch import nn

from sklearn_xai.attribution import IntegratedGradientsExplainer
from sklearn_xai.datasets import make_shape_images
from sklearn_xai.neural_network import TorchClassifier

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


#: ``--clock`` choices: wall time, or this process's CPU time (steadier on a
#: machine loaded by other processes; use it with ``--threads 1``, as CPU time
#: also counts the spinning of idle worker threads).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _timed(fn, device, clock=time.perf_counter):
    _sync(device)
    start = clock()
    result = fn()
    _sync(device)
    return clock() - start, result


class Normalized(nn.Module):
    """``net((x - mean) / std)``: what a captum user differentiates."""

    def __init__(self, net, mean, std):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean).reshape(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).reshape(1, -1, 1, 1))

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


def build_cases(
    net, images, target_names, *, batch_size, n_steps, device, clock=time.perf_counter
):
    """``{name: (ours, plain, repeats_factor)}``: two zero-argument callables
    returning arrays, and how many times ``--repeats`` the case is timed (the
    cheap ``predict_proba`` more often: its milliseconds are noisier)."""
    normalized = Normalized(net, IMAGENET_MEAN, IMAGENET_STD).to(device).eval()
    clf = TorchClassifier(
        net,
        classes=target_names,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        device=device,
        batch_size=batch_size,
    )
    seconds, _ = _timed(lambda: clf.fit(images[:2]), device, clock)
    print(f"TorchClassifier.fit (copy + one probe image): {seconds:.4f} s, once")

    def tensor():
        # The user's conversion: channels-last numpy to channels-first torch.
        return torch.from_numpy(images).permute(0, 3, 1, 2).to(device)

    def plain_proba():
        x = tensor()
        out = []
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                logits = normalized(x[start : start + batch_size])
                out.append(torch.softmax(logits, dim=1).cpu().numpy())
        return np.concatenate(out)

    index = plain_proba().argmax(axis=1)
    targets = np.asarray(target_names)[index]
    target_tensor = torch.as_tensor(index, device=device)

    ig = IntegratedGradientsExplainer(clf, n_steps=n_steps, batch_size=batch_size).fit(
        images[:2]
    )
    captum_ig = IntegratedGradients(normalized)

    def plain_ig():
        attributions = captum_ig.attribute(
            tensor(),
            target=target_tensor,
            n_steps=n_steps,
            internal_batch_size=batch_size,
        )
        return attributions.sum(dim=1).detach().cpu().numpy()

    return {
        "predict_proba": (lambda: clf.predict_proba(images), plain_proba, 10),
        "integrated_gradients": (lambda: ig.explain(images, targets), plain_ig, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size_group = parser.add_mutually_exclusive_group()
    size_group.add_argument("--quick", action="store_true", help="a short run")
    size_group.add_argument(
        "--full", action="store_true", help="224x224 images, torchvision's width"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--n-images", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument(
        "--width", type=int, default=None, help="channels of layer1 (64: torchvision)"
    )
    parser.add_argument("--n-steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall time, or process CPU time (steadier on a loaded machine, "
        "with --threads 1)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (1 is steadier on a loaded machine)",
    )
    args = parser.parse_args(argv)
    clock = CLOCKS[args.clock]
    if args.threads:
        torch.set_num_threads(args.threads)

    image_size = args.image_size or (32 if args.quick else 224 if args.full else 64)
    width = args.width or (8 if args.quick else 64 if args.full else 16)
    n_steps = args.n_steps or (16 if args.quick else 50)
    repeats = args.repeats or 3

    data = make_shape_images(args.n_images, image_size=image_size, random_state=0)
    images = np.ascontiguousarray(data.images, dtype=np.float32)
    torch.manual_seed(0)
    net = ResNet18(n_classes=len(data.target_names), width=width)
    train_briefly(
        net,
        images.transpose(0, 3, 1, 2).copy(),
        data.target,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        steps=3 if args.quick else 5,
    )
    net = net.to(args.device)
    print(
        f"{len(images)} images {image_size}x{image_size}x3 in [0, 1], ResNet-18 "
        f"shape at width {width} ({sum(p.numel() for p in net.parameters())} "
        f"parameters), device={args.device}, torch threads="
        f"{torch.get_num_threads()}, batch_size={args.batch_size}, IG n_steps="
        f"{n_steps}, best of {repeats} interleaved repeats after a warm-up "
        f"({10 * repeats} for predict_proba), {args.clock} clock"
    )
    cases = build_cases(
        net,
        images,
        data.target_names,
        batch_size=args.batch_size,
        n_steps=n_steps,
        device=args.device,
        clock=clock,
    )
    header = f"{'case':24s} {'ours (s)':>10s} {'plain (s)':>10s} {'ratio':>7s}"
    print(header + f" {'max |diff|':>11s}")
    print("-" * (len(header) + 12))
    ratios = {}
    for name, (ours, plain, factor) in cases.items():
        ours_result, plain_result = ours(), plain()
        ours_times, plain_times = [], []
        for _ in range(repeats * factor):
            ours_times.append(_timed(ours, args.device, clock)[0])
            plain_times.append(_timed(plain, args.device, clock)[0])
        ours_s, plain_s = min(ours_times), min(plain_times)
        ratios[name] = ours_s / plain_s
        diff = float(np.abs(ours_result - plain_result).max())
        print(
            f"{name:24s} {ours_s:10.4f} {plain_s:10.4f} {ratios[name]:7.3f} "
            f"{diff:11.2e}"
        )
    worst = max(ratios, key=ratios.get)
    print(f"worst ratio ours/plain: {ratios[worst]:.3f} ({worst}); goal <= 1.05")


if __name__ == "__main__":
    main()
