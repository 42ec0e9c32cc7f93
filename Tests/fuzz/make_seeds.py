"""Writes the fuzzers' seed corpora (small; committed under Tests/fuzz/seeds, regenerate with
`python3 Tests/fuzz/make_seeds.py .build/release/libtailor.so Tests/fuzz/seeds`):

  modelfile/  a tiny one-block network saved in each skip mode;
  capi/       programs for CAPIFuzz.swift: a tiny trainable network (op 16) followed by
              training calls (op 17: train_step, grad, fit, evaluate, predict, fit_resume,
              checkpoint_json), byte for byte in
              the order the target reads them, so the fuzzer starts inside the training paths.
"""
import ctypes
import os
import sys

FILLER = 69          # Program.value(): 69 % 16 = 5 -> an ordinary value, (69 - 128) / 32


def model_files(lib, out):
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


# ---- CAPIFuzz programs ----
# Each helper returns the bytes one step of the program consumes (handle 0 throughout).

def tiny_net(c=2, hw=4, width=2, stride=1, classes=3, projection=True, gap=True, bias=True):
    """Op 16 (tinyNet): seed, c, hw, width, stride, classes, projection, gap, bias, eps[, pool kind]."""
    b = [0, 16, 1, c - 1, hw - 1, width - 1, stride - 1, classes - 1, 1 if projection else 0,
         0 if gap else 1, 1 if bias else 0, 0]
    return b + ([] if gap else [1])


def config(batch=2, epochs=1, mutations=()):
    """trainConfig: batch, epochs, no mode switches, then (field, value byte) mutations."""
    out = [batch - 1, epochs - 1, 1, len(mutations)]
    for field, value in mutations:
        out += [field, value]
    return out


def data(n, sample, classes, denormal=False, norm=0):   # norm 0: no normalisation
    """FuzzData: shape unchanged, n (1..5), values, labels, full size, normalisation."""
    out = [1, n - 1, 0 if denormal else 1]
    if not denormal:
        out += [FILLER] * len([i for i in range(n * sample) if i % 7 == 0])
    out += [1 + k for k in range(n)]          # labels (1 + k) % classes; a byte % 16 == 0 would be out of range
    return out + [0, norm]


def train_step(n, sample, classes, cfg=None, update=1):
    out = [0, 17, 0, 1, n - 1]
    out += [FILLER] * len([i for i in range(n * sample) if i % 5 == 0])
    out += [1, 2, 3]                           # labels
    out += cfg if cfg is not None else config()
    out += [1, 0, 1 if update else 0, 1, 1]    # no teacher, exact logits count, update flag, config, logits
    return out


def fit(n, sample, classes, cfg, callback=True, cancel_at=None, denormal=False, checkpoint=False):
    out = [0, 17, 2] + data(n, sample, classes, denormal=denormal)
    out += [1, 0]                              # no validation data, no mode switches
    out += cfg
    out += [0]                                 # no teacher
    out += [1] if cancel_at is None else [0, cancel_at]
    out += [3, 0 if callback else 1]           # history capacity 3, callback
    out += [1, 0 if checkpoint else 1]         # note "run 1", checkpoint every epoch or not
    return out


def resume(n, sample, classes, damage=0):
    """Training op 5: the checkpoint (damage 0) or a truncated copy (1), the fit's own data, no
    val, no expected network, no cancel, history capacity 3, the teacher wanted, a callback."""
    out = [0, 17, 5, damage] + ([0, 40] if damage else [])
    return out + data(n, sample, classes) + [1, 0, 1, 3, 0, 0]


def checkpoint_json(damage=0):
    """Training op 6: tailor_checkpoint_json."""
    return [0, 17, 6, damage] + ([0, 40, 3] if damage == 2 else [0, 40] if damage else []) + [3, 1]


def grad(index=0):
    return [0, 17, 1, index, 1, 0, 1]


def predict(n, sample, classes, denormal=False):
    return [0, 17, 4] + data(n, sample, classes, denormal=denormal) + [0]


def evaluate(n, sample, classes):
    return [0, 17, 3] + data(n, sample, classes) + [1]


def set_param(index, fill):
    """Op 10: parameter `index`, dims unchanged, fill (CAPIFuzz's fill list), exact read-back."""
    return [0, 10, index, 1, fill, 1]


def capi_programs():
    s = 2 * 4 * 4   # values per sample of the default tiny net
    adam = config(mutations=[(1, 2)])                       # optimizer = Program.small() of byte 2 = 1 (Adam)
    cosine = config(epochs=2, mutations=[(14, 3)])          # schedule 2 (cosine)
    bad_lr = config(mutations=[(3, 3)])                     # lr = NaN
    return {
        "train_step": tiny_net() + train_step(2, s, 3) + grad(0) + train_step(2, s, 3, update=0) + grad(5),
        "train_step_adam": tiny_net(gap=False) + train_step(2, s, 3, cfg=adam) + train_step(2, s, 3, cfg=adam),
        "train_step_bad_lr": tiny_net() + train_step(2, s, 3, cfg=bad_lr),
        "fit": tiny_net() + fit(4, s, 3, config(epochs=2)) + evaluate(3, s, 3) + predict(2, s, 3),
        "fit_cosine_cancel": tiny_net(stride=2) + fit(5, s, 3, cosine, cancel_at=3),
        "fit_denormal": tiny_net() + fit(4, s, 3, config(), denormal=True) + predict(2, s, 3, denormal=True),
        "huge_weights": tiny_net() + set_param(0, 6) + train_step(2, s, 3) + predict(1, s, 3),
        "denormal_weights": tiny_net() + set_param(0, 5) + set_param(1, 8) + train_step(2, s, 3),
        "modes": tiny_net() + [0, 9, 1, 2] + train_step(2, s, 3) + [0, 9, 1, 3] + fit(4, s, 3, config()),
        "checkpoint_resume": tiny_net() + fit(4, s, 3, config(epochs=2), checkpoint=True) + checkpoint_json()
                             + resume(4, s, 3) + predict(2, s, 3),
        "checkpoint_damaged": tiny_net() + fit(4, s, 3, config(), checkpoint=True) + checkpoint_json(damage=2)
                              + resume(4, s, 3, damage=1),
    }


def main():
    lib_path, out = sys.argv[1], sys.argv[2]
    # Older usage: make_seeds.py LIB DIR writes only the model files into DIR.
    if os.path.basename(os.path.normpath(out)).startswith("corpus_"):
        model_files(ctypes.CDLL(lib_path), out)
        return
    model_files(ctypes.CDLL(lib_path), os.path.join(out, "modelfile"))
    capi = os.path.join(out, "capi")
    os.makedirs(capi, exist_ok=True)
    for name, program in capi_programs().items():
        assert all(0 <= b < 256 for b in program), name
        with open(os.path.join(capi, name + ".bin"), "wb") as f:
            f.write(bytes(program))


if __name__ == "__main__":
    main()
