"""Figures for notebooks and reports (matplotlib, imported only when a function is called).

    tailor.plot.skip_costs(report)                         # per-skip stacked bars (FIFOs, clone, adder, ...)
    tailor.plot.before_after(comparison)                   # per block, before vs after Tailor
    tailor.plot.accuracy_vs_resources([("teacher", 0.82, rep_t), ("removed", 0.81, rep_r)])

Each returns the matplotlib Figure, so ``fig.savefig(path)`` writes it.
"""
from __future__ import annotations

from .estimate import COST_FIELDS, Comparison, Report, _axes


def skip_costs(report: Report, metrics=("bram18", "lut", "ff"), ax=None):
    """Per-skip stacked bars of each part's cost, one panel per metric."""
    return report.plot(metrics=metrics, ax=ax)


def before_after(comparison: Comparison, metrics=("bram18", "lut", "ff"), ax=None):
    """Before/after bars per residual block and for all skips, one panel per metric."""
    return comparison.plot(metrics=metrics, ax=ax)


def accuracy_vs_resources(points, metrics=("bram18", "lut", "ff"), scope: str = "total", ax=None):
    """Accuracy against hardware cost: `points` is a list of (label, accuracy, Report) for the
    same network family on the same target (teacher, removed, shortened, ...). One panel per
    metric, the x axis the design's (``scope="total"``) or the skips' (``"skips"``) cost."""
    points = list(points)
    if not points:
        raise ValueError("accuracy_vs_resources needs at least one (label, accuracy, report) point")
    metrics = list(metrics)
    fig, axes = _axes(metrics, ax)
    names = dict(COST_FIELDS)
    for a, m in zip(axes, metrics):
        for label, acc, rep in points:
            x = rep.totals[scope][m]
            a.scatter([x], [100 * acc if acc <= 1 else acc], s=40)
            a.annotate(label, (x, 100 * acc if acc <= 1 else acc), textcoords="offset points", xytext=(4, 4), fontsize=8)
        a.set_xlabel(f"{names[m]} ({scope}, {points[0][2].target})")
        a.set_ylabel("accuracy (%)")
        a.grid(alpha=0.3)
    fig.tight_layout()
    return fig
