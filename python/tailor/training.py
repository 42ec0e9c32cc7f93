"""Training helpers behind :meth:`Network.fit`, :meth:`Network.train_step`,
:meth:`Network.evaluate` and :func:`tailor.resume`: building the versioned ``tailor_train_config``
/ ``tailor_data`` structs and running the progress callback (tqdm bar, user callback, Ctrl-C
cancels cleanly; a checkpointed run keeps its last epoch's checkpoint on disk)."""
from __future__ import annotations

import ctypes
import json
import math
import os
import signal
import threading

import numpy as np

from . import _lib
from ._lib import TailorError

OPTIMIZERS = {"sgd": 0, "adam": 1}
SCHEDULES = {"constant": 0, None: 0, "step": 1, "cosine": 2, "onecycle": 3, "one-cycle": 3, "one_cycle": 3}
LOSSES = {"ce": 0, "cross_entropy": 0, "kd": 1, "kd_mse": 1, "hinton": 2, "kd_hinton": 2}
_BOOL_FIELDS = {"nesterov", "decay_norm_and_bias", "cycle_momentum", "augment", "shuffle", "drop_last",
                "keep_optimizer_state", "quantized"}


def _choice(table: dict, value, what: str) -> int:
    key = value.lower() if isinstance(value, str) else value
    if key not in table:
        names = sorted(k for k in table if isinstance(k, str))
        raise TailorError(f"unknown {what} {value!r}; choose one of {', '.join(names)}", status=1,
                          status_name="TAILOR_ERR_INVALID_ARGUMENT")
    return table[key]


def make_config(defaults: str = "fit", **kw) -> _lib.TrainConfig:
    """A tailor_train_config from keyword arguments (field names of the C struct; optimizer,
    schedule and loss may be names) over the library's defaults: ``defaults="fit"``
    (``tailor_train_config_defaults``) or ``"run"`` (``tailor_run_train_config_defaults``, a Tailor
    run's fine-tuning). A keyword given as None keeps the default. ``mode_switches`` is a list of
    (epoch, block index, mode name) applied before those epochs. Unknown keywords raise TypeError.
    The returned struct keeps the switch array alive as ``cfg._switches``."""
    cfg = _lib.TrainConfig()
    fill = {"fit": "tailor_train_config_defaults", "run": "tailor_run_train_config_defaults"}[defaults]
    _lib._check(getattr(_lib.lib(), fill)(ctypes.byref(cfg), ctypes.sizeof(cfg)))
    switches = kw.pop("mode_switches", None) or []
    if switches:
        from .network import MODES
        arr = (_lib.ModeSwitch * len(switches))()
        for i, sw in enumerate(switches):
            epoch, block, mode = sw
            arr[i].epoch, arr[i].block = int(epoch), int(block)
            known = isinstance(mode, str) and mode in MODES
            arr[i].mode = MODES.index(mode) if known else (mode if isinstance(mode, int) else -1)
        cfg.mode_switches = ctypes.cast(arr, ctypes.POINTER(_lib.ModeSwitch))
        cfg.num_mode_switches = len(switches)
        cfg._switches = arr
    fields = {f for f, _ in _lib.TrainConfig._fields_} - {"size", "mode_switches", "num_mode_switches"}
    for k, v in kw.items():
        if v is None:
            continue
        if k in ("checkpoint_path", "checkpoint_note"):
            v = _lib.s(os.fsdecode(os.fspath(v)) if k == "checkpoint_path" else v)   # ctypes keeps the bytes alive
        elif k == "optimizer":
            v = _choice(OPTIMIZERS, v, "optimizer")
        elif k == "schedule":
            v = _choice(SCHEDULES, v, "schedule")
        elif k == "loss":
            v = _choice(LOSSES, v, "loss")
        elif k not in fields:
            raise TypeError(f"unknown training option {k!r}")
        elif k in _BOOL_FIELDS:
            v = int(bool(v))
        setattr(cfg, k, v)
    return cfg


def defaults(kind: str = "fit") -> dict:
    """The library's training defaults by option name: ``"fit"`` (:meth:`Network.fit`) or ``"run"``
    (:func:`tailor.remove_skips` / :func:`tailor.shorten_skips`). Python keeps no copy of them."""
    cfg = make_config(defaults=kind)
    # Each enum field by its first spelling in the tables make_config reads ("constant", not None).
    spelled = {field: {v: k for k, v in reversed(table.items()) if isinstance(k, str)}
               for field, table in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("loss", LOSSES))}
    out = {}
    for name, _ in _lib.TrainConfig._fields_:
        if name in ("size", "mode_switches", "num_mode_switches", "checkpoint_path", "checkpoint_note"):
            continue
        v = getattr(cfg, name)
        out[name] = spelled[name][v] if name in spelled else (bool(v) if name in _BOOL_FIELDS else v)
    return out


