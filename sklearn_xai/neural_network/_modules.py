"""Small convolutional networks for image classification."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


class SmallCNN(nn.Module):
    """A compact convolutional network for small images.

    ``n_blocks`` blocks of convolution, batch normalization, ReLU and 2x2
    max-pooling, the number of filters doubling in each block, then adaptive
    average pooling to a ``pool_size`` grid, dropout and a linear layer. The
    adaptive pooling lets one architecture take any input size, and the last
    convolution is ``features.block{n_blocks - 1}.conv`` (what Grad-CAM uses).

    Inputs are taken as channels-first tensors ``(n, C, H, W)`` and converted
    to the channels-last memory format, which makes CPU convolutions
    markedly faster; outputs are logits ``(n, n_classes)``.

    Parameters
    ----------
    in_channels : int, default=1
        Number of input channels. :class:`CNNClassifier` infers it from data.
    n_classes : int, default=2
        Number of outputs. :class:`CNNClassifier` infers it from data.
    n_filters : int, default=16
        Filters of the first block.
    n_blocks : int, default=2
        Number of convolutional blocks.
    kernel_size : int, default=3
        Size of the square convolution kernels (odd sizes keep the spatial
        size).
    pool_size : int, default=4
        Side of the grid the last feature maps are averaged to.
    dropout : float, default=0.25
        Dropout probability before the linear layer.
    batch_norm : bool, default=True
        Whether each convolution is followed by batch normalization.

    Examples
    --------
    >>> import torch
    >>> from sklearn_xai.neural_network import SmallCNN
    >>> net = SmallCNN(in_channels=3, n_classes=5)
    >>> net(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 5])
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 2,
        n_filters: int = 16,
        n_blocks: int = 2,
        kernel_size: int = 3,
        pool_size: int = 4,
        dropout: float = 0.25,
        batch_norm: bool = True,
    ):
        super().__init__()
        blocks = OrderedDict()
        channels = in_channels
        for i in range(n_blocks):
            out = n_filters * 2**i
            layers = OrderedDict(
                conv=nn.Conv2d(
                    channels,
                    out,
                    kernel_size,
                    padding=kernel_size // 2,
                    bias=not batch_norm,
                )
            )
            if batch_norm:
                layers["norm"] = nn.BatchNorm2d(out)
            layers["relu"] = nn.ReLU()
            layers["pool"] = nn.MaxPool2d(2, ceil_mode=True)
            blocks[f"block{i}"] = nn.Sequential(layers)
            channels = out
        self.features = nn.Sequential(blocks)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(channels * pool_size * pool_size, n_classes),
        )
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits of a batch ``(n, C, H, W)``."""
        x = x.contiguous(memory_format=torch.channels_last)
        return self.classifier(self.pool(self.features(x)))
