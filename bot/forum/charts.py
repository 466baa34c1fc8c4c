"""Charts of published figures as server-rendered SVG: no JavaScript, no fonts to fetch, no inline styles.

Each chart is a string of SVG the report puts straight into the page, so it prints, works with scripts off and
passes the dashboard's ``style-src 'self'`` Content-Security-Policy (presentation attributes such as ``fill`` are
not styles; ``style=`` would be blocked). Each one:

- is readable without colour: every bar has its label and its number (or "fewer than 5") written beside it, a
  hidden figure is a hatched outline with the words, and the NPS groups differ in shading *and* name;
- is announced as one image (``role="img"``) named by its ``<title>`` and described by a ``<desc>`` that reads out
  every figure, while the report also gives each chart a data table;
- fits a 320px phone: a ``viewBox`` 320 units wide drawn at ``width="100%"`` (text stays about 13px), and long
  labels go on their own line(s) above the bar, left-aligned, instead of squeezing it; short ones ("Yes",
  "Agree", a week) sit on the left of their bar;
- escapes every label (question texts and option labels come from YAML files that forum members edit).

Elements carry classes (``chart-bar``, ``chart-hidden``, ``chart-label``, ``chart-value``) so a stylesheet may
restyle them (CSS beats presentation attributes), e.g. for high contrast.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from dataclasses import dataclass
from datetime import date
from typing import List, Optional, Sequence, Tuple

from markupsafe import Markup, escape

from bot.forum.results import Figure, Nps, QuestionResult, Row

WIDTH = 320  # drawn 288px wide on a 320px phone: 15-unit text stays about 13.5px
PAD = 8
FONT_SIZE = 15
CHAR_WIDTH = 8.6  # a generous average advance of 15px sans-serif text, to fit labels without measuring
LINE = 19  # one line of label text
BAR_HEIGHT = 18
GAP = 12  # between one bar and the next label
VALUE_ROOM = 104  # right of the bar: "fewer than 5", "100 (100%)"
HIDDEN_WIDTH = 30  # the hatched placeholder of a hidden figure
LEFT_LABEL_ROOM = 118  # labels this wide or less sit left of their bar; longer ones go on their own line above it
CHARS_PER_LINE = int((WIDTH - 2 * PAD) / CHAR_WIDTH)
FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"
TEXT_FILL = "#1b1b1b"
TRACK_FILL = "#e9edf2"
BAR_FILL = "#1d4f91"
HATCH_STROKE = "#505a64"
NPS_SHADES = {  # dark, middle, light (with an outline): apart in greyscale too, and each bar is named
    "detractors": "#1b2f4d", "passives": "#5b7db1", "promoters": "#c6d6ea",
}
NOT_ANSWERED = "not_answered"
_ID_UNSAFE = re.compile(r"[^a-z0-9-]+")


def long_date(day: date) -> str:
    """``2 November 2026``."""
    return f"{day.day} {day:%B %Y}"


def short_date(day: date) -> str:
    """``2 Nov 2026``: a week's label in a chart."""
    return f"{day.day} {day:%b %Y}"


def percent_text(value: Optional[float]) -> str:
    """``40%``, ``38.5%``; "" when there is no percentage."""
    if value is None:
        return ""
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


def figure_text(figure: Figure, threshold: int) -> str:
    """What a bar says: ``12 (40%)``, ``fewer than 5``, ``not shown``."""
    if figure.count is None:
        return figure.text(threshold)
    share = percent_text(figure.percent)
    return f"{figure.count} ({share})" if share else str(figure.count)


def answer_rows(question: QuestionResult) -> Tuple[Row, ...]:
    """A question's answer rows without the skipped/not-asked cell (it is not a share of those who answered)."""
    return tuple(row for row in question.rows if row.value != NOT_ANSWERED)


@dataclass(frozen=True)
class _Bar:
    label: str
    figure: Figure
    fill: str = BAR_FILL
    outline: bool = False


