"""FIFO depths for an hls4ml ``io_stream`` project from Tailor's dataflow simulation, without
co-simulation.

hls4ml sizes every stream between two layers at H·W words (its default); its
``FifoDepthOptimization`` pass shrinks them by co-simulating the design and recording each
FIFO's maximum occupancy. ``tailor.estimate(net, target="hls4ml", depth_policy="optimized")``
simulates the same dataflow design word by word and gives, for every stream, the depth that
pass would converge to. :func:`set_fifo_depths` writes those depths into an hls4ml
``ModelGraph`` converted from the same network, so ``hls_model.write()`` emits FIFO-optimised
``#pragma HLS STREAM`` lines directly::

    import hls4ml, tailor
    from tailor.hls4ml_fifo import set_fifo_depths, torch_module_for_hls4ml
    model = torch_module_for_hls4ml(net)                  # tailor.to_torch(net), hls4ml-ready
    cfg = hls4ml.utils.config_from_pytorch_model(model, input_shape=(3, 32, 32), granularity="name",
                                                 default_precision="ap_fixed<16,6>",
                                                 channels_last_conversion="full", transpose_outputs=False)
    hm = hls4ml.converters.convert_from_pytorch_model(model, hls_config=cfg, io_type="io_stream", ...)
    changes = set_fifo_depths(hm, net, bits=16)           # {variable: (old depth, new depth)}
    hm.write()

How streams are matched (structurally, never by the generated variable names ``layerNN_out``):

1. Our side: the ``fifos`` of the estimate form a process graph, each stream an edge
   producer -> consumer (network node names; ``zp2d_<conv>`` for the zero-padding hls4ml puts
   in front of a padded conv; ``clone_<node>`` for a clone). BatchNorm is folded into its conv,
   so a conv produces the stream its BN used to write.
2. hls4ml's side: every layer of ``hls_model.graph`` and, from the layers' ``inputs`` and
   ``outputs`` names, which layer produces and which consumes every output variable. Its
   layout transposes (``Transpose``) and ``Reshape`` (flatten) are pass-through: they have no
   process in our design, so edges are followed through them.
3. Layers are mapped to our processes from the input on: a layer's candidates are the
   processes that, in our graph, consume a stream from the processes its (already mapped)
   producers map to, and have the same kind (conv, relu, add, pool, dense, zero-padding,
   clone). A unique candidate is taken. Between several, the layer's name decides when it
   translates to one of them: hls4ml's PyTorch front end names a layer after the module path
   with '.' replaced by '_' (``layer1_0_conv1``), and its inserted layers ``zp2d_<layer>`` /
   ``clone_<layer>``; failing that, the output shape and the kernel size. A name that
   translates to a *different* process of the same kind than the structure gives is a
   contradiction and raises. Adds traced through the module (fx names them ``add``,
   ``add_1``, ...) and the ONNX front end's renamed layers (``Conv_3``, ``Relu_2``) are
   therefore mapped by structure alone.
4. Every output variable with a stream pragma, except the model's input and output (top-level
   ports, which hls4ml does not declare as internal FIFOs and FifoDepthOptimization leaves
   alone), is then (producer layer, first non-pass-through consumer layer) -> one of our
   fifos, whose shape must agree (hls4ml is channels-last). Variables written by a
   ``Transpose`` are layout artefacts we do not model: they keep their depth and are listed
   in ``unmatched``. Anything else that does not map raises a ``ValueError`` naming the
   variable.
"""
from __future__ import annotations

from math import prod

__all__ = ["set_fifo_depths", "match_streams", "torch_module_for_hls4ml", "FifoDepths", "StreamMatch"]

#: hls4ml layer classes that have no process in our design (edges are followed through them).
PASS_THROUGH = {"Transpose", "Reshape"}
#: Their outputs are hls4ml layout artefacts: kept at their depth and reported, never matched.
LAYOUT = {"Transpose"}

