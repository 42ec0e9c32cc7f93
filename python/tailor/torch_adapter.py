"""PyTorch adapters: a Tailor network as an ``nn.Module`` and back.

- :func:`to_torch` builds a module that runs the Tailor graph node for node (any mix of long,
  removed and short blocks) with the network's own state_dict names and weights.
- :func:`from_torch` traces a torch model with ``torch.fx`` and rebuilds it node by node in
  libtailor; node names are the modules' qualified names, so parameter names stay PyTorch's
  and the library recognises the residual blocks by itself.

torch is imported here and nowhere else in the package's core, so ``import tailor`` works
without it.
"""
from __future__ import annotations

import operator
import warnings

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

from ._lib import TailorError, UnsupportedError
from .network import Network


class UnsupportedModuleError(UnsupportedError, ValueError):
    """A torch model uses a module or operation Tailor cannot represent. The message names the
    module's qualified name (or the traced call) and the operation."""

    def __init__(self, message: str):
        super().__init__(message, status=7, status_name="TAILOR_ERR_UNSUPPORTED")


# ---- Tailor -> torch --------------------------------------------------------------------------

class Add(nn.Module):
    """Element-wise sum of two tensors (a skip join), as a module so it has a name in the tree."""

    def forward(self, a, b):
        """a + b."""
        return a + b


class TailorModule(nn.Module):
    """A Tailor graph as a torch module: ``forward`` runs the nodes in topological order.

    Submodules sit at the nodes' dotted names (``layer1.0.conv1``), so ``state_dict()`` keys
    equal the Tailor network's. ``block_modes`` records each block's mode at conversion time.
    """

    def __init__(self, described: dict):
        super().__init__()
        nodes = described["nodes"]
        self.block_modes = {b["name"]: b["mode"] for b in described["blocks"]}
        self.input_name = nodes[0]["name"]
        self.output_name = nodes[-1]["name"]
        # Modules with parameters must sit at their exact path; parameter-free ones only where
        # the path is free (a pathological name clash falls back to a plain function).
        ordered = sorted(nodes[1:], key=lambda n: n["op"] not in ("conv2d", "batchnorm", "dense"))
        placed = {}
        for node in ordered:
            module = _module_for(node)
            if _attach(self, node["name"], module):
                placed[node["name"]] = module
            elif node["op"] in ("conv2d", "batchnorm", "dense"):
                raise TailorError(f"to_torch: node {node['name']!r} cannot be placed at its name "
                                  "(it clashes with another node's path)", status=7,
                                  status_name="TAILOR_ERR_UNSUPPORTED")
            else:
                placed[node["name"]] = _functional(module)
        self._plan = [(n["name"], list(n["inputs"]), placed[n["name"]]) for n in nodes[1:]]

    def forward(self, x):
        """x: (N, C, H, W) float tensor -> (N, num_classes) logits."""
        env = {self.input_name: x}
        for name, inputs, fn in self._plan:
            env[name] = fn(*(env[i] for i in inputs))
        return env[self.output_name]


def _module_for(node: dict) -> nn.Module:
    """The torch module computing one Tailor node."""
    op, shape = node["op"], node["shape"]
    if op == "conv2d":
        return nn.Conv2d(_in_channels(node), node["out_channels"], node["kernel"], stride=node["stride"],
                         padding=node["padding"], bias=node["bias"])
    if op == "batchnorm":
        return nn.BatchNorm2d(shape[0], eps=node["eps"], momentum=node["momentum"])
    if op == "dense":
        return nn.Linear(_in_channels(node), node["out_features"], bias=node["bias"])
    if op == "relu":
        return nn.ReLU()  # never inplace: its input may also feed a skip
    if op == "add":
        return Add()
    if op == "maxpool":
        return nn.MaxPool2d(node["kernel"], node["stride"], node["padding"])
    if op == "avgpool":
        return nn.AvgPool2d(node["kernel"], node["stride"], node["padding"], count_include_pad=True)
    if op == "global_avgpool":
        return nn.AdaptiveAvgPool2d(1)
    if op == "flatten":
        return nn.Flatten(1)
    raise TailorError(f"to_torch: node {node['name']!r} has unknown op {op!r}", status=7,
                      status_name="TAILOR_ERR_UNSUPPORTED")


