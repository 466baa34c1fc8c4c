"""The forum's results page and printable report (issue #8): semantic, escaped, every chart with its table, and a
document that fetches nothing.

``sample_results`` builds a ``SurveyResults`` by hand (the aggregates are another module's job and tested there);
the writer tests use it too.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from html.parser import HTMLParser
from typing import Dict, List, Optional, Tuple

import pytest

from bot.forum.report import REPORT_CSS, render_document, render_fragment
from bot.forum.results import (
    OTHER, SECONDARY, SMALL, AreaSummary, Figure, Nps, QuestionResult, Row, Statements, SurveyResults, Theme, Themes,
    Update,
)

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
THRESHOLD = 5


def shown(count: int, percent: Optional[float] = None) -> Figure:
    return Figure(count=count, percent=percent)


def small() -> Figure:
    return Figure(count=None, hidden=SMALL)


def secondary() -> Figure:
    return Figure(count=None, hidden=SECONDARY)


def sample_results(*, hostile: str = HOSTILE, update: bool = True, themes: bool = True) -> SurveyResults:
    """Published figures for the Parent Carer Forum survey's questions, with every kind of hidden figure.

    ``hostile`` goes into a question text, an option label, a theme quote and the update, to check escaping.
    """
    questions = (
        QuestionResult(
            id="services_used", text="Which of these has your child used?", kind="multiple_choice", area="Access",
            answered=shown(30, 100.0),
            rows=(Row("nursery", "Nursery funded hours", shown(12, 40.0)), Row("haf", "HAF holiday club",
                                                                               shown(8, 26.7)),
                  Row("short_breaks", "Short breaks", small()), Row("sendiass", f"SENDIASS {hostile}", shown(6, 20.0)),
                  Row("none", "None of these", shown(5, 16.7))),
            not_answered=Figure(0, 0.0)),
        QuestionResult(
            id="had_ehc_meeting", text="In the last 12 months, has your child had an EHC needs assessment?",
            kind="single_choice", area="Identification", answered=shown(28, 93.3),
            rows=(Row("yes", "Yes", shown(14, 50.0)), Row("no", "No", shown(10, 35.7)),
                  Row("not_sure", "Not sure", small())),
            not_answered=small()),
        QuestionResult(
            id="ehc_listened", text=f"I was listened to {hostile}", kind="likert", area="Participation",
            answered=shown(14, 46.7),
            rows=(Row("1", "Strongly disagree", small()), Row("2", "Disagree", secondary()),
                  Row("3", "Not sure", shown(0, 0.0)), Row("4", "Agree", shown(5, 35.7)),
                  Row("5", "Strongly agree", shown(6, 42.9))),
            not_answered=shown(16, 53.3), mean=None, positive=78.6),
        QuestionResult(
            id="ehc_why", text="What would have helped you feel listened to?", kind="free_text", area="Participation",
            answered=small(), not_answered=secondary()),
        QuestionResult(
            id="help_right_time", text="My child got the right help at the right time.", kind="statement",
            area="Access", answered=shown(30, 100.0),
            rows=(Row("agree", "Agree", shown(15, 50.0)), Row("disagree", "Disagree", shown(9, 30.0)),
                  Row("pass", "Pass", shown(6, 20.0))),
            agreement=50.0, positive=50.0),
        QuestionResult(
            id="last_move", text="The last time your child moved, how did it go?", kind="single_choice",
            area="Transition", answered=shown(25, 83.3),
            rows=(Row("went_well", "It went well", shown(10, 40.0)), Row("mixed", "Some good, some bad",
                                                                         shown(9, 36.0)),
                  Row("went_badly", "It went badly", shown(6, 24.0)), Row("not_moved", "Not moved yet",
                                                                          shown(0, 0.0)))),
        QuestionResult(
            id="haf_included", text="At the HAF holiday club, was your child included?", kind="yes_no",
            area="Inclusion", answered=shown(8, 26.7),
            rows=(Row("yes", "Yes", shown(6, 75.0)), Row("no", "No", small())), positive=None),
        QuestionResult(
            id="recommend_forum", text="How likely are you to tell another parent to join the Forum?", kind="nps",
            area="Participation", answered=shown(30, 100.0),
            rows=tuple(Row(str(v), str(v), shown(3, 10.0) if v > 0 else small()) for v in range(11)),
            nps=Nps(promoters=shown(12, 40.0), passives=shown(10, 33.3), detractors=shown(8, 26.7), score=13),
            positive=40.0),
        QuestionResult(
            id="one_change", text="What one change would make your family feel more included?", kind="free_text",
            area="Inclusion", answered=shown(20, 66.7)),
    )
    found_themes = Themes(
        question_ids=("ehc_why", "one_change"), answers=shown(22, 100.0),
        themes=(
            Theme("Identification", small()),
            Theme("Participation", shown(0, 0.0)),
            Theme("Access", shown(9, 40.9), key_phrases=("waiting list", "short breaks"),
                  quotes=("The waiting list was over a year.", f"Quote {hostile}", '=HYPERLINK("http://x","y")'),
                  mean_confidence=0.71),
            Theme("Transition", secondary()),
            Theme("Inclusion", shown(7, 31.8), key_phrases=("holiday club",), quotes=("More help at clubs.",)),
            Theme(OTHER, shown(5, 22.7), quotes=("Thank you.",)),
        ))
    return SurveyResults(
        survey_id="parent_carer_forum", title="Parent Carer Forum check-in", audience="parents_carers",
        threshold=THRESHOLD, generated=datetime(2027, 4, 2, 9, 30, tzinfo=timezone.utc), date_from=None,
        date_to=date(2027, 3, 31), closed_only=True, opens=date(2026, 11, 1), closes=date(2027, 3, 31),
        responses=shown(30),
        over_time=((date(2026, 11, 2), shown(12)), (date(2026, 11, 9), small()), (date(2026, 11, 16), secondary()),
                   (date(2026, 11, 23), shown(9))),
        questions=questions,
        areas=(AreaSummary("Identification", ("had_ehc_meeting",), None, small()),
               AreaSummary("Participation", ("ehc_listened", "recommend_forum"), 59.3, shown(0, 0.0)),
               AreaSummary("Access", ("services_used", "help_right_time"), 50.0, shown(9, 40.9)),
               AreaSummary("Transition", ("last_move",), None, secondary()),
               AreaSummary("Inclusion", ("haf_included", "one_change"), None, shown(7, 31.8))),
        statements=Statements(most_agreed=("help_right_time",), least_agreed=("help_right_time",)),
        themes=found_themes if themes else None,
        update=Update(f"You told us waiting was too long.\n\nWe asked for more staff. {hostile}", "forum_jo",
                      date(2027, 4, 1)) if update else None,
    )


def empty_results() -> SurveyResults:
    """A survey nobody has answered yet: nothing but the headline."""
    return SurveyResults(
        survey_id="strong_voices", title="Strong Voices check-in", audience="young_people", threshold=THRESHOLD,
        generated=datetime(2026, 11, 3, 12, 0, tzinfo=timezone.utc), date_from=None, date_to=None,
        closed_only=False, opens=date(2026, 11, 1), closes=date(2027, 3, 31), responses=small())


class Page(HTMLParser):
    """The parts of a page the checks read: the open-element path of every tag, headings, and text."""

    VOID = {"meta", "link", "br", "img", "input", "hr", "rect", "line", "path", "source"}

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: List[str] = []
        self.tags: List[Tuple[str, Dict[str, Optional[str]], Tuple[str, ...]]] = []  # (tag, attrs, ancestors)
        self.headings: List[Tuple[int, str]] = []
        self._heading: Optional[int] = None
        self._heading_text: List[str] = []
        self.text: List[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        self.tags.append((tag, dict(attrs), tuple(self.stack)))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading, self._heading_text = int(tag[1]), []
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        self.tags.append((tag, dict(attrs), tuple(self.stack)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()
        if self._heading is not None and tag == f"h{self._heading}":
            self.headings.append((self._heading, " ".join("".join(self._heading_text).split())))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading is not None:
            self._heading_text.append(data)

    def named(self, tag: str) -> List[Tuple[str, Dict[str, Optional[str]], Tuple[str, ...]]]:
        return [t for t in self.tags if t[0] == tag]


@pytest.fixture(scope="module")
def fragment() -> str:
    return str(render_fragment(sample_results()))


@pytest.fixture(scope="module")
def document() -> str:
    return render_document(sample_results())


def test_the_fragment_is_a_body_part_with_headings_in_order(fragment: str) -> None:
    page = Page(fragment)
    assert not page.stack, "every element is closed"
    for tag in ("html", "head", "body", "h1", "style", "script", "link"):
        assert not page.named(tag), tag
    levels = [level for level, _ in page.headings]
    assert levels[0] == 2
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), levels
    texts = [text for _, text in page.headings]
    for expected in ("Summary", "Responses over time", "Access", "Participation", "Themes in what people wrote",
                     "You said, we did"):
        assert expected in texts


def test_the_headline_gives_the_responses_dates_and_the_threshold(fragment: str) -> None:
    text = " ".join("".join(Page(fragment).text).split())
    assert "30 responses from parents and carers" in text
    assert "1 November 2026 to 31 March 2027" in text
    assert "answers sent up to 31 March 2027, after the survey closed" in text
    assert "Numbers below 5 are shown as \u201cfewer than 5\u201d" in text
    assert "2 April 2027 at 09:30 UTC" in text


def test_every_chart_has_a_data_table_with_caption_and_scoped_headers(fragment: str) -> None:
    page = Page(fragment)
    charts = page.named("svg")
    tables = page.named("table")
    assert len(charts) >= 9  # over time, 7 charted questions (not the free text), themes
    assert len(tables) == len(charts)
    for _, attrs, ancestors in charts:
        assert "div" in ancestors
    # Each chart's figure holds exactly one chart and one table.
    figures = fragment.split('<div class="report-figure">')[1:]
    assert len(figures) == len(charts)
    for figure in figures:
        block = figure.split("</table>")[0]
        assert block.count("<svg") == 1 and block.count("<table") == 1
        assert "<caption>" in block
    for _, attrs, _ in page.named("th"):
        assert attrs.get("scope") in ("col", "row")


def test_hidden_figures_are_written_in_words(fragment: str) -> None:
    text = "".join(Page(fragment).text)
    assert "fewer than 5" in text
    assert "not shown" in text
    assert "Average score: not shown" in text
    assert "Net Promoter Score: +13" in text
    assert "Agreed: 50% of those who answered." in text


def test_every_text_is_escaped(fragment: str, document: str) -> None:
    for html in (fragment, document):
        assert "<script" not in html
        assert "<img" not in html
        assert "&lt;script&gt;" in html
    texts = "".join(Page(fragment).text)
    assert HOSTILE in texts  # shown as written, not run


def test_themes_show_key_phrases_and_quotes_as_blockquotes(fragment: str) -> None:
    page = Page(fragment)
    quotes = [t for t in page.named("p") if "blockquote" in t[2]]
    assert len(quotes) == 5
    text = "".join(page.text)
    assert "waiting list" in text and "holiday club" in text
    assert "The waiting list was over a year." in text
    # The theme with no answers gets no section of its own; the hidden ones say so.
    headings = [t for _, t in page.headings]
    assert not any(h.startswith("Participation \u2014") or h == "Participation 0 answers" for h in headings)
    assert "Identification fewer than 5 answers" in headings
    assert "Transition number of answers not shown" in headings


def test_the_update_is_split_into_paragraphs_and_names_no_one(fragment: str) -> None:
    assert "You told us waiting was too long." in fragment
    assert "We asked for more staff." in fragment
    assert "Written on 1 April 2027." in fragment
    assert "forum_jo" not in fragment  # a forum member's user name stays in the exports, not on the page


def test_the_fragment_needs_only_classes(fragment: str) -> None:
    assert not re.search(r"\sstyle\s*=", fragment)
    assert "<style" not in fragment


def test_ids_in_the_fragment_are_unique(fragment: str) -> None:
    ids = [attrs["id"] for _, attrs, _ in Page(fragment).tags if attrs.get("id")]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    references = [ref for _, attrs, _ in Page(fragment).tags for ref in (attrs.get("aria-labelledby") or "").split()]
    assert set(references) <= set(ids)


def test_the_document_is_self_contained(document: str) -> None:
    assert document.startswith("<!DOCTYPE html>")
    page = Page(document)
    assert page.named("html")[0][1].get("lang") == "en-GB"
    assert [t for _, t in page.headings if True][0] == "Parent Carer Forum check-in: results"
    assert "<title>Parent Carer Forum check-in: results</title>" in document
    assert len(page.named("style")) == 1
    for tag in ("link", "script", "img", "iframe", "object", "embed", "video", "audio", "source"):
        assert not page.named(tag), tag
    for tag, attrs, _ in page.tags:
        assert "src" not in attrs, tag
        href = attrs.get("href")
        if href is not None:
            assert href.startswith("#"), href  # only links within the page
        for name, value in attrs.items():
            if name != "xmlns" and value:
                assert not re.search(r"https?:|//", value) or name == "content", (tag, name, value)
    assert "url(" not in document.replace('fill="url(#', "")  # hatch patterns refer to the chart's own defs
    assert "@import" not in document
    assert str(render_fragment(sample_results())) in document


def test_the_document_forbids_requests_and_prints(document: str) -> None:
    assert "Content-Security-Policy" in document and "default-src 'none'" in document
    assert "@media print" in document
    assert "<h1>" in document


def test_report_css_loads_nothing_and_styles_only_classes() -> None:
    assert "url(" not in REPORT_CSS and "@import" not in REPORT_CSS and "@font-face" not in REPORT_CSS
    assert "</style" not in REPORT_CSS
    rules = re.sub(r"/\*.*?\*/", "", REPORT_CSS, flags=re.S)
    for selector_group in re.findall(r"([^{}]+)\{", rules):
        for selector in selector_group.split(","):
            selector = selector.strip()
            if not selector or selector.startswith("@"):
                continue
            assert selector.startswith("."), selector


def test_a_survey_with_no_answers_yet_renders() -> None:
    html = str(render_fragment(empty_results()))
    page = Page(html)
    assert [t for _, t in page.headings] == ["Summary"]
    assert "fewer than 5 responses from young people" in " ".join("".join(page.text).split())
    assert "is open from 1 November 2026 to 31 March 2027: these figures may still change" in html
    assert "<!DOCTYPE html>" in render_document(empty_results())


def test_without_themes_the_free_text_line_is_not_a_link() -> None:
    html = str(render_fragment(sample_results(themes=False, update=False)))
    assert 'href="#report-themes"' not in html
    assert "You said, we did" not in html
    with_themes = str(render_fragment(sample_results()))
    assert 'href="#report-themes"' in with_themes
