"""The one module that talks to libtailor through ctypes.

It finds and loads the library, checks its ABI version, declares every function's
``argtypes``/``restype`` (the C prototype from ``include/tailor.h`` is in the comment above
each), and turns every non-zero status into a :class:`TailorError` via :func:`check`.

Library lookup order: the ``TAILOR_LIBRARY`` environment variable, the package directory
(``tailor/libtailor.so``, where ``pip install`` puts it), then ``<repo>/.build/release/libtailor.so``
for a developer checkout. The error lists every path tried.
"""
from __future__ import annotations

import ctypes
import os
import sys
from ctypes import POINTER, c_char_p, c_double, c_int, c_int32, c_int64, c_size_t, c_uint64, c_void_p

#: The TAILOR_ABI_VERSION this package was written against.
EXPECTED_ABI_VERSION = 2

_LIBNAME = "libtailor.so"
_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_REPO_DIR = os.path.dirname(os.path.dirname(_PKG_DIR))


class TailorError(RuntimeError):
    """Raised when a libtailor call fails. ``status`` is the numeric ``tailor_status`` (or None
    for errors detected on the Python side), ``status_name`` its name ("TAILOR_ERR_SHAPE").

    Every status has its own subclass, which also derives from the matching builtin, so callers
    can catch precisely (``except tailor.ShapeError``) or as Python code usually does
    (``except ValueError``). ``TailorError(message, status=N)`` itself gives the subclass of N."""

    def __new__(cls, message: str = "", status: int | None = None, status_name: str | None = None):
        if cls is TailorError and status in _ERROR_CLASSES:
            cls = _ERROR_CLASSES[status]
        # The builtin whose instance layout the class has (OSError keeps its own) makes it.
        return getattr(cls, "builtin", RuntimeError).__new__(cls, message)

    def __init__(self, message: str = "", status: int | None = None, status_name: str | None = None):
        super().__init__(message)
        self.status = status if status is not None else getattr(type(self), "default_status", None)
        self.status_name = status_name or _STATUS_NAMES.get(self.status)

    def __str__(self):
        return str(self.args[0]) if self.args else ""   # KeyError and OSError would decorate it


#: One row per tailor_status (include/tailor.h; tests/test_abi.py checks the two agree): the
#: status, its name, the subclass raised for it and the builtin that subclass also derives from.
_STATUS_TABLE = [
    (1, "TAILOR_ERR_INVALID_ARGUMENT", "InvalidArgumentError", ValueError),
    (2, "TAILOR_ERR_SHAPE", "ShapeError", ValueError),
    (3, "TAILOR_ERR_NOT_FOUND", "NotFoundError", KeyError),
    (4, "TAILOR_ERR_IO", "TailorIOError", OSError),
    (5, "TAILOR_ERR_FORMAT", "FormatError", ValueError),
    (6, "TAILOR_ERR_NUMERIC", "NumericError", ArithmeticError),
    (7, "TAILOR_ERR_UNSUPPORTED", "UnsupportedError", NotImplementedError),
    (8, "TAILOR_ERR_CANCELLED", "CancelledError", RuntimeError),
    (9, "TAILOR_ERR_BUSY", "BusyError", RuntimeError),
    (10, "TAILOR_ERR_VERSION", "VersionError", ValueError),
    (11, "TAILOR_ERR_INTERNAL", "InternalError", RuntimeError),
]
_STATUS_NAMES = {code: name for code, name, _, _ in _STATUS_TABLE}
_ERROR_CLASSES = {}
for _code, _name, _cls, _builtin in _STATUS_TABLE:
    _bases = (TailorError,) if _builtin is RuntimeError else (TailorError, _builtin)
    _ERROR_CLASSES[_code] = type(_cls, _bases, {
        "__doc__": f"{_name}: raised by the library with this status (also a {_builtin.__name__}).",
        "__module__": "tailor", "default_status": _code, "builtin": _builtin})
    globals()[_cls] = _ERROR_CLASSES[_code]
ERROR_CLASSES = tuple(_ERROR_CLASSES.values())


NetPtr = c_void_p  # tailor_net *
_i64p = POINTER(c_int64)
_f32p = POINTER(ctypes.c_float)


# ---- C structs (layouts must match include/tailor.h; tests/test_abi.py compares every sizeof) ----
#
# ABI 2, rule 2: every struct begins with `int64_t size`. Output structs (the library writes at
# most `size` bytes) are made with :func:`out_struct`, which sets it; input structs (configs,
# data) are filled by the library's *_defaults functions or get `size` set by their builder.

