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


class BasicBlock(nn.Module):
    """torchvision's ``BasicBlock``: its layer names, one in-place ReLU
    used twice in ``forward``, an optional ``downsample`` shortcut."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet18(nn.Module):
    """torchvision's ``resnet18`` architecture, at a chosen width.

    The same layer names (``conv1``, ``bn1``, ``relu``, ``maxpool``,
    ``layer1`` ... ``layer4`` of two :class:`BasicBlock` each, ``avgpool``,
    ``fc``) and depth as ``torchvision.models.resnet18``; ``width=64`` is
    torchvision's network (11.7 M parameters with 1000 classes), smaller
    widths are the same graph with fewer channels. Takes ``(n, 3, H, W)``
    normalized images of any size (global average pooling), returns logits.
    """

    def __init__(self, n_classes=1000, width=64, in_channels=3):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(width, 1)
        self.layer2 = self._make_layer(width * 2, 2)
        self.layer3 = self._make_layer(width * 4, 2)
        self.layer4 = self._make_layer(width * 8, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8, n_classes)

    def _make_layer(self, planes, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        blocks = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        blocks.append(BasicBlock(planes, planes))
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def train_briefly(net, images, targets, *, mean, std, steps=5, lr=1e-2, seed=0):
    """A few SGD steps of a plain torch loop, outside the library.

    ``images`` are ``(n, C, H, W)`` float32 in [0, 1]; ``mean``/``std`` are
    applied before the network (as the user's own training code would).
    Leaves ``net`` in eval mode with non-trivial BatchNorm statistics.
    """
    torch.manual_seed(seed)
    x = torch.as_tensor(images)
    y = torch.as_tensor(targets, dtype=torch.int64)
    mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    net.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(net((x - mean_t) / std_t), y)
        loss.backward()
        optimizer.step()
    return net.eval()
