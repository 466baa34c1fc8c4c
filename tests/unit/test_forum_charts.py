"""Server-rendered SVG charts (issue #8): valid XML, named and described for screen readers, readable without
colour, no inline styles (the dashboard's CSP), every label escaped, hidden figures in words."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from typing import List

import pytest

from bot.forum.charts import (
    WIDTH, bar_chart, figure_text, nps_chart, over_time_chart, percent_text, question_chart, score_text,
)
from bot.forum.results import SECONDARY, SMALL, Figure, Nps, QuestionResult, Row

SVG = "{http://www.w3.org/2000/svg}"
T = 5
HOSTILE = '<b>"Tom" & Jerry\'s</b> </svg><script>alert(1)</script>'


def fig(count: int, percent: float) -> Figure:
    return Figure(count, percent)


SMALL_FIGURE = Figure(None, hidden=SMALL)
SECONDARY_FIGURE = Figure(None, hidden=SECONDARY)
ROWS = (
    Row("1", "Strongly disagree", SMALL_FIGURE),
    Row("2", "Disagree", SECONDARY_FIGURE),
    Row("3", "Not sure", fig(0, 0.0)),
    Row("4", "Agree", fig(12, 40.0)),
    Row("5", "Strongly agree", fig(14, 46.7)),
)
LIKERT = QuestionResult(id="help_when_needed", text="I get the help I need, when I need it.", kind="likert",
                        area="Access", answered=fig(30, 100.0), rows=ROWS + (Row("not_answered", "Not answered",
                                                                                 fig(6, None)),),
                        not_answered=fig(6, None), mean=None)
NPS = Nps(promoters=fig(12, 40.0), passives=SMALL_FIGURE, detractors=fig(14, 46.7), score=None)
WEEKS = ((date(2026, 11, 2), fig(12, None)), (date(2026, 11, 9), SMALL_FIGURE), (date(2027, 1, 4), fig(7, None)))


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element) -> List[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def all_charts() -> List[str]:
    return [
        str(bar_chart("Answers", ROWS, T, chart_id="bars")),
        str(nps_chart("Tell a friend", NPS, T, chart_id="nps")),
        str(over_time_chart("Responses each week", WEEKS, T, chart_id="weeks")),
        str(question_chart(LIKERT, T)),
        str(bar_chart(HOSTILE, [Row("x", HOSTILE, fig(3, 10.0))], T)),
        str(bar_chart("Nothing yet", [], T)),
    ]


@pytest.mark.parametrize("index", range(6))
def test_every_chart_is_an_svg_image_named_and_described(index: int) -> None:
    svg = all_charts()[index]
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("viewBox").startswith(f"0 0 {WIDTH} ")
    assert root.get("height") is None  # the viewBox gives the shape; width 100% fits any phone
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None and title.text and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert list(root)[0] is title


@pytest.mark.parametrize("index", range(6))
def test_no_chart_has_an_inline_style_or_loads_anything(index: int) -> None:
    svg = all_charts()[index]
    assert not re.search(r"\bstyle\s*=", svg)
    assert "<style" not in svg
    root = parse(svg)
    for element in root.iter():
        assert "style" not in element.attrib
        for name, value in element.attrib.items():
            assert "href" not in name
            if value.startswith("url("):
                assert value.startswith("url(#"), value  # only the chart's own hatch pattern
    assert "<script" not in svg and "<image" not in svg and "<foreignObject" not in svg


def test_hidden_figures_are_hatched_and_said_in_words() -> None:
    root = parse(str(bar_chart("Answers", ROWS, T, chart_id="bars")))
    words = texts(root)
    assert "fewer than 5" in words
    assert "not shown" in words
    hidden = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-hidden"]
    assert len(hidden) == 2
    pattern = root.find(f".//{SVG}pattern")
    assert pattern is not None
    assert all(r.get("fill") == f"url(#{pattern.get('id')})" for r in hidden)
    desc = root.find(f"{SVG}desc").text
    assert "Strongly disagree: fewer than 5" in desc and "Disagree: not shown" in desc
    assert "Agree: 12 (40%)" in desc


def test_every_bar_has_its_label_and_its_number() -> None:
    root = parse(str(bar_chart("Answers", ROWS, T, chart_id="bars")))
    words = texts(root)
    for row in ROWS:
        assert row.label in words
    assert "12 (40%)" in words and "14 (46.7%)" in words and "0 (0%)" in words
    bars = {r.get("width") for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-bar"}
    assert "0.0" in bars  # a count of nought draws no bar, but still says 0


def test_bars_scale_to_one_hundred_percent() -> None:
    root = parse(str(bar_chart("Half", [Row("a", "A", fig(5, 50.0)), Row("b", "B", fig(5, 100.0))], T)))
    tracks = [float(r.get("width")) for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-track"]
    bars = [float(r.get("width")) for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-bar"]
    assert bars[1] == pytest.approx(tracks[1]) and bars[0] == pytest.approx(tracks[0] / 2, abs=0.1)


def test_labels_are_escaped_and_read_back_as_written() -> None:
    svg = str(bar_chart(HOSTILE, [Row("x", HOSTILE, fig(3, 10.0))], T))
    assert "<script>" not in svg and "<b>" not in svg
    root = parse(svg)
    assert root.find(f"{SVG}title").text == HOSTILE
    assert " ".join(texts(root)[:-1]) == HOSTILE  # wrapped onto lines, every character kept


def test_long_labels_wrap_above_the_bar_and_stay_inside_the_chart() -> None:
    label = "My child got the right help at the right time, at school and at home, every single day"
    root = parse(str(bar_chart("Long", [Row("a", label, fig(9, 90.0))], T)))
    lines = [t for t in root.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    assert len(lines) >= 2
    assert all(float(t.get("x")) >= 0 and t.get("text-anchor") == "start" for t in lines)
    height = float(root.get("viewBox").split()[3])
    assert all(0 < float(t.get("y")) <= height for t in root.iter(f"{SVG}text"))


def test_short_labels_sit_left_of_their_bars() -> None:
    root = parse(str(bar_chart("Yes or no", [Row("yes", "Yes", fig(9, 60.0)), Row("no", "No", fig(6, 40.0))], T)))
    labels = [t for t in root.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-bar"]
    assert [t.get("text-anchor") for t in labels] == ["end", "end"]
    assert all(float(t.get("x")) < float(b.get("x")) for t, b in zip(labels, bars))
    assert all(float(t.get("y")) > float(b.get("y")) for t, b in zip(labels, bars))  # on the bar's line


def test_nps_chart_names_the_groups_and_the_score() -> None:
    root = parse(str(nps_chart("Tell a friend", NPS, T, chart_id="nps")))
    words = texts(root)
    assert "Net Promoter Score: not shown (a group is too small)" in " ".join(
        "".join(t.itertext()) for t in root.iter(f"{SVG}text") if t.get("class") == "chart-heading")
    for name in ("Detractors (0 to 6)", "Passives (7 to 8)", "Promoters (9 to 10)"):
        assert name in words
    assert "fewer than 5" in words
    shades = {r.get("fill") for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-bar"}
    assert len(shades) == 2  # two shown groups in two shades (the third is hatched)
    scored = parse(str(nps_chart("Tell a friend", Nps(fig(12, 40.0), fig(9, 30.0), fig(9, 30.0), 10), T)))
    assert "Net Promoter Score: +10" in texts(scored)
    assert "Net Promoter Score: +10" in scored.find(f"{SVG}desc").text


def test_over_time_chart_labels_each_week() -> None:
    root = parse(str(over_time_chart("Responses each week", WEEKS, T)))
    words = texts(root)
    assert "2 Nov 2026" in words and "9 Nov 2026" in words and "4 Jan 2027" in words
    assert "12" in words and "fewer than 5" in words and "7" in words
    bars = [float(r.get("width")) for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-bar"]
    assert bars[0] > bars[1] > 0  # scaled to the busiest week


def test_question_chart_chooses_by_kind() -> None:
    likert = parse(str(question_chart(LIKERT, T)))
    assert len([t for t in likert.iter(f"{SVG}text") if t.get("class") == "chart-label"]) == 5  # not "not answered"
    assert "Not answered" not in texts(likert)
    assert "Answers of the 30 who answered" in likert.find(f"{SVG}desc").text
    nps = QuestionResult(id="tell", text="Tell a friend?", kind="nps", area="Participation", answered=fig(30, 100.0),
                         nps=NPS)
    assert "Detractors (0 to 6)" in texts(parse(str(question_chart(nps, T))))
    free = QuestionResult(id="why", text="Why?", kind="free_text", area="Participation", answered=fig(9, 30.0))
    assert question_chart(free, T) is None
    empty = QuestionResult(id="q", text="Q?", kind="yes_no", area="Access", answered=SMALL_FIGURE)
    assert question_chart(empty, T) is None


def test_chart_ids_are_distinct_so_many_charts_share_a_page() -> None:
    ids = []
    for svg in all_charts():
        ids += [e.get("id") for e in parse(svg).iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    assert parse(str(bar_chart("Q", ROWS, T, chart_id="Q 1/α"))).get("aria-labelledby") == "q-1-title q-1-desc"


def test_figure_words() -> None:
    assert figure_text(fig(12, 40.0), T) == "12 (40%)"
    assert figure_text(Figure(7), T) == "7"
    assert figure_text(SMALL_FIGURE, 10) == "fewer than 10"
    assert figure_text(SECONDARY_FIGURE, T) == "not shown"
    assert percent_text(33.3) == "33.3%" and percent_text(None) == ""
    assert score_text(12) == "+12" and score_text(-4) == "-4" and score_text(0) == "0" and score_text(None) == \
        "not shown"