class NodeInfo(ctypes.Structure):
    """``tailor_node_info`` (output struct; inputs through ``tailor_net_node_input``)."""
    _fields_ = [
        ("size", c_int64),
        ("name", c_char_p),
        ("op", c_char_p),
        ("num_inputs", c_int64),
        ("channels", c_int64), ("height", c_int64), ("width", c_int64),
        ("out_channels", c_int64),
        ("kernel", c_int64),
        ("stride", c_int64),
        ("padding", c_int64),
        ("bias", c_int32),
        ("block", c_int32),
    ]


class SkipInfo(ctypes.Structure):
    """``tailor_skip_info`` (output struct; spans through ``tailor_net_skip_span``)."""
    _fields_ = [
        ("size", c_int64),
        ("block", c_int64),
        ("block_name", c_char_p),
        ("index", c_int64),
        ("mode", c_int32),
        ("kind", c_int32),
        ("source", c_char_p),
        ("join", c_char_p),
        ("projection", c_char_p),
        ("num_spans", c_int64),
        ("channels", c_int64), ("height", c_int64), ("width", c_int64),
    ]


class ParamInfo(ctypes.Structure):
    """``tailor_param_info`` (output struct; dims through ``tailor_net_param_dim``)."""
    _fields_ = [
        ("size", c_int64),
        ("name", c_char_p),
        ("ndim", c_int64),
        ("count", c_int64),
        ("is_integer", c_int32),
    ]


class HwConfig(ctypes.Structure):
    """``tailor_hw_config`` (input struct; filled by ``tailor_hw_config_defaults``)."""
    _fields_ = [
        ("size", c_int64),
        ("target", c_char_p),
        ("bits", c_int32),
        ("reuse_factor", c_int32),
        ("depth_policy", c_char_p),
        ("memory_policy", c_char_p),
        ("precision_json", c_char_p),
        ("clock_mhz", c_double),
        ("pe_count", c_int64),
        ("bandwidth_gbps", c_double),
        ("onchip_kib", c_int64),
        ("backend", c_char_p),
        ("interface", c_char_p),
        ("strategy", c_char_p),
        ("layers_json", c_char_p),
        ("precision_source", c_char_p),
    ]


class RunConfig(ctypes.Structure):
    """``tailor_run_config`` (input struct; filled by ``tailor_run_config_defaults``)."""
    _fields_ = [("size", c_int64), ("algorithm", c_char_p), ("every", c_int64), ("epochs", c_int64),
                ("blocks", _i64p), ("num_blocks", c_int64), ("hardware", POINTER(HwConfig))]


class HwCost(ctypes.Structure):
    """``tailor_hw_cost`` (a plain record: no size)."""
    _fields_ = [(f, c_int64) for f in ("bram18", "uram", "lut", "ff", "dsp", "bytes")]


class Fifo(ctypes.Structure):
    """``tailor_fifo`` (output struct)."""
    _fields_ = [
        ("size", c_int64), ("stream", c_char_p), ("producer", c_char_p), ("consumer", c_char_p), ("role", c_char_p),
        ("block", c_int64), ("channels", c_int64), ("height", c_int64), ("width", c_int64), ("bits", c_int64),
        ("default_depth", c_int64), ("max_occupancy", c_int64), ("hls4ml_max", c_int64), ("depth", c_int64),
        ("memory", c_int32), ("is_port", c_int32), ("cost", HwCost),
    ]


class SkipCost(ctypes.Structure):
    """``tailor_skip_cost`` (output struct; read with ``tailor_net_skip_cost``)."""
    _fields_ = [
        ("size", c_int64),
        ("block", c_int64),
        ("block_name", c_char_p),
        ("index", c_int64),
        ("mode", c_int32),
        ("memory", c_int32),
        ("buffer", c_char_p),
        ("channels", c_int64), ("height", c_int64), ("width", c_int64),
        ("word_bits", c_int64),
        ("lag_words", c_int64),
        ("depth_words", c_int64),
        ("macs", c_int64),
        ("cost", HwCost),
    ]


class HwTotals(ctypes.Structure):
    """``tailor_hw_totals`` (output struct)."""
    _fields_ = [("size", c_int64), ("skips", HwCost), ("rest", HwCost), ("total", HwCost), ("macs", c_int64),
                ("latency_us", c_double)]


def out_struct(cls):
    """A zeroed output struct of type `cls` with ``size`` = sizeof, ready for the library to fill."""
    obj = cls()
    obj.size = ctypes.sizeof(cls)
    return obj