def _in_channels(node: dict) -> int:
    # describe() gives output shapes only; the input's is filled in by to_torch.
    return node["_in"]


def _attach(root: nn.Module, path: str, module: nn.Module) -> bool:
    """Registers `module` at dotted `path`, creating empty containers on the way; False if the
    path is taken (by a leaf or a container)."""
    parts = path.split(".")
    if any(not p for p in parts):
        return False
    parent = root
    for p in parts[:-1]:
        child = parent._modules.get(p)
        if child is None:
            if hasattr(parent, p):
                return False
            child = nn.Module()
            parent.add_module(p, child)
        elif type(child) is not nn.Module:  # a leaf already lives here
            return False
        parent = child
    if parts[-1] in parent._modules or hasattr(parent, parts[-1]):
        return False
    parent.add_module(parts[-1], module)
    return True


def _functional(module: nn.Module):
    """The parameter-free `module` as a plain function (not registered, so fx sees functions)."""
    if isinstance(module, Add):
        return torch.add
    if isinstance(module, nn.ReLU):
        return torch.relu
    if isinstance(module, nn.MaxPool2d):
        return lambda x: F.max_pool2d(x, module.kernel_size, module.stride, module.padding)
    if isinstance(module, nn.AvgPool2d):
        return lambda x: F.avg_pool2d(x, module.kernel_size, module.stride, module.padding)
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return lambda x: F.adaptive_avg_pool2d(x, 1)
    return lambda x: torch.flatten(x, 1)


def to_torch(net: Network) -> TailorModule:
    """An ``nn.Module`` that computes `net` exactly as its graph stands now (block modes
    included), with the same state_dict names and a copy of every weight and BN buffer.

    The module is independent of `net` afterwards. It is returned in eval mode.
    """
    described = net.describe()
    shapes = {n["name"]: n["shape"] for n in described["nodes"]}
    for n in described["nodes"]:
        if n["inputs"]:
            n["_in"] = int(torch.tensor(shapes[n["inputs"][0]]).prod()) if n["op"] == "dense" \
                else shapes[n["inputs"][0]][0]
    module = TailorModule(described)
    state = {k: torch.from_numpy(v) for k, v in net.state_dict().items()}
    module.load_state_dict(state, strict=True)  # strict: the key sets must agree exactly
    return module.eval()


# ---- torch -> Tailor --------------------------------------------------------------------------

_ADDS = {operator.add, operator.iadd, torch.add}
_RELUS = {F.relu, torch.relu, torch.relu_, torch.nn.functional.relu_}
_PASS = (nn.Identity,)


def _unsupported(where: str, what: str) -> UnsupportedModuleError:
    return UnsupportedModuleError(f"from_torch: {where}: {what} is not supported by Tailor")


def _square(value, what: str, where: str) -> int:
    """An int from an int or a tuple of equal ints (Tailor has square windows only)."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise _unsupported(where, f"non-square {what} {tuple(value)}")
        value = value[0]
    if not isinstance(value, int):
        raise _unsupported(where, f"{what}={value!r}")
    return value


def _node_label(node: torch.fx.Node) -> str:
    """The module or call a traced node came from, for error messages."""
    if node.op == "call_module":
        return f"module {node.target!r}"
    scope = _scope(node)
    target = getattr(node.target, "__name__", str(node.target))
    return f"call {target}()" + (f" in module {scope!r}" if scope else "")


def _scope(node: torch.fx.Node) -> str:
    """Qualified name of the innermost module whose forward made this call ('' for the root)."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path = list(stack.values())[-1]
    path = path[0] if isinstance(path, tuple) else path
    return path if isinstance(path, str) else ""


