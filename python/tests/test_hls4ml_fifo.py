"""Every stream of hls4ml 1.3.0's io_stream project against the model's ``fifos``, stream for
stream, and FIFO depths written into the hls4ml model by ``tailor.hls4ml_fifo.set_fifo_depths``.

For ResNet-8 and ResNet-20 with all blocks long, removed and short, hls4ml converts the network
(``tailor.to_torch`` through its PyTorch front end, Vivado and Vitis backends; for ResNet-8 also
``net.export_onnx`` through QONNX and its ONNX front end) and writes the project. Then:

(a) every ``#pragma HLS STREAM variable=X depth=N`` of ``firmware/<project>.cpp`` except the
    outputs of hls4ml's layout transposes is one of our internal streams (matched structurally:
    X's producer and consumer layer in hls4ml's graph -> our producer/consumer processes), with
    N equal to our ``default_depth``, and every internal stream of ours is among them;
(b) after ``set_fifo_depths`` and a second ``write()``, every matched pragma carries our
    simulated ``depth`` (depth_policy="optimized") and the transposes keep theirs.

Only ``write()`` runs (no compile, no C simulation); one conversion per model/mode/backend is
shared by (a) and (b). Run with ``-s`` to see the tables and the conversion times.
"""
import re
import time

import pytest

torch = pytest.importorskip("torch")
hls4ml = pytest.importorskip("hls4ml", reason="hls4ml==1.3.0 is not installed (scripts/setup.sh installs it)")

import tailor  # noqa: E402
from tailor.hls4ml_fifo import match_streams, set_fifo_depths, torch_module_for_hls4ml  # noqa: E402

PROJECT = "prj"
MODES = ("long", "removed", "short")
_CACHE = {}
_TIMES = []


def _network(model, mode):
    net = getattr(tailor.zoo, model)()
    for b in net.blocks:
        net.set_mode(b.index, mode)
    return net


def _convert_torch(net, backend, out_dir):
    module = torch_module_for_hls4ml(net)
    cfg = hls4ml.utils.config_from_pytorch_model(module, input_shape=(3, 32, 32), granularity="name",
                                                 default_precision="ap_fixed<16,6>", backend=backend,
                                                 channels_last_conversion="full", transpose_outputs=False)
    return hls4ml.converters.convert_from_pytorch_model(module, hls_config=cfg, io_type="io_stream", backend=backend,
                                                        output_dir=str(out_dir), project_name=PROJECT)


def _convert_onnx(net, backend, out_dir):
    pytest.importorskip("onnx")
    pytest.importorskip("qonnx")
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.util.cleanup import cleanup_model

    path = out_dir.parent / (out_dir.name + ".onnx")
    net.export_onnx(str(path), fold_bn=True)
    model = cleanup_model(ModelWrapper(str(path)))
    model = cleanup_model(model.transform(ConvertToChannelsLastAndClean()).transform(GemmToMatMul()))
    cfg = hls4ml.utils.config_from_onnx_model(model, granularity="name", backend=backend,
                                              default_precision="fixed<16,6>")
    return hls4ml.converters.convert_from_onnx_model(model, hls_config=cfg, io_type="io_stream", backend=backend,
                                                     output_dir=str(out_dir), project_name=PROJECT)


def _pragmas(out_dir):
    """{variable: depth} of every STREAM pragma, and the variables hls4ml's transposes write
    (read from the C++ independently of the matcher)."""
    cpp = (out_dir / "firmware" / f"{PROJECT}.cpp").read_text()
    depths = {m.group(1): int(m.group(2)) for m in re.finditer(r"#pragma HLS STREAM variable=(\w+) depth=(\d+)", cpp)}
    transposed = set(re.findall(r"nnet::transpose<[^>]*>\(\w+, (\w+)\)", cpp))
    return depths, transposed


def _project(tmp_path_factory, frontend, model, mode, backend):
    """One conversion and first write() per case, shared by both tests."""
    key = (frontend, model, mode, backend)
    if key not in _CACHE:
        net = _network(model, mode)
        out_dir = tmp_path_factory.mktemp(f"{frontend}_{model}_{mode}_{backend}")
        t0 = time.perf_counter()
        hm = (_convert_torch if frontend == "torch" else _convert_onnx)(net, backend, out_dir)
        t1 = time.perf_counter()
        hm.write()
        t2 = time.perf_counter()
        depths, transposed = _pragmas(out_dir)
        _TIMES.append((key, t1 - t0, t2 - t1))
        print(f"\n[{frontend} {model} {mode} {backend}] convert {t1 - t0:.2f} s, write {t2 - t1:.2f} s")
        _CACHE[key] = {"net": net, "hm": hm, "dir": out_dir, "depths": depths, "transposed": transposed}
    return _CACHE[key]


CASES = [pytest.param("torch", m, mode, be, id=f"torch-{m}-{mode}-{be}")
         for m in ("resnet8", "resnet20") for mode in MODES for be in ("Vivado", "Vitis")]
CASES += [pytest.param("onnx", "resnet8", mode, "Vivado", id=f"onnx-resnet8-{mode}-Vivado") for mode in MODES]


