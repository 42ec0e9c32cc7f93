"""ONNX export of a Tailor network with the ``onnx`` helper API (no torch needed).

Standard ops only (Conv, BatchNormalization, Relu, Add, MaxPool, AveragePool, GlobalAveragePool,
Flatten, Gemm), so hls4ml, FINN/QONNX and onnxruntime read the file as it is. Tensors are named
after the Tailor nodes that produce them and initializers after the parameters; the graph input
is ``input`` (N, C, H, W) with a symbolic batch dimension, the output ``logits`` (N, classes).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

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
# hls4ml 1.3.0 reads a QONNX ``Quant`` (x, scale, zeropt, bitwidth; signed, narrow, rounding_mode) with
# a power-of-two scale and a zero point of 0 as the type ap_[u]fixed<bitwidth, bitwidth + log2(scale)>
# with rounding ROUND -> AP_RND_CONV, FLOOR -> AP_TRN (every other mode is refused) and overflow
# AP_SAT, or AP_SAT_SYM when narrow (model/optimizer/passes/quant_opt.py `_calculate_precision_quantizer`).
# On a constant the Quant is folded into it (the constant is quantised in numpy and takes that type:
# the conv/dense weight or bias type); after a conv, dense, batch norm or activation whose result hls4ml
# would infer it becomes that layer's result type (linear.py `MergeLinearActivation`); elsewhere it is a
# linear activation that converts to the type. Everything hls4ml does not get from a Quant it takes
# from its config: inferred ("auto") accumulators and results, or the model default.

QONNX_DOMAIN = "qonnx.custom_op.general"

_ROUNDING = ("AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_MIN_INF", "AP_RND_INF", "AP_RND_CONV")
_OVERFLOW = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM")
_ROUNDING_WORDS = {"AP_TRN": "toward -inf", "AP_TRN_ZERO": "toward zero", "AP_RND": "ties toward +inf",
                   "AP_RND_ZERO": "ties toward zero", "AP_RND_MIN_INF": "ties toward -inf",
                   "AP_RND_INF": "ties away from zero", "AP_RND_CONV": "ties to even"}


@dataclass(frozen=True)
class FixedType:
    """``ap_fixed<W,I,Q,O>`` / ``ap_ufixed<W,I,Q,O>`` as the library spells it (``str()`` is that spelling)."""
    width: int
    integer: int
    signed: bool = True
    rounding: str = "AP_TRN"
    overflow: str = "AP_WRAP"

    @property
    def fraction(self) -> int:
        return self.width - self.integer

    @classmethod
    def parse(cls, text: str) -> "FixedType":
        """hls4ml's spellings: ``ap_fixed<16,6>``, ``fixed<8,3,RND_CONV,SAT>``, ``ap_ufixed<8,0>``,
        ``ap_int<8>`` (= ``ap_fixed<8,8,AP_TRN_ZERO>``), ``ap_uint<8>``."""
        s = "".join(str(text).split())
        m = re.fullmatch(r"(?i)(?:ap_)?(u?fixed|u?int)<([^<>]*)>", s)
        if not m:
            raise InvalidArgumentError(f"'{text}' is not a fixed-point type (expected e.g. ap_fixed<8,3,AP_RND_CONV,AP_SAT>)")
        kind, args = m.group(1).lower(), m.group(2).split(",")

        def mode(a, names):
            a = a.upper() if a.upper().startswith("AP_") else "AP_" + a.upper()
            if a not in names:
                raise InvalidArgumentError(f"'{text}': unknown mode '{a}'")
            return a
        try:
            if kind in ("int", "uint"):
                w = int(args[0])
                return cls(w, w, kind == "int", "AP_TRN_ZERO", "AP_WRAP")
            return cls(int(args[0]), int(args[1]), kind == "fixed",
                       mode(args[2], _ROUNDING) if len(args) > 2 else "AP_TRN",
                       mode(args[3], _OVERFLOW) if len(args) > 3 else "AP_WRAP")
        except (ValueError, IndexError):
            raise InvalidArgumentError(f"'{text}' is not a fixed-point type (expected e.g. ap_fixed<8,3,AP_RND_CONV,AP_SAT>)") from None

    def __str__(self) -> str:
        args = [str(self.width), str(self.integer)]
        if self.rounding != "AP_TRN" or self.overflow != "AP_WRAP":
            args.append(self.rounding)
        if self.overflow != "AP_WRAP":
            args.append(self.overflow)
        return f"{'ap_fixed' if self.signed else 'ap_ufixed'}<{','.join(args)}>"

    def _range(self):
        from fractions import Fraction
        lsb = Fraction(2) ** -self.fraction
        if self.signed:
            return -(2 ** (self.width - 1)) * lsb, (2 ** (self.width - 1) - 1) * lsb
        return Fraction(0), (2 ** self.width - 1) * lsb

    def holds(self, other: "FixedType") -> bool:
        """Every value of `other` is a value of this type (converting one changes nothing)."""
        (lo, hi), (olo, ohi) = self._range(), other._range()
        return self.fraction >= other.fraction and lo <= olo and hi >= ohi


def _fixed(width, integer, signed) -> FixedType:   # an inferred type: AP_TRN, AP_WRAP
    return FixedType(width, integer, signed)


def _exact_sum(a: FixedType, b: FixedType) -> FixedType:
    """hls4ml's exact type of a + b (infer_precision.py merge rule; also the bias step of conv/dense)."""
    i = max(a.integer + (b.signed and not a.signed), b.integer + (a.signed and not b.signed)) + 1
    return _fixed(i + max(a.fraction, b.fraction), i, a.signed or b.signed)