def _names(graph: torch.fx.Graph, kinds: dict) -> dict:
    """A unique Tailor node name per traced node.

    A module called once keeps its qualified name. A module called k > 1 times (torchvision's
    BasicBlock calls ``self.relu`` twice) gives its last call the bare name, so a block's final
    ReLU is ``layer1.0.relu`` like the library's own, and earlier calls ``relu1``, ``relu2``...
    Functional calls get ``<scope>.<op>`` under the same rule.
    """
    sites = {}
    for node in graph.nodes:
        if node in kinds and kinds[node] != "input":
            if node.op == "call_module":
                key = node.target
            else:
                scope = _scope(node)
                key = f"{scope}.{kinds[node]}" if scope else kinds[node]
            sites.setdefault(key, []).append(node)
    names, taken = {}, set(sites)
    for key, nodes in sites.items():
        if len(nodes) > 1 and kinds[nodes[0]] in ("conv2d", "batchnorm", "dense"):
            raise _unsupported(_node_label(nodes[0]), f"calling a {kinds[nodes[0]]} module {len(nodes)} times "
                               "(shared weights; Tailor gives every layer its own)")
        for i, node in enumerate(nodes):
            if i == len(nodes) - 1:
                names[node] = key
                continue
            k = i + 1
            while f"{key}{k}" in taken:  # never collide with a real module's name
                k += 1
            names[node] = f"{key}{k}"
            taken.add(names[node])
    return names


def _is_batch_size(node) -> bool:
    """True if `node` is ``t.size(0)``, ``t.shape[0]`` or ``t.size()[0]`` of a traced tensor `t`
    (every tensor in a Tailor graph has the batch as its first dimension)."""
    if not isinstance(node, torch.fx.Node):
        return False
    if node.op == "call_method" and node.target == "size":
        return node.args[1:] == (0,) or node.kwargs.get("dim") == 0
    if node.op == "call_function" and node.target is operator.getitem and node.args[1] == 0:
        src = node.args[0]
        return isinstance(src, torch.fx.Node) and (
            (src.op == "call_method" and src.target == "size" and len(src.args) == 1)
            or (src.op == "call_function" and src.target is getattr and src.args[1] == "shape"))
    return False