# name: (restype, argtypes); the C prototype from include/tailor.h is in the comment above each.
# Every tailor_status is a C int (c_int); `_check` is applied by callers for status returns.
_PROTOTYPES = {
    # const char *tailor_last_error(void);
    "tailor_last_error": (c_char_p, []),
    # const char *tailor_status_name(int status);
    "tailor_status_name": (c_char_p, [c_int]),
    # const char *tailor_version(void);
    "tailor_version": (c_char_p, []),
    # int tailor_abi_version(void);
    "tailor_abi_version": (c_int, []),
    # tailor_status tailor_cifar10_read(const char *path, float *x, int64_t *labels, int64_t capacity, int64_t *n);
    "tailor_cifar10_read": (c_int, [c_char_p, POINTER(ctypes.c_float), POINTER(c_int64), c_int64, POINTER(c_int64)]),
    # int tailor_cpu_supported(void);
    "tailor_cpu_supported": (c_int, []),
    # tailor_status tailor_net_create(uint64_t seed, tailor_net **out);
    "tailor_net_create": (c_int, [c_uint64, POINTER(NetPtr)]),
    # void tailor_net_free(tailor_net *net);
    "tailor_net_free": (None, [NetPtr]),
    # tailor_status tailor_net_copy(tailor_net *net, tailor_net **out);
    "tailor_net_copy": (c_int, [NetPtr, POINTER(NetPtr)]),
    # tailor_status tailor_zoo_create(const char *name, int64_t num_classes, int64_t channels, int64_t height,
    #                                 int64_t width, uint64_t seed, tailor_net **out);
    "tailor_zoo_create": (c_int, [c_char_p, c_int64, c_int64, c_int64, c_int64, c_uint64, POINTER(NetPtr)]),
    # const char *tailor_zoo_names(void);
    "tailor_zoo_names": (c_char_p, []),
    # tailor_status tailor_net_add_input(tailor_net *net, const char *name, int64_t channels, int64_t height,
    #                                    int64_t width, int64_t *node_out);
    "tailor_net_add_input": (c_int, [NetPtr, c_char_p, c_int64, c_int64, c_int64, _i64p]),
    # tailor_status tailor_net_add_conv2d(tailor_net *net, const char *name, const char *input,
    #                                     int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding,
    #                                     int bias, int64_t *node_out);
    "tailor_net_add_conv2d": (c_int, [NetPtr, c_char_p, c_char_p, c_int64, c_int64, c_int64, c_int64, c_int, _i64p]),
    # tailor_status tailor_net_add_batchnorm(tailor_net *net, const char *name, const char *input, double eps,
    #                                        double momentum, int64_t *node_out);
    "tailor_net_add_batchnorm": (c_int, [NetPtr, c_char_p, c_char_p, c_double, c_double, _i64p]),
    # tailor_status tailor_net_add_relu(tailor_net *net, const char *name, const char *input, int64_t *node_out);
    "tailor_net_add_relu": (c_int, [NetPtr, c_char_p, c_char_p, _i64p]),
    # tailor_status tailor_net_add_add(tailor_net *net, const char *name, const char *a, const char *b,
    #                                  int64_t *node_out);
    "tailor_net_add_add": (c_int, [NetPtr, c_char_p, c_char_p, c_char_p, _i64p]),
    # tailor_status tailor_net_add_pool(tailor_net *net, const char *name, const char *input, int kind,
    #                                   int64_t kernel, int64_t stride, int64_t padding, int64_t *node_out);
    "tailor_net_add_pool": (c_int, [NetPtr, c_char_p, c_char_p, c_int, c_int64, c_int64, c_int64, _i64p]),
    # tailor_status tailor_net_add_global_avgpool(tailor_net *net, const char *name, const char *input,
    #                                             int64_t *node_out);
    "tailor_net_add_global_avgpool": (c_int, [NetPtr, c_char_p, c_char_p, _i64p]),
    # tailor_status tailor_net_add_flatten(tailor_net *net, const char *name, const char *input, int64_t *node_out);
    "tailor_net_add_flatten": (c_int, [NetPtr, c_char_p, c_char_p, _i64p]),
    # tailor_status tailor_net_add_dense(tailor_net *net, const char *name, const char *input, int64_t out_features,
    #                                    int bias, int64_t *node_out);
    "tailor_net_add_dense": (c_int, [NetPtr, c_char_p, c_char_p, c_int64, c_int, _i64p]),
    # tailor_status tailor_net_set_output(tailor_net *net, const char *name);
    "tailor_net_set_output": (c_int, [NetPtr, c_char_p]),
    # tailor_status tailor_net_node_count(tailor_net *net, int64_t *count);
    "tailor_net_node_count": (c_int, [NetPtr, _i64p]),
    # tailor_status tailor_net_node_info(tailor_net *net, int64_t index, tailor_node_info *out);
    "tailor_net_node_info": (c_int, [NetPtr, c_int64, POINTER(NodeInfo)]),
    # tailor_status tailor_net_node_input(tailor_net *net, int64_t index, int64_t k, const char **name);
    "tailor_net_node_input": (c_int, [NetPtr, c_int64, c_int64, POINTER(c_char_p)]),
    # tailor_status tailor_net_io_shape(tailor_net *net, int64_t *channels, int64_t *height, int64_t *width,
    #                                   int64_t *num_outputs);
    "tailor_net_io_shape": (c_int, [NetPtr, _i64p, _i64p, _i64p, _i64p]),
    # tailor_status tailor_net_block_count(tailor_net *net, int64_t *count);
    "tailor_net_block_count": (c_int, [NetPtr, _i64p]),
    # tailor_status tailor_net_block_info(tailor_net *net, int64_t index, const char **name, int32_t *kind,
    #                                     int32_t *mode);
    "tailor_net_block_info": (c_int, [NetPtr, c_int64, POINTER(c_char_p), POINTER(c_int32), POINTER(c_int32)]),
    # tailor_status tailor_net_set_block_mode(tailor_net *net, int64_t block, int32_t mode);
    "tailor_net_set_block_mode": (c_int, [NetPtr, c_int64, c_int32]),
    # tailor_status tailor_net_skip_count(tailor_net *net, int64_t *count);
    "tailor_net_skip_count": (c_int, [NetPtr, _i64p]),
    # tailor_status tailor_net_skip_info(tailor_net *net, int64_t index, tailor_skip_info *out);
    "tailor_net_skip_info": (c_int, [NetPtr, c_int64, POINTER(SkipInfo)]),
    # tailor_status tailor_net_skip_span(tailor_net *net, int64_t index, int64_t k, const char **name);
    "tailor_net_skip_span": (c_int, [NetPtr, c_int64, c_int64, POINTER(c_char_p)]),
    # tailor_status tailor_net_param_count(tailor_net *net, int64_t *count);
    "tailor_net_param_count": (c_int, [NetPtr, _i64p]),
    # tailor_status tailor_net_node_index(tailor_net *net, const char *name, int64_t *index);
    "tailor_net_node_index": (c_int, [NetPtr, c_char_p, _i64p]),
    # tailor_status tailor_net_block_index(tailor_net *net, const char *name, int64_t *index);
    "tailor_net_block_index": (c_int, [NetPtr, c_char_p, _i64p]),
    # tailor_status tailor_net_param_index(tailor_net *net, const char *name, int64_t *index);
    "tailor_net_param_index": (c_int, [NetPtr, c_char_p, _i64p]),
    # tailor_status tailor_net_param_info(tailor_net *net, int64_t index, tailor_param_info *out);
    "tailor_net_param_info": (c_int, [NetPtr, c_int64, POINTER(ParamInfo)]),
    # tailor_status tailor_net_param_dim(tailor_net *net, int64_t index, int64_t k, int64_t *dim);
    "tailor_net_param_dim": (c_int, [NetPtr, c_int64, c_int64, _i64p]),
    # tailor_status tailor_net_get_param(tailor_net *net, const char *name, float *out, int64_t count);
    "tailor_net_get_param": (c_int, [NetPtr, c_char_p, _f32p, c_int64]),
    # tailor_status tailor_net_set_param(tailor_net *net, const char *name, const float *data, int64_t ndim,
    #                                    const int64_t *dims);
    "tailor_net_set_param": (c_int, [NetPtr, c_char_p, _f32p, c_int64, _i64p]),
    # tailor_status tailor_net_save(tailor_net *net, const char *path);
    "tailor_net_save": (c_int, [NetPtr, c_char_p]),
    # tailor_status tailor_net_load(const char *path, tailor_net **out);
    "tailor_net_load": (c_int, [c_char_p, POINTER(NetPtr)]),
    # tailor_status tailor_net_load_buffer(const void *data, size_t size, tailor_net **out);
    "tailor_net_load_buffer": (c_int, [c_void_p, c_size_t, POINTER(NetPtr)]),
    # tailor_status tailor_net_describe(tailor_net *net, const char **json);
    "tailor_net_describe": (c_int, [NetPtr, POINTER(c_char_p)]),
    # tailor_status tailor_net_set_precision_json(tailor_net *net, const char *json);
    "tailor_net_set_precision_json": (c_int, [NetPtr, c_char_p]),
    # tailor_status tailor_net_precision_json(tailor_net *net, const char **json);
    "tailor_net_precision_json": (c_int, [NetPtr, POINTER(c_char_p)]),
    # tailor_status tailor_net_predict(tailor_net *net, const float *x, int64_t n, int64_t channels, int64_t height,
    #                                  int64_t width, float *out, int64_t out_count);
    "tailor_net_predict": (c_int, [NetPtr, _f32p, c_int64, c_int64, c_int64, c_int64, _f32p, c_int64]),
    # tailor_status tailor_net_predict_fixed(tailor_net *net, const double *x, int64_t n, int64_t channels,
    #                                        int64_t height, int64_t width, double *out, int64_t out_count,
    #                                        int64_t *overflows, const char **overflow_json);
    # tailor_status tailor_net_fixed_design_json(tailor_net *net, const char **json);
    "tailor_net_fixed_design_json": (c_int, [NetPtr, POINTER(c_char_p)]),
    # tailor_status tailor_net_fixed_parameter(tailor_net *net, const char *node, const char *role, double *out,
    #                                          int64_t count);
    "tailor_net_fixed_parameter": (c_int, [NetPtr, c_char_p, c_char_p, POINTER(c_double), c_int64]),
    "tailor_net_predict_fixed": (c_int, [NetPtr, POINTER(c_double), c_int64, c_int64, c_int64, c_int64, POINTER(c_double),
                                         c_int64, _i64p, POINTER(c_char_p)]),
    # tailor_status tailor_hw_config_defaults(tailor_hw_config *cfg, int64_t size);
    "tailor_hw_config_defaults": (c_int, [POINTER(HwConfig), c_int64]),
    # tailor_status tailor_net_estimate(tailor_net *net, const tailor_hw_config *cfg, int64_t *count,
    #                                   tailor_hw_totals *totals);
    "tailor_net_estimate": (c_int, [NetPtr, POINTER(HwConfig), _i64p, POINTER(HwTotals)]),
    # tailor_status tailor_net_skip_cost(tailor_net *net, int64_t index, tailor_skip_cost *out);
    "tailor_net_skip_cost": (c_int, [NetPtr, c_int64, POINTER(SkipCost)]),
    # tailor_status tailor_net_estimate_json(tailor_net *net, const tailor_hw_config *cfg, const char **json);
    "tailor_net_estimate_json": (c_int, [NetPtr, POINTER(HwConfig), POINTER(c_char_p)]),
    # tailor_status tailor_net_compare_json(tailor_net *before, tailor_net *after, const tailor_hw_config *cfg,
    #                                       const char **json);
    "tailor_net_compare_json": (c_int, [NetPtr, NetPtr, POINTER(HwConfig), POINTER(c_char_p)]),
    # tailor_status tailor_net_fifos(tailor_net *net, const tailor_hw_config *cfg, int64_t *count);
    "tailor_net_fifos": (c_int, [NetPtr, POINTER(HwConfig), _i64p]),
    # tailor_status tailor_net_fifo(tailor_net *net, int64_t index, tailor_fifo *out);
    "tailor_net_fifo": (c_int, [NetPtr, c_int64, POINTER(Fifo)]),
    # tailor_status tailor_dataflow_simulate_json(const char *design_json, const char **json);
    "tailor_dataflow_simulate_json": (c_int, [c_char_p, POINTER(c_char_p)]),
    # tailor_status tailor_fpga_parts_json(const char **out);
    "tailor_fpga_parts_json": (c_int, [POINTER(c_char_p)]),
    # tailor_status tailor_net_budget_check_json(tailor_net *net, const tailor_hw_config *cfg, const char *budget_json,
    #                                            const char **out);
    "tailor_net_budget_check_json": (c_int, [NetPtr, POINTER(HwConfig), c_char_p, POINTER(c_char_p)]),
    # tailor_status tailor_fixed_quantize(const char *type, const double *values, int64_t n, double *out,
    #                                     int64_t *overflows);
    "tailor_fixed_quantize": (c_int, [c_char_p, POINTER(c_double), c_int64, POINTER(c_double), POINTER(c_int64)]),
    # tailor_status tailor_plan_modes(tailor_net *net, const char *algorithm, const int64_t *blocks,
    #                                 int64_t num_blocks, int64_t every, int64_t epochs, int32_t *modes,
    #                                 int64_t capacity, int64_t *epochs_out);
    "tailor_plan_modes": (c_int, [NetPtr, c_char_p, _i64p, c_int64, c_int64, c_int64, POINTER(c_int32), c_int64, _i64p]),
}


