"""The forum's export files: response rows, the published summary and a data dictionary, as CSV, XLSX, JSON, HTML.

Every writer takes a binary stream, so the CLI writes files and the dashboard streams downloads with the same
code. What goes out follows issue #8:

- **Response rows** carry anonymised fields only, in a random order (``secrets``-grade shuffling: the order answers
  came in, next to a date, could point at a person) and with ``submitted_week`` (that week's Monday), never the day.
- **Stable column names**: ``response``, ``survey_id``, ``submitted_week``, then per question in survey order
  ``<qid>`` (a multiple-choice question: ``<qid>__<option>`` holding 1/0 instead) and, after a free-text question,
  ``<qid>__themes``. The data dictionary lists every column, so the partnership's data set can take a file as it
  is. A blank cell means not answered (or not asked).
- **Spreadsheet safety**: any text cell that a spreadsheet would read as a formula (starting with ``= + - @``, a tab
  or a carriage return, also after leading spaces) gets a leading apostrophe, in CSV and XLSX alike, and XLSX text
  cells are always typed as text. CSV is UTF-8 with a BOM (Excel otherwise guesses the encoding wrongly), every
  text field quoted, CR/LF inside answers kept inside the quotes.
- **XLSX** is written by openpyxl in write-only mode, so 100,000 rows stream to a temporary file instead of being
  held as a workbook in memory.
- **JSON** holds the same rows and dictionary, plus the survey definition, the export's parameters and the summary.
  Its values are not neutralised: JSON is not opened by a spreadsheet, and a data set wants the answer as given.

Nothing here counts or suppresses: the summary comes already suppressed in ``SurveyResults``.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import json
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, BinaryIO, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from bot.forum.charts import long_date
from bot.forum.report import AUDIENCE_LABELS, render_document
from bot.forum.results import Figure, SurveyResults, withheld_text
from bot.surveys.definitions import (
    FREE_TEXT, FRAMEWORK_AREAS, LIKERT, MULTIPLE_CHOICE, NPS, SINGLE_CHOICE, STATEMENT, STATEMENT_LABELS, YES_NO,
    YES_NO_LABELS, Question, Survey,
)

FORMAT_VERSION = 1
NOT_ANSWERED = "not_answered"  # a Row's value for the skipped / not-asked cell
THEMES_SUFFIX = "__themes"
OPTION_SEPARATOR = "__"
THEME_SEPARATOR = "; "

# Text a spreadsheet reads as the start of a formula (OWASP "CSV injection"): first character, or first after
# leading whitespace for the printable ones (Excel skips the spaces).
_FORMULA_FIRST = frozenset("\t\r")
_FORMULA_AFTER_SPACE = frozenset("=+-@")
# Control characters XML 1.0 (so XLSX) cannot hold; kept out of CSV too, so both files carry the same text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BUFFER_CHARS = 1 << 16
_RANDOM = random.SystemRandom()  # row order must not be reproducible from a seed or the clock

ThemeLabels = Tuple[Tuple[str, float], ...]


@dataclass(frozen=True)
class ExportData:
    """Everything one export writes: the definition, the kept responses, their published figures and themes."""

    survey: Survey
    responses: Sequence[Mapping[str, Any]]  # {"answers": {qid: value}, "submitted": "YYYY-MM-DD"}
    results: SurveyResults
    # response index (in ``responses``) -> question id -> (theme, confidence), from the themes classifier
    answer_themes: Mapping[int, Mapping[str, ThemeLabels]] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    """One column of the response rows, as the data dictionary describes it."""

    column: str  # the header: stable across exports of the same survey
    question_id: str  # "" for the columns that are not a question's
    question: str  # the question as asked (or what the column is)
    kind: str  # the question's kind ("" for the other columns)
    area: str  # the framework area the question informs ("" for the other columns)
    type: str  # integer, text or date: what a data set should load it as
    values: str  # what the values mean


# --- the tables ------------------------------------------------------------------------------------------------

RESPONSE_COLUMN, SURVEY_COLUMN, WEEK_COLUMN = "response", "survey_id", "submitted_week"
DICTIONARY_HEADER = ("column", "question_id", "question", "kind", "area", "type", "values")
SUMMARY_HEADER = ("section", "question_id", "question", "area", "value", "label", "count", "percent", "score", "text")


def columns(survey: Survey) -> Tuple[Column, ...]:
    """Every column of the response rows, in order, with what its values mean."""
    found = [
        Column(RESPONSE_COLUMN, "", "Row number, 1 to the number of rows. Rows are in a random order, not the "
                                    "order answers came in.", "", "", "integer", "1 to n"),
        Column(SURVEY_COLUMN, "", "The survey's id.", "", "", "text", survey.id),
        Column(WEEK_COLUMN, "", "The week the answers were sent: the Monday of that week (the day itself is not "
                                "exported).", "", "", "date", "YYYY-MM-DD, always a Monday"),
    ]
    for question in survey.questions:
        if question.kind == MULTIPLE_CHOICE:
            for option in question.options:
                found.append(Column(f"{question.id}{OPTION_SEPARATOR}{option.value}", question.id,
                                    f"{question.text} ({option.label})", question.kind, question.area, "integer",
                                    f"1 = chose {option.label}, 0 = did not; blank = not answered"))
            continue
        found.append(Column(question.id, question.id, question.text, question.kind, question.area,
                            "integer" if question.kind in (LIKERT, NPS) else "text", _values(question)))
        if question.kind == FREE_TEXT:
            found.append(Column(f"{question.id}{THEMES_SUFFIX}", question.id, f"Themes of: {question.text}",
                                question.kind, question.area, "text",
                                f"Themes found in the answer, separated by '{THEME_SEPARATOR.strip()}': "
                                f"{', '.join(FRAMEWORK_AREAS)} or Other; blank = no answer or no theme"))
    return tuple(found)


def _values(question: Question) -> str:
    """What a question's stored values mean, for the data dictionary."""
    if question.kind == LIKERT:
        return "; ".join(f"{o.value}={o.label}" for o in question.options)
    if question.kind == NPS:
        return "0 to 10: 0-6 detractor, 7-8 passive, 9-10 promoter"
    if question.kind == YES_NO:
        return "; ".join(f"{value}={label}" for value, label in YES_NO_LABELS.items())
    if question.kind == STATEMENT:
        return "; ".join(f"{value}={label}" for value, label in STATEMENT_LABELS.items())
    if question.kind == SINGLE_CHOICE:
        return "; ".join(f"{o.value}={o.label}" for o in question.options)
    return "The answer as typed, with names, numbers and addresses taken out"


