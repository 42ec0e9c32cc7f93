"""SkipRemover and SkipShortener (docs/ARCHITECTURE.md §5): retrain a copy of a trained network with
knowledge distillation from the original while its skips are removed or shortened block by
block, input to output, one block every `every` epochs.

    student = tailor.remove_skips(net, train=(x, y), val=(xv, yv), every=3)
    student.history        # per epoch: loss, accuracies, lr, block modes, hardware of the student
    tailor.compare(net, student, target="hls4ml", data=(xv, yv))

The schedule comes from libtailor (`tailor.plan`), the training from its engine
(`Network.fit` with the KD loss and the plan's block switches inside one run, so the optimiser
state and the learning-rate schedule continue across changes).

With ``checkpoint=path`` the run writes its state there after every epoch; if it is killed or
interrupted, ``tailor.resume(path, train, val)`` finishes it with the same result:

    student = tailor.remove_skips(net, train, val, every=3, checkpoint="run.ckpt")   # Ctrl-C, crash...
    student = tailor.resume("run.ckpt", train, val)                                  # ...carries on
"""
from __future__ import annotations

import json
import warnings

from ._lib import TailorError
from .estimate import _config
from .estimate import compare as _compare_hw
from .plan import plan as _plan

_ALGORITHMS = {"remove": "removed", "shorten": "short"}


