"""FPGA parts and budgets (tailor.fpga_parts, tailor.check_budget): the data-sheet table, a check's
figures against tailor.estimate's totals, custom budgets, and every bad input's exception."""
import pytest

import tailor


@pytest.fixture(scope="module")
def r8():
    net = tailor.zoo.resnet8()
    yield net
    net.close()


HLS = dict(target="hls4ml", bits=16, depth_policy="optimized")


def test_parts_table_has_the_data_sheet_figures():
    parts = {p["name"]: p for p in tailor.fpga_parts()}
    assert {"xc7z020", "xc7a100t", "xczu3eg", "xczu9eg", "xcu250"} <= set(parts)
    z = parts["xc7z020"]
    # DS190 Table 1, Z-7020: 140 36 Kb block RAMs = 280 BRAM18, 53,200 LUTs, 106,400 FFs, 220 DSPs.
    assert (z["bram18"], z["uram"], z["lut"], z["ff"], z["dsp"]) == (280, 0, 53200, 106400, 220)
    assert "DS190" in z["source"] and "pynq-z2" in z["boards"]
    assert parts["xcu250"]["uram"] == 1280 and parts["xczu9eg"]["dsp"] == 2520
    assert all(p["source"] for p in parts.values())


def test_resnet8_against_the_zynq_7020(r8):
    total = tailor.estimate(r8, **HLS).totals["total"]
    z = next(p for p in tailor.fpga_parts() if p["name"] == "xc7z020")
    chk = tailor.check_budget(r8, part="xc7z020", **HLS)
    assert chk.part["name"] == "xc7z020" and chk.target == "hls4ml"
    assert [r["field"] for r in chk.rows] == ["bram18", "uram", "lut", "ff", "dsp"]
    for r in chk.rows:
        f = r["field"]
        assert (r["used"], r["limit"]) == (total[f], z[f]), f
        assert r["over"] == max(0, total[f] - z[f]) and r["fits"] == (total[f] <= z[f])
        if z[f]:
            assert r["percent"] == pytest.approx(100 * total[f] / z[f])
    assert chk.fits == all(total[f] <= z[f] for f in ("bram18", "uram", "lut", "ff", "dsp"))
    assert chk.totals == total
    text = str(chk)
    assert "xc7z020" in text and "BRAM18" in text and f"{z['lut']:,}" in text
    assert repr(chk).startswith("<tailor.BudgetCheck part xc7z020")


def test_part_name_with_package_and_case(r8):
    a = tailor.check_budget(r8, part="XC7Z020CLG400-1", **HLS)
    b = tailor.check_budget(r8, part="xc7z020", **HLS)
    assert a.rows == b.rows


def test_custom_budget_over_by_a_known_amount(r8):
    total = tailor.estimate(r8, **HLS).totals["total"]
    chk = tailor.check_budget(r8, budget={"lut": total["lut"] - 5, "bram18": total["bram18"]}, **HLS)
    assert chk.part is None and not chk.fits
    assert chk.row("lut")["over"] == 5 and chk.row("bram18")["over"] == 0 and chk.row("bram18")["percent"] == 100
    assert "+5" in repr(chk) and "does NOT fit" in chk.table()
    with pytest.raises(tailor.NotFoundError, match="dsp"):
        chk.row("dsp")
    # A part with an override, and a limit lifted with None.
    mixed = tailor.check_budget(r8, part="xc7z020", budget={"dsp": 1, "uram": None}, **HLS)
    assert mixed.row("dsp")["limit"] == 1 and [r["field"] for r in mixed.rows] == ["bram18", "lut", "ff", "dsp"]
    lines = chk.table().splitlines()
    assert lines[1].split() == ["resource", "used", "limit", "used", "%", "over", "by"]


def test_pe_array_bytes_budget(r8):
    rep = tailor.estimate(r8, target="pe_array", onchip_kib=256)
    used = rep.totals["total"]["bytes"]
    assert used > 0
    ok = tailor.check_budget(r8, target="pe_array", onchip_kib=256, budget={"bytes": used, "onchip_kib": 256})
    assert ok.fits and ok.row("bytes")["percent"] == 100
    over = tailor.check_budget(r8, target="pe_array", onchip_kib=256, budget={"bytes": used - 1000})
    assert not over.fits and over.row("bytes")["over"] == 1000


@pytest.mark.parametrize("kwargs, exc, named", [
    (dict(part="xc9z999"), tailor.NotFoundError, "xc9z999"),
    (dict(part="xc7z0201"), tailor.NotFoundError, "xczu9eg"),
    (dict(budget={"lut": -1}), tailor.InvalidArgumentError, "lut"),
    (dict(budget={"luts": 1}), tailor.InvalidArgumentError, "luts"),
    (dict(budget={"lut": 1.5}), tailor.InvalidArgumentError, "lut"),
    (dict(budget={"lut": True}), tailor.InvalidArgumentError, "lut"),
    (dict(budget={"bytes": 100}), tailor.InvalidArgumentError, "bytes"),
    (dict(budget={"onchip_kib": 100}), tailor.InvalidArgumentError, "onchip_kib"),
    (dict(budget={}), tailor.InvalidArgumentError, "no limits"),
    (dict(), tailor.InvalidArgumentError, "part"),
    (dict(part=7), tailor.InvalidArgumentError, "part"),
    (dict(budget=[("lut", 1)]), tailor.InvalidArgumentError, "budget"),
    (dict(budget={"part": "xc7z020"}), tailor.InvalidArgumentError, "part"),
    (dict(part="x" * 5000), tailor.InvalidArgumentError, "TAILOR_MAX_STRING_BYTES"),
])
def test_bad_budgets_raise_the_status_class_naming_the_field(r8, kwargs, exc, named):
    with pytest.raises(exc, match=named):
        tailor.check_budget(r8, **kwargs, **HLS)


@pytest.mark.parametrize("field", ["lut", "bram18", "dsp"])
def test_device_fields_on_the_pe_array_are_named(r8, field):
    with pytest.raises(tailor.InvalidArgumentError, match=field):
        tailor.check_budget(r8, target="pe_array", budget={field: 10})
    with pytest.raises(tailor.InvalidArgumentError, match="pe_array"):
        tailor.check_budget(r8, target="pe_array", part="xc7z020")


def test_a_bad_hardware_option_is_still_the_config_error(r8):
    with pytest.raises(tailor.TailorError, match="unknown option"):
        tailor.check_budget(r8, part="xc7z020", reuse=4)
    with pytest.raises(tailor.InvalidArgumentError, match="net"):
        tailor.check_budget("resnet8", part="xc7z020")
