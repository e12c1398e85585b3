"""Bar charts as geometry for an inline SVG template (no script, no chart library): the
template draws the bars and prints the same numbers in a table beside each chart."""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH, HEIGHT = 320, 180
LEFT, BOTTOM, TOP = 8, 28, 18  # margins for labels


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    x: float
    y: float
    width: float
    height: float


@dataclass
class Chart:
    title: str
    unit: str
    fmt: str
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - BOTTOM
    bars: list[Bar] = field(default_factory=list)

    @property
    def description(self) -> str:
        parts = [f"{b.label}: {'no data' if b.value is None else b.value}" for b in self.bars]
        return f"{self.title} in {self.unit}, per environment: " + "; ".join(parts)


def bar_chart(title: str, unit: str, values: list[tuple[str, float | None]],
              fmt: str) -> Chart:
    """One bar per (label, value); bars scale to the largest value (None: no bar)."""
    chart = Chart(title, unit, fmt)
    top = max((v for _, v in values if v is not None), default=0.0) or 1.0
    slot = (WIDTH - 2 * LEFT) / max(len(values), 1)
    span = HEIGHT - BOTTOM - TOP
    for i, (label, value) in enumerate(values):
        height = 0.0 if value is None else span * value / top
        chart.bars.append(Bar(label, value, LEFT + i * slot + slot * 0.15,
                              HEIGHT - BOTTOM - height, slot * 0.7, height))
    return chart
