"""tailor.estimate / tailor.compare: the hardware resource model through Python and the CLI."""
import json
import subprocess
import sys

import pytest

import tailor
from tailor.estimate import TARGETS, estimate_rows


def test_resnet8_default_depths(resnet8):
    # Each block's skip clones its input: 16×32×32, 16×32×32, 32×16×16 → H·W = 1024, 1024, 256 words of
    # C·16 = 256, 256, 512 bits (hls4ml's default stream depth is the whole tensor).
    rep = tailor.estimate(resnet8, target="hls4ml", bits=16)
    assert [s["depth_words"] for s in rep.skips] == [1024, 1024, 256]
    assert [s["word_bits"] for s in rep.skips] == [256, 256, 512]
    assert [s["shape"] for s in rep.skips] == [[16, 32, 32], [16, 32, 32], [32, 16, 16]]
    assert rep.config["depth_policy"] == "default"


def test_resnet8_optimized_depths_are_the_simulated_ones(resnet8):
    # "optimized" (alias "simulated") writes every FIFO at FifoDepthOptimization's max + 1, from the
    # dataflow simulation; a skip row summarises its deepest skip-path FIFO (DataflowSimulationTests
    # check the simulation by hand, test_fifo_measured.py against a measured design).
    rep = tailor.estimate(resnet8, bits=16, depth_policy="optimized")
    assert rep.to_dict() == tailor.estimate(resnet8, bits=16, depth_policy="simulated").to_dict() | {"config": rep.config}
    fifos = {f["stream"]: f for f in rep.to_dict()["fifos"]}
    assert sum(not f["port"] for f in fifos.values()) == 33       # as many streams as hls4ml declares
    for f in fifos.values():
        if not f["port"]:
            assert f["depth"] == max(1, f["max_occupancy"] - 1) + 1
    for row in rep.skips:
        deepest = [c for c in row["components"] if c["stream"] and c["depth_words"] == row["depth_words"]]
        assert deepest and fifos[deepest[0]["stream"]]["max_occupancy"] == row["lag_words"]
    # The struct API lists the same FIFOs with the same figures.
    struct = tailor.estimate_fifos(resnet8, bits=16, depth_policy="optimized")
    assert [(f["stream"], f["depth"], f["max_occupancy"], f["cost"]) for f in struct] == \
           [(f["stream"], f["depth"], f["max_occupancy"], f["cost"]) for f in rep.to_dict()["fifos"]]


def test_struct_and_json_paths_agree(resnet8):
    for target in TARGETS:
        rep = tailor.estimate(resnet8, target=target, bits=8)
        rows, totals = estimate_rows(resnet8, target=target, bits=8)
        assert len(rows) == len(rep.skips)
        for r, s in zip(rows, rep.skips):
            for key in ("block", "index", "mode", "buffer", "word_bits", "lag_words", "depth_words", "memory", "cost", "macs"):
                assert r[key] == s[key], (target, key)
        for key in ("skips", "rest", "total"):
            assert totals[key] == rep.totals[key]
        assert totals["latency_us"] == rep.totals["latency_us"]


def test_report_outputs(resnet8, tmp_path):
    rep = tailor.estimate(resnet8, target="finn", bits=4)
    text = rep.table()
    assert "layer2.0" in text and "skips total" in text and "design total" in text
    d = rep.to_dict()
    json.dumps(d)  # JSON-ready
    d["skips"].clear()
    assert rep.skips, "to_dict returns a copy"
    assert "<table>" in rep._repr_html_()
    assert "tailor.Report" in repr(rep)
    why = rep.explain("layer1.0")
    assert "optimize_depth" in why and "lut_estimation" in why
    assert "bram18" not in rep.explain("layer1.0", field="lut")
    with pytest.raises(tailor.TailorError, match="no skip"):
        rep.explain("layer9.9")


def test_plots(resnet8):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    fig = tailor.estimate(resnet8).plot()
    assert len(fig.axes) == 3
    fig2 = tailor.estimate(resnet8, plan="shorten", depth_policy="optimized").plot(metrics=("bram18",))
    assert len(fig2.axes) == 1


