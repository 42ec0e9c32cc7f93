"""Report.plot / Comparison.plot: one colour per series for the whole figure, one figure legend."""
import pytest

import tailor

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

METRICS = ("bram18", "lut", "ff")


@pytest.fixture
def short_report():
    # Short mode doubles the skips; on hls4ml some components cost nothing in some panels (the clone
    # has no BRAM18 or LUT, the adder no BRAM18), which is what used to shift the colours.
    with tailor.zoo.create("resnet8") as net:
        net.set_modes("short")
        yield tailor.estimate(net, target="hls4ml", bits=16)


@pytest.fixture
def comparison():
    with tailor.zoo.create("resnet8") as net:
        yield tailor.estimate(net, target="hls4ml", plan="remove")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _bar_colours(fig) -> dict[str, set[str]]:
    """{series label: the facecolours of all its bar patches, over every panel}."""
    colours = {}
    for a in fig.axes:
        for bars in a.containers:
            colours.setdefault(bars.get_label(), set()).update(to_hex(p.get_facecolor()) for p in bars.patches)
    return colours


def _drawn(report, metrics=METRICS) -> set[str]:
    """Components with a non-zero figure in at least one of the panels."""
    return {c["name"] for s in report.skips for c in s["components"] if any(c["cost"][m] for m in metrics)}


def _legend_labels(fig) -> list[str]:
    assert len(fig.legends) == 1, "one legend for the whole figure"
    assert not any(a.get_legend() for a in fig.axes), "no per-panel legends besides it"
    return [t.get_text() for t in fig.legends[0].get_texts()]


def _assert_legend_clear_of_panels(fig, legend=None):
    fig.canvas.draw()
    legend = (legend or fig.legends[0]).get_window_extent()
    for a in fig.axes:
        assert not legend.overlaps(a.get_window_extent()), "the legend covers a panel"
    fig_box = fig.bbox
    assert fig_box.x0 <= legend.x0 and legend.x1 <= fig_box.x1 and fig_box.y0 <= legend.y0 and legend.y1 <= fig_box.y1, \
        "the legend is cut off by the figure's edge"


def test_report_one_colour_per_component(short_report):
    fig = short_report.plot()
    colours = _bar_colours(fig)
    assert set(colours) == _drawn(short_report)
    for name, seen in colours.items():
        assert len(seen) == 1, f"{name!r} has colours {seen} across the panels"
    assert len({next(iter(c)) for c in colours.values()}) == len(colours), "two components share a colour"


def test_report_colours_do_not_depend_on_the_metrics_shown(short_report):
    full = {n: c.pop() for n, c in _bar_colours(short_report.plot()).items()}
    for metric in METRICS:
        alone = {n: c.pop() for n, c in _bar_colours(short_report.plot(metrics=(metric,))).items()}
        assert alone == {n: full[n] for n in alone}, metric


def test_report_one_figure_legend_with_every_component(short_report):
    fig = short_report.plot()
    labels = _legend_labels(fig)
    # "clone" only costs FF and "adder" no BRAM18: the first panel alone would miss them.
    assert {"clone", "adder"} <= set(labels)
    assert sorted(labels) == sorted(_drawn(short_report))
    # Legend swatches are the bars' colours.
    colours = {n: c.pop() for n, c in _bar_colours(fig).items()}
    for handle, text in zip(fig.legends[0].legend_handles, fig.legends[0].get_texts()):
        assert to_hex(handle.get_facecolor()) == colours[text.get_text()]
    _assert_legend_clear_of_panels(fig)


def test_comparison_one_colour_per_series_and_one_legend(comparison):
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
    axes[0].plot([0, 1], [0, 1])   # a used axis: the colour cycle no longer starts at "before"'s colour
    out = comparison.plot(ax=axes)
    assert out is fig
    colours = _bar_colours(fig)
    assert set(colours) == {"before", "after"}
    assert all(len(c) == 1 for c in colours.values()) and colours["before"] != colours["after"]
    assert sorted(_legend_labels(fig)) == ["after", "before"]
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine", "the caller's layout is kept"
    _assert_legend_clear_of_panels(fig)


def test_comparison_own_figure(comparison):
    fig = comparison.plot()
    assert sorted(_legend_labels(fig)) == ["after", "before"]
    _assert_legend_clear_of_panels(fig)


def test_callers_axes(short_report):
    # A numpy array of axes, as plt.subplots returns it.
    fig, axes = plt.subplots(2, 2)
    assert short_report.plot(ax=axes) is fig
    assert all(a.containers for a in axes.flat[:3]) and not axes.flat[3].containers
    # One axis per metric at least: fewer would silently drop panels.
    fig, a = plt.subplots()
    with pytest.raises(ValueError, match="3 metrics"):
        short_report.plot(ax=a)
    assert short_report.plot(metrics=("lut",), ax=a) is fig
    # A figure without a layout engine keeps no room for a figure legend: the one legend then hangs
    # off the caller's last axis, still with every component and still clear of the bars.
    assert not fig.legends
    assert sorted(t.get_text() for t in a.get_legend().get_texts()) == sorted(_drawn(short_report, ("lut",)))
    _assert_legend_clear_of_panels(fig, a.get_legend())


def test_bars_keep_headroom(short_report):
    # A zero-height segment on top of the tallest stack used to pin the y axis to the stack's top.
    fig = short_report.plot()
    for a in fig.axes:
        tops = [p.get_y() + p.get_height() for bars in a.containers for p in bars.patches]
        assert a.get_ylim()[1] > max(tops), a.get_title()