def _classify(node: torch.fx.Node, modules: dict):
    """(kind, tensor inputs, options) of one traced node, or None for nodes that only compute
    sizes (used by a ``view(x.size(0), -1)``). Raises UnsupportedModuleError otherwise."""
    where = _node_label(node)
    args = list(node.args)
    if node.op == "placeholder":
        return "input", [], {}
    if node.op == "call_module":
        m = modules[node.target]
        if isinstance(m, nn.Conv2d) and type(m) is nn.Conv2d:
            if m.groups != 1:
                raise _unsupported(where, f"Conv2d with groups={m.groups}")
            if _square(m.dilation, "dilation", where) != 1:
                raise _unsupported(where, f"Conv2d with dilation={m.dilation}")
            if m.padding_mode != "zeros":
                raise _unsupported(where, f"Conv2d with padding_mode={m.padding_mode!r}")
            k = _square(m.kernel_size, "kernel_size", where)
            pad = m.padding
            if isinstance(pad, str):  # 'valid' or 'same' (PyTorch allows 'same' at stride 1 only)
                if pad == "same" and k % 2 == 0:
                    raise _unsupported(where, "Conv2d with padding='same' and an even kernel")
                pad = 0 if pad == "valid" else k // 2
            return "conv2d", args, dict(out_channels=m.out_channels, kernel=k,
                                        stride=_square(m.stride, "stride", where),
                                        padding=_square(pad, "padding", where), bias=m.bias is not None)
        if type(m) is nn.BatchNorm2d:
            if not m.affine or not m.track_running_stats:
                raise _unsupported(where, "BatchNorm2d without affine or running statistics")
            momentum = m.momentum
            if momentum is None:
                # PyTorch's cumulative average: the running statistics import as they are (inference
                # is identical); retraining here updates them with PyTorch's default momentum.
                warnings.warn(f"from_torch: {where}: BatchNorm2d(momentum=None) imported with momentum 0.1 for "
                              "training (its running statistics are kept as they are)", stacklevel=4)
                momentum = 0.1
            return "batchnorm", args, dict(eps=m.eps, momentum=momentum)
        if type(m) is nn.ReLU:
            return "relu", args, {}
        if type(m) is Add:
            return "add", args, {}
        if type(m) in (nn.MaxPool2d, nn.AvgPool2d):
            kind = "max" if type(m) is nn.MaxPool2d else "avg"
            if m.ceil_mode:
                raise _unsupported(where, f"{type(m).__name__} with ceil_mode=True")
            if kind == "max" and (m.return_indices or _square(m.dilation, "dilation", where) != 1):
                raise _unsupported(where, "MaxPool2d with dilation or return_indices")
            if kind == "avg" and (not m.count_include_pad or m.divisor_override is not None):
                raise _unsupported(where, "AvgPool2d with count_include_pad=False or divisor_override")
            stride = m.stride if m.stride is not None else m.kernel_size
            return "pool", args, dict(kind=kind, kernel=_square(m.kernel_size, "kernel_size", where),
                                      stride=_square(stride, "stride", where),
                                      padding=_square(m.padding, "padding", where))
        if type(m) is nn.AdaptiveAvgPool2d:
            if m.output_size not in (1, (1, 1), [1, 1]):
                raise _unsupported(where, f"AdaptiveAvgPool2d with output_size={m.output_size}")
            return "global_avgpool", args, {}
        if type(m) is nn.Flatten:
            if (m.start_dim, m.end_dim) != (1, -1):
                raise _unsupported(where, f"Flatten({m.start_dim}, {m.end_dim})")
            return "flatten", args, {}
        if type(m) is nn.Linear:
            return "dense", args, dict(out_features=m.out_features, bias=m.bias is not None)
        if isinstance(m, _PASS):
            return "pass", args, {}
        if type(m) in (nn.Dropout, nn.Dropout2d):
            # Identity in inference, which is what the hardware runs; Tailor's retraining has none.
            warnings.warn(f"from_torch: {where}: {type(m).__name__} is imported as the identity it is in "
                          "inference; training in Tailor does not drop out", stacklevel=4)
            return "pass", args, {}
        raise _unsupported(where, type(m).__name__)
    if node.op in ("call_function", "call_method"):
        t = node.target
        fn = t if node.op == "call_function" else None
        if fn in _ADDS or t in ("add", "add_", "__add__", "__iadd__"):
            if len(args) != 2 or not all(isinstance(a, torch.fx.Node) for a in args) or node.kwargs:
                raise _unsupported(where, "an add that is not the sum of two tensors")
            return "add", args, {}
        if fn in _RELUS or t in ("relu", "relu_"):
            return "relu", args[:1], {}
        if fn is torch.flatten or t == "flatten":
            dims = tuple(args[1:]) + tuple(node.kwargs.get(k) for k in ("start_dim", "end_dim") if k in node.kwargs)
            if dims not in ((1,), (1, -1)):
                raise _unsupported(where, f"flatten with dims {dims or (0,)} (only flatten(x, 1))")
            return "flatten", args[:1], {}
        if t in ("view", "reshape") or fn is torch.reshape:
            # x.view(n, -1) or x.view((n, -1)) with n = x.size(0) / x.shape[0]
            shape = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
            if len(shape) == 2 and shape[1] == -1 and _is_batch_size(shape[0]):
                return "flatten", args[:1], {}
            raise _unsupported(where, "a view/reshape other than x.view(x.size(0), -1)")
        if fn is F.adaptive_avg_pool2d:
            if (list(args[1:]) or [node.kwargs.get("output_size")])[0] not in (1, (1, 1), [1, 1]):
                raise _unsupported(where, "adaptive_avg_pool2d to a size other than 1")
            return "global_avgpool", args[:1], {}
        if t == "size" or (fn is getattr and args[1] == "shape") or fn is operator.getitem:
            return None  # size bookkeeping for a view; checked where it is used
        raise _unsupported(where, f"operation {getattr(t, '__name__', t)!r}")
    if node.op == "output":
        return "output", args, {}
    raise _unsupported(where, f"graph node kind {node.op!r} (e.g. a tensor attribute)")