_HLS_KIND = {
    "Input": "input", "InputLayer": "input",
    "ZeroPadding2D": "zeropad", "ZeroPadding1D": "zeropad",
    "Clone": "clone",
    "Conv2D": "conv", "PointwiseConv2D": "conv", "Conv2DBatchnorm": "conv", "DepthwiseConv2D": "conv",
    "Conv1D": "conv", "PointwiseConv1D": "conv",
    "Activation": "relu", "ReLU": "relu",
    "Merge": "add",
    "Pooling2D": "pool", "GlobalPooling2D": "pool", "Pooling1D": "pool", "GlobalPooling1D": "pool",
    "Dense": "dense",
    "BatchNormalization": "batchnorm",
}
_OUR_KIND = {"input": "input", "conv2d": "conv", "relu": "relu", "add": "add", "maxpool": "pool", "avgpool": "pool",
             "global_avgpool": "pool", "dense": "dense", "batchnorm": "batchnorm"}


class StreamMatch(dict):
    """One hls4ml variable matched to one of our fifos: keys ``variable``, ``producer`` and
    ``consumer`` (hls4ml layer names), ``fifo`` (our fifo dict) and ``hls4ml_depth``."""


class FifoDepths(dict):
    """``{hls4ml variable: (old depth, new depth)}`` for every internal stream that was set, plus

    - ``unmatched``: ``{variable: (depth, reason)}`` for streams hls4ml has and we do not model
      (its layout transposes); their depth is left as it was;
    - ``ports``: the top-level input/output variables (not internal FIFOs; untouched);
    - ``matches``: ``{variable: StreamMatch}``;
    - ``layers``: ``{hls4ml layer: our process}``;
    - ``missing``: our non-port fifos no hls4ml variable matched (empty when the designs agree).
    """

    unmatched: dict
    ports: list
    matches: dict
    layers: dict
    missing: list


def torch_module_for_hls4ml(net, input_shape=None):
    """``tailor.to_torch(net)`` in a form hls4ml 1.3.0's PyTorch front end accepts: the global
    average pool (``nn.AdaptiveAvgPool2d(1)``, which hls4ml does not support) becomes the
    equivalent ``nn.AvgPool2d`` over the whole feature map, at the same module path."""
    import torch.nn as nn

    from .torch_adapter import to_torch

    module = to_torch(net)
    described = net.describe()
    shapes = {n["name"]: n["shape"] for n in described["nodes"]}
    if input_shape is not None and list(input_shape) != list(shapes[described["nodes"][0]["name"]]):
        raise ValueError(f"input_shape {tuple(input_shape)} differs from the network's "
                         f"{tuple(shapes[described['nodes'][0]['name']])}")
    replaced = {}
    for n in described["nodes"]:
        if n["op"] != "global_avgpool":
            continue
        h, w = shapes[n["inputs"][0]][1:]
        old = module.get_submodule(n["name"])
        new = nn.AvgPool2d((h, w)) if h != w else nn.AvgPool2d(h)
        parent_path, _, leaf = n["name"].rpartition(".")
        setattr(module.get_submodule(parent_path) if parent_path else module, leaf, new)
        replaced[id(old)] = new
    if replaced:
        module._plan = [(name, ins, replaced.get(id(fn), fn)) for name, ins, fn in module._plan]
    return module.eval()


# ---- hls4ml's graph ------------------------------------------------------------------------------

