"""The hardware resource model (docs/hardware.md) from Python: what every skip costs on hls4ml,
FINN or a PE array, and what Tailor saves.

    rep = tailor.estimate(net, target="hls4ml", bits=16)              # Report
    print(rep.table()); rep.to_dict(); rep.plot(); print(rep.explain("layer2.0"))
    cmp = tailor.estimate(net, target="finn", plan="remove")          # Comparison, before/after
    cmp = tailor.compare(teacher, student, target="hls4ml")           # same, two networks

All figures come from libtailor (``tailor_net_estimate_json`` / ``tailor_net_compare_json``);
this module only formats them.
"""
from __future__ import annotations

import copy
import ctypes
import html
import json
from typing import Any
from collections.abc import Mapping

from . import _lib, _table
from ._lib import TailorError, _check

#: Report columns of a cost, in order, with their headers.
COST_FIELDS = (("bram18", "BRAM18"), ("uram", "URAM"), ("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"), ("bytes", "bytes"))
TARGETS = ("hls4ml", "finn", "pe_array")


#: Hardware options every estimate takes; an option not given keeps the library's default
#: (``tailor_hw_config_defaults``; :func:`hardware_defaults` lists them).
HW_OPTIONS = ("reuse_factor", "depth_policy", "memory_policy", "precision", "clock_mhz", "pe_count", "bandwidth_gbps",
              "onchip_kib", "backend", "interface", "strategy", "layers", "precision_source")


def hardware_defaults() -> dict:
    """The library's hardware defaults (``tailor_hw_config_defaults``), by option name; None: the
    target's own choice (e.g. ``depth_policy``: hls4ml's default depths, FINN's simulated ones)."""
    cfg = _lib.HwConfig()
    _check(_lib.lib().tailor_hw_config_defaults(ctypes.byref(cfg), ctypes.sizeof(cfg)))
    out = {}
    for name, _ in _lib.HwConfig._fields_:
        if name == "size":
            continue
        v = getattr(cfg, name)
        out[name] = v.decode() if isinstance(v, bytes) else v
    return out


