"""Command line: ``python -m tailor {skips,info,demo} ...`` and ``python -m tailor --version``.

    python -m tailor skips resnet8            the skip inventory of a zoo model (or a model file)
    python -m tailor info model.tailor        summary of a model file
    python -m tailor estimate resnet8 --target hls4ml --bits 16 [--plan remove|shorten] [--json F]
                                              what the skips cost in hardware (and what Tailor saves)
    python -m tailor demo                     build ResNet-8, show its skips in each mode, save and reload
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
                          precision=precision or None, plan=args.plan)
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


# ---- demo: a list of steps, each a function(state) that prints what it does ------------------

def _step_build(state) -> None:
    state["net"] = net = zoo.resnet8(num_classes=10, seed=0)
    print(f"== Built MLPerf Tiny ResNet-8 ({net.num_parameters():,} parameters)")
    print(repr(net))


def _step_inventory(state) -> None:
    net = state["net"]
    for mode in MODES:
        with net.copy() as variant:
            variant.set_modes(mode)
            skips = variant.skips
            print(f"\n== Mode {mode}: {len(skips)} skips, {variant.num_parameters():,} parameters")
            print(skip_table(skips))


def _step_save_reload(state) -> None:
    net = state["net"]
    net.set_mode(len(net.blocks) - 1, "short")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "resnet8.tailor")
        net.save(path)
        with load(path) as back:
            before, after = net.state_dict(), back.state_dict()
            same = before.keys() == after.keys() and all((before[k] == after[k]).all() for k in before)
            print(f"\n== Saved {path} ({os.path.getsize(path):,} bytes) and reloaded it: "
                  f"modes {back.modes}, {len(after)} tensors "
                  + ("identical" if same and back.modes == net.modes else "DIFFERENT"))
            if not (same and back.modes == net.modes):
                raise TailorError("reloaded model differs from the saved one")


DEMO_STEPS = [_step_build, _step_inventory, _step_save_reload]


def cmd_demo(args) -> int:
    """Runs the demo steps in order."""
    state: dict = {}
    try:
        for step in DEMO_STEPS:
            step(state)
    finally:
        if state.get("net") is not None:
            state["net"].close()
    print("\ndemo finished")
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
    es.add_argument("--depth-policy", choices=("default", "optimized"), help="FIFO depths (hls4ml: default)")
    es.add_argument("--memory-policy", choices=("auto", "srl", "lutram", "bram", "uram"), default="auto")
    es.add_argument("--mode", choices=MODES, help="switch every block to this mode first")
    es.add_argument("--plan", choices=("remove", "shorten"), help="compare with every block removed / shortened")
    es.add_argument("--explain", metavar="BLOCK", help="print the formulas behind one block's skip")
    es.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    es.add_argument("--num-classes", type=int, default=10)
    es.set_defaults(func=cmd_estimate)

    dm = sub.add_parser("demo", help="build ResNet-8, show its skips in each mode, save and reload it")
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


if __name__ == "__main__":
    sys.exit(main())
