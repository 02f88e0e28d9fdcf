"""Networks shaped like the ones users already have, built in the tests.

torchvision and timm do not install next to the CPU torch used here, so
these are small re-implementations with the same module names and the same
forward passes: a ResNet-18 (torchvision's ``resnet18``: ``conv1``, ``bn1``,
``relu``, ``maxpool``, ``layer1``..``layer4`` of ``BasicBlock``s with
``downsample``, ``avgpool``, ``fc``; one in-place ``nn.ReLU`` reused twice in
each block) and a vision transformer (timm's ``VisionTransformer``:
``patch_embed.proj``, ``cls_token``, ``pos_embed``, pre-norm ``blocks.i``
with ``norm1``/``attn``/``norm2``/``mlp``, final ``norm``, ``head`` on the
class token). Only the width and depth are small, so that they run in
milliseconds on 32-64 pixel images.
"""

import torch
from torch import nn

__all__ = ["BasicBlock", "ResNet", "VisionTransformer", "resnet18", "train_network"]


def _conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(
        in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False
    )


class BasicBlock(nn.Module):
    """torchvision's ``BasicBlock``: its ReLU module runs twice per forward."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
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


class ResNet(nn.Module):
    """torchvision's ``ResNet`` with ``BasicBlock``s and a base width ``width``
    (torchvision: 64)."""

    def __init__(self, layers=(2, 2, 2, 2), *, num_classes=1000, width=64):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(4 * width, layers[2], stride=2)
        self.layer4 = self._make_layer(8 * width, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(
                    self.inplanes, planes, kernel_size=1, stride=stride, bias=False
                ),
                nn.BatchNorm2d(planes),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet18(*, num_classes=1000, width=64):
    """A ResNet-18 (2 blocks per stage) of base width ``width``."""
    return ResNet((2, 2, 2, 2), num_classes=num_classes, width=width)


class PatchEmbed(nn.Module):
    """Non-overlapping patches to tokens ``(n, h * w, dim)`` (timm's)."""

    def __init__(self, patch_size, in_chans, embed_dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention with one ``qkv`` projection (timm's)."""

    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.num_heads, d // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(n, t, d))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """A pre-norm transformer block (timm's ``Block``)."""

    def __init__(self, dim, num_heads, mlp_ratio=2):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_ratio * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """A small ViT: patch embedding, class token, position embedding,
    ``depth`` blocks, final norm, linear head on the class token."""

    def __init__(
        self,
        *,
        img_size=32,
        patch_size=8,
        in_chans=3,
        num_classes=10,
        embed_dim=32,
        depth=2,
        num_heads=2,
    ):
        super().__init__()
        n_patches = (img_size // patch_size) ** 2
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, 1 + n_patches, embed_dim))
        self.blocks = nn.Sequential(
            *[Block(embed_dim, num_heads) for _ in range(depth)]
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(len(x), -1, -1), x], dim=1)
        x = self.norm(self.blocks(x + self.pos_embed))
        return self.head(x[:, 0])


def train_network(net, images, labels, *, steps=20, batch_size=32, lr=0.01, seed=0):
    """A few Adam steps of a plain torch loop on NCHW ``images``; returns
    ``net`` (in train mode)."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.as_tensor(images, dtype=torch.float32)
    labels = torch.as_tensor(labels, dtype=torch.int64)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    for _ in range(steps):
        index = torch.randint(len(images), (batch_size,), generator=generator)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(net(images[index]), labels[index])
        loss.backward()
        optimizer.step()
    return net
