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

from ._lib import InvalidArgumentError, TailorError, UnsupportedError
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


# ---- QONNX: the network at its fixed-point types ------------------------------------------------
#
# The design (every type, which batch norms fold, the weights as the design holds them) is the
# library's: net.fixed_design() and net.fixed_parameter(). What is decided here is only how QONNX
# carries it. hls4ml 1.3.0 reads a QONNX ``Quant`` (x, scale, zeropt, bitwidth; signed, narrow,
# rounding_mode) with a power-of-two scale and a zero point of 0 as the type
# ap_[u]fixed<bitwidth, bitwidth + log2(scale)> with rounding ROUND -> AP_RND_CONV, FLOOR -> AP_TRN
# (every other mode is refused) and overflow AP_SAT, or AP_SAT_SYM when narrow
# (model/optimizer/passes/quant_opt.py `_calculate_precision_quantizer`). On a constant the Quant is
# folded into it (the constant is quantised in numpy and takes that type: the conv/dense weight or
# bias type); after a conv, dense, batch norm or activation whose result hls4ml would infer it
# becomes that layer's result type (linear.py `MergeLinearActivation`); elsewhere it is a linear
# activation that converts to the type. Everything hls4ml does not get from a Quant it takes from
# its config: inferred ("auto") accumulators and results, or the model default.

QONNX_DOMAIN = "qonnx.custom_op.general"

_ROUNDING_WORDS = {"AP_TRN": "toward -inf", "AP_TRN_ZERO": "toward zero", "AP_RND": "ties toward +inf",
                   "AP_RND_ZERO": "ties toward zero", "AP_RND_MIN_INF": "ties toward -inf",
                   "AP_RND_INF": "ties away from zero", "AP_RND_CONV": "ties to even"}


def _quant_modes(t: dict, where: str, positive: bool = False) -> tuple[str, int]:
    """The Quant attributes (rounding_mode, narrow) that hls4ml 1.3.0 turns into the design type `t`
    (or into one that converts every value the same way), or a TailorError saying why there is none.
    `positive`: the conversion only ever sees values > 0 (a ReLU's output)."""
    q, o = t["rounding"], t["overflow"]
    if positive and q == "AP_TRN_ZERO":
        q = "AP_TRN"                      # toward zero == toward -inf for x > 0
    if (positive or not t["signed"]) and o == "AP_SAT_SYM":
        o = "AP_SAT"                      # the symmetric range differs only at the negative end
    why = []
    if q not in ("AP_TRN", "AP_RND_CONV"):
        why.append(f"{q} (rounding {_ROUNDING_WORDS.get(q, q)}) has no Quant rounding mode hls4ml 1.3.0 maps to it "
                   "(it maps ROUND to AP_RND_CONV and FLOOR to AP_TRN only): use AP_RND_CONV or AP_TRN")
    if o not in ("AP_SAT", "AP_SAT_SYM"):
        why.append(f"{o} is not what a Quant does on overflow (it always clips: hls4ml maps it to AP_SAT, "
                   "or AP_SAT_SYM when narrow): use AP_SAT or AP_SAT_SYM")
    if t["signed"] and t["width"] == 1:
        why.append("a signed 1-bit Quant is QONNX's bipolar (+-1) quantiser, not ap_fixed<1,I>")
    if why:
        raise UnsupportedError(f"QONNX export: {where} is {t['type']}, which a QONNX Quant cannot express: "
                               + "; ".join(why))
    return ("FLOOR" if q == "AP_TRN" else "ROUND"), int(o == "AP_SAT_SYM")