def candidate_paths() -> list[str]:
    """Where the library is looked for, in order."""
    paths = []
    env = os.environ.get("TAILOR_LIBRARY")
    if env:
        paths.append(os.path.abspath(os.path.expanduser(env)))
    paths.append(os.path.join(_PKG_DIR, _LIBNAME))
    paths.append(os.path.join(_REPO_DIR, ".build", "release", _LIBNAME))
    return paths


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


# The AVX-512 features OpenBLAS's SkylakeX kernels use.
_AVX512 = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}


def select_blas_kernels(cpuinfo: str = "/proc/cpuinfo") -> str | None:
    """Picks OpenBLAS's AVX-512 kernels on AMD AVX-512 CPUs its CPU table may not know.

    OpenBLAS (DYNAMIC_ARCH) chooses its kernels from the CPU model when it loads. Debian's 0.3.21
    does not know AMD Zen 4/5 and falls back to its Haswell (AVX2) kernels there, which run sgemm at
    half the rate (measured here on 2 threads: 241 vs 470 GFLOP/s at 2048²). OPENBLAS_CORETYPE is
    OpenBLAS's documented override; it is read once, when libopenblas loads, so it is set here
    before libtailor (and with it the system libopenblas) is loaded. A value the user set is kept.
    Returns the core type set, or None."""
    if "OPENBLAS_CORETYPE" in os.environ or not sys.platform.startswith("linux"):
        return None
    try:
        with open(cpuinfo) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    def first(key):
        return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(key)), "")
    # Intel AVX-512 CPUs are in OpenBLAS's table (SkylakeX, Cooperlake, SapphireRapids kernels).
    if first("vendor_id") != "AuthenticAMD" or not set(first("flags").split()) >= _AVX512:
        return None
    os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    return "SkylakeX"