class _Tracer(torch.fx.Tracer):
    """symbolic_trace's tracer, plus: our Add module is a leaf (a named join, as to_torch
    builds it) instead of being traced into as ``a + b`` under a derived name."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, Add) or super().is_leaf_module(m, qualname)


def _sample_shape(value) -> tuple:
    """`input_shape` as three positive ints (numpy integers welcome), or InvalidArgumentError."""
    import numbers
    ok = (isinstance(value, (tuple, list)) or (hasattr(value, "__len__") and not isinstance(value, (str, bytes))))
    if ok and len(value) == 3 and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in value):
        return tuple(int(v) for v in value)
    raise TailorError(f"from_torch: input_shape must be (channels, height, width) of one sample, three positive "
                      f"integers; got {value!r}", status=1)


def from_torch(model: nn.Module, input_shape, seed: int = 0) -> Network:
    """A Tailor network computing the same function as `model`, with the same weights.

    `model` is traced with ``torch.fx.symbolic_trace`` (so its forward must be traceable);
    `input_shape` is (channels, height, width) of one sample. Supported: Conv2d (groups=1,
    dilation=1, square kernel/stride/padding, zero padding), BatchNorm2d, ReLU (module,
    ``F.relu``/``torch.relu``), the sum of two tensors (``+``, ``+=``, ``torch.add``),
    MaxPool2d/AvgPool2d (square, ceil_mode=False; avg with count_include_pad=True),
    AdaptiveAvgPool2d(1), ``flatten(x, 1)``/``nn.Flatten()``/``x.view(x.size(0), -1)``,
    Linear, and nn.Identity (skipped). Anything else raises :class:`UnsupportedModuleError`
    naming the module's qualified name and the operation. Node names are the modules'
    qualified names, so ``net.state_dict()`` keys are ``model.state_dict()``'s; state_dict
    entries of modules the forward never uses are ignored.
    """
    shape = _sample_shape(input_shape)
    try:
        graph = _Tracer().trace(model)
    except Exception as e:  # fx raises many types for data-dependent control flow
        raise UnsupportedModuleError(f"from_torch: torch.fx could not trace {type(model).__name__}: {e}") from e
    modules = dict(model.named_modules())
    kinds, inputs, options, alias, output = {}, {}, {}, {}, None
    for node in graph.nodes:
        c = _classify(node, modules)
        if c is None:
            continue
        kind, ins, opts = c
        if kind == "output":
            output = ins[0]
            continue
        if kind == "pass":
            alias[node] = alias.get(ins[0], ins[0])
            continue
        kinds[node], inputs[node], options[node] = kind, [alias.get(a, a) for a in ins], opts
    placeholders = [n for n, k in kinds.items() if k == "input"]
    if len(placeholders) != 1:
        raise UnsupportedModuleError(f"from_torch: the model takes {len(placeholders)} inputs; Tailor needs exactly one")
    if not isinstance(output, torch.fx.Node):
        raise UnsupportedModuleError("from_torch: the model must return a single tensor")
    output = alias.get(output, output)
    names = _names(graph, kinds)
    names[placeholders[0]] = "input" if "input" not in names.values() else "input_"
    net = Network(seed)
    try:
        for node, kind in kinds.items():
            name, opts = names[node], options[node]
            ins = []
            for a in inputs[node]:
                if not isinstance(a, torch.fx.Node) or a not in names:
                    raise _unsupported(_node_label(node), f"an input {a!r} that is not a traced tensor")
                ins.append(names[a])
            try:
                if kind == "input":
                    net.add_input(name, shape)
                elif kind == "add":
                    net.add_add(name, ins[0], ins[1])
                else:
                    getattr(net, f"add_{kind}")(name, ins[0], **opts)
            except TailorError as e:
                if isinstance(e, UnsupportedModuleError):
                    raise
                raise TailorError(f"from_torch: {_node_label(node)} ({kind}): {e}", status=e.status,
                                  status_name=e.status_name) from None
        unused = [names[n] for n in kinds if n is not output and not any(n in inputs[m] for m in kinds)]
        if unused:
            raise UnsupportedModuleError(f"from_torch: traced values that never reach the output: {unused}")
        state = model.state_dict()
        wanted = [name for name, _, _ in net.param_specs()]
        missing = [k for k in wanted if k not in state]
        if missing:
            raise TailorError(f"from_torch: the model's state_dict lacks {missing}", status=3,
                              status_name="TAILOR_ERR_NOT_FOUND")
        for k, shape, _ in net.param_specs():  # e.g. a Linear whose in_features its input does not give
            if tuple(state[k].shape) != shape:
                raise TailorError(f"from_torch: module {k.rsplit('.', 1)[0]!r}: {k} has shape "
                                  f"{tuple(state[k].shape)}, but its input requires {shape}", status=2,
                                  status_name="TAILOR_ERR_SHAPE")
        net.load_state_dict({k: state[k] for k in wanted})
    except BaseException:
        net.close()
        raise
    return net