def to_qonnx(net: Network, opset: int = 13):
    """The network at its fixed-point types (:meth:`Network.set_precision`) as a QONNX
    ``onnx.ModelProto``: the float graph of :func:`to_onnx` with QONNX ``Quant`` nodes (domain
    ``qonnx.custom_op.general``; scale 2^-(W-I), zero point 0, bitwidth W, signed for ap_fixed)
    where the network quantises, built so that hls4ml 1.3.0 makes from it the design
    ``net.predict(x, quantized=True)`` computes (:meth:`Network.fixed_design`):

    * **Weights and biases** of every conv and dense: the values the design holds
      (:meth:`Network.fixed_parameter`: a BatchNorm that hls4ml folds into its conv folded in, then
      hls4ml's text round trip and the weight/bias type), each behind a Quant of that type. On
      these already-quantised values every Quant is exact, whatever the type's rounding and
      overflow modes (the Quant gets ROUND, or FLOOR for AP_TRN; narrow for signed AP_SAT_SYM), so
      the weights need no expressible mode; a conv without a bias gets its (zero or folded) bias so
      that the bias type reaches hls4ml's accumulator inference.
    * **Activations**: a Quant after the input, a ReLU, add, conv/dense, unfolded batch norm or
      pooling whose result has a type of its own (not "auto"), and after a conv/dense/add/batch
      norm/max pool whose result falls back to the model default (hls4ml would infer it
      otherwise). hls4ml reads only ROUND (= AP_RND_CONV) and FLOOR (= AP_TRN), and a Quant always
      clips (AP_SAT, narrow = AP_SAT_SYM): any other mode is a TailorError naming the node and the
      type (after a ReLU only positive values are converted, so AP_TRN_ZERO counts as AP_TRN there).
      A ReLU, input or global-average-pool result that is exactly the model default needs no Quant
      when none can express it: hls4ml gives it the default (see :func:`hls4ml_config`).

    What a QONNX graph cannot carry: the input layer's type and the global average pool's
    accumulator and result (hls4ml's ONNX front end gives them the model default), so
    :func:`hls4ml_config` sets those; an accumulator that is not exact (it must hold every
    sum, or the export refuses); batch-norm scale/bias types other than the model default. The
    metadata ``tailor.precision`` holds the network's config and ``tailor.hls4ml`` what
    :func:`hls4ml_config` needs.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if net.precision is None:
        raise InvalidArgumentError("a QONNX export needs the network's fixed-point types: call net.set_precision(...) first")
    d, design = net.describe(), net.fixed_design()
    nodes, state, model_t = d["nodes"], net.state_dict(), design["model"]
    layers = {layer["node"]: layer for layer in design["layers"]}
    inits, graph_nodes, out = {}, [], {}

    def init(name, array):   # a 0-d array stays 0-d (np.ascontiguousarray would make it shape (1,))
        array = np.asarray(array)
        inits[name] = numpy_helper.from_array(array if array.ndim == 0 else np.ascontiguousarray(array), name)
        return name

    def quant(x, name, t, modes, shape=()):
        """A Quant of `x` to type `t`. Bit width a scalar (qonnx's datatype inference asserts it);
        scale and zero point scalars (`shape` ()) on activations, where qonnx's channels-last
        conversion would otherwise make them (1, 1, 1, 1), which hls4ml cannot read; (1,) on
        constants, which qonnx's ExtractBiasFromConv (FINN's flow) reshapes only from (1,)."""
        rounding, narrow = modes
        fraction = t["width"] - t["integer"]
        scale = np.float32(2.0 ** -fraction)
        if not np.isfinite(scale) or scale == 0 or float(scale) != 2.0 ** -fraction:
            raise UnsupportedError(f"QONNX export: {name}: the scale 2^{-fraction} of {t['type']} is not a float32")
        params = [init(f"{name}.scale", np.full(shape, scale, np.float32)),
                  init(f"{name}.zeropt", np.zeros(shape, np.float32)),
                  init(f"{name}.bitwidth", np.float32(t["width"]))]
        graph_nodes.append(helper.make_node("Quant", [x] + params, [name], name=name, domain=QONNX_DOMAIN,
                                            signed=int(t["signed"]), narrow=narrow, rounding_mode=rounding))
        return name

    def constant(node, role, transpose=False):
        """Quant(initializer) holding `node`'s `role` as the design holds it, at the design's type."""
        name, t, values = f"{node}.{role}", layers[node][role], net.fixed_parameter(node, role)
        if not np.array_equal(values.astype(np.float32).astype(np.float64), values):
            raise UnsupportedError(f"QONNX export: {name} at {t['type']}: its values need more than float32's 24-bit "
                                   "significand, and ONNX initializers here are float32")
        values = values.astype(np.float32)
        modes = ("FLOOR" if t["rounding"] == "AP_TRN" else "ROUND", int(t["signed"] and t["overflow"] == "AP_SAT_SYM"))
        return quant(init(name, values.T if transpose else values), name + ".quant", t, modes, shape=(1,))

    def activation(x, node, kind):
        """`x` behind a Quant of `node`'s result type, where one is needed. `kind` "inferred":
        hls4ml would infer this result, so every type (not "auto") needs a Quant; "default": hls4ml
        gives this result the model default or hls4ml_config sets it, so the Quant is there when it
        can be (a type of the layer's own must be expressible); "relu": as "default", and only
        values > 0 are converted."""
        t = layers[node]["result"]
        if kind == "inferred" and t["source"] == "auto":
            return x
        where = f"node '{node}' result" + (" (the model default: the layer names no result type)"
                                           if t["source"] == "model" else "")
        try:
            modes = _quant_modes(t, where, positive=kind == "relu")
        except TailorError:
            if kind == "inferred" or (t["source"] == "layer" and t["type"] != model_t):
                raise
            return x   # the model default (or an inferred type hls4ml_config sets): no Quant needed
        return quant(x, f"{node}.quant", t, modes)

    def check_accum(node, op):
        """QONNX has no accumulator type: hls4ml infers an exact one, so the design's must agree."""
        acc = layers[node]["accum"]
        if acc["source"] == "auto" or layers[node].get("accum_holds_exact_sum"):
            return
        exact = layers[node].get("accum_inferred")
        if exact is None:   # hls4ml would infer a type over 64 bits: no exact accumulator exists here
            raise UnsupportedError(f"QONNX export: node '{node}' accum is {acc['type']}, and the exact type hls4ml would "
                                   "infer for it is wider than 64 bits; a QONNX graph has no accumulator type")
        if op == "avgpool" and acc["type"] != exact["type"]:   # its truncating division works at the accumulator's grid
            raise UnsupportedError(f"QONNX export: node '{node}' accum is {acc['type']}; an ONNX AveragePool has no "
                                   f"accumulator type and hls4ml infers {exact['type']}: set the accum to 'auto'")
        if op == "global_avgpool":
            x = layers[layers[node]["inputs"][0]]["result"]
            if (x["signed"] and not acc["signed"]) or acc["integer"] - (acc["signed"] and not x["signed"]) < exact["integer"]:
                raise UnsupportedError(
                    f"QONNX export: node '{node}' accum is {acc['type']}, which can overflow the sum of its window "
                    f"(it needs {exact['integer']} integer bits); hls4ml's ONNX global pooling adds in another order "
                    "than the PyTorch-style average predict models, which agree only when the sum cannot overflow: "
                    f"set the accum to 'auto' or to a type with {exact['integer']}+ integer bits")
        else:
            raise UnsupportedError(f"QONNX export: node '{node}' accum is {acc['type']}, which rounds or overflows the "
                                   f"sum (exactly it needs {exact['type']}); a QONNX graph has no accumulator type and "
                                   f"hls4ml infers an exact one: set the accum to 'auto' or to a type that holds "
                                   f"{exact['type']}")

    for n in nodes:
        op, name, ins = n["op"], n["name"], [out.get(i) for i in n["inputs"]]
        layer, kind = layers[name], "inferred"
        if "accum" in layer:
            check_accum(name, op)
        if op == "input":
            out[name] = activation("input", name, "default")
            continue
        if op == "conv2d":
            k, s, p = n["kernel"], n["stride"], n["padding"]
            graph_nodes.append(helper.make_node("Conv", [ins[0], constant(name, "weight"), constant(name, "bias")],
                                                [name + ".out"], name=name, kernel_shape=[k, k], strides=[s, s],
                                                pads=[p, p, p, p], dilations=[1, 1], group=1))
        elif op == "batchnorm":
            if "folded_into" in layer:   # inside its conv's weight and bias
                out[name] = out[layer["folded_into"]]
                continue
            for role in ("scale", "bias"):
                if layer[role]["type"] != model_t:
                    raise UnsupportedError(f"QONNX export: node '{name}' {role} is {layer[role]['type']}; hls4ml's ONNX "
                                           f"BatchNormalization takes the model default ({model_t}) for its {role} and a "
                                           "QONNX graph cannot carry another (leave it to the default, or make the "
                                           "conv's result 'auto' so that the batch norm folds into the conv)")
            params = [init(f"{name}.{k}", state[f"{name}.{k}"].astype(np.float32))
                      for k in ("weight", "bias", "running_mean", "running_var")]
            graph_nodes.append(helper.make_node("BatchNormalization", ins + params, [name + ".out"], name=name,
                                                epsilon=float(n["eps"]), momentum=1.0 - float(n["momentum"])))
        elif op == "dense":
            params = [constant(name, "weight", transpose=True), constant(name, "bias")]
            graph_nodes.append(helper.make_node("Gemm", [ins[0]] + params, [name + ".out"], name=name))
        elif op in ("maxpool", "avgpool"):
            k, s, p = n["kernel"], n["stride"], n["padding"]
            extra = {"count_include_pad": 1} if op == "avgpool" else {}
            graph_nodes.append(helper.make_node("MaxPool" if op == "maxpool" else "AveragePool", ins, [name + ".out"],
                                                name=name, kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p],
                                                **extra))
        elif op in ("global_avgpool", "relu", "add"):
            onnx_op = {"global_avgpool": "GlobalAveragePool", "relu": "Relu", "add": "Add"}[op]
            graph_nodes.append(helper.make_node(onnx_op, ins, [name + ".out"], name=name))
            kind = {"global_avgpool": "default", "relu": "relu", "add": "inferred"}[op]
        elif op == "flatten":
            graph_nodes.append(helper.make_node("Flatten", ins, [name + ".out"], name=name, axis=1))
            out[name] = name + ".out"
            continue
        else:
            raise UnsupportedError(f"QONNX export: node '{name}': op '{op}' is not supported")
        out[name] = activation(name + ".out", name, kind)

    # The graph's output is `logits`: rename the last tensor.
    last = out[nodes[-1]["name"]]
    for gn in graph_nodes:
        for i, o in enumerate(gn.output):
            if o == last:
                gn.output[i] = "logits"
        for i, x in enumerate(gn.input):
            if x == last:
                gn.input[i] = "logits"
    c, h, w = nodes[0]["shape"]
    classes = nodes[-1]["shape"][0]
    graph = helper.make_graph(
        graph_nodes, "tailor_qonnx",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, c, h, w])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        initializer=list(inits.values()))
    model = helper.make_model(graph, producer_name="tailor",
                              opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(QONNX_DOMAIN, 1)])
    model.ir_version = 8 if opset <= 17 else model.ir_version
    gaps = [{"node": n["name"], "accum": layers[n["name"]]["accum"]["type"], "result": layers[n["name"]]["result"]["type"]}
            for n in nodes if n["op"] == "global_avgpool"]
    helper.set_model_props(model, {
        "tailor.block_modes": json.dumps({b["name"]: b["mode"] for b in d["blocks"]}),
        "tailor.precision": json.dumps(net.precision),
        "tailor.hls4ml": json.dumps({"default_precision": model_t, "input": layers[nodes[0]["name"]]["result"]["type"],
                                     "global_avgpool": gaps})})
    onnx.checker.check_model(model)
    return model