@pytest.mark.parametrize("name", ["resnet8", "resnet20", "resnet50"])
def test_removing_every_skip_saves(name):
    with tailor.zoo.create(name) as net:
        for target, opts in [("hls4ml", {}), ("hls4ml", {"depth_policy": "optimized"}), ("finn", {"bits": 4})]:
            cmp = tailor.estimate(net, target=target, plan="remove", **opts)
            t = cmp.totals["total"]
            assert t["lut"]["delta"] < 0 and t["ff"]["delta"] < 0, (target, opts)
            if t["bram18"]["before"]:
                assert t["bram18"]["delta"] < 0
            assert all(b["mode_after"] == "removed" for b in cmp.blocks)
            assert cmp.totals["skips"]["bram18"]["after"] == 0
        # The network itself is untouched by a plan.
        assert set(net.modes.values()) == {"long"}


def test_resnet8_paper_scale_savings(resnet8):
    # hls4ml default depths, 16 bits: the paper reports up to −34 % BRAM, −13 % FF, −16 % LUT.
    cmp = tailor.estimate(resnet8, target="hls4ml", bits=16, plan="remove")
    bram, lut, ff = (cmp.percent(f) for f in ("bram18", "lut", "ff"))
    # Vivado (hls4ml's default backend) gives every channel of a stream its own FIFO with its own
    # pointers and flags, so removing a skip saves more LUT/FF than the paper's designs report
    # (here about −31 % BRAM18, −26 % LUT, −19 % FF): the direction and the BRAM scale are the check.
    assert -40 < bram < -20 and -35 < lut < -5 and -30 < ff < -5, (bram, lut, ff)


def test_shortening_on_the_pe_array_saves_bandwidth(resnet8):
    cmp = tailor.estimate(resnet8, target="pe_array", bits=16, plan="shorten")
    assert cmp.totals["skips"]["bytes"]["after"] < cmp.totals["skips"]["bytes"]["before"]
    assert cmp.totals["latency_us"]["after"] <= cmp.totals["latency_us"]["before"]


def test_compare_two_networks(resnet8):
    with resnet8.copy() as student:
        student.set_mode("layer2.0", "removed")
        cmp = tailor.compare(resnet8, student, target="hls4ml")
        assert [b["mode_after"] for b in cmp.blocks] == ["long", "removed", "long"]
        assert cmp.blocks[0]["change"]["lut"]["delta"] == 0
        assert cmp.blocks[1]["change"]["bram18"]["after"] == 0
        assert "layer2.0" in cmp.table() and "<table>" in cmp._repr_html_()
        with tailor.zoo.resnet20() as other, pytest.raises(tailor.TailorError, match="different residual blocks"):
            tailor.compare(resnet8, other)


@pytest.mark.parametrize("kwargs, field", [
    ({"bits": 0}, "bits"), ({"bits": 65}, "bits"), ({"reuse_factor": 0}, "reuse_factor"),
    ({"target": "vivado"}, "target"), ({"depth_policy": "fast"}, "depth_policy"),
    ({"memory_policy": "flash"}, "memory_policy"), ({"target": "finn", "depth_policy": "default"}, "depth_policy"),
    ({"precision": {"nope": 8}}, "nope"), ({"precision": {"relu": 99}}, "precision"),
    ({"clock_mhz": float("nan"), "target": "pe_array"}, "clock_mhz"), ({"pe_count": 0}, "pe_count"),
    ({"bits": "16"}, "bits"), ({"plan": "prune"}, "plan"),
])
def test_bad_configuration_names_the_field(resnet8, kwargs, field):
    with pytest.raises(tailor.TailorError, match=field) as e:
        tailor.estimate(resnet8, **kwargs)
    # A bad configuration, unknown node names in it included, is INVALID_ARGUMENT as tailor.h promises.
    assert e.value.status_name == "TAILOR_ERR_INVALID_ARGUMENT"


def test_estimate_is_fast_enough_to_call_in_loops():
    # Not a timing assertion: ResNet-50's report must be computed and parsed without trouble, repeatedly.
    with tailor.zoo.resnet50() as net:
        reps = [tailor.estimate(net, target=t) for t in ("hls4ml", "finn", "pe_array")]
        assert all(len(r.skips) == 16 for r in reps)