def _ceil_log2(n: int) -> int:
    return 0 if n <= 1 else (n - 1).bit_length()


class _Types:
    """The network's types resolved as its fixed-point predict resolves them (a role a layer does not
    name takes the model default; "auto" takes hls4ml's inferred type; a batch norm folds into the
    conv before it when that conv's result is "auto" and the BN is its only reader)."""

    def __init__(self, net: Network, nodes: list, readers: dict):
        p = net.precision
        if p is None:
            raise InvalidArgumentError("a QONNX export needs the network's fixed-point types: call net.set_precision(...) first")
        self.model = FixedType.parse(p["Model"]["Precision"])
        self.layers = {}
        for name, cfg in (p.get("LayerName") or {}).items():
            prec = cfg.get("Precision", {}) if isinstance(cfg, dict) else {}
            self.layers[name] = prec if isinstance(prec, dict) else {"*": prec}
        by_name = {n["name"]: n for n in nodes}
        self.value, self.folded, self.accum = {}, {}, {}   # node -> type of its output; bn -> conv; node -> accum
        for n in nodes:
            op, name = n["op"], n["name"]
            x = self.value[n["inputs"][0]] if n["inputs"] else None
            if op == "input":
                self.value[name] = self.concrete("result", name, self.model)
            elif op in ("conv2d", "dense"):
                if op == "conv2d":
                    fan_in = by_name[n["inputs"][0]]["shape"][0] * n["kernel"] ** 2
                    bn = [r for r in readers.get(name, []) if r["op"] == "batchnorm"]
                    if self.setting("result", name) == "auto" and len(readers.get(name, [])) == 1 and bn:
                        self.folded[bn[0]["name"]] = name
                else:
                    fan_in = int(np.prod(by_name[n["inputs"][0]]["shape"]))
                w = self.concrete("weight", name, self.model)
                b = self.concrete("bias", name, self.model)
                g = _ceil_log2(fan_in)
                inferred = _exact_sum(_fixed(w.width + x.width + g, w.integer + x.integer + g, w.signed or x.signed), b)
                self.accum[name] = (self.concrete("accum", name, inferred), inferred)
                self.value[name] = self.concrete("result", name, inferred)
            elif op == "batchnorm":
                if name in self.folded:
                    self.value[name] = x
                    continue
                s = self.concrete("scale", name, self.model)
                b = self.concrete("bias", name, self.model)
                self.value[name] = self.concrete("result", name, _exact_sum(
                    _fixed(x.width + s.width, x.integer + s.integer, x.signed or s.signed), b))
            elif op == "relu":
                self.value[name] = self.concrete("result", name, self.model)
            elif op == "add":
                self.value[name] = self.concrete("result", name, _exact_sum(x, self.value[n["inputs"][1]]))
            elif op in ("maxpool", "avgpool", "global_avgpool"):
                window = n["kernel"] ** 2 if op != "global_avgpool" else by_name[n["inputs"][0]]["shape"][1] * \
                    by_name[n["inputs"][0]]["shape"][2]
                e = _ceil_log2(window)
                inferred = x if op == "maxpool" else _fixed(x.width + 2 * e, x.integer + e, x.signed)
                self.accum[name] = (self.concrete("accum", name, inferred), inferred)
                self.value[name] = self.concrete("result", name, x)
            else:   # flatten
                self.value[name] = x

    def setting(self, role: str, node: str):
        """The layer's own setting: a FixedType, "auto", or None (it names none: the model default)."""
        prec = self.layers.get(node, {})
        if role == "scale" and "scale" not in prec and "weight" in prec:
            role = "weight"
        v = prec.get(role, prec.get("*"))
        if v is None:
            return None
        return "auto" if v == "auto" else FixedType.parse(v)

    def concrete(self, role: str, node: str, inferred: FixedType) -> FixedType:
        s = self.setting(role, node)
        return self.model if s is None else inferred if s == "auto" else s