def export_qonnx(net: Network, path, opset: int = 13):
    """Writes `net` at its fixed-point types as a QONNX file at `path` (see :func:`to_qonnx`) and
    returns the ModelProto; the file is written to a temporary name and renamed."""
    import onnx

    model = to_qonnx(net, opset=opset)
    path = os.fspath(path)
    tmp = path + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, path)
    return model


def hls4ml_config(model, backend: str = "Vivado", **options) -> dict:
    """hls4ml's config for a model written by :func:`export_qonnx` (a ``ModelWrapper`` or
    ``ModelProto``, after QONNX's clean-up and channels-last conversion, as hls4ml reads it):
    ``config_from_onnx_model(granularity="name", default_precision=<the network's model default>)``
    plus what the Quant nodes cannot carry: the input layer's type and each global average pool's
    accumulator and result (hls4ml's ONNX front end would give them the model default)."""
    import hls4ml

    proto = getattr(model, "model", model)
    meta = {p.key: p.value for p in proto.metadata_props}
    if "tailor.hls4ml" not in meta:
        raise InvalidArgumentError("hls4ml_config: the model has no 'tailor.hls4ml' metadata (not written by export_qonnx)")
    hints = json.loads(meta["tailor.hls4ml"])
    cfg = hls4ml.utils.config_from_onnx_model(model, granularity="name", backend=backend,
                                              default_precision=hints["default_precision"], **options)
    layers = cfg["LayerName"]
    layers.setdefault(proto.graph.input[0].name, {}).setdefault("Precision", {})["result"] = hints["input"]
    pools = [n.name for n in proto.graph.node if n.op_type == "GlobalAveragePool"]
    if len(pools) != len(hints["global_avgpool"]):
        raise InvalidArgumentError(f"hls4ml_config: the graph has {len(pools)} GlobalAveragePool nodes, the network "
                          f"{len(hints['global_avgpool'])}")
    for onnx_name, gap in zip(pools, hints["global_avgpool"]):
        layers.setdefault(onnx_name, {}).setdefault("Precision", {}).update(accum=gap["accum"], result=gap["result"])
    return cfg