def load_library() -> ctypes.CDLL:
    """Loads libtailor from the first existing candidate path, declares its functions and checks
    its ABI version. Raises TailorError listing every path tried."""
    select_blas_kernels()
    tried = []
    for path in candidate_paths():
        if not os.path.isfile(path):
            tried.append(f"{path} (not found)")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
            continue
        cpu_ok = getattr(lib, "tailor_cpu_supported", None)
        if cpu_ok is not None and not cpu_ok():
            raise TailorError(f"{path} was built for AVX2/FMA, which this CPU lacks; rebuild it here "
                              "(`make lib`, or `TAILOR_CPU=x86-64 make lib` for a portable build)")
        # The ABI first: a library of another ABI also lacks (or has other) symbols, and the
        # version mismatch is the message that says what to do.
        if getattr(lib, "tailor_abi_version", None) is not None:
            lib.tailor_abi_version.restype, lib.tailor_abi_version.argtypes = c_int, []
            check_abi(lib, path)
        else:
            tried.append(f"{path} (no tailor_abi_version: not libtailor)")
            continue
        try:
            _declare(lib)
        except AttributeError as e:
            tried.append(f"{path} (missing symbol: {e})")
            continue
        lib._tailor_path = path
        return lib
    raise TailorError("could not load libtailor; tried:\n  " + "\n  ".join(tried)
                      + "\nbuild it with `swift build -c release` in the repository root, "
                        "install the package with `pip install ./python`, or set TAILOR_LIBRARY")


