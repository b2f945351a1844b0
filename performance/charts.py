"""Chart geometry for the dashboard's inline SVG: numbers already aggregated by the database become bar lengths.

The page draws each chart in its template from these shapes (no script, no inline style: the CSP allows neither);
the colours are classes of the dashboard's stylesheet. Every chart has its table beside it.
"""

import datetime
from dataclasses import dataclass, field

BAR_WIDTH = 1000  # a bar's viewBox width; the SVG stretches to the column it sits in
COLUMN_HEIGHT = 100


@dataclass
class Segment:
    value: float
    css: str
    x: float = 0
    width: float = 0


@dataclass
class Bar:
    label: str
    text: str
    segments: list[Segment]
    key: str = ""


def hbars(bars: list[Bar], *, scale: float | None = None) -> list[Bar]:
    """Lay each bar's segments end to end, scaled so that the longest bar (or `scale`) fills the width."""
    longest = scale or max((sum(s.value for s in bar.segments) for bar in bars), default=0) or 1
    for bar in bars:
        x = 0.0
        for segment in bar.segments:
            segment.x = round(x, 2)
            segment.width = round(BAR_WIDTH * max(segment.value, 0) / longest, 2)
            x += segment.width
    return bars


@dataclass
class ColumnPart:
    css: str
    y: float
    height: float


@dataclass
class Column:
    day: datetime.date
    total: int
    x: float
    parts: list[ColumnPart] = field(default_factory=list)


@dataclass
class ColumnChart:
    width: int
    height: int
    columns: list[Column]
    highest: int


def stacked_columns(days: list[datetime.date], series: list[tuple[str, dict]]) -> ColumnChart:
    """One column per day, stacked by series: `series` is [(css class, {day: count})]."""
    totals = {day: sum(counts.get(day, 0) for _css, counts in series) for day in days}
    highest = max(totals.values(), default=0) or 1
    columns = []
    for index, day in enumerate(days):
        column = Column(day=day, total=totals[day], x=index * 10 + 1)
        bottom = float(COLUMN_HEIGHT)
        for css, counts in series:
            value = counts.get(day, 0)
            if value:
                height = round(COLUMN_HEIGHT * value / highest, 2)
                bottom -= height
                column.parts.append(ColumnPart(css=css, y=round(bottom, 2), height=height))
        columns.append(column)
    return ColumnChart(width=max(len(days), 1) * 10, height=COLUMN_HEIGHT, columns=columns,
                       highest=max(totals.values(), default=0))
