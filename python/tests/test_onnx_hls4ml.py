"""The exported ONNX goes through hls4ml's documented ONNX flow: QONNX clean-up and channels-last
conversion, then hls4ml (io_stream, Vitis) writes the HLS project. The project must hold exactly
the skips the Tailor network has: one clone and one add per long skip, none when removed, one per
convolution when shortened, and the projections as pointwise convolutions."""
import re
from collections import Counter

import pytest

pytest.importorskip("onnx")
hls4ml = pytest.importorskip("hls4ml", reason="hls4ml==1.3.0 is not installed (scripts/setup.sh installs it)")
qonnx = pytest.importorskip("qonnx", reason="qonnx is not installed (scripts/setup.sh installs it)")
from qonnx.core.modelwrapper import ModelWrapper  # noqa: E402
from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean  # noqa: E402
from qonnx.transformation.gemm_to_matmul import GemmToMatMul  # noqa: E402
from qonnx.util.cleanup import cleanup_model  # noqa: E402

import tailor  # noqa: E402


def hls4ml_calls(onnx_path, out_dir) -> Counter:
    model = cleanup_model(ModelWrapper(str(onnx_path)))
    model = cleanup_model(model.transform(ConvertToChannelsLastAndClean()).transform(GemmToMatMul()))
    cfg = hls4ml.utils.config_from_onnx_model(model, granularity="name", backend="Vitis", default_precision="fixed<16,6>")
    hm = hls4ml.converters.convert_from_onnx_model(model, hls_config=cfg, io_type="io_stream", backend="Vitis",
                                                   output_dir=str(out_dir))
    hm.write()
    cpp = (out_dir / "firmware" / "myproject.cpp").read_text()
    return Counter(re.findall(r"nnet::(\w+)<", cpp))


@pytest.mark.parametrize("mode, clones, adds, pointwise", [
    ("long", 3, 3, 2),      # one skip per block; layer2.0 and layer3.0 project with a 1×1 conv
    ("removed", 0, 0, 0),   # no skip, no projection
    ("short", 6, 6, 2),     # one short skip per conv; the projections moved onto the first ones
])
def test_resnet8_export_is_accepted_by_hls4ml(tmp_path, mode, clones, adds, pointwise):
    with tailor.zoo.resnet8() as net:
        net.set_modes(mode)
        path = tmp_path / f"r8_{mode}.onnx"
        net.export_onnx(str(path), fold_bn=True)
        calls = hls4ml_calls(path, tmp_path / "prj")
    assert calls["clone_stream"] == clones
    assert calls["add"] == adds
    assert calls["dense"] == 1
    assert calls["pointwise_conv_2d_cl"] == pointwise
    assert calls["conv_2d_cl"] == 7