def bar_chart(title: str, rows: Sequence[Row], threshold: int, *, chart_id: Optional[str] = None,
              description: str = "") -> Markup:
    """Horizontal bars, one per row, each labelled and with its number (or "fewer than 5") written beside it.

    Bars are scaled to 100% when every shown row has a percentage, else to the largest count. ``description``
    starts the ``<desc>``; every figure in words follows it.
    """
    bars = [_Bar(row.label, row.figure) for row in rows]
    return _chart(title, bars, threshold, chart_id=chart_id, description=description)


def nps_chart(title: str, nps: Nps, threshold: int, *, chart_id: Optional[str] = None) -> Markup:
    """The three NPS groups as named bars of three shades, with the score written above them."""
    score = score_text(nps.score)
    heading = f"Net Promoter Score: {score}" if nps.score is not None else \
        "Net Promoter Score: not shown (a group is too small)"
    bars = [
        _Bar("Detractors (0 to 6)", nps.detractors, NPS_SHADES["detractors"]),
        _Bar("Passives (7 to 8)", nps.passives, NPS_SHADES["passives"]),
        _Bar("Promoters (9 to 10)", nps.promoters, NPS_SHADES["promoters"], outline=True),
    ]
    return _chart(title, bars, threshold, chart_id=chart_id, heading=heading,
                  description=f"{heading}. Promoters minus detractors, from -100 to 100.")


def over_time_chart(title: str, weeks: Sequence[Tuple[date, Figure]], threshold: int, *,
                    chart_id: Optional[str] = None) -> Markup:
    """Responses per week, one labelled bar per week (its Monday), scaled to the busiest week.

    Weeks are rows rather than upright columns: twenty-odd columns on a phone would leave no room for a label or
    a number, and every week must say its number ("fewer than 5" included).
    """
    bars = [_Bar(short_date(week), figure) for week, figure in weeks]
    return _chart(title, bars, threshold, chart_id=chart_id, scale_by_count=True,
                  description="Responses in each week, named by the Monday it starts on.")


def question_chart(question: QuestionResult, threshold: int, *, chart_id: Optional[str] = None) -> Optional[Markup]:
    """The chart that suits a question's kind; None for free text (its themes are charted instead) or no rows."""
    chart_id = chart_id or f"chart-{question.id}"
    if question.kind == "free_text":
        return None
    if question.kind == "nps" and question.nps is not None:
        return nps_chart(question.text, question.nps, threshold, chart_id=chart_id)
    rows = answer_rows(question)
    if not rows:
        return None
    base = question.answered.text(threshold)
    return bar_chart(question.text, rows, threshold, chart_id=chart_id,
                     description=f"Answers of the {base} who answered. Percentages are of those who answered.")


# --- drawing ---------------------------------------------------------------------------------------------------