def response_rows(data: ExportData) -> Iterator[List[Any]]:
    """The response rows in a random order, numbered 1..n after shuffling; values in ``columns`` order.

    Numbers stay ``int``; a blank (unanswered) cell is ``None``. When there are fewer responses than the
    suppression threshold there are no rows at all: three rows would tell what the "fewer than 5" hides; nor when
    the results are withheld (the rows would give away what the withheld tables hide).
    """
    if data.results.responses.suppressed or data.results.withheld:
        return
    order = list(range(len(data.responses)))
    _RANDOM.shuffle(order)
    questions = data.survey.questions
    for number, index in enumerate(order, start=1):
        response = data.responses[index]
        answers = response.get("answers") or {}
        themes = data.answer_themes.get(index) or {}
        row: List[Any] = [number, data.survey.id, _week(response.get("submitted"))]
        for question in questions:
            value = answers.get(question.id)
            if question.kind == MULTIPLE_CHOICE:
                chosen = _chosen(value)
                row.extend(None if chosen is None else int(o.value in chosen) for o in question.options)
                continue
            row.append(_answer(value))
            if question.kind == FREE_TEXT:
                labels = themes.get(question.id)
                row.append(THEME_SEPARATOR.join(label for label, _ in labels) if labels else None)
        yield row


def _week(submitted: Any) -> Optional[str]:
    """The Monday of the submitted day, ISO; None when the day is missing or unreadable."""
    try:
        day = date.fromisoformat(submitted) if isinstance(submitted, str) else submitted
    except ValueError:
        return None
    if isinstance(day, datetime):
        day = day.date()
    if not isinstance(day, date):
        return None
    return (day - timedelta(days=day.weekday())).isoformat()


def _chosen(value: Any) -> Optional[frozenset]:
    """A multiple-choice answer as a set of option values; None when unanswered."""
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(str(v) for v in value)
    return None


