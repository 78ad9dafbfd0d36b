"""ResNet (He et al., 2015): deep networks that learn residuals, ``a = g(F(x) + x)``.

Each block adds its input back to what its convolutions compute (a sum, not a concatenation),
so a block can start as the identity and gradients reach the early layers through the
shortcuts. When a block changes the shape (stride 2, more channels), the shortcut is a 1x1
convolution with that stride and BatchNorm (``downsample``)::

    BasicBlock (ResNet-18/34):  x -> conv3x3(stride) -> bn -> relu -> conv3x3 -> bn -> + x -> relu
    Bottleneck (ResNet-50+):    x -> conv1x1 -> bn -> relu -> conv3x3(stride) -> bn -> relu
                                  -> conv1x1 (4x channels) -> bn -> + x -> relu

    stem: conv7x7/2 -> bn -> relu -> maxpool3x3/2;  layer1..layer4 (64, 128, 256, 512 planes,
    stride 1, 2, 2, 2);  global average pool -> fc num_classes

``resnet18`` ... ``resnet152`` are torchvision's (the stride in the 3x3 convolution, "ResNet
v1.5"; the same module names ``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``,
``fc``, shapes and initialisation), so torchvision's weights load unchanged. ``small_input=True``
replaces the stem by a 3x3 convolution with stride 1 and no max pool, for 32x32 images (CIFAR);
``base_channels`` narrows every layer (64 is torchvision's).

``resnet50_custom`` is the course's variant: ResNet-50 with GELU instead of ReLU, depthwise 3x3
convolutions (one filter per channel, the 1x1 convolutions around them mix the channels) and a
CBAM attention module on each block's residual branch, before the sum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import nn
from ..functional._args import positive_int
from ..nn import init
from ..tensor import Tensor
from .blocks import CBAM

NormLayer = Callable[[int], nn.Module]


def conv3x3(
    in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1
) -> nn.Conv2d:
    """3x3 convolution with 'same' padding (for stride 1) and no bias (BatchNorm follows)."""
    return nn.Conv2d(
        in_planes, out_planes, 3, stride, padding=dilation, dilation=dilation, groups=groups,
        bias=False,
    )  # fmt: skip


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias: mixes channels (and subsamples with ``stride``)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + x)``,
    where ``x`` goes through ``downsample`` when given (a shape change)."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: NormLayer | None = None,
    ):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock: only supports groups=1 and base_width=64")
        if dilation > 1:
            raise ValueError("BasicBlock: dilation > 1 is not supported")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 (reduce to ``width``), 3x3 (with the stride), 1x1 (expand to ``4 * planes``) and a
    shortcut; ``width = planes * base_width / 64 * groups`` (wider or grouped: ResNeXt)."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: NormLayer | None = None,
    ):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class CBAMBottleneck(nn.Module):
    """The custom ResNet's block: a :class:`Bottleneck` with GELU (``act``), a depthwise 3x3
    convolution (``groups = width``) and :class:`CBAM` (``cbam``) on the residual branch::

        x -> conv1x1 -> bn -> gelu -> depthwise3x3(stride) -> bn -> gelu -> conv1x1 -> bn
          -> cbam -> + shortcut(x) -> gelu
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: NormLayer | None = None,
        *,
        reduction: int = 16,
    ):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups=width, dilation=dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.cbam = CBAM(planes * self.expansion, reduction)
        self.act = nn.GELU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.act(self.bn1(self.conv1(x)))
        out = self.act(self.bn2(self.conv2(out)))
        out = self.cbam(self.bn3(self.conv3(out)))
        return self.act(out + identity)


Block = type[BasicBlock] | type[Bottleneck] | type[CBAMBottleneck]


