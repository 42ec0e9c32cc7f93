"""Fixed-point conversion against the peer that defines it: Xilinx's ap_fixed headers, as bundled
with hls4ml (the headers hls4ml's generated C++ compiles with). A small C++ program converts the
same doubles to every type listed below with ``T x = v; x.to_double()``; the library's
``tailor.quantize`` must give the same doubles, bit for bit, for every rounding and overflow mode."""
import os
import shutil
import subprocess

import numpy as np
import pytest

import tailor

QUANT_MODES = ["AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_MIN_INF", "AP_RND_INF", "AP_RND_CONV"]
OVERFLOW_MODES = ["AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM"]
TYPES = ([f"ap_{s}fixed<8,3,{q},{o}>" for s in ("", "u") for q in QUANT_MODES for o in OVERFLOW_MODES]
         + ["ap_fixed<16,6>", "ap_fixed<16,6,AP_RND,AP_SAT>", "ap_fixed<5,-2,AP_RND_CONV,AP_SAT>", "ap_fixed<6,8>",
            "ap_ufixed<6,8,AP_RND,AP_SAT>", "ap_fixed<1,1>", "ap_ufixed<1,0,AP_RND,AP_SAT_SYM>",
            "ap_fixed<4,4,AP_RND_INF,AP_SAT_SYM>", "ap_fixed<24,10,AP_RND_CONV,AP_SAT_SYM>", "ap_fixed<32,0,AP_RND>",
            "ap_fixed<53,10,AP_RND_ZERO,AP_SAT>", "ap_fixed<64,32>", "ap_fixed<64,70,AP_RND,AP_SAT>",
            "ap_ufixed<64,1,AP_RND_CONV>", "ap_int<8>", "ap_uint<4>", "ap_int<64>"])


def _ap_types_dir():
    hls4ml = pytest.importorskip("hls4ml", reason="hls4ml (the ap_fixed headers' source) is not installed")
    d = os.path.join(os.path.dirname(hls4ml.__file__), "templates", "vivado", "ap_types")
    if not os.path.exists(os.path.join(d, "ap_fixed.h")):
        pytest.skip(f"hls4ml has no ap_types headers at {d}")
    return d


def _values():
    rng = np.random.default_rng(20261203)
    v = [rng.normal(0, s, 3000) for s in (0.3, 4, 40, 1e6)]
    step = 2.0 ** -5                                   # the grid of <8,3>; ties of coarser grids too
    grid = np.arange(-300, 301) * step / 2             # grid points and exact midpoints (ties)
    edges = np.array([0.0, -0.0, 1e-300, -1e-300, 5e-324, 3.96875, 3.984375, 4.0, -4.0, -4.015625, 7.9, 8.0, 255.9, 256.0,
                      1e10, -1e10, 2.0 ** 70, -(2.0 ** 70), 2.0 ** 63, -(2.0 ** 63), 1.5, -1.5, 2.5, -2.5, 0.5, -0.5,
                      1e300, -1e300])
    return np.concatenate(v + [grid, grid + step / 4, edges]).astype(np.float64)


@pytest.fixture(scope="module")
def ap_fixed_results(tmp_path_factory):
    """{type: the doubles ap_fixed gives}: one C++ program for every type, compiled once."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler to build the ap_fixed reference")
    inc = _ap_types_dir()
    d = tmp_path_factory.mktemp("apfixed")
    # Integer types get the value through a wide ap_fixed, the way an ap_fixed result reaches an
    # ap_int in hls4ml's layers (ap_int's own double constructor is not used there).
    calls = "\n".join(f'    run<{t}, {"ap_fixed<200,100>" if "int" in t else "double"}>(v, n, out);' for t in TYPES)
    (d / "ref.cpp").write_text(f"""#include <cstdio>