def _quant_modes(t: FixedType, where: str, positive: bool = False) -> tuple[str, int]:
    """The Quant attributes (rounding_mode, narrow) that hls4ml 1.3.0 turns into type `t` (or into
    one that converts every value the same way), or a TailorError saying why there is none.
    `positive`: the conversion only ever sees values > 0 (a ReLU's output)."""
    q, o = t.rounding, t.overflow
    if positive and q == "AP_TRN_ZERO":
        q = "AP_TRN"                      # toward zero == toward -inf for x > 0
    if positive and o == "AP_SAT_SYM":
        o = "AP_SAT"                      # the symmetric range differs only at the negative end
    if not t.signed and o == "AP_SAT_SYM":
        o = "AP_SAT"                      # unsigned AP_SAT_SYM is AP_SAT
    why = []
    if q not in ("AP_TRN", "AP_RND_CONV"):
        why.append(f"{q} (rounding {_ROUNDING_WORDS[q]}) has no Quant rounding mode hls4ml 1.3.0 maps to it "
                   "(it maps ROUND to AP_RND_CONV and FLOOR to AP_TRN only): use AP_RND_CONV or AP_TRN")
    if o not in ("AP_SAT", "AP_SAT_SYM"):
        why.append(f"{o} is not what a Quant does on overflow (it always clips: hls4ml maps it to AP_SAT, "
                   "or AP_SAT_SYM when narrow): use AP_SAT or AP_SAT_SYM")
    if t.signed and t.width == 1:
        why.append("a signed 1-bit Quant is QONNX's bipolar (+-1) quantiser, not ap_fixed<1,I>")
    if why:
        raise UnsupportedError(f"QONNX export: {where} is {t}, which a QONNX Quant cannot express: " + "; ".join(why))
    return ("FLOOR" if q == "AP_TRN" else "ROUND"), int(o == "AP_SAT_SYM")


def _text_quantize(values: np.ndarray, t: FixedType) -> np.ndarray:
    """`values` (float32) as they reach an hls4ml design of weight type `t`: printed with F decimals,
    read back as doubles, converted to `t` (hls4ml writes weights as text; docs/fixed-point.md)."""
    from .fixed import quantize
    digits = max(0, t.fraction)
    text = np.array([float(f"{v:.{digits}f}") for v in values.astype(np.float64).ravel().tolist()], dtype=np.float64)
    return quantize(text, str(t)).reshape(values.shape)


def _fold_float32(w, b, bn: dict, state: dict):
    """Conv weight and bias with `bn` folded in as hls4ml folds (float32 numpy, bn_fuse.py and
    layers.py BatchNormalization): scale = γ/√(var+ε), shift = β − scale·μ, w' = scale·w,
    b' = scale·b + shift (b' = shift when the conv has no bias)."""
    p = bn["name"]
    gamma, beta = state[p + ".weight"].astype(np.float32), state[p + ".bias"].astype(np.float32)
    mean, var = state[p + ".running_mean"].astype(np.float32), state[p + ".running_var"].astype(np.float32)
    scale = gamma / np.sqrt(var + np.float32(bn["eps"]))
    shift = beta - scale * mean
    w = scale.reshape(-1, *([1] * (w.ndim - 1))) * w.astype(np.float32)
    return w, (shift if b is None else scale * b.astype(np.float32) + shift)


