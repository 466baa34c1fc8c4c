"""The results of a survey as HTML: a fragment for the dashboard's page and a self-contained printable document.

The fragment is the report's body only (headings start at ``h2``, under the page's ``h1``); it needs nothing but
the classes in ``REPORT_CSS``, which the dashboard serves as a file and the document inlines. Every chart is
followed by a data table with the same figures, so the numbers are there for a screen reader, in print without
colour and for copying. The document makes no request at all (no links to stylesheets, scripts, fonts or
images, and a Content-Security-Policy that would block one), so it can be emailed or printed and opened offline.

Nothing here computes a figure: ``SurveyResults`` arrives suppressed, and the words for a hidden number come from
``Figure.text``. Templates are in ``bot/forum/templates``, rendered with autoescaping on: question texts, labels,
quotes and the update are escaped like any other text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from bot.forum import charts
from bot.forum.charts import answer_rows, long_date, percent_text, score_text
from bot.forum.results import SECONDARY, Figure, QuestionResult, Row, SurveyResults, Theme, withheld_text
from bot.surveys.definitions import FRAMEWORK_AREAS

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
REPORT_CSS = (TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")  # served by the dashboard as a file too

AUDIENCE_LABELS = {"young_people": "young people", "parents_carers": "parents and carers"}
ANSWERED_NOTE = "Percentages are of those who answered this question."
POSITIVE_MEANS = {  # what counts as a positive answer, per kind (see QuestionResult.positive)
    "likert": "4 or 5", "yes_no": "yes", "statement": "agree", "nps": "9 or 10",
}

_ENV = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class TableRow:
    """One row of a chart's data table, already in words."""

    label: str
    count: str
    percent: str


@dataclass(frozen=True)
class Table:
    """A chart's text alternative: the same figures in a ``<table>``."""

    caption: str
    label_heading: str
    count_heading: str
    percent_heading: str
    rows: Tuple[TableRow, ...]
    note: str = ""


@dataclass(frozen=True)
class QuestionView:
    """What the page shows for one question."""

    id: str
    text: str
    chart: Optional[Markup]
    table: Optional[Table]
    lines: Tuple[str, ...]  # answered, mean, NPS, agreement, positive: each a sentence
    free_text: bool


@dataclass(frozen=True)
class AreaView:
    """One framework area's section."""

    name: str
    slug: str
    lines: Tuple[str, ...]
    questions: Tuple[QuestionView, ...]


@dataclass(frozen=True)
class ThemeView:
    name: str
    answers: str  # "12 answers", "fewer than 5 answers"
    key_phrases: Tuple[str, ...]
    quotes: Tuple[str, ...]


def render_fragment(results: SurveyResults) -> Markup:
    """The report's body, for embedding in a page that has its own ``h1`` and loads ``REPORT_CSS``."""
    return Markup(_ENV.get_template("fragment.html").render(**_context(results)))


def render_themes(results: SurveyResults) -> Markup:
    """The themes section alone (the dashboard's themes page); the same markup as in the full report."""
    return Markup(_ENV.get_template("themes.html").render(**_context(results)))


def render_document(results: SurveyResults) -> str:
    """A whole HTML page with the fragment, its CSS inline and print styles: one file that fetches nothing."""
    return _ENV.get_template("document.html").render(
        title=results.title, css=Markup(REPORT_CSS), fragment=render_fragment(results),
        generated=_generated(results),
    )


# --- the view ----------------------------------------------------------------------------------------------------

def _context(results: SurveyResults) -> Dict[str, object]:
    t = results.threshold
    questions = {q.id: q for q in results.questions}
    over_time = None
    if results.over_time:
        over_time = (
            charts.over_time_chart("Responses each week", results.over_time, t, chart_id="report-over-time"),
            Table("Responses each week", "Week beginning", "Responses", "",
                  tuple(TableRow(long_date(week), figure.text(t), "") for week, figure in results.over_time)),
        )
    return {
        "r": results,
        "responses": results.responses.text(t),
        "audience": AUDIENCE_LABELS.get(results.audience, results.audience.replace("_", " ")),
        "opens": long_date(results.opens),
        "closes": long_date(results.closes),
        "still_open": results.generated.date() <= results.closes,
        "range": _range(results),
        "generated": _generated(results),
        "notice": withheld_text(results) if results.withheld else _notice(t),
        "over_time": over_time,
        "most_agreed": _ranked(results.statements.most_agreed, questions),
        "least_agreed": _ranked(results.statements.least_agreed, questions),
        "areas": _areas(results),
        "themes": _themes(results),
        "update": results.update,
        "update_paragraphs": _paragraphs(results.update.text) if results.update else (),
        "update_written": long_date(results.update.written) if results.update else "",
    }


def _notice(threshold: int) -> str:
    return (f"Numbers below {threshold} are shown as \u201cfewer than {threshold}\u201d, so that nobody can be "
            f"picked out of a small group. A few larger numbers are shown as \u201cnot shown\u201d, because with "
            f"a total they would give a small one away. Percentages, averages and scores made from a hidden "
            f"number are not shown either.")


def _range(results: SurveyResults) -> str:
    if results.date_from and results.date_to:
        return f"answers sent from {long_date(results.date_from)} to {long_date(results.date_to)}"
    if results.date_from:
        return f"answers sent from {long_date(results.date_from)}"
    if results.date_to:
        return f"answers sent up to {long_date(results.date_to)}"
    return "all answers kept"


def _generated(results: SurveyResults) -> str:
    moment = results.generated
    zone = moment.tzname() or "UTC"
    return f"{long_date(moment.date())} at {moment:%H:%M} {zone}"