#include <vector>
#include "ap_fixed.h"
#include "ap_int.h"
template <class T, class Via> void run(const std::vector<double> &v, size_t n, FILE *out) {{
    for (size_t i = 0; i < n; i++) {{ Via w = v[i]; T x = w; double y = x.to_double(); fwrite(&y, sizeof y, 1, out); }}
}}
int main(int argc, char **argv) {{
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    std::vector<double> v;
    double x;
    while (fread(&x, sizeof x, 1, in) == 1) v.push_back(x);
    size_t n = v.size();
{calls}
    fclose(out);
    return 0;
}}
""")
    subprocess.run([cxx, "-O1", "-std=c++14", "-w", f"-I{inc}", str(d / "ref.cpp"), "-o", str(d / "ref")], check=True)
    values = _values()
    values.tofile(d / "in.bin")
    subprocess.run([str(d / "ref"), str(d / "in.bin"), str(d / "out.bin")], check=True)
    out = np.fromfile(d / "out.bin", dtype=np.float64).reshape(len(TYPES), len(values))
    return values, dict(zip(TYPES, out))


@pytest.mark.parametrize("type_", TYPES)
def test_quantize_is_bit_exact_with_ap_fixed(ap_fixed_results, type_):
    values, expected = ap_fixed_results
    got = tailor.quantize(values, type_)
    same = got.view(np.int64) == expected[type_].view(np.int64)
    if "int" in type_:   # values that reached it exactly through ap_fixed<200,100>
        small = np.abs(values) < 2.0 ** 99
        exact = small & (np.ldexp(np.where(small, values, 0.0), 100) % 1 == 0)
        same |= ~exact
    bad = np.flatnonzero(~same)
    assert bad.size == 0, (f"{type_}: {bad.size} of {values.size} differ, e.g. "
                           + ", ".join(f"{values[i]!r} -> {got[i]!r} (ap_fixed {expected[type_][i]!r})" for i in bad[:5]))


def test_overflow_count_and_hand_computed_cases():
    # ap_fixed<16,6>: range [-32, 32 - 2^-10]; 40.5 wraps to 40.5 - 64 = -23.5, saturates to 31.9990234375.
    out, n = tailor.quantize([40.5, 1.0, -32.0, -40.0], "ap_fixed<16,6>", return_overflows=True)
    assert out.tolist() == [-23.5, 1.0, -32.0, 24.0] and n == 2
    out, n = tailor.quantize([40.5, 1.0, -32.0, -40.0], "ap_fixed<16,6,AP_RND,AP_SAT>", return_overflows=True)
    assert out.tolist() == [32 - 2 ** -10, 1.0, -32.0, -32.0] and n == 2
    # AP_SAT_SYM: the most negative value itself moves up one step.
    assert tailor.quantize([-32.0], "ap_fixed<16,6,AP_TRN,AP_SAT_SYM>").tolist() == [-32 + 2 ** -10]
    # Ties: 0.5 steps of ap_int<4> under each rounding mode.
    ties = [2.5, -2.5]
    assert tailor.quantize(ties, "ap_fixed<4,4>").tolist() == [2, -3]                 # floor
    assert tailor.quantize(ties, "ap_int<4>").tolist() == [2, -2]                     # toward zero
    assert tailor.quantize(ties, "ap_fixed<4,4,AP_RND>").tolist() == [3, -2]          # half up
    assert tailor.quantize(ties, "ap_fixed<4,4,AP_RND_CONV>").tolist() == [2, -2]     # half to even
    assert tailor.quantize(ties, "ap_fixed<4,4,AP_RND_INF>").tolist() == [3, -3]      # half away from zero
    assert tailor.quantize(ties, "fixed<4,4,RND_ZERO>").tolist() == [2, -2]           # hls4ml's shorthand
    x = np.linspace(-2, 2, 24).reshape(2, 3, 4)
    assert tailor.quantize(x, "ap_fixed<8,3>").shape == (2, 3, 4)


@pytest.mark.parametrize("bad, words", [
    ("ap_fixed<16>", "2 to 5 arguments"), ("ap_fixed<0,0>", "width must be in 1...64"), ("ap_fixed<65,6>", "1...64"),
    ("ap_fixed<16,6,AP_ROUND>", "unknown rounding mode 'AP_ROUND'"), ("ap_fixed<16,6,AP_RND,SATURATE>", "unknown overflow mode"),
    ("ap_float<16,6>", "unknown type 'ap_float'"), ("ap_fixed 16,6", "no <...>"), ("ap_fixed<a,6>", "width 'a'"),
    ("ap_fixed<16,6,AP_RND,AP_SAT,3>", "saturation bits"), ("ap_fixed<8,600>", "integer bits"),
])
def test_bad_types_are_clear_errors(bad, words):
    with pytest.raises(tailor.TailorError, match=words.replace("(", r"\(").replace(".", r"\.")) as e:
        tailor.quantize([1.0], bad)
    assert bad.split("<")[0] in str(e.value) or "N other than 0" in str(e.value)


def test_non_finite_values_are_refused():
    with pytest.raises(tailor.TailorError, match=r"values\[1\] is nan"):
        tailor.quantize([1.0, float("nan")], "ap_fixed<8,3>")
    assert tailor.quantize([], "ap_fixed<8,3>").size == 0