def to_qonnx(net: Network, opset: int = 13):
    """The network at its fixed-point types (:meth:`Network.set_precision`) as a QONNX
    ``onnx.ModelProto``: the float graph of :func:`to_onnx` with QONNX ``Quant`` nodes (domain
    ``qonnx.custom_op.general``; scale 2^-(W-I), zero point 0, bitwidth W, signed for ap_fixed)
    where the network quantises, built so that hls4ml 1.3.0 makes from it the design
    ``net.predict(x, quantized=True)`` computes:

    * **Weights and biases** of every conv and dense: the values the design holds (a BatchNorm
      that hls4ml would fold into its conv is folded here, in float32 as hls4ml folds; then
      hls4ml's text round trip and the weight/bias type), each behind a Quant of that type. On
      these already-quantised values every Quant is exact, whatever the type's rounding and
      overflow modes (the Quant gets ROUND, or FLOOR for AP_TRN; narrow for signed AP_SAT_SYM), so
      the weights need no expressible mode; a conv without a bias gets a zero bias so that the bias
      type reaches hls4ml's accumulator inference.
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

    d = net.describe()
    nodes, state = d["nodes"], net.state_dict()
    readers = {}
    for n in nodes:
        for i in n["inputs"]:
            readers.setdefault(i, []).append(n)
    types = _Types(net, nodes, readers)
    model_t = types.model
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
        scale = np.float32(2.0 ** -t.fraction)
        if not np.isfinite(scale) or scale == 0 or float(scale) != 2.0 ** -t.fraction:
            raise UnsupportedError(f"QONNX export: {name}: the scale 2^{-t.fraction} of {t} is not a float32")
        params = [init(f"{name}.scale", np.full(shape, scale, np.float32)),
                  init(f"{name}.zeropt", np.zeros(shape, np.float32)),
                  init(f"{name}.bitwidth", np.float32(t.width))]
        graph_nodes.append(helper.make_node("Quant", [x] + params, [name], name=name, domain=QONNX_DOMAIN,
                                            signed=int(t.signed), narrow=narrow, rounding_mode=rounding))
        return name

    def constant(name, values, t):
        """Quant(initializer) holding `values` (already as the design holds them) at type `t`."""
        if not np.array_equal(values.astype(np.float32).astype(np.float64), values):
            raise UnsupportedError(f"QONNX export: {name} at {t}: its values need more than float32's 24-bit "
                              "significand, and ONNX initializers here are float32")
        rounding = "FLOOR" if t.rounding == "AP_TRN" else "ROUND"
        narrow = int(t.signed and t.overflow == "AP_SAT_SYM")
        return quant(init(name, values.astype(np.float32)), name + ".quant", t, (rounding, narrow), shape=(1,))

    def activation(x, node, t, kind):
        """`x` behind a Quant of type `t`, the result type of `node`, where one is needed. `kind`
        "inferred": hls4ml would infer this result, so every type (not "auto") needs a Quant;
        "default": hls4ml gives this result the model default or hls4ml_config sets it, so the
        Quant is there when it can be (a type of the layer's own must be expressible);
        "relu": as "default", and only values > 0 are converted."""
        setting = types.setting("result", node)
        if kind == "inferred" and setting == "auto":
            return x
        where = f"node '{node}' result" + (" (the model default: the layer names no result type)"
                                           if setting is None else "")
        try:
            modes = _quant_modes(t, where, positive=kind == "relu")
        except TailorError:
            if kind == "inferred" or (isinstance(setting, FixedType) and setting != model_t):
                raise
            return x   # the model default (or an inferred type hls4ml_config sets): no Quant needed
        return quant(x, f"{node}.quant", t, modes)

    def check_accum(node):
        acc, exact = types.accum[node]
        if not acc.holds(exact):
            raise UnsupportedError(f"QONNX export: node '{node}' accum is {acc}, which rounds or overflows the sum "
                              f"(exactly it needs {exact}); a QONNX graph has no accumulator type and hls4ml infers "
                              f"an exact one: set the accum to 'auto' or to a type that holds {exact}")

    for n in nodes:
        op, name, ins = n["op"], n["name"], [out.get(i) for i in n["inputs"]]
        if op == "input":
            out[name] = activation("input", name, types.value[name], "default")
        elif op == "conv2d":
            check_accum(name)
            k, s, p = n["kernel"], n["stride"], n["padding"]
            w = state[name + ".weight"].astype(np.float32)
            b = state[name + ".bias"].astype(np.float32) if n["bias"] else None
            bn = next((r for r in readers.get(name, []) if r["name"] in types.folded), None)
            if bn is not None:
                w, b = _fold_float32(w, b, bn, state)
            if b is None:
                b = np.zeros(n["out_channels"], np.float32)
            wt, bt = types.concrete("weight", name, model_t), types.concrete("bias", name, model_t)
            params = [constant(name + ".weight", _text_quantize(w, wt), wt),
                      constant(name + ".bias", _text_quantize(b, bt), bt)]
            graph_nodes.append(helper.make_node("Conv", [ins[0]] + params, [name + ".out"], name=name,
                                                kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p],
                                                dilations=[1, 1], group=1))
            out[name] = activation(name + ".out", name, types.value[name], "inferred")
            if bn is not None:
                out[bn["name"]] = out[name]
        elif op == "batchnorm":
            if name in types.folded:
                continue
            for role in ("scale", "bias"):
                t = types.concrete(role, name, model_t)
                if t != model_t:
                    raise UnsupportedError(f"QONNX export: node '{name}' {role} is {t}; hls4ml's ONNX BatchNormalization "
                                      f"takes the model default ({model_t}) for its {role} and a QONNX graph cannot "
                                      "carry another (leave it to the default, or make the conv's result 'auto' so "
                                      "that the batch norm folds into the conv)")
            params = [init(f"{name}.{k}", state[f"{name}.{k}"].astype(np.float32))
                      for k in ("weight", "bias", "running_mean", "running_var")]
            graph_nodes.append(helper.make_node("BatchNormalization", ins + params, [name + ".out"], name=name,
                                                epsilon=float(n["eps"]), momentum=1.0 - float(n["momentum"])))
            out[name] = activation(name + ".out", name, types.value[name], "inferred")
        elif op == "dense":
            check_accum(name)
            w = state[name + ".weight"].astype(np.float32)
            b = state[name + ".bias"].astype(np.float32) if n["bias"] else np.zeros(n["out_features"], np.float32)
            wt, bt = types.concrete("weight", name, model_t), types.concrete("bias", name, model_t)
            params = [constant(name + ".weight", np.ascontiguousarray(_text_quantize(w, wt).T), wt),
                      constant(name + ".bias", _text_quantize(b, bt), bt)]
            graph_nodes.append(helper.make_node("Gemm", [ins[0]] + params, [name + ".out"], name=name))
            out[name] = activation(name + ".out", name, types.value[name], "inferred")
        elif op in ("maxpool", "avgpool"):
            k, s, p = n["kernel"], n["stride"], n["padding"]
            acc, exact = types.accum[name]
            if op == "avgpool" and acc != exact:   # its truncating division works at the accumulator's grid
                raise UnsupportedError(f"QONNX export: node '{name}' accum is {acc}; an ONNX AveragePool has no "
                                  f"accumulator type and hls4ml infers {exact}: set the accum to 'auto'")
            check_accum(name)
            extra = {"count_include_pad": 1} if op == "avgpool" else {}
            graph_nodes.append(helper.make_node("MaxPool" if op == "maxpool" else "AveragePool", ins, [name + ".out"],
                                                name=name, kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p],
                                                **extra))
            out[name] = activation(name + ".out", name, types.value[name], "inferred")
        elif op == "global_avgpool":
            acc, exact = types.accum[name]
            x = types.value[n["inputs"][0]]
            if not (acc.signed or not x.signed) or acc.integer - (acc.signed and not x.signed) < exact.integer:
                raise UnsupportedError(f"QONNX export: node '{name}' accum is {acc}, which can overflow the sum of its "
                                  f"window (it needs {exact.integer} integer bits); hls4ml's ONNX global pooling adds "
                                  "in another order than the PyTorch-style average predict models, which agree "
                                  f"only when the sum cannot overflow: set the accum to 'auto' or to a type with "
                                  f"{exact.integer}+ integer bits")
            graph_nodes.append(helper.make_node("GlobalAveragePool", ins, [name + ".out"], name=name))
            out[name] = activation(name + ".out", name, types.value[name], "default")
        elif op == "relu":
            graph_nodes.append(helper.make_node("Relu", ins, [name + ".out"], name=name))
            out[name] = activation(name + ".out", name, types.value[name], "relu")
        elif op == "add":
            graph_nodes.append(helper.make_node("Add", ins, [name + ".out"], name=name))
            out[name] = activation(name + ".out", name, types.value[name], "inferred")
        elif op == "flatten":
            graph_nodes.append(helper.make_node("Flatten", ins, [name + ".out"], name=name, axis=1))
            out[name] = name + ".out"
        else:
            raise UnsupportedError(f"QONNX export: node '{name}': op '{op}' is not supported")

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
    gaps = [{"node": n["name"], "accum": str(types.accum[n["name"]][0]), "result": str(types.value[n["name"]])}
            for n in nodes if n["op"] == "global_avgpool"]
    helper.set_model_props(model, {
        "tailor.block_modes": json.dumps({b["name"]: b["mode"] for b in d["blocks"]}),
        "tailor.precision": json.dumps(net.precision),
        "tailor.hls4ml": json.dumps({"default_precision": str(model_t), "input": str(types.value[nodes[0]["name"]]),
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