def _answer(value: Any) -> Any:
    """One stored answer as a cell: ints as ints, everything else as text, nothing as None."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value)


def dictionary_rows(survey: Survey) -> Iterator[Tuple[str, ...]]:
    """One row per response column, in ``DICTIONARY_HEADER`` order."""
    for column in columns(survey):
        yield tuple(getattr(column, name) for name in DICTIONARY_HEADER)


def summary_rows(results: SurveyResults) -> Iterator[Tuple[Any, ...]]:
    """Every published figure as one row in ``SUMMARY_HEADER`` order.

    ``count`` is an int, or "fewer than 5" / "not shown" when suppressed; ``percent`` (0-100) and ``score`` (a mean
    or an NPS) are numbers or blank. ``section`` says what a row is; see ``SUMMARY_SECTIONS``.
    """
    t = results.threshold

    def row(section: str, *, question_id: str = "", question: str = "", area: str = "", value: Any = "",
            label: str = "", figure: Optional[Figure] = None, percent: Optional[float] = None, score: Any = None,
            text: str = "") -> Tuple[Any, ...]:
        count: Any = None
        if figure is not None:
            count = figure.count if figure.count is not None else figure.text(t)
            percent = figure.percent if percent is None else percent
        return (section, question_id, question, area, value, label, count, percent, score, text)

    for name, value in _parameters(results):
        yield row("export", value=name, text=value)
    yield row("responses", value="responses", label="Responses", figure=results.responses)
    if results.withheld:
        yield row("withheld", value="withheld", label="Figures withheld", text=withheld_text(results))
    for week, figure in results.over_time:
        yield row("over_time", value=week.isoformat(), label=f"Week of {long_date(week)}", figure=figure)
    by_id = {q.id: q for q in results.questions}
    for q in results.questions:
        about = dict(question_id=q.id, question=q.text, area=q.area)
        yield row("answered", value="answered", label="Answered", figure=q.answered, **about)
        if q.not_answered is not None:
            yield row("not_answered", value=NOT_ANSWERED, label="Not answered or not asked", figure=q.not_answered,
                      **about)
        for r in q.rows:
            if r.value != NOT_ANSWERED or q.not_answered is None:
                yield row("answers", value=r.value, label=r.label, figure=r.figure, **about)
        if q.nps is not None:
            for group, figure in (("promoters", q.nps.promoters), ("passives", q.nps.passives),
                                  ("detractors", q.nps.detractors)):
                yield row("nps", value=group, label=NPS_GROUP_LABELS[group], figure=figure, **about)
            yield row("nps_score", value="nps", label="Net Promoter Score (-100 to 100)", score=q.nps.score,
                      text=_unless(q.nps.score), **about)
        if q.kind == LIKERT:
            yield row("mean", value="mean", label="Mean score (1 to 5)", score=q.mean, text=_unless(q.mean), **about)
        if q.kind == STATEMENT:
            yield row("agreement", value="agree", label="Agreed (% of those who answered)", percent=q.agreement,
                      text=_unless(q.agreement), **about)
        if q.positive is not None:
            yield row("positive", value="positive", label="Positive answers (% of those who answered)",
                      percent=q.positive, **about)
    for section, ids in (("most_agreed", results.statements.most_agreed),
                         ("least_agreed", results.statements.least_agreed)):
        for rank, qid in enumerate(ids, start=1):
            q = by_id.get(qid)
            yield row(section, question_id=qid, question=q.text if q else "", area=q.area if q else "", value=rank,
                      label=section.replace("_", " ").capitalize(), percent=q.agreement if q else None)
    for a in results.areas:
        yield row("area", area=a.area, value="positive", label="Positive answers (mean of its questions, %)",
                  percent=a.positive, text=THEME_SEPARATOR.join(a.question_ids))
        if a.themed_answers is not None:
            yield row("area_themes", area=a.area, value="themed_answers", label="Free-text answers with this theme",
                      figure=a.themed_answers)
    if results.themes is not None:
        yield row("themes", value="free_text_answers", label="Free-text answers read", figure=results.themes.answers,
                  text=THEME_SEPARATOR.join(results.themes.question_ids))
        for theme in results.themes.themes:
            yield row("theme", area=theme.name if theme.name in FRAMEWORK_AREAS else "", value=theme.name,
                      label=theme.name, figure=theme.answers, score=theme.mean_confidence,
                      text=THEME_SEPARATOR.join(theme.key_phrases))
            for quote in theme.quotes:
                yield row("theme_quote", area=theme.name if theme.name in FRAMEWORK_AREAS else "", value=theme.name,
                          label=theme.name, text=quote)
    if results.update is not None:
        yield row("update", value=results.update.written.isoformat(), label=results.update.author,
                  text=results.update.text)


def _unless(published: Any) -> str:
    """The text of a derived figure's row: "" when it is published, "not shown" when suppression withheld it."""
    return "" if published is not None else "not shown"