def _config(target: str | None, bits: int | None, **options) -> tuple[_lib.HwConfig, list]:
    """A filled ``tailor_hw_config`` (the library's defaults, then the options given and not
    None) and the byte strings it points at (keep them alive)."""
    unknown = set(options) - set(HW_OPTIONS)
    if unknown:
        raise TailorError(f"hardware config: unknown option(s) {sorted(unknown)}; expected {sorted(HW_OPTIONS)}",
                          status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
    o = {k: v for k, v in options.items() if v is not None}
    lib = _lib.lib()
    cfg = _lib.HwConfig()
    _check(lib.tailor_hw_config_defaults(ctypes.byref(cfg), ctypes.sizeof(cfg)))
    keep = []

    def text(value, field):
        if value is None:
            return None
        if not isinstance(value, str):
            raise TailorError(f"hardware config: {field} must be a string, got {type(value).__name__}",
                              status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
        b = value.encode()
        keep.append(b)
        return b

    def integer(value, field, lo, hi):
        if isinstance(value, bool) or (not isinstance(value, int) and not hasattr(value, "__index__")):
            raise TailorError(f"hardware config: {field} must be an integer, got {value!r}",
                              status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
        v = int(value)
        if not lo <= v <= hi:
            raise TailorError(f"hardware config: {field} must be in {lo}...{hi}, got {v}",
                              status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
        return v

    if target is not None:
        cfg.target = text(target, "target")
    if bits is not None:
        cfg.bits = integer(bits, "bits", -2**31, 2**31 - 1)
    for field in ("depth_policy", "memory_policy", "backend", "interface", "strategy", "precision_source"):
        if field in o:
            setattr(cfg, field, text(o[field], field))
    if "reuse_factor" in o:
        cfg.reuse_factor = integer(o["reuse_factor"], "reuse_factor", -2**31, 2**31 - 1)
    if o.get("precision"):
        cfg.precision_json = text(json.dumps({str(k): integer(v, f"precision[{k!r}]", -2**31, 2**31 - 1)
                                              for k, v in dict(o["precision"]).items()}), "precision")
    if o.get("layers"):
        if not isinstance(o["layers"], Mapping):
            raise TailorError("hardware config: layers must be a dict {node: {'reuse_factor': R, 'strategy': 'resource'}}",
                              status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
        layers = {str(k): (v if isinstance(v, Mapping) else {"reuse_factor": v}) for k, v in o["layers"].items()}
        cfg.layers_json = text(json.dumps(layers), "layers")
    if "clock_mhz" in o:
        cfg.clock_mhz = float(o["clock_mhz"])
    if "bandwidth_gbps" in o:
        cfg.bandwidth_gbps = float(o["bandwidth_gbps"])
    for field in ("pe_count", "onchip_kib"):
        if field in o:
            setattr(cfg, field, integer(o[field], field, -2**63, 2**63 - 1))
    return cfg, keep


def _fmt_int(v) -> str:
    return "-" if v is None else f"{v:,}"


def _fmt_pct(v) -> str:
    return "n/a" if v is None else f"{v:+.1f}%"


def _html_table(headers: list[str], rows: list[list[str]], caption: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Tabular:
    """Text and notebook rendering shared by Report and Comparison (they supply _rows and _caption)."""

    def table(self) -> str:
        """The rows and totals as a text table."""
        headers, rows = self._rows()
        # Both tables lead with three text columns (block, skip, mode / block, before, after); numbers follow.
        return self._caption() + "\n" + _table.render(headers, rows, align="lll".ljust(len(headers), "r"))

    def _repr_html_(self) -> str:
        headers, rows = self._rows()
        return _html_table(headers, rows, self._caption())


def _axes(metrics, ax, legend_width: float = 0.0):
    """(figure, one axis per metric): new ones, or the caller's `ax` (one axis, or a list or array
    of them as ``plt.subplots`` returns, at least one per metric).

    ``legend_width`` > 0 (inches) makes the new figure that much wider and lays it out with
    constrained layout, the one engine that makes room for a figure legend outside the panels
    (:func:`_legend`); 0 keeps a plain figure for callers that lay it out themselves."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.axes import Axes
    if ax is None:
        layout = {"layout": "constrained"} if legend_width > 0 else {}
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics) + legend_width, 3.8), squeeze=False,
                                 **layout)
        return fig, list(axes[0])
    axes = [ax] if isinstance(ax, Axes) else list(np.asarray(ax, dtype=object).flat)
    if len(axes) < len(metrics):   # zip() would silently drop the panels past the last axis
        raise TailorError(f"plot: {len(metrics)} metrics {list(metrics)} need as many axes, got {len(axes)}",
                          status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
    return axes[0].figure, axes[:len(metrics)]


def _colours(names) -> dict:
    """A fixed colour per name, in order, for every panel of a figure alike (the colour cycle
    restarts per panel and moves on for each bar drawn, so it cannot tie a colour to a name).
    tab10, or tab20 past ten names; past twenty, colours repeat."""
    import matplotlib
    cmap = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def _legend(fig, axes, colours: dict, shown) -> None:
    """One legend for the whole figure, listing the `shown` names, and the figure's layout.

    A figure with constrained layout (ours, or the caller's) gets a figure legend outside the
    panels, right of them, where it covers no bar. Other layouts keep no room for a figure legend,
    so on a caller's other figure the legend hangs right of the last of the caller's axes, where
    tight layout (which counts an axis' legend, not a figure's) makes room for it. Only a figure
    without a layout engine is laid out here: tight_layout would replace the caller's own engine."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    from matplotlib.patches import Patch
    handles = [Patch(facecolor=colours[n], label=n) for n in colours if n in shown]
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        if handles:
            fig.legend(handles=handles, loc="outside right upper", fontsize=7)
        return
    if handles:
        axes[-1].legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    if engine is None:
        fig.tight_layout()


class Report(_Tabular):
    """Per-skip hardware figures of one network on one target, the rest of the design, and totals.

    ``skips``: one dict per skip (block, index, mode, buffer, shape, word_bits, lag_words,
    depth_words, memory, cost, components); ``layers``: the rest of the design per layer;
    ``totals``: {"skips", "rest", "total", "skip_share_percent", "macs", "latency_us"}.
    """

    def __init__(self, data: dict):
        self._data = data
        self.config: dict = data["config"]
        self.skips: list[dict] = data["skips"]
        self.layers: list[dict] = data["layers"]
        self.totals: dict = data["totals"]

    @property
    def target(self) -> str:
        return self.config["target"]

    def to_dict(self) -> dict:
        """The whole report as plain, JSON-ready Python data (a copy)."""
        return copy.deepcopy(self._data)

    def _fields(self) -> list[tuple[str, str]]:
        """The cost columns worth showing: those the design has (a column zero for the whole design,
        such as bytes on a dataflow target, says nothing)."""
        total = self.totals["total"]
        return [(f, h) for f, h in COST_FIELDS if total[f]] or list(COST_FIELDS)

    def _rows(self) -> tuple[list[str], list[list[str]]]:
        fields = self._fields()
        headers = ["block", "skip", "mode", "buffer", "shape (C×H×W)", "word bits", "lag", "depth", "memory"] + \
                  [h for _, h in fields]
        rows = []
        for s in self.skips:
            shape = "×".join(map(str, s["shape"])) if s["shape"] else "-"
            rows.append([s["block"], str(s["index"]), s["mode"], s["buffer"] or "-", shape, _fmt_int(s["word_bits"] or None),
                         _fmt_int(s["lag_words"]), _fmt_int(s["depth_words"] or None), s["memory"]] +
                        [_fmt_int(s["cost"][f]) for f, _ in fields])
        for label, key in (("skips total", "skips"), ("rest of design", "rest"), ("design total", "total")):
            rows.append([label, "", "", "", "", "", "", "", ""] + [_fmt_int(self.totals[key][f]) for f, _ in fields])
        share = self.totals["skip_share_percent"]
        rows.append(["skip share", "", "", "", "", "", "", "", ""] +
                    ["n/a" if share[f] is None else f"{share[f]:.1f}%" for f, _ in fields])
        return headers, rows

    def _caption(self) -> str:
        c = self.config
        parts = [f"target {c['target']}", f"{c['bits']} bits", f"reuse {c['reuse_factor']}"]
        if c.get("depth_policy"):
            parts.append(f"depth {c['depth_policy']}")
        parts.append(f"memory {c['memory_policy']}")
        if self.totals.get("latency_us") is not None:
            parts.append(f"latency {self.totals['latency_us']:.1f} µs")
        return ", ".join(parts)

    def __repr__(self) -> str:
        t = self.totals
        return (f"<tailor.Report {self._caption()}: {len(self.skips)} skips, skip BRAM18 {t['skips']['bram18']}, "
                f"LUT {t['skips']['lut']}, FF {t['skips']['ff']}, bytes {t['skips']['bytes']}>")

    def explain(self, block: str | int, index: int = 0, field: str | None = None) -> str:
        """How every figure of a skip (``block`` name or index, skip ``index`` within it) was
        reached: each part's formula and inputs. ``field`` ("bram18", "lut", "depth", ...) narrows it."""
        row = next((s for s in self.skips if (s["block"] == block or s["block_index"] == block) and s["index"] == index), None)
        if row is None:
            known = sorted({s["block"] for s in self.skips})
            raise TailorError(f"no skip {index} in block {block!r}; blocks: {known}", status=3,
                              status_name="TAILOR_ERR_NOT_FOUND")
        if field is not None:
            known = sorted({k for c in self.skips for comp in c["components"] for k in comp["explain"]})
            if field not in known:
                raise TailorError(f"explain: no figure named {field!r}; the report explains {known}", status=1,
                                  status_name="TAILOR_ERR_INVALID_ARGUMENT")
        lines = [f"{row['block']} skip {row['index']} ({row['mode']}) on {self.target}:"]
        if not row["components"]:
            lines.append("  removed: no FIFO, clone, adder or projection, nothing to pay for")
        for comp in row["components"]:
            items = [(k, v) for k, v in comp["explain"].items() if field is None or k == field]
            if not items:
                continue
            cost = ", ".join(f"{h} {comp['cost'][f]}" for f, h in COST_FIELDS if comp["cost"][f])
            lines.append(f"  {comp['name']}" + (f"  [{cost}]" if cost else ""))
            lines += [f"    {k}: {v}" for k, v in items]
        return "\n".join(lines)

    def plot(self, metrics=("bram18", "lut", "ff"), ax=None):
        """Per-skip stacked bars (one stack per part: FIFOs, clone, adder, projection) for each
        metric. Returns the matplotlib Figure."""
        metrics = list(metrics)
        fig, axes = _axes(metrics, ax, legend_width=1.8)
        labels = [f"{s['block']}.{s['index']}" if s["mode"] == "short" else s["block"] for s in self.skips]
        names = []
        for s in self.skips:
            for c in s["components"]:
                if c["name"] not in names:
                    names.append(c["name"])
        # From every component, whatever the metrics: a part keeps its colour in every figure of this report.
        colours = _colours(names)
        shown = set()
        for a, m in zip(axes, metrics):
            bottom = [0] * len(self.skips)
            for n in names:
                vals = [sum(c["cost"][m] for c in s["components"] if c["name"] == n) for s in self.skips]
                if any(vals):
                    a.bar(range(len(vals)), vals, bottom=bottom, label=n, color=colours[n])
                    bottom = [b + v for b, v in zip(bottom, vals)]
                    shown.add(n)
            if any(bottom):   # a zero-height segment on top of a stack is a "sticky" edge that removes the headroom
                a.set_ylim(0, 1.05 * max(bottom))
            a.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
            a.set_title(f"{dict(COST_FIELDS)[m]} per skip ({self.target})")
        _legend(fig, axes, colours, shown)
        return fig


class Comparison(_Tabular):
    """Before/after Tailor on one target: ``blocks`` (per residual block: modes and the change of
    every cost field) and ``totals`` (skips and whole design: before, after, delta, percent)."""

    def __init__(self, data: dict):
        self._data = data
        self.config: dict = data["config"]
        self.blocks: list[dict] = data["blocks"]
        self.totals: dict = data["totals"]
        self.before = Report(data["before"])
        self.after = Report(data["after"])
        #: {"before", "after", "delta"} accuracies when tailor.compare was given data, else None.
        self.accuracy: dict | None = None

    def to_dict(self) -> dict:
        """The comparison as plain, JSON-ready Python data (a copy)."""
        d = copy.deepcopy(self._data)
        if self.accuracy is not None:
            d["accuracy"] = dict(self.accuracy)
        return d

    def _rows(self, fields=None) -> tuple[list[str], list[list[str]]]:
        if fields is None:   # the columns either design has: BRAM18/LUT/FF on dataflow targets, bytes on a PE array
            t = self.totals["total"]
            every = ["bram18", "lut", "ff", "bytes"]
            fields = [f for f in every if t[f]["before"] or t[f]["after"]] or every
        headers = ["block", "before", "after"]
        for f in fields:
            h = dict(COST_FIELDS)[f]
            headers += [f"{h} before", f"{h} after", f"{h} Δ"]
        rows = []

        def cells(change):
            out = []
            for f in fields:
                c = change[f]
                out += [_fmt_int(c["before"]), _fmt_int(c["after"]), _fmt_pct(c["percent"]) if c["delta"] else "0"]
            return out

        for b in self.blocks:
            rows.append([b["block"], b["mode_before"], b["mode_after"]] + cells(b["change"]))
        rows.append(["skips total", "", ""] + cells(self.totals["skips"]))
        rows.append(["design total", "", ""] + cells(self.totals["total"]))
        return headers, rows

    def _caption(self) -> str:
        cap = self.before._caption().split(", latency")[0]
        if self.accuracy is not None:
            a = self.accuracy
            cap += f", accuracy {100 * a['before']:.2f}% → {100 * a['after']:.2f}% ({100 * a['delta']:+.2f} points)"
        lat = self.totals.get("latency_us")
        if lat:
            cap += f", latency {lat['before']:.1f} → {lat['after']:.1f} µs ({_fmt_pct(lat['percent'])})"
        return cap

    def percent(self, field: str, scope: str = "total") -> float | None:
        """Change of ``field`` in % of before, over the whole design (``scope="total"``) or the skips only."""
        return self.totals[scope][field]["percent"]

    def __repr__(self) -> str:
        t = self.totals["total"]
        return ("<tailor.Comparison " + self._caption() + ": design " +
                ", ".join(f"{h} {_fmt_pct(t[f]['percent'])}" for f, h in COST_FIELDS if t[f]["before"]) + ">")

    def plot(self, metrics=("bram18", "lut", "ff"), ax=None):
        """Before/after bars per block and for the skip total, one panel per metric. Returns the Figure."""
        metrics = list(metrics)
        fig, axes = _axes(metrics, ax, legend_width=0.8)
        labels = [b["block"] for b in self.blocks] + ["skips"]
        colours = _colours(["before", "after"])
        for a, m in zip(axes, metrics):
            before = [b["change"][m]["before"] for b in self.blocks] + [self.totals["skips"][m]["before"]]
            after = [b["change"][m]["after"] for b in self.blocks] + [self.totals["skips"][m]["after"]]
            xs = range(len(labels))
            a.bar([x - 0.2 for x in xs], before, width=0.4, label="before", color=colours["before"])
            a.bar([x + 0.2 for x in xs], after, width=0.4, label="after", color=colours["after"])
            a.set_xticks(list(xs), labels, rotation=60, ha="right", fontsize=7)
            pct = self.totals["total"][m]["percent"]
            a.set_title(f"{dict(COST_FIELDS)[m]} (design {_fmt_pct(pct)})")
        _legend(fig, axes, colours, colours)
        return fig


def _net(obj, what: str):
    from .network import Network
    if not isinstance(obj, Network):
        raise TailorError(f"{what} must be a tailor.Network, got {type(obj).__name__}", status=1,
                          status_name="TAILOR_ERR_INVALID_ARGUMENT")
    return obj


def _apply_plan(net, plan):
    """A copy of `net` with `plan` applied: "remove" / "shorten" (every block), or a mapping
    {block name or index: "long" | "removed" | "short"}."""
    altered = net.copy()
    if isinstance(plan, str):
        modes = {"remove": "removed", "removed": "removed", "shorten": "short", "short": "short", "long": "long"}
        if plan not in modes:
            altered.close()
            raise TailorError(f"plan must be 'remove', 'shorten' or a {{block: mode}} mapping, got {plan!r}",
                              status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
        altered.set_modes(modes[plan])
    elif isinstance(plan, Mapping):
        try:
            for block, mode in plan.items():
                altered.set_mode(block, mode)
        except Exception:
            altered.close()
            raise
    else:
        altered.close()
        raise TailorError(f"plan must be 'remove', 'shorten' or a {{block: mode}} mapping, got {type(plan).__name__}",
                          status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
    return altered


def estimate(net, target: str | None = None, bits: int | None = None, *, plan=None, **options) -> Report | Comparison:
    """Estimates what `net`'s skips cost on `target` ("hls4ml", "finn", "pe_array"; None: the
    library's default, hls4ml).

    bits: (None: the library's default, 16) precision of every tensor and weight. Options
    (``HW_OPTIONS``; defaults: :func:`hardware_defaults`):
    precision: per-node overrides {"node": bits, "node.weight": bits}; reuse_factor: hls4ml reuse
    factor of every conv/dense (moved to the closest valid value, as hls4ml does) / FINN folding;
    strategy: hls4ml "latency" or "resource"; layers: per-node {"node": {"reuse_factor": R,
    "strategy": "resource"}} (or {"node": R}); backend: hls4ml "vivado" (default; a FIFO per
    channel) or "vitis" (one packed FIFO); interface: "stream" or "axi_wrapper"; depth_policy:
    "default" (what hls4ml writes) or "optimized" (alias "simulated": max occupancy from the
    dataflow simulation + 1, what FifoDepthOptimization writes); memory_policy: "auto", "srl",
    "lutram", "bram", "uram"; clock_mhz, pe_count, bandwidth_gbps, onchip_kib: the PE array;
    precision_source: "network" (default: a network with fixed-point types, ``net.set_precision``,
    is priced at their widths, ``precision`` overriding single tensors) or "config" (``bits`` and
    ``precision`` alone).

    With ``plan`` ("remove", "shorten" or {block: mode}) returns a :class:`Comparison` of `net`
    against a copy altered by the plan; otherwise a :class:`Report`.
    """
    net = _net(net, "net")
    if plan is not None:
        altered = _apply_plan(net, plan)
        try:
            return compare(net, altered, target, bits, **options)
        finally:
            altered.close()
    cfg, _keep = _config(target, bits, **options)
    out = ctypes.c_char_p()
    _check(net._lib.tailor_net_estimate_json(net._h, ctypes.byref(cfg), ctypes.byref(out)))
    return Report(json.loads(out.value.decode()))


def compare(before, after, target: str | None = None, bits: int | None = None, **options) -> Comparison:
    """Hardware before/after Tailor: `after` must be an altered copy of `before` (same blocks).
    Same options as :func:`estimate`."""
    before, after = _net(before, "before"), _net(after, "after")
    cfg, _keep = _config(target, bits, **options)
    out = ctypes.c_char_p()
    _check(after._lib.tailor_net_compare_json(before._h, after._h, ctypes.byref(cfg), ctypes.byref(out)))
    return Comparison(json.loads(out.value.decode()))


def fifos(net, target: str | None = None, bits: int | None = None, **options) -> list[dict]:
    """Every FIFO of the network's dataflow design through the struct API (``tailor_net_fifos`` /
    ``tailor_net_fifo``): stream, producer, consumer, role, block, shape, default depth, simulated
    occupancy, hls4ml's would-be maximum, depth under the policy, memory and cost."""
    net = _net(net, "net")
    cfg, _keep = _config(target, bits, **options)
    lib = net._lib
    count = ctypes.c_int64()
    _check(lib.tailor_net_fifos(net._h, ctypes.byref(cfg), ctypes.byref(count)))
    memory = ("none", "srl", "lutram", "bram", "uram", "dram")
    out = []
    for i in range(count.value):
        f = _lib.out_struct(_lib.Fifo)
        _check(lib.tailor_net_fifo(net._h, i, ctypes.byref(f)))
        out.append({"stream": f.stream.decode(), "producer": f.producer.decode(), "consumer": f.consumer.decode(),
                    "role": f.role.decode(), "block": None if f.block < 0 else f.block,
                    "shape": [f.channels, f.height, f.width], "bits": f.bits, "default_depth": f.default_depth,
                    "max_occupancy": None if f.max_occupancy < 0 else f.max_occupancy,
                    "hls4ml_max": None if f.hls4ml_max < 0 else f.hls4ml_max, "depth": f.depth,
                    "memory": memory[f.memory], "port": bool(f.is_port),
                    "cost": {k: getattr(f.cost, k) for k, _ in COST_FIELDS}})
    return out


def simulate_design(design: Mapping[str, Any] | str) -> dict:
    """Simulates a dataflow design given as hls4ml-style layers (a dict or its JSON; see
    docs/hardware.md) and returns every stream's occupancy and the depth FifoDepthOptimization
    would write (``tailor_dataflow_simulate_json``)."""
    text = design if isinstance(design, str) else json.dumps(design)
    lib = _lib.lib()
    out = ctypes.c_char_p()
    _check(lib.tailor_dataflow_simulate_json(text.encode(), ctypes.byref(out)))
    # A per-thread string, valid until this thread's next tailor_* call: .value copies it now.
    return json.loads(out.value.decode())


def estimate_rows(net, **options) -> tuple[list[dict], dict]:
    """The same figures through the struct API (``tailor_net_estimate``): per-skip summary rows
    and totals, without the JSON. Used by C-minded callers and to check both paths agree."""
    net = _net(net, "net")
    options = dict(options)
    cfg, _keep = _config(options.pop("target", "hls4ml"), options.pop("bits", 16), **options)
    lib = net._lib
    count = ctypes.c_int64()
    totals = _lib.out_struct(_lib.HwTotals)
    _check(lib.tailor_net_estimate(net._h, ctypes.byref(cfg), ctypes.byref(count), ctypes.byref(totals)))
    rows = []
    for i in range(count.value):   # the rows stay on the handle until its next estimate
        r = _lib.out_struct(_lib.SkipCost)
        _check(lib.tailor_net_skip_cost(net._h, i, ctypes.byref(r)))
        rows.append(r)
    memory = ("none", "srl", "lutram", "bram", "uram", "dram")
    modes = ("long", "removed", "short")
    def cost(c):
        return {f: getattr(c, f) for f, _ in COST_FIELDS}
    out = [{"block": r.block_name.decode(), "block_index": r.block, "index": r.index, "mode": modes[r.mode],
            "buffer": r.buffer.decode() if r.buffer else None, "shape": [r.channels, r.height, r.width],
            "word_bits": r.word_bits,
            "lag_words": None if r.lag_words < 0 else r.lag_words, "depth_words": r.depth_words,
            "memory": memory[r.memory], "macs": r.macs, "cost": cost(r.cost)} for r in rows]
    tot = {"skips": cost(totals.skips), "rest": cost(totals.rest), "total": cost(totals.total), "macs": totals.macs,
           "latency_us": None if totals.latency_us < 0 else totals.latency_us}
    return out, tot