class DataRef:
    """A tailor_data struct plus the numpy arrays it points into (kept alive with it)."""

    def __init__(self, x, y, normalize=None, what="data"):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4:
            raise TailorError(f"{what}: x must have shape (N, C, H, W), got {x.shape}", status=2,
                              status_name="TAILOR_ERR_SHAPE")
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(x):
            raise TailorError(f"{what}: y must be a 1-D array of {len(x)} labels, got shape {y.shape}", status=2,
                              status_name="TAILOR_ERR_SHAPE")
        if len(y) and not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
                raise TailorError(f"{what}: labels must be integers", status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
        self.x = x
        self.y = np.ascontiguousarray(y, dtype=np.int64)
        d = _lib.Data()
        d.size = ctypes.sizeof(_lib.Data)
        d.x = x.ctypes.data_as(_lib._f32p)
        d.n, d.channels, d.height, d.width = x.shape
        d.labels = self.y.ctypes.data_as(_lib._i64p)
        if normalize is not None:
            mean, std = normalize
            self.mean = np.ascontiguousarray(mean, dtype=np.float32).reshape(-1)
            self.std = np.ascontiguousarray(std, dtype=np.float32).reshape(-1)
            if self.mean.size != x.shape[1] or self.std.size != x.shape[1]:
                raise TailorError(f"{what}: normalize needs {x.shape[1]} means and stds", status=2,
                                  status_name="TAILOR_ERR_SHAPE")
            d.mean = self.mean.ctypes.data_as(_lib._f32p)
            d.std = self.std.ctypes.data_as(_lib._f32p)
        self.struct = d


def _nan_to_none(v: float):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def progress_dict(p) -> dict:
    """The C progress struct as a plain dict (what fit callbacks receive). The struct carries the
    library's size: a field it does not cover reads as its default (0, NaN, False, None)."""
    f = lambda name, default=0: _lib.progress_field(p, name, default)   # noqa: E731
    nan = float("nan")
    return {"epoch": f("epoch"), "epochs": f("epochs"), "step": f("step"), "steps_per_epoch": f("steps_per_epoch"),
            "global_step": f("global_step"), "total_steps": f("total_steps"), "loss": f("loss", nan),
            "accuracy": f("accuracy", nan), "lr": f("lr", nan), "epoch_end": bool(f("epoch_end")),
            "val_loss": _nan_to_none(f("val_loss", nan)), "val_accuracy": _nan_to_none(f("val_accuracy", nan))}


class _Progress:
    """The C progress callback: a tqdm bar (when ``progress``), the user's ``callback`` (False
    stops the run), and Ctrl-C or any exception raised inside it, which cancels the run and is
    re-raised by :meth:`finish` once the library has returned.

    Used as a context manager around the library call, it also turns Ctrl-C into a flag: Python
    raises KeyboardInterrupt where the interpreter next runs code, which is the entry of this
    callback, before any ``try`` could catch it; ctypes would print and drop it. The flag cancels
    the run at the next step instead, and :meth:`finish` raises KeyboardInterrupt."""

    def __init__(self, progress: bool, callback):
        self.bar = None
        if progress:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=None, unit="step", leave=True)
            except ImportError:
                pass
        self.callback = callback
        self.exc = None
        self.stopped = False
        self.interrupted = False
        self._sigint = None
        self.fn = _lib.ProgressFn(self._on_progress)

    def __enter__(self):
        # Only where Ctrl-C means KeyboardInterrupt (main thread, Python's default handler).
        if threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._sigint = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc):
        if self._sigint is not None:
            signal.signal(signal.SIGINT, self._sigint)
        if self.bar is not None:
            self.bar.close()

    def _on_sigint(self, _signum, _frame):
        self.interrupted = True

    def _on_progress(self, pp, _user):
        if self.interrupted:
            return 1
        try:
            d = progress_dict(pp.contents)
            bar = self.bar
            if bar is not None:
                if bar.total is None:
                    bar.total = d["total_steps"]
                    bar.n = d["global_step"]   # a resumed run starts part-way
                if d["epoch_end"]:
                    post = {"loss": f"{d['loss']:.4f}", "acc": f"{d['accuracy']:.3f}"}
                    if d["val_accuracy"] is not None:
                        post["val_acc"] = f"{d['val_accuracy']:.3f}"
                    bar.set_postfix(post)
                    bar.set_description(f"epoch {d['epoch'] + 1}/{d['epochs']}")
                else:
                    bar.update(1)
                    if d["step"] % 10 == 0:
                        bar.set_postfix(loss=f"{d['loss']:.4f}", acc=f"{d['accuracy']:.3f}", lr=f"{d['lr']:.4g}")
            if self.callback is not None and self.callback(d) is False:
                self.stopped = True
                return 1
            return 0
        except BaseException as e:  # KeyboardInterrupt included: cancel, re-raise after the call
            self.exc = e
            return 1

    def finish(self, status: int) -> bool:
        """Re-raises what the callback caught; True if the user's callback stopped the run."""
        if self.exc is not None:
            raise self.exc
        if self.interrupted:
            raise KeyboardInterrupt
        if status == 8 and self.stopped:
            return True
        _lib._check(status)
        return False


