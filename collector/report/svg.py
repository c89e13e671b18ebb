"""Chart primitives drawn as inline SVG on the server: horizontal (stacked) bars and a timeline.

Every chart has a ``<title>`` and a ``<desc>`` (read by screen readers, referenced by
``aria-labelledby``), axis titles, and colours from the Okabe-Ito palette, which stays distinct
under the common colour-vision deficiencies; a hatched fill tells one series apart in greyscale print
too. Charts are drawn on a 720-unit-wide ``viewBox`` and scale with the page (screen or A4).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from collector.report.markup import Markup, element

WIDTH = 720
FONT = 12
CHAR = 6.8  # average width of a character at FONT, for fitting labels (no font metrics on a server)
ROW = 26
BAR = 16
AXIS_SPACE = 46  # below the rows: tick labels and the axis title
LEGEND = 26
LABEL_MAX = 270  # widest row label column; longer labels are shortened, the full text in a tooltip

INK = "#1f2937"
MUTED = "#4b5563"
GRID = "#e5e7eb"
# Okabe-Ito: distinguishable with deuteranopia, protanopia and tritanopia.
BLUE = "#0072B2"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
SKY = "#56B4E9"
GREEN = "#009E73"
PURPLE = "#CC79A7"


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    hatched: bool = False
    text_colour: str = "#ffffff"  # of labels drawn inside its segments


@dataclass(frozen=True)
class BarRow:
    label: str
    values: tuple[float, ...]  # one per series, stacked left to right
    note: str  # printed after the bar
    segment_labels: tuple[str | None, ...] = ()  # printed inside a segment when they fit
    detail: str = ""  # printed after the note, in a lighter colour


@dataclass(frozen=True)
class TimelineRow:
    label: str
    deadline: date
    end: date
    note: str
    flagged: bool  # the note is a warning (unused seats)
    tooltip: str


def _text_width(text: str, size: float = FONT) -> float:
    return len(text) * CHAR * size / FONT


def fit(text: str, width: float, size: float = FONT) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` units."""
    if _text_width(text, size) <= width + 0.5:  # + 0.5: float rounding must not cut a label that fits
        return text
    room = max(int(width / (CHAR * size / FONT)), 4)
    return text[: room - 1].rstrip() + "…"


def nice_ticks(top: float, target: int = 5) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 times a power of ten) up to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    count = math.ceil(top / step - 1e-9)
    return [i * step for i in range(count + 1)]


def _frame(chart_id: str, title: str, desc: str, height: float, *body: Markup) -> Markup:
    return element(
        "svg",
        element("title", title, id=f"{chart_id}-title"),
        element("desc", desc, id=f"{chart_id}-desc"),
        *body,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {WIDTH} {math.ceil(height)}",
        width=WIDTH,
        height=math.ceil(height),
        role="img",
        aria_labelledby=f"{chart_id}-title {chart_id}-desc",
        class_="chart",
        id=chart_id,
        font_size=FONT,
    )


def _text(x: float, y: float, *content: str, **attrs: object) -> Markup:
    return element("text", *content, x=round(x, 1), y=round(y, 1), fill=attrs.pop("fill", INK), **attrs)


def _y_title(text: str, x0: float) -> Markup:
    """The axis title of the row labels, as a column header above them (a rotated title would not fit
    a chart of two rows)."""
    return _text(x0 - 8, 16.5, text, text_anchor="end", fill=MUTED, font_weight="600")


def _hatch_id(chart_id: str, index: int) -> str:
    return f"{chart_id}-hatch-{index}"


def _fill(chart_id: str, series: Series, index: int) -> str:
    return f"url(#{_hatch_id(chart_id, index)})" if series.hatched else series.colour


def _patterns(chart_id: str, series: Sequence[Series]) -> Markup:
    patterns = [
        element(
            "pattern",
            element("rect", width=6, height=6, fill="#ffffff"),
            element("line", x1=0, y1=0, x2=0, y2=6, stroke=s.colour, stroke_width=3),
            id=_hatch_id(chart_id, i),
            width=6,
            height=6,
            patternUnits="userSpaceOnUse",
            patternTransform="rotate(45)",
        )
        for i, s in enumerate(series)
        if s.hatched
    ]
    return element("defs", *patterns) if patterns else Markup("")


def _legend(chart_id: str, series: Sequence[Series], x: float) -> Markup:
    items = []
    for i, s in enumerate(series):
        items.append(
            element("rect", x=round(x), y=6, width=12, height=12, fill=_fill(chart_id, s, i), stroke=s.colour)
        )
        items.append(_text(x + 17, 16.5, s.name))
        x += 17 + _text_width(s.name) + 18
    return element("g", *items, class_="legend")


