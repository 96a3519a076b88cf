"""Bar charts drawn on the server as SVG geometry: the template (templates/insights/
_charts.html) draws what these compute. Sizes are in the viewBox's units; the SVG is
width 100%, so a chart shrinks to a phone's width with its proportions, and its text
stays readable because the viewBox is about a phone's width (12-unit text is 11 px at
375 px), and the chart is kept from growing past 34rem on a wide screen. Colours come
from CSS classes (static/baton.css), whose variables follow the light and dark schemes."""

from dataclasses import dataclass

WIDTH = 360
HEIGHT = 180
MARGIN_LEFT = 34
MARGIN_BOTTOM = 24
MARGIN_TOP = 12
# Room on the right for half of the last label under a column, centred on it.
MARGIN_RIGHT = 18


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # a CSS class
    title: str  # the bar's accessible name, and what a pointer is told
    href: str | None = None  # the list behind the bar's number: the bar is a link to it


@dataclass
class Tick:
    position: float
    label: str


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    horizontal: bool = False
    left: int = MARGIN_LEFT
    bottom: int = MARGIN_BOTTOM


def _nice_top(top: float) -> float:
    """The smallest of 1, 2, 5 × 10^n at or above `top` (1 for nothing)."""
    step = 1.0
    while True:
        for factor in (1, 2, 5):
            if factor * step >= top:
                return factor * step
        step *= 10


# A bar's value, CSS class, title and (optionally) the link behind it.
Part = tuple[float, str, str] | tuple[float, str, str, str | None]


def _link(part: Part) -> str | None:
    return part[3] if len(part) > 3 else None  # type: ignore[misc]


def grouped_columns(
    title: str, groups: list[tuple[str, list[Part]]], *,
    every: int = 1,
) -> Chart:
    """Vertical bars, one group per label (a week): each group's (value, series, title,
    link) side by side. Every `every`-th label is written under its group."""
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    top = _nice_top(max((part[0] for _label, parts in groups for part in parts), default=0))
    slot = plot_width / max(1, len(groups))
    bars: list[Bar] = []
    x_ticks: list[Tick] = []
    for n, (label, values) in enumerate(groups):
        inner = slot * 0.8 / max(1, len(values))
        for m, part in enumerate(values):
            value, series, bar_title = part[:3]
            height = plot_height * value / top
            bars.append(Bar(
                x=MARGIN_LEFT + n * slot + slot * 0.1 + m * inner,
                y=MARGIN_TOP + plot_height - height, width=inner, height=height,
                series=series, title=bar_title, href=_link(part)))
        if n % every == 0:
            x_ticks.append(Tick(MARGIN_LEFT + (n + 0.5) * slot, label))
    y_ticks = [Tick(MARGIN_TOP + plot_height * (1 - share), _count(top * share))
               for share in (0, 0.5, 1)]
    return Chart(title=title, bars=bars, x_ticks=x_ticks, y_ticks=y_ticks)


def _count(value: float) -> str:
    return f"{value:g}"


def stacked_rows(
    title: str, rows: list[tuple[str, list[Part]]], *,
    scale_label: str,
) -> Chart:
    """Horizontal bars, one a row (a step), each made of its (value, series, title,
    link) parts end to end; the row's label is written above its bar."""
    row_height = 32
    height = MARGIN_TOP + row_height * max(1, len(rows)) + MARGIN_BOTTOM
    plot_width = WIDTH - 16
    top = max((sum(part[0] for part in parts) for _label, parts in rows), default=0)
    top = top or 1
    bars: list[Bar] = []
    labels: list[Tick] = []
    for n, (label, parts) in enumerate(rows):
        y = MARGIN_TOP + n * row_height
        labels.append(Tick(y + 11, label))
        x = 8.0
        for part in parts:
            value, series, part_title = part[:3]
            width = plot_width * value / top
            bars.append(Bar(x=x, y=y + 15, width=width, height=14, series=series,
                            title=part_title, href=_link(part)))
            x += width
    return Chart(title=title, bars=bars, x_ticks=[Tick(WIDTH - 8, scale_label)],
                 y_ticks=labels, height=height, horizontal=True)
