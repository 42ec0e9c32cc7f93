"""The one plain-text table renderer of the package (reports, network summaries, the CLI)."""
from __future__ import annotations

from collections.abc import Sequence


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """`headers`, a dashed rule, then `rows`, as columns two spaces apart.

    ``align`` has one letter per column, "l" (left) or "r" (right); columns past its end are left
    aligned, so ``"lll".ljust(len(headers), "r")`` reads "three text columns, then numbers".
    Every line is stripped of trailing blanks. Widths count characters (``len``), which is right
    for the single-width symbols used in the tables (×, Δ, µ).
    """
    if any(a not in "lr" for a in align):
        raise ValueError(f"align must be made of 'l' and 'r', got {align!r}")
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    right = [i < len(align) and align[i] == "r" for i in range(len(headers))]

    def line(cells):
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])