class _HlsGraph:
    """Layers, who produces every output name, who consumes it, and its variable."""

    def __init__(self, hls_model):
        self.model = hls_model
        self.layers = dict(hls_model.graph)  # name -> Layer, in hls4ml's order
        self.producer = {}                   # output name -> layer name
        self.consumers = {}                  # output name -> [layer names]
        for lname, layer in self.layers.items():
            for o in layer.outputs:
                self.producer[o] = lname
        for lname, layer in self.layers.items():
            for i in layer.inputs:
                self.consumers.setdefault(i, []).append(lname)

    def cls(self, lname):
        return self.layers[lname].class_name

    def kind(self, lname):
        layer = self.layers[lname]
        c = layer.class_name
        if c in PASS_THROUGH:
            return "pass"
        kind = _HLS_KIND.get(c)
        if kind == "relu":
            act = str(layer.get_attr("activation", "relu") or "relu").lower()
            return "relu" if act == "relu" else f"activation:{act}"
        if kind == "add":
            op = str(layer.get_attr("op", "add") or "add").lower()
            return "add" if op == "add" else f"merge:{op}"
        return kind or f"unknown:{c}"

    def real_producers(self, lname):
        """Producing layers of `lname`'s inputs, looking back through pass-through layers."""
        out = []
        for i in self.layers[lname].inputs:
            p = self.producer.get(i)
            while p is not None and self.kind(p) == "pass":
                ins = self.layers[p].inputs
                p = self.producer.get(ins[0]) if ins else None
            if p is not None:
                out.append(p)
        return out

    def real_consumers(self, output_name):
        """Consuming layers of one output, looking forward through pass-through layers."""
        out = []
        for c in self.consumers.get(output_name, []):
            if self.kind(c) == "pass":
                for o in self.layers[c].outputs:
                    out += self.real_consumers(o)
            else:
                out.append(c)
        return out

    def variable(self, output_name):
        return self.model.output_vars.get(output_name)


def _kernel(layer):
    for key in ("filt_height", "pool_height"):
        v = layer.get_attr(key)
        if v is not None:
            return int(v)
    return None


def _shape_agrees(hls_shape, ours) -> bool:
    hs, ours = [int(x) for x in hls_shape], [int(x) for x in ours]
    if len(hs) == 3 and len(ours) == 3:
        return hs == [ours[1], ours[2], ours[0]] or hs == ours  # channels-last, or a transposed layout
    return prod(hs) == prod(ours)


def _our_kind(proc, ops):
    if proc.startswith("zp2d_") and proc not in ops:
        return "zeropad"
    if proc.startswith("clone_") and proc not in ops:
        return "clone"
    return _OUR_KIND.get(ops.get(proc), f"unknown:{ops.get(proc)}")


def _translate(hls_name, ours_by_flat):
    """Our process an hls4ml layer name denotes under the PyTorch front end's naming, or None."""
    for prefix in ("zp2d_", "clone_"):
        if hls_name.startswith(prefix):
            base = ours_by_flat.get(hls_name[len(prefix):])
            return prefix + base if base else None
    return ours_by_flat.get(hls_name)


