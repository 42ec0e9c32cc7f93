"""Fixed-point types on the network: set from hls4ml's config layout, checked against the graph,
kept in model files and copies."""
import pytest

import tailor


@pytest.fixture
def net():
    with tailor.zoo.create("resnet8", num_classes=10, seed=1) as n:
        yield n


def test_a_type_string_sets_the_default(net):
    assert net.precision is None
    net.set_precision("ap_fixed<16,6>")
    assert net.precision == {"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {}}


def test_hls4ml_config_layout_round_trips_through_a_model_file(net, tmp_path):
    config = {"Model": {"Precision": "fixed<16,6>", "ReuseFactor": 4, "Strategy": "Latency"},
              "LayerName": {"conv1": {"Precision": {"weight": "ap_fixed<8,3>", "bias": "auto",
                                                    "result": "ap_fixed<16,6,RND,SAT>"},
                                      "ReuseFactor": 2},
                            "layer1.0.relu1": {"Precision": "ap_ufixed<8,4>"},
                            "fc": {"Precision": "ap_fixed<12,4>"},
                            "layer2.0.add": {"Trace": True}}}
    names = {n.name for n in net.nodes}
    config["LayerName"] = {k: v for k, v in config["LayerName"].items() if k in names or k == "conv1"}
    net.set_precision(config)
    want = {"Model": {"Precision": "ap_fixed<16,6>"},
            "LayerName": {"conv1": {"Precision": {"weight": "ap_fixed<8,3>", "bias": "auto",
                                                  "result": "ap_fixed<16,6,AP_RND,AP_SAT>"}},
                          "fc": {"Precision": {"weight": "ap_fixed<12,4>", "bias": "ap_fixed<12,4>", "result": "ap_fixed<12,4>",
                                               "accum": "ap_fixed<12,4>"}}}}
    if "layer1.0.relu1" in names:
        want["LayerName"]["layer1.0.relu1"] = {"Precision": {"result": "ap_ufixed<8,4>"}}
    assert net.precision == want
    net.save(tmp_path / "q.tailor")
    with tailor.load(tmp_path / "q.tailor") as back, net.copy() as c:
        assert back.precision == want and c.precision == want
    net.set_precision(None)
    assert net.precision is None


@pytest.mark.parametrize("config, words", [
    ("ap_fixed<16>", "Precision: 'ap_fixed<16>' is not a fixed-point type"),
    ({"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"conv9": {"Precision": "ap_fixed<8,3>"}}}, "no node named 'conv9'"),
    ({"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"conv1": {"Precision": {"weights": "ap_fixed<8,3>"}}}},
     "unknown key 'weights'"),
    ({"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"fc": {"Precision": {"weight": "ap_fixed<80,3>"}}}},
     r"LayerName\['fc'\]\.Precision\.weight: 'ap_fixed<80,3>'"),
    ({"LayerName": {}}, "Model.Precision is missing"),
    ({"Model": {"Precision": "ap_fixed<16,6>"}, "Layers": {}}, "unknown key 'Layers'"),
    (7, "must be a type string"),
])
def test_bad_configs_name_the_place_and_change_nothing(net, config, words):
    net.set_precision("ap_fixed<18,8>")
    with pytest.raises(tailor.TailorError, match=words):
        net.set_precision(config)
    assert net.precision == {"Model": {"Precision": "ap_fixed<18,8>"}, "LayerName": {}}


def test_a_role_the_node_lacks_is_refused(net):
    relu = next(n.name for n in net.nodes if n.op == "relu")
    with pytest.raises(tailor.TailorError, match=f"node '{relu}' has no weight"):
        net.set_precision({"Model": {"Precision": "ap_fixed<16,6>"},
                           "LayerName": {relu: {"Precision": {"weight": "ap_fixed<8,3>"}}}})


def test_the_estimate_prices_the_types_the_network_carries(net):
    import tailor as t
    float16 = t.estimate(net, "hls4ml").totals["total"]
    net.set_precision("ap_fixed<8,3>")
    carried = t.estimate(net, "hls4ml").totals["total"]
    assert carried == t.estimate(net, "hls4ml", bits=8, precision_source="config").totals["total"]
    # 8-bit: less memory and fewer registers; multipliers leave the DSPs for LUTs (hls4ml maps
    # products this narrow to fabric).
    assert carried["bram18"] < float16["bram18"] and carried["ff"] < float16["ff"]
    assert carried["dsp"] == 0 < float16["dsp"] and carried["lut"] > float16["lut"]
    # "config": the network's types are set aside; bits alone count.
    assert t.estimate(net, "hls4ml", precision_source="config").totals["total"] == float16
    # A layer's result type sets that stream's width, as the config's per-tensor precision would.
    net.set_precision({"Model": {"Precision": "ap_fixed<8,3>"},
                       "LayerName": {"conv1": {"Precision": {"result": "ap_fixed<12,4>"}}}})
    assert t.estimate(net, "hls4ml").totals["total"] == \
        t.estimate(net, "hls4ml", bits=8, precision={"conv1": 12}, precision_source="config").totals["total"]
    with pytest.raises(t.TailorError, match="unknown precision_source 'layers'"):
        t.estimate(net, "hls4ml", precision_source="layers")


def test_a_config_hls4ml_wrote_is_taken(net):
    """config_from_pytorch_model's layout: Model.Precision as {"default": ...}, InputShape at the
    top, activation tables; layer names must be Tailor's (an hls4ml name is pointed to ours)."""
    cfg = {"Model": {"Precision": {"default": "fixed<16,6>"}, "ReuseFactor": 1, "Strategy": "Latency"},
           "InputShape": [3, 32, 32],
           "LayerName": {"relu": {"Precision": {"result": "auto", "table": "fixed<18,8,TRN,WRAP,0>"}, "TableSize": 1024},
                         "conv1": {"Precision": {"result": "auto", "accum": "auto"}}}}
    net.set_precision(cfg)
    assert net.precision["Model"]["Precision"] == "ap_fixed<16,6>"
    assert net.precision["LayerName"]["conv1"]["Precision"] == {"result": "auto", "accum": "auto"}
    with pytest.raises(tailor.TailorError, match=r"'layer1_0_conv1'.*hls4ml's name for 'layer1\.0\.conv1'"):
        net.set_precision({"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"layer1_0_conv1": {"Precision": "auto"}}})
    with pytest.raises(tailor.UnsupportedError, match=r"Model\.Precision\.weight"):
        net.set_precision({"Model": {"Precision": {"default": "ap_fixed<16,6>", "weight": "ap_fixed<8,3>"}}})