def check_abi(lib: ctypes.CDLL, path: str = "libtailor") -> None:
    """Raises TailorError naming both versions when the library's ABI is not EXPECTED_ABI_VERSION."""
    found = lib.tailor_abi_version()
    if found != EXPECTED_ABI_VERSION:
        raise TailorError(f"ABI version mismatch: {path} has ABI version {found}, "
                          f"this tailor package expects ABI version {EXPECTED_ABI_VERSION}",
                          status=10, status_name="TAILOR_ERR_VERSION")


_lib: ctypes.CDLL | None = None


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use)."""
    global _lib
    if _lib is None:
        _lib = load_library()
    return _lib


def _check(status: int) -> None:
    """Raises TailorError with the library's last error and the status name if status != 0."""
    if status != 0:
        L = lib()
        message = (L.tailor_last_error() or b"").decode("utf-8", "replace")
        name = (L.tailor_status_name(status) or b"").decode("utf-8", "replace")
        raise TailorError(f"{message} [{name}]" if message else name, status=status, status_name=name)


def s(text: str | bytes | None) -> bytes | None:
    """A Python string as the UTF-8 bytes a `const char *` argument takes (None stays NULL)."""
    if text is None or isinstance(text, bytes):
        return text
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    if "\0" in text:
        raise TailorError(f"name contains a NUL character: {text!r}", status=1,
                          status_name="TAILOR_ERR_INVALID_ARGUMENT")
    return text.encode("utf-8")