def empty_chart(chart_id: str, title: str, message: str) -> Markup:
    """A chart with nothing to draw yet: the frame, its title and the reason, so the page keeps its shape."""
    height = 70
    return _frame(
        chart_id,
        title,
        message,
        height,
        element("rect", x=0.5, y=0.5, width=WIDTH - 1, height=height - 1, fill="#f9fafb", stroke=GRID, rx=6),
        _text(WIDTH / 2, height / 2 + 4, message, text_anchor="middle", fill=MUTED),
    )


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[BarRow],
    series: Sequence[Series],
    x_title: str,
    y_title: str,
    tick_label: Callable[[float], str],
) -> Markup:
    """Horizontal bars, one per row, stacked by series, with a value axis at the bottom."""
    label_w = min(
        max(max((_text_width(r.label) for r in rows), default=60), _text_width(y_title)) + 10, LABEL_MAX
    )
    note_w = min(
        max(max((_text_width(r.note) + _text_width(r.detail, 11) for r in rows), default=20) + 16, 50), 250
    )
    x0 = 4 + label_w
    plot_w = WIDTH - x0 - note_w - 4
    top = LEGEND
    bottom = top + ROW * len(rows)
    ticks = nice_ticks(max((sum(r.values) for r in rows), default=0))
    scale = plot_w / ticks[-1]
    parts: list[Markup] = [_patterns(chart_id, series)]
    if len(series) > 1:
        parts.append(_legend(chart_id, series, x0))
    for tick in ticks:
        x = x0 + tick * scale
        parts.append(element("line", x1=round(x, 1), y1=top, x2=round(x, 1), y2=bottom + 4, stroke=GRID))
        parts.append(_text(x, bottom + 17, tick_label(tick), text_anchor="middle", fill=MUTED, font_size=11))
    parts.append(element("line", x1=x0, y1=top, x2=x0, y2=bottom, stroke=MUTED))
    for n, row in enumerate(rows):
        y = top + n * ROW + (ROW - BAR) / 2
        parts.append(_label(x0 - 8, y + BAR - 4, fit(row.label, label_w - 10), row.label))
        x = float(x0)
        for i, value in enumerate(row.values):
            if value <= 0:
                continue
            width = value * scale
            s = series[i]
            inside = row.segment_labels[i] if i < len(row.segment_labels) else None
            tooltip = f"{row.label}: {s.name}" + (f" ({inside})" if inside else "")
            parts.append(
                element(
                    "rect",
                    element("title", tooltip),
                    x=round(x, 2),
                    y=round(y, 1),
                    width=round(max(width, 0.5), 2),
                    height=BAR,
                    fill=_fill(chart_id, s, i),
                    stroke=s.colour if s.hatched else None,
                )
            )
            shown = _inside(inside, width)
            if shown:
                colour = INK if s.hatched else s.text_colour
                parts.append(
                    _text(x + width / 2, y + BAR - 4, shown, text_anchor="middle", fill=colour, font_size=11)
                )
            x += width
        note = _text(x + 6, y + BAR - 4, row.note, class_="value")
        if row.detail:
            note = _text(
                x + 6,
                y + BAR - 4,
                element("tspan", row.note, class_="value"),
                element("tspan", "  " + row.detail, fill=MUTED, font_size=11),
            )
        parts.append(note)
    parts.append(_text(x0 + plot_w / 2, bottom + 38, x_title, text_anchor="middle", fill=MUTED))
    parts.append(_y_title(y_title, x0))
    return _frame(chart_id, title, desc, bottom + AXIS_SPACE, *parts)


def _inside(label: str | None, width: float) -> str | None:
    """A segment's label if it fits in the segment, else its first word (the number), else nothing."""
    for text in (label, label.split()[0] if label else None):
        if text and _text_width(text, 11) + 8 <= width:
            return text
    return None


def _label(x: float, y: float, shown: str, full: str) -> Markup:
    """A row label, right-aligned; a shortened one carries the full text as its tooltip."""
    tooltip = element("title", full) if shown != full else None
    return element("text", tooltip, shown, x=round(x, 1), y=round(y, 1), fill=INK, text_anchor="end")


def _months(start: date, end: date) -> list[date]:
    """The first day of every month after ``start`` up to ``end``."""
    months: list[date] = []
    year, month = start.year, start.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        first = date(year, month, 1)
        if first > end:
            return months
        months.append(first)


