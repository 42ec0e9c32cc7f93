"""Damaged and hostile model files, and raw C calls with NULL, stale and foreign pointers.

Each case runs in a child interpreter: the test asserts the child exits 0 (the process
survived) and that every call reported the expected error status."""
import json
import re
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tailor

LOADER = textwrap.dedent("""
    import json, sys, tailor
    path, out = sys.argv[1], []
    for how in ("path", "bytes"):
        try:
            net = tailor.load(path) if how == "path" else tailor.Network.from_bytes(open(path, "rb").read())
            net.state_dict(); net.skips; net.nodes; net.describe(); net.close()   # exercise what loaded
            out.append([how, "OK", ""])
        except tailor.TailorError as e:
            out.append([how, e.status_name, str(e)])
    print(json.dumps(out))
""")


def run_child(code, args, env, timeout=120):
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"child died with {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    return proc.stdout


# ---- building damaged files from a good one ----

@pytest.fixture(scope="module")
def good():
    with tailor.zoo.resnet8(seed=0) as net:
        net.set_mode(2, "short")
        return net.to_bytes()


def split(b):
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def join(header, data, raw=None):
    h = raw if raw is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def edit(fn):
    """A case that edits the parsed header (and maybe data) of the good file."""
    def make(good):
        header, data = split(good)
        result = fn(header, data)
        return result if isinstance(result, bytes) else join(header, data)
    return make


def edit_graph(fn):
    def change(h, d):
        graph = json.loads(h["__metadata__"]["graph"])
        fn(graph)
        h["__metadata__"]["graph"] = json.dumps(graph)
    return edit(change)


def node(graph, name):
    return next(n for n in graph["nodes"] if n["name"] == name)


def _nan_weight(h, d):
    start = h["fc.weight"]["data_offsets"][0]
    d = bytearray(d)
    d[start:start + 4] = struct.pack("<f", float("nan"))
    return join(h, bytes(d))


def _dup_key(h, d):
    text = json.dumps(h)
    first = '"conv1.weight": ' + json.dumps(h["conv1.weight"])
    return join(None, d, raw=text.replace(first, first + ", " + first.replace("1728]", "1700]"), 1).encode())


def _garble_header(seed):
    def make(good):
        n = struct.unpack("<Q", good[:8])[0]
        b = bytearray(good)
        rng = np.random.default_rng(seed)
        for i in rng.integers(8, 8 + n, 40):
            b[i] = int(rng.integers(0, 256))
        return bytes(b)
    return make