def test_cli_estimate(subprocess_env, tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "tailor", "estimate", "resnet8", "--target", "hls4ml", "--bits", "16",
                           "--json", str(out), "--explain", "layer2.0"],
                          env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    rows = [line.split() for line in lines if line.startswith("layer")]
    assert [r[0] for r in rows[:3]] == ["layer1.0", "layer2.0", "layer3.0"]
    assert "1,024" in " ".join(rows[0]) and "projection" in proc.stdout
    assert json.loads(out.read_text())["config"]["target"] == "hls4ml"
    bad = subprocess.run([sys.executable, "-m", "tailor", "estimate", "resnet8", "--bits", "0"],
                         env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "bits" in bad.stderr
    plan = subprocess.run([sys.executable, "-m", "tailor", "estimate", "resnet20", "--plan", "shorten", "--target", "pe_array"],
                          env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert plan.returncode == 0 and "short" in plan.stdout, plan.stderr


def test_tailor_plot_module(resnet8):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    rep = tailor.estimate(resnet8)
    with resnet8.copy() as removed:
        removed.set_modes("removed")
        rep_r = tailor.estimate(removed)
        fig = tailor.plot.accuracy_vs_resources([("teacher", 0.82, rep), ("removed", 0.815, rep_r)])
        assert len(fig.axes) == 3
        xs = [c.get_offsets()[0][0] for c in fig.axes[0].collections]
        assert xs == [rep.totals["total"]["bram18"], rep_r.totals["total"]["bram18"]]
    assert len(tailor.plot.skip_costs(rep, metrics=("lut",)).axes) == 1
    with pytest.raises(ValueError):
        tailor.plot.accuracy_vs_resources([])


def test_hardware_options_are_checked(resnet8):
    with pytest.raises(tailor.TailorError, match="backend"):
        tailor.estimate(resnet8, backend="quartus")
    with pytest.raises(tailor.TailorError, match="does not apply to target 'finn'"):
        tailor.estimate(resnet8, target="finn", backend="vitis")
    with pytest.raises(tailor.TailorError, match="strategy"):
        tailor.estimate(resnet8, strategy="fast")
    with pytest.raises(tailor.TailorError, match="layers\\['conv1'\\]"):
        tailor.estimate(resnet8, layers={"conv1": {"reuse": 4}})
    with pytest.raises(tailor.TailorError, match="unknown option"):
        tailor.estimate(resnet8, depth="optimized")
    # A per-layer reuse factor is moved as hls4ml moves it, and slows only that layer's readers.
    rep = tailor.estimate(resnet8, depth_policy="optimized", strategy="resource", layers={"layer1.0.conv2": 1000})
    assert rep.config["layers"] == {"layer1.0.conv2": {"reuse_factor": 1000, "strategy": None}}
    base = tailor.estimate(resnet8, depth_policy="optimized", strategy="resource")
    assert rep.skips[0]["lag_words"] > base.skips[0]["lag_words"]


def test_a_design_too_large_to_simulate_is_still_priced_at_default_depths():
    with tailor.zoo.create("resnet8", num_classes=10, input_shape=(3, 4096, 4096)) as big:
        rep = tailor.estimate(big, depth_policy="default")
        assert rep.skips[0]["depth_words"] == 4096 * 4096 and rep.skips[0]["lag_words"] is None
        assert all(f["max_occupancy"] is None for f in tailor.estimate_fifos(big))
        with pytest.raises(tailor.TailorError, match="too large to simulate"):
            tailor.estimate(big, depth_policy="optimized")


def test_explain_refuses_a_figure_it_does_not_have(resnet8):
    rep = tailor.estimate(resnet8, depth_policy="optimized")
    assert "bram18" in rep.explain("layer1.0", field="bram18")
    with pytest.raises(tailor.TailorError, match="no figure named 'watts'"):
        rep.explain("layer1.0", field="watts")   # before: printed a header and nothing else


def test_table_renderer():
    from tailor import _table
    text = _table.render(["name", "n", "note"], [["a", "1,024", ""], ["long name", "7", "x"]], align="lr")
    assert text.splitlines() == ["name           n  note",
                                 "---------  -----  ----",
                                 "a          1,024",          # no trailing blanks
                                 "long name      7  x"]
    assert _table.render(["a", "bb"], []) == "a  bb\n-  --"
    with pytest.raises(ValueError, match="align"):
        _table.render(["a"], [["1"]], align="c")


def test_comparison_totals_nest_as_the_reports_do(resnet8):
    """Comparison.to_dict()["totals"] is {part: {field: {before, after, delta, percent}}}: the
    Report's {part: {field: value}} with one more level, never the other way round."""
    cmp = tailor.estimate(resnet8, plan="shorten", depth_policy="optimized")
    d = cmp.to_dict()
    before, after = cmp.before.to_dict()["totals"], cmp.after.to_dict()["totals"]
    for part in ("skips", "total"):
        for field, change in d["totals"][part].items():
            assert change["before"] == before[part][field] and change["after"] == after[part][field], (part, field)
            assert change["delta"] == change["after"] - change["before"]
