"""Server-rendered SVG charts for the dashboard, accessible without JavaScript.

Each chart is a ``<figure>``: an ``<svg role="img">`` labelled by its own ``<title>`` and
``<desc>``, and the same numbers as a ``<table>`` in a ``<details>`` below it, for screen
readers, keyboards and copy-paste. Colours come from CSS classes (dashboard.css), which use
the admin's CSS variables, so dark mode works.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count

from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 40, 10, 12, 28
AXIS_SPAN = 20  # the trend's axis spans at least this many NPS points
THIN = 10  # fewer answers than this in a period: a hollow dot
_ids = count(1)


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None
    css: str = ""  # a class for the bar: promoter, passive, detractor


def _f(value: float) -> str:
    return f"{value:.1f}"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _figure(
    title: str, desc: str, body: SafeString, columns: Sequence[str], rows: Sequence[Sequence[str]]
) -> str:
    """The chart with its numbers as a table below, for those who cannot see the drawing."""
    context = {
        "ident": f"sm-chart-{next(_ids)}",
        "width": WIDTH,
        "height": HEIGHT,
        "title": title,
        "desc": desc,
        "body": body,
        "columns": columns,
        "rows": rows,
    }
    return render_to_string("admin/satismeter_app/charts/figure.html", context)


def _plot_width(n: int) -> float:
    return (WIDTH - PAD_LEFT - PAD_RIGHT) / max(n, 1)


def _x_labels(labels: Sequence[str], every: int) -> SafeString:
    step = _plot_width(len(labels))
    shown = [
        (_f(PAD_LEFT + step * (i + 0.5)), HEIGHT - 8, label)
        for i, label in enumerate(labels)
        if i % every == 0
    ]
    return format_html_join(
        "", '<text x="{}" y="{}" class="sm-label" text-anchor="middle">{}</text>', shown
    )


def _axis() -> SafeString:
    bottom = HEIGHT - PAD_BOTTOM
    return format_html(
        '<line class="sm-axis" x1="{}" x2="{}" y1="{}" y2="{}"/>',
        *(PAD_LEFT, WIDTH - PAD_RIGHT, bottom, bottom),
    )


def bars(title: str, desc: str, points: Sequence[Point], column: str) -> str:
    """Vertical bars from zero, e.g. the 0–10 score distribution or the funnel."""
    top = max([p.value or 0 for p in points] + [1])
    step, plot = _plot_width(len(points)), HEIGHT - PAD_TOP - PAD_BOTTOM
    rects, values = [], []
    for i, p in enumerate(points):
        h = (p.value or 0) / top * plot
        x, y = PAD_LEFT + step * i + step * 0.15, PAD_TOP + plot - h
        size = (_f(x), _f(y), _f(step * 0.7), _f(h))
        rects.append((p.css or "bar", *size, p.label, _number(p.value)))
        values.append((_f(x + step * 0.35), _f(y - 3), _number(p.value)))
    body = format_html_join(
        "",
        '<rect class="sm-{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>',
        rects,
    )
    labels = format_html_join(
        "", '<text class="sm-label" x="{}" y="{}" text-anchor="middle">{}</text>', values
    )
    drawing = format_html(
        "{}{}{}{}", _axis(), body, labels, _x_labels([p.label for p in points], 1)
    )
    rows = [(p.label, _number(p.value)) for p in points]
    return _figure(title, desc, drawing, [column], rows)


@dataclass(frozen=True)
class TrendPoint:
    label: str
    nps: float | None  # None: no answers in the period (a gap in the line)
    margin: float | None  # the 95 % margin of error, in points
    answered: int


def _nps_axis(points: Sequence[TrendPoint]) -> tuple[int, int, int]:
    """The lowest and highest NPS the axis shows and the step of its grid: the points with
    their margins, rounded out to the step, at least ``AXIS_SPAN`` apart, within ±100."""
    shown = [p for p in points if p.nps is not None]
    if not shown:
        return -100, 100, 50
    low = min(p.nps - (p.margin or 0) for p in shown if p.nps is not None)
    high = max(p.nps + (p.margin or 0) for p in shown if p.nps is not None)
    middle = (low + high) / 2
    low, high = min(low, middle - AXIS_SPAN / 2), max(high, middle + AXIS_SPAN / 2)
    step = 10 if high - low <= 50 else 25 if high - low <= 120 else 50
    low = max(-100, math.floor(low / step) * step)
    high = min(100, math.ceil(high / step) * step)
    return low, high, step


def _runs(values: Sequence[float | None]) -> list[list[int]]:
    """The indexes of the values, in runs without a gap (None: a period with no answers)."""
    runs: list[list[int]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append(i)
    return [run for run in runs if run]


def nps_line(title: str, desc: str, points: Sequence[TrendPoint]) -> str:
    """NPS over time: a line through the periods that have answers, broken where a period has
    none, in a band of the 95 % margin of error; a hollow dot for a period with fewer than
    ``THIN`` answers. The axis spans the points and their margins."""
    low, high, step = _nps_axis(points)
    step_x, plot = _plot_width(len(points)), HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(i: int) -> str:
        return _f(PAD_LEFT + step_x * (i + 0.5))

    def y(value: float) -> str:
        return _f(PAD_TOP + (high - min(max(value, low), high)) / (high - low) * plot)

    bands, lines = [], []
    for run in _runs([p.nps for p in points]):
        bands.append((_band(run, points, x, y),))
        lines.append((" ".join(f"{x(i)},{y(_value(points[i]))}" for i in run),))
    drawing = format_html(
        "{}{}{}{}{}",
        _grid(range(low, high + 1, step), y),
        format_html_join("", '<polygon class="sm-band" points="{}"/>', bands),
        format_html_join("", '<polyline class="sm-line" points="{}"/>', lines),
        _dots([(i, p.nps, p.answered, _point_title(p)) for i, p in enumerate(points)], x, y),
        _x_labels([p.label for p in points], max(1, math.ceil(len(points) / 8))),
    )
    return _figure(title, desc, drawing, _trend_columns(), [_trend_row(p) for p in points])


def _band(
    run: list[int],
    points: Sequence[TrendPoint],
    x: Callable[[int], str],
    y: Callable[[float], str],
) -> str:
    """The margin band of a run of points: the upper edge left to right, then the lower one
    back; a point alone gets a band as wide as its dot."""
    edges = [(x(i), i) for i in run]
    if len(run) == 1:
        middle = float(x(run[0]))
        edges = [(_f(middle - 4), run[0]), (_f(middle + 4), run[0])]
    upper = [f"{at},{y(_value(points[i]) + (points[i].margin or 0))}" for at, i in edges]
    lower = [f"{at},{y(_value(points[i]) - (points[i].margin or 0))}" for at, i in edges[::-1]]
    return " ".join(upper + lower)


def _grid(ticks: range, y: Callable[[float], str]) -> SafeString:
    """A line and a label for each NPS the axis marks."""
    lines = [
        (PAD_LEFT, WIDTH - PAD_RIGHT, y(v), y(v), PAD_LEFT - 4, _f(float(y(v)) + 4), v)
        for v in ticks
    ]
    return format_html_join(
        "",
        '<line class="sm-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="sm-label" x="{}" y="{}" text-anchor="end">{}</text>',
        lines,
    )


def _value(point: TrendPoint) -> float:
    assert point.nps is not None
    return point.nps


def _dots(
    marks: Sequence[tuple[int, float | None, int, str]],
    x: Callable[[int], str],
    y: Callable[[float], str],
) -> SafeString:
    """A dot per period with a value (index, value, answered, title), hollow for a period
    with fewer than ``THIN`` answers: told by its shape, not only its colour."""
    dots = [
        ("sm-dot-thin" if answered < THIN else "sm-dot", x(i), y(value), title)
        for i, value, answered, title in marks
        if value is not None
    ]
    return format_html_join(
        "", '<circle class="{}" cx="{}" cy="{}" r="3.5"><title>{}</title></circle>', dots
    )


def _point_title(point: TrendPoint) -> str:
    return _("%(period)s: NPS %(nps)s ± %(margin)s (%(answered)s answered)") % {
        "period": point.label,
        "nps": _number(point.nps),
        "margin": _number(point.margin),
        "answered": point.answered,
    }


def _trend_columns() -> list[str]:
    return ["NPS", str(_("± (95 %)")), str(_("Answered"))]


def _trend_row(point: TrendPoint) -> tuple[str, ...]:
    return (point.label, _number(point.nps), _number(point.margin), str(point.answered))


# --- the average of a scale over time -------------------------------------------------------------


@dataclass(frozen=True)
class AveragePoint:
    label: str
    average: float | None  # None: no answers in the period (a gap in the line)
    answered: int


def _average(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def average_line(title: str, desc: str, points: Sequence[AveragePoint], scale: range) -> str:
    """The average answer to a scale or a smiley over time, on the scale's own axis (1–5,
    1–7, 0–10): a line through the periods that have answers, broken where a period has none;
    a hollow dot for a period with fewer than ``THIN`` answers."""
    low, high = scale[0], scale[-1]
    step_x, plot = _plot_width(len(points)), HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(i: int) -> str:
        return _f(PAD_LEFT + step_x * (i + 0.5))

    def y(value: float) -> str:
        return _f(PAD_TOP + (high - min(max(value, low), high)) / max(high - low, 1) * plot)

    values = [p.average for p in points]
    lines = [(" ".join(f"{x(i)},{y(values[i] or 0)}" for i in run),) for run in _runs(values)]
    marks = [(i, p.average, p.answered, _average_title(p)) for i, p in enumerate(points)]
    drawing = format_html(
        "{}{}{}{}",
        _grid(range(low, high + 1, 1 if high - low <= 7 else 2), y),
        format_html_join("", '<polyline class="sm-line" points="{}"/>', lines),
        _dots(marks, x, y),
        _x_labels([p.label for p in points], max(1, math.ceil(len(points) / 8))),
    )
    rows = [(p.label, _average(p.average), str(p.answered)) for p in points]
    return _figure(title, desc, drawing, [_("Average"), _("Answers")], rows)


def _average_title(point: AveragePoint) -> str:
    return _("%(period)s: average %(average)s, %(answered)s answers") % {
        "period": point.label,
        "average": _average(point.average),
        "answered": point.answered,
    }