def match_streams(hls_model, fifos, net):
    """Maps every hls4ml output variable that carries a stream pragma to one of our `fifos`
    (the ``fifos`` list of ``tailor.estimate(..., target="hls4ml").to_dict()``), structurally.

    Returns ``(matches, unmatched, ports, layer_map, missing)``: ``matches`` {variable name:
    StreamMatch}, ``unmatched`` {variable name: (depth, reason)} (layout transposes), ``ports``
    [variable names of the top-level input/output], ``layer_map`` {hls4ml layer: our process},
    ``missing`` [our non-port fifos nothing matched]. Raises ValueError naming the variable or
    layer that cannot be matched. See the module docstring for the procedure.
    """
    g = _HlsGraph(hls_model)
    described = net.describe()
    ops = {n["name"]: n["op"] for n in described["nodes"]}
    kernels = {n["name"]: n.get("kernel") for n in described["nodes"]}
    flat = {}
    for name in ops:
        f = name.replace(".", "_")
        if f in flat and flat[f] != name:
            flat[f] = None  # ambiguous: never used as a hint
        else:
            flat[f] = name
    ours_by_flat = {k: v for k, v in flat.items() if v}

    edges = {}  # (producer, consumer) -> [fifo]
    out_of = {}  # producer -> [fifo]
    for f in fifos:
        edges.setdefault((f["producer"], f["consumer"]), []).append(f)
        out_of.setdefault(f["producer"], []).append(f)
    our_input = next((f["producer"] for f in fifos if f["port"] and f["producer"] in ops and ops[f["producer"]] == "input"),
                     described["nodes"][0]["name"])

    # -- 3. map layers to our processes, from the input on ------------------------------------
    layer_map = {}
    inputs = [layer for layer in g.layers if g.kind(layer) == "input"]
    if len(inputs) != 1:
        raise ValueError(f"hls4ml model has {len(inputs)} input layers {inputs}; expected one")
    layer_map[inputs[0]] = our_input
    pending = [layer for layer in g.layers if g.kind(layer) not in ("input", "pass")]
    while pending:
        progressed = False
        for lname in list(pending):
            prods = g.real_producers(lname)
            if not prods or any(p not in layer_map for p in prods):
                continue
            kind = g.kind(lname)
            sets = []
            for p in prods:
                sets.append({f["consumer"] for f in out_of.get(layer_map[p], [])})
            cands = set.intersection(*sets) if sets else set()
            used = set(layer_map.values())
            cands = {c for c in cands if _our_kind(c, ops) == kind and c not in used}
            hint = _translate(lname, ours_by_flat)
            if len(cands) > 1 and hint in cands:
                cands = {hint}
            if len(cands) > 1:  # output shape, then kernel size
                layer = g.layers[lname]
                var = g.variable(layer.outputs[0])
                if var is not None:
                    by_shape = {c for c in cands if any(_shape_agrees(var.shape, f["shape"]) for f in out_of.get(c, []))}
                    cands = by_shape or cands
                k = _kernel(layer)
                if len(cands) > 1 and k is not None:
                    cands = {c for c in cands if kernels.get(c) in (None, k)} or cands
            if len(cands) != 1:
                why = "no process" if not cands else f"several processes {sorted(cands)}"
                raise ValueError(f"hls4ml layer {lname!r} ({g.cls(lname)}, kind {kind}) fed by "
                                 f"{[(p, layer_map[p]) for p in prods]}: {why} of our design matches it")
            (ours,) = cands
            if hint is not None and hint != ours and _our_kind(hint, ops) == kind:
                raise ValueError(f"hls4ml layer {lname!r}: its name denotes our {hint!r} but its place in the graph "
                                 f"is our {ours!r}")
            layer_map[lname] = ours
            pending.remove(lname)
            progressed = True
        if not progressed:
            raise ValueError(f"hls4ml layers {pending} cannot be mapped to our design (their producers never map)")

    # -- 4. variables -> fifos -----------------------------------------------------------------
    ports = {v.name for v in list(hls_model.get_input_variables()) + list(hls_model.get_output_variables())}
    matches, unmatched, port_vars = {}, {}, []
    for lname, layer in g.layers.items():
        for o in layer.outputs:
            var = g.variable(o)
            if var is None or not getattr(var, "pragma", None) or not isinstance(var.pragma, tuple):
                continue
            if var.pragma[0] != "stream":
                continue
            depth = int(var.pragma[1])
            if var.name in ports:
                port_vars.append(var.name)
                continue
            if g.cls(lname) in LAYOUT:
                unmatched[var.name] = (depth, f"written by hls4ml's layout {g.cls(lname)} {lname!r} (not in our design)")
                continue
            if g.kind(lname) == "pass":
                raise ValueError(f"hls4ml variable {var.name!r} is written by {g.cls(lname)} {lname!r}, which our "
                                 "design has no stream for")
            cons = g.real_consumers(o)
            if len(cons) != 1:
                raise ValueError(f"hls4ml variable {var.name!r} (from {lname!r}) has {len(cons)} consumers {cons}; "
                                 "a stream has exactly one")
            key = (layer_map[lname], layer_map.get(cons[0]))
            found = edges.get(key, [])
            found = [f for f in found if not f["port"]]
            if len(found) != 1:
                raise ValueError(f"hls4ml variable {var.name!r} ({lname!r} -> {cons[0]!r}, i.e. our {key[0]!r} -> "
                                 f"{key[1]!r}, depth {depth}): {'no' if not found else len(found)} internal stream(s) "
                                 "of our design join these processes")
            f = found[0]
            if not _shape_agrees(var.shape, f["shape"]):
                raise ValueError(f"hls4ml variable {var.name!r} has shape {list(var.shape)} but our stream "
                                 f"{f['stream']!r} ({key[0]} -> {key[1]}) is {f['shape']} (C,H,W)")
            if any(m["fifo"] is f for m in matches.values()):
                other = next(v for v, m in matches.items() if m["fifo"] is f)
                raise ValueError(f"hls4ml variables {other!r} and {var.name!r} both map to our stream {f['stream']!r}")
            matches[var.name] = StreamMatch(variable=var.name, producer=lname, consumer=cons[0], fifo=f,
                                            hls4ml_depth=depth)
    matched = {id(m["fifo"]) for m in matches.values()}
    missing = [f for f in fifos if not f["port"] and id(f) not in matched]
    return matches, unmatched, port_vars, layer_map, missing


