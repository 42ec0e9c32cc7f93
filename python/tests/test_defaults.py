"""Defaults are defined once, in the library: Python's signatures leave every training and
hardware option None, and the values it ends up with are the library's (tailor.h documents them)."""
import inspect

import tailor
from tailor import training
from tailor.algorithms import _tailor
from tailor.estimate import HW_OPTIONS, compare, estimate, fifos, hardware_defaults

_TRAIN_FIELDS = set(training.defaults())


def _defaults_of(fn):
    return {k: p.default for k, p in inspect.signature(fn).parameters.items() if p.default is not inspect.Parameter.empty}


def test_no_python_signature_retypes_a_library_default():
    for fn in (tailor.Network.fit, _tailor):
        retyped = {k: v for k, v in _defaults_of(fn).items() if k in _TRAIN_FIELDS and v is not None}
        assert not retyped, f"{fn.__qualname__} retypes the library's training defaults {retyped}"
    for fn in (estimate, compare, fifos, tailor.compare):
        assert _defaults_of(fn)["target"] is None and _defaults_of(fn)["bits"] is None, fn.__qualname__
    assert isinstance(HW_OPTIONS, tuple), "hardware options are names; their values come from the library"


def test_training_defaults_are_the_documented_library_values():
    fit, run = training.defaults("fit"), training.defaults("run")
    assert (fit["lr"], fit["schedule"], fit["loss"], fit["optimizer"]) == (0.1, "constant", "ce", "sgd")
    assert (fit["epochs"], fit["batch_size"], fit["weight_decay"], fit["nesterov"], fit["augment"]) == (1, 128, 5e-4, True, True)
    # A Tailor run: the authors' fine-tuning over the same base.
    assert (run["lr"], run["schedule"], run["loss"], run["kd_alpha"]) == (0.01, "cosine", "kd", 0.35)
    assert {k: v for k, v in run.items() if k not in ("lr", "schedule", "loss")} == \
        {k: v for k, v in fit.items() if k not in ("lr", "schedule", "loss")}


def test_a_none_option_keeps_the_default_and_a_given_one_wins():
    cfg = training.make_config(lr=None, schedule=None, epochs=3)
    assert (cfg.lr, cfg.schedule, cfg.epochs) == (0.1, 0, 3)
    cfg = training.make_config(defaults="run", lr=None, schedule=None)
    assert (cfg.lr, cfg.schedule, cfg.loss) == (0.01, 2, 1)


def test_hardware_defaults_are_the_library_s():
    d = hardware_defaults()
    assert (d["target"], d["bits"], d["reuse_factor"], d["memory_policy"]) == ("hls4ml", 16, 1, "auto")
    assert set(HW_OPTIONS) - {"precision", "layers"} <= set(d) | {"precision", "layers"}
    with tailor.zoo.resnet8() as net:
        assert estimate(net).to_dict() == estimate(net, target="hls4ml", bits=16, reuse_factor=1).to_dict()
