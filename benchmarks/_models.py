"""Models shared by the benchmarks."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class _BasicBlock(nn.Module):
    def __init__(self, channels_in, channels_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.shortcut = nn.Identity()
        if stride != 1 or channels_in != channels_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(channels_in, channels_out, 1, stride, bias=False),
                nn.BatchNorm2d(channels_out),
            )

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    """A ResNet-18-shaped network, narrower: one block per stage.

    Takes ``(n, C, H, W)`` at any size (ImageNet-style stem, global pooling).
    """

    def __init__(self, in_channels=3, n_classes=10, width=8):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        )
        widths = [width, width * 2, width * 4, width * 8]
        stages, channels = [], width
        for i, w in enumerate(widths):
            stages.append(_BasicBlock(channels, w, 1 if i == 0 else 2))
            channels = w
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, n_classes)
        )
        self.to(memory_format=torch.channels_last)

    def forward(self, x):
        x = x.contiguous(memory_format=torch.channels_last)
        return self.head(self.stages(self.stem(x)))


def resnet_classifier(images, n_classes=10, random_state=0):
    """A CNNClassifier with a SmallResNet, fitted for one epoch on ``images``.

    The benchmarks measure speed, not accuracy: the weights only need to be
    those of a real, initialised network.
    """
    from sklearn_xai.neural_network import CNNClassifier

    y = np.arange(len(images)) % n_classes
    clf = CNNClassifier(
        module=SmallResNet, max_epochs=1, batch_size=16, random_state=random_state
    )
    return clf.fit(images, y)
