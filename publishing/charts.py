"""Bar charts as inline SVG, drawn on the server for the oversight hub (dashboard, feedback analytics).

One function lays out labelled categories with stacked series and returns markup that templates
print as is: no chart library, no script, no build step. Every label is escaped here, because
task titles, model names and reason codes reach it from users and the catalog. Colours are not
written into the markup: each series carries a class (`chart__tone--<tone>`) that the stylesheet
`publishing/static/publishing/dashboard.css` colours, so the charts follow the admin's light and
dark themes. This module imports nothing from the project.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = int | float | Decimal

WIDTH = 560  # user units; the SVG scales to its card, so this sets the text's size relative to it
PLOT_HEIGHT = 180
MARGIN_LEFT = 56
MARGIN_RIGHT = 12
MARGIN_TOP = 8
AXIS_BAND = 44  # below the plot: tick labels, then the axis title
LEGEND_ROW = 18
LEGEND_SWATCH = 10
CHAR_WIDTH = 6.4  # an average letter of the 11-unit font, to shorten category labels
TICKS = 4  # at most, above zero


@dataclass(frozen=True)
class Series:
    """One stacked layer: a value per category, a legend label and a tone class for its colour."""

    label: str
    values: Sequence[Number]
    tone: str = ""


def bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    tick_labels: Sequence[str] | None = None,
    value_format: Callable[[Number], str] = str,
    empty_text: str = "Nothing in this period",
    width: int = WIDTH,
) -> SafeString:
    """An accessible stacked bar chart: one bar per category, one segment per non-zero series value.

    `categories` name the bars in full (tooltips); `tick_labels` (same length, "" for none) are the
    shorter texts under the axis, when every category's own name would crowd it. The chart is an
    image to assistive technology (`role="img"`) with `title` and the totals as its label; each bar
    and segment has a `<title>` tooltip. `width` is in user units: a wider chart in the same card
    draws its text smaller.
    """
    if any(len(layer.values) != len(categories) for layer in series):
        raise ValueError("every series needs one value per category")
    ticks_text = list(tick_labels) if tick_labels is not None else list(categories)
    totals = [sum((Decimal(str(layer.values[i])) for layer in series), Decimal(0)) for i in range(len(categories))]
    integral = all(isinstance(value, int) for layer in series for value in layer.values)
    top, step = _axis_top(max(totals, default=Decimal(0)), integral=integral)

    legend, legend_height = _legend(series, width)
    plot_top = MARGIN_TOP + legend_height
    height = plot_top + PLOT_HEIGHT + AXIS_BAND
    plot_width = width - MARGIN_LEFT - MARGIN_RIGHT
    slot = plot_width / max(len(categories), 1)
    bar_width = max(2.0, min(slot * 0.72, 56.0))

    def y(value: Decimal) -> float:
        return plot_top + PLOT_HEIGHT - float(value / top) * PLOT_HEIGHT

    parts = [legend]
    # Grid lines and y tick labels.
    for index in range(int(top / step) + 1):
        value = step * index
        line_y = y(value)
        parts.append(
            f'<line class="chart__grid" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" '
            f'y1="{line_y:.1f}" y2="{line_y:.1f}"/>'
            f'<text class="chart__tick" x="{MARGIN_LEFT - 6}" y="{line_y + 4:.1f}" text-anchor="end">'
            f"{escape(value_format(_plain(value, integral)))}</text>"
        )
    # Bars. A tick label may use the room up to the next label, when only some categories have one.
    labelled = [index for index, text in enumerate(ticks_text) if text]
    spacing = min((b - a for a, b in zip(labelled, labelled[1:])), default=1)
    max_chars = max(1, int(slot * spacing / CHAR_WIDTH) - 1)
    for index, category in enumerate(categories):
        x = MARGIN_LEFT + slot * index + (slot - bar_width) / 2
        summary = f"{category}: {value_format(_plain(totals[index], integral))}"
        parts.append(f'<g class="chart__bar"><title>{escape(summary)}</title>')
        # A full-height, transparent target, so that a day with nothing still answers a hover.
        parts.append(
            f'<rect class="chart__hit" x="{x:.1f}" y="{plot_top}" width="{bar_width:.1f}" height="{PLOT_HEIGHT}"/>'
        )
        base = Decimal(0)
        for position, layer in enumerate(series):
            value = Decimal(str(layer.values[index]))
            if value <= 0:
                continue
            y_top, y_bottom = y(base + value), y(base)
            text = f"{category} — {layer.label}: {value_format(layer.values[index])}"
            parts.append(
                f'<rect class="chart__segment {_tone_class(layer, position)}" x="{x:.1f}" y="{y_top:.1f}" '
                f'width="{bar_width:.1f}" height="{max(y_bottom - y_top, 0.5):.1f}">'
                f"<title>{escape(text)}</title></rect>"
            )
            base += value
        parts.append("</g>")
        tick = ticks_text[index]
        if tick:
            shown = tick if len(tick) <= max_chars else tick[: max(1, max_chars - 1)] + "…"
            parts.append(
                f'<text class="chart__tick" x="{x + bar_width / 2:.1f}" y="{plot_top + PLOT_HEIGHT + 15}" '
                f'text-anchor="middle">{escape(shown)}</text>'
            )
    # Axes and their titles.
    axis_y = plot_top + PLOT_HEIGHT
    parts.append(
        f'<line class="chart__axis" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" y1="{axis_y}" y2="{axis_y}"/>'
        f'<text class="chart__axis-label" x="{MARGIN_LEFT + plot_width / 2:.1f}" y="{height - 6}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text class="chart__axis-label" x="12" y="{plot_top + PLOT_HEIGHT / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {plot_top + PLOT_HEIGHT / 2:.1f})">{escape(y_label)}</text>'
    )
    grand_total = sum(totals, Decimal(0))
    if grand_total == 0:
        parts.append(
            f'<text class="chart__empty" x="{MARGIN_LEFT + plot_width / 2:.1f}" '
            f'y="{plot_top + PLOT_HEIGHT / 2:.1f}" text-anchor="middle">{escape(empty_text)}</text>'
        )
    label = f"{title}. Total: {value_format(_plain(grand_total, integral))}"
    if len(series) > 1:
        by_series = ", ".join(
            f"{layer.label} {value_format(_plain(sum((Decimal(str(v)) for v in layer.values), Decimal(0)), integral))}"
            for layer in series
        )
        label = f"{label} ({by_series})"
    svg = (
        f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every text above went through escape()


def _legend(series: Sequence[Series], width: int) -> tuple[str, int]:
    """Legend entries in rows across the top; returns the markup and the height it takes."""
    parts, x, row = [], MARGIN_LEFT, 0
    for position, layer in enumerate(series):
        entry_width = LEGEND_SWATCH + 5 + _text_width(layer.label) + 14
        if x + entry_width > width - MARGIN_RIGHT and x > MARGIN_LEFT:
            x, row = MARGIN_LEFT, row + 1
        y = MARGIN_TOP + row * LEGEND_ROW
        parts.append(
            f'<g class="chart__legend-item"><rect class="{_tone_class(layer, position)}" x="{x:.1f}" y="{y}" '
            f'width="{LEGEND_SWATCH}" height="{LEGEND_SWATCH}" rx="2"/>'
            f'<text class="chart__legend" x="{x + LEGEND_SWATCH + 5:.1f}" y="{y + 9}">{escape(layer.label)}</text></g>'
        )
        x += entry_width
    rows = row + 1 if series else 0
    return f'<g class="chart__legend-box">{"".join(parts)}</g>', rows * LEGEND_ROW + 6


def _text_width(text: str) -> float:
    """About how wide `text` is at the 11-unit font: narrow, wide and other letters (no font metrics here)."""
    narrow, wide = set("fijlrtI.,:;'| ()-"), set("mwMW@%")
    return sum(3.4 if char in narrow else 9.5 if char in wide else 7.6 if char.isupper() else 6.1 for char in text)


def _tone_class(layer: Series, position: int) -> str:
    tone = layer.tone or f"s{position % 8 + 1}"
    return f"chart__tone--{escape(tone)}"


def _axis_top(maximum: Decimal, *, integral: bool) -> tuple[Decimal, Decimal]:
    """A round top for the y axis and the step between its ticks (1, 2 or 5 times a power of ten)."""
    if maximum <= 0:
        return Decimal(TICKS), Decimal(1)
    raw = float(maximum) / TICKS
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integral:
        step = max(1, math.ceil(step))
    step_decimal = Decimal(str(step))
    return step_decimal * math.ceil(maximum / step_decimal), step_decimal


def _plain(value: Decimal, integral: bool) -> Number:
    """Axis and total values in the type the caller's formatter expects."""
    return int(value) if integral else value
