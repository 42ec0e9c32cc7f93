"""`Network`: a residual network held by libtailor, with numpy weights at the boundary.

Parameter names and layouts are PyTorch's (``state_dict`` names, conv weights OIHW, linear
weights (out, in)), so weights move between a torch module and a Network name for name.
"""
from __future__ import annotations

import ctypes
import json
import os
from collections import namedtuple
from dataclasses import dataclass
from typing import Any
from collections.abc import Mapping

import numpy as np

from . import _lib, _table
from ._lib import TailorError, _check, s, u

MODES = ("long", "removed", "short")
KINDS = ("basic", "bottleneck", "other")
POOL_KINDS = {"max": 0, "avg": 1}
_BUFFER_SUFFIXES = (".running_mean", ".running_var", ".num_batches_tracked")

#: What ``load_state_dict(..., strict=False)`` returns, like PyTorch's ``_IncompatibleKeys``.
IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


@dataclass(frozen=True)
class Node:
    """One node of the graph (``tailor_node_info``). ``shape`` is (C, H, W) of one sample;
    ``block`` is the index of the residual block the node belongs to, or -1."""
    index: int
    name: str
    op: str
    inputs: tuple
    shape: tuple
    out_channels: int
    kernel: int
    stride: int
    padding: int
    bias: bool
    block: int


@dataclass(frozen=True)
class Block:
    """A residual block: its index, name ("layer2.0"), kind ("basic"|"bottleneck"|"other") and
    current mode ("long"|"removed"|"short")."""
    index: int
    name: str
    kind: str
    mode: str


@dataclass(frozen=True)
class Skip:
    """One skip connection (``tailor_skip_info``).

    ``name`` is "<block name>.skip<index>"; ``block`` the block index; ``index`` the position
    within the block (a short block has one skip per convolution); ``source`` the node whose
    output the skip carries; ``join`` the add node where it rejoins (None when removed);
    ``spans`` the convolutions it bypasses; ``projection`` the projection prefix
    ("layer2.0.downsample") or None for identity; ``shape`` (C, H, W) of the carried tensor.
    """
    name: str
    block: int
    index: int
    kind: str
    mode: str
    source: str
    join: str | None
    spans: tuple
    projection: str | None
    shape: tuple

    @property
    def block_name(self) -> str:
        """The name of the block this skip belongs to."""
        return self.name.rsplit(".skip", 1)[0]


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TailorError(f"{what} must be a string, got {type(value).__name__}", status=1,
                          status_name="TAILOR_ERR_INVALID_ARGUMENT")
    return value