FORMAT = {"TAILOR_ERR_FORMAT"}
CASES = {
    # name: (builder(good) -> bytes, accepted statuses)
    "empty": (lambda g: b"", FORMAT),
    "three_bytes": (lambda g: b"\x01\x02\x03", FORMAT),
    "header_length_only": (lambda g: g[:8], FORMAT),
    "truncated_header": (lambda g: g[:8 + struct.unpack("<Q", g[:8])[0] // 2], FORMAT),
    "truncated_data": (lambda g: g[:-100], FORMAT),
    "cut_in_half": (lambda g: g[:len(g) // 2], FORMAT),
    "huge_header_length": (lambda g: struct.pack("<Q", 2**63) + g[8:], FORMAT),
    "max_header_length": (lambda g: struct.pack("<Q", 2**64 - 1) + g[8:], FORMAT),
    "header_length_past_end": (lambda g: struct.pack("<Q", len(g)) + g[8:], FORMAT),
    "zero_header_length": (lambda g: struct.pack("<Q", 0) + g[8:], FORMAT),
    "header_nested_10000_deep": (lambda g: join(None, b"", raw=b"[" * 10000 + b"]" * 10000), FORMAT),
    "header_objects_nested_10000_deep": (lambda g: join(None, b"", raw=b'{"a":' * 10000 + b"1" + b"}" * 10000),
                                         FORMAT),
    "graph_nested_10000_deep": (edit(lambda h, d: h["__metadata__"].update(graph="[" * 10000 + "]" * 10000)),
                                FORMAT),
    "header_not_utf8_json": (lambda g: join(None, b"", raw=b"\xff\xfe{not json"), FORMAT),
    "header_is_an_array": (lambda g: join(None, b"", raw=b"[1, 2, 3]"), FORMAT),
    "header_empty_object": (lambda g: join({}, b""), FORMAT),
    "random_bytes": (lambda g: np.random.default_rng(0).bytes(4096), FORMAT),
    "random_bytes_after_good_length": (lambda g: g[:8] + np.random.default_rng(1).bytes(len(g) - 8), FORMAT),
    "offset_far_out_of_range": (edit(lambda h, d: h["conv1.weight"].update(data_offsets=[0, 10**12])), FORMAT),
    "offset_end_past_data": (edit(lambda h, d: h["fc.bias"].update(
        data_offsets=[h["fc.bias"]["data_offsets"][0] + 8, h["fc.bias"]["data_offsets"][1] + 8])), FORMAT),
    "offsets_reversed": (edit(lambda h, d: h["conv1.weight"].update(data_offsets=[1728, 0])), FORMAT),
    "offsets_negative": (edit(lambda h, d: h["bn1.weight"].update(data_offsets=[-64, 0])), FORMAT),
    "offsets_not_integers": (edit(lambda h, d: h["bn1.weight"].update(data_offsets=["0", 64.5])), FORMAT),
    "offsets_overlapping": (edit(lambda h, d: h["bn1.weight"].update(data_offsets=[0, 64])), FORMAT),
    "offsets_2_to_the_64": (edit(lambda h, d: h["bn1.weight"].update(data_offsets=[2**64 - 64, 2**64])), FORMAT),
    "dtype_unknown": (edit(lambda h, d: h["conv1.weight"].update(dtype="Q99")), FORMAT),
    "dtype_i32_same_size": (edit(lambda h, d: h["conv1.weight"].update(dtype="I32")), FORMAT),
    "dtype_f64": (edit(lambda h, d: h["bn1.bias"].update(dtype="F64", shape=[8])), FORMAT),
    "dtype_not_a_string": (edit(lambda h, d: h["conv1.weight"].update(dtype=7)), FORMAT),
    "shape_disagrees_with_bytes": (edit(lambda h, d: h["conv1.weight"].update(shape=[16, 3, 3, 4])), FORMAT),
    "shape_overflows_int64": (edit(lambda h, d: h["conv1.weight"].update(shape=[2**62, 2**62, 4])), FORMAT),
    "shape_negative": (edit(lambda h, d: h["conv1.weight"].update(shape=[-16, -3, 3, 3])), FORMAT),
    "shape_wrong_for_graph": (edit(lambda h, d: h["conv1.weight"].update(shape=[16, 27])), FORMAT),
    "tensor_missing": (edit(lambda h, d: h.pop("fc.weight")), FORMAT),
    "duplicate_tensor_key": (edit(_dup_key), FORMAT),
    "metadata_missing": (edit(lambda h, d: h.pop("__metadata__")), FORMAT),
    "graph_not_json": (edit(lambda h, d: h["__metadata__"].update(graph="{{{")), FORMAT),
    "graph_wrong_type": (edit(lambda h, d: h["__metadata__"].update(graph="42")), FORMAT),
    "format_not_tailor": (edit(lambda h, d: h["__metadata__"].update(format="pytorch")), FORMAT),
    "format_version_future": (edit(lambda h, d: h["__metadata__"].update(format_version="999")),
                              FORMAT | {"TAILOR_ERR_VERSION"}),
    "graph_unknown_input": (edit_graph(lambda g: node(g, "layer1.0.conv1").update(inputs=["ghost"])), FORMAT),
    "graph_self_loop": (edit_graph(lambda g: node(g, "bn1").update(inputs=["bn1"])), FORMAT),
    "graph_forward_reference": (edit_graph(lambda g: node(g, "conv1").update(inputs=["fc"])), FORMAT),
    "graph_channel_mismatch": (edit_graph(lambda g: node(g, "conv1").update(out_channels=17)), FORMAT),
    "graph_unknown_op": (edit_graph(lambda g: node(g, "relu").update(op="gelu")), FORMAT),
    "graph_huge_shape": (edit_graph(lambda g: node(g, "input").update(shape=[3, 2**40, 2**40])), FORMAT),
    "graph_bad_mode": (edit_graph(lambda g: [b.update(mode="sideways") for b in g.get("blocks", [])]), FORMAT),
    "nan_weight": (edit(_nan_weight), FORMAT | {"TAILOR_ERR_NUMERIC"}),
    "garbled_header_1": (_garble_header(1), FORMAT),
    "garbled_header_2": (_garble_header(2), FORMAT),
    "garbled_header_3": (_garble_header(3), FORMAT),
}


KNOWN_BUGS: dict = {}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[c]))
                                  if c in KNOWN_BUGS else c for c in sorted(CASES)])