NPS_GROUP_LABELS = {"promoters": "Promoters (9-10)", "passives": "Passives (7-8)", "detractors": "Detractors (0-6)"}
SUMMARY_SECTIONS = {
    "export": "the export's parameters (value: the name, text: its value)",
    "responses": "how many responses the figures are made from",
    "withheld": "present only when no breakdown can be published safely (too few responses): text says why",
    "over_time": "responses per week (value: the Monday)",
    "answered": "how many answered a question (percent: of all responses)",
    "not_answered": "how many skipped a question or were not asked it",
    "answers": "one answer of a question (percent: of those who answered it)",
    "nps": "Net Promoter Score groups", "nps_score": "the Net Promoter Score (score; text \"not shown\" if hidden)",
    "mean": "mean score of a 1-5 question (score; text \"not shown\" if hidden)",
    "agreement": "share who agreed with a statement (percent; text \"not shown\" if hidden)",
    "positive": "share of positive answers (percent)",
    "most_agreed": "statements most agreed with (value: rank)", "least_agreed": "statements least agreed with",
    "area": "a framework area: mean positive share of its questions (text: its question ids)",
    "area_themes": "free-text answers given that area as a theme",
    "themes": "how many free-text answers were read (text: the questions)",
    "theme": "a theme of the free text (count: answers; score: mean confidence; text: key phrases)",
    "theme_quote": "a quote for a theme (already redacted)",
    "update": "the \"you said, we did\" update (value: written, label: author, text: the update)",
}


def _parameters(results: SurveyResults) -> List[Tuple[str, str]]:
    """The export's parameters as (name, text) pairs: the first rows of the summary (a CSV has no About sheet)."""
    return [
        ("survey_id", results.survey_id),
        ("generated", results.generated.isoformat()),
        ("date_from", results.date_from.isoformat() if results.date_from else ""),
        ("date_to", results.date_to.isoformat() if results.date_to else ""),
        ("closed_only", "yes" if results.closed_only else "no"),
        ("threshold", str(results.threshold)),
        ("format_version", str(FORMAT_VERSION)),
    ]


# --- cell safety -----------------------------------------------------------------------------------------------

def neutralise(text: str) -> str:
    """``text`` safe to put in a spreadsheet cell: an apostrophe before anything a spreadsheet would evaluate.

    ``=HYPERLINK(...)``, ``+1``, ``-2``, ``@SUM(A1)``, a leading tab or CR (also ``"  =1+1"``) all become text
    starting with ``'``. Control characters XML cannot hold are dropped, so a stray one cannot stop the XLSX.
    """
    text = _CONTROL.sub("", text)
    if not text:
        return text
    if text[0] in _FORMULA_FIRST:
        return "'" + text
    stripped = text.lstrip()
    if stripped and stripped[0] in _FORMULA_AFTER_SPACE:
        return "'" + text
    return text


def _safe(value: Any) -> Any:
    """A cell value for CSV/XLSX: text neutralised, numbers and blanks as they are."""
    return neutralise(value) if isinstance(value, str) else value


# --- CSV -------------------------------------------------------------------------------------------------------