def _to_numpy(value: Any) -> np.ndarray:
    """A numpy view of a numpy array, torch tensor or nested sequence (torch is never imported)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor
        value = value.detach().cpu()
        if str(getattr(value, "dtype", "")) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    return np.asarray(value)


class Network:
    """A network held by libtailor (an opaque ``tailor_net *``).

    Create one empty with ``Network(seed)`` and build it node by node, or get one from
    :mod:`tailor.zoo`, :func:`tailor.load` or :meth:`Network.from_bytes`. Free it with
    :meth:`close` (or a ``with`` block); it is freed on garbage collection otherwise.
    A handle is used by one thread at a time.
    """

    _ptr = None  # class default so __del__ is safe on a half-built object

    def __init__(self, seed: int = 0):
        """An empty network; `seed` seeds parameter initialisation."""
        L = _lib.lib()
        ptr = _lib.NetPtr()
        _check(L.tailor_net_create(ctypes.c_uint64(int(seed) & (2**64 - 1)), ctypes.byref(ptr)))
        self._set(ptr)

    # ---- lifetime -------------------------------------------------------------------------

    def _set(self, ptr: ctypes.c_void_p) -> None:
        self._lib = _lib.lib()
        self._ptr = ptr.value

    @classmethod
    def _from_ptr(cls, ptr: ctypes.c_void_p) -> Network:
        net = cls.__new__(cls)
        net._set(ptr)
        return net

    @property
    def _h(self) -> int:
        """The live handle; raises TailorError after close()."""
        if self._ptr is None:
            raise TailorError("network is closed (used after close())", status=1,
                              status_name="TAILOR_ERR_INVALID_ARGUMENT")
        return self._ptr

    @property
    def closed(self) -> bool:
        """True once close() has run."""
        return self._ptr is None

    def close(self) -> None:
        """Frees the library's network. Safe to call more than once."""
        ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._lib.tailor_net_free(ptr)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def copy(self) -> Network:
        """A deep copy: same graph, modes and weights, independent afterwards."""
        ptr = _lib.NetPtr()
        _check(self._lib.tailor_net_copy(self._h, ctypes.byref(ptr)))
        return Network._from_ptr(ptr)

    __copy__ = copy

    def __deepcopy__(self, memo) -> Network:
        return self.copy()

    # ---- building node by node --------------------------------------------------------------

    def _added(self, status: int, name: str) -> str:
        _check(status)
        return name

    def add_input(self, name: str, shape) -> str:
        """Adds the network's single input; `shape` is (channels, height, width) of one sample."""
        c, h, w = (int(v) for v in shape)
        return self._added(self._lib.tailor_net_add_input(self._h, s(_name(name, "name")), c, h, w, None), name)

    def add_conv2d(self, name: str, input: str, out_channels: int, kernel: int, stride: int = 1,
                   padding: int = 0, bias: bool = False) -> str:
        """Adds a 2-D convolution (nn.Conv2d, square kernel, groups=1) reading node `input`."""
        return self._added(self._lib.tailor_net_add_conv2d(
            self._h, s(_name(name, "name")), s(_name(input, "input")), int(out_channels), int(kernel),
            int(stride), int(padding), int(bool(bias)), None), name)

    def add_batchnorm(self, name: str, input: str, eps: float = 1e-5, momentum: float = 0.1) -> str:
        """Adds batch normalisation (nn.BatchNorm2d)."""
        return self._added(self._lib.tailor_net_add_batchnorm(
            self._h, s(_name(name, "name")), s(_name(input, "input")), float(eps), float(momentum), None), name)

    def add_relu(self, name: str, input: str) -> str:
        """Adds a ReLU."""
        return self._added(self._lib.tailor_net_add_relu(
            self._h, s(_name(name, "name")), s(_name(input, "input")), None), name)

    def add_add(self, name: str, a: str, b: str) -> str:
        """Adds the element-wise sum of two nodes of the same shape (a skip join)."""
        return self._added(self._lib.tailor_net_add_add(
            self._h, s(_name(name, "name")), s(_name(a, "a")), s(_name(b, "b")), None), name)

    def add_pool(self, name: str, input: str, kind: str = "max", kernel: int = 2, stride: int | None = None,
                 padding: int = 0) -> str:
        """Adds max or average pooling ("max" | "avg"); `stride` defaults to `kernel` like PyTorch."""
        if kind not in POOL_KINDS:
            raise TailorError(f"unknown pool kind {kind!r}; expected one of {sorted(POOL_KINDS)}",
                              status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
        stride = kernel if stride is None else stride
        return self._added(self._lib.tailor_net_add_pool(
            self._h, s(_name(name, "name")), s(_name(input, "input")), POOL_KINDS[kind], int(kernel),
            int(stride), int(padding), None), name)

    def add_global_avgpool(self, name: str, input: str) -> str:
        """Adds global average pooling to C x 1 x 1 (nn.AdaptiveAvgPool2d(1))."""
        return self._added(self._lib.tailor_net_add_global_avgpool(
            self._h, s(_name(name, "name")), s(_name(input, "input")), None), name)

    def add_flatten(self, name: str, input: str) -> str:
        """Adds a flatten of C x H x W to C*H*W features (PyTorch order)."""
        return self._added(self._lib.tailor_net_add_flatten(
            self._h, s(_name(name, "name")), s(_name(input, "input")), None), name)

    def add_dense(self, name: str, input: str, out_features: int, bias: bool = True) -> str:
        """Adds a fully connected layer (nn.Linear) on a flat input."""
        return self._added(self._lib.tailor_net_add_dense(
            self._h, s(_name(name, "name")), s(_name(input, "input")), int(out_features), int(bool(bias)),
            None), name)

    def set_output(self, name: str) -> None:
        """Declares node `name` the output (otherwise the last node added is). Every node must lead
        to the output when the network is used: a stray node is then an error naming it."""
        _check(self._lib.tailor_net_set_output(self._h, s(_name(name, "name"))))

    # ---- inspecting --------------------------------------------------------------------------

    def _count(self, fn) -> int:
        n = ctypes.c_int64()
        _check(fn(self._h, ctypes.byref(n)))
        return n.value

    @property
    def nodes(self) -> list[Node]:
        """Every node in topological order."""
        out = []
        name = ctypes.c_char_p()
        for i in range(self._count(self._lib.tailor_net_node_count)):
            info = _lib.out_struct(_lib.NodeInfo)
            _check(self._lib.tailor_net_node_info(self._h, i, ctypes.byref(info)))
            inputs = []
            for k in range(info.num_inputs):
                _check(self._lib.tailor_net_node_input(self._h, i, k, ctypes.byref(name)))
                inputs.append(u(name.value))
            out.append(Node(i, u(info.name), u(info.op), tuple(inputs),
                            (info.channels, info.height, info.width), info.out_channels, info.kernel, info.stride,
                            info.padding, bool(info.bias), info.block))
        return out

    def _io(self) -> tuple[tuple, int]:
        c, h, w, n = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
        _check(self._lib.tailor_net_io_shape(self._h, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w),
                                             ctypes.byref(n)))
        return (c.value, h.value, w.value), n.value

    @property
    def input_shape(self) -> tuple:
        """(channels, height, width) of one input sample."""
        return self._io()[0]

    @property
    def num_outputs(self) -> int:
        """Number of output features (classes)."""
        return self._io()[1]

    @property
    def blocks(self) -> list[Block]:
        """The residual blocks, input to output, with their kind and current mode."""
        out = []
        for i in range(self._count(self._lib.tailor_net_block_count)):
            name, kind, mode = ctypes.c_char_p(), ctypes.c_int32(), ctypes.c_int32()
            _check(self._lib.tailor_net_block_info(self._h, i, ctypes.byref(name), ctypes.byref(kind),
                                                   ctypes.byref(mode)))
            out.append(Block(i, u(name.value), _label(KINDS, kind.value), _label(MODES, mode.value)))
        return out

    @property
    def skips(self) -> list[Skip]:
        """The skip inventory: one per long or removed block, one per convolution of a short block."""
        out = []
        for i in range(self._count(self._lib.tailor_net_skip_count)):
            si = _lib.out_struct(_lib.SkipInfo)
            _check(self._lib.tailor_net_skip_info(self._h, i, ctypes.byref(si)))
            block_name = u(si.block_name)
            span = ctypes.c_char_p()
            spans = []
            for k in range(si.num_spans):
                _check(self._lib.tailor_net_skip_span(self._h, i, k, ctypes.byref(span)))
                spans.append(u(span.value))
            out.append(Skip(f"{block_name}.skip{si.index}", si.block, si.index, _label(KINDS, si.kind),
                            _label(MODES, si.mode), u(si.source), u(si.join),
                            tuple(spans),
                            u(si.projection), (si.channels, si.height, si.width)))
        return out

    def _block_index(self, block: int | str) -> int:
        if isinstance(block, str):
            for b in self.blocks:
                if b.name == block:
                    return b.index
            names = ", ".join(b.name for b in self.blocks) or "none"
            raise TailorError(f"unknown block {block!r}; blocks: {names}", status=3,
                              status_name="TAILOR_ERR_NOT_FOUND")
        if isinstance(block, (bool, float)) or not isinstance(block, (int, np.integer)):
            raise TailorError(f"block must be an index or a block name, got {block!r}", status=1,
                              status_name="TAILOR_ERR_INVALID_ARGUMENT")
        return int(block)

    def set_mode(self, block: int | str, mode: str) -> None:
        """Switches a block (index or name) to "long", "removed" or "short". Parameters of nodes
        that disappear are kept and come back when the block returns to a mode that has them."""
        if isinstance(mode, str):
            if mode not in MODES:
                raise TailorError(f"invalid mode {mode!r}; expected one of {', '.join(MODES)}", status=1,
                                  status_name="TAILOR_ERR_INVALID_ARGUMENT")
            code = MODES.index(mode)
        elif isinstance(mode, (int, np.integer)) and not isinstance(mode, bool):
            code = int(mode)  # the C enum; the library validates it
        else:
            raise TailorError(f"invalid mode {mode!r}; expected one of {', '.join(MODES)}", status=1,
                              status_name="TAILOR_ERR_INVALID_ARGUMENT")
        _check(self._lib.tailor_net_set_block_mode(self._h, self._block_index(block), code))

    def set_modes(self, mode) -> None:
        """Switches every block to `mode` ("long" | "removed" | "short"), or each block to its mode
        in a {block name or index: mode} mapping (what :attr:`modes` returns)."""
        if isinstance(mode, Mapping):
            for b, m in mode.items():
                self.set_mode(b, m)
            return
        for b in self.blocks:
            self.set_mode(b.index, mode)

    @property
    def modes(self) -> dict[str, str]:
        """Block name -> current mode."""
        return {b.name: b.mode for b in self.blocks}

    # ---- parameters --------------------------------------------------------------------------

    def param_specs(self) -> list[tuple[str, tuple, bool]]:
        """(name, shape, is_integer) of every parameter and buffer, in state_dict order."""
        out = []
        dim = ctypes.c_int64()
        for i in range(self._count(self._lib.tailor_net_param_count)):
            info = _lib.out_struct(_lib.ParamInfo)
            _check(self._lib.tailor_net_param_info(self._h, i, ctypes.byref(info)))
            dims = []
            for k in range(info.ndim):
                _check(self._lib.tailor_net_param_dim(self._h, i, k, ctypes.byref(dim)))
                dims.append(dim.value)
            out.append((u(info.name), tuple(dims), bool(info.is_integer)))
        return out

    def get_param(self, name: str) -> np.ndarray:
        """One parameter as a fresh float32 array (int64 for num_batches_tracked-like buffers)."""
        for pname, shape, integer in self.param_specs():
            if pname == name:
                return self._get(pname, shape, integer)
        raise TailorError(f"unknown parameter {name!r}", status=3, status_name="TAILOR_ERR_NOT_FOUND")

    def _get(self, name: str, shape: tuple, integer: bool) -> np.ndarray:
        out = np.empty(shape, dtype=np.float32)
        _check(self._lib.tailor_net_get_param(self._h, s(name), out.ctypes.data_as(_lib._f32p), out.size))
        return np.array(out, dtype=np.int64) if integer else out

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer by PyTorch state_dict name, in PyTorch's order: float32
        arrays, and 0-d int64 arrays for ``num_batches_tracked``."""
        return {name: self._get(name, shape, integer) for name, shape, integer in self.param_specs()}

    def set_param(self, name: str, value: Any) -> None:
        """Replaces one parameter; shape must match, values finite. On error nothing changes."""
        arr = _to_numpy(value)
        if arr.dtype.kind not in "fiu":
            raise TailorError(f"parameter {name!r}: unsupported dtype {arr.dtype} (expected a real "
                              "floating-point or integer array)", status=1,
                              status_name="TAILOR_ERR_INVALID_ARGUMENT")
        # like np.ascontiguousarray(arr, dtype=np.float32), which would turn a 0-d array into 1-d
        with np.errstate(over="ignore"):  # values beyond float32 become inf, which the library rejects
            data = np.asarray(arr, dtype=np.float32, order="C")
        dims = (ctypes.c_int64 * max(data.ndim, 1))(*data.shape)
        _check(self._lib.tailor_net_set_param(self._h, s(_name(name, "parameter name")),
                                              data.ctypes.data_as(_lib._f32p), data.ndim, dims))

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Loads parameters from a mapping of name -> numpy array or torch tensor.

        With ``strict`` the keys must match exactly: missing and unexpected keys are reported
        together in one TailorError. Shapes must match and values be finite. All or nothing: on
        any error every parameter keeps its previous value. Returns (missing_keys, unexpected_keys).
        """
        if not isinstance(state_dict, Mapping):
            raise TailorError(f"state_dict must be a mapping of name -> array, got {type(state_dict).__name__}",
                              status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
        specs = self.param_specs()
        expected = [name for name, _, _ in specs]
        missing = [k for k in expected if k not in state_dict]
        unexpected = [k for k in state_dict if k not in set(expected)]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
            if unexpected:
                parts.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
            raise TailorError("Error(s) in loading state_dict for Network:\n\t" + "\n\t".join(parts),
                              status=3, status_name="TAILOR_ERR_NOT_FOUND")
        arrays = {}
        for name, shape, _ in specs:
            if name in state_dict:
                arr = _to_numpy(state_dict[name])
                if tuple(arr.shape) != shape:
                    raise TailorError(f"size mismatch for {name}: copying a param with shape {tuple(arr.shape)}, "
                                      f"the shape in the network is {shape}", status=2,
                                      status_name="TAILOR_ERR_SHAPE")
                arrays[name] = arr
        backup = {name: self._get(name, shape, integer) for name, shape, integer in specs if name in arrays}
        try:
            for name, arr in arrays.items():
                self.set_param(name, arr)
        except TailorError as e:
            for name, old in backup.items():
                self.set_param(name, old)
            raise TailorError(f"loading {name!r}: {e}", status=e.status, status_name=e.status_name) from None
        return IncompatibleKeys(missing, unexpected)

    def num_parameters(self) -> int:
        """Number of trainable values (like ``sum(p.numel() for p in model.parameters())``;
        BatchNorm running statistics are buffers and not counted)."""
        return int(sum(np.prod(shape, dtype=np.int64) for name, shape, _ in self.param_specs()
                       if not name.endswith(_BUFFER_SUFFIXES)))

    # ---- files -------------------------------------------------------------------------------

    def export_onnx(self, path, opset: int | None = None, fold_bn: bool = False, quantized: bool = False):
        """Writes the network as a standard ONNX graph (see ``tailor.onnx_export.export_onnx``);
        ``fold_bn=True`` folds each BatchNorm into its convolution. ``quantized=True`` writes it at
        its fixed-point types (:meth:`set_precision`) as QONNX, with ``Quant`` nodes, the design
        ``predict(x, quantized=True)`` computes once hls4ml reads it
        (``tailor.onnx_export.export_qonnx``; BatchNorms fold where hls4ml folds them, so
        ``fold_bn`` does not apply). Needs the ``onnx`` package. ``opset``: 17, or 13 for QONNX."""
        if quantized:
            if fold_bn:
                raise TailorError("export_onnx(quantized=True) folds each BatchNorm where hls4ml folds it "
                                  "(into a conv whose result is 'auto'); fold_bn does not apply", status=1)
            from .onnx_export import export_qonnx
            return export_qonnx(self, path, opset=13 if opset is None else opset)
        from .onnx_export import export_onnx
        return export_onnx(self, path, opset=17 if opset is None else opset, fold_bn=fold_bn)

    def to_torch(self):
        """An equivalent ``torch.nn.Module`` with the same state_dict (needs torch)."""
        from .torch_adapter import to_torch
        return to_torch(self)

    def save(self, path: str | os.PathLike) -> None:
        """Writes the network (graph, block modes, every tensor) to a safetensors model file."""
        _check(self._lib.tailor_net_save(self._h, s(os.fsdecode(os.fspath(path)))))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Network:
        """Reads a model file written by :meth:`save`."""
        ptr = _lib.NetPtr()
        _check(_lib.lib().tailor_net_load(s(os.fsdecode(os.fspath(path))), ctypes.byref(ptr)))
        return cls._from_ptr(ptr)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Network:
        """Reads a model file's contents from memory."""
        buf = bytes(data)
        ptr = _lib.NetPtr()
        _check(_lib.lib().tailor_net_load_buffer(buf, len(buf), ctypes.byref(ptr)))
        return cls._from_ptr(ptr)

    def to_bytes(self) -> bytes:
        """The model file's contents (written through a temporary file)."""
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "model.tailor")
            self.save(path)
            with open(path, "rb") as f:
                return f.read()

    def __reduce__(self):
        """Pickles as the model file's bytes (so a Network can cross process boundaries)."""
        return (Network.from_bytes, (self.to_bytes(),))

    def predict(self, x, quantized: bool = False, return_overflows: bool = False):
        """Logits for `x` (NCHW, one sample C×H×W or a batch N×C×H×W) in inference mode
        (BatchNorm uses running statistics). Returns (N, outputs), or (outputs,) for one sample.

        ``quantized=True`` runs the network in fixed point at the types it carries
        (:meth:`set_precision`): bit for bit what hls4ml 1.3.0's C simulation (``compile()`` +
        float64 ``predict()``) computes for it, as float64 (docs/fixed-point.md). With
        ``return_overflows=True`` it also returns ``{"node": count, "node.accum": count,
        "node.weight": count}``: the conversions the overflow mode changed (wrapped or saturated)."""
        dtype = np.float64 if quantized else np.float32
        x = np.ascontiguousarray(x, dtype=dtype)
        single = x.ndim == 3
        if single:
            x = x[None]
        if x.ndim != 4:
            raise TailorError(f"predict needs x of shape (N, C, H, W) or (C, H, W), got {x.shape}")
        if return_overflows and not quantized:
            raise TailorError("return_overflows=True needs quantized=True (float inference does not overflow a type)")
        out = np.empty((x.shape[0], self.num_outputs), dtype=dtype)
        if quantized:
            f64 = ctypes.POINTER(ctypes.c_double)
            total, counts = ctypes.c_int64(0), ctypes.c_char_p()
            _check(self._lib.tailor_net_predict_fixed(self._h, x.ctypes.data_as(f64), *x.shape, out.ctypes.data_as(f64),
                                                      out.size, ctypes.byref(total), ctypes.byref(counts)))
            overflows = json.loads(counts.value.decode("utf-8"))
        else:
            f32 = ctypes.POINTER(ctypes.c_float)
            _check(self._lib.tailor_net_predict(self._h, x.ctypes.data_as(f32), *x.shape,
                                                out.ctypes.data_as(f32), out.size))
        y = out[0] if single else out
        return (y, overflows) if return_overflows else y

    # ---- training -------------------------------------------------------------------------

    def fit(self, train, val=None, epochs: int | None = None, batch_size: int | None = None, optimizer: str | None = None,
            lr: float | None = None, momentum: float | None = None, nesterov: bool | None = None,
            weight_decay: float | None = None, schedule: str | None = None, augment: bool | None = None,
            seed: int | None = None, progress: bool = True, loss: str | None = None, teacher=None,
            kd_alpha: float | None = None, kd_temperature: float | None = None, normalize=None, callback=None,
            checkpoint=None, **options) -> list[dict]:
        """Trains the network in place on ``train=(x, y)`` (x float32 NCHW, y integer labels).

        An option left None takes the library's default (``tailor.training.defaults()``: 1 epoch,
        batches of 128, SGD lr 0.1, momentum 0.9, Nesterov, weight decay 5e-4, constant lr, CE,
        augmentation on, seed 0); Nesterov applies to SGD only.

        ``optimizer`` "sgd" | "adam"; ``schedule`` "constant" | "step" | "cosine" | "onecycle"
        (per-batch cosine/one-cycle, per-epoch step; options ``step_size``, ``step_gamma``,
        ``eta_min``, ``pct_start``, ``div_factor``, ``final_div_factor``, ``cycle_momentum``,
        ``warmup_steps``); ``loss`` "ce" | "kd" (alpha·MSE + (1−alpha)·CE) | "hinton" with a
        ``teacher`` Network run in inference mode. ``augment``: random crop (padding
        ``crop_padding``=4) + horizontal flip. ``normalize=(mean, std)`` per channel, applied by the
        library to train and val. ``val=(x, y)`` is evaluated after every epoch.
        ``mode_switches=[(epoch, block, mode), …]`` switches blocks (index or name) to "long" |
        "removed" | "short" before those epochs within this one run (schedule and optimiser
        state continue; Tailor's block-by-block alteration). ``callback(d)``
        gets a progress dict after every step and epoch; returning False stops the run (the
        history so far is returned). Ctrl-C cancels cleanly and raises KeyboardInterrupt; the
        network then holds the weights of the last completed step.

        ``checkpoint=path`` writes the run's whole state there at every epoch end (atomically: a
        crash or Ctrl-C leaves the last complete epoch's file, never a damaged one);
        :func:`tailor.resume` continues it to the weights and history the uninterrupted run reaches.

        Returns a list of per-epoch dicts: epoch, loss, train_accuracy, val_loss, val_accuracy, lr.
        """
        from . import training
        if options.get("mode_switches"):
            options["mode_switches"] = [(e, self._block_index(b), m) for e, b, m in options["mode_switches"]]
        cfg = training.make_config(epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, momentum=momentum,
                                   nesterov=nesterov, weight_decay=weight_decay, schedule=schedule, augment=augment,
                                   seed=None if seed is None else int(seed) & (2**64 - 1), loss=loss,
                                   kd_alpha=kd_alpha, kd_temperature=kd_temperature, checkpoint_path=checkpoint, **options)
        return training.run_fit(self, train, val, cfg, teacher, normalize, progress, callback)

    def train_step(self, x, y, teacher_logits=None, update: bool = True, **options) -> tuple[float, np.ndarray]:
        """One training step on a batch (train-mode BN), optimiser step with ``lr`` unless
        ``update=False``; options as for :meth:`fit` (optimizer, lr, momentum, nesterov,
        weight_decay, loss, kd_alpha, …). Optimiser state persists between calls
        (:meth:`reset_optimizer` clears it). Returns (loss, train-mode logits)."""
        from . import training
        cfg = training.make_config(**options)
        d = training.DataRef(x, y, what="train_step")
        t = None
        if teacher_logits is not None:
            t = np.ascontiguousarray(teacher_logits, dtype=np.float32)
            if t.shape != (len(d.x), self.num_outputs):
                raise TailorError(f"teacher_logits must have shape {(len(d.x), self.num_outputs)}, got {t.shape}",
                                  status=2, status_name="TAILOR_ERR_SHAPE")
        logits = np.empty((len(d.x), self.num_outputs), dtype=np.float32)
        loss = ctypes.c_double(0)
        f32 = _lib._f32p
        _check(self._lib.tailor_net_train_step(self._h, d.x.ctypes.data_as(f32), *d.x.shape, d.y.ctypes.data_as(_lib._i64p),
                                               t.ctypes.data_as(f32) if t is not None else None, ctypes.byref(cfg),
                                               int(bool(update)), logits.ctypes.data_as(f32), logits.size, ctypes.byref(loss)))
        return loss.value, logits

    def grad(self, name: str) -> np.ndarray:
        """Gradient of trainable parameter `name` from the last training step (PyTorch layout)."""
        shape = next((sh for n, sh, _ in self.param_specs() if n == name), None)
        if shape is None:
            raise TailorError(f"no parameter named '{name}'", status=3, status_name="TAILOR_ERR_NOT_FOUND")
        out = np.empty(shape, dtype=np.float32)
        _check(self._lib.tailor_net_grad(self._h, s(name), out.ctypes.data_as(_lib._f32p), out.size))
        return out

    def gradients(self) -> dict[str, np.ndarray]:
        """Every trainable parameter's gradient from the last training step."""
        return {n: self.grad(n) for n, _, integer in self.param_specs()
                if not integer and not n.endswith((".running_mean", ".running_var"))}

    def reset_optimizer(self) -> None:
        """Drops optimiser state (momentum buffers, Adam moments)."""
        _check(self._lib.tailor_net_train_reset(self._h))

    def evaluate(self, x, y, normalize=None) -> dict:
        """Mean cross-entropy and accuracy in inference mode: {"loss": …, "accuracy": …}."""
        from . import training
        d = training.DataRef(x, y, normalize=normalize, what="evaluate")
        loss, acc = ctypes.c_double(0), ctypes.c_double(0)
        _check(self._lib.tailor_net_evaluate(self._h, ctypes.byref(d.struct), ctypes.byref(loss), ctypes.byref(acc)))
        return {"loss": loss.value, "accuracy": acc.value}

    # ---- fixed point -------------------------------------------------------------------------

    def set_precision(self, config) -> Network:
        """Gives the network's tensors fixed-point types, as hls4ml configures them: a type string
        for every tensor (``"ap_fixed<16,6>"``), or hls4ml's config dict
        ``{"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": {"conv1": {"Precision":
        {"weight": "ap_fixed<8,3>", "result": "ap_fixed<16,6>"}}}}``, with Tailor's node names
        (hls4ml's PyTorch front end writes "." as "_"). As in hls4ml, a role a layer does not name
        takes the model default and "auto" takes the type hls4ml infers (docs/fixed-point.md).
        hls4ml's other keys (ReuseFactor, Strategy, InputShape, activation tables…) are ignored.
        ``None`` makes it a float network again. Model files keep it. An unknown node, a role the
        node lacks or a bad type string is a TailorError naming where; on error nothing changes.
        Returns the network."""
        text = None if config is None else json.dumps(config)
        _check(self._lib.tailor_net_set_precision_json(self._h, text.encode("utf-8") if text is not None else None))
        return self

    @property
    def precision(self) -> dict | None:
        """The network's fixed-point types in hls4ml's config layout (None for a float network)."""
        j = ctypes.c_char_p()
        _check(self._lib.tailor_net_precision_json(self._h, ctypes.byref(j)))
        return json.loads(j.value.decode("utf-8"))

    def fixed_design(self) -> dict:
        """The fixed-point design the network's types give (what ``predict(quantized=True)``
        computes): {"model": type, "layers": [{"node", "kind", "inputs", "result", and as the
        layer has them "accum", "weight", "bias", "scale", "accum_holds_exact_sum",
        "folded_into"}]}, each type {"type", "width", "integer", "signed", "rounding",
        "overflow", "source": "layer" | "auto" | "model"}. For tools that write the design out."""
        j = ctypes.c_char_p()
        _check(self._lib.tailor_net_fixed_design_json(self._h, ctypes.byref(j)))
        return json.loads(j.value.decode("utf-8"))

    def fixed_parameter(self, node: str, role: str) -> np.ndarray:
        """The ``role`` ("weight", "bias", or an unfolded batch norm's "scale") of layer ``node``
        as the fixed-point design holds it (batch norm folded where hls4ml folds it, through
        hls4ml's decimal text, on the type's grid), float64 in the parameter's PyTorch shape."""
        # conv, dense and batch norm all have a `.weight`: the weight's shape, or one per output
        # channel. The library says which layers and roles the design has.
        try:
            weight = self.get_param(f"{node}.weight").shape
        except TailorError:
            raise TailorError(f"'{node}' has no {role} in the fixed-point design", status=3) from None
        shape = tuple(weight) if role == "weight" else (weight[0],)
        out = np.empty(shape, np.float64)
        _check(self._lib.tailor_net_fixed_parameter(self._h, s(node), s(role),
                                                    out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), out.size))
        return out

    def describe(self) -> dict:
        """The network as a dict: {"nodes": [...], "blocks": [...], "skips": [...], "params": [...]}."""
        j = ctypes.c_char_p()
        _check(self._lib.tailor_net_describe(self._h, ctypes.byref(j)))
        return json.loads(j.value.decode("utf-8"))

    # ---- text --------------------------------------------------------------------------------

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<tailor.Network (closed)>"
        try:
            if not self._count(self._lib.tailor_net_node_count):
                return "<tailor.Network (empty)>"
            return self._repr()
        except TailorError as e:  # e.g. a handle busy in another thread
            return f"<tailor.Network ({e})>"

    def _repr(self) -> str:
        c, h, w = self.input_shape
        blocks = self.blocks
        modes = {m: sum(b.mode == m for b in blocks) for m in MODES}
        lines = [f"Network(input {c}x{h}x{w} -> {self.num_outputs} outputs, "
                 f"{len(self.nodes)} nodes, {self.num_parameters():,} parameters, "
                 f"{len(blocks)} residual blocks"
                 + (": " + ", ".join(f"{n} {m}" for m, n in modes.items() if n) if blocks else "") + ")"]
        lines += [f"  {b.name:<10} {b.kind:<10} {b.mode}" for b in blocks]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Jupyter: the header line and a table of blocks and their skips."""
        import html
        if self._ptr is None or not self._count(self._lib.tailor_net_node_count):
            return html.escape(repr(self))
        head = html.escape(self._repr().splitlines()[0])
        rows = "".join(f"<tr><td>{html.escape(k.name)}</td><td>{k.kind}</td><td>{k.mode}</td><td>{html.escape(k.source)}</td>"
                       f"<td>{html.escape(k.join or '-')}</td><td>{html.escape(' + '.join(k.spans))}</td>"
                       f"<td>{html.escape(k.projection or 'identity')}</td><td>{'×'.join(map(str, k.shape))}</td></tr>"
                       for k in self.skips)
        return (f"<div><p>{head}</p><table><thead><tr><th>skip</th><th>kind</th><th>mode</th><th>source</th><th>join</th>"
                f"<th>spans</th><th>projection</th><th>shape</th></tr></thead><tbody>{rows}</tbody></table></div>")

    def summary(self) -> str:
        """A text table of every node: name, op, inputs, output shape, parameter count, block."""
        sizes = {}
        for name, shape, _ in self.param_specs():
            if not name.endswith(_BUFFER_SUFFIXES):
                node = name.rsplit(".", 1)[0]
                sizes[node] = sizes.get(node, 0) + int(np.prod(shape, dtype=np.int64))
        blocks = {b.index: b for b in self.blocks}
        rows = []
        for n in self.nodes:
            b = blocks.get(n.block)
            rows.append((str(n.index), n.name, n.op, ", ".join(n.inputs), "x".join(map(str, n.shape)),
                         f"{sizes.get(n.name, 0):,}" if sizes.get(n.name) else "",
                         f"{b.name} ({b.mode})" if b else ""))
        table = _table.render(("#", "name", "op", "inputs", "output", "params", "block"), rows)
        return table + f"\ntotal parameters: {self.num_parameters():,}"


def _label(labels: tuple, code: int) -> str:
    return labels[code] if 0 <= code < len(labels) else f"unknown({code})"


def load(path: str | os.PathLike) -> Network:
    """Reads a model file written by :meth:`Network.save`."""
    return Network.load(path)


def skip_table(skips: list[Skip]) -> str:
    """The skip inventory as a text table."""
    rows = [(k.name, k.kind, k.mode, k.source, k.join or "-", " + ".join(k.spans) or "-",
             k.projection or "identity", "x".join(map(str, k.shape))) for k in skips]
    return _table.render(("skip", "kind", "mode", "source", "join", "spans", "projection", "shape"), rows)
