"""Network.fit / train_step / evaluate: behaviour, determinism, cancelling, and bad input."""
import ctypes

import numpy as np
import pytest

import tailor
from tailor import _lib


def _quadrants(n=256, seed=0, classes=4):
    """A small separable task: the class is which image quadrant is bright."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n).astype(np.int64)
    x = rng.normal(0, 0.3, (n, 3, 32, 32)).astype(np.float32)
    for i in range(n):
        r, c = divmod(int(y[i]) % 4, 2)
        x[i, :, r * 16:(r + 1) * 16, c * 16:(c + 1) * 16] += 1.0
    return x, y


def test_fit_learns_and_reports_history():
    x, y = _quadrants(384)
    net = tailor.zoo.resnet8(seed=0)
    seen = []
    hist = net.fit(train=(x, y), val=(x[:64], y[:64]), epochs=3, batch_size=64, lr=0.05, schedule="onecycle",
                   progress=False, callback=seen.append)
    assert [h["epoch"] for h in hist] == [0, 1, 2]
    assert hist[-1]["loss"] < hist[0]["loss"]
    assert hist[-1]["train_accuracy"] > 0.3 and 0 <= hist[-1]["val_accuracy"] <= 1, hist
    assert all(set(h) == {"epoch", "loss", "train_accuracy", "val_loss", "val_accuracy", "lr"} for h in hist)
    steps = [d for d in seen if not d["epoch_end"]]
    assert len(steps) == 18 and steps[-1]["global_step"] == 17 and steps[0]["total_steps"] == 18
    assert sum(d["epoch_end"] for d in seen) == 3
    # BN buffers went back into the network: 18 steps tracked.
    assert net.state_dict()["bn1.num_batches_tracked"] == 18
    ev = net.evaluate(x[:64], y[:64])
    assert abs(ev["accuracy"] - hist[-1]["val_accuracy"]) < 1e-6


def test_fit_is_deterministic_for_a_seed():
    x, y = _quadrants(128)
    a, b = tailor.zoo.resnet8(seed=3), tailor.zoo.resnet8(seed=3)
    for net in (a, b):
        net.fit(train=(x, y), epochs=1, batch_size=32, seed=7, progress=False)
    sa, sb = a.state_dict(), b.state_dict()
    same = all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert same
    c = tailor.zoo.resnet8(seed=3)
    c.fit(train=(x, y), epochs=1, batch_size=32, seed=8, progress=False)
    differs = any(not np.array_equal(sa[k], c.state_dict()[k]) for k in sa)
    assert differs


def test_callback_false_stops_and_leaves_a_valid_network():
    x, y = _quadrants(128)
    net = tailor.zoo.resnet8()
    hist = net.fit(train=(x, y), epochs=5, batch_size=32, progress=False,
                   callback=lambda d: not (d["epoch"] == 1 and d["step"] == 1))
    assert len(hist) == 1
    assert net.state_dict()["bn1.num_batches_tracked"] == 6   # 4 steps of epoch 0, 2 of epoch 1
    assert np.isfinite(net.predict(x[:2])).all()


def test_keyboard_interrupt_cancels_cleanly():
    x, y = _quadrants(128)
    net = tailor.zoo.resnet8()

    def interrupt(d):
        if d["global_step"] == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        net.fit(train=(x, y), epochs=2, batch_size=32, progress=False, callback=interrupt)
    assert net.state_dict()["bn1.num_batches_tracked"] == 3
    assert np.isfinite(net.predict(x[:2])).all()
    net.fit(train=(x, y), epochs=1, batch_size=32, progress=False)   # usable afterwards


def test_non_finite_loss_names_the_step_and_keeps_last_good_weights():
    x, y = _quadrants(64)
    net = tailor.zoo.resnet8()
    with pytest.raises(tailor.TailorError) as e:
        net.fit(train=(x, y), epochs=2, batch_size=16, lr=1e12, momentum=0.0, nesterov=False, augment=False,
                progress=False)
    assert e.value.status_name == "TAILOR_ERR_NUMERIC"
    assert "step" in str(e.value)
    sd = net.state_dict()
    assert all(np.isfinite(v).all() for v in sd.values())


def test_modes_can_change_between_fits_keeping_optimizer_state():
    x, y = _quadrants(64)
    net = tailor.zoo.resnet8()
    net.fit(train=(x, y), epochs=1, batch_size=32, progress=False)
    net.set_mode(0, "removed")
    net.set_mode(1, "short")
    hist = net.fit(train=(x, y), epochs=1, batch_size=32, progress=False, keep_optimizer_state=True)
    assert np.isfinite(hist[0]["loss"])
    assert "layer1.0.conv1.weight" in net.gradients()


def test_kd_fit_with_teacher():
    x, y = _quadrants(64)
    teacher = tailor.zoo.resnet8(seed=1)
    student = teacher.copy()
    student.set_mode(0, "removed")
    hist = student.fit(train=(x, y), epochs=1, batch_size=32, loss="kd", teacher=teacher, lr=0.01,
                       schedule="cosine", progress=False)
    assert np.isfinite(hist[0]["loss"])
    with pytest.raises(tailor.TailorError, match="teacher"):
        student.fit(train=(x, y), epochs=1, batch_size=32, loss="kd", progress=False)
    with pytest.raises(tailor.TailorError, match="different"):
        student.fit(train=(x, y), epochs=1, batch_size=32, loss="hinton", teacher=student, progress=False)


def test_adam_and_schedules_run():
    x, y = _quadrants(64)
    for sched, extra in [("step", {"step_size": 1, "step_gamma": 0.5}), ("cosine", {"eta_min": 1e-4}),
                         ("onecycle", {"pct_start": 0.25}), ("constant", {"warmup_steps": 3})]:
        net = tailor.zoo.resnet8()
        hist = net.fit(train=(x, y), epochs=2, batch_size=32, optimizer="adam", lr=1e-3, schedule=sched,
                       progress=False, **extra)
        assert len(hist) == 2 and all(np.isfinite(h["loss"]) for h in hist)
    net = tailor.zoo.resnet8()
    hist = net.fit(train=(x, y), epochs=2, batch_size=32, lr=0.1, schedule="step", step_size=1, step_gamma=0.5,
                   progress=False)
    assert hist[0]["lr"] == pytest.approx(0.1) and hist[1]["lr"] == pytest.approx(0.05)


BAD = [
    (dict(train=(np.zeros((4, 3, 16, 16), np.float32), np.zeros(4, np.int64))), "the network takes 3×32×32"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.array([0, 1, 2, 10]))), "label 10 at sample 3"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.array([0, 1, 2, -1]))), "label -1 at sample 3"),
    (dict(train=(np.zeros((0, 3, 32, 32), np.float32), np.zeros(0, np.int64))), "n must be in"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.zeros(3, np.int64))), "1-D array of 4 labels"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.zeros(4, np.int64)), batch_size=0), "batch_size must be in"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.zeros(4, np.int64)), batch_size=5), "exceeds the 4 training samples"),
    (dict(train=(np.full((4, 3, 32, 32), np.nan, np.float32), np.zeros(4, np.int64))), "not finite"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.zeros(4, np.int64)), epochs=0), "epochs must be in"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.zeros(4, np.int64)), lr=float("nan")), "lr must be finite"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.zeros(4, np.int64)), optimizer="rmsprop"), "unknown optimizer"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.zeros(4, np.int64)), momentum=0.0), "Nesterov"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.zeros(4, np.int64)), schedule="onecycle", pct_start=1.5), "pct_start"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.zeros(4, np.int64)),
          val=(np.zeros((2, 3, 32, 32), np.float32), np.array([0, 99]))), "val label 99"),
    (dict(train=(np.zeros((4, 3, 32, 32), np.float32), np.zeros(4, np.int64)), normalize=([0.5] * 3, [0.0] * 3)),
     "stds positive"),
    (dict(train=(np.full((4, 3, 32, 32), 1e10, np.float32), np.zeros(4, np.int64)), normalize=([0.0] * 3, [1e-30] * 3)),
     "overflow"),
]


@pytest.mark.parametrize("kwargs,msg", BAD)
def test_fit_bad_input_is_a_clear_error(kwargs, msg):
    net = tailor.zoo.resnet8()
    before = net.state_dict()
    with pytest.raises(tailor.TailorError) as e:
        net.fit(progress=False, **{"batch_size": 2, **kwargs})
    assert msg in str(e.value)
    after = net.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_train_step_bad_input():
    net = tailor.zoo.resnet8()
    x = np.zeros((2, 3, 32, 32), np.float32)
    with pytest.raises(tailor.TailorError, match=r"outside 0\.\.<10"):
        net.train_step(x, np.array([0, 10]))
    with pytest.raises(tailor.TailorError, match="teacher_logits must have shape"):
        net.train_step(x, np.array([0, 1]), teacher_logits=np.zeros((2, 5)), loss="kd")
    with pytest.raises(tailor.TailorError, match="KD loss"):
        net.train_step(x, np.array([0, 1]), loss="kd")
    with pytest.raises(tailor.TailorError, match="temperature"):
        net.train_step(x, np.array([0, 1]), teacher_logits=np.zeros((2, 10)), loss="hinton", kd_temperature=0.0)
    with pytest.raises(tailor.TailorError, match="alpha"):
        net.train_step(x, np.array([0, 1]), teacher_logits=np.zeros((2, 10)), loss="kd", kd_alpha=1.5)
    with pytest.raises(tailor.TailorError, match="not finite"):
        net.train_step(np.full_like(x, np.inf), np.array([0, 1]))
    with pytest.raises(tailor.TailorError, match="the network takes"):
        net.train_step(np.zeros((2, 3, 8, 8), np.float32), np.array([0, 1]))
    with pytest.raises(tailor.TailorError, match="no training step"):
        net.grad("conv1.weight")
    net.train_step(x, np.array([0, 1]), update=False)
    with pytest.raises(tailor.TailorError, match="not a trainable parameter"):
        net.grad("bn1.running_mean")
    with pytest.raises(TypeError):
        net.train_step(x, np.array([0, 1]), not_an_option=1)


def test_raw_c_calls_with_null_and_bad_structs():
    L = _lib.lib()
    net = tailor.zoo.resnet8()
    cfg = _lib.TrainConfig()
    assert L.tailor_train_config_defaults(None, ctypes.sizeof(cfg)) == 1
    assert L.tailor_train_config_defaults(ctypes.byref(cfg), 4) == 1        # not a multiple of 8
    assert L.tailor_train_config_defaults(ctypes.byref(cfg), 65536 + 8) == 1  # over TAILOR_MAX_STRUCT_BYTES
    assert L.tailor_train_config_defaults(ctypes.byref(cfg), ctypes.sizeof(cfg)) == 0
    assert cfg.size == ctypes.sizeof(_lib.TrainConfig) and cfg.lr == pytest.approx(0.1) and cfg.kd_alpha == pytest.approx(0.35)
    # A program built against an older (shorter) header passes its own size: only that prefix is
    # written, so the fields it has no room for (here checkpoint_path, ...) stay untouched.
    first = _lib.TrainConfig()
    first.checkpoint_note = b"untouched"
    assert L.tailor_train_config_defaults(ctypes.byref(first), _lib.TrainConfig.checkpoint_path.offset) == 0
    assert first.size == _lib.TrainConfig.checkpoint_path.offset and first.lr == pytest.approx(0.1)
    assert first.checkpoint_note == b"untouched"
    # NULL train data, NULL net, config with a bad size.
    assert L.tailor_net_fit(net._h, None, None, ctypes.byref(cfg), None, _lib.ProgressFn(), None) == 1
    assert b"train is NULL" in L.tailor_last_error()
    assert L.tailor_net_fit(None, None, None, None, None, _lib.ProgressFn(), None) != 0
    bad = _lib.TrainConfig()
    bad.size = 3
    x = np.zeros((2, 3, 32, 32), np.float32)
    labels = np.zeros(2, np.int64)
    st = L.tailor_net_train_step(net._h, x.ctypes.data_as(_lib._f32p), 2, 3, 32, 32, labels.ctypes.data_as(_lib._i64p),
                                 None, ctypes.byref(bad), 1, None, 0, None)
    assert st == 1 and b"size" in L.tailor_last_error()
    # A short (older) struct is accepted: fields past `size` take their defaults.
    old = _lib.TrainConfig()
    L.tailor_train_config_defaults(ctypes.byref(old), ctypes.sizeof(old))
    old.size = 16
    old.lr = float("nan")   # beyond size: ignored
    st = L.tailor_net_train_step(net._h, x.ctypes.data_as(_lib._f32p), 2, 3, 32, 32, labels.ctypes.data_as(_lib._i64p),
                                 None, ctypes.byref(old), 1, None, 0, None)
    assert st == 0, L.tailor_last_error()
    assert L.tailor_net_train_step(net._h, None, 2, 3, 32, 32, None, None, None, 1, None, 0, None) == 1
    assert L.tailor_net_grad(net._h, b"conv1.weight", None, 0) == 1
    assert L.tailor_net_train_reset(None) == 1
    assert L.tailor_net_evaluate(net._h, None, None, None) == 1


def test_mode_switches_within_one_run():
    x, y = _quadrants(64)
    net = tailor.zoo.resnet8()
    hist = net.fit(train=(x, y), epochs=3, batch_size=32, lr=0.05, schedule="cosine", progress=False,
                   mode_switches=[(1, 0, "removed"), (2, "layer3.0", "short")])
    assert len(hist) == 3 and all(np.isfinite(h["loss"]) for h in hist)
    assert hist[2]["lr"] < hist[0]["lr"]                      # one schedule across the switches
    assert net.modes == {"layer1.0": "removed", "layer2.0": "long", "layer3.0": "short"}
    assert net.state_dict()["bn1.num_batches_tracked"] == 6
    for bad, msg in [([(3, 0, "removed")], "epoch must be in"), ([(0, 7, "removed")], "block"),
                     ([(0, 0, "sideways")], "mode")]:
        with pytest.raises(tailor.TailorError, match=msg):
            net.fit(train=(x, y), epochs=3, batch_size=32, progress=False, mode_switches=bad)


def test_fit_with_progress_bar():
    x, y = _quadrants(64)
    net = tailor.zoo.resnet8()
    hist = net.fit(train=(x, y), val=(x[:16], y[:16]), epochs=1, batch_size=32, progress=True)
    assert len(hist) == 1


def test_raw_c_struct_fields_are_validated():
    L = _lib.lib()
    net = tailor.zoo.resnet8()
    x = np.zeros((4, 3, 32, 32), np.float32)
    y = np.zeros(4, np.int64)
    mean = np.zeros(3, np.float32)

    def data(**kw):
        d = _lib.Data()
        d.size = ctypes.sizeof(_lib.Data)
        d.x, d.n, d.channels, d.height, d.width = x.ctypes.data_as(_lib._f32p), 4, 3, 32, 32
        d.labels = y.ctypes.data_as(_lib._i64p)
        for k, v in kw.items():
            setattr(d, k, v)
        return d

    def cfg(**kw):
        c = _lib.TrainConfig()
        L.tailor_train_config_defaults(ctypes.byref(c), ctypes.sizeof(c))
        c.batch_size = 2
        for k, v in kw.items():
            setattr(c, k, v)
        return c

    def fit(d, c):
        return L.tailor_net_fit(net._h, ctypes.byref(d), None, ctypes.byref(c), None, _lib.ProgressFn(), None)

    cases = [
        (data(), cfg(lr=float("nan")), "lr must be finite"),
        (data(), cfg(batch_size=-3), "batch_size must be in"),
        (data(), cfg(epochs=10**9), "epochs must be in"),
        (data(), cfg(optimizer=7), "optimizer must be"),
        (data(), cfg(loss=-1), "loss must be"),
        (data(), cfg(schedule=9), "schedule must be"),
        (data(), cfg(augment=2), "augment must be 0 or 1"),
        (data(), cfg(crop_padding=-1), "crop_padding must be in"),
        (data(), cfg(num_mode_switches=2), "mode_switches is NULL"),
        (data(), cfg(beta1=1.0, optimizer=1), "betas"),
        (data(size=12), cfg(), "tailor_data"),          # a size that is not a multiple of 8
        (data(size=8), cfg(), "x is NULL"),             # a prefix: the fields past it are NULL / 0
        (data(n=-1), cfg(), "n must be in"),
        (data(n=1 << 40), cfg(), "n must be in"),
        (data(channels=0), cfg(), "channels must be in"),
        (data(mean=mean.ctypes.data_as(_lib._f32p)), cfg(), "mean and std"),
        (data(x=None), cfg(), "x is NULL"),
        (data(labels=None), cfg(), "labels is NULL"),
    ]
    for d, c, msg in cases:
        status = fit(d, c)
        assert status != 0, msg
        assert msg in L.tailor_last_error().decode(), (msg, L.tailor_last_error())
    assert fit(data(), cfg(epochs=1)) == 0
    # A shorter (older) tailor_data is read as a prefix: mean past its size is not read.
    assert fit(data(size=_lib.Data.mean.offset, mean=mean.ctypes.data_as(_lib._f32p)), cfg(epochs=1)) == 0


def test_batch_size_changes_reuse_buffers_correctly():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 12)
    a = tailor.zoo.resnet8(seed=2)
    b = a.copy()
    a.train_step(x[:8], y[:8], update=False)       # buffers for 8
    a.predict(x)                                     # inference at 12 (separate executor)
    a.train_step(x[:12], y[:12], update=False)     # grow to 12
    la, _ = a.train_step(x[:4], y[:4], update=False)   # shrink to 4, reusing the larger buffers
    lb, _ = b.train_step(x[:4], y[:4], update=False)
    assert la == lb
    ga, gb = a.gradients(), b.gradients()
    same = all(np.array_equal(ga[k], gb[k]) for k in ga)
    assert same
