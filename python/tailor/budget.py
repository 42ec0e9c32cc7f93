"""FPGA parts and resource budgets (docs/hardware.md, "Budgets and parts"): does a design fit a device?

    tailor.fpga_parts()                                        # [{"name": "xc7z020", "lut": 53200, ...}, ...]
    chk = tailor.check_budget(net, part="xc7z020", bits=16, depth_policy="optimized")
    chk.fits; chk.rows; print(chk)                             # per field: used, limit, %, over
    tailor.check_budget(net, budget={"bram18": 200, "lut": 40000})
    tailor.check_budget(net, part="xczu3eg", budget={"dsp": 100})    # the part, one limit overridden
    tailor.check_budget(net, target="pe_array", budget={"bytes": 2_000_000, "onchip_kib": 256})

The table and the check are libtailor's (``tailor_fpga_parts_json``, ``tailor_net_budget_check_json``);
this module only passes them through and formats them.
"""
from __future__ import annotations

import copy
import ctypes
import json
from collections.abc import Mapping

from . import _lib, _table
from ._lib import TailorError, _check
from .estimate import _config, _net

#: The fields a budget can limit, in report order: device resources on hls4ml and FINN, off-chip
#: bytes per inference and the on-chip buffer (KiB) on the PE array.
BUDGET_FIELDS = ("bram18", "uram", "lut", "ff", "dsp", "bytes", "onchip_kib")
_HEADERS = {"bram18": "BRAM18", "uram": "URAM", "lut": "LUT", "ff": "FF", "dsp": "DSP", "bytes": "bytes",
            "onchip_kib": "on-chip KiB"}


def fpga_parts() -> list[dict]:
    """The FPGA parts the library knows, one dict per part: name, description, boards, bram18, uram,
    lut, ff, dsp (whole-device totals from the vendor's data sheet) and source (document and table)."""
    out = ctypes.c_char_p()
    _check(_lib.lib().tailor_fpga_parts_json(ctypes.byref(out)))
    return json.loads(out.value.decode())["parts"]


class BudgetCheck:
    """A design's totals against a budget: ``fits``, ``rows`` (one dict per limited field: field,
    used, limit, percent, over, fits), ``totals`` (the estimate's), ``part`` (its table entry or None)."""

    def __init__(self, data: dict):
        self._data = data
        self.target: str = data["target"]
        self.part: dict | None = data["part"]
        self.totals: dict = data["totals"]
        self.fits: bool = data["fits"]
        self.rows: list[dict] = [dict(field=f, **row) for f, row in data["fields"].items()]

    def to_dict(self) -> dict:
        """The check as plain, JSON-ready Python data (a copy)."""
        return copy.deepcopy(self._data)

    def row(self, field: str) -> dict:
        """The row of one limited field ("lut", "bram18", ...)."""
        for r in self.rows:
            if r["field"] == field:
                return r
        raise TailorError(f"budget check: {field!r} is not limited; limited fields: {[r['field'] for r in self.rows]}",
                          status=3, status_name="TAILOR_ERR_NOT_FOUND")

    def _caption(self) -> str:
        where = f"part {self.part['name']}" if self.part else "custom budget"
        return f"{where}, target {self.target}: " + ("fits" if self.fits else "does NOT fit")

    def table(self) -> str:
        """The rows as a text table (field, used, limit, percent, over)."""
        rows = [[_HEADERS[r["field"]], f"{r['used']:,}", f"{r['limit']:,}",
                 "n/a" if r["percent"] is None else f"{r['percent']:.1f}%",
                 f"{r['over']:,}" if r["over"] else "-"] for r in self.rows]
        return self._caption() + "\n" + _table.render(["resource", "used", "limit", "used %", "over by"], rows, align="lrrrr")

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        over = [f"{_HEADERS[r['field']]} +{r['over']:,}" for r in self.rows if r["over"]]
        return f"<tailor.BudgetCheck {self._caption()}" + (f" ({', '.join(over)})" if over else "") + ">"


def _budget_json(part, budget) -> str:
    """The budget as the library reads it: {"part": ...} and/or the limits; checked for type here
    only so that a Python mistake gets a Python-side message (the library checks every value)."""
    if part is None and budget is None:
        raise TailorError("check_budget: give a part (part='xc7z020') and/or limits (budget={'lut': 40000})",
                          status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
    doc = {}
    if part is not None:
        if not isinstance(part, str):
            raise TailorError(f"check_budget: part must be a string such as 'xc7z020', got {type(part).__name__}",
                              status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
        doc["part"] = part
    if budget is not None:
        if not isinstance(budget, Mapping):
            raise TailorError(f"check_budget: budget must be a dict {{field: limit}}, got {type(budget).__name__}",
                              status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
        for k, v in budget.items():
            if k == "part":
                raise TailorError("check_budget: give the part as part=..., not inside budget",
                                  status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
            # bool is an int to Python and a JSON true to the library: say so here, naming the field.
            if v is not None and (isinstance(v, bool) or not hasattr(v, "__index__")):
                raise TailorError(f"budget: {k} must be an integer, got {v!r}",
                                  status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
            doc[str(k)] = None if v is None else int(v)
    return json.dumps(doc)


def check_budget(net, part: str | None = None, budget: Mapping | None = None, target: str | None = None,
                 bits: int | None = None, **hardware_options) -> BudgetCheck:
    """Estimates `net` on `target` (as :func:`tailor.estimate`, with the same ``bits`` and hardware
    options) and checks its totals against a budget.

    part: an FPGA part of :func:`fpga_parts` ("xc7z020", any case, with or without package and speed
    grade: "xc7z020clg400-1"); its BRAM18, URAM, LUT, FF and DSP are the limits. budget: limits by
    field (``BUDGET_FIELDS``: bram18, uram, lut, ff, dsp on hls4ml/FINN; bytes, onchip_kib on the PE
    array), alone or overriding the part's (None lifts one). An unknown part raises NotFoundError;
    an unknown field, a negative limit, or a field the target lacks raises InvalidArgumentError
    naming it.
    """
    net = _net(net, "net")
    text = _budget_json(part, budget).encode()
    cfg, _keep = _config(target, bits, **hardware_options)
    out = ctypes.c_char_p()
    _check(net._lib.tailor_net_budget_check_json(net._h, ctypes.byref(cfg), text, ctypes.byref(out)))
    return BudgetCheck(json.loads(out.value.decode()))