class _TextSink:
    """A text ``write`` over a binary stream, UTF-8, buffered: what ``csv`` and ``json`` need from any BinaryIO.

    (``io.TextIOWrapper`` would want a full ``BufferedIOBase`` and close the caller's stream when collected.)
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.parts: List[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= _BUFFER_CHARS:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.parts:
            self.stream.write("".join(self.parts).encode("utf-8"))
            self.parts, self.size = [], 0


def _write_csv(stream: BinaryIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A CSV for Excel and for data sets: BOM, CRLF rows, text quoted and neutralised, numbers bare."""
    stream.write(codecs.BOM_UTF8)
    sink = _TextSink(stream)
    writer = csv.writer(sink, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow([_safe(name) for name in header])
    for row in rows:
        writer.writerow(["" if value is None else _safe(value) for value in row])
    sink.flush()


def write_csv_responses(stream: BinaryIO, data: ExportData) -> None:
    """The response rows as CSV (one row per response, shuffled; see ``columns``)."""
    _write_csv(stream, [c.column for c in columns(data.survey)], response_rows(data))


def write_csv_summary(stream: BinaryIO, data: ExportData) -> None:
    """The published figures as CSV, one row per figure (see ``summary_rows``)."""
    _write_csv(stream, SUMMARY_HEADER, summary_rows(data.results))


def write_csv_dictionary(stream: BinaryIO, data: ExportData) -> None:
    """The data dictionary of the response columns as CSV."""
    _write_csv(stream, DICTIONARY_HEADER, dictionary_rows(data.survey))


# --- XLSX ------------------------------------------------------------------------------------------------------

SHEET_RESPONSES, SHEET_SUMMARY, SHEET_DICTIONARY, SHEET_ABOUT = "Responses", "Summary", "Data dictionary", "About"
_MIN_WIDTH, _MAX_WIDTH, _TEXT_WIDTH = 10, 60, 50
_SUMMARY_WIDTHS = (14, 20, 50, 14, 18, 30, 14, 10, 10, 60)
_DICTIONARY_WIDTHS = (28, 20, 60, 16, 14, 10, 60)


def write_xlsx(stream: BinaryIO, data: ExportData) -> None:
    """One workbook: Responses, Summary, Data dictionary and About; headers bold and frozen."""
    workbook = Workbook(write_only=True)
    survey_columns = columns(data.survey)
    widths = [_TEXT_WIDTH if c.kind == FREE_TEXT and c.column == c.question_id else
              min(max(len(c.column) + 2, _MIN_WIDTH), _MAX_WIDTH) for c in survey_columns]
    _sheet(workbook, SHEET_RESPONSES, [c.column for c in survey_columns], response_rows(data), widths,
           dates=frozenset({WEEK_COLUMN}))
    _sheet(workbook, SHEET_SUMMARY, SUMMARY_HEADER, summary_rows(data.results), _SUMMARY_WIDTHS)
    _sheet(workbook, SHEET_DICTIONARY, DICTIONARY_HEADER, dictionary_rows(data.survey), _DICTIONARY_WIDTHS,
           wrap=True)
    _sheet(workbook, SHEET_ABOUT, ("about", "value"), about_rows(data.results), (30, 100), wrap=True)
    workbook.save(stream)


def _sheet(workbook: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
           widths: Sequence[int], *, dates: frozenset = frozenset(), wrap: bool = False) -> None:
    """Stream one sheet: widths and the frozen header first (write-only sheets take them only before rows)."""
    sheet = workbook.create_sheet(title)
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    heading = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=_safe(name))
        cell.font = bold
        heading.append(cell)
    sheet.append(heading)
    date_at = [i for i, name in enumerate(header) if name in dates]
    wrapped = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        values = [_xlsx_value(sheet, value) for value in row]
        for i in date_at:
            if isinstance(values[i], str):
                values[i] = date.fromisoformat(values[i])  # a real date cell, formatted yyyy-mm-dd
        if wrap:
            values = [_wrapped(sheet, value, wrapped) for value in values]
        sheet.append(values)


