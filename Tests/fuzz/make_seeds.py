"""Writes small seed model files for the fuzzers: a tiny one-block network in each skip mode."""
import ctypes
import os
import sys

lib = ctypes.CDLL(sys.argv[1])
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
for mode in (0, 1, 2):
    net = ctypes.c_void_p()
    assert lib.tailor_net_create(ctypes.c_uint64(mode), ctypes.byref(net)) == 0
    calls = [
        (lib.tailor_net_add_input, b"x", 2, 4, 4),
        (lib.tailor_net_add_conv2d, b"c1", b"x", 2, 3, 1, 1, 0),
        (lib.tailor_net_add_batchnorm, b"b1", b"c1", ctypes.c_double(1e-5), ctypes.c_double(0.1)),
        (lib.tailor_net_add_relu, b"r1", b"b1"),
        (lib.tailor_net_add_conv2d, b"c2", b"r1", 4, 3, 2, 1, 0),
        (lib.tailor_net_add_batchnorm, b"b2", b"c2", ctypes.c_double(1e-5), ctypes.c_double(0.1)),
        (lib.tailor_net_add_conv2d, b"p", b"x", 4, 1, 2, 0, 0),
        (lib.tailor_net_add_batchnorm, b"pb", b"p", ctypes.c_double(1e-5), ctypes.c_double(0.1)),
        (lib.tailor_net_add_add, b"s", b"b2", b"pb"),
        (lib.tailor_net_add_relu, b"o", b"s"),
        (lib.tailor_net_add_pool, b"mp", b"o", 1, 2, 2, 0),
        (lib.tailor_net_add_flatten, b"f", b"mp"),
        (lib.tailor_net_add_dense, b"fc", b"f", 3, 1),
    ]
    for fn, *args in calls:
        args = [ctypes.c_int64(a) if isinstance(a, int) else a for a in args]
        assert fn(net, *args, None) == 0, (fn, lib.tailor_last_error)
    assert lib.tailor_net_set_block_mode(net, ctypes.c_int64(0), mode) == 0
    assert lib.tailor_net_save(net, os.path.join(out, f"tiny_mode{mode}.tailor").encode()) == 0
    lib.tailor_net_free(net)