def _table(rows):
    headers = ["hls4ml var", "our stream", "producer -> consumer (ours)", "role", "hls4ml", "default", "optimized"]
    widths = [max(len(h), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


@pytest.mark.parametrize("frontend, model, mode, backend", CASES)
def test_default_streams_agree_with_hls4ml(tmp_path_factory, frontend, model, mode, backend):
    p = _project(tmp_path_factory, frontend, model, mode, backend)
    net, hm, written, transposed = p["net"], p["hm"], p["depths"], p["transposed"]
    rep = tailor.estimate(net, target="hls4ml", bits=16, depth_policy="default", backend=backend.lower()).to_dict()
    opt = {f["stream"]: f for f in tailor.estimate(net, target="hls4ml", bits=16, depth_policy="optimized",
                                                   backend=backend.lower()).to_dict()["fifos"]}
    matches, unmatched, ports, _layers, missing = match_streams(hm, rep["fifos"], net)

    # hls4ml's two layout transposes (input, and before flatten / global pool) are all it has extra
    assert len(transposed) == 2, transposed
    assert set(unmatched) == transposed
    assert not set(ports) & set(written), "top-level ports are not declared as internal streams"
    rows, problems = [], []
    for var in sorted(written, key=lambda v: int(re.search(r"\d+", v).group())):
        if var in transposed:
            rows.append([var, "(hls4ml transpose)", "-", "layout", written[var], "-", "-"])
            continue
        m = matches.get(var)
        if m is None:
            problems.append(f"{var} (depth {written[var]}): hls4ml stream with no stream of ours")
            continue
        f = m["fifo"]
        rows.append([var, f["stream"], f"{f['producer']} -> {f['consumer']}", f["role"], written[var],
                     f["default_depth"], opt[f["stream"]]["depth"]])
        if written[var] != f["default_depth"]:
            problems.append(f"{var} ({m['producer']} -> {m['consumer']}): hls4ml depth {written[var]}, ours "
                            f"{f['stream']} ({f['producer']} -> {f['consumer']}) default_depth {f['default_depth']}")
    problems += [f"our {f['stream']} ({f['producer']} -> {f['consumer']}, default_depth {f['default_depth']}): "
                 "no hls4ml stream" for f in missing]
    problems += [f"{v}: matched but not written" for v in matches if v not in written]
    print(f"\n{frontend} {model} {mode} {backend}: {len(written)} STREAM pragmas, {len(matches)} matched, "
          f"{len(transposed)} transposes\n" + _table(rows))
    internal = [f for f in rep["fifos"] if not f["port"]]
    assert len(matches) == len(internal) == len(written) - len(transposed)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("frontend, model, mode, backend", CASES)
def test_set_fifo_depths_writes_simulated_depths(tmp_path_factory, frontend, model, mode, backend):
    p = _project(tmp_path_factory, frontend, model, mode, backend)
    net, hm, before, transposed = p["net"], p["hm"], p["depths"], p["transposed"]
    if p.get("optimized"):
        pytest.skip("already optimised in this session")
    t0 = time.perf_counter()
    result = set_fifo_depths(hm, net, bits=16)
    t1 = time.perf_counter()
    p["optimized"] = True
    hm.write()
    after, transposed_after = _pragmas(p["dir"])
    assert transposed_after == transposed and set(after) == set(before)
    ours = {f["stream"]: f for f in tailor.estimate(net, target="hls4ml", bits=16, depth_policy="optimized",
                                                    backend=backend.lower()).to_dict()["fifos"]}
    assert set(result) | set(result.unmatched) == set(after)
    assert set(result.unmatched) == transposed and not result.missing
    for var in sorted(after):
        if var in transposed:
            assert after[var] == before[var], f"{var}: a transpose stream changed depth"
            continue
        stream = result.matches[var]["fifo"]["stream"]
        assert result[var] == (before[var], ours[stream]["depth"])
        assert after[var] == ours[stream]["depth"] == ours[stream]["hls4ml_max"] + 1, (var, stream, after[var])
    saved = sum(before[v] for v in result) - sum(after[v] for v in result)
    print(f"\n{frontend} {model} {mode} {backend}: set {len(result)} depths in {1e3 * (t1 - t0):.0f} ms, "
          f"{len(result.unmatched)} transposes kept; words {sum(before[v] for v in result)} -> "
          f"{sum(after[v] for v in result)} (-{saved})")


def test_unmatchable_variable_is_named(tmp_path_factory):
    """A model converted from another network cannot be matched: the error names the variable or layer."""
    p = _project(tmp_path_factory, "torch", "resnet8", "long", "Vivado")
    other = _network("resnet8", "removed")
    with pytest.raises(ValueError, match=r"hls4ml (variable|layer) '\w+'"):
        set_fifo_depths(p["hm"], other)


def test_timings_report():
    """Prints the conversion/write times of the cases run in this session (always passes)."""
    if not _TIMES:
        pytest.skip("no conversion ran")
    print("\nfrontend  model     mode     backend  convert s  write s")
    for (fe, m, mode, be), c, w in _TIMES:
        print(f"{fe:9} {m:9} {mode:8} {be:8} {c:9.2f} {w:8.2f}")
