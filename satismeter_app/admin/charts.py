"""Server-rendered SVG charts for the dashboard, accessible without JavaScript.

Each chart is a ``<figure>``: an ``<svg role="img">`` labelled by its own ``<title>`` and
``<desc>``, and the same numbers as a ``<table>`` in a ``<details>`` below it, for screen
readers, keyboards and copy-paste. Colours come from CSS classes (dashboard.css), which use
the admin's CSS variables, so dark mode works.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 40, 10, 12, 28
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


def _figure(title: str, desc: str, body: SafeString, points: Sequence[Point], column: str) -> str:
    """The chart with its numbers as a table below, for those who cannot see the drawing."""
    context = {
        "ident": f"sm-chart-{next(_ids)}",
        "width": WIDTH,
        "height": HEIGHT,
        "title": title,
        "desc": desc,
        "body": body,
        "column": column,
        "rows": _rows(points),
    }
    return render_to_string("admin/satismeter_app/charts/figure.html", context)


def _rows(points: Sequence[Point]) -> list[tuple[str, str]]:
    return [(p.label, _number(p.value)) for p in points]


def _plot_width(n: int) -> float:
    return (WIDTH - PAD_LEFT - PAD_RIGHT) / max(n, 1)


def _x_labels(points: Sequence[Point], every: int) -> SafeString:
    step = _plot_width(len(points))
    labels = [
        (_f(PAD_LEFT + step * (i + 0.5)), HEIGHT - 8, p.label)
        for i, p in enumerate(points)
        if i % every == 0
    ]
    return format_html_join(
        "", '<text x="{}" y="{}" class="sm-label" text-anchor="middle">{}</text>', labels
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
    drawing = format_html("{}{}{}{}", _axis(), body, labels, _x_labels(points, 1))
    return _figure(title, desc, drawing, points, column)


def nps_line(title: str, desc: str, points: Sequence[Point]) -> str:
    """NPS (−100…100) over time: a line through the periods that have answers."""
    step, plot = _plot_width(len(points)), HEIGHT - PAD_TOP - PAD_BOTTOM

    def y(value: float) -> float:
        return PAD_TOP + (100 - value) / 200 * plot

    grid = format_html_join(
        "",
        '<line class="sm-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="sm-label" x="{}" y="{}" text-anchor="end">{}</text>',
        [
            (PAD_LEFT, WIDTH - PAD_RIGHT, y(v), y(v), PAD_LEFT - 4, y(v) + 4, v)
            for v in (100, 50, 0, -50, -100)
        ],
    )
    xy = [
        (_f(PAD_LEFT + step * (i + 0.5)), _f(y(p.value)), p.label, _number(p.value))
        for i, p in enumerate(points)
        if p.value is not None
    ]
    line = format_html(
        '<polyline class="sm-line" points="{}"/>', " ".join(f"{x},{v}" for x, v, *_ in xy)
    )
    dots = format_html_join(
        "",
        '<circle class="sm-dot" cx="{}" cy="{}" r="3.5"><title>{}: {}</title></circle>',
        xy,
    )
    every = max(1, math.ceil(len(points) / 8))
    body = format_html("{}{}{}{}", grid, line, dots, _x_labels(points, every))
    return _figure(title, desc, body, points, "NPS")
