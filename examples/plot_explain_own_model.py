"""
============================================
Explain a torch network you trained yourself
============================================

Most networks worth explaining were trained somewhere else: a torchvision
or timm model, a Hugging Face checkpoint, a colleague's training script.
:class:`~sklearn_xai.neural_network.TorchClassifier` wraps such a network,
as it is, into a scikit-learn classifier that every explainer, metric and
surrogate of the library accepts -- without retraining it, without ``y`` and
without :class:`~sklearn.frozen.FrozenEstimator`.

Here the "somewhere else" is a plain torch training loop, on a small
ResNet-like network with torchvision's layer names (``conv1``, ``layer1``
to ``layer3``, ``fc``), trained on the bundled synthetic shapes. The network
expects channels-first tensors normalized with a per-channel mean and
standard deviation, as torchvision's models do; the classifier takes the
library's channels-last images and does the normalization inside the forward
pass, so gradient explanations are with respect to the image's own pixels.

Run ``python examples/plot_explain_own_model.py``; ``--quick`` (or the
environment variable ``SKLEARN_XAI_EXAMPLES_QUICK=1``) gives a smaller smoke
run.
"""

# %%
# A network trained outside the library
# -------------------------------------
# The shapes data set: RGB images in [0, 1], each with one of four objects
# (the class) among distractors. The training loop below is what any torch
# tutorial writes: channels-first tensors, normalization, cross-entropy, Adam
# with a one-cycle learning-rate schedule.
import argparse
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from sklearn_xai.attribution import GradCAMExplainer, IntegratedGradientsExplainer
from sklearn_xai.datasets import make_shape_images
from sklearn_xai.neural_network import TorchClassifier
from sklearn_xai.visualization import AttributionDisplay

parser = argparse.ArgumentParser(description="Explain a torch network.")
parser.add_argument("--quick", action="store_true", help="a smaller smoke run")
quick_env = os.environ.get("SKLEARN_XAI_EXAMPLES_QUICK", "") not in ("", "0")
QUICK = parser.parse_known_args()[0].quick or quick_env

data = make_shape_images(600 if QUICK else 1200, image_size=32, random_state=0)
n_train = len(data.images) * 3 // 4
X_train, X_test = data.images[:n_train], data.images[n_train:]
y_train, y_test = data.target[:n_train], data.target[n_train:]
MEAN = X_train.mean(axis=(0, 1, 2))  # per channel, on the [0, 1] scale
STD = X_train.std(axis=(0, 1, 2))


class BasicBlock(nn.Module):
    """torchvision's residual block: two 3x3 convolutions and a shortcut."""

    def __init__(self, channels_in, channels_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.relu = nn.ReLU(inplace=True)  # used twice, as in torchvision
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.downsample = None
        if stride != 1 or channels_in != channels_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(channels_in, channels_out, 1, stride, bias=False),
                nn.BatchNorm2d(channels_out),
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TinyResNet(nn.Module):
    """A three-stage ResNet with torchvision's layer names."""

    def __init__(self, n_classes, width=16):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(2)
        self.layer1 = BasicBlock(width, width)
        self.layer2 = BasicBlock(width, 2 * width, stride=2)
        self.layer3 = BasicBlock(2 * width, 4 * width, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, n_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


torch.manual_seed(0)
net = TinyResNet(n_classes=len(data.target_names))
x = torch.from_numpy(X_train).permute(0, 3, 1, 2)  # to channels first
x = (x - torch.tensor(MEAN).reshape(1, 3, 1, 1)) / torch.tensor(STD).reshape(1, 3, 1, 1)
y = torch.from_numpy(y_train).long()
n_epochs = 8 if QUICK else 12
batches_per_epoch = -(-len(x) // 32)
optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
schedule = torch.optim.lr_scheduler.OneCycleLR(
    optimizer, max_lr=3e-3, total_steps=n_epochs * batches_per_epoch
)
net.train()
for _ in range(n_epochs):
    for batch in torch.randperm(len(x)).split(32):
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
        optimizer.step()
        schedule.step()
net.eval()

# %%
# Wrap it
# -------
# ``classes[i]`` names the network's output column ``i``; ``mean`` and
# ``std`` are the normalization the network was trained with, on the scale of
# ``input_range`` (here the default, [0, 1]). ``fit`` trains nothing: it
# copies the network, runs it once to check that it has one output per class
# and records the image shape.
clf = TorchClassifier(net, classes=data.target_names, mean=MEAN, std=STD)
clf.fit(X_train)
print(f"held-out accuracy: {clf.score(X_test, data.target_names[y_test]):.3f}")

# %%
# The classifier knows the intensity range the network takes: ``uint8``
# images (as OpenCV or PIL read files) are mapped from 0-255 onto [0, 1]
# before the network, so they get exactly the predictions of the same pixels
# given as floats in [0, 1]. A batch in the torch layout ``(n, C, H, W)`` is
# refused with a message that says so, instead of being read as images of
# height 3.
X_uint8 = np.rint(X_test * 255).astype(np.uint8)
proba_uint8 = clf.predict_proba(X_uint8)
proba_float = clf.predict_proba(X_uint8.astype(np.float32) / 255)
print(f"uint8 vs [0, 1]: max |diff| {np.abs(proba_uint8 - proba_float).max():.1e}")
try:
    clf.predict(X_test.transpose(0, 3, 1, 2))
except ValueError as error:
    print("channels first:", str(error).split(";")[0])

# %%
# Explain it
# ----------
# Grad-CAM explains, by default, the output of the network's last
# convolutional stage -- ``layer3`` here, as ``layer4`` for torchvision's
# ResNets (``layer=`` names any other). Integrated Gradients integrates the
# gradients of the logit from a black image to the image, through the
# normalization, so its maps are on the image's pixels.
cam = GradCAMExplainer(clf).fit(X_train[:16])
ig = IntegratedGradientsExplainer(clf, n_steps=16 if QUICK else 50)
ig.fit(X_train[:16])
print(f"Grad-CAM layer: {cam.layer_}")

display = AttributionDisplay.from_explainer(
    {"Grad-CAM": cam, "Integrated Gradients": ig}, X_test[:4]
)
plt.show()

# %%
# The network itself was not touched: ``clf.module_`` is a copy, so the
# weights, buffers and train/eval flag of ``net`` are as they were.
state = {name: value.clone() for name, value in net.state_dict().items()}
cam.explain(X_test[:4])
unchanged = all(torch.equal(state[k], v) for k, v in net.state_dict().items())
print(f"user's network unchanged: {unchanged}, in eval mode: {not net.training}")
