"""Reference ResNets in plain torch with torchvision's module layout and parameter names
(torchvision itself does not import beside the CPU torch here).

- ImageNet ResNet-18/34/50: torchvision.models.resnet (BasicBlock, Bottleneck with the stride
  on the 3x3, conv1/bn1/relu/maxpool/layer1..4/avgpool/fc).
- CIFAR ResNet-20/32/44/56/110 (He et al.) and MLPerf Tiny ResNet-8: 3x3 stem of 16 filters,
  stages 16/32/64 at strides 1/2/2 with n basic blocks each (ResNet-8: n = 1), a 1x1-conv + BN
  `downsample` projection where the shape changes, global average pooling, fc.
"""
import torch.nn as nn


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(cin, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _make_layer(block, cin, planes, blocks, stride):
    downsample = None
    if stride != 1 or cin != planes * block.expansion:
        downsample = nn.Sequential(conv1x1(cin, planes * block.expansion, stride),
                                   nn.BatchNorm2d(planes * block.expansion))
    layers = [block(cin, planes, stride, downsample)]
    cin = planes * block.expansion
    layers += [block(cin, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers), cin


class ResNet(nn.Module):
    """torchvision's ImageNet ResNet."""

    def __init__(self, block, layers, num_classes=1000, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = 64
        self.layer1, cin = _make_layer(block, cin, 64, layers[0], 1)
        self.layer2, cin = _make_layer(block, cin, 128, layers[1], 2)
        self.layer3, cin = _make_layer(block, cin, 256, layers[2], 2)
        self.layer4, cin = _make_layer(block, cin, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet (and MLPerf Tiny ResNet-8 with n = 1), torchvision names."""

    def __init__(self, n, num_classes=10, in_channels=3):
        super().__init__()
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        cin = 16
        self.layer1, cin = _make_layer(BasicBlock, cin, 16, n, 1)
        self.layer2, cin = _make_layer(BasicBlock, cin, 32, n, 2)
        self.layer3, cin = _make_layer(BasicBlock, cin, 64, n, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


CIFAR_DEPTHS = {"resnet8": 1, "resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}
IMAGENET = {"resnet18": (BasicBlock, [2, 2, 2, 2]), "resnet34": (BasicBlock, [3, 4, 6, 3]),
            "resnet50": (Bottleneck, [3, 4, 6, 3])}


def build(name, num_classes=10, in_channels=3):
    """The reference torch module for a zoo name."""
    if name in CIFAR_DEPTHS:
        return CifarResNet(CIFAR_DEPTHS[name], num_classes, in_channels)
    block, layers = IMAGENET[name]
    return ResNet(block, layers, num_classes, in_channels)