def test_hostile_model_file(tmp_path, subprocess_env, good, case):
    build, accepted = CASES[case]
    path = tmp_path / f"{case}.tailor"
    path.write_bytes(build(good))
    results = json.loads(run_child(LOADER, [str(path)], subprocess_env).strip().splitlines()[-1])
    for how, status, message in results:
        assert status in accepted, f"{case} via {how}: {status} {message!r}"
        assert message and "[TAILOR_ERR_" in message


def test_good_file_loads_in_child(tmp_path, subprocess_env, good):
    """The harness itself: the undamaged file loads, so the cases above fail for their damage."""
    path = tmp_path / "good.tailor"
    path.write_bytes(good)
    results = json.loads(run_child(LOADER, [str(path)], subprocess_env).strip().splitlines()[-1])
    assert [r[1] for r in results] == ["OK", "OK"]


def test_garbled_data_section_never_crashes(tmp_path, subprocess_env, good):
    """Random bytes in the tensor data: loads (maybe) or fails with an error, never crashes."""
    n = struct.unpack("<Q", good[:8])[0]
    b = bytearray(good)
    rng = np.random.default_rng(7)
    for i in rng.integers(8 + n, len(b), 2000):
        b[i] = int(rng.integers(0, 256))
    path = tmp_path / "garbled.tailor"
    path.write_bytes(bytes(b))
    results = json.loads(run_child(LOADER, [str(path)], subprocess_env).strip().splitlines()[-1])
    for how, status, message in results:
        assert status in {"OK", "TAILOR_ERR_FORMAT", "TAILOR_ERR_NUMERIC"}, (how, status, message)


# ---- raw C calls with NULL, stale and foreign pointers ----