def set_fifo_depths(hls_model, net, **estimate_options) -> FifoDepths:
    """Sets the depth of every internal stream of `hls_model` (an hls4ml ``io_stream``
    ModelGraph converted from `net`) to the depth Tailor's simulation gives, as
    FifoDepthOptimization would (``v.pragma = (v.pragma[0], depth)``), without co-simulation.

    `estimate_options` go to ``tailor.estimate(net, target="hls4ml", ...)``: ``bits`` (16 unless
    given), ``depth_policy`` ("optimized" unless given), ``backend`` (taken from the model's
    backend, Vivado or Vitis, unless given), ``reuse_factor``, ``strategy``... They should
    describe the same design hls4ml was configured for.

    Returns a :class:`FifoDepths` ``{variable: (old depth, new depth)}`` with ``unmatched``
    (hls4ml's layout transposes, depth kept), ``ports``, ``matches``, ``layers`` and ``missing``.
    Raises ValueError naming the hls4ml variable (or layer) that cannot be matched, or, before
    any depth is changed, our stream that no hls4ml variable carries.
    """
    from .estimate import estimate

    if str(hls_model.config.get_config_value("IOType")) != "io_stream":
        raise ValueError("set_fifo_depths: the hls4ml model must use io_type='io_stream'")
    opts = dict(estimate_options)
    opts.setdefault("target", "hls4ml")
    opts.setdefault("bits", 16)
    opts.setdefault("depth_policy", "optimized")
    if "backend" not in opts:
        name = str(getattr(hls_model.config.backend, "name", "")).lower()
        if name in ("vivado", "vitis"):
            opts["backend"] = name
    target, bits = opts.pop("target"), opts.pop("bits")
    fifos = estimate(net, target=target, bits=bits, **opts).to_dict()["fifos"]
    matches, unmatched, ports, layer_map, missing = match_streams(hls_model, fifos, net)
    if missing:
        desc = ", ".join(f"{f['stream']} ({f['producer']} -> {f['consumer']})" for f in missing)
        raise ValueError(f"set_fifo_depths: our stream(s) {desc} have no hls4ml variable; nothing was changed")
    result = FifoDepths()
    for vname, m in matches.items():
        var = hls_model.output_vars[_output_name(hls_model, vname)]
        old, new = int(var.pragma[1]), int(m["fifo"]["depth"])
        var.pragma = (var.pragma[0], new)
        result[vname] = (old, new)
    result.unmatched, result.ports, result.matches = unmatched, ports, matches
    result.layers, result.missing = layer_map, missing
    return result


def _output_name(hls_model, var_name):
    for o, v in hls_model.output_vars.items():
        if v.name == var_name:
            return o
    raise ValueError(f"hls4ml variable {var_name!r} is not among the model's output variables")