class ResNet(nn.Module):
    """The stem (``conv1``, ``bn1``, ``relu``, ``maxpool``), four stages of blocks
    (``layer1`` ... ``layer4``), global average pooling (``avgpool``) and ``fc``.

    ``layers`` gives the number of blocks per stage ([2, 2, 2, 2] for ResNet-18). torchvision's
    arguments (``zero_init_residual``, ``groups``, ``width_per_group``,
    ``replace_stride_with_dilation``, ``norm_layer``) mean what they mean there; minicnn adds,
    after ``*``: ``in_channels``, ``small_input`` (3x3 stem, stride 1, no max pool),
    ``base_channels`` (the planes of layer1, doubled at each stage), ``activation`` (the
    stem's; the blocks choose their own) and ``block_kwargs`` (more arguments for every block,
    e.g. CBAM's ``reduction``).
    """

    def __init__(
        self,
        block: Block,
        layers: Sequence[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        replace_stride_with_dilation: Sequence[bool] | None = None,
        norm_layer: NormLayer | None = None,
        *,
        in_channels: int = 3,
        small_input: bool = False,
        base_channels: int = 64,
        activation: Callable[[], nn.Module] = nn.ReLU,
        block_kwargs: dict[str, Any] | None = None,
    ):
        super().__init__()
        self._block_kwargs = dict(block_kwargs or {})
        num_classes = positive_int("ResNet", "num_classes", num_classes)
        in_channels = positive_int("ResNet", "in_channels", in_channels)
        base_channels = positive_int("ResNet", "base_channels", base_channels)
        if len(layers) != 4:
            raise ValueError(f"ResNet: layers must list 4 block counts, got {list(layers)}")
        for count in layers:
            positive_int("ResNet", "layers entries", count)
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(
                "ResNet: replace_stride_with_dilation should be None or a 3-element tuple, "
                f"got {replace_stride_with_dilation}"
            )
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes = base_channels
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        if small_input:
            self.conv1 = nn.Conv2d(in_channels, base_channels, 3, 1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, base_channels, 7, 2, padding=3, bias=False)
        self.bn1 = self._norm_layer(base_channels)
        # torchvision's name for the stem's activation, whichever it is
        self.relu = activation()
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, padding=1)
        widths = [base_channels * 2**i for i in range(4)]
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(
            block, widths[1], layers[1], 2, replace_stride_with_dilation[0]
        )
        self.layer3 = self._make_layer(
            block, widths[2], layers[2], 2, replace_stride_with_dilation[1]
        )
        self.layer4 = self._make_layer(
            block, widths[3], layers[3], 2, replace_stride_with_dilation[2]
        )
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                init.ones_(m.weight)
                init.zeros_(m.bias)
        if zero_init_residual:  # each block starts as the identity (the last BN scales by 0)
            for m in self.modules():
                if isinstance(m, (Bottleneck, CBAMBottleneck)):
                    init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)

    def _make_layer(
        self, block: Block, planes: int, blocks: int, stride: int = 1, dilate: bool = False
    ) -> nn.Sequential:
        """One stage: the first block changes the shape (and gets a projection shortcut when
        the shape changes), the others keep it."""
        norm_layer = self._norm_layer
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                norm_layer(planes * block.expansion),
            )
        layers = [
            block(
                self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                previous_dilation, norm_layer, **self._block_kwargs,
            )
        ]  # fmt: skip
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(
                block(
                    self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                    dilation=self.dilation, norm_layer=norm_layer, **self._block_kwargs,
                )
            )  # fmt: skip
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet(block: Block, layers: Sequence[int], num_classes: int = 1000, **kwargs: Any) -> ResNet:
    """A ResNet of ``block``s, ``layers`` per stage; ``kwargs`` go to :class:`ResNet`."""
    return ResNet(block, layers, num_classes, **kwargs)


def resnet18(num_classes: int = 1000, **kwargs: Any) -> ResNet:
    """ResNet-18: BasicBlocks [2, 2, 2, 2], 11,689,512 parameters."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, **kwargs)


def resnet34(num_classes: int = 1000, **kwargs: Any) -> ResNet:
    """ResNet-34: BasicBlocks [3, 4, 6, 3], 21,797,672 parameters."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, **kwargs)


def resnet50(num_classes: int = 1000, **kwargs: Any) -> ResNet:
    """ResNet-50: Bottlenecks [3, 4, 6, 3], 25,557,032 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, **kwargs)


def resnet101(num_classes: int = 1000, **kwargs: Any) -> ResNet:
    """ResNet-101: Bottlenecks [3, 4, 23, 3], 44,549,160 parameters."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, **kwargs)


def resnet152(num_classes: int = 1000, **kwargs: Any) -> ResNet:
    """ResNet-152: Bottlenecks [3, 8, 36, 3], 60,192,808 parameters."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, **kwargs)


def resnet50_custom(num_classes: int = 1000, *, reduction: int = 16, **kwargs: Any) -> ResNet:
    """The course's custom ResNet-50: :class:`CBAMBottleneck` blocks [3, 4, 6, 3] (GELU,
    depthwise 3x3 convolutions, CBAM with the MLP's ``reduction``) and a GELU stem. ``kwargs``
    as for :class:`ResNet`, e.g. ``small_input=True, base_channels=16`` for a small one."""
    kwargs.setdefault("activation", nn.GELU)
    kwargs["block_kwargs"] = {"reduction": reduction, **kwargs.get("block_kwargs", {})}
    return ResNet(CBAMBottleneck, [3, 4, 6, 3], num_classes, **kwargs)