RAW = textwrap.dedent("""
    import ctypes, json
    from ctypes import byref, c_char_p, c_int32, c_int64, c_void_p
    from tailor import _lib
    L = _lib.lib()
    net, out = c_void_p(), c_void_p()
    assert L.tailor_zoo_create(b"resnet8", 10, 0, 0, 0, 0, byref(net)) == 0
    n = c_int64()
    buf = (ctypes.c_float * 640)()
    dims = (c_int64 * 2)(10, 64)
    ni, si, pi = _lib.out_struct(_lib.NodeInfo), _lib.out_struct(_lib.SkipInfo), _lib.out_struct(_lib.ParamInfo)
    sc, tot, es = _lib.out_struct(_lib.SkipCost), _lib.out_struct(_lib.HwTotals), _lib.out_struct(_lib.EpochStats)
    hw = _lib.HwConfig()
    assert L.tailor_hw_config_defaults(byref(hw), ctypes.sizeof(hw)) == 0
    name = c_char_p()
    stale = c_void_p()
    assert L.tailor_net_create(1, byref(stale)) == 0
    L.tailor_net_free(stale)
    foreign = c_void_p(ctypes.addressof(buf))
    results = {}
    def call(label, fn, *args):
        status = fn(*args)
        results[label] = [status, L.tailor_last_error().decode()]
    for h, hn in ((None, "null"), (stale, "stale"), (foreign, "foreign")):
        call(f"copy({hn})", L.tailor_net_copy, h, byref(out))
        call(f"add_input({hn})", L.tailor_net_add_input, h, b"x", 3, 8, 8, None)
        call(f"add_conv2d({hn})", L.tailor_net_add_conv2d, h, b"c", b"x", 3, 3, 1, 1, 0, None)
        call(f"add_batchnorm({hn})", L.tailor_net_add_batchnorm, h, b"b", b"x", 1e-5, 0.1, None)
        call(f"add_relu({hn})", L.tailor_net_add_relu, h, b"r", b"x", None)
        call(f"add_add({hn})", L.tailor_net_add_add, h, b"a", b"x", b"x", None)
        call(f"add_pool({hn})", L.tailor_net_add_pool, h, b"p", b"x", 0, 2, 2, 0, None)
        call(f"add_global_avgpool({hn})", L.tailor_net_add_global_avgpool, h, b"g", b"x", None)
        call(f"add_flatten({hn})", L.tailor_net_add_flatten, h, b"f", b"x", None)
        call(f"add_dense({hn})", L.tailor_net_add_dense, h, b"d", b"x", 3, 1, None)
        call(f"node_count({hn})", L.tailor_net_node_count, h, byref(n))
        call(f"node_info({hn})", L.tailor_net_node_info, h, 0, byref(ni))
        call(f"node_input({hn})", L.tailor_net_node_input, h, 1, 0, byref(name))
        call(f"io_shape({hn})", L.tailor_net_io_shape, h, byref(n), byref(n), byref(n), byref(n))
        call(f"block_count({hn})", L.tailor_net_block_count, h, byref(n))
        call(f"block_info({hn})", L.tailor_net_block_info, h, 0, None, None, None)
        call(f"set_block_mode({hn})", L.tailor_net_set_block_mode, h, 0, 1)
        call(f"skip_count({hn})", L.tailor_net_skip_count, h, byref(n))
        call(f"skip_info({hn})", L.tailor_net_skip_info, h, 0, byref(si))
        call(f"skip_span({hn})", L.tailor_net_skip_span, h, 0, 0, byref(name))
        call(f"param_count({hn})", L.tailor_net_param_count, h, byref(n))
        call(f"param_info({hn})", L.tailor_net_param_info, h, 0, byref(pi))
        call(f"param_dim({hn})", L.tailor_net_param_dim, h, 0, 0, byref(n))
        call(f"estimate({hn})", L.tailor_net_estimate, h, byref(hw), byref(n), byref(tot))
        call(f"skip_cost({hn})", L.tailor_net_skip_cost, h, 0, byref(sc))
        call(f"history_count({hn})", L.tailor_net_history_count, h, byref(n))
        call(f"history({hn})", L.tailor_net_history, h, 0, byref(es))
        call(f"get_param({hn})", L.tailor_net_get_param, h, b"fc.weight", buf, 640)
        call(f"set_param({hn})", L.tailor_net_set_param, h, b"fc.weight", buf, 2, dims)
        call(f"save({hn})", L.tailor_net_save, h, b"/tmp/tailor-null-test.tailor")
        call(f"describe({hn})", L.tailor_net_describe, h, byref(c_char_p()))
        call(f"budget_check_json({hn})", L.tailor_net_budget_check_json, h, byref(hw), b'{"part": "xc7z020"}',
             byref(c_char_p()))
        L.tailor_net_free(h)          # NULL: no-op; stale/foreign: refused, not freed
    f32p = ctypes.POINTER(ctypes.c_float)
    call("create(out NULL)", L.tailor_net_create, 0, None)
    call("copy(out NULL)", L.tailor_net_copy, net, None)
    call("zoo(name NULL)", L.tailor_zoo_create, None, 10, 0, 0, 0, 0, byref(out))
    call("zoo(out NULL)", L.tailor_zoo_create, b"resnet8", 10, 0, 0, 0, 0, None)
    call("add_relu(name NULL)", L.tailor_net_add_relu, net, None, b"fc", None)
    call("add_relu(input NULL)", L.tailor_net_add_relu, net, b"r", None, None)
    call("add_add(b NULL)", L.tailor_net_add_add, net, b"a", b"fc", None, None)
    call("add_conv2d(input NULL)", L.tailor_net_add_conv2d, net, b"c", None, 3, 3, 1, 1, 0, None)
    call("node_count(count NULL)", L.tailor_net_node_count, net, None)
    call("node_info(out NULL)", L.tailor_net_node_info, net, 0, None)
    call("node_info(index -1)", L.tailor_net_node_info, net, -1, byref(ni))
    call("node_info(index 2**62)", L.tailor_net_node_info, net, 2**62, byref(ni))
    call("node_info(size 4)", L.tailor_net_node_info, net, 0, byref(_lib.NodeInfo(size=4)))
    call("node_input(name NULL)", L.tailor_net_node_input, net, 1, 0, None)
    call("node_input(k 1 of 1)", L.tailor_net_node_input, net, 1, 1, byref(name))
    call("node_input(k -1)", L.tailor_net_node_input, net, 1, -1, byref(name))
    call("node_input(index -1)", L.tailor_net_node_input, net, -1, 0, byref(name))
    call("block_count(NULL)", L.tailor_net_block_count, net, None)
    call("skip_count(NULL)", L.tailor_net_skip_count, net, None)
    call("skip_info(out NULL)", L.tailor_net_skip_info, net, 0, None)
    call("skip_info(index 99)", L.tailor_net_skip_info, net, 99, byref(si))
    call("skip_info(size 65544)", L.tailor_net_skip_info, net, 0, byref(_lib.SkipInfo(size=65536 + 8)))
    call("skip_span(k 99)", L.tailor_net_skip_span, net, 0, 99, byref(name))
    call("param_count(NULL)", L.tailor_net_param_count, net, None)
    call("param_info(out NULL)", L.tailor_net_param_info, net, 0, None)
    call("param_info(index -1)", L.tailor_net_param_info, net, -1, byref(pi))
    call("param_dim(dim NULL)", L.tailor_net_param_dim, net, 0, 0, None)
    call("param_dim(k 4 of 4)", L.tailor_net_param_dim, net, 0, 4, byref(n))
    call("skip_cost(before any estimate)", L.tailor_net_skip_cost, net, 0, byref(sc))
    call("history(untrained)", L.tailor_net_history, net, 0, byref(es))
    call("estimate(cfg NULL)", L.tailor_net_estimate, net, None, byref(n), None)
    call("estimate(count NULL)", L.tailor_net_estimate, net, byref(hw), None, None)
    call("checkpoint_json(path NULL)", L.tailor_checkpoint_json, None, byref(name))
    call("checkpoint_json(json NULL)", L.tailor_checkpoint_json, b"/nonexistent", None)
    call("dataflow_simulate_json(design NULL)", L.tailor_dataflow_simulate_json, None, byref(name))
    call("dataflow_simulate_json(json NULL)", L.tailor_dataflow_simulate_json, b"{}", None)
    call("fpga_parts_json(out NULL)", L.tailor_fpga_parts_json, None)
    call("budget_check_json(cfg NULL)", L.tailor_net_budget_check_json, net, None, b'{"part": "xc7z020"}', byref(name))
    call("budget_check_json(budget NULL)", L.tailor_net_budget_check_json, net, byref(hw), None, byref(name))
    call("budget_check_json(out NULL)", L.tailor_net_budget_check_json, net, byref(hw), b'{"part": "xc7z020"}', None)
    call("train_config_defaults(cfg NULL)", L.tailor_train_config_defaults, None, 8)
    call("hw_config_defaults(cfg NULL)", L.tailor_hw_config_defaults, None, 8)
    call("run_config_defaults(cfg NULL)", L.tailor_run_config_defaults, None, 8)
    call("run_train_config_defaults(cfg NULL)", L.tailor_run_train_config_defaults, None, 8)
    call("get_param(name NULL)", L.tailor_net_get_param, net, None, buf, 640)
    call("get_param(out NULL)", L.tailor_net_get_param, net, b"fc.weight", f32p(), 640)
    call("get_param(count short)", L.tailor_net_get_param, net, b"fc.weight", buf, 639)
    call("get_param(count negative)", L.tailor_net_get_param, net, b"fc.weight", buf, -1)
    call("set_param(data NULL)", L.tailor_net_set_param, net, b"fc.weight", f32p(), 2, dims)
    call("set_param(dims NULL)", L.tailor_net_set_param, net, b"fc.weight", buf, 2, None)
    call("set_param(ndim 99)", L.tailor_net_set_param, net, b"fc.weight", buf, 99, dims)
    call("set_param(ndim -1)", L.tailor_net_set_param, net, b"fc.weight", buf, -1, dims)
    call("save(path NULL)", L.tailor_net_save, net, None)
    call("load(path NULL)", L.tailor_net_load, None, byref(out))
    call("load(out NULL)", L.tailor_net_load, b"/nonexistent", None)
    call("load_buffer(data NULL)", L.tailor_net_load_buffer, None, 100, byref(out))
    call("load_buffer(data NULL, size 0)", L.tailor_net_load_buffer, None, 0, byref(out))
    call("load_buffer(out NULL)", L.tailor_net_load_buffer, b"12345678", 8, None)
    call("describe(json NULL)", L.tailor_net_describe, net, None)
    call("zoo(channels 0 only)", L.tailor_zoo_create, b"resnet8", 10, 0, 32, 32, 0, byref(out))
    call("zoo(height negative)", L.tailor_zoo_create, b"resnet8", 10, 3, -32, 32, 0, byref(out))
    # calls where NULL outs are allowed succeed
    ok = {}
    ok["block_info(all outs NULL)"] = L.tailor_net_block_info(net, 0, None, None, None)
    ok["io_shape(all outs NULL)"] = L.tailor_net_io_shape(net, None, None, None, None)
    ok["estimate(totals NULL)"] = L.tailor_net_estimate(net, byref(hw), byref(n), None)
    ok["skip_cost(after estimate)"] = L.tailor_net_skip_cost(net, n.value - 1, byref(sc))
    ok["history_count(untrained)"] = L.tailor_net_history_count(net, byref(n))
    ok["zoo(0, 0, 0 = default input)"] = L.tailor_zoo_create(b"resnet8", 10, 0, 0, 0, 0, byref(out))
    L.tailor_net_free(out)
    ok["add_relu(node_out NULL)"] = L.tailor_net_add_relu(net, b"extra", b"fc", None)
    names = [L.tailor_status_name(s) for s in (-1, 12, 2**31 - 1, -(2**31))]
    L.tailor_net_free(None)
    # the real handle still works
    assert L.tailor_net_node_count(net, byref(n)) == 0 and n.value == 33, n.value
    L.tailor_net_free(net)
    print(json.dumps({"errors": results, "ok": ok, "names": [x.decode() for x in names]}))
""")