def _chart(title: str, bars: Sequence[_Bar], threshold: int, *, chart_id: Optional[str], description: str = "",
           heading: str = "", scale_by_count: bool = False) -> Markup:
    """Lay out and draw the bars: every position is computed here, so the SVG needs no CSS to look right."""
    ident = _ident(chart_id, title, bars)
    label_room = max((len(bar.label) for bar in bars), default=0) * CHAR_WIDTH + PAD
    left = bool(bars) and label_room <= LEFT_LABEL_ROOM
    bar_x = round(PAD + label_room + 6) if left else PAD
    track = WIDTH - bar_x - VALUE_ROOM - PAD
    scale = _scale(bars, scale_by_count)
    parts: List[str] = []
    y = PAD
    if heading:
        lines = textwrap.wrap(heading, CHARS_PER_LINE - 4)  # bold text is wider
        for number, line in enumerate(lines):
            parts.append(_text(PAD, y + FONT_SIZE + number * LINE, line, "chart-heading", weight="bold"))
        y += len(lines) * LINE + GAP // 2
    hidden_any = False
    for bar in bars:
        if left:  # on the bar's own line, right-aligned against it
            top = y
            parts.append(_text(bar_x - 6, top + FONT_SIZE, bar.label, "chart-label", anchor="end"))
        else:  # on its own line(s) above the bar
            lines = textwrap.wrap(bar.label, CHARS_PER_LINE) or [""]
            for number, line in enumerate(lines):
                parts.append(_text(PAD, y + FONT_SIZE + number * LINE, line, "chart-label"))
            top = y + len(lines) * LINE + 2
        parts.append(f'<rect class="chart-track" x="{bar_x}" y="{top}" width="{track}" height="{BAR_HEIGHT}" '
                     f'fill="{TRACK_FILL}"/>')
        value = figure_text(bar.figure, threshold)
        if bar.figure.count is None:
            hidden_any = True
            parts.append(f'<rect class="chart-hidden" x="{bar_x}" y="{top}" width="{HIDDEN_WIDTH}" '
                         f'height="{BAR_HEIGHT}" fill="url(#{ident}-hatch)" stroke="{HATCH_STROKE}" '
                         f'stroke-dasharray="3 2"/>')
            end = bar_x + HIDDEN_WIDTH
        else:
            length = _length(bar.figure, scale, track)
            outline = f' stroke="{BAR_FILL}"' if bar.outline else ""
            parts.append(f'<rect class="chart-bar" x="{bar_x}" y="{top}" width="{length:.1f}" '
                         f'height="{BAR_HEIGHT}" fill="{bar.fill}"{outline}/>')
            end = bar_x + max(length, 0)
        parts.append(_text(end + 6, top + FONT_SIZE, value, "chart-value"))
        y = top + BAR_HEIGHT + GAP
    height = y - GAP + PAD
    if not bars:
        parts.append(_text(PAD, y + FONT_SIZE, "No figures to show.", "chart-label"))
        height = y + LINE + PAD
    defs = _hatch(ident) if hidden_any else ""
    desc = " ".join(part for part in (description, _figures(bars, threshold)) if part) or "No figures to show."
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="{ident}-title {ident}-desc" font-family="{FONT_FAMILY}" '
        f'font-size="{FONT_SIZE}">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>'
        f'{defs}{"".join(parts)}</svg>'
    )


def _ident(chart_id: Optional[str], title: str, bars: Sequence[_Bar]) -> str:
    """An id unique in the page: the charts share one document, so their title, desc and pattern ids must differ."""
    if chart_id:
        cleaned = _ID_UNSAFE.sub("-", chart_id.lower()).strip("-")
        if cleaned:
            return cleaned if cleaned[0].isalpha() else f"c-{cleaned}"
    digest = hashlib.sha1(repr((title, [(b.label, b.figure) for b in bars])).encode("utf-8")).hexdigest()[:10]
    return f"chart-{digest}"


def _scale(bars: Sequence[_Bar], by_count: bool) -> Optional[int]:
    """None: scale by percentage (0-100); else the largest shown count (bars relative to it)."""
    shown = [bar.figure for bar in bars if bar.figure.count is not None]
    if not by_count and shown and all(f.percent is not None for f in shown):
        return None
    return max((f.count or 0 for f in shown), default=0) or 1


def _length(figure: Figure, scale: Optional[int], track: int) -> float:
    share = (figure.percent or 0.0) / 100 if scale is None else (figure.count or 0) / scale
    length = max(0.0, min(1.0, share)) * track
    return max(length, 2.0) if (figure.count or 0) > 0 else 0.0  # a count of one or more never looks like none


def _hatch(ident: str) -> str:
    return (f'<defs><pattern id="{ident}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="{HATCH_STROKE}" stroke-width="2"/></pattern></defs>')


def _text(x: float, y: float, text: str, css_class: str, *, anchor: str = "start", weight: str = "") -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text class="{css_class}" x="{x:g}" y="{y:g}" fill="{TEXT_FILL}" text-anchor="{anchor}"{bold}>'
            f'{escape(text)}</text>')


def _figures(bars: Sequence[_Bar], threshold: int) -> str:
    """Every figure in words, for the ``<desc>``."""
    return "; ".join(f"{bar.label}: {figure_text(bar.figure, threshold)}" for bar in bars) + ("." if bars else "")


def score_text(score: Optional[int]) -> str:
    """An NPS as people write it: ``+12``, ``0``, ``-5``; "not shown" when suppressed."""
    if score is None:
        return "not shown"
    return f"+{score}" if score > 0 else str(score)
