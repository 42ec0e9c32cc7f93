"""Fixed-point types as hls4ml writes them (``ap_fixed<W,I,Q,O>``, ``ap_ufixed``, ``ap_int``):
what a value becomes on the FPGA, computed by the library with ap_fixed's rounding and overflow
rules (docs/fixed-point.md)."""
import ctypes

import numpy as np

from . import _lib


def quantize(values, type: str, return_overflows: bool = False):
    """``values`` converted to the fixed-point ``type`` (``"ap_fixed<8,3>"``,
    ``"ap_fixed<16,6,AP_RND,AP_SAT>"``, ``"ap_ufixed<8,0>"``, ``"ap_int<4>"``…) as ap_fixed
    converts a double: rounded to the grid 2^-(W-I) by the rounding mode, fitted into W bits by
    the overflow mode. Returns float64 values of the same shape (exact for W <= 53); with
    ``return_overflows`` also how many values the overflow mode changed (wrap or saturation is what
    the hardware does, not an error). A type that does not parse or a NaN/Inf is a TailorError."""
    x = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    out = np.empty_like(x)
    overflows = ctypes.c_int64(0)
    dp = ctypes.POINTER(ctypes.c_double)
    _lib._check(_lib.lib().tailor_fixed_quantize(_lib.s(type), x.ctypes.data_as(dp), x.size, out.ctypes.data_as(dp),
                                                 ctypes.byref(overflows)))
    return (out, overflows.value) if return_overflows else out