def test_null_stale_and_foreign_pointers_in_raw_calls(subprocess_env):
    report = json.loads(run_child(RAW, [], subprocess_env).strip().splitlines()[-1])
    bad = {k: v for k, v in report["errors"].items() if v[0] == 0 or not v[1]}
    assert not bad, f"calls that did not report an error: {bad}"
    assert all(v == 0 for v in report["ok"].values()), report["ok"]
    assert all(report["names"]), report["names"]
    nulls = {k: v for k, v in report["errors"].items() if "(null)" in k}
    assert all(v[0] == 1 and "NULL" in v[1] for v in nulls.values()), nulls


# ---- numerical faults and denormals ----
#
# NaN/Inf in inputs and weights are refused naming the tensor; overflow during training names the
# step and the tensor and keeps the last good weights; denormals are flushed inside calls only:
# the interpreter's own floating-point environment (numpy's denormal arithmetic) is untouched.

DENORMAL = np.float32(np.finfo(np.float32).tiny / 1024)


def _interpreter_keeps_denormals():
    """numpy on this thread still computes with denormals (FTZ/DAZ off)."""
    return DENORMAL * np.float32(2) != 0 and np.float32(np.finfo(np.float32).tiny) / np.float32(4) != 0


def _tiny_resnet():
    return tailor.zoo.resnet8(num_classes=3, input_shape=(3, 8, 8), seed=1)