def u(raw: bytes | None) -> str | None:
    """A `const char *` result as a Python string (NULL becomes None)."""
    return None if raw is None else raw.decode("utf-8", "replace")


def version() -> str:
    """The library's version string."""
    return u(lib().tailor_version())


# ---- Training (include/tailor.h, "Training" section) ------------------------------------------

class ModeSwitch(ctypes.Structure):
    """``tailor_mode_switch`` (a plain record: no size)."""
    _fields_ = [("epoch", c_int64), ("block", c_int64), ("mode", c_int32)]


class TrainConfig(ctypes.Structure):
    """``tailor_train_config`` (input struct; filled by ``tailor_train_config_defaults``)."""
    _fields_ = [
        ("size", c_int64),
        ("optimizer", c_int32), ("nesterov", c_int32),
        ("lr", c_double), ("momentum", c_double), ("dampening", c_double), ("weight_decay", c_double),
        ("decay_norm_and_bias", c_int32), ("loss", c_int32),
        ("beta1", c_double), ("beta2", c_double), ("eps", c_double),
        ("kd_alpha", c_double), ("kd_temperature", c_double),
        ("schedule", c_int32), ("cycle_momentum", c_int32),
        ("base_momentum", c_double), ("max_momentum", c_double),
        ("step_size", c_int64), ("step_gamma", c_double), ("eta_min", c_double),
        ("pct_start", c_double), ("div_factor", c_double), ("final_div_factor", c_double),
        ("warmup_steps", c_int64), ("epochs", c_int64), ("batch_size", c_int64),
        ("augment", c_int32), ("shuffle", c_int32),
        ("crop_padding", c_int64),
        ("drop_last", c_int32), ("keep_optimizer_state", c_int32),
        ("seed", c_uint64),
        ("mode_switches", POINTER(ModeSwitch)), ("num_mode_switches", c_int64),
        ("checkpoint_path", c_char_p), ("checkpoint_note", c_char_p),
        ("quantized", c_int32),
    ]


class Data(ctypes.Structure):
    """``tailor_data`` (input struct: set ``size`` = sizeof, then the fields)."""
    _fields_ = [
        ("size", c_int64),
        ("x", _f32p),
        ("n", c_int64), ("channels", c_int64), ("height", c_int64), ("width", c_int64),
        ("labels", _i64p),
        ("mean", _f32p), ("std", _f32p),
    ]


class Progress(ctypes.Structure):
    """``tailor_progress`` (passed by the library with the library's ``size``: a field is valid
    only if ``size`` covers it, see :func:`progress_field`)."""
    _fields_ = [
        ("size", c_int64),
        ("epoch", c_int64), ("epochs", c_int64),
        ("step", c_int64), ("steps_per_epoch", c_int64),
        ("global_step", c_int64), ("total_steps", c_int64),
        ("loss", c_double), ("accuracy", c_double), ("lr", c_double),
        ("epoch_end", c_int32),
        ("val_loss", c_double), ("val_accuracy", c_double),
    ]


def progress_field(p: Progress, name: str, default=None):
    """Field `name` of a library-passed ``tailor_progress``, or `default` when the library's
    struct (``p.size`` bytes) ends before it."""
    f = getattr(Progress, name)
    return getattr(p, name) if p.size >= f.offset + f.size else default


class EpochStats(ctypes.Structure):
    """``tailor_epoch_stats`` (output struct; read with ``tailor_net_history``)."""
    _fields_ = [
        ("size", c_int64),
        ("epoch", c_int64),
        ("loss", c_double), ("train_accuracy", c_double),
        ("val_loss", c_double), ("val_accuracy", c_double),
        ("lr", c_double),
    ]


#: typedef int (*tailor_progress_fn)(const tailor_progress *progress, void *user);
ProgressFn = ctypes.CFUNCTYPE(c_int, POINTER(Progress), c_void_p)

