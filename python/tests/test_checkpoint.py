"""Checkpoints through the public API: a run stopped at any epoch (Ctrl-C, or killed: see
test_crash_safety.py) and finished with `tailor.resume` reaches the uninterrupted run's weights,
BN statistics and history bit for bit; damaged or foreign checkpoints are clear errors."""
import json
import struct
import warnings

import numpy as np
import pytest

import tailor


def _data(n, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, (n, 3, 8, 8)).astype(np.float32), np.arange(n) % 4


TRAIN, VAL = _data(64, 0), _data(24, 1)
NORM = ([0.1, 0.0, -0.1], [1.0, 0.9, 1.1])


@pytest.fixture
def teacher():
    with tailor.zoo.create("resnet8", num_classes=4, input_shape=(3, 8, 8), seed=1) as net:
        yield net


def _tailor(fn, net, checkpoint, callback=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the random teacher is at chance accuracy, and says so
        return fn(net, TRAIN, VAL, every=1, batch_size=16, normalize=NORM, augment=True, progress=False, seed=3,
                  checkpoint=checkpoint, callback=callback)


def _interrupt_after(epoch):
    def cb(d):
        if d["epoch_end"] and d["epoch"] == epoch:
            raise KeyboardInterrupt
    return cb


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    differ = [k for k in sa if sa[k].tobytes() != sb[k].tobytes()]
    assert not differ, f"tensors differ: {differ[:5]}"


@pytest.mark.parametrize("fn", [tailor.remove_skips, tailor.shorten_skips])
def test_resume_after_ctrl_c_reaches_the_uninterrupted_run(teacher, tmp_path, fn):
    whole = _tailor(fn, teacher, tmp_path / "whole.ckpt")
    cut = tmp_path / "cut.ckpt"
    # Ctrl-C after epoch 1, then again after epoch 2 of the resumed run: both at a block switch.
    with pytest.raises(KeyboardInterrupt):
        _tailor(fn, teacher, cut, callback=_interrupt_after(1))
    assert tailor.checkpoint_info(cut)["next_epoch"] == 2
    with pytest.raises(KeyboardInterrupt):
        tailor.resume(cut, TRAIN, VAL, net=teacher, progress=False, callback=_interrupt_after(2))
    info = tailor.checkpoint_info(cut)
    assert info["next_epoch"] == 3 and info["epochs"] == 4 and info["has_teacher"]
    student = tailor.resume(cut, TRAIN, VAL, net=teacher, progress=False)
    with whole, student:
        _same_weights(whole, student)
        assert student.history == whole.history                      # losses, accuracies, lr, modes, hardware
        assert student.plan.changes == whole.plan.changes and student.modes == whole.modes
        # The two runs' last checkpoints are the same bytes: optimiser state and run state included.
        assert (tmp_path / "whole.ckpt").read_bytes() == cut.read_bytes()
        # A finished run's checkpoint hands back its student without training.
        again = tailor.resume(cut, TRAIN, VAL, progress=False)
        with again:
            _same_weights(whole, again)


def test_plain_fit_resumes_after_a_stop_mid_epoch(tmp_path):
    def run(path, **kw):
        net = tailor.zoo.create("resnet8", num_classes=4, input_shape=(3, 8, 8), seed=2)
        hist = net.fit(TRAIN, None, epochs=3, batch_size=24, optimizer="adam", lr=0.01, schedule="onecycle", progress=False,
                       seed=5, checkpoint=path, **kw)
        return net, hist
    whole, hist = run(tmp_path / "a.ckpt")
    # Stopped in the middle of epoch 2: the checkpoint keeps epoch 1's end.
    stopped, part = run(tmp_path / "b.ckpt", callback=lambda d: not (d["epoch"] == 1 and d["step"] == 1))
    assert len(part) == 1 and tailor.checkpoint_info(tmp_path / "b.ckpt")["next_epoch"] == 1
    with whole, stopped, tailor.resume(tmp_path / "b.ckpt", TRAIN, progress=False) as student:
        _same_weights(whole, student)
        assert student.history == hist and not hasattr(student, "plan")


def _rewrite(src, dst, edit):
    """Copies a checkpoint (safetensors: 8-byte header length, JSON header, data), letting `edit`
    change the header's __metadata__."""
    with open(src, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    edit(header["__metadata__"])
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + raw[8 + n:])


def test_damaged_and_foreign_checkpoints_are_clear_errors(teacher, tmp_path):
    good = tmp_path / "run.ckpt"
    with pytest.raises(KeyboardInterrupt):
        _tailor(tailor.remove_skips, teacher, good, callback=_interrupt_after(0))
    raw = good.read_bytes()
    bad = tmp_path / "bad.ckpt"

    def error(path=bad, train=TRAIN, val=VAL, net=None):
        with pytest.raises(tailor.TailorError) as e:
            tailor.resume(path, train, val, net=net, progress=False)
        return e.value

    for cut in (0, 5, 8, 200, len(raw) // 2, len(raw) - 4):   # truncated anywhere
        bad.write_bytes(raw[:cut])
        assert error().status_name == "TAILOR_ERR_FORMAT", cut
    assert error(tmp_path / "missing.ckpt").status_name == "TAILOR_ERR_IO"
    teacher.save(bad)
    assert "not a Tailor checkpoint" in str(error())
    _rewrite(good, bad, lambda m: m.update(checkpoint_version="2"))
    assert error().status_name == "TAILOR_ERR_VERSION"

    def other_library(m):
        run = json.loads(m["tailor_run"])
        run["library_version"] = "0.0.9"
        m["tailor_run"] = json.dumps(run)
    _rewrite(good, bad, other_library)
    e = error()
    assert e.status_name == "TAILOR_ERR_VERSION" and "0.0.9" in str(e)
    assert tailor.checkpoint_info(bad)["library_version"] == "0.0.9"     # still describable
    # Another network, other weights of the same network, other data, no validation data.
    with tailor.zoo.create("resnet20", num_classes=4, input_shape=(3, 8, 8)) as other:
        assert "another network" in str(error(good, net=other))
    with tailor.zoo.create("resnet8", num_classes=4, input_shape=(3, 8, 8), seed=9) as other:
        assert "other weights" in str(error(good, net=other))
    e = error(good, train=_data(64, 7))
    assert e.status_name == "TAILOR_ERR_INVALID_ARGUMENT" and "trained on 64 samples of 3×8×8" in str(e)
    assert "validated on 24 samples" in str(error(good, val=None))
    # Nothing was lost: the checkpoint still finishes the run.
    with tailor.resume(good, TRAIN, VAL, net=teacher, progress=False) as student:
        assert len(student.history) == 4