def test_non_finite_inputs_and_weights_are_named():
    net = _tiny_resnet()
    x = np.zeros((2, 3, 8, 8), np.float32)
    x[1, 2, 3, 4] = np.inf
    with pytest.raises(tailor.TailorError, match=r"input value at flat index \d+ \(sample 1\) is inf") as e:
        net.predict(x)
    assert e.value.status_name == "TAILOR_ERR_NUMERIC"
    with pytest.raises(tailor.TailorError, match="not finite"):
        net.train_step(x, np.array([0, 1]))
    sd = net.state_dict()
    bad = sd["layer2.0.bn1.weight"].copy()
    bad[3] = np.nan
    with pytest.raises(tailor.TailorError, match=r"layer2\.0\.bn1\.weight") as e:
        net.load_state_dict({**sd, "layer2.0.bn1.weight": bad})
    assert e.value.status_name == "TAILOR_ERR_NUMERIC"


def test_predict_that_overflows_is_an_error_not_inf():
    net = _tiny_resnet()
    sd = net.state_dict()
    net.load_state_dict({**sd, "fc.weight": np.full_like(sd["fc.weight"], 3e38), "fc.bias": np.full_like(sd["fc.bias"], 3e38)})
    with pytest.raises(tailor.TailorError, match="overflowed") as e:
        net.predict(np.ones((1, 3, 8, 8), np.float32))
    assert e.value.status_name == "TAILOR_ERR_NUMERIC"