_PROTOTYPES.update({
    # tailor_status tailor_train_config_defaults(tailor_train_config *cfg, int64_t size);
    "tailor_train_config_defaults": (c_int, [POINTER(TrainConfig), c_int64]),
    # tailor_status tailor_net_train_step(tailor_net *net, const float *x, int64_t n, int64_t channels,
    #                                     int64_t height, int64_t width, const int64_t *labels,
    #                                     const float *teacher_logits, const tailor_train_config *cfg, int update,
    #                                     float *logits_out, int64_t logits_count, double *loss_out);
    "tailor_net_train_step": (c_int, [NetPtr, _f32p, c_int64, c_int64, c_int64, c_int64, _i64p, _f32p,
                                      POINTER(TrainConfig), c_int, _f32p, c_int64, POINTER(c_double)]),
    # tailor_status tailor_net_grad(tailor_net *net, const char *name, float *out, int64_t count);
    "tailor_net_grad": (c_int, [NetPtr, c_char_p, _f32p, c_int64]),
    # tailor_status tailor_net_train_reset(tailor_net *net);
    "tailor_net_train_reset": (c_int, [NetPtr]),
    # tailor_status tailor_net_fit(tailor_net *net, const tailor_data *train, const tailor_data *val,
    #                              const tailor_train_config *cfg, tailor_net *teacher, tailor_progress_fn cb,
    #                              void *user);
    "tailor_net_fit": (c_int, [NetPtr, POINTER(Data), POINTER(Data), POINTER(TrainConfig), NetPtr, ProgressFn,
                               c_void_p]),
    # tailor_status tailor_net_history_count(tailor_net *net, int64_t *count);
    "tailor_net_history_count": (c_int, [NetPtr, _i64p]),
    # tailor_status tailor_net_history(tailor_net *net, int64_t index, tailor_epoch_stats *out);
    "tailor_net_history": (c_int, [NetPtr, c_int64, POINTER(EpochStats)]),
    # tailor_status tailor_net_evaluate(tailor_net *net, const tailor_data *data, double *loss, double *accuracy);
    "tailor_net_evaluate": (c_int, [NetPtr, POINTER(Data), POINTER(c_double), POINTER(c_double)]),
    # tailor_status tailor_run_config_defaults(tailor_run_config *cfg, int64_t size);
    "tailor_run_config_defaults": (c_int, [POINTER(RunConfig), c_int64]),
    # tailor_status tailor_run_train_config_defaults(tailor_train_config *cfg, int64_t size);
    "tailor_run_train_config_defaults": (c_int, [POINTER(TrainConfig), c_int64]),
    # tailor_status tailor_run(tailor_net *teacher, const tailor_data *train, const tailor_data *val,
    #                          const tailor_run_config *run, const tailor_train_config *cfg, tailor_progress_fn cb,
    #                          void *user, tailor_net **student_out);
    "tailor_run": (c_int, [NetPtr, POINTER(Data), POINTER(Data), POINTER(RunConfig), POINTER(TrainConfig), ProgressFn,
                           c_void_p, POINTER(NetPtr)]),
    # tailor_status tailor_net_run_history_json(tailor_net *student, const char **json);
    "tailor_net_run_history_json": (c_int, [NetPtr, POINTER(c_char_p)]),
    # tailor_status tailor_checkpoint_json(const char *path, const char **json);
    "tailor_checkpoint_json": (c_int, [c_char_p, POINTER(c_char_p)]),
    # tailor_status tailor_net_fit_resume(const char *checkpoint, const tailor_data *train, const tailor_data *val,
    #                                     tailor_net *expected, tailor_progress_fn cb, void *user,
    #                                     tailor_net **student_out, tailor_net **teacher_out);
    "tailor_net_fit_resume": (c_int, [c_char_p, POINTER(Data), POINTER(Data), NetPtr, ProgressFn, c_void_p,
                                      POINTER(NetPtr), POINTER(NetPtr)]),
})


def history(net_handle) -> list:
    """The training history kept on a network handle (``tailor_net_history_count`` /
    ``tailor_net_history``): one ``EpochStats`` per epoch."""
    L = lib()
    n = c_int64(0)
    _check(L.tailor_net_history_count(net_handle, ctypes.byref(n)))
    out = []
    for i in range(n.value):
        e = out_struct(EpochStats)
        _check(L.tailor_net_history(net_handle, i, ctypes.byref(e)))
        out.append(e)
    return out


#: Every C struct of include/tailor.h and its ctypes layout (tests/test_abi.py checks each
#: against the header: field names and order, sizeof and offsets).
C_STRUCTS = {
    "tailor_node_info": NodeInfo, "tailor_skip_info": SkipInfo, "tailor_param_info": ParamInfo,
    "tailor_hw_config": HwConfig, "tailor_hw_cost": HwCost, "tailor_skip_cost": SkipCost,
    "tailor_hw_totals": HwTotals, "tailor_fifo": Fifo, "tailor_mode_switch": ModeSwitch,
    "tailor_train_config": TrainConfig, "tailor_data": Data, "tailor_progress": Progress,
    "tailor_epoch_stats": EpochStats, "tailor_run_config": RunConfig,
}