def _xlsx_value(sheet: Any, value: Any) -> Any:
    """A cell value for openpyxl: text neutralised and always typed as text (openpyxl would read ``#N/A`` as an
    error value); numbers as numbers."""
    if not isinstance(value, str):
        return value
    value = neutralise(value)
    if value in ERROR_CODES:
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def _wrapped(sheet: Any, value: Any, alignment: Alignment) -> Any:
    """A text cell that wraps in its column (the dictionary and About sheets are read, not computed on)."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.alignment = alignment
    return cell


def about_rows(results: SurveyResults) -> List[Tuple[str, str]]:
    """What a reader of the workbook needs to know: what it covers and what the hidden numbers mean."""
    t = results.threshold
    responses = results.responses.text(t)
    withheld = [("Figures withheld", withheld_text(results))] if results.withheld else []
    return withheld + [
        ("Survey", f"{results.title} ({results.survey_id})"),
        ("Asked", f"{AUDIENCE_LABELS.get(results.audience, results.audience)}, "
                  f"{long_date(results.opens)} to {long_date(results.closes)}"),
        ("Responses in these figures", responses),
        ("Date range", _range_text(results)),
        ("Final figures only", "yes (the survey had closed)" if results.closed_only else
         "no (figures so far may include a survey still open)"),
        ("Suppression threshold", str(t)),
        (f"\"fewer than {t}\"", f"A number below {t} is not shown, so that nobody can be picked out. Percentages, "
                               "means and scores made from it are not shown either."),
        ("\"not shown\"", f"A number of {t} or more hidden because, with a total, it would give away a number "
                          f"below {t}."),
        ("Generated", results.generated.isoformat()),
        ("Row order", "The Responses sheet is in a random order, not the order answers came in, and gives the week "
                      "(its Monday), not the day."),
        ("Blank cells", "Not answered, or not asked (some questions are asked only after certain answers)."),
        ("Text starting with '", "An apostrophe was added before text starting with = + - @ so that a spreadsheet "
                                 "shows it instead of running it."),
        ("Sheets", "Responses: one row per response. Summary: one row per published figure. Data dictionary: what "
                   "each Responses column holds."),
        ("Summary sections", "; ".join(f"{name}: {meaning}" for name, meaning in SUMMARY_SECTIONS.items())),
        ("Format version", str(FORMAT_VERSION)),
    ]


def _range_text(results: SurveyResults) -> str:
    if results.date_from and results.date_to:
        return f"{long_date(results.date_from)} to {long_date(results.date_to)}"
    if results.date_from:
        return f"from {long_date(results.date_from)}"
    if results.date_to:
        return f"up to {long_date(results.date_to)}"
    return "all responses kept"


# --- JSON ------------------------------------------------------------------------------------------------------

def survey_definition(survey: Survey) -> Dict[str, Any]:
    """The survey as JSON: enough to read the rows without the YAML file."""
    return {
        "id": survey.id, "title": survey.title, "audience": survey.audience,
        "opens": survey.opens.isoformat(), "closes": survey.closes.isoformat(),
        "questions": [{
            "id": q.id, "kind": q.kind, "text": q.text, "area": q.area,
            "options": [{"value": o.value, "label": o.label} for o in q.options],
            "ask_if": None if q.ask_if is None else {
                "question": q.ask_if.question, "op": q.ask_if.op,
                "value": list(q.ask_if.value) if isinstance(q.ask_if.value, tuple) else q.ask_if.value,
            },
        } for q in survey.questions],
    }


def export_parameters(results: SurveyResults) -> Dict[str, Any]:
    """The ``export`` object of the JSON: what was asked for and when it was made."""
    return {
        "survey_id": results.survey_id, "generated": results.generated.isoformat(),
        "date_from": results.date_from.isoformat() if results.date_from else None,
        "date_to": results.date_to.isoformat() if results.date_to else None,
        "closed_only": results.closed_only, "threshold": results.threshold, "format_version": FORMAT_VERSION,
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_json(stream: BinaryIO, data: ExportData) -> None:
    """``{"export", "survey", "dictionary", "summary", "responses"}``, UTF-8; rows streamed one per line."""
    sink = _TextSink(stream)

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, default=_json_default)

    header = [c.column for c in columns(data.survey)]
    sink.write("{\n")
    sink.write(f'"export": {dumps(export_parameters(data.results))},\n')
    sink.write(f'"survey": {dumps(survey_definition(data.survey))},\n')
    sink.write(f'"dictionary": {dumps([dataclasses.asdict(c) for c in columns(data.survey)])},\n')
    sink.write(f'"summary": {dumps(dataclasses.asdict(data.results))},\n')
    sink.write('"responses": [')
    for number, row in enumerate(response_rows(data)):
        sink.write(("\n" if number == 0 else ",\n") + dumps(dict(zip(header, row))))
    sink.write("\n]\n}\n")
    sink.flush()


# --- HTML ------------------------------------------------------------------------------------------------------

def write_html(stream: BinaryIO, data: ExportData) -> None:
    """The printable report: one self-contained HTML file (no requests to anywhere)."""
    stream.write(render_document(data.results).encode("utf-8"))