def test_exploding_training_names_step_and_tensor_and_keeps_last_good_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    net = _tiny_resnet()
    seen = []
    with pytest.raises(tailor.TailorError) as e:
        net.fit(train=(x, y), epochs=3, batch_size=4, lr=1e30, momentum=0.0, nesterov=False, augment=False,
                progress=False, callback=lambda d: seen.append(d["global_step"]))
    assert e.value.status_name == "TAILOR_ERR_NUMERIC"
    msg = str(e.value)
    assert re.search(r"at epoch \d+, step \d+ \(global step \d+\)", msg), msg
    # which tensor: a parameter or BN statistic by name, or the overflowing logit
    assert re.search(r"'[\w.]+'", msg) or "logit" in msg, msg
    assert "last good step" in msg
    sd = net.state_dict()
    assert all(np.isfinite(v).all() for v in sd.values())


def test_denormal_inputs_and_weights_train_finitely():
    rng = np.random.default_rng(1)
    net = _tiny_resnet()
    sd = net.state_dict()
    net.load_state_dict({**sd, "layer1.0.conv1.weight": np.full_like(sd["layer1.0.conv1.weight"], DENORMAL)})
    x = np.full((8, 3, 8, 8), DENORMAL, np.float32)
    x[::2] = rng.normal(size=(4, 3, 8, 8)) * np.float32(1e-38)   # mixed normal and subnormal magnitudes
    y = rng.integers(0, 3, 8)
    assert _interpreter_keeps_denormals()
    loss, logits = net.train_step(x, y)
    assert np.isfinite(loss) and np.isfinite(logits).all()
    hist = net.fit(train=(x, y), epochs=2, batch_size=4, progress=False, augment=False)
    assert all(np.isfinite(h["loss"]) for h in hist)
    assert np.isfinite(net.predict(x)).all()
    assert all(np.isfinite(v).all() for v in net.state_dict().values())
    # The interpreter's thread got its environment back after every call.
    assert _interpreter_keeps_denormals()


def test_fit_callbacks_run_in_the_callers_floating_point_environment():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    net = _tiny_resnet()
    inside = []
    net.fit(train=(x, y), epochs=1, batch_size=4, progress=False,
            callback=lambda d: inside.append(_interpreter_keeps_denormals()))
    assert inside and all(inside), inside
    assert _interpreter_keeps_denormals()


def test_callers_floating_point_environment_is_restored_in_a_child(subprocess_env):
    """The MXCSR itself (x86-64) through libc's fegetenv, before and after calls, and flags the
    library raises internally do not leak out."""
    code = textwrap.dedent("""
        import ctypes, platform, sys, numpy as np, tailor
        if platform.machine() not in ("x86_64", "AMD64"):
            print("skip"); sys.exit(0)
        libc = ctypes.CDLL(None)
        env = (ctypes.c_uint32 * 8)()
        def mxcsr():
            # glibc x86-64 fenv_t: 28 bytes of x87 state, then __mxcsr. Control bits only: numpy
            # and the interpreter raise status flags of their own between the calls.
            assert libc.fegetenv(env) == 0
            return env[7] & ~0x3f
        libc.feclearexcept(0x3f)
        before = mxcsr()
        net = tailor.zoo.resnet8(num_classes=3, input_shape=(3, 8, 8))
        x = np.full((4, 3, 8, 8), np.float32(1e-40))
        net.train_step(x, np.array([0, 1, 2, 0]))
        net.predict(x)
        try:
            net.predict(np.full((1, 3, 8, 8), np.nan, np.float32))
        except tailor.TailorError:
            pass
        after = mxcsr()
        print(hex(before), hex(after))
        assert before == after, (hex(before), hex(after))
        assert before & 0x8040 == 0
    """)
    run_child(code, [], subprocess_env)
