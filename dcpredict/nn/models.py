"""Networks with a width knob (PyTorch; imported only when a network is built).

* ``mlp``: the two-layer perceptron of the paper's Fig. 6: flatten -> Linear(d, width) -> ReLU ->
  Linear(width, C).  Weight matrices: ``d * width + width * C`` weights.
* ``cnn``: a small CNN for small images (8x8 digits; any (C, H, W) with H, W >= 2): conv3x3(width) -> ReLU ->
  max-pool 2 -> conv3x3(2 width) -> ReLU -> global average pool -> Linear(2 width, C).
* ``resnet20``: the ResNet-20 of the paper's Fig. 1 (He et al. 2016, CIFAR variant: 3 stages of 3 basic
  blocks, 6 * 3 + 2 = 20 layers) with base width ``width`` (16 is the standard ResNet-20): stages of width,
  2 width and 4 width channels, batch normalisation, 1x1-convolution shortcuts where the shape changes.

The prunable weights are those of every weight matrix and convolution kernel (``nn.Linear`` and ``nn.Conv*``
weights); biases and batch-norm parameters are neither pruned nor counted in the budget s.
"""
from __future__ import annotations

from ._torch import require_torch

torch = require_torch()
from torch import nn  # noqa: E402

from .._validate import DCPredictError  # noqa: E402

__all__ = ["MODELS", "build_model", "prunable", "count_prunable"]

MODELS = ("mlp", "cnn", "resnet20")


class MLP(nn.Module):
    def __init__(self, d_in: int, width: int, classes: int) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.first = nn.Linear(d_in, width)
        self.readout = nn.Linear(width, classes)

    def features(self, x):
        return torch.relu(self.first(self.flatten(x)))

    def forward(self, x):
        return self.readout(self.features(x))


class SmallCNN(nn.Module):
    def __init__(self, channels: int, width: int, classes: int) -> None:
        super().__init__()
        self.first = nn.Conv2d(channels, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.readout = nn.Linear(2 * width, classes)

    def forward(self, x):
        h = torch.max_pool2d(torch.relu(self.first(x)), 2)
        h = torch.relu(self.conv2(h)).mean(dim=(2, 3))
        return self.readout(h)


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = torch.relu(self.b1(self.c1(x)))
        h = self.b2(self.c2(h))
        return torch.relu(h + (x if self.short is None else self.short(x)))


class ResNet20(nn.Module):
    def __init__(self, channels: int, width: int, classes: int) -> None:
        super().__init__()
        self.first = nn.Conv2d(channels, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        layers, cin = [], width
        for stage, cout in enumerate((width, 2 * width, 4 * width)):
            for block in range(3):
                layers.append(_Block(cin, cout, 2 if (stage > 0 and block == 0) else 1))
                cin = cout
        self.blocks = nn.Sequential(*layers)
        self.readout = nn.Linear(4 * width, classes)

    def forward(self, x):
        h = self.blocks(torch.relu(self.bn(self.first(x))))
        return self.readout(h.mean(dim=(2, 3)))


def _image_shape(model: str, shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) == 2:
        return (1, *shape)
    if len(shape) == 3:
        return shape  # type: ignore[return-value]
    raise DCPredictError(f"model {model!r} needs image inputs of shape (C, H, W) or (H, W); the data's inputs "
                         f"have shape {shape} (use model 'mlp' for vectors)")


def build_model(model: str, width: int, input_shape: tuple[int, ...], classes: int):
    """A freshly initialised network (uses torch's global RNG: seed it first)."""
    if model == "mlp":
        d = 1
        for k in input_shape:
            d *= int(k)
        return MLP(d, width, classes)
    if model == "cnn":
        c, h, w = _image_shape(model, input_shape)
        if h < 2 or w < 2:
            raise DCPredictError(f"model 'cnn' needs images of at least 2x2 pixels; got {input_shape}")
        return SmallCNN(c, width, classes)
    if model == "resnet20":
        c, _, _ = _image_shape(model, input_shape)
        return ResNet20(c, width, classes)
    raise DCPredictError(f"model must be one of {', '.join(map(repr, MODELS))}; got {model!r}")


def prunable(net, frozen_first: bool = False) -> list:
    """The prunable weight tensors: every Linear / Conv weight (with ``frozen_first``, all but the frozen
    first layer's)."""
    out = []
    for name, mod in net.named_modules():
        if isinstance(mod, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            if frozen_first and name == "first":
                continue
            out.append(mod.weight)
    return out


def count_prunable(model: str, width: int, input_shape: tuple[int, ...], classes: int,
                   frozen_first: bool = False) -> int:
    """Number of prunable weights of a network (computed from the shapes, no training)."""
    with torch.device("meta"):
        net = build_model(model, width, input_shape, classes)
    return int(sum(p.numel() for p in prunable(net, frozen_first)))
