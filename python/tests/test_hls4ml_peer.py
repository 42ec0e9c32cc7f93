"""The resource model's hls4ml/default stream depths against what hls4ml 1.3.0 itself writes.

hls4ml converts a plain-torch ResNet-8 (io_stream, Vitis backend) and writes the HLS project;
every `#pragma HLS STREAM variable=... depth=N` line is a stream the design will have. The model
must list the same streams with the same default depths (H·W words, padded tensors for the
zero-padding streams), skips included; removing the skips must remove exactly their streams.
hls4ml's two channels-last transposes (of the input and before the flatten) are layout artefacts
of the PyTorch front end, not part of the network, and are left out of the comparison.
"""
import re
from collections import Counter

import pytest

torch = pytest.importorskip("torch")
hls4ml = pytest.importorskip("hls4ml", reason="hls4ml==1.3.0 is not installed (scripts/setup.sh installs it)")
import torch.nn as nn  # noqa: E402

import tailor  # noqa: E402


class Block(nn.Module):
    def __init__(self, cin, planes, stride, skip):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.downsample = None
        if skip and (stride != 1 or cin != planes):
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        self.skip = skip

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        if self.skip:
            y = y + (self.downsample(x) if self.downsample is not None else x)
        return self.relu(y)


class ResNet8(nn.Module):
    def __init__(self, skip=True):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(Block(16, 16, 1, skip))
        self.layer2 = nn.Sequential(Block(16, 32, 2, skip))
        self.layer3 = nn.Sequential(Block(32, 64, 2, skip))
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def hls4ml_stream_depths(model, out_dir) -> Counter:
    """Depths of every stream hls4ml declares, minus those its layout transposes write."""
    cfg = hls4ml.utils.config_from_pytorch_model(model, input_shape=(3, 32, 32), granularity="name",
                                                 default_precision="ap_fixed<16,6>", backend="Vitis",
                                                 channels_last_conversion="full", transpose_outputs=False)
    hm = hls4ml.converters.convert_from_pytorch_model(model, hls_config=cfg, io_type="io_stream", backend="Vitis",
                                                      output_dir=str(out_dir), project_name="r8")
    hm.write()
    cpp = (out_dir / "firmware" / "r8.cpp").read_text()
    depths = {m.group(1): int(m.group(2)) for m in re.finditer(r"#pragma HLS STREAM variable=(\w+) depth=(\d+)", cpp)}
    transposed = set(re.findall(r"nnet::transpose<[^>]*>\(\w+, (\w+)\)", cpp))
    assert len(transposed) == 2, transposed
    return Counter(d for name, d in depths.items() if name not in transposed)


def tailor_stream_depths(net) -> Counter:
    """Every stream of the model's hls4ml/default design: skip parts and the rest, except the
    network's output (hls4ml's top-level port, not a declared stream)."""
    rep = tailor.estimate(net, target="hls4ml", bits=16, depth_policy="default")
    out = Counter()
    last = net.nodes[-1].name
    parts = [c for row in rep.skips for c in row["components"]]
    parts += [c for layer in rep.layers if layer["node"] != last for c in layer["components"]]
    for c in parts:
        if "stream" in c["name"] or "FIFO" in c["name"] or "clone copy" in c["name"]:
            out[c["depth_words"]] += 1
    return out


@pytest.mark.parametrize("skip", [True, False], ids=["with-skips", "skips-removed"])
def test_default_depths_agree_with_hls4ml(tmp_path, skip):
    model = ResNet8(skip).eval()
    theirs = hls4ml_stream_depths(model, tmp_path / "prj")
    net = tailor.from_torch(model, (3, 32, 32))
    assert len(net.blocks) == (3 if skip else 0)
    ours = tailor_stream_depths(net)
    # hls4ml 1.3.0 writes, with skips: depth 1156 ×4 (padded 34×34), 1024 ×11, 324 ×2, 256 ×8, 100 ×1,
    # 64 ×6, 1 ×1 = 33 streams; without: 1156 ×4, 1024 ×6, 324 ×2, 256 ×4, 100, 64 ×4, 1 = 22. The
    # 11 more are per block the clone's two copies and the adder's output, plus the two projections'.
    assert sum(theirs.values()) == (33 if skip else 22)
    assert ours == theirs, f"ours {sorted(ours.elements())}\nhls4ml {sorted(theirs.elements())}"
