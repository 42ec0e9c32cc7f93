"""ONNX export of a Tailor network with the ``onnx`` helper API (no torch needed).

Standard ops only (Conv, BatchNormalization, Relu, Add, MaxPool, AveragePool, GlobalAveragePool,
Flatten, Gemm), so hls4ml, FINN/QONNX and onnxruntime read the file as it is. Tensors are named
after the Tailor nodes that produce them and initializers after the parameters; the graph input
is ``input`` (N, C, H, W) with a symbolic batch dimension, the output ``logits`` (N, classes).
"""
from __future__ import annotations

import json
import os

import numpy as np

from .network import Network

#: Op types an exported graph may contain.
ONNX_OPS = ("Conv", "BatchNormalization", "Relu", "Add", "MaxPool", "AveragePool", "GlobalAveragePool",
            "Flatten", "Gemm")


def _fold(conv: dict, bn: dict, state: dict) -> tuple[np.ndarray, np.ndarray]:
    """Weight and bias of conv followed by inference-mode BN, as one conv:
    W' = W·γ/√(σ²+ε) per output channel, b' = (b − μ)·γ/√(σ²+ε) + β (computed in float64)."""
    w = state[conv["name"] + ".weight"].astype(np.float64)
    b = state[conv["name"] + ".bias"].astype(np.float64) if conv["bias"] else np.zeros(w.shape[0])
    p = bn["name"]
    scale = state[p + ".weight"] / np.sqrt(state[p + ".running_var"].astype(np.float64) + bn["eps"])
    bias = (b - state[p + ".running_mean"]) * scale + state[p + ".bias"]
    return (w * scale[:, None, None, None]).astype(np.float32), bias.astype(np.float32)


def to_onnx(net: Network, opset: int = 17, fold_bn: bool = False):
    """The network as an ``onnx.ModelProto`` (checked with ``onnx.checker.check_model``).

    With `fold_bn`, every BatchNormalization that is the only reader of a Conv is folded into
    it (the form hls4ml and QONNX readers prefer); the folded conv keeps the conv's
    parameter names (``<conv>.weight``, ``<conv>.bias``) and writes the BN's output tensor.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    d = net.describe()
    nodes, state = d["nodes"], net.state_dict()
    readers = {}
    for n in nodes:
        for i in n["inputs"]:
            readers.setdefault(i, []).append(n)
    by_name = {n["name"]: n for n in nodes}
    # A BN folds into its conv when it is that conv's only reader (it always is in Tailor graphs).
    folded = {n["inputs"][0]: n for n in nodes if fold_bn and n["op"] == "batchnorm"
              and by_name[n["inputs"][0]]["op"] == "conv2d" and len(readers[n["inputs"][0]]) == 1}
    out_name = nodes[-1]["name"]
    renamed = {nodes[0]["name"]: "input", out_name: "logits"}
    for conv, bn in folded.items():  # the folded conv writes what the BN wrote
        renamed[conv] = renamed.get(bn["name"], bn["name"])

    def t(name):  # tensor name of a node's output
        return renamed.get(name, name)

    inits, graph_nodes = {}, []

    def init(name, array):
        inits[name] = numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    for n in nodes[1:]:
        op, name, ins = n["op"], n["name"], [t(i) for i in n["inputs"]]
        if op == "batchnorm" and n["inputs"][0] in folded:
            continue  # already inside its conv
        if op == "conv2d":
            k, s, p = n["kernel"], n["stride"], n["padding"]
            if name in folded:
                w, b = _fold(n, folded[name], state)
                params = [init(name + ".weight", w), init(name + ".bias", b)]
            else:
                params = [init(name + ".weight", state[name + ".weight"])]
                if n["bias"]:
                    params.append(init(name + ".bias", state[name + ".bias"]))
            graph_nodes.append(helper.make_node("Conv", ins + params, [t(name)], name=name, kernel_shape=[k, k],
                                                strides=[s, s], pads=[p, p, p, p], dilations=[1, 1], group=1))
        elif op == "batchnorm":
            params = [init(f"{name}.{k}", state[f"{name}.{k}"]) for k in ("weight", "bias", "running_mean",
                                                                            "running_var")]
            # ONNX's momentum weighs the old running value: 1 - PyTorch's momentum (training only)
            graph_nodes.append(helper.make_node("BatchNormalization", ins + params, [t(name)], name=name,
                                                epsilon=float(n["eps"]), momentum=1.0 - float(n["momentum"])))
        elif op == "dense":
            params = [init(name + ".weight", state[name + ".weight"])]
            if n["bias"]:
                params.append(init(name + ".bias", state[name + ".bias"]))
            graph_nodes.append(helper.make_node("Gemm", ins + params, [t(name)], name=name, transB=1))
        elif op in ("maxpool", "avgpool"):
            k, s, p = n["kernel"], n["stride"], n["padding"]
            extra = {"count_include_pad": 1} if op == "avgpool" else {}
            graph_nodes.append(helper.make_node("MaxPool" if op == "maxpool" else "AveragePool", ins, [t(name)],
                                                name=name, kernel_shape=[k, k], strides=[s, s],
                                                pads=[p, p, p, p], **extra))
        else:
            onnx_op = {"relu": "Relu", "add": "Add", "global_avgpool": "GlobalAveragePool",
                       "flatten": "Flatten"}[op]
            extra = {"axis": 1} if op == "flatten" else {}
            graph_nodes.append(helper.make_node(onnx_op, ins, [t(name)], name=name, **extra))

    c, h, w = nodes[0]["shape"]
    classes = nodes[-1]["shape"][0]
    graph = helper.make_graph(
        graph_nodes, "tailor",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", c, h, w])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        initializer=list(inits.values()))
    model = helper.make_model(graph, producer_name="tailor", opset_imports=[helper.make_opsetid("", opset)])
    # IR 8 is what opset 17 shipped with; older readers (hls4ml, QONNX) refuse newer IR versions.
    model.ir_version = 8 if opset <= 17 else model.ir_version
    helper.set_model_props(model, {"tailor.block_modes": json.dumps({b["name"]: b["mode"] for b in d["blocks"]}),
                                   "tailor.fold_bn": str(bool(fold_bn))})
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(net: Network, path, opset: int = 17, fold_bn: bool = False):
    """Writes `net` as an ONNX file at `path` (see :func:`to_onnx`) and returns the ModelProto.

    The file is written to a temporary name and renamed, so a failed export leaves no half file.
    """
    import onnx

    model = to_onnx(net, opset=opset, fold_bn=fold_bn)
    path = os.fspath(path)
    tmp = path + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, path)
    return model