def _history(net) -> list[dict]:
    """The training history kept on `net`'s handle (tailor_net_history_count / tailor_net_history)."""
    return [{"epoch": h.epoch, "loss": h.loss, "train_accuracy": h.train_accuracy,
             "val_loss": _nan_to_none(h.val_loss), "val_accuracy": _nan_to_none(h.val_accuracy), "lr": h.lr}
            for h in _lib.history(net._h)]


def _run_inputs(train, val, normalize):
    """The data structs of a training call."""
    tr = DataRef(*train, normalize=normalize, what="train")
    va = DataRef(*val, normalize=normalize, what="val") if val is not None else None
    return tr, va


def run_fit(net, train, val, cfg, teacher, normalize, progress, callback) -> list[dict]:
    """Runs tailor_net_fit; returns the history. A callback returning False stops after the
    current step (history so far is returned); Ctrl-C cancels cleanly and re-raises KeyboardInterrupt."""
    L = _lib.lib()
    tr, va = _run_inputs(train, val, normalize)
    with _Progress(progress, callback) as prog:
        status = L.tailor_net_fit(net._h, ctypes.byref(tr.struct), ctypes.byref(va.struct) if va else None,
                                  ctypes.byref(cfg), teacher._h if teacher is not None else None, prog.fn, None)
    prog.finish(status)
    # The handle keeps the epochs this fit completed (also when the callback stopped it).
    return _history(net)


def run_tailor(net, train, val, run, cfg, normalize, progress, callback):
    """Runs tailor_run (the whole SkipRemover / SkipShortener run in the library); returns the
    student Network and its history rows with the per-epoch block modes and hardware. Ctrl-C
    cancels cleanly and re-raises KeyboardInterrupt; a callback returning False stops the run,
    which is a TailorError (a Tailor run stopped part-way has no student to return)."""
    from .network import Network
    L = _lib.lib()
    tr, va = _run_inputs(train, val, normalize)
    student = _lib.NetPtr()
    with _Progress(progress, callback) as prog:
        status = L.tailor_run(net._h, ctypes.byref(tr.struct), ctypes.byref(va.struct) if va else None, ctypes.byref(run),
                              ctypes.byref(cfg), prog.fn, None, ctypes.byref(student))
    if student.value and status != 0:   # "NULL unless TAILOR_OK"; never leak one that is not
        L.tailor_net_free(student)
        student = _lib.NetPtr()
    if prog.finish(status):
        raise TailorError("the Tailor run was stopped by its callback before it finished", status=8,
                          status_name="TAILOR_ERR_CANCELLED")
    student = Network._from_ptr(student)
    out = ctypes.c_char_p()
    _lib._check(L.tailor_net_run_history_json(student._h, ctypes.byref(out)))
    return student, history_rows(json.loads(out.value.decode()))


def history_rows(rows: list[dict]) -> list[dict]:
    """A Tailor run's history JSON as history dicts (missing validation figures are None)."""
    for r in rows:
        for k in ("val_loss", "val_accuracy"):
            r[k] = _nan_to_none(r[k]) if r[k] is not None else None
    return rows


def checkpoint_info(path) -> dict:
    """Loads and checks the whole checkpoint at `path` and describes it: ``epochs``,
    ``next_epoch`` (epochs before it are done), ``history``, ``config``, ``note``, the ``train``
    and ``val`` fingerprints, ``has_teacher``, ``student_blocks``, ``library_version``…
    Raises TailorError for a missing, truncated, damaged or foreign file."""
    L = _lib.lib()
    out = ctypes.c_char_p()
    _lib._check(L.tailor_checkpoint_json(_lib.s(os.fsdecode(os.fspath(path))), ctypes.byref(out)))
    # A per-thread string, valid until this thread's next tailor_* call: .value copies it now.
    return json.loads(out.value.decode("utf-8"))


def run_resume(path, train, val, expected, progress, callback):
    """Runs tailor_net_fit_resume; returns (student, teacher or None, history, info). On Ctrl-C or
    an error nothing is returned (the checkpoint on disk holds the last completed epoch)."""
    from .network import Network
    L = _lib.lib()
    info = checkpoint_info(path)
    tr = DataRef(*train, what="train")
    va = DataRef(*val, what="val") if val is not None else None
    student, teacher = _lib.NetPtr(), _lib.NetPtr()
    with _Progress(progress, callback) as prog:
        status = L.tailor_net_fit_resume(_lib.s(os.fsdecode(os.fspath(path))), ctypes.byref(tr.struct),
                                         ctypes.byref(va.struct) if va else None,
                                         expected._h if expected is not None else None, prog.fn, None,
                                         ctypes.byref(student), ctypes.byref(teacher))
    student = Network._from_ptr(student) if student.value else None
    teacher = Network._from_ptr(teacher) if teacher.value else None
    try:
        if prog.finish(status):   # the user's callback stopped it
            raise TailorError("the resumed run was stopped by its callback; the checkpoint holds its last completed epoch",
                              status=8, status_name="TAILOR_ERR_CANCELLED")
        # The student's handle holds the whole run's history, the epochs before the checkpoint first.
        history = _history(student)
    except BaseException:
        for n in (student, teacher):
            if n is not None:
                n.close()
        raise
    return student, teacher, history, info
