"""The forum's export files (issue #8): CSV with a BOM that reads back, XLSX with four sheets and real numbers,
JSON with the definition and parameters, rows shuffled and by week, and no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Mapping

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from bot.forum import writers
from bot.forum.writers import (
    DICTIONARY_HEADER, SUMMARY_HEADER, ExportData, columns, neutralise, write_csv_dictionary, write_csv_responses,
    write_csv_summary, write_html, write_json, write_xlsx,
)
from bot.surveys.definitions import load_surveys
from tests.unit.test_forum_report import sample_results

SURVEY = load_surveys()["parent_carer_forum"]
BOM = b"\xef\xbb\xbf"
INJECTIONS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "  =1+1", "#N/A"]
AWKWARD = 'Commas, "quotes", and\nnew lines\r\nboth kinds; caf\u00e9 \u2013 \U0001f600'
FIRST_DAY = date(2026, 11, 4)  # a Wednesday


def response(day: date, **answers: Any) -> Dict[str, Any]:
    return {"answers": answers, "submitted": day.isoformat()}


def full_answers(text: str = "More help at clubs.") -> Dict[str, Any]:
    return {"services_used": ["nursery", "haf"], "had_ehc_meeting": "yes", "ehc_listened": 2,
            "ehc_why": "Nobody read the report.", "help_right_time": "disagree", "last_move": "mixed",
            "haf_included": "no", "recommend_forum": 9, "one_change": text}


def export(responses: List[Mapping[str, Any]], answer_themes: Mapping[int, Any] = None) -> ExportData:
    return ExportData(survey=SURVEY, responses=responses, results=sample_results(),
                      answer_themes=answer_themes or {})


def csv_rows(writer: Any, data: ExportData) -> List[Dict[str, str]]:
    stream = io.BytesIO()
    writer(stream, data)
    raw = stream.getvalue()
    assert raw.startswith(BOM) and not raw.startswith(BOM * 2)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def xlsx(data: ExportData) -> Any:
    stream = io.BytesIO()
    write_xlsx(stream, data)
    stream.seek(0)
    return load_workbook(stream)


def sheet_rows(sheet: Any) -> List[Dict[str, Any]]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


@pytest.fixture(scope="module")
def sample() -> ExportData:
    """Three responses: all answered, a skipped follow-up and no multiple choice, and an awkward text."""
    return export([
        response(FIRST_DAY, **full_answers()),
        response(FIRST_DAY + timedelta(days=6), had_ehc_meeting="no", help_right_time="agree", recommend_forum=3),
        response(FIRST_DAY + timedelta(days=20), services_used=["none"], one_change=AWKWARD),
    ], answer_themes={0: {"one_change": (("Access", 0.9), ("Inclusion", 0.6))}, 2: {"one_change": ()}})


# --- CSV ---------------------------------------------------------------------------------------------------------

def test_csv_has_a_bom_and_reads_back_to_the_same_values(sample: ExportData) -> None:
    rows = csv_rows(write_csv_responses, sample)
    assert list(rows[0]) == [c.column for c in columns(SURVEY)]
    by_answer = {row["one_change"]: row for row in rows}
    full = by_answer["More help at clubs."]
    assert full["survey_id"] == "parent_carer_forum"
    assert full["submitted_week"] == "2026-11-02"
    assert (full["services_used__nursery"], full["services_used__haf"], full["services_used__none"]) == ("1", "1", "0")
    assert full["ehc_listened"] == "2" and full["recommend_forum"] == "9"
    assert full["help_right_time"] == "disagree" and full["last_move"] == "mixed"
    assert full["one_change__themes"] == "Access; Inclusion"
    assert full["ehc_why"] == "Nobody read the report." and full["ehc_why__themes"] == ""
    skipped = by_answer[""]
    assert skipped["services_used__nursery"] == "" and skipped["ehc_listened"] == ""  # blank: not answered
    assert skipped["submitted_week"] == "2026-11-09"
    awkward = by_answer[AWKWARD]
    assert awkward["services_used__none"] == "1" and awkward["services_used__haf"] == "0"
    assert awkward["one_change__themes"] == ""
    assert sorted(int(row["response"]) for row in rows) == [1, 2, 3]


def test_csv_quotes_text_and_leaves_numbers_bare(sample: ExportData) -> None:
    stream = io.BytesIO()
    write_csv_responses(stream, sample)
    lines = stream.getvalue().decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith('"response","survey_id","submitted_week",')
    assert re.match(r'^\d,"parent_carer_forum","2026-11-\d\d",', lines[1])


@pytest.mark.parametrize("payload", INJECTIONS)
def test_csv_neutralises_formulas_in_every_text_cell(payload: str) -> None:
    data = export([response(FIRST_DAY, one_change=payload, ehc_why="fine")])
    row = csv_rows(write_csv_responses, data)[0]
    expected = payload if payload == "#N/A" else "'" + payload
    assert row["one_change"] == expected
    summary = csv_rows(write_csv_summary, data)
    quotes = [r["text"] for r in summary if r["section"] == "theme_quote"]
    assert "'" + '=HYPERLINK("http://x","y")' in quotes


def test_csv_summary_has_every_published_figure(sample: ExportData) -> None:
    rows = csv_rows(write_csv_summary, sample)
    assert list(rows[0]) == list(SUMMARY_HEADER)
    sections = {row["section"] for row in rows}
    for section in ("export", "responses", "over_time", "answered", "not_answered", "answers", "nps", "nps_score",
                    "agreement", "positive", "most_agreed", "least_agreed", "area", "area_themes", "themes", "theme",
                    "theme_quote", "update"):
        assert section in sections, section
    export_rows = {row["value"]: row["text"] for row in rows if row["section"] == "export"}
    assert export_rows["threshold"] == "5" and export_rows["date_to"] == "2027-03-31"
    assert export_rows["closed_only"] == "yes" and export_rows["generated"].startswith("2027-04-02T09:30")
    answers = {(row["question_id"], row["value"]): row for row in rows if row["section"] == "answers"}
    assert answers[("services_used", "nursery")]["count"] == "12"
    assert answers[("services_used", "nursery")]["percent"] == "40.0"
    assert answers[("services_used", "short_breaks")]["count"] == "fewer than 5"
    assert answers[("services_used", "short_breaks")]["percent"] == ""
    assert answers[("ehc_listened", "2")]["count"] == "not shown"
    assert answers[("ehc_listened", "2")]["question"].startswith("I was listened to")
    assert not any(row["value"] == "not_answered" for row in rows if row["section"] == "answers")
    mean = next(row for row in rows if row["section"] == "mean")  # withheld, and says so
    assert (mean["question_id"], mean["score"], mean["text"]) == ("ehc_listened", "", "not shown")
    agreement = next(row for row in rows if row["section"] == "agreement")
    assert (agreement["percent"], agreement["text"]) == ("50.0", "")
    score = next(row for row in rows if row["section"] == "nps_score")
    assert score["score"] == "13" and score["question_id"] == "recommend_forum"
    access = next(row for row in rows if row["section"] == "theme" and row["value"] == "Access")
    assert access["count"] == "9" and access["text"] == "waiting list; short breaks" and access["score"] == "0.71"
    weeks = [row for row in rows if row["section"] == "over_time"]
    assert [row["count"] for row in weeks] == ["12", "fewer than 5", "not shown", "9"]
    update = next(row for row in rows if row["section"] == "update")
    assert update["value"] == "2027-04-01" and update["text"].startswith("You told us")


def test_csv_dictionary_describes_every_column(sample: ExportData) -> None:
    rows = csv_rows(write_csv_dictionary, sample)
    assert list(rows[0]) == list(DICTIONARY_HEADER)
    assert [row["column"] for row in rows] == [row for row in csv_rows(write_csv_responses, sample)[0]]
    by_column = {row["column"]: row for row in rows}
    listened = by_column["ehc_listened"]
    assert listened["question_id"] == "ehc_listened" and listened["kind"] == "likert"
    assert listened["area"] == "Participation" and listened["type"] == "integer"
    assert listened["values"].startswith("1=Strongly disagree; 2=Disagree") and "5=Strongly agree" in listened["values"]
    haf = by_column["services_used__haf"]
    assert haf["question"] == "Which of these has your child used? (HAF holiday club)"
    assert haf["values"].startswith("1 = chose HAF holiday club, 0 = did not")
    assert by_column["one_change__themes"]["question_id"] == "one_change"
    assert by_column["submitted_week"]["type"] == "date"
    assert "yes=Yes; no=No" == by_column["haf_included"]["values"]
    assert "agree=Agree" in by_column["help_right_time"]["values"]
    assert "went_well=It went well" in by_column["last_move"]["values"]
    assert "detractor" in by_column["recommend_forum"]["values"]


def test_response_columns_are_stable_names() -> None:
    names = [c.column for c in columns(SURVEY)]
    assert names[:3] == ["response", "survey_id", "submitted_week"]
    assert names[3:8] == [f"services_used__{v}" for v in ("nursery", "haf", "short_breaks", "sendiass", "none")]
    assert "services_used" not in names
    assert names[names.index("ehc_why") + 1] == "ehc_why__themes"
    assert names[-2:] == ["one_change", "one_change__themes"]
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names)


# --- row order and dates -----------------------------------------------------------------------------------------

def test_rows_are_shuffled_and_carry_the_week_not_the_day() -> None:
    count = 60
    data = export([response(FIRST_DAY + timedelta(days=n), one_change=f"answer {n}") for n in range(count)])
    for attempt in range(2):
        rows = csv_rows(write_csv_responses, data)
        order = [int(row["one_change"].split()[1]) for row in rows]
        assert sorted(order) == list(range(count))
        assert order != list(range(count)) and order != list(reversed(range(count)))
        assert [int(row["response"]) for row in rows] == list(range(1, count + 1))
    weeks = {row["submitted_week"] for row in rows}
    assert all(date.fromisoformat(week).weekday() == 0 for week in weeks)
    assert len(weeks) == 9  # 4 November 2026 to 2 January 2027
    for writer in (write_csv_responses, write_xlsx):
        stream = io.BytesIO()
        writer(stream, data)
        if writer is write_xlsx:
            stream.seek(0)
            days = {row["submitted_week"].date().isoformat() for row in sheet_rows(load_workbook(stream)["Responses"])}
        else:
            days = set(re.findall(r"\d{4}-\d\d-\d\d", stream.getvalue().decode("utf-8-sig")))
        assert days == weeks  # no day but the Mondays
    stream = io.BytesIO()
    write_json(stream, data)
    rows_json = json.loads(stream.getvalue())["responses"]
    assert [r["one_change"] for r in rows_json] != [f"answer {n}" for n in range(count)]
    assert all("submitted" not in r for r in rows_json)
    assert all(date.fromisoformat(r["submitted_week"]).weekday() == 0 for r in rows_json)


def test_a_missing_or_unreadable_day_gives_a_blank_week() -> None:
    data = export([{"answers": {"one_change": "a"}}, {"answers": {"one_change": "b"}, "submitted": "soon"}])
    assert [row["submitted_week"] for row in csv_rows(write_csv_responses, data)] == ["", ""]


# --- XLSX --------------------------------------------------------------------------------------------------------

def test_xlsx_has_four_sheets_with_bold_frozen_headers(sample: ExportData) -> None:
    book = xlsx(sample)
    assert book.sheetnames == ["Responses", "Summary", "Data dictionary", "About"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])
    widths = book["Responses"].column_dimensions
    assert widths["A"].width >= 10
    assert [c.value for c in book["Responses"][1]] == [c.column for c in columns(SURVEY)]


def test_xlsx_keeps_numbers_as_numbers_and_the_week_as_a_date(sample: ExportData) -> None:
    rows = sheet_rows(xlsx(sample)["Responses"])
    full = next(row for row in rows if row["one_change"] == "More help at clubs.")
    assert isinstance(full["response"], int)
    assert full["ehc_listened"] == 2 and type(full["ehc_listened"]) is int
    assert full["recommend_forum"] == 9 and type(full["recommend_forum"]) is int
    assert (full["services_used__nursery"], full["services_used__none"]) == (1, 0)
    assert type(full["services_used__nursery"]) is int
    assert full["submitted_week"] == datetime(2026, 11, 2)
    assert full["one_change__themes"] == "Access; Inclusion"
    skipped = next(row for row in rows if row["one_change"] is None)
    assert skipped["services_used__haf"] is None and skipped["ehc_listened"] is None
    awkward = next(row for row in rows if row["one_change"] not in (None, "More help at clubs."))
    assert awkward["one_change"] == AWKWARD.replace("\r\n", "\n")  # XML keeps a line break as LF


def test_xlsx_summary_dictionary_and_about(sample: ExportData) -> None:
    book = xlsx(sample)
    summary = sheet_rows(book["Summary"])
    nursery = next(r for r in summary if r["section"] == "answers" and r["value"] == "nursery")
    assert nursery["count"] == 12 and nursery["percent"] == 40.0
    hidden = next(r for r in summary if r["section"] == "answers" and r["value"] == "short_breaks")
    assert hidden["count"] == "fewer than 5" and hidden["percent"] is None
    dictionary = sheet_rows(book["Data dictionary"])
    assert [r["column"] for r in dictionary] == [c.column for c in columns(SURVEY)]
    about = {r["about"]: r["value"] for r in sheet_rows(book["About"])}
    assert about["Suppression threshold"] == "5"
    assert "A number below 5 is not shown" in about['"fewer than 5"']
    assert about["Generated"].startswith("2027-04-02T09:30")
    assert about["Date range"] == "up to 31 March 2027"
    assert "random order" in about["Row order"]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_xlsx_neutralises_formulas_and_never_writes_one(payload: str) -> None:
    book = xlsx(export([response(FIRST_DAY, one_change=payload, ehc_why="ok")]))
    row = sheet_rows(book["Responses"])[0]
    cell = next(c for c in book["Responses"][2] if c.value == row["one_change"])
    assert cell.data_type == "s"
    expected = payload if payload == "#N/A" else "'" + payload
    assert row["one_change"] == expected.replace("\r", "\n")
    for sheet in book.worksheets:
        for line in sheet.iter_rows():
            for c in line:
                assert c.data_type not in ("f", "e"), (sheet.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    assert not c.value.lstrip().startswith(("=", "+", "-", "@")), (sheet.title, c.value)


def test_xlsx_drops_control_characters_xml_cannot_hold() -> None:
    book = xlsx(export([response(FIRST_DAY, one_change="bell\x07 and\x00 null")]))
    assert sheet_rows(book["Responses"])[0]["one_change"] == "bell and null"


# --- JSON --------------------------------------------------------------------------------------------------------

def test_json_has_the_parameters_definition_dictionary_summary_and_rows(sample: ExportData) -> None:
    stream = io.BytesIO()
    write_json(stream, sample)
    raw = stream.getvalue()
    assert "caf\u00e9".encode("utf-8") in raw  # not \u00e9: ensure_ascii off
    document = json.loads(raw.decode("utf-8"))
    assert list(document) == ["export", "survey", "dictionary", "summary", "responses"]
    assert document["export"] == {
        "survey_id": "parent_carer_forum", "generated": "2027-04-02T09:30:00+00:00", "date_from": None,
        "date_to": "2027-03-31", "closed_only": True, "threshold": 5, "format_version": 1,
    }
    survey = document["survey"]
    assert survey["id"] == "parent_carer_forum" and survey["audience"] == "parents_carers"
    assert survey["opens"] == "2026-11-01" and survey["closes"] == "2027-03-31"
    assert [q["id"] for q in survey["questions"]] == [q.id for q in SURVEY.questions]
    listened = next(q for q in survey["questions"] if q["id"] == "ehc_listened")
    assert listened["ask_if"] == {"question": "had_ehc_meeting", "op": "==", "value": "yes"}
    assert listened["options"][0] == {"value": "1", "label": "Strongly disagree"}
    haf = next(q for q in survey["questions"] if q["id"] == "haf_included")
    assert haf["ask_if"]["value"] == ["haf"]
    assert [d["column"] for d in document["dictionary"]] == [c.column for c in columns(SURVEY)]
    summary = document["summary"]
    assert summary["threshold"] == 5 and summary["responses"]["count"] == 30
    assert summary["over_time"][0] == ["2026-11-02", {"count": 12, "percent": None, "hidden": None}]
    assert summary["update"]["written"] == "2027-04-01"
    rows = document["responses"]
    assert len(rows) == 3
    full = next(r for r in rows if r["one_change"] == "More help at clubs.")
    assert full["ehc_listened"] == 2 and full["services_used__haf"] == 1
    assert full["one_change__themes"] == "Access; Inclusion"
    assert next(r for r in rows if r["one_change"] is None)["services_used__haf"] is None
    assert any(r["one_change"] == AWKWARD for r in rows)  # JSON keeps the answer exactly


def test_json_of_no_responses_is_valid() -> None:
    stream = io.BytesIO()
    write_json(stream, export([]))
    assert json.loads(stream.getvalue())["responses"] == []


# --- HTML and streams --------------------------------------------------------------------------------------------

def test_html_is_the_printable_report(sample: ExportData) -> None:
    stream = io.BytesIO()
    write_html(stream, sample)
    html = stream.getvalue().decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en-GB">' in html
    assert "Parent Carer Forum check-in: results" in html


class WriteOnlyStream:
    """A stream that can only be written to, like a response body: no seek, no tell, no read."""

    def __init__(self) -> None:
        self.chunks: List[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("writer", [write_csv_responses, write_csv_summary, write_csv_dictionary, write_json,
                                    write_html, write_xlsx])
def test_writers_need_only_a_write_method(writer: Any, sample: ExportData) -> None:
    stream = WriteOnlyStream()
    writer(stream, sample)
    assert b"".join(stream.chunks)


def test_writers_leave_the_stream_open(sample: ExportData) -> None:
    stream = io.BytesIO()
    write_csv_responses(stream, sample)
    write_json(stream, sample)
    assert not stream.closed


# --- cells -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("=1+1", "'=1+1"), ("+44 24", "'+44 24"), ("-", "'-"), ("@me", "'@me"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("   =x", "'   =x"), ("\n=x", "'\n=x"), ("\u00a0@x", "'\u00a0@x"),
    ("fine", "fine"), ("a=b", "a=b"), ("", ""), ("'=already", "'=already"), ("2-1", "2-1"),
])
def test_neutralise(text: str, expected: str) -> None:
    assert neutralise(text) == expected


# --- size --------------------------------------------------------------------------------------------------------

def test_a_hundred_thousand_rows_write_as_csv_and_xlsx(tmp_path: Any) -> None:
    """Completes, streaming: the workbook is written row by row (write-only), the CSV chunk by chunk."""
    answers = full_answers("Clubs that take my son.")
    days = [(FIRST_DAY + timedelta(days=n % 140)).isoformat() for n in range(100_000)]
    data = export([{"answers": answers, "submitted": day} for day in days],
                  {n: {"one_change": (("Inclusion", 0.8),)} for n in range(0, 100_000, 7)})
    with open(tmp_path / "big.csv", "wb") as stream:
        write_csv_responses(stream, data)
    with open(tmp_path / "big.csv", encoding="utf-8-sig", newline="") as stream:
        assert sum(1 for _ in csv.reader(stream)) == 100_001
    with open(tmp_path / "big.xlsx", "wb") as stream:
        write_xlsx(stream, data)
    with zipfile.ZipFile(tmp_path / "big.xlsx") as archive:  # counted in the XML: loading 100,000 rows is slow
        sheet = archive.read("xl/worksheets/sheet1.xml")
    assert sheet.count(b"<row ") == 100_001
    last_answer = get_column_letter([c.column for c in columns(SURVEY)].index("one_change") + 1)
    assert f'<c r="{last_answer}100001"'.encode() in sheet  # the last row holds its last answer


def test_writer_module_exports_the_issue_api() -> None:
    for name in ("write_csv_responses", "write_csv_summary", "write_csv_dictionary", "write_xlsx", "write_json",
                 "write_html", "ExportData"):
        assert hasattr(writers, name)


def test_a_withheld_survey_exports_its_total_and_why_but_no_rows_or_tables() -> None:
    """The six responses whose every table the labels would give away: files say why, and hold nothing else."""
    from tests.unit.test_forum_suppression import VOICES, labels_alone_give_away, results_of

    answered = labels_alone_give_away()
    data = ExportData(survey=VOICES, responses=answered, results=results_of(VOICES, answered, threshold=3))
    assert csv_rows(write_csv_responses, data) == []
    summary = [row for row in csv_rows(write_csv_summary, data) if row["section"] != "export"]
    assert [(row["section"], row["count"]) for row in summary] == [("responses", "6"), ("withheld", "")]
    assert "only the number of responses is published" in summary[1]["text"]
    book = xlsx(data)
    assert sheet_rows(book["Responses"]) == []
    about = dict(book["About"].iter_rows(values_only=True))
    assert "no breakdown can be shown" in about["Figures withheld"]
    stream = io.BytesIO()
    write_json(stream, data)
    exported = json.loads(stream.getvalue())
    assert exported["responses"] == [] and exported["summary"]["withheld"] is True
    assert exported["summary"]["questions"] == [] and exported["summary"]["over_time"] == []
    stream = io.BytesIO()
    write_html(stream, data)
    page = stream.getvalue().decode("utf-8")
    assert "only the number of responses is published" in page and "<h3" not in page