def timeline_chart(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[TimelineRow],
    start: date,
    end: date,
    x_title: str,
    y_title: str,
) -> Markup:
    """One row per term on a time axis from ``start`` (today) to ``end``: the notice deadline (a
    diamond), the term end (a circle), the notice period between them, and a note after the axis."""
    label_w = min(
        max(max((_text_width(r.label) for r in rows), default=60), _text_width(y_title)) + 10, LABEL_MAX
    )
    note_w = min(max(max((_text_width(r.note) for r in rows), default=20) + 12, 50), 150)
    x0 = 4 + label_w
    plot_w = WIDTH - x0 - note_w - 10
    top = LEGEND
    bottom = top + ROW * len(rows)
    span = max((end - start).days, 1)

    def x_of(day: date) -> float:
        return x0 + min(max((day - start).days, 0), span) / span * plot_w

    series = [
        Series("notice deadline", VERMILLION),
        Series("term ends", BLUE),
    ]
    parts: list[Markup] = [_timeline_legend(series, x0, start)]
    for n, month in enumerate(_months(start, end)):
        x = x_of(month)
        parts.append(element("line", x1=round(x, 1), y1=top, x2=round(x, 1), y2=bottom + 4, stroke=GRID))
        if n % 2 == 0:
            parts.append(
                _text(x, bottom + 17, month.strftime("%Y-%m"), text_anchor="middle", fill=MUTED, font_size=11)
            )
    parts.append(element("line", x1=x0, y1=top - 4, x2=x0, y2=bottom + 4, stroke=INK, stroke_dasharray="3 3"))
    for n, row in enumerate(rows):
        middle = top + n * ROW + ROW / 2
        if n % 2 == 1:
            parts.append(
                element("rect", x=x0, y=middle - ROW / 2, width=round(plot_w, 1), height=ROW, fill="#f9fafb")
            )
        parts.append(_label(x0 - 8, middle + 4, fit(row.label, label_w - 10), row.label))
        a, b = x_of(row.deadline), x_of(row.end)
        parts.append(
            element(
                "line",
                element("title", row.tooltip),
                x1=round(a, 1),
                y1=middle,
                x2=round(b, 1),
                y2=middle,
                stroke=SKY,
                stroke_width=6,
                stroke_linecap="round",
            )
        )
        if row.end > end:
            parts.append(element("path", d=f"M{b - 1:.1f} {middle - 6} l7 6 l-7 6 z", fill=BLUE))
        else:
            parts.append(
                element(
                    "circle",
                    element("title", row.tooltip),
                    cx=round(b, 1),
                    cy=middle,
                    r=5.5,
                    fill=BLUE,
                    stroke="#ffffff",
                    stroke_width=1.5,
                )
            )
        if row.deadline >= start:
            parts.append(
                element(
                    "path",
                    element("title", row.tooltip),
                    d=f"M{a:.1f} {middle - 7} l7 7 l-7 7 l-7 -7 z",
                    fill=VERMILLION,
                    stroke="#ffffff",
                    stroke_width=1.5,
                )
            )
        note_colour = VERMILLION if row.flagged else MUTED
        parts.append(
            _text(
                x0 + plot_w + 12,
                middle + 4,
                row.note,
                fill=note_colour,
                font_weight="600" if row.flagged else None,
            )
        )
    parts.append(_text(x0 + plot_w / 2, bottom + 40, x_title, text_anchor="middle", fill=MUTED))
    parts.append(_y_title(y_title, x0))
    return _frame(chart_id, title, desc, bottom + AXIS_SPACE, *parts)


def _timeline_legend(series: Sequence[Series], x: float, today_date: date) -> Markup:
    diamond = element("path", d=f"M{x + 6:.1f} 5 l6 6 l-6 6 l-6 -6 z", fill=series[0].colour)
    first = _text(x + 17, 15.5, series[0].name)
    x2 = x + 17 + _text_width(series[0].name) + 18
    circle = element("circle", cx=round(x2 + 6, 1), cy=11, r=5.5, fill=series[1].colour)
    second = _text(x2 + 17, 15.5, series[1].name)
    x3 = x2 + 17 + _text_width(series[1].name) + 18
    period = element(
        "line",
        x1=round(x3, 1),
        y1=11,
        x2=round(x3 + 18, 1),
        y2=11,
        stroke=SKY,
        stroke_width=6,
        stroke_linecap="round",
    )
    third = _text(x3 + 25, 15.5, "notice period")
    x4 = x3 + 25 + _text_width("notice period") + 18
    today = element("line", x1=round(x4, 1), y1=4, x2=round(x4, 1), y2=18, stroke=INK, stroke_dasharray="3 3")
    fourth = _text(x4 + 6, 15.5, f"today, {today_date.isoformat()}")
    return element("g", diamond, first, circle, second, period, third, today, fourth, class_="legend")