def _ranked(ids: Tuple[str, ...], questions: Dict[str, QuestionResult]) -> Tuple[Tuple[str, str], ...]:
    """(statement, "82% agreed") for each ranked statement id that the results hold."""
    ranked = []
    for qid in ids:
        question = questions.get(qid)
        if question is not None:
            agreed = percent_text(question.agreement)
            ranked.append((question.text, f"{agreed} agreed" if agreed else "agreement not shown"))
    return tuple(ranked)


def _areas(results: SurveyResults) -> Tuple[AreaView, ...]:
    """A section per framework area with questions, in the framework's order (then any other area)."""
    summaries = {a.area: a for a in results.areas}
    names = [a for a in FRAMEWORK_AREAS if any(q.area == a for q in results.questions)]
    names += [a for a in dict.fromkeys(q.area for q in results.questions) if a not in names]
    views = []
    for name in names:
        lines: List[str] = []
        summary = summaries.get(name)
        if summary is not None and summary.positive is not None:
            lines.append(f"Positive answers across this area\u2019s questions: {percent_text(summary.positive)} "
                         "(the average of their positive shares).")
        if summary is not None and summary.themed_answers is not None:
            lines.append(f"Written answers with this theme: {summary.themed_answers.text(results.threshold)}.")
        questions = tuple(_question(q, results.threshold) for q in results.questions if q.area == name)
        views.append(AreaView(name, _slug(name), tuple(lines), questions))
    return tuple(views)


def _question(q: QuestionResult, t: int) -> QuestionView:
    lines: List[str] = []
    if q.answered.count is not None:
        share = percent_text(q.answered.percent)
        lines.append(f"Answered by {q.answered.count}" + (f" ({share} of all responses)." if share else "."))
    else:
        lines.append(f"Answered by {q.answered.text(t)}.")
    if q.not_answered is not None:
        lines.append(f"Not answered, or not asked: {q.not_answered.text(t)}.")
    if q.kind == "likert":
        lines.append(f"Average score: {q.mean:.2f} out of 5." if q.mean is not None else
                     "Average score: not shown, because some of its numbers are hidden.")
    if q.kind == "nps" and q.nps is not None:
        lines.append(f"Net Promoter Score: {score_text(q.nps.score)} (the share of promoters, 9 or 10, minus the "
                     "share of detractors, 0 to 6; from -100 to 100).")
    if q.kind == "statement":
        lines.append(f"Agreed: {percent_text(q.agreement)} of those who answered." if q.agreement is not None
                     else "Agreed: not shown, because some of its numbers are hidden.")
    elif q.positive is not None and q.kind in POSITIVE_MEANS:
        lines.append(f"Positive answers ({POSITIVE_MEANS[q.kind]}): {percent_text(q.positive)} of those who "
                     "answered.")
    if q.kind == "free_text":
        lines.append("What people wrote is grouped into themes under \u201cThemes in what people wrote\u201d.")
    chart = charts.question_chart(q, t, chart_id=f"report-chart-{q.id}")
    return QuestionView(q.id, q.text, chart, _question_table(q, t) if chart is not None else None, tuple(lines),
                        q.kind == "free_text")


def _question_table(q: QuestionResult, t: int) -> Table:
    if q.kind == "nps" and q.nps is not None:
        groups = (("Detractors (0 to 6)", q.nps.detractors), ("Passives (7 to 8)", q.nps.passives),
                  ("Promoters (9 to 10)", q.nps.promoters))
        rows = tuple(_table_row(label, figure, t) for label, figure in groups)
        return Table(q.text, "Group", "Number", "Percent", rows, ANSWERED_NOTE)
    rows = tuple(_table_row(row.label, row.figure, t) for row in answer_rows(q))
    note = ANSWERED_NOTE + (" People could choose more than one answer, so the percentages add up to more than "
                            "100%." if q.kind == "multiple_choice" else "")
    return Table(q.text, "Answer", "Number", "Percent", rows, note)


def _table_row(label: str, figure: Figure, t: int) -> TableRow:
    if figure.count is None:
        return TableRow(label, figure.text(t), "not shown")
    return TableRow(label, str(figure.count), percent_text(figure.percent) or "")


def _themes(results: SurveyResults) -> Optional[Dict[str, object]]:
    themes = results.themes
    if themes is None:
        return None
    t = results.threshold
    texts = {q.id: q.text for q in results.questions}
    rows = [Row(theme.name, theme.name, theme.answers) for theme in themes.themes]
    chart = charts.bar_chart("Written answers by theme", rows, t, chart_id="report-themes-chart",
                             description="How many written answers had each theme. One answer can have more "
                                         "than one theme.") if rows else None
    table = Table("Written answers by theme", "Theme", "Answers", "Percent",
                  tuple(_table_row(theme.name, theme.answers, t) for theme in themes.themes),
                  "Percentages are of the written answers. One answer can have more than one theme, so the "
                  "numbers can add up to more than the answers.")
    return {
        "answers": themes.answers.text(t),
        "questions": tuple(texts.get(qid, qid) for qid in themes.question_ids),
        "chart": chart,
        "table": table if rows else None,
        "themes": tuple(_theme(theme, t) for theme in themes.themes if theme.answers.count != 0),
    }


def _theme(theme: Theme, t: int) -> ThemeView:
    count = theme.answers.count
    if count is not None:
        answers = f"{count} answer{'' if count == 1 else 's'}"
    elif theme.answers.hidden == SECONDARY:
        answers = "number of answers not shown"
    else:
        answers = f"{theme.answers.text(t)} answers"
    return ThemeView(theme.name, answers, theme.key_phrases, theme.quotes)


def _paragraphs(text: str) -> Tuple[str, ...]:
    """The update's paragraphs (a blank line between them); single line breaks stay inside a paragraph."""
    return tuple(" ".join(part.split()) for part in text.replace("\r\n", "\n").split("\n\n") if part.strip())


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