def _tailor(algorithm: str, net, train, val=None, every: int = 3, epochs: int | None = None, blocks=None,
            lr: float | None = None, schedule: str | None = None, batch_size: int | None = None, kd: str = "mse",
            kd_alpha: float | None = None, kd_temperature: float | None = None, target: str | None = None,
            bits: int | None = None,
            hardware: dict | None = None, normalize=None, progress: bool = True, seed: int | None = None, checkpoint=None,
            callback=None, precision=None, **fit_options):
    """The whole run happens in the library (``tailor_run``): teacher copy, plan, KD, block
    switches, checkpoints with the run's note, per-epoch modes and hardware. This wrapper checks
    the Python-side arguments, warns about an untrained teacher, and shapes the result."""
    if precision is not None:
        # The quantised teacher and student: a copy of `net` with the types, trained quantisation-aware.
        typed = net.copy()
        try:
            typed.set_precision(precision)
            fit_options["quantized"] = True
            return _tailor(algorithm, typed, train, val, every=every, epochs=epochs, blocks=blocks, lr=lr,
                           schedule=schedule, batch_size=batch_size, kd=kd, kd_alpha=kd_alpha,
                           kd_temperature=kd_temperature, target=target, bits=bits, hardware=hardware,
                           normalize=normalize, progress=progress, seed=seed, checkpoint=checkpoint,
                           callback=callback, **fit_options)
        finally:
            typed.close()
    from . import training
    from ._lib import RunConfig, _check, lib
    from .network import Network
    import ctypes
    if not isinstance(net, Network):
        raise TailorError(f"net must be a tailor.Network, got {type(net).__name__}", status=1,
                          status_name="TAILOR_ERR_INVALID_ARGUMENT")
    if kd not in ("mse", "hinton"):
        raise TailorError(f"kd must be 'mse' or 'hinton', got {kd!r}", status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
    schedule_plan = _plan(net, algorithm, every=every, epochs=epochs, blocks=blocks)   # validates the plan
    hw = dict(hardware or {}, target=target, bits=bits)
    hw_cfg, _keep = _config(hw.pop("target"), hw.pop("bits"), **hw)   # the library checks it before training
    if val is not None:
        # A teacher that has not been trained teaches nothing: say so (accuracy near chance). A
        # quantised run's teacher is judged as the fixed-point design it is (its float forward
        # is not what it was trained to compute).
        if fit_options.get("quantized"):
            import numpy as np
            xv, yv = np.asarray(val[0][:500], np.float64), np.asarray(val[1][:500])
            if normalize is not None:
                mean, std = (np.asarray(v, np.float64).reshape(1, -1, 1, 1) for v in normalize)
                xv = (xv - mean) / std
            acc = float((net.predict(xv, quantized=True).argmax(1) == yv).mean())
        else:
            acc = net.evaluate(*val, normalize=normalize)["accuracy"]
        if acc <= 1.5 / net.num_outputs:
            warnings.warn(f"the teacher's validation accuracy is {acc:.1%}, about chance: Tailor expects a trained network",
                          stacklevel=3)
    altered = [net._block_index(b) for _, b, _ in schedule_plan.changes]   # in the order the plan alters them
    order = (ctypes.c_int64 * len(altered))(*altered)
    run = RunConfig()
    _check(lib().tailor_run_config_defaults(ctypes.byref(run), ctypes.sizeof(run)))
    run.algorithm = algorithm.encode()
    run.every, run.epochs = int(every), int(schedule_plan.epochs)
    run.blocks, run.num_blocks = ctypes.cast(order, ctypes.POINTER(ctypes.c_int64)), len(order)
    run.hardware = ctypes.pointer(hw_cfg)
    # The library's run defaults (tailor_run_train_config_defaults: the authors' fine-tuning), then
    # what the caller gave.
    cfg = training.make_config(defaults="run", epochs=schedule_plan.epochs, batch_size=batch_size, lr=lr,
                               schedule=schedule, loss="kd" if kd == "mse" else "hinton", kd_alpha=kd_alpha,
                               kd_temperature=kd_temperature, seed=None if seed is None else int(seed) & (2**64 - 1),
                               checkpoint_path=checkpoint, **fit_options)
    student, history = training.run_tailor(net, train, val, run, cfg, normalize, progress, callback)
    student.history = history
    student.plan = schedule_plan
    return student


def resume(checkpoint, train, val=None, net=None, progress: bool = True, callback=None):
    """Finishes the run checkpointed at `checkpoint` (by :meth:`Network.fit`, :func:`remove_skips`
    or :func:`shorten_skips` with ``checkpoint=``) from its next epoch, writing the checkpoint
    after every epoch as before. The result is the one the uninterrupted run reaches: the same
    weights, BN statistics and history (bit for bit with the same library and thread count).

    ``train``/``val`` must be the (x, y) data the run started with (the normalisation comes from
    the checkpoint); other data is a TailorError naming both. ``net``, if given, must be the
    network the run started from (for a Tailor run, the trained teacher). Returns the student
    Network with ``.history`` (the whole run's epochs) and, for a Tailor run, ``.plan`` and the
    per-epoch ``modes``/``altered``/``hardware`` entries. A finished run's checkpoint returns its
    student without training. Ctrl-C stops cleanly (KeyboardInterrupt); the checkpoint keeps the
    last completed epoch.
    """
    from . import training
    from ._lib import lib
    import ctypes
    student, teacher, history, info = training.run_resume(checkpoint, train, val, net, progress, callback)
    try:
        note = _tailor_note(info.get("note"))
        if note is not None:
            # The library rebuilt the plan from the note and annotated the whole run.
            out = ctypes.c_char_p()
            if lib().tailor_net_run_history_json(student._h, ctypes.byref(out)) == 0:
                history = training.history_rows(json.loads(out.value.decode()))
            student.plan = _plan(teacher, note["algorithm"], every=note["every"], epochs=note["epochs"],
                                 blocks=note["blocks"])
    except BaseException:
        student.close()
        raise
    finally:
        if teacher is not None:
            teacher.close()
    student.history = history
    return student


def _tailor_note(text):
    """The note a Tailor run keeps in its checkpoint, or None for a plain fit."""
    try:
        note = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(note, dict) or note.get("kind") != "tailor":
        return None
    if not all(k in note for k in ("algorithm", "every", "epochs", "blocks", "hardware")):
        raise TailorError("the checkpoint's Tailor note is incomplete", status=5, status_name="TAILOR_ERR_FORMAT")
    return note


def remove_skips(net, train, val=None, every: int = 3, epochs: int | None = None, blocks=None, **options):
    """SkipRemover: a copy of the trained `net` retrained with KD from it while each planned
    block's skip (identity or projection) is deleted, one block every `every` epochs from the
    input (first change after `every` epochs). ``train``/``val`` are (x, y) numpy pairs.

    Options: ``lr`` (0.01), ``schedule`` ("cosine"), ``batch_size`` (128), ``kd`` ("mse": 0.35·MSE +
    0.65·CE, or "hinton"), ``kd_alpha``, ``kd_temperature``, ``normalize=(mean, std)``, ``seed``,
    ``progress`` (tqdm), the hardware ``target``/``bits``/``hardware={...}`` for the per-epoch estimate,
    and any :meth:`Network.fit` option (momentum, nesterov, weight_decay, augment, optimizer...).
    ``checkpoint=path`` writes the run's state there after every epoch, so a killed or interrupted
    run finishes with :func:`resume` (same result as uninterrupted). ``precision=config`` (hls4ml's
    layout, see :meth:`Network.set_precision`) retrains in fixed point: teacher and student carry
    the types and the run is quantisation-aware (``quantized=True`` does the same for a `net` that
    already carries types); the student's ``predict(x, quantized=True)`` is then the hls4ml design.
    Returns the student Network with ``.history`` (per-epoch dicts) and ``.plan``.
    """
    return _tailor("remove", net, train, val, every=every, epochs=epochs, blocks=blocks, **options)


def shorten_skips(net, train, val=None, every: int = 3, epochs: int | None = None, blocks=None, **options):
    """SkipShortener: like :func:`remove_skips`, but each long skip becomes one short skip per
    convolution (projections placed where shapes differ). Same options and result."""
    return _tailor("shorten", net, train, val, every=every, epochs=epochs, blocks=blocks, **options)


def compare(teacher, student, target: str | None = None, bits: int | None = None, data=None, normalize=None, **options):
    """Before/after Tailor: the hardware :class:`~tailor.estimate.Comparison` of `student`
    against `teacher` on `target`, with ``accuracy`` {"before", "after", "delta"} when
    ``data=(x, y)`` is given. Hardware options as for :func:`tailor.estimate`."""
    cmp = _compare_hw(teacher, student, target, bits, **options)
    if data is not None:
        before = teacher.evaluate(*data, normalize=normalize)["accuracy"]
        after = student.evaluate(*data, normalize=normalize)["accuracy"]
        cmp.accuracy = {"before": before, "after": after, "delta": after - before}
    return cmp
